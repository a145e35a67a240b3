#include "vigil/health/heartbeat.h"

#include <atomic>
#include <cstdint>
#include <string>

#include "format.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"

namespace vigil::health {

struct Heartbeat::State {
  explicit State(std::chrono::milliseconds d) : deadline(d), last(coarse_monotonic_nanos()) {}
  const std::chrono::milliseconds deadline;
  std::atomic<int64_t> last;  // coarse monotonic nanoseconds of the last beat

  double since() const noexcept {
    const int64_t now = coarse_monotonic_nanos();
    const int64_t then = last.load(std::memory_order_relaxed);
    return now > then ? static_cast<double>(now - then) / 1e9 : 0.0;
  }
};

Heartbeat::Heartbeat(std::chrono::milliseconds deadline) {
  if (deadline.count() <= 0) {
    throw Error("heartbeat: the deadline must be greater than 0 (got " +
                std::to_string(deadline.count()) + " ms)");
  }
  state_ = std::make_shared<State>(deadline);
}

void Heartbeat::beat() const noexcept {
  state_->last.store(coarse_monotonic_nanos(), std::memory_order_relaxed);
}

double Heartbeat::seconds_since_last_beat() const noexcept { return state_->since(); }

std::chrono::milliseconds Heartbeat::deadline() const noexcept { return state_->deadline; }

std::function<CheckResult()> Heartbeat::check() const {
  return [state = state_]() -> CheckResult {
    const double since = state->since();
    const double limit = std::chrono::duration<double>(state->deadline).count();
    const std::string deadline = "(deadline " + detail::format_duration(state->deadline) + ")";
    CheckResult r =
        since <= limit
            ? CheckResult::pass("last beat " + detail::format_duration(since) + " ago " + deadline)
            : CheckResult::fail("no beat for " + detail::format_duration(since) + " " + deadline);
    return std::move(r).observe(since, "s");
  };
}

}  // namespace vigil::health
