// vigil/guardrail/monitor.h: a GuardrailMonitor compares live performance with a baseline,
// decides with thresholds or statistics, runs rollback actions within milliseconds of the
// decision, and keeps an audit trail.
//
// Guide 000, as written:
//   vigil::guardrail::GuardrailMonitor monitor(-0.08, 0.30, 0.15);
//   monitor.set_baseline({.success_rate = 0.95, .p50_latency = 700, .p95_latency = 1500,
//                         .error_rate = 0.02});
//   if (auto trigger = monitor.check({.success_rate = 0.85, .p50_latency = 720,
//                                     .p95_latency = 1600, .error_rate = 0.03})) {
//     std::cout << "ALERT: " << trigger->reason << "\n";   // success_rate, threshold -0.08
//   }
//
// Continuous, canary against the stable version running at the same time:
//   auto source =
//   std::make_shared<vigil::guardrail::LiveSource>(vigil::guardrail::LiveSourceOptions{
//       .requests = "agent_requests_total", .outcome_label = "status",
//       .latency = "agent_request_duration_seconds", .cohort_label = "version"});
//   vigil::guardrail::GuardrailMonitor monitor({.name = "model-release", .source = source,
//                                               .audit_path = "/var/lib/app/vigil.db"});
//   monitor.on_trigger("route-to-stable", [&](const RollbackTrigger& t) { router.all_to("v1"); });
//   monitor.compare_cohorts("v1", "v2");   // from now on: v2 judged against v1
//   monitor.start();                       // a check every interval on a library-owned thread
//
// Modes (what the baseline is):
//   - fixed: set_baseline(snapshot). Each check takes the current snapshot of the source's
//     `cohort` over the last `window` and applies `thresholds` (no statistics: a noisy window can
//     cross a threshold by chance; min_requests and failure_limit are the guards).
//   - window: set_baseline_window(from, to) ("the hour before the deploy"): the baseline is the
//     source's exact counts over [from, to]; each check judges the counts since `to` against it
//     with the Judge (statistics.h).
//   - cohort: compare_cohorts(baseline, canary): both cohorts' counts since the call, judged
//     with the Judge at every check (a control group at the same time: the strongest baseline).
// In the window and cohort modes the false-positive rate is the Judge's (JudgeOptions'
// alphas, held over any number of checks); in every mode error_rate thresholds of Change::kValue
// also apply to the current window as hard limits.
//
// Verdicts and limits (Argo Rollouts' analysis): each check yields pass, fail, inconclusive or
// error. The monitor triggers when failures exceed failure_limit in a row; inconclusive
// results beyond inconclusive_limit in a row, or errors beyond consecutive_error_limit, set the
// state to kInconclusive / kError (reported, no action). After a trigger the monitor does not
// trigger again until `cooldown` has passed AND `passes_to_rearm` checks in a row have passed
// (hysteresis). No verdict (inconclusive) while the window has fewer than min_requests.
//
// Actions: on_trigger callbacks run on library-owned threads (one per action, so an action that
// hangs or throws does not stop the others; a throw or a run longer than action_timeout is
// counted and recorded), started within 10 ms of the decision (bench/README.md, "Guardrails: the
// monitor"). wait_for_actions() waits for them.
// With `alerts` set, the monitor also adds a C++ rule to that AlertManager that fires
// (GuardrailTriggered{guardrail="<name>"}, severity critical, in the rule group
// "guardrail/<name>"; removed with the monitor, so the AlertManager must outlive it) while the
// monitor is triggered.
//
// Audit: every baseline change, verdict, pause and action outcome is recorded: in memory (the
// last `memory_decisions`) and, with audit_path, in SQLite (tables guardrail_*; may be the same
// file as AlertManagerOptions::state_path), committed before check_now() returns, so it
// survives kill -9. A database that cannot be used leaves the monitor working without it
// (status().audit_error says why).
//
// Thread-safety: every member is safe from any thread. Actions must not call stop() or the
// destructor of their own monitor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/guardrail/snapshot.h"
#include "vigil/guardrail/source.h"
#include "vigil/guardrail/statistics.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics
namespace vigil::alerting {
class AlertManager;
}  // namespace vigil::alerting

namespace vigil::guardrail {

struct MonitorOptions {
  std::string name = "default";  // [A-Za-z0-9_.:-]{1,64}; names the monitor in the API/metrics
  std::vector<Threshold> thresholds = default_thresholds();  // validated
  JudgeOptions judge{};                                      // validated
  // Where live snapshots come from (null: only check(snapshot) and fixed baselines work).
  std::shared_ptr<LiveSource> source;
  std::string cohort;  // the source's cohort watched in the fixed and window modes

  std::chrono::milliseconds interval{10'000};  // between checks of the thread; >= 10 ms
  std::chrono::milliseconds window{60'000};    // the current snapshot's window; > 0
  uint64_t min_requests = 100;                 // fewer in the window: inconclusive (fixed mode)

  int failure_limit = 0;            // failures in a row tolerated (0: the first one triggers)
  int inconclusive_limit = 5;       // inconclusive in a row beyond this: state kInconclusive
  int consecutive_error_limit = 4;  // errors in a row beyond this: state kError
  std::chrono::milliseconds cooldown{300'000};  // no new trigger this long after one
  int passes_to_rearm = 3;                      // and this many passes in a row (hysteresis)

  std::chrono::milliseconds action_timeout{30'000};  // longer: counted as hung, others go on

  // Tests inject a clock; null: the system clock. The thread still waits `interval` of real time.
  std::function<TimePoint()> clock;

  alerting::AlertManager* alerts = nullptr;       // raise GuardrailTriggered there (not owned)
  std::string audit_path;                         // SQLite audit trail; empty: memory only
  size_t audit_limit = 100'000;                   // rows kept per table in SQLite (oldest trimmed)
  size_t memory_decisions = 256;                  // decisions kept in memory
  metrics::Registry* metrics_registry = nullptr;  // vigil_guardrail_* families; null: global
};

// What one action did with one trigger.
struct ActionOutcome {
  std::string action;           // its name
  std::string outcome;          // "ok", "error: <what()>", "timeout", "running"
  double duration_seconds = 0;  // so far, for "running"
  TimePoint started{};
};

// One check's verdict (an entry of the audit trail).
struct Decision {
  uint64_t id = 0;  // increasing per monitor (and across restarts with an audit database)
  TimePoint time{};
  std::string monitor;
  std::string mode;  // "fixed", "window", "cohort", "manual" (check(snapshot))
  Result result = Result::kInconclusive;
  std::string reason;  // in words: the deciding condition, or why no verdict
  // The deciding condition (the first failing one; empty metric on pass/inconclusive).
  std::string metric;
  double threshold = 0;
  double observed = 0;
  double baseline = 0;
  std::vector<ConditionResult> conditions;  // every condition, with its statistics
  uint64_t baseline_requests = 0;
  uint64_t current_requests = 0;
  TimePoint window_start{};
  TimePoint window_end{};
  bool triggered = false;              // this decision started the actions
  std::vector<ActionOutcome> actions;  // their outcomes (filled in as they finish)
};

// A baseline change, pause or resume (the other entries of the audit trail).
struct AuditEvent {
  uint64_t id = 0;
  TimePoint time{};
  std::string monitor;
  std::string kind;    // "baseline", "pause", "resume", "comparison"
  std::string detail;  // in words (the baseline's figures, who paused)
};

struct DecisionQuery {
  TimePoint since{};             // inclusive; epoch: no bound
  TimePoint until{};             // exclusive; epoch: no bound
  size_t limit = 100;            // newest first
  std::optional<Result> result;  // only these
};

enum class State {
  kNoBaseline,    // nothing to compare with yet
  kWatching,      // checking
  kTriggered,     // triggered; in cooldown / waiting for passes_to_rearm
  kInconclusive,  // inconclusive beyond inconclusive_limit
  kError,         // errors beyond consecutive_error_limit
  kPaused,
};
std::string_view state_name(State state) noexcept;  // "no_baseline", "watching", ...

struct MonitorStatus {
  std::string name;
  State state = State::kNoBaseline;
  std::string mode;                             // "none", "fixed", "window", "cohort"
  std::optional<PerformanceSnapshot> baseline;  // the baseline's figures
  std::optional<PerformanceSnapshot> current;   // the last check's current figures
  std::string baseline_cohort;                  // cohort mode
  std::string canary_cohort;
  TimePoint comparison_start{};
  std::optional<Decision> last_decision;
  int consecutive_failures = 0;
  int consecutive_inconclusive = 0;
  int consecutive_errors = 0;
  int consecutive_passes = 0;
  uint64_t checks = 0;
  uint64_t triggers = 0;
  uint64_t action_failures = 0;  // threw
  uint64_t action_timeouts = 0;  // ran past action_timeout
  TimePoint last_trigger{};
  TimePoint rearm_not_before{};  // cooldown end
  bool running = false;          // the thread is started
  std::chrono::milliseconds interval{};
  std::chrono::milliseconds window{};
  std::string audit_path;
  std::string audit_error;  // empty when the audit database works (or none is configured)
};

class GuardrailMonitor {
 public:
  // Throws vigil::Error naming the option and the rule broken (see MonitorOptions).
  explicit GuardrailMonitor(MonitorOptions options = {});
  // Guide 000's constructor: default_thresholds(success, latency, error_rate).
  GuardrailMonitor(double success_delta_threshold, double latency_delta_threshold,
                   double error_rate_threshold);
  ~GuardrailMonitor();  // stop(), then waits for running actions up to action_timeout
  GuardrailMonitor(const GuardrailMonitor&) = delete;
  GuardrailMonitor& operator=(const GuardrailMonitor&) = delete;

  // ---- baselines (each recorded in the audit trail)
  // Fixed mode. Throws vigil::Error for a snapshot with rates outside [0, 1] or negative or
  // non-finite figures.
  void set_baseline(const PerformanceSnapshot& baseline, std::string why = "set_baseline");
  // Window mode: the source's counts of `cohort` over [from, to]. Throws vigil::Error without a
  // source, when from >= to, or when the source has no samples covering the window.
  void set_baseline_window(TimePoint from, TimePoint to, std::string why = "set_baseline_window");
  // Cohort mode from now on. Throws vigil::Error without a source or for equal/empty names.
  void compare_cohorts(std::string baseline_cohort, std::string canary_cohort,
                       std::string why = "compare_cohorts");
  std::optional<PerformanceSnapshot> baseline() const;

  // ---- the guide's check: thresholds against the fixed baseline (nullopt without one, or
  // when nothing is crossed). Records a decision; when it triggers and the monitor is armed,
  // the actions run (asynchronously) as for a continuous check.
  std::optional<RollbackTrigger> check(const PerformanceSnapshot& current);

  // ---- actions
  using Action = std::function<void(const RollbackTrigger&)>;
  // Adds an action (run on every trigger, on its own thread). Throws vigil::Error for an empty
  // action or a name already used.
  void on_trigger(std::string name, Action action);
  void on_trigger(Action action);  // named "action-<n>"

  // ---- continuous checking
  void start();  // the checking thread (idempotent)
  void stop();   // joins it (actions already started keep running)
  // One check now (what the thread does every interval): samples the source, decides, records,
  // starts the actions on a trigger. Returns the decision.
  Decision check_now();
  void pause(std::string who = "");  // checks are skipped (recorded) until resume()
  void resume(std::string who = "");
  // Waits until every started action finished (its outcome recorded, in the audit database too)
  // or `timeout` passed; true when none is running.
  bool wait_for_actions(std::chrono::milliseconds timeout);

  // ---- reading
  const std::string& name() const noexcept;
  // The options it was made with (validated; never changes).
  const MonitorOptions& options() const noexcept;
  // The cohorts the source has seen (empty without a source).
  std::vector<std::string> cohorts() const;
  MonitorStatus status() const;
  // Decisions, newest first (from SQLite when the audit database works, else from memory).
  std::vector<Decision> decisions(const DecisionQuery& query = {}) const;
  std::vector<AuditEvent> events(const DecisionQuery& query = {}) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the threads
};

}  // namespace vigil::guardrail
