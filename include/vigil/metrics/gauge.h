// vigil/metrics/gauge.h: a value that goes up and down.
//
//   auto& conns = registry.gauge("active_connections", "Open connections");
//   vigil::metrics::Gauge g = conns.get();
//   g.inc();  g.dec();  g.set(42);  g.set_to_current_time();
//
// A Gauge is a small handle (a reference-counted pointer to its series). set() is one relaxed
// atomic store (~1 ns); inc()/dec()/add() are a compare-and-swap loop. Thread-safe, noexcept.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

#include "vigil/core/clock.h"
#include "vigil/metrics/detail/series.h"

namespace vigil::metrics {

class Gauge {
 public:
  // A handle bound to no series: recording is accepted and goes nowhere.
  Gauge() noexcept : word_(&discard_) {}

  void set(double v) noexcept {
    word_->store(std::bit_cast<uint64_t>(v), std::memory_order_relaxed);
  }
  void add(double v) noexcept {
    uint64_t old = word_->load(std::memory_order_relaxed);
    while (!word_->compare_exchange_weak(
        old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + v), std::memory_order_relaxed)) {
    }
  }
  void inc(double v = 1) noexcept { add(v); }
  void dec(double v = 1) noexcept { add(-v); }
  // Sets the gauge to the current Unix time in seconds.
  void set_to_current_time() noexcept { set(unix_time_seconds()); }
  double value() const noexcept {
    return std::bit_cast<double>(word_->load(std::memory_order_relaxed));
  }
  explicit operator bool() const noexcept { return static_cast<bool>(series_); }

 private:
  template <class>
  friend class Family;  // makes the handles
  static constexpr uint32_t kCells = 0;
  explicit Gauge(detail::SeriesRef series) noexcept
      : series_(std::move(series)), word_(&series_.get()->word) {}

  static inline std::atomic<uint64_t> discard_{0};
  detail::SeriesRef series_;
  std::atomic<uint64_t>* word_;
};

}  // namespace vigil::metrics
