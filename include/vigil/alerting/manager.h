// vigil/alerting/manager.h: the rule engine. Holds rules, evaluates them (on its own thread at an
// interval, or on demand), keeps alert states as Prometheus does, silences, history and rule
// health, and hands alerts that need sending to notification callbacks.
//
//   vigil::alerting::AlertManagerOptions o;
//   o.evaluation_interval = std::chrono::seconds(15);
//   vigil::alerting::AlertManager manager(o);
//   manager.add_rule(AlertRule::builder().name("queue_full").condition(...).build());
//   manager.on_alert([](const vigil::alerting::Notification& n) { send(n); });
//   manager.start();                           // or: auto changes = manager.evaluate();
//   for (auto& a : manager.active_alerts()) ...
//   manager.silence("queue_full", std::chrono::hours(1));
//
// State machine (Prometheus 2.42 rules/alerting.go): a series whose condition is true becomes a
// pending alert (active_at = that evaluation); it fires at the first evaluation where
// eval_time - active_at >= for; a pending alert whose condition goes away is dropped; a firing
// alert whose condition goes away stays firing while keep_firing_for has not elapsed since it
// went away, then is resolved (resolved_at set), kept 15 min for resending and recorded in
// history. A rule whose evaluation fails keeps its alerts as they were; one whose alerts exceed
// its limit errors and drops them all. Firing and resolved alerts are sent when
// Prometheus' needsSending says so (first time, after resolving, then every resend_delay).
//
// Thread-safety: every member is safe from any thread. Conditions run on worker threads without
// the manager's lock held; callbacks and the StateSink run on the evaluating thread (callbacks
// without the state lock: they may read and change rules and silences and call stop(), which
// then ends the thread after the round; evaluate() from a callback throws vigil::Error; a
// callback must not destroy the manager. The sink runs with the lock: it must not call the
// manager).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/alerting/alert.h"
#include "vigil/alerting/rule.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/alerting/silence.h"

namespace vigil::metrics {
class Registry;
}

namespace vigil::detail {
struct ManagerAccess;  // internal hooks (src/alerting/manager_access.h)
}

namespace vigil::alerting {

// A change of one alert's state in an evaluation.
struct Transition {
  AlertState from = AlertState::kInactive;
  AlertState to = AlertState::kInactive;
  Alert alert;  // as it is after the change
};

// What notifiers receive after a rule's evaluation: its alerts that need sending (firing or
// resolved), not silenced, not held back by the rule's cooldown. Labels include the manager's
// external labels (as Prometheus adds them when sending).
struct Notification {
  std::string rule;
  std::string group;
  std::vector<std::string> channels;  // the rule's notification channels (empty: all)
  std::vector<Alert> alerts;
  // Alerts that would be sent but are silenced (Alert::silenced set), handed over every resend
  // delay with their valid_until refreshed, so that a delivery pipeline (the Dispatcher) keeps
  // them alive, muted and as inhibition sources instead of resolving them when they expire, as
  // Alertmanager keeps silenced alerts. Callbacks that only send may ignore it (a notification
  // may then have no `alerts` at all).
  std::vector<Alert> silenced;
  TimePoint time;  // evaluation time
};
using AlertCallback = std::function<void(const Notification&)>;

// An alert that ended: resolved after firing, or dropped while pending (fired == false).
struct HistoryEntry {
  std::string name;
  std::string group;
  LabelList labels;
  LabelList annotations;
  Severity severity = Severity::kWarning;
  uint64_t fingerprint = 0;
  std::string id;
  TimePoint started_at;  // active_at
  TimePoint fired_at;    // zero if it never fired
  TimePoint ended_at;
  bool fired = false;
  double peak_value = 0;
  double last_value = 0;
  std::chrono::milliseconds duration() const noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(ended_at - started_at);
  }
};

enum class RuleHealth : uint8_t { kUnknown, kOk, kError };
// "unknown", "ok", "err" (Prometheus' /api/v1/rules words).
std::string_view to_string(RuleHealth health) noexcept;

struct RuleStatus {
  std::string name;
  std::string group;
  std::string expr;  // PromQL rules
  bool recording = false;
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;
  TimePoint last_evaluation;
  std::chrono::nanoseconds evaluation_duration{0};
  AlertState state = AlertState::kInactive;  // the most severe state of its alerts
  size_t active_alerts = 0;                  // pending + firing
  uint64_t evaluations = 0;
  uint64_t failures = 0;  // errors, throws, timeouts
};

// Observes every change of the state that must survive a restart (for persistence). Called on
// the thread that made the change, with the manager's lock held: must be quick and must not
// call the manager.
class StateSink {
 public:
  virtual ~StateSink() = default;
  // An alert was created or changed state/timestamps (not on mere value changes).
  virtual void alert_changed(const Alert& alert) = 0;
  // An alert is gone from the manager's state (dropped, resolved past retention, rule removed).
  virtual void alert_removed(const std::string& rule, uint64_t fingerprint) = 0;
  virtual void silence_changed(const Silence& silence) = 0;
  virtual void silence_deleted(const std::string& id) = 0;
  virtual void history_added(const HistoryEntry& entry) = 0;
};

// State read back at start-up (from persistence). Alerts are matched to rules by name and
// fingerprint at their first evaluation: a pending/firing alert whose series is still true keeps
// its active_at, fired_at and last_sent_at (Prometheus' `for` state restore, without a gap).
struct RestoredState {
  std::vector<Alert> alerts;
  std::vector<Silence> silences;
  std::vector<HistoryEntry> history;  // oldest first
};

// The state of persistence (AlertManager::persistence_status()).
struct PersistenceStatus {
  bool enabled = false;  // a state_path is set
  bool ok = false;       // the database is open and the last write succeeded
  std::string path;
  std::string error;     // the last error ("" when none)
  uint64_t errors = 0;   // open and write failures (vigil_alerting_persistence_errors_total)
  uint64_t dropped = 0;  // changes dropped because the write queue was full
  uint64_t flushes = 0;  // transactions committed
};

struct AlertManagerOptions {
  // How often the evaluation thread evaluates (groups without their own interval). >= 100 ms.
  std::chrono::milliseconds evaluation_interval{15'000};
  // The clock for evaluation times, silences and history (tests inject one). Null: system clock.
  std::function<TimePoint()> clock;
  // The registry PromQL rules read (sampled at each evaluation). Null: Registry::global().
  metrics::Registry* registry = nullptr;
  // Where the manager counts itself (vigil_alerting_*). Null: nowhere.
  metrics::Registry* self_metrics = nullptr;
  // Added to notified alerts' labels (not overriding theirs), as Prometheus' external_labels.
  LabelList external_labels;
  size_t history_limit = 1000;
  // Longest a C++ condition may run before it counts as timed out (the rule errors this round).
  std::chrono::milliseconds condition_timeout{10'000};
  // Threads running C++ conditions in parallel. A hung condition holds its thread until it
  // returns; up to 16 more threads replace the ones held, so other rules keep running.
  int condition_threads = 4;
  // Prometheus' resend delay (--rules.alert.resend-delay).
  std::chrono::milliseconds resend_delay{60'000};
  // How long resolved alerts are kept for resending (Prometheus: 15 min).
  std::chrono::milliseconds resolved_retention{15 * 60'000};
  // Optional persistence observer (not owned; outlives the manager).
  StateSink* state_sink = nullptr;
  // SQLite database (WAL) where alert state, silences and history are persisted and read back
  // at construction ("" = memory only). A database that cannot be used is reported on stderr
  // once and in persistence_status(), counted in vigil_alerting_persistence_errors_total, and
  // the manager keeps working in memory. Changes are written by a writer thread, one
  // transaction per evaluation round (and within milliseconds for changes between rounds), off
  // the manager's lock and the evaluating thread. state_sink still receives them.
  std::string state_path;
};

// A group of rules evaluated together at one interval (Prometheus' rule group). The group's
// labels are added to each rule's (the rule's win), its limit applies to each rule.
struct RuleGroup {
  std::string name;
  std::chrono::milliseconds interval{0};  // 0: the manager's evaluation_interval
  int limit = 0;                          // 0: no limit
  LabelList labels;
  std::vector<AlertRule> rules;
};

class AlertManager {
 public:
  explicit AlertManager(AlertManagerOptions options = {});
  // Stops the evaluation thread (waits for the round in progress).
  ~AlertManager();
  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  // The process-wide manager (default options; never destroyed).
  static AlertManager& global();

  // Adds a rule; throws vigil::Error if a rule with the same name exists in its group.
  void add_rule(AlertRule rule);
  // Removes the rules called `name` (every group); their alerts end (history, not notified).
  bool remove_rule(std::string_view name);
  // Adds a group, replacing the rules of a group of that name (their alerts carry over when the
  // rule and labels are the same). Throws vigil::Error (nothing changed) on a bad interval.
  void add_group(RuleGroup group);
  // Adds every group of a loaded rule file (see add_group). Throws vigil::Error (nothing added)
  // if an expression is refused. Links the PromQL engine.
  void add_rule_file(const RuleFile& file);
  std::vector<AlertRule> rules() const;

  // Evaluates every rule now (the guides' evaluate_rules / check_and_alert): returns what
  // changed, delivers notifications, updates health and metrics. Serialised with the
  // evaluation thread. Takes at most about the longest condition timeout.
  std::vector<Transition> evaluate();

  // The evaluation thread: evaluates every evaluation_interval (each group at its interval).
  void start();
  void stop();
  bool running() const noexcept;

  // Pending and firing alerts (silenced ones included, marked), optionally of one severity.
  std::vector<Alert> active_alerts(std::optional<Severity> severity = std::nullopt) const;
  // Ended alerts, newest first, at most `limit` (0: all kept).
  std::vector<HistoryEntry> history(size_t limit = 0) const;
  std::vector<RuleStatus> rule_status() const;
  std::optional<RuleStatus> rule_status(std::string_view name) const;

  // Callbacks; returns an id for remove_callback. Exceptions from a callback are caught and
  // counted.
  int on_alert(AlertCallback callback);
  bool remove_callback(int id);

  // Silences. add_silence validates (at least one matcher, valid label names and regexes,
  // ends_at after starts_at; throws vigil::Error otherwise), sets id (if empty) and updated_at,
  // and returns the id; an existing id is replaced.
  std::string add_silence(Silence silence);
  // The guides' silence(fingerprint, duration): `fingerprint` is an alert's hex fingerprint or
  // readable id (an active alert, one in history, or a single-series C++ rule's own identity);
  // silences exactly that label set from now for `duration`. Throws vigil::Error when unknown.
  std::string silence(std::string_view fingerprint, std::chrono::milliseconds duration,
                      std::string created_by = "vigil", std::string comment = "");
  // Ends a silence now (kept as expired). False when unknown or already expired.
  bool expire_silence(std::string_view id);
  bool delete_silence(std::string_view id);
  std::vector<Silence> silences() const;

  // Seeds state from persistence; call before the first evaluation.
  void restore(RestoredState state);
  // Whether state_path persistence works, and why not.
  PersistenceStatus persistence_status() const;
  // Writes the state changes not yet persisted now (they are written by a writer thread at the
  // end of each round, or within milliseconds); blocks until committed. False when a write
  // failed (see persistence_status()). True without a state_path.
  bool flush_state();

  const AlertManagerOptions& options() const noexcept;

 private:
  friend struct ::vigil::detail::ManagerAccess;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vigil::alerting
