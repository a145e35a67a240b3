// vigil/health/monitor.h: the health monitor: registered checks, their groups, and the probes.
//
// HealthMonitor runs checks on a small pool of threads it owns and answers Kubernetes-style
// probes: liveness (is the process alive?), readiness (can it take traffic?) and startup (has it
// finished starting?), plus user-defined groups. A hung check is reported as failed at its
// timeout and never blocks the caller or other checks.
//
//   vigil::health::HealthMonitor monitor({.service_id = "agent-gateway", .version = "1.4.2",
//                                         .startup_timeout = std::chrono::seconds(60),
//                                         .self_metrics = &registry});
//   monitor.add_liveness_check("event_loop", loop_heartbeat.check());
//   monitor.add_readiness_check("database", [&] { return db.ping_ms() < 100; });
//   monitor.add_check("cache", [&] { return cache.ok(); },
//                     {.groups = {"readiness", "dependencies"}, .critical = false});
//   monitor.add_startup_check("models", [&] { return models.loaded(); });
//
//   vigil::health::HealthReport r = monitor.readiness();   // runs the checks (in parallel)
//   if (r.status == vigil::health::Status::kFail) ...      // see report.h for to_json()
//
// Semantics, as in Kubernetes:
// * Startup: until every critical startup check passes (once), readiness() and evaluate_all()
//   report fail ("startup not complete: ..."). Readiness evaluations run the startup checks
//   themselves, so a startup probe is not required. Once passed, startup stays passed and its
//   checks are no longer run for the startup group. With a startup_timeout, a start that takes
//   longer fails startup() with "startup did not complete within 60 s: ..." (and liveness, see
//   startup_timeout_fails_liveness).
// * Groups: a group's status is the worst of its checks; a failing non-critical check makes it
//   warn. A group without checks passes.
// * Hysteresis, caching and background refresh per check: see CheckOptions (check.h).
//
// Metrics (when options.self_metrics is set): vigil_health_check_status{check,group} (1 pass,
// 0.5 warn, 0 fail: the reported status), vigil_health_status{group} (the group's status, same
// values), vigil_health_check_duration_seconds{check} (histogram of run durations; a timed-out
// run counts as its timeout) and vigil_health_check_runs_total{check,result} (result: pass,
// warn, fail, timeout, skipped).
//
// Thread-safety: every member function may be called from any thread, concurrently. Evaluations
// of the same check share one run. The check functions run on the monitor's threads, never on
// the caller's, and a check function is never called concurrently with itself unless its
// max_concurrent_runs is > 1.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/health/check.h"
#include "vigil/health/report.h"
#include "vigil/health/result.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::health {

struct HealthMonitorOptions {
  // IETF serviceId, e.g. "agent-gateway". Also used in report descriptions.
  std::string service_id;
  // Service version (IETF "version"), e.g. "1.4.2", and release (IETF "releaseId").
  std::string version;
  std::string release_id;
  // IETF "description"; default "<group> of <service_id>".
  std::string description;
  // 0: no limit. Otherwise a start that has not passed the startup group this long after the
  // monitor was created is reported as a failure with a clear message.
  std::chrono::milliseconds startup_timeout{0};
  // After the startup timeout, liveness fails too (so Kubernetes restarts a stuck start even
  // without a startupProbe).
  bool startup_timeout_fails_liveness = true;
  // Threads that run checks, created on demand and retired after a minute idle. A hung check
  // holds a thread until it returns (at most max_concurrent_runs of them per check), so allow
  // at least as many threads as checks that may hang. 1 to 256.
  int max_threads = 16;
  // How long the destructor waits for running check functions to return (see shutdown()).
  std::chrono::milliseconds shutdown_timeout{2000};
  // Where to record the vigil_health_* metrics; nullptr: nowhere,
  // &vigil::metrics::Registry::global() for the global registry. Must outlive the monitor.
  metrics::Registry* self_metrics = nullptr;
};

class HealthMonitor {
 public:
  // Validates the options and registers the metric families (no thread starts yet).
  // Throws vigil::Error for max_threads out of range, a negative timeout, or a clash of the
  // metric names with metrics already in the registry. Cost: small.
  explicit HealthMonitor(HealthMonitorOptions options = {});
  // shutdown(options.shutdown_timeout).
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Registers a check. `name`: letters, digits, '_', '-', '.', '/', at most 128 characters,
  // unique in this monitor. `fn`: see check.h. Throws vigil::Error naming the check and the
  // rule broken: empty or invalid name, duplicate name, empty function, no group, invalid group
  // name, timeout <= 0, thresholds < 1, negative cache_ttl or interval, max_concurrent_runs out
  // of 1..64, or after shutdown(). Nothing is registered then. A check with an interval starts
  // running in the background at once. The function, and everything it refers to, must stay
  // valid until the check is removed and its runs have returned, or until shutdown().
  // Thread-safe; cost: small (allocations).
  template <CheckCallable F>
  void add_check(std::string name, F&& fn, CheckOptions options = {}) {
    const bool null_fn = detail::is_null_callable(fn);
    const Status on_false = options.on_false;
    add_check_fn(std::move(name),
                 null_fn ? detail::CheckFn() : detail::make_check_fn(std::forward<F>(fn), on_false),
                 std::move(options));
  }
  // add_check with options.groups set to {kLiveness}, {kReadiness} or {kStartup}.
  template <CheckCallable F>
  void add_liveness_check(std::string name, F&& fn, CheckOptions options = {}) {
    options.groups = {std::string(kLiveness)};
    add_check(std::move(name), std::forward<F>(fn), std::move(options));
  }
  template <CheckCallable F>
  void add_readiness_check(std::string name, F&& fn, CheckOptions options = {}) {
    options.groups = {std::string(kReadiness)};
    add_check(std::move(name), std::forward<F>(fn), std::move(options));
  }
  template <CheckCallable F>
  void add_startup_check(std::string name, F&& fn, CheckOptions options = {}) {
    options.groups = {std::string(kStartup)};
    add_check(std::move(name), std::forward<F>(fn), std::move(options));
  }

  // Unregisters a check; false when there is none by that name. A run in progress finishes
  // on its own and is discarded; the check's metric series are removed. Thread-safe; never
  // throws.
  bool remove_check(std::string_view name) noexcept;

  // Runs the checks of a group (those whose result is not cached or refreshed in the
  // background), in parallel on the monitor's threads, and reports. Returns at the latest when
  // the slowest check's timeout expires (plus scheduling noise), whatever the checks do.
  // A group without checks passes. After shutdown(), reports fail ("shutting down") at once.
  // Thread-safe; never throws except std::bad_alloc.
  // Cost: ~2 us when every check's result is cached or refreshed in the background; otherwise
  // the slowest check of the group plus ~15-20 us of dispatch per check that runs
  // (bench/health_bench.cc).
  HealthReport evaluate(std::string_view group);
  // The standard groups, with their startup semantics (see above). As evaluate().
  HealthReport liveness() { return evaluate(kLiveness); }
  HealthReport readiness() { return evaluate(kReadiness); }
  HealthReport startup() { return evaluate(kStartup); }
  // Every check once (report group ""); fails while startup is not complete. Checks that only
  // belong to the startup group are read, not run, once startup has passed. As evaluate().
  HealthReport evaluate_all();

  // Whether the startup group has passed. Thread-safe; never throws; does not run checks.
  bool started() const noexcept;

  // Names of the groups that have checks, plus the three standard groups, sorted.
  // Thread-safe; allocates.
  std::vector<std::string> groups() const;
  // Whether `group` is a standard group or has a check. Thread-safe; never throws.
  bool has_group(std::string_view group) const noexcept;
  // Names of the registered checks in registration order. Thread-safe; allocates.
  std::vector<std::string> check_names() const;

  // The latest result of every registered check, in registration order, without running any
  // check (guide 002's `last_results`): what each check reports now (after hysteresis), its
  // output, observed value, duration and the Unix time of the run (time 0, status kFail and
  // output "no result yet" for a check that has not run). `cached` is true in every entry.
  // Thread-safe (a copy taken under the monitor's lock; never waits for a running check);
  // never throws except std::bad_alloc. Cost: a copy of each check's report (~1 us per check).
  //
  //   for (const vigil::health::CheckReport& c : monitor.last_results())
  //     std::cout << c.name << " " << vigil::health::to_string(c.status) << "\n";
  std::vector<CheckReport> last_results() const;

  struct Stats {
    uint64_t runs = 0;            // check runs started
    uint64_t timeouts = 0;        // runs reported failed at their timeout
    uint64_t skipped = 0;         // runs not started: max_concurrent_runs reached
    uint64_t late_results = 0;    // results that arrived after their run timed out (discarded)
    uint64_t expired = 0;         // runs that timed out before a thread was free to start them
    uint64_t exceptions = 0;      // runs whose function threw
    size_t threads = 0;           // worker threads alive now
    size_t peak_threads = 0;      // most worker threads alive at once
    size_t running = 0;           // check functions executing now (including hung ones)
    size_t detached_threads = 0;  // threads left running at shutdown (hung checks)
  };
  // Counters since construction. Thread-safe; never throws.
  Stats stats() const noexcept;

  // Stops background refresh, fails pending runs ("shutting down"), requests stop on every
  // running check's stop token, and waits until `deadline` for the worker threads to finish.
  // Threads still inside a check function then are detached (counted in
  // Stats::detached_threads): C++ cannot interrupt a function, and waiting forever would block
  // the application. A detached thread touches only state it shares with the monitor (kept
  // alive for it) and the check function itself, which must therefore stay valid until the
  // function returns. Later evaluations report fail at once. Idempotent; thread-safe; never
  // throws. Do not call it from inside a check function.
  void shutdown(std::chrono::milliseconds deadline) noexcept;

 private:
  void add_check_fn(std::string name, detail::CheckFn fn, CheckOptions options);

  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace vigil::health
