// HealthMonitor: check registry, runs on the worker pool, timeouts, hysteresis, startup gating,
// background refresh and metrics. See docs/design.md ("Health") for the design.
//
// One mutex (Core::mu) guards every piece of state; it is never held while a check function
// runs, and check functions never run on a caller's thread. A run is "decided" exactly once:
// by the worker when the function returns in time, or by whoever notices its deadline first
// (an evaluation waiting for it, or the scheduler for background checks), or by shutdown.
// Deciding applies hysteresis and records metrics; a result that arrives after its run was
// decided is discarded and counted.
#include "vigil/health/monitor.h"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "core/detail/text.h"
#include "core/detail/worker_pool.h"
#include "format.h"
#include "monitor_internal.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::health {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxOutputBytes = 4096;
constexpr std::chrono::seconds kIdleThreadTimeout{60};

using detail::CheckPtr;
using detail::CheckState;
using detail::kRunResultNames;
using detail::Outcome;
using detail::Run;
using detail::RunEnd;
using vigil::detail::quoted;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

struct HealthMonitor::Core : std::enable_shared_from_this<HealthMonitor::Core> {
  explicit Core(HealthMonitorOptions o)
      : options(std::move(o)),
        created(Clock::now()),
        created_unix(unix_time_seconds()),
        pool(options.max_threads, kIdleThreadTimeout) {}

  HealthMonitorOptions options;
  const Clock::time_point created;
  const double created_unix;

  mutable std::mutex mu;
  std::condition_variable decided_cv;  // a run was decided
  std::condition_variable sched_cv;    // background checks changed, or closing
  std::vector<CheckPtr> checks;        // registration order
  bool closed = false;
  bool shutdown_done = false;
  bool started = false;
  double started_after = 0;  // seconds from creation to startup completion
  bool startup_timed_out = false;
  Stats counters;
  size_t running = 0;
  std::thread scheduler;

  detail::MonitorMetrics metrics;  // none when options.self_metrics is null
  std::map<std::string, metrics::Gauge, std::less<>> group_gauges;

  vigil::detail::WorkerPool pool;

  // --- helpers, all called with `mu` held --------------------------------------------------

  std::vector<CheckPtr> select_locked(std::string_view group) const {
    std::vector<CheckPtr> out;
    for (const CheckPtr& c : checks) {
      if (group.empty() || c->in_group(group)) out.push_back(c);
    }
    return out;
  }

  void resolve_metrics_locked(CheckState& c) {
    if (c.metrics_resolved || closed || c.removed || !metrics.enabled()) return;
    c.metrics_resolved = true;
    detail::bind_check_metrics(metrics, c);
  }

  // The status of a group from the reported statuses of its checks and the startup state,
  // without running anything. `out` receives the problems, if any.
  Status group_status_locked(std::string_view group, std::string* out = nullptr) const {
    std::vector<CheckReport> reports;
    for (const CheckPtr& c : checks) {
      if (!c->in_group(group) || !c->has_result) continue;
      CheckReport r;
      r.name = c->name;
      r.critical = c->options.critical;
      r.status = c->reported;
      r.output = c->reported_output;
      reports.push_back(std::move(r));
    }
    std::vector<const CheckReport*> ptrs;
    for (const CheckReport& r : reports) ptrs.push_back(&r);
    const Status s = detail::aggregate(ptrs);
    if (out != nullptr && s != Status::kPass) *out = detail::problems(ptrs, s);
    return s;
  }

  bool liveness_gated_locked() const noexcept {
    return startup_timed_out && !started && options.startup_timeout_fails_liveness;
  }

  // The value exported in vigil_health_status{group}.
  Status exported_group_status_locked(std::string_view group) const {
    if (group == kReadiness && !started) return Status::kFail;
    if (group == kStartup && started) return Status::kPass;
    if (group == kStartup && !started) {
      // Not passed yet: fail, whatever the checks said last.
      return Status::kFail;
    }
    if (group == kLiveness && liveness_gated_locked()) return Status::kFail;
    return group_status_locked(group);
  }

  void update_group_gauge_locked(const std::string& group) {
    if (!metrics.enabled() || closed) return;
    try {
      auto it = group_gauges.find(group);
      if (it == group_gauges.end()) {
        it = group_gauges.emplace(group, metrics.group->labels(group)).first;
      }
      it->second.set(metric_value(exported_group_status_locked(group)));
    } catch (...) {
      // bad_alloc: the gauge is not updated.
    }
  }

  void update_all_group_gauges_locked() {
    if (!metrics.enabled() || closed) return;
    for (const std::string& g : groups_locked()) update_group_gauge_locked(g);
  }

  std::vector<std::string> groups_locked() const {
    std::vector<std::string> out = {std::string(kLiveness), std::string(kReadiness),
                                    std::string(kStartup)};
    for (const CheckPtr& c : checks) {
      for (const std::string& g : c->options.groups) {
        if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void decide_locked(CheckState& c, Run& run, Outcome outcome, RunEnd end) {
    run.decided = true;
    if (end == RunEnd::kShutdown) return;  // not a result of the check
    outcome.result.output =
        detail::truncate_utf8(std::move(outcome.result.output), kMaxOutputBytes);
    detail::HysteresisStep h =
        detail::next_hysteresis(c.hysteresis, !c.has_result, outcome.result,
                                c.options.failure_threshold, c.options.success_threshold);
    c.hysteresis = h.state;
    c.reported = h.reported;
    c.reported_output = std::move(h.reported_output);
    c.has_result = true;
    c.last = std::move(outcome);
    c.last_at = Clock::now();
    if (closed || c.removed) return;
    resolve_metrics_locked(c);
    if (end != RunEnd::kSkipped) c.duration.observe(c.last.duration_seconds);
    size_t result = detail::kResultFail;
    switch (end) {
      case RunEnd::kTimeout:
      case RunEnd::kNotStarted:
        result = detail::kResultTimeout;
        break;
      case RunEnd::kSkipped:
        result = detail::kResultSkipped;
        break;
      default:
        result = static_cast<size_t>(c.last.result.status);  // pass, warn, fail
        break;
    }
    c.runs[result].inc();
    const double v = metric_value(c.reported);
    for (metrics::Gauge& g : c.status_gauges) g.set(v);
    for (const std::string& g : c.options.groups) update_group_gauge_locked(g);
    // A startup check refreshed in the background latches `started` by itself, so the
    // readiness gauge leaves 0 without waiting for a readiness or startup request.
    if (!started && c.in_group(kStartup)) update_startup_locked();
  }

  // Decides `run` as timed out if its deadline has passed. Its stop source is added to
  // `to_stop` (stop callbacks are user code: they run after `mu` is released).
  void timeout_if_due_locked(CheckState& c, Run& run, Clock::time_point now,
                             std::vector<std::stop_source>& to_stop) {
    if (run.decided || now < run.deadline) return;
    std::string out;
    RunEnd end = RunEnd::kTimeout;
    if (run.started) {
      out = "timed out: no result within " + detail::format_duration(c.options.timeout);
      ++counters.timeouts;
    } else {
      out = "timed out before it could start: all " + std::to_string(options.max_threads) +
            " health check threads were busy for " + detail::format_duration(c.options.timeout);
      end = RunEnd::kNotStarted;
      ++counters.timeouts;
    }
    decide_locked(
        c, run,
        Outcome{CheckResult::fail(std::move(out)),
                std::chrono::duration<double>(c.options.timeout).count(), unix_time_seconds()},
        end);
    to_stop.push_back(run.stop);
  }

  // Starts a run of `c` on the pool, or decides it at once as skipped (too many runs in
  // flight) or failed (the pool refused it).
  std::shared_ptr<Run> start_run_locked(const CheckPtr& c, Clock::time_point now) {
    auto run = std::make_shared<Run>();
    run->submitted = now;
    run->deadline = now + c->options.timeout;
    c->current = run;
    if (c->in_flight.size() >= static_cast<size_t>(c->options.max_concurrent_runs)) {
      Clock::time_point oldest = now;
      bool any_started = false;
      for (const auto& r : c->in_flight) {
        oldest = std::min(oldest, r->submitted);
        any_started = any_started || r->started;
      }
      const std::string age = detail::format_duration(seconds_between(oldest, now));
      std::string out =
          any_started ? "skipped: the previous run has not returned after " + age + " (timeout " +
                            detail::format_duration(c->options.timeout) + "; at most " +
                            std::to_string(c->options.max_concurrent_runs) + " run(s) at a time)"
                      : "skipped: the previous run has waited " + age +
                            " for a free health check thread (all " +
                            std::to_string(options.max_threads) + " busy)";
      ++counters.skipped;
      decide_locked(*c, *run, Outcome{CheckResult::fail(std::move(out)), 0, unix_time_seconds()},
                    RunEnd::kSkipped);
      return run;
    }
    ++counters.runs;
    c->in_flight.push_back(run);
    const bool queued = pool.submit([self = shared_from_this(), c, run] { self->execute(c, run); });
    if (!queued) {
      c->in_flight.pop_back();
      decide_locked(*c, *run,
                    Outcome{CheckResult::fail(closed ? "shutting down"
                                                     : "could not start: no thread available"),
                            0, unix_time_seconds()},
                    closed ? RunEnd::kShutdown : RunEnd::kCompleted);
    }
    return run;
  }

  // On a pool thread.
  void execute(const CheckPtr& c, const std::shared_ptr<Run>& run) {
    std::shared_ptr<const detail::CheckFn> fn;
    std::stop_token token;
    {
      std::lock_guard lock(mu);
      if (run->decided) {  // timed out (or shut down) while queued
        erase_in_flight_locked(*c, run);
        if (!closed) ++counters.expired;
        return;
      }
      run->started = true;
      ++running;
      fn = c->fn;
      token = run->stop.get_token();
    }
    const Clock::time_point t0 = Clock::now();
    CheckResult result;
    bool threw = false;
    try {
      result = (*fn)(token);
    } catch (const std::exception& e) {
      threw = true;
      try {
        result = CheckResult::fail(std::string("check threw: ") + e.what());
      } catch (...) {
        result = CheckResult{};
        result.status = Status::kFail;
      }
    } catch (...) {
      threw = true;
      result = CheckResult{};
      result.status = Status::kFail;
      try {
        result.output = "check threw an exception that is not a std::exception";
      } catch (...) {
      }
    }
    const double seconds = seconds_between(t0, Clock::now());
    {
      std::lock_guard lock(mu);
      erase_in_flight_locked(*c, run);
      --running;
      if (threw) ++counters.exceptions;
      if (run->decided) {
        if (!closed) ++counters.late_results;
      } else {
        try {
          decide_locked(*c, *run, Outcome{std::move(result), seconds, unix_time_seconds()},
                        RunEnd::kCompleted);
        } catch (...) {
          run->decided = true;  // bad_alloc while recording: the run counts as decided
        }
      }
    }
    decided_cv.notify_all();
  }

  static void erase_in_flight_locked(CheckState& c, const std::shared_ptr<Run>& run) {
    auto it = std::find(c.in_flight.begin(), c.in_flight.end(), run);
    if (it != c.in_flight.end()) c.in_flight.erase(it);
  }

  // --- evaluation -------------------------------------------------------------------------

  enum class Mode { kRun, kLastOnly };

  struct Entry {
    CheckPtr check;
    bool cached = false;
    std::shared_ptr<Run> wait;  // run to wait for, if any
  };

  // Starts (or joins, or reuses) a run of each check, then waits until each run is decided or
  // its deadline passes. `mode(check)` says whether a check may be run or only read.
  template <class ModeFn>
  std::vector<Entry> run_checks_locked(std::unique_lock<std::mutex>& lock,
                                       const std::vector<CheckPtr>& selected, ModeFn mode) {
    std::vector<Entry> entries;
    entries.reserve(selected.size());
    const Clock::time_point now = Clock::now();
    for (const CheckPtr& c : selected) {
      Entry e{c, false, nullptr};
      const Mode m = mode(*c);
      if (c->has_result &&
          (m == Mode::kLastOnly || c->options.interval.count() > 0 ||
           (c->options.cache_ttl.count() > 0 && now - c->last_at < c->options.cache_ttl))) {
        e.cached = true;
      } else if (c->current && !c->current->decided) {
        e.wait = c->current;  // share the run in progress
      } else {
        std::shared_ptr<Run> run = start_run_locked(c, now);
        if (!run->decided) e.wait = std::move(run);
      }
      entries.push_back(std::move(e));
    }
    std::vector<std::stop_source> to_stop;
    while (true) {
      const Clock::time_point t = Clock::now();
      Clock::time_point earliest = Clock::time_point::max();
      for (Entry& e : entries) {
        if (!e.wait || e.wait->decided) continue;
        timeout_if_due_locked(*e.check, *e.wait, t, to_stop);
        if (!e.wait->decided) earliest = std::min(earliest, e.wait->deadline);
      }
      if (earliest == Clock::time_point::max()) break;
      decided_cv.wait_until(lock, earliest);
    }
    if (!to_stop.empty()) {
      lock.unlock();
      for (std::stop_source& s : to_stop) s.request_stop();
      decided_cv.notify_all();
      lock.lock();
    }
    return entries;
  }

  HealthReport base_report(std::string_view group) const {
    return detail::base_report(options, group);
  }

  // Reports on `entries`, filling status and output from the checks.
  void fill_checks(HealthReport& r, const std::vector<Entry>& entries) const {
    r.checks.reserve(entries.size());
    for (const Entry& e : entries) {
      r.checks.push_back(detail::make_check_report(*e.check, e.cached));
    }
    std::vector<const CheckReport*> ptrs;
    for (const CheckReport& c : r.checks) ptrs.push_back(&c);
    r.status = detail::aggregate(ptrs);
    if (r.status != Status::kPass) r.output = detail::problems(ptrs, r.status);
  }

  // After the startup checks ran (or were read): latches `started`, or explains why not.
  // Returns the explanation when startup has not completed.
  std::string update_startup_locked() {
    if (started) return {};
    std::string why;
    const Status s = group_status_locked(kStartup, &why);
    bool all_have_results = true;
    for (const CheckPtr& c : checks) {
      if (c->in_group(kStartup) && !c->has_result) all_have_results = false;
    }
    const double elapsed = seconds_between(created, Clock::now());
    if (s != Status::kFail && all_have_results) {
      started = true;
      started_after = elapsed;
      startup_timed_out = false;
      update_all_group_gauges_locked();
      return {};
    }
    if (why.empty()) why = "waiting for the startup checks";
    const bool timed_out =
        options.startup_timeout.count() > 0 &&
        elapsed >= std::chrono::duration<double>(options.startup_timeout).count();
    if (timed_out && !startup_timed_out) {
      startup_timed_out = true;
      update_all_group_gauges_locked();
    }
    if (timed_out) {
      return "startup did not complete within " + detail::format_duration(options.startup_timeout) +
             ": " + why;
    }
    return "startup not complete after " + detail::format_duration(elapsed) + ": " + why;
  }

  HealthReport shut_down_report(std::string_view group) const {
    HealthReport r = base_report(group);
    r.status = Status::kFail;
    r.output = "shutting down";
    r.started = started;
    return r;
  }

  void finish_report(HealthReport& r, Clock::time_point t0) const {
    r.started = started;
    r.time = unix_time_seconds();
    r.uptime_seconds = seconds_between(created, Clock::now());
    r.duration_seconds = seconds_between(t0, Clock::now());
  }

  HealthReport evaluate(std::string_view group) {
    const Clock::time_point t0 = Clock::now();
    std::unique_lock lock(mu);
    if (closed) return shut_down_report(group);

    // Which checks run: the group's, plus the startup checks while startup is pending and the
    // group depends on it.
    const bool is_startup = group == kStartup;
    const bool is_readiness = group == kReadiness;
    const bool is_liveness = group == kLiveness;
    const bool is_all = group.empty();
    const bool startup_deadline_passed =
        options.startup_timeout.count() > 0 && Clock::now() - created >= options.startup_timeout;
    const bool need_startup =
        !started &&
        (is_startup || is_readiness || is_all ||
         (is_liveness && options.startup_timeout_fails_liveness && startup_deadline_passed));

    std::vector<CheckPtr> selected = select_locked(group);
    std::vector<CheckPtr> startup_only;  // startup checks run for gating, not reported here
    if (need_startup && !is_startup && !is_all) {
      for (const CheckPtr& c : checks) {
        if (c->in_group(kStartup) &&
            std::find(selected.begin(), selected.end(), c) == selected.end()) {
          startup_only.push_back(c);
        }
      }
    }
    std::vector<CheckPtr> to_run = selected;
    to_run.insert(to_run.end(), startup_only.begin(), startup_only.end());
    const bool was_started = started;
    std::vector<Entry> entries = run_checks_locked(lock, to_run, [&](const CheckState& c) {
      // After startup, startup checks are not run again for the startup group (or for "all"
      // when startup is all they are for).
      if (was_started && (is_startup || (is_all && c.only_startup()))) return Mode::kLastOnly;
      return Mode::kRun;
    });
    if (closed) return shut_down_report(group);
    entries.resize(selected.size());  // drop the gating-only entries

    HealthReport r = base_report(group);
    fill_checks(r, entries);
    const std::string startup_why = need_startup ? update_startup_locked() : std::string();
    if (is_startup) {
      if (started) {
        r.status = Status::kPass;
        r.output.clear();
        r.description += " (complete after " + detail::format_duration(started_after) + ")";
      } else {
        r.status = Status::kFail;
        r.output = startup_why;
      }
    } else if ((is_readiness || is_all) && !started) {
      r.status = Status::kFail;
      r.output = startup_why;
    } else if (is_liveness && liveness_gated_locked()) {
      r.status = Status::kFail;
      r.output = startup_why.empty() ? "startup did not complete in time" : startup_why;
    }
    // Only groups that exist get a series: evaluating a made-up name must not create one.
    if (!group.empty() &&
        (group == kLiveness || group == kReadiness || group == kStartup || !selected.empty())) {
      update_group_gauge_locked(std::string(group));
    }
    finish_report(r, t0);
    return r;
  }

  // --- background refresh -----------------------------------------------------------------

  void scheduler_loop() {
    std::unique_lock lock(mu);
    std::vector<std::stop_source> to_stop;
    while (!closed) {
      const Clock::time_point now = Clock::now();
      Clock::time_point next = now + std::chrono::hours(1);
      for (const CheckPtr& c : checks) {
        if (c->options.interval.count() <= 0) continue;
        if (c->current && !c->current->decided) {
          timeout_if_due_locked(*c, *c->current, now, to_stop);
          if (!c->current->decided) {
            next = std::min(next, c->current->deadline);
            continue;
          }
        }
        if (now >= c->next_due) {
          const std::shared_ptr<Run> run = start_run_locked(c, now);
          c->next_due = now + c->options.interval;
          if (!run->decided) next = std::min(next, run->deadline);
        }
        next = std::min(next, c->next_due);
      }
      if (!to_stop.empty()) {
        std::vector<std::stop_source> stops;
        stops.swap(to_stop);
        lock.unlock();
        for (std::stop_source& s : stops) s.request_stop();
        decided_cv.notify_all();
        lock.lock();
        continue;
      }
      sched_cv.wait_until(lock, next);
    }
  }
};

HealthMonitor::HealthMonitor(HealthMonitorOptions options) {
  if (options.max_threads < 1 || options.max_threads > 256) {
    throw Error("health monitor: max_threads must be from 1 to 256 (got " +
                std::to_string(options.max_threads) + ")");
  }
  if (options.startup_timeout.count() < 0) {
    throw Error("health monitor: startup_timeout must not be negative");
  }
  if (options.shutdown_timeout.count() < 0) {
    throw Error("health monitor: shutdown_timeout must not be negative");
  }
  metrics::Registry* registry = options.self_metrics;
  core_ = std::make_shared<Core>(std::move(options));
  if (registry != nullptr) core_->metrics = detail::register_monitor_metrics(*registry);
}

HealthMonitor::~HealthMonitor() { shutdown(core_->options.shutdown_timeout); }

void HealthMonitor::add_check_fn(std::string name, detail::CheckFn fn, CheckOptions options) {
  detail::validate_check(name, fn, options);
  Core& core = *core_;
  auto c = std::make_shared<CheckState>();
  c->name = std::move(name);
  c->options = std::move(options);
  c->fn = std::make_shared<const detail::CheckFn>(std::move(fn));
  bool start_scheduler = false;
  {
    std::lock_guard lock(core.mu);
    if (core.closed) {
      throw Error("health check " + quoted(c->name) + ": the health monitor is shut down");
    }
    for (const CheckPtr& other : core.checks) {
      if (other->name == c->name) {
        throw Error("health check " + quoted(c->name) + " is already registered");
      }
    }
    c->next_due = Clock::now();
    core.checks.push_back(c);
    if (c->options.interval.count() > 0 && !core.scheduler.joinable()) {
      start_scheduler = true;
      try {
        core.scheduler = std::thread([p = &core] { p->scheduler_loop(); });
      } catch (...) {
        core.checks.pop_back();
        throw;
      }
    }
  }
  if (!start_scheduler) core.sched_cv.notify_all();
}

bool HealthMonitor::remove_check(std::string_view name) noexcept {
  Core& core = *core_;
  CheckPtr removed;
  std::vector<std::string> groups;
  {
    std::lock_guard lock(core.mu);
    auto it = std::find_if(core.checks.begin(), core.checks.end(),
                           [&](const CheckPtr& c) { return c->name == name; });
    if (it == core.checks.end()) return false;
    removed = *it;
    core.checks.erase(it);
    removed->removed = true;
    detail::unbind_check_metrics(*removed);
    groups = removed->options.groups;
    if (!core.closed && core.metrics.enabled()) {
      try {
        detail::remove_check_series(core.metrics, removed->name, groups);
        for (const std::string& g : groups) core.update_group_gauge_locked(g);
      } catch (...) {
      }
    }
  }
  core.sched_cv.notify_all();
  return true;
}

HealthReport HealthMonitor::evaluate(std::string_view group) { return core_->evaluate(group); }

HealthReport HealthMonitor::evaluate_all() { return core_->evaluate(""); }

bool HealthMonitor::started() const noexcept {
  std::lock_guard lock(core_->mu);
  return core_->started;
}

std::vector<std::string> HealthMonitor::groups() const {
  std::lock_guard lock(core_->mu);
  return core_->groups_locked();
}

bool HealthMonitor::has_group(std::string_view group) const noexcept {
  if (group == kLiveness || group == kReadiness || group == kStartup) return true;
  std::lock_guard lock(core_->mu);
  for (const CheckPtr& c : core_->checks) {
    if (c->in_group(group)) return true;
  }
  return false;
}

std::vector<std::string> HealthMonitor::check_names() const {
  std::lock_guard lock(core_->mu);
  std::vector<std::string> out;
  for (const CheckPtr& c : core_->checks) out.push_back(c->name);
  return out;
}

std::vector<CheckReport> HealthMonitor::last_results() const {
  std::lock_guard lock(core_->mu);
  std::vector<CheckReport> out;
  out.reserve(core_->checks.size());
  for (const CheckPtr& c : core_->checks) out.push_back(detail::make_check_report(*c, true));
  return out;
}

HealthMonitor::Stats HealthMonitor::stats() const noexcept {
  const vigil::detail::WorkerPool::Stats pool = core_->pool.stats();
  std::lock_guard lock(core_->mu);
  Stats s = core_->counters;
  s.threads = pool.threads;
  s.peak_threads = pool.peak_threads;
  s.running = core_->running;
  return s;
}

void HealthMonitor::shutdown(std::chrono::milliseconds deadline) noexcept {
  Core& core = *core_;
  const Clock::time_point until = Clock::now() + std::max(deadline, std::chrono::milliseconds(0));
  std::thread scheduler;
  std::vector<std::stop_source> to_stop;
  std::vector<std::pair<std::string, std::vector<std::string>>> check_series;  // name, groups
  std::vector<std::string> group_series;
  detail::MonitorMetrics metrics;
  std::map<std::string, metrics::Gauge, std::less<>> group_gauges;
  {
    std::lock_guard lock(core.mu);
    if (core.shutdown_done) return;
    core.shutdown_done = true;
    core.closed = true;
    try {
      for (const CheckPtr& c : core.checks) {
        if (c->current && !c->current->decided) {
          core.decide_locked(*c, *c->current, Outcome{}, RunEnd::kShutdown);
        }
        for (const auto& r : c->in_flight) to_stop.push_back(r->stop);
        if (c->metrics_resolved) check_series.emplace_back(c->name, c->options.groups);
        detail::unbind_check_metrics(*c);
      }
      for (const auto& [g, gauge] : core.group_gauges) group_series.push_back(g);
    } catch (...) {
      // bad_alloc: some series stay in the registry.
    }
    group_gauges.swap(core.group_gauges);
    scheduler = std::move(core.scheduler);
    std::swap(metrics, core.metrics);
  }
  core.decided_cv.notify_all();
  core.sched_cv.notify_all();
  for (std::stop_source& s : to_stop) s.request_stop();
  if (scheduler.joinable()) scheduler.join();
  group_gauges.clear();
  if (metrics.enabled()) {
    for (const auto& [check, groups] : check_series) {
      detail::remove_check_series(metrics, check, groups);
    }
    for (const std::string& g : group_series) metrics.group->remove(g);
  }
  const size_t detached = core.pool.shutdown(until);
  std::lock_guard lock(core.mu);
  core.counters.detached_threads = detached;
}

}  // namespace vigil::health
