#include "vigil/health/result.h"

#include <chrono>
#include <exception>
#include <future>
#include <string>

#include "vigil/health/check.h"

namespace vigil::health {

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::kPass:
      return "pass";
    case Status::kWarn:
      return "warn";
    case Status::kFail:
      return "fail";
  }
  return "fail";
}

std::string_view overall_name(Status status) noexcept {
  switch (status) {
    case Status::kPass:
      return "healthy";
    case Status::kWarn:
      return "degraded";
    case Status::kFail:
      return "unhealthy";
  }
  return "unhealthy";
}

double metric_value(Status status) noexcept {
  switch (status) {
    case Status::kPass:
      return 1.0;
    case Status::kWarn:
      return 0.5;
    case Status::kFail:
      return 0.0;
  }
  return 0.0;
}

namespace detail {
namespace {

// Waits for `f` until it is ready or `st` is stopped. Polls with a growing interval (1 ms to
// 25 ms): a future cannot be woken by a stop token.
template <class T>
bool wait_ready(std::future<T>& f, const std::stop_token& st) {
  auto step = std::chrono::milliseconds(1);
  while (true) {
    const std::future_status s = f.wait_for(step);
    if (s != std::future_status::timeout) return true;  // ready, or deferred (get() runs it)
    if (st.stop_requested()) return false;
    if (step < std::chrono::milliseconds(25)) step *= 2;
  }
}

CheckResult threw(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return CheckResult::fail(std::string("check threw: ") + ex.what());
  } catch (...) {
    return CheckResult::fail("check threw an exception that is not a std::exception");
  }
}

template <class T>
CheckResult wait_and_get(std::future<T>& f, const std::stop_token& st,
                         Status on_false = Status::kFail) {
  if (!f.valid()) return CheckResult::fail("asynchronous check returned an empty std::future");
  if (!wait_ready(f, st)) {
    return CheckResult::fail("abandoned: the asynchronous check did not complete in time");
  }
  try {
    if constexpr (std::is_same_v<T, bool>) {
      return from_bool(f.get(), on_false);
    } else {
      return f.get();
    }
  } catch (...) {
    return threw(std::current_exception());
  }
}

}  // namespace

CheckResult from_bool(bool ok, Status on_false) {
  if (ok) return CheckResult::pass();
  return on_false == Status::kWarn ? CheckResult::warn("check returned false")
                                   : CheckResult::fail("check returned false");
}

CheckResult wait_future(std::future<CheckResult>& f, const std::stop_token& st) {
  return wait_and_get(f, st);
}

CheckResult wait_future(std::future<bool>& f, const std::stop_token& st, Status on_false) {
  return wait_and_get(f, st, on_false);
}

}  // namespace detail
}  // namespace vigil::health
