// vigil/health/check.h: how a health check is declared: its function and its options.
//
// A check is a name, a function and CheckOptions: the groups it belongs to (liveness, readiness,
// startup or your own), a timeout, whether it is critical, hysteresis thresholds, caching and
// background refresh. It is registered with HealthMonitor::add_check (monitor.h).
//
// The function may be synchronous or asynchronous, and may take a std::stop_token:
//
//   CheckResult()                      [] { return db.ok() ? CheckResult::pass() : ...; }
//   bool()                             [] { return cache.is_connected(); }   // false = fail
//                                      (or warn, "degraded", with .on_false = Status::kWarn)
//   CheckResult(std::stop_token)       [](std::stop_token st) { ...; if (st.stop_requested()) ... }
//   std::future<CheckResult>()         [] { return client.async_ping(); }     // async
//   std::future<bool>()                (and any of the above taking a std::stop_token)
//
//   monitor.add_check("database", [&] { return db.ping_ms() < 100; },
//                     {.groups = {"readiness"}, .timeout = std::chrono::seconds(2),
//                      .component_type = "datastore", .failure_threshold = 3});
//
// The stop token is requested when the run times out and when the monitor shuts down: a long
// check can poll it and give up early. An exception escaping the function makes that run fail
// with the exception's message.
#pragma once

#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vigil/health/result.h"

namespace vigil::health {

// The standard groups, served at /health/live, /health/ready and /health/startup.
inline constexpr std::string_view kLiveness = "liveness";    // is the process alive?
inline constexpr std::string_view kReadiness = "readiness";  // can it take traffic?
inline constexpr std::string_view kStartup = "startup";      // has it finished starting?

struct CheckOptions {
  // Groups the check belongs to: kLiveness, kReadiness, kStartup and/or your own names
  // (letters, digits, '_', '-', '.', at most 64 characters). At least one.
  std::vector<std::string> groups = {std::string(kReadiness)};
  // A run that has not returned after this long is reported as failed ("timed out"); the
  // endpoint answers then, whatever the function does. Must be > 0.
  std::chrono::milliseconds timeout{5000};
  // A failing critical check fails its group (HTTP 503); a failing non-critical check only
  // makes the group warn ("degraded", still HTTP 200).
  bool critical = true;
  // IETF componentType, e.g. "datastore", "system", "component". Empty: not reported.
  std::string component_type;
  // IETF measurementName, e.g. "responseTime", "utilization": the check appears in the
  // health+json body under "<name>:<measurement>" (just "<name>" when empty).
  std::string measurement;
  // Hysteresis: consecutive failing runs before a passing check is reported as failing, and
  // consecutive non-failing runs before a failing check is reported as passing again. Both
  // >= 1; 1 reports every run as it is. The first run is always reported as it is.
  int failure_threshold = 1;
  int success_threshold = 1;
  // Reuse a result for this long instead of running the check again (0: every evaluation runs
  // the check; concurrent evaluations still share one run). Must be >= 0.
  std::chrono::milliseconds cache_ttl{0};
  // > 0: run the check in the background every `interval`; evaluations read the latest result
  // and never wait (except for the very first run). Must be >= 0.
  std::chrono::milliseconds interval{0};
  // Runs of this check that may be in progress at once, counting runs that timed out but whose
  // function has not returned yet (a hung check). When reached, a new run is not started: it is
  // reported as failed ("skipped") and counted. 1 to 64.
  int max_concurrent_runs = 1;
  // What a `false` from a bool (or std::future<bool>) check reports: kFail (the default,
  // "check returned false") or kWarn (degraded: "check returned false", the group warns and
  // stays HTTP 200), as guide 002's HealthMonitor maps `False` to DEGRADED. A timeout, an
  // exception or a skipped run stays a failure whatever this says; checks returning a
  // CheckResult report what they return. kPass is refused (vigil::Error).
  Status on_false = Status::kFail;
};

namespace detail {

// The one shape the monitor runs; the user's callable is adapted to it.
using CheckFn = std::function<CheckResult(std::stop_token)>;

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<std::future<T>> : std::true_type {};

template <class F>
decltype(auto) invoke_check(F& f, std::stop_token st) {
  if constexpr (std::invocable<F&, std::stop_token>) {
    return std::invoke(f, std::move(st));
  } else {
    return std::invoke(f);
  }
}

template <class F>
struct check_return {
  using type = void;
};
template <class F>
requires std::invocable<F&, std::stop_token> || std::invocable<F&>
struct check_return<F> {
  using type = std::remove_cvref_t<decltype(invoke_check(std::declval<F&>(), std::stop_token{}))>;
};

template <class R>
concept CheckReturn = std::same_as<R, CheckResult> || std::same_as<R, bool> ||
    std::same_as<R, std::future<CheckResult>> || std::same_as<R, std::future<bool>>;

template <class T>
struct is_std_function : std::false_type {};
template <class S>
struct is_std_function<std::function<S>> : std::true_type {};

// Whether `f` is an empty std::function or a null function pointer (a configuration mistake).
template <class F>
bool is_null_callable(const F& f) noexcept {
  if constexpr (is_std_function<F>::value || std::is_pointer_v<F>) {
    return !static_cast<bool>(f);
  } else {
    return false;
  }
}

// A bool becomes pass, or `on_false` (kFail or kWarn) with "check returned false".
CheckResult from_bool(bool ok, Status on_false = Status::kFail);
// Waits for an asynchronous check's future, giving up (with a fail result that the monitor
// discards) when `st` is stopped. Exceptions from the future become fail results.
CheckResult wait_future(std::future<CheckResult>& f, const std::stop_token& st);
CheckResult wait_future(std::future<bool>& f, const std::stop_token& st,
                        Status on_false = Status::kFail);

}  // namespace detail

// What add_check accepts: a callable taking nothing or a std::stop_token, returning
// CheckResult, bool, std::future<CheckResult> or std::future<bool>.
template <class F>
concept CheckCallable = detail::CheckReturn<typename detail::check_return<std::decay_t<F>>::type>;

namespace detail {

// Adapts any CheckCallable to CheckFn. Move-only callables work (they are held by shared_ptr).
// `on_false`: what a bool check's false reports (CheckOptions::on_false).
template <CheckCallable F>
CheckFn make_check_fn(F&& f, Status on_false = Status::kFail) {
  using Fn = std::decay_t<F>;
  using R = typename check_return<Fn>::type;
  auto held = std::make_shared<Fn>(std::forward<F>(f));
  return [held, on_false](std::stop_token st) -> CheckResult {
    static_cast<void>(on_false);  // used by the bool forms only
    if constexpr (std::same_as<R, CheckResult>) {
      return invoke_check(*held, std::move(st));
    } else if constexpr (std::same_as<R, bool>) {
      return from_bool(invoke_check(*held, std::move(st)), on_false);
    } else if constexpr (std::same_as<R, std::future<bool>>) {
      R future = invoke_check(*held, st);
      return wait_future(future, st, on_false);
    } else {
      R future = invoke_check(*held, st);
      return wait_future(future, st);
    }
  };
}

}  // namespace detail
}  // namespace vigil::health
