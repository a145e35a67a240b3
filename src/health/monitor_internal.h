// Private to vigil::health: the pieces of HealthMonitor (monitor.cc) that do not need its lock
// or its threads, each in its own file:
//   check_validation.cc  validate_check: what add_check accepts
//   hysteresis.cc        next_hysteresis: failure/success thresholds, a pure function
//   metric_binding.cc    the monitor's own metric families and each check's series in them
//   report_building.cc   aggregation and the reports' texts (CheckReport, HealthReport)
// and the per-check state they share. Nothing here locks: monitor.cc calls them with its mutex
// held where the state needs it.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/health/monitor.h"
#include "vigil/health/report.h"
#include "vigil/health/result.h"
#include "vigil/metrics/registry.h"

namespace vigil::health::detail {

using Clock = std::chrono::steady_clock;

// Values of the `result` label of vigil_health_check_runs_total.
enum RunResult : size_t { kResultPass, kResultWarn, kResultFail, kResultTimeout, kResultSkipped };
constexpr std::array<std::string_view, 5> kRunResultNames = {"pass", "warn", "fail", "timeout",
                                                             "skipped"};

// --- check_validation.cc ----------------------------------------------------------------------

// Throws vigil::Error when `name`, `fn` or `o` is not acceptable to add_check (the message
// names the check and the rule).
void validate_check(const std::string& name, const CheckFn& fn, const CheckOptions& o);

// --- hysteresis.cc ----------------------------------------------------------------------------

// Where a check stands between its raw results and what it reports.
struct HysteresisState {
  bool failing = false;  // reporting fail (as opposed to pass or warn)
  int consecutive_failures = 0;
  int consecutive_successes = 0;
};

struct HysteresisStep {
  HysteresisState state;            // after the result
  Status reported = Status::kFail;  // what the check reports now
  std::string reported_output;      // and with what output
};

// The state after one more result `r`, and what to report. `first`: the check had no result
// before (reported as it is). A fail turns a passing check into fail only after
// `failure_threshold` consecutive fails (warn until then); a failing check passes again after
// `success_threshold` consecutive non-fails (fail, "recovering", until then). Pure.
HysteresisStep next_hysteresis(const HysteresisState& state, bool first, const CheckResult& r,
                               int failure_threshold, int success_threshold);

// --- the state of one check (guarded by the monitor's mutex) ----------------------------------

enum class RunEnd { kCompleted, kTimeout, kSkipped, kShutdown, kNotStarted };

struct Run {
  Clock::time_point submitted;
  Clock::time_point deadline;
  bool decided = false;
  bool started = false;  // a worker entered the check function
  std::stop_source stop;
};

struct Outcome {
  CheckResult result;
  double duration_seconds = 0;
  double time = 0;  // Unix seconds
};

struct CheckState {
  std::string name;
  CheckOptions options;
  std::shared_ptr<const CheckFn> fn;
  bool removed = false;

  std::shared_ptr<Run> current;                 // the latest run
  std::vector<std::shared_ptr<Run>> in_flight;  // submitted, not yet returned from the pool
  Clock::time_point next_due{};                 // background checks: next start

  bool has_result = false;
  Outcome last;                 // the latest decided run, as it was
  Clock::time_point last_at{};  // when it was decided

  HysteresisState hysteresis;
  Status reported = Status::kFail;
  std::string reported_output;

  // Metrics (bound on the first decided run; default handles discard).
  bool metrics_resolved = false;
  metrics::Histogram duration;
  std::vector<metrics::Gauge> status_gauges;  // one per options.groups entry
  std::array<metrics::Counter, kRunResultNames.size()> runs;

  bool in_group(std::string_view g) const noexcept {
    return std::find(options.groups.begin(), options.groups.end(), g) != options.groups.end();
  }
  bool only_startup() const noexcept {
    return options.groups.size() == 1 && options.groups[0] == kStartup;
  }
};

using CheckPtr = std::shared_ptr<CheckState>;

// --- metric_binding.cc ------------------------------------------------------------------------

// The monitor's own metric families (HealthMonitorOptions::self_metrics); all null when none.
struct MonitorMetrics {
  metrics::Family<metrics::Gauge>* status = nullptr;        // vigil_health_check_status
  metrics::Family<metrics::Gauge>* group = nullptr;         // vigil_health_status
  metrics::Family<metrics::Histogram>* duration = nullptr;  // ..._check_duration_seconds
  metrics::Family<metrics::Counter>* runs = nullptr;        // vigil_health_check_runs_total

  bool enabled() const noexcept { return status != nullptr; }
};

// Registers (or finds) the families in `registry`. Throws what Registry throws.
MonitorMetrics register_monitor_metrics(metrics::Registry& registry);

// Gives `c` its series in `m` (its duration, its status in each of its groups, its runs by
// result). On bad_alloc `c` keeps the handles it has and records nothing more. Never throws.
void bind_check_metrics(const MonitorMetrics& m, CheckState& c) noexcept;

// Drops `c`'s handles (later records go nowhere).
void unbind_check_metrics(CheckState& c) noexcept;

// Removes the series of check `name` in `groups` from the families. Throws only bad_alloc.
void remove_check_series(const MonitorMetrics& m, const std::string& name,
                         const std::vector<std::string>& groups);

// --- report_building.cc -----------------------------------------------------------------------

// A check's contribution to its group: its status, but a non-critical fail counts as warn.
Status contribution(const CheckReport& c) noexcept;

// The worst contribution of `checks` (pass when empty).
Status aggregate(const std::vector<const CheckReport*>& checks) noexcept;

// "vector_store: connection refused; cache: slow" for the checks whose contribution is `level`
// (at most three named, then "and N more").
std::string problems(const std::vector<const CheckReport*>& checks, Status level);

// The report of check `c` as it stands (its reported status and last result).
CheckReport make_check_report(const CheckState& c, bool cached);

// A group's report before its checks are added: identity and description from `options`.
HealthReport base_report(const HealthMonitorOptions& options, std::string_view group);

}  // namespace vigil::health::detail
