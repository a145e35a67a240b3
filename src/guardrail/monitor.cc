// The GuardrailMonitor (see vigil/guardrail/monitor.h).
//
// Layout: Impl holds everything and is shared (std::shared_ptr) with the threads that run user
// code: each action's WorkerPool task holds the Impl, so an action still hung when the monitor
// is destroyed finishes against live memory (the Impl then dies on that thread; nothing in its
// destructor blocks). The checking thread and the watchdog thread never run user code and are
// joined by the destructor.
//
// Locks: check_mu serialises checks and baseline changes (the Judge is single-threaded; the
// SQLite write of a decision happens under it, not under mu). mu guards the state, counters and
// the memory rings, and is held only for short sections (never while calling user code or
// SQLite).
#include "vigil/guardrail/monitor.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <utility>

#include "core/detail/worker_pool.h"
#include "guardrail/audit_store.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {

namespace {

using Steady = std::chrono::steady_clock;

constexpr std::string_view kStateNames[] = {"no_baseline",  "watching", "triggered",
                                            "inconclusive", "error",    "paused"};
constexpr State kAllStates[] = {State::kNoBaseline,   State::kWatching, State::kTriggered,
                                State::kInconclusive, State::kError,    State::kPaused};
constexpr Result kAllResults[] = {Result::kPass, Result::kFail, Result::kInconclusive,
                                  Result::kError};

std::string fmt(double v) {
  if (std::isnan(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string fmt_duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

bool known_metric(Metric m) {
  switch (m) {
    case Metric::kSuccessRate:
    case Metric::kErrorRate:
    case Metric::kP50Latency:
    case Metric::kP95Latency:
    case Metric::kP99Latency:
      return true;
  }
  return false;
}

void validate_options(const MonitorOptions& o) {
  const std::string what = "GuardrailMonitor \"" + o.name + "\": ";
  if (!valid_name(o.name)) {
    throw Error("GuardrailMonitor: name \"" + o.name +
                "\" must be 1 to 64 characters of [A-Za-z0-9_.:-]");
  }
  for (size_t i = 0; i < o.thresholds.size(); ++i) {
    const Threshold& t = o.thresholds[i];
    if (!known_metric(t.metric)) {
      throw Error(what + "threshold " + std::to_string(i) + " names an unknown metric (" +
                  std::to_string(static_cast<int>(t.metric)) +
                  "); known: success_rate, error_rate, p50_latency, p95_latency, p99_latency");
    }
    try {
      validate(t);
    } catch (const Error& e) {
      throw Error(what + "threshold " + std::to_string(i) + ": " + e.what());
    }
  }
  try {
    validate(o.judge);
  } catch (const Error& e) {
    throw Error(what + "judge: " + e.what());
  }
  if (o.interval < std::chrono::milliseconds(10)) {
    throw Error(what + "interval must be at least 10ms (got " + fmt_duration(o.interval) + ")");
  }
  if (o.window <= std::chrono::milliseconds(0)) {
    throw Error(what + "window must be positive (got " + fmt_duration(o.window) + ")");
  }
  if (o.failure_limit < 0) throw Error(what + "failure_limit must not be negative");
  if (o.inconclusive_limit < 0) throw Error(what + "inconclusive_limit must not be negative");
  if (o.consecutive_error_limit < 0) {
    throw Error(what + "consecutive_error_limit must not be negative");
  }
  if (o.passes_to_rearm < 0) throw Error(what + "passes_to_rearm must not be negative");
  if (o.cooldown < std::chrono::milliseconds(0)) {
    throw Error(what + "cooldown must not be negative (got " + fmt_duration(o.cooldown) + ")");
  }
  if (o.action_timeout <= std::chrono::milliseconds(0)) {
    throw Error(what + "action_timeout must be positive (got " + fmt_duration(o.action_timeout) +
                ")");
  }
  if (o.memory_decisions == 0) throw Error(what + "memory_decisions must be at least 1");
  if (o.audit_limit == 0) throw Error(what + "audit_limit must be at least 1");
}

// Throws for a snapshot that cannot be a baseline.
void validate_snapshot(const std::string& monitor, const PerformanceSnapshot& s) {
  const std::string what = "GuardrailMonitor \"" + monitor + "\": baseline ";
  auto rate = [&](std::string_view n, double v) {
    if (!std::isfinite(v) || v < 0 || v > 1) {
      throw Error(what + std::string(n) + " must be a fraction in [0, 1] (got " + fmt(v) + ")");
    }
  };
  auto lat = [&](std::string_view n, double v) {
    if (!std::isfinite(v) || v < 0) {
      throw Error(what + std::string(n) + " must be finite and not negative (got " + fmt(v) + ")");
    }
  };
  rate("success_rate", s.success_rate);
  rate("error_rate", s.error_rate);
  lat("p50_latency", s.p50_latency);
  lat("p95_latency", s.p95_latency);
  lat("p99_latency", s.p99_latency);
}

double measured_change(const Threshold& t, double baseline, double observed) {
  switch (t.change) {
    case Change::kAbsolute:
      return observed - baseline;
    case Change::kRelative:
      return baseline == 0 ? NAN : (observed - baseline) / baseline;
    case Change::kValue:
      return observed;
  }
  return NAN;
}

// Each threshold as a condition (evaluate_thresholds on one threshold at a time).
std::vector<ConditionResult> threshold_conditions(const PerformanceSnapshot& baseline,
                                                  const PerformanceSnapshot& current,
                                                  std::span<const Threshold> thresholds) {
  std::vector<ConditionResult> out;
  for (const Threshold& t : thresholds) {
    ConditionResult c;
    c.metric = std::string(metric_name(t.metric));
    c.baseline = baseline.value(t.metric);
    c.observed = current.value(t.metric);
    c.threshold = t.limit;
    c.statistic = measured_change(t, c.baseline, c.observed);
    if (auto trig = evaluate_thresholds(baseline, current, std::span<const Threshold>(&t, 1))) {
      c.result = Result::kFail;
      c.reason = trig->reason;
      c.statistic = trig->change;
    } else if (std::isnan(c.observed) || (t.change != Change::kValue && std::isnan(c.baseline)) ||
               std::isnan(c.statistic)) {
      c.result = Result::kInconclusive;
      c.reason = t.describe() + ": not measurable (observed " + fmt(c.observed) + ", baseline " +
                 fmt(c.baseline) + ")";
    } else {
      c.result = Result::kPass;
      c.reason = t.describe() + ": holds (observed " + fmt(c.observed) +
                 (t.change == Change::kValue ? "" : ", baseline " + fmt(c.baseline)) + ")";
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The overall result of conditions: fail if any fails, else inconclusive if any is, else pass.
Result combine(const std::vector<ConditionResult>& conditions) {
  bool inconclusive = false;
  for (const auto& c : conditions) {
    if (c.result == Result::kFail) return Result::kFail;
    if (c.result == Result::kInconclusive || c.result == Result::kError) inconclusive = true;
  }
  return inconclusive ? Result::kInconclusive : Result::kPass;
}

const ConditionResult* first_failing(const std::vector<ConditionResult>& conditions) {
  for (const auto& c : conditions) {
    if (c.result == Result::kFail) return &c;
  }
  return nullptr;
}

// A Threshold describing a condition that came from the Judge (for RollbackTrigger::threshold).
Threshold threshold_for(const ConditionResult& c, std::span<const Threshold> thresholds) {
  const std::optional<Metric> m = parse_metric(c.metric);
  for (const Threshold& t : thresholds) {
    if (m && t.metric == *m && t.limit == c.threshold) return t;
  }
  Threshold t;
  t.metric = m.value_or(Metric::kSuccessRate);
  if (t.metric == Metric::kSuccessRate) {
    t.change = Change::kAbsolute;
    t.fires_when = Bound::kBelow;
    t.limit = -std::abs(c.threshold);
  } else {
    t.change = t.metric == Metric::kErrorRate ? Change::kAbsolute : Change::kRelative;
    t.fires_when = Bound::kAbove;
    t.limit = c.threshold;
  }
  return t;
}

// Shared metric handles per registry (several monitors may share a registry: the families are
// registered with the same help and labels, and each monitor's series are removed when the last
// monitor of that name on that registry goes away).
struct MetricFamilies {
  metrics::Family<metrics::Counter>* checks;
  metrics::Family<metrics::Counter>* triggers;
  metrics::Family<metrics::Histogram>* action_duration;
  metrics::Family<metrics::Counter>* action_failures;
  metrics::Family<metrics::Gauge>* state;
};

MetricFamilies families_of(metrics::Registry& r) {
  MetricFamilies f{};
  f.checks = &r.counter("vigil_guardrail_checks_total", "Guardrail checks, by verdict.",
                        {"monitor", "result"});
  f.triggers = &r.counter("vigil_guardrail_triggers_total",
                          "Guardrail triggers (the rollback actions started).", {"monitor"});
  metrics::HistogramOptions ho;
  ho.buckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60};
  f.action_duration =
      &r.histogram("vigil_guardrail_action_duration_seconds",
                   "How long a guardrail's rollback action ran.", {"monitor", "action"}, ho);
  f.action_failures = &r.counter("vigil_guardrail_action_failures_total",
                                 "Guardrail rollback actions that threw (reason error) or ran past "
                                 "action_timeout (reason timeout).",
                                 {"monitor", "action", "reason"});
  f.state = &r.gauge("vigil_guardrail_state", "1 for the guardrail monitor's current state.",
                     {"monitor", "state"});
  return f;
}

std::mutex& users_mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::pair<metrics::Registry*, std::string>, int>& metric_users() {
  static auto* m = new std::map<std::pair<metrics::Registry*, std::string>, int>();
  return *m;
}

}  // namespace

std::string_view state_name(State state) noexcept {
  const auto i = static_cast<size_t>(state);
  return i < std::size(kStateNames) ? kStateNames[i] : "unknown";
}

// One action and its worker (a pool of one thread: a FIFO queue of triggers).
struct ActionSlot {
  std::string name;
  GuardrailMonitor::Action fn;
  std::unique_ptr<detail::WorkerPool> pool;
  metrics::Histogram duration;
  metrics::Counter errors, timeouts;
};

// One trigger handed to one action.
struct ActionRun {
  std::shared_ptr<ActionSlot> slot;
  uint64_t decision_id = 0;
  TimePoint started_wall{};
  std::atomic<int64_t> started_ns{0};  // steady clock; 0 until the action starts
  bool done = false;                   // under Impl::mu
  bool timed_out = false;              // under Impl::mu
};

struct GuardrailMonitor::Impl {
  MonitorOptions options;
  std::string name;
  std::shared_ptr<LiveSource> source;
  metrics::Registry* registry = nullptr;
  MetricFamilies fam{};
  std::unique_ptr<detail::GuardrailAudit> audit;
  // Orders a decision's write and its actions' outcome writes (an outcome written before the
  // decision row would be replaced by the decision's "running").
  std::mutex audit_mu;
  std::shared_ptr<std::atomic<bool>> alert_flag = std::make_shared<std::atomic<bool>>(false);

  // ---- under check_mu: the comparison
  std::mutex check_mu;
  Judge judge;
  std::optional<WindowCounts> baseline_counts;  // window mode
  TimePoint baseline_to{};

  // ---- under mu
  mutable std::mutex mu;
  std::string mode = "none";
  std::optional<PerformanceSnapshot> baseline;
  std::optional<PerformanceSnapshot> current;
  std::string baseline_cohort, canary_cohort;
  TimePoint comparison_start{};
  bool paused = false;
  bool armed = true;  // false after a trigger until cooldown + passes_to_rearm
  int failures = 0, inconclusives = 0, errors = 0, passes = 0;
  uint64_t checks = 0, triggers = 0, action_failures = 0, action_timeouts = 0;
  TimePoint last_trigger{}, rearm_not_before{};
  uint64_t next_id = 1;
  uint64_t next_event_id = 1;
  std::deque<Decision> ring;
  std::deque<AuditEvent> event_ring;
  std::vector<std::shared_ptr<ActionSlot>> actions;
  std::vector<std::shared_ptr<ActionRun>> runs;  // started or queued, not finished
  std::condition_variable runs_cv;               // a run finished
  State published_state = State::kNoBaseline;
  bool state_published = false;

  // ---- threads
  std::mutex thread_mu;  // start()/stop()
  std::thread checker;
  std::atomic<bool> running{false};
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool stop_checker = false;
  std::thread watchdog;
  std::condition_variable watchdog_cv;  // under mu
  bool stop_watchdog = false;           // under mu
  bool closing = false;                 // under mu: the destructor runs
  bool detached = false;                // under mu: the destructor returned (or is returning)

  explicit Impl(MonitorOptions o) : options(std::move(o)), judge(options.judge) {}

  TimePoint now() const {
    return options.clock ? options.clock() : std::chrono::system_clock::now();
  }

  State state_locked() const {
    if (paused) return State::kPaused;
    if (mode == "none") return State::kNoBaseline;
    if (!armed) return State::kTriggered;
    if (errors > options.consecutive_error_limit) return State::kError;
    if (inconclusives > options.inconclusive_limit) return State::kInconclusive;
    return State::kWatching;
  }

  // Updates the state gauge and the alert flag (with mu held).
  void publish_state_locked() {
    const State s = state_locked();
    alert_flag->store(s == State::kTriggered);
    if (state_published && s == published_state) return;
    state_published = true;
    published_state = s;
    for (State st : kAllStates) fam.state->labels(name, state_name(st)).set(st == s ? 1.0 : 0.0);
  }

  void push_decision_locked(const Decision& d) {
    ring.push_back(d);
    while (ring.size() > options.memory_decisions) ring.pop_front();
  }

  Decision* find_decision_locked(uint64_t id) {
    for (auto it = ring.rbegin(); it != ring.rend(); ++it) {
      if (it->id == id) return &*it;
    }
    return nullptr;
  }

  void record_event(std::string kind, std::string detail) {
    AuditEvent e;
    e.time = now();
    e.monitor = name;
    e.kind = std::move(kind);
    e.detail = std::move(detail);
    if (audit && audit->ok()) {
      const uint64_t id = audit->record_event(e);
      if (id != 0) e.id = id;
    }
    std::lock_guard lock(mu);
    if (e.id == 0) e.id = next_event_id;
    next_event_id = e.id + 1;
    event_ring.push_back(e);
    while (event_ring.size() > options.memory_decisions) event_ring.pop_front();
  }

  // ---- actions

  // Called on the action's worker thread when it ends (or by the watchdog on a timeout).
  void finish_run(const std::shared_ptr<ActionRun>& run, const std::string& outcome, double seconds,
                  bool timeout) {
    ActionOutcome out;
    bool record = true;
    {
      std::lock_guard lock(mu);
      if (timeout) {
        if (run->done || run->timed_out) return;
        run->timed_out = true;
        ++action_timeouts;
      } else {
        run->done = true;  // the watchdog leaves it alone from now on
        if (run->timed_out)
          record = false;  // stays "timeout"
        else if (outcome != "ok")
          ++action_failures;
      }
      if (record) {
        out.action = run->slot->name;
        out.outcome = outcome;
        out.duration_seconds = seconds;
        out.started = run->started_wall;
        if (Decision* d = find_decision_locked(run->decision_id)) {
          for (ActionOutcome& a : d->actions) {
            if (a.action == out.action) a = out;
          }
        }
      }
    }
    {
      // Under mu: once the destructor has set `detached`, the registry may be gone (an action
      // that hung past the destructor's wait finishes without metrics).
      std::lock_guard lock(mu);
      if (!detached) {
        if (timeout) {
          run->slot->timeouts.inc();
        } else {
          run->slot->duration.observe(seconds);
          if (record && outcome != "ok") run->slot->errors.inc();
        }
      }
    }
    if (record && audit && audit->ok()) {
      std::lock_guard alock(audit_mu);
      audit->record_action(name, run->decision_id, out);
    }
    if (!timeout) {
      // Finished once its outcome is recorded: wait_for_actions() then sees it in the audit
      // trail, and the worker is free for the next trigger.
      std::lock_guard lock(mu);
      runs.erase(std::remove(runs.begin(), runs.end(), run), runs.end());
      runs_cv.notify_all();
    }
  }

  static void run_action(const std::shared_ptr<Impl>& self, const std::shared_ptr<ActionRun>& run,
                         const RollbackTrigger& trigger) {
    const auto t0 = Steady::now();
    run->started_ns.store(std::max<int64_t>(1, t0.time_since_epoch().count()));
    std::string outcome = "ok";
    try {
      run->slot->fn(trigger);
    } catch (const std::exception& e) {
      outcome = std::string("error: ") + e.what();
    } catch (...) {
      outcome = "error: an exception that is not a std::exception";
    }
    const double seconds = std::chrono::duration<double>(Steady::now() - t0).count();
    self->finish_run(run, outcome, seconds, false);
  }

  // Marks the runs past action_timeout; sleeps until the next deadline.
  void watchdog_loop() {
    std::unique_lock lock(mu);
    while (!stop_watchdog) {
      const auto now_s = Steady::now();
      auto next = now_s + std::chrono::seconds(1);
      std::vector<std::shared_ptr<ActionRun>> late;
      for (const auto& r : runs) {
        const int64_t ns = r->started_ns.load();
        if (r->timed_out || r->done) continue;
        if (ns == 0) {  // queued or about to start: look again soon
          next = std::min(next, now_s + std::min<Steady::duration>(options.action_timeout,
                                                                   std::chrono::milliseconds(50)));
          continue;
        }
        const auto deadline = Steady::time_point(Steady::duration(ns)) + options.action_timeout;
        if (deadline <= now_s)
          late.push_back(r);
        else
          next = std::min(next, deadline);
      }
      if (!late.empty()) {
        lock.unlock();
        for (const auto& r : late) {
          const double s =
              std::chrono::duration<double>(
                  Steady::now() - Steady::time_point(Steady::duration(r->started_ns.load())))
                  .count();
          finish_run(r, "timeout", s, true);
        }
        lock.lock();
        continue;
      }
      watchdog_cv.wait_until(lock, next);
    }
  }

  // Hands the trigger to every action (with mu held). Returns the outcomes ("running").
  std::vector<ActionOutcome> start_actions_locked(const std::shared_ptr<Impl>& self,
                                                  const RollbackTrigger& trigger,
                                                  uint64_t decision_id) {
    std::vector<ActionOutcome> outs;
    if (actions.empty()) return outs;
    if (!watchdog.joinable() && !closing) {
      watchdog = std::thread([this] { watchdog_loop(); });
    }
    for (const auto& slot : actions) {
      auto run = std::make_shared<ActionRun>();
      run->slot = slot;
      run->decision_id = decision_id;
      run->started_wall = trigger.time;
      runs.push_back(run);
      ActionOutcome o;
      o.action = slot->name;
      o.outcome = "running";
      o.started = trigger.time;
      outs.push_back(o);
      if (!slot->pool->submit([self, run, trigger] { run_action(self, run, trigger); })) {
        run->done = true;
        runs.pop_back();
        outs.back().outcome = "error: the action's worker could not start";
        ++action_failures;
        slot->errors.inc();
      }
    }
    watchdog_cv.notify_all();
    return outs;
  }

  // ---- the alert rule

  void install_alert(const std::string& reason) {
    if (options.alerts == nullptr) return;
    auto flag = alert_flag;
    alerting::RuleGroup g;
    g.name = "guardrail/" + name;
    g.labels = {{"guardrail", name}};
    g.rules.push_back(alerting::AlertRule::builder()
                          .name("GuardrailTriggered")
                          .group(g.name)
                          .description("guardrail " + name + " triggered: rollback actions ran")
                          .condition([flag] { return flag->load(); })
                          .severity(alerting::Severity::kCritical)
                          .label("guardrail", name)
                          .annotation("summary", "Guardrail " + name + " triggered")
                          .annotation("reason", reason.empty() ? "not triggered" : reason)
                          .for_duration(std::chrono::milliseconds(0))
                          .build());
    options.alerts->add_group(std::move(g));
  }

  void remove_alert() {
    if (options.alerts == nullptr) return;
    alerting::RuleGroup g;
    g.name = "guardrail/" + name;
    try {
      options.alerts->add_group(std::move(g));  // no rules: the group's rule goes away
    } catch (...) {
    }
  }

  // ---- the verdict's effect

  // Applies a verdict to the counters and limits; true when it triggers (with mu held).
  bool apply_locked(Decision& d) {
    ++checks;
    switch (d.result) {
      case Result::kPass:
        ++passes;
        failures = 0;
        inconclusives = 0;
        errors = 0;
        break;
      case Result::kFail:
        ++failures;
        passes = 0;
        inconclusives = 0;
        errors = 0;
        break;
      case Result::kInconclusive:
        ++inconclusives;
        passes = 0;
        errors = 0;
        break;
      case Result::kError:
        ++errors;
        passes = 0;
        break;
    }
    if (!armed && d.time >= rearm_not_before && passes >= options.passes_to_rearm &&
        d.result != Result::kFail) {
      armed = true;
    }
    if (d.result == Result::kFail && failures > options.failure_limit && armed &&
        d.time >= rearm_not_before) {
      armed = false;
      ++triggers;
      last_trigger = d.time;
      rearm_not_before = d.time + options.cooldown;
      passes = 0;
      d.triggered = true;
    }
    return d.triggered;
  }

  RollbackTrigger trigger_of(const Decision& d) const {
    RollbackTrigger t;
    t.reason = d.reason;
    t.metric_name = d.metric;
    t.baseline_value = d.baseline;
    t.observed_value = d.observed;
    t.threshold_value = d.threshold;
    t.time = d.time;
    t.monitor = name;
    for (const auto& c : d.conditions) {
      if (c.result == Result::kFail) {
        t.change = c.statistic;
        t.threshold = threshold_for(c, options.thresholds);
        t.threshold_value = t.threshold.limit;
        if (c.alpha == 0) t.threshold_value = c.threshold;
        break;
      }
    }
    return t;
  }

  // Records a decision: memory, actions (before SQLite), metrics, alert, audit. With check_mu
  // held. Returns the decision as recorded.
  Decision finish(const std::shared_ptr<Impl>& self, Decision d) {
    d.monitor = name;
    if (const ConditionResult* c = first_failing(d.conditions);
        c != nullptr && d.result == Result::kFail) {
      d.metric = c->metric;
      d.threshold = c->threshold;
      d.observed = c->observed;
      d.baseline = c->baseline;
      if (d.reason.empty()) d.reason = c->reason;
    }
    std::optional<RollbackTrigger> trigger;
    {
      std::lock_guard lock(mu);
      d.id = next_id++;
      const bool fired = apply_locked(d);
      if (fired) {
        trigger = trigger_of(d);
        d.actions = start_actions_locked(self, *trigger, d.id);
      }
      push_decision_locked(d);
      publish_state_locked();
    }
    fam.checks->labels(name, result_name(d.result)).inc();
    if (trigger) {
      fam.triggers->labels(name).inc();
      install_alert(trigger->reason);
    }
    if (audit && audit->ok()) {
      std::lock_guard alock(audit_mu);
      Decision copy;
      {
        std::lock_guard lock(mu);
        const Decision* cur = find_decision_locked(d.id);
        copy = cur != nullptr ? *cur : d;
      }
      audit->record_decision(copy);
      d = copy;
    }
    return d;
  }

  // ---- the checks

  // Hard limits (error_rate kValue) on the current window, in the judged modes.
  void add_hard_limits(std::vector<ConditionResult>& conditions, TimePoint t,
                       std::string_view cohort) {
    std::vector<Threshold> hard;
    for (const Threshold& th : options.thresholds) {
      if (th.metric == Metric::kErrorRate && th.change == Change::kValue) hard.push_back(th);
    }
    if (hard.empty()) return;
    std::optional<WindowCounts> w = source->last(cohort, options.window);
    if (!w || w->requests < options.min_requests) {
      for (const Threshold& th : hard) {
        ConditionResult c;
        c.metric = "error_rate";
        c.result = Result::kPass;
        c.threshold = th.limit;
        c.observed = w ? w->snapshot().error_rate : NAN;
        c.reason = th.describe() + ": not applied (" + std::to_string(w ? w->requests : 0) +
                   " requests in the last " + fmt_duration(options.window) + ", fewer than " +
                   std::to_string(options.min_requests) + ")";
        conditions.push_back(std::move(c));
      }
      return;
    }
    (void)t;
    const PerformanceSnapshot snap = w->snapshot();
    for (ConditionResult& c : threshold_conditions(PerformanceSnapshot{}, snap, hard)) {
      conditions.push_back(std::move(c));
    }
  }

  Decision check_live(const std::shared_ptr<Impl>& self) {
    std::lock_guard check_lock(check_mu);
    Decision d;
    d.time = now();
    std::string mode_now;
    std::string cohort_b, cohort_c;
    TimePoint start{};
    std::optional<PerformanceSnapshot> fixed;
    {
      std::lock_guard lock(mu);
      if (paused) {
        d.monitor = name;
        d.mode = mode;
        d.result = Result::kInconclusive;
        d.reason = "paused: check skipped";
        fam.checks->labels(name, "paused").inc();
        return d;
      }
      mode_now = mode;
      cohort_b = baseline_cohort;
      cohort_c = canary_cohort;
      start = comparison_start;
      fixed = baseline;
    }
    d.mode = mode_now;
    // The source is sampled even without a baseline: a later set_baseline_window reads the
    // history ("the hour before the deploy").
    std::string err;
    const bool sampled = source && source->sample(d.time, &err);
    if (mode_now == "none") {
      d.result = Result::kInconclusive;
      d.reason = "no baseline: set_baseline, set_baseline_window or compare_cohorts first";
      return finish(self, std::move(d));
    }
    if (!source) {
      d.result = Result::kError;
      d.reason = "no live source (MonitorOptions::source): only check(snapshot) works";
      return finish(self, std::move(d));
    }
    if (!sampled) {
      d.result = Result::kError;
      d.reason = "the source could not be sampled: " +
                 (err.empty() ? std::string("the clock went back") : err);
      return finish(self, std::move(d));
    }
    if (mode_now == "fixed") {
      std::optional<WindowCounts> w = source->last(options.cohort, options.window);
      if (!w) {
        d.result = Result::kInconclusive;
        d.reason = "no window yet for cohort \"" + options.cohort + "\" (needs two samples)";
        return finish(self, std::move(d));
      }
      const PerformanceSnapshot snap = w->snapshot();
      set_current(snap);
      d.current_requests = w->requests;
      d.window_start = w->start;
      d.window_end = w->end;
      d.baseline_requests = fixed->request_count;
      if (w->requests < options.min_requests) {
        d.result = Result::kInconclusive;
        d.reason = std::to_string(w->requests) + " requests in the last " +
                   fmt_duration(options.window) + ", fewer than min_requests (" +
                   std::to_string(options.min_requests) + "): no verdict";
        return finish(self, std::move(d));
      }
      d.conditions = threshold_conditions(*fixed, snap, options.thresholds);
      d.result = combine(d.conditions);
      if (d.result == Result::kPass) {
        d.reason = "every threshold holds over " + std::to_string(w->requests) +
                   " requests in the last " + fmt_duration(options.window);
      } else if (d.result == Result::kInconclusive) {
        d.reason = "a threshold could not be measured (no latency observations?)";
      }
      return finish(self, std::move(d));
    }
    // window / cohort: the Judge over cumulative counts.
    std::optional<WindowCounts> b, c;
    std::string watched;
    if (mode_now == "window") {
      b = baseline_counts;
      c = source->since(options.cohort, baseline_to);
      watched = options.cohort;
    } else {
      b = source->since(cohort_b, start);
      c = source->since(cohort_c, start);
      watched = cohort_c;
    }
    if (!b || !c) {
      d.result = Result::kInconclusive;
      d.reason = std::string("no counts yet for the ") + (!c ? "canary" : "baseline") +
                 " cohort \"" + (!c ? watched : cohort_b) + "\"";
      return finish(self, std::move(d));
    }
    set_current(c->snapshot());
    d.baseline_requests = b->requests;
    d.current_requests = c->requests;
    d.window_start = c->start;
    d.window_end = c->end;
    Judgement j = judge.look(*b, *c);
    d.conditions = std::move(j.conditions);
    add_hard_limits(d.conditions, d.time, watched);
    d.result = j.result;
    d.reason = j.reason;
    if (d.result != Result::kFail && combine(d.conditions) == Result::kFail) {
      d.result = Result::kFail;
      d.reason.clear();
    }
    return finish(self, std::move(d));
  }

  // Removes the monitor's series when it is the last of its name on its registry.
  void release_metrics() noexcept {
    Impl& m = *this;
    bool last = false;
    {
      std::lock_guard lock(users_mu());
      auto it = metric_users().find({m.registry, m.name});
      if (it != metric_users().end() && --it->second <= 0) {
        metric_users().erase(it);
        last = true;
      }
    }
    if (!last) return;
    try {
      for (Result r : kAllResults) {
        m.fam.checks->remove(m.name, result_name(r));
      }
      m.fam.checks->remove(m.name, "paused");
      m.fam.triggers->remove(m.name);
      for (State s : kAllStates) m.fam.state->remove(m.name, state_name(s));
      std::vector<std::shared_ptr<ActionSlot>> slots;
      {
        std::lock_guard lock(m.mu);
        slots = m.actions;
      }
      for (const auto& slot : slots) {
        m.fam.action_duration->remove(m.name, slot->name);
        m.fam.action_failures->remove(m.name, slot->name, "error");
        m.fam.action_failures->remove(m.name, slot->name, "timeout");
      }
    } catch (...) {
    }
  }

  void set_current(const PerformanceSnapshot& s) {
    std::lock_guard lock(mu);
    current = s;
  }
};

// ---- construction

GuardrailMonitor::GuardrailMonitor(MonitorOptions options) {
  validate_options(options);
  auto impl = std::make_shared<Impl>(std::move(options));
  Impl& m = *impl;
  m.name = m.options.name;
  m.source = m.options.source;
  m.registry = m.options.metrics_registry != nullptr ? m.options.metrics_registry
                                                     : &metrics::Registry::global();
  m.fam = families_of(*m.registry);
  {
    std::lock_guard lock(users_mu());
    ++metric_users()[{m.registry, m.name}];
  }
  for (Result r : kAllResults) m.fam.checks->labels(m.name, result_name(r));
  m.fam.triggers->labels(m.name);
  if (!m.options.audit_path.empty()) {
    m.audit = detail::GuardrailAudit::open(m.options.audit_path, {.limit = m.options.audit_limit});
    if (m.audit->ok()) {
      m.next_id = m.audit->next_decision_id(m.name);
      const TimePoint last = m.audit->last_trigger(m.name);
      if (last != TimePoint{}) {
        m.last_trigger = last;
        m.rearm_not_before = last + m.options.cooldown;
      }
    }
  }
  {
    std::lock_guard lock(m.mu);
    m.publish_state_locked();
  }
  impl_ = std::move(impl);
  try {
    impl_->install_alert("");
  } catch (...) {
    impl_->release_metrics();
    throw;
  }
}

GuardrailMonitor::GuardrailMonitor(double success_delta_threshold, double latency_delta_threshold,
                                   double error_rate_threshold)
    : GuardrailMonitor(MonitorOptions{.thresholds = default_thresholds(success_delta_threshold,
                                                                       latency_delta_threshold,
                                                                       error_rate_threshold)}) {}

GuardrailMonitor::~GuardrailMonitor() {
  if (!impl_) return;
  Impl& m = *impl_;
  stop();
  std::vector<std::shared_ptr<ActionSlot>> slots;
  {
    std::lock_guard lock(m.mu);
    m.closing = true;
    slots = m.actions;
  }
  // Running actions get up to action_timeout (from now) to finish; the rest are detached (their
  // tasks hold the Impl).
  const auto deadline = Steady::now() + m.options.action_timeout;
  for (const auto& slot : slots) slot->pool->shutdown(deadline);
  {
    std::lock_guard lock(m.mu);
    m.detached = true;
    m.stop_watchdog = true;
    m.watchdog_cv.notify_all();
  }
  if (m.watchdog.joinable()) m.watchdog.join();
  m.remove_alert();
  impl_->release_metrics();
}

// ---- baselines

void GuardrailMonitor::set_baseline(const PerformanceSnapshot& baseline, std::string why) {
  validate_snapshot(impl_->name, baseline);
  Impl& m = *impl_;
  {
    std::lock_guard check_lock(m.check_mu);
    m.judge.reset();
    m.baseline_counts.reset();
    std::lock_guard lock(m.mu);
    m.mode = "fixed";
    m.baseline = baseline;
    m.baseline_cohort.clear();
    m.canary_cohort.clear();
    m.comparison_start = {};
    m.failures = m.inconclusives = m.errors = 0;
    m.publish_state_locked();
  }
  m.record_event("baseline", why + ": fixed baseline success_rate " + fmt(baseline.success_rate) +
                                 ", p50_latency " + fmt(baseline.p50_latency) + ", p95_latency " +
                                 fmt(baseline.p95_latency) + ", p99_latency " +
                                 fmt(baseline.p99_latency) + ", error_rate " +
                                 fmt(baseline.error_rate) + ", requests " +
                                 std::to_string(baseline.request_count));
}

void GuardrailMonitor::set_baseline_window(TimePoint from, TimePoint to, std::string why) {
  Impl& m = *impl_;
  const std::string what = "GuardrailMonitor \"" + m.name + "\": set_baseline_window: ";
  if (!m.source) throw Error(what + "needs a live source (MonitorOptions::source)");
  if (from >= to) throw Error(what + "`from` must be before `to`");
  std::optional<WindowCounts> w = m.source->window(m.options.cohort, from, to);
  if (!w || w->requests == 0) {
    throw Error(what + "the source has no samples (or no requests) of cohort \"" +
                m.options.cohort + "\" covering the window");
  }
  const PerformanceSnapshot snap = w->snapshot();
  {
    std::lock_guard check_lock(m.check_mu);
    m.judge.reset();
    m.baseline_counts = w;
    m.baseline_to = to;
    std::lock_guard lock(m.mu);
    m.mode = "window";
    m.baseline = snap;
    m.baseline_cohort.clear();
    m.canary_cohort.clear();
    m.comparison_start = to;
    m.failures = m.inconclusives = m.errors = 0;
    m.publish_state_locked();
  }
  m.record_event("baseline", why + ": window baseline of " + std::to_string(w->requests) +
                                 " requests, success_rate " + fmt(snap.success_rate) +
                                 ", p95_latency " + fmt(snap.p95_latency) + ", error_rate " +
                                 fmt(snap.error_rate));
}

void GuardrailMonitor::compare_cohorts(std::string baseline_cohort, std::string canary_cohort,
                                       std::string why) {
  Impl& m = *impl_;
  const std::string what = "GuardrailMonitor \"" + m.name + "\": compare_cohorts: ";
  if (!m.source) throw Error(what + "needs a live source (MonitorOptions::source)");
  if (baseline_cohort.empty() || canary_cohort.empty()) {
    throw Error(what + "cohort names must not be empty");
  }
  if (baseline_cohort == canary_cohort) {
    throw Error(what + "the baseline and canary cohorts must differ (both \"" + baseline_cohort +
                "\")");
  }
  if (m.source->options().cohort_label.empty()) {
    throw Error(what + "the source has no cohort_label to tell cohorts apart");
  }
  const TimePoint start = m.now();
  m.source->sample(start);  // the comparison's first sample (a failure shows at the checks)
  {
    std::lock_guard check_lock(m.check_mu);
    m.judge.reset();
    m.baseline_counts.reset();
    std::lock_guard lock(m.mu);
    m.mode = "cohort";
    m.baseline.reset();
    m.current.reset();
    m.baseline_cohort = baseline_cohort;
    m.canary_cohort = canary_cohort;
    m.comparison_start = start;
    m.failures = m.inconclusives = m.errors = 0;
    m.publish_state_locked();
  }
  m.record_event("comparison",
                 why + ": cohort " + canary_cohort + " judged against " + baseline_cohort);
}

std::optional<PerformanceSnapshot> GuardrailMonitor::baseline() const {
  std::lock_guard lock(impl_->mu);
  return impl_->baseline;
}

// ---- the guide's check

std::optional<RollbackTrigger> GuardrailMonitor::check(const PerformanceSnapshot& current) {
  Impl& m = *impl_;
  std::lock_guard check_lock(m.check_mu);
  Decision d;
  d.time = m.now();
  d.mode = "manual";
  d.current_requests = current.request_count;
  std::optional<PerformanceSnapshot> base;
  {
    std::lock_guard lock(m.mu);
    if (m.paused) {
      m.fam.checks->labels(m.name, "paused").inc();
      return std::nullopt;
    }
    base = m.baseline;
    m.current = current;
  }
  if (!base) {
    d.result = Result::kInconclusive;
    d.reason = "no baseline: set_baseline first";
    m.finish(impl_, std::move(d));
    return std::nullopt;
  }
  d.baseline_requests = base->request_count;
  std::optional<RollbackTrigger> crossed =
      evaluate_thresholds(*base, current, m.options.thresholds);
  if (current.request_count != 0 && current.request_count < m.options.min_requests) {
    d.result = Result::kInconclusive;
    d.reason = std::to_string(current.request_count) + " requests, fewer than min_requests (" +
               std::to_string(m.options.min_requests) + "): no verdict";
    m.finish(impl_, std::move(d));
    return std::nullopt;
  }
  d.conditions = threshold_conditions(*base, current, m.options.thresholds);
  d.result = crossed ? Result::kFail : combine(d.conditions);
  if (crossed) {
    d.reason = crossed->reason;
  } else if (d.result == Result::kPass) {
    d.reason = "every threshold holds";
  } else {
    d.reason = "a threshold could not be measured";
  }
  const Decision rec = m.finish(impl_, std::move(d));
  if (!crossed) return std::nullopt;
  crossed->time = rec.time;
  crossed->monitor = m.name;
  return crossed;
}

// ---- actions

void GuardrailMonitor::on_trigger(std::string name, Action action) {
  Impl& m = *impl_;
  const std::string what = "GuardrailMonitor \"" + m.name + "\": on_trigger: ";
  if (!action) throw Error(what + "the action \"" + name + "\" is empty");
  if (name.empty()) throw Error(what + "an action needs a name");
  auto slot = std::make_shared<ActionSlot>();
  slot->name = name;
  slot->fn = std::move(action);
  slot->pool = std::make_unique<detail::WorkerPool>(1, std::chrono::hours(24));
  std::lock_guard lock(m.mu);
  for (const auto& a : m.actions) {
    if (a->name == name) throw Error(what + "an action named \"" + name + "\" exists already");
  }
  slot->duration = m.fam.action_duration->labels(m.name, name);
  slot->errors = m.fam.action_failures->labels(m.name, name, "error");
  slot->timeouts = m.fam.action_failures->labels(m.name, name, "timeout");
  m.actions.push_back(std::move(slot));
}

void GuardrailMonitor::on_trigger(Action action) {
  size_t n = 0;
  {
    std::lock_guard lock(impl_->mu);
    n = impl_->actions.size() + 1;
  }
  on_trigger("action-" + std::to_string(n), std::move(action));
}

bool GuardrailMonitor::wait_for_actions(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  return m.runs_cv.wait_for(lock, timeout, [&] { return m.runs.empty(); });
}

// ---- continuous checking

void GuardrailMonitor::start() {
  Impl& m = *impl_;
  std::lock_guard tlock(m.thread_mu);
  if (m.checker.joinable()) return;
  {
    std::lock_guard lock(m.wake_mu);
    m.stop_checker = false;
  }
  std::shared_ptr<Impl> self = impl_;
  m.running = true;
  m.checker = std::thread([self] {
    Impl& s = *self;
    std::unique_lock lock(s.wake_mu);
    while (true) {
      if (s.wake_cv.wait_for(lock, s.options.interval, [&] { return s.stop_checker; })) break;
      lock.unlock();
      try {
        s.check_live(self);
      } catch (...) {
        // check_live reports problems as error decisions; anything else (bad_alloc) skips one.
      }
      lock.lock();
    }
  });
}

void GuardrailMonitor::stop() {
  Impl& m = *impl_;
  std::lock_guard tlock(m.thread_mu);
  {
    std::lock_guard lock(m.wake_mu);
    m.stop_checker = true;
    m.wake_cv.notify_all();
  }
  if (m.checker.joinable()) m.checker.join();
  m.running = false;
}

Decision GuardrailMonitor::check_now() { return impl_->check_live(impl_); }

void GuardrailMonitor::pause(std::string who) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.paused) return;
    m.paused = true;
    m.publish_state_locked();
  }
  m.record_event("pause", "paused" + (who.empty() ? std::string() : " by " + who));
}

void GuardrailMonitor::resume(std::string who) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (!m.paused) return;
    m.paused = false;
    m.publish_state_locked();
  }
  m.record_event("resume", "resumed" + (who.empty() ? std::string() : " by " + who));
}

// ---- reading

const std::string& GuardrailMonitor::name() const noexcept { return impl_->name; }

const MonitorOptions& GuardrailMonitor::options() const noexcept { return impl_->options; }

std::vector<std::string> GuardrailMonitor::cohorts() const {
  if (!impl_->source) return {};
  return impl_->source->cohorts();
}

MonitorStatus GuardrailMonitor::status() const {
  const Impl& m = *impl_;
  MonitorStatus s;
  {
    std::lock_guard lock(m.mu);
    s.name = m.name;
    s.state = m.state_locked();
    s.mode = m.mode;
    s.baseline = m.baseline;
    s.current = m.current;
    s.baseline_cohort = m.baseline_cohort;
    s.canary_cohort = m.canary_cohort;
    s.comparison_start = m.comparison_start;
    if (!m.ring.empty()) s.last_decision = m.ring.back();
    s.consecutive_failures = m.failures;
    s.consecutive_inconclusive = m.inconclusives;
    s.consecutive_errors = m.errors;
    s.consecutive_passes = m.passes;
    s.checks = m.checks;
    s.triggers = m.triggers;
    s.action_failures = m.action_failures;
    s.action_timeouts = m.action_timeouts;
    s.last_trigger = m.last_trigger;
    s.rearm_not_before = m.rearm_not_before;
  }
  s.running = m.running.load();
  s.interval = m.options.interval;
  s.window = m.options.window;
  s.audit_path = m.options.audit_path;
  if (m.audit) s.audit_error = m.audit->error();
  return s;
}

std::vector<Decision> GuardrailMonitor::decisions(const DecisionQuery& query) const {
  const Impl& m = *impl_;
  if (m.audit && m.audit->ok()) {
    std::vector<Decision> out = m.audit->decisions(m.name, query);
    // Outcomes still changing in memory (running actions) win over the stored ones.
    std::lock_guard lock(m.mu);
    for (Decision& d : out) {
      if (!d.triggered) continue;
      for (auto it = m.ring.rbegin(); it != m.ring.rend(); ++it) {
        if (it->id == d.id) {
          d.actions = it->actions;
          break;
        }
      }
    }
    return out;
  }
  std::vector<Decision> out;
  std::lock_guard lock(m.mu);
  for (auto it = m.ring.rbegin(); it != m.ring.rend() && out.size() < query.limit; ++it) {
    if (query.since != TimePoint{} && it->time < query.since) continue;
    if (query.until != TimePoint{} && it->time >= query.until) continue;
    if (query.result && it->result != *query.result) continue;
    out.push_back(*it);
  }
  return out;
}

std::vector<AuditEvent> GuardrailMonitor::events(const DecisionQuery& query) const {
  const Impl& m = *impl_;
  if (m.audit && m.audit->ok()) return m.audit->events(m.name, query);
  std::vector<AuditEvent> out;
  std::lock_guard lock(m.mu);
  for (auto it = m.event_ring.rbegin(); it != m.event_ring.rend() && out.size() < query.limit;
       ++it) {
    if (query.since != TimePoint{} && it->time < query.since) continue;
    if (query.until != TimePoint{} && it->time >= query.until) continue;
    out.push_back(*it);
  }
  return out;
}

}  // namespace vigil::guardrail
