// demo/demo_log.h: the demo's log lines go through spdlog's default logger, so that
// OTEL_LOGS_EXPORTER=otlp ships them as OTLP logs (vigil::exporters::OtlpLogSink attached by
// vigil::exporters::ship_spdlog_logs_from_environment, called at start-up), with the trace and
// span ids of the request being handled. Without spdlog (vigil::exporters_spdlog not built) the
// macros compile to nothing.
//
//   static LogLimiter limiter(std::chrono::seconds(5));
//   if (uint64_t skipped = 0; limiter.allow(skipped)) {
//     DEMO_LOG(warn, "request failed: {} ({} more since the last line)", status, skipped);
//   }
//
// Rates: per-request events (failures, rejections) go through a LogLimiter, at most one line per
// interval per call site with the count of the lines it held back; state changes (outages,
// alerts) are logged as they happen.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "vigil/core/clock.h"

namespace vigil::demo {
// Without spdlog: evaluates nothing, but keeps the arguments "used".
template <typename... Args>
inline void discard_log(const Args&...) noexcept {}
}  // namespace vigil::demo

#if VIGIL_DEMO_LOGS
#include <spdlog/spdlog.h>
#define DEMO_LOG(level, ...) ::spdlog::level(__VA_ARGS__)
#else
#define DEMO_LOG(level, ...) ::vigil::demo::discard_log(__VA_ARGS__)
#endif

namespace vigil::demo {

// At most one allowed call per interval; the calls in between are counted. Thread-safe, lock-free;
// ~10 ns (a coarse clock read and an atomic).
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::nanoseconds interval) : interval_(interval.count()) {}
  // True when a line may be written now; `skipped` is then the number of calls held back since
  // the last allowed one.
  bool allow(uint64_t& skipped) noexcept {
    const int64_t now = coarse_monotonic_nanos();
    int64_t next = next_.load(std::memory_order_relaxed);
    if (now < next ||
        !next_.compare_exchange_strong(next, now + interval_, std::memory_order_relaxed)) {
      held_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    skipped = held_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  const int64_t interval_;
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> held_{0};
};

}  // namespace vigil::demo
