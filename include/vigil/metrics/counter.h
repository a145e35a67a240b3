// vigil/metrics/counter.h: a monotonic counter series.
//
//   auto& requests = registry.counter("http_requests_total", "HTTP requests", {"method", "code"});
//   vigil::metrics::Counter ok = requests.labels("GET", "200");  // resolve once, keep
//   ok.inc();        // ~1 ns, no lock, no atomic read-modify-write
//   ok.inc(0.25);    // fractional increments are fine (e.g. cost in dollars)
//   ok.inc(-1);      // rejected: counted in vigil_invalid_observations_total, value unchanged
//
// A Counter is a small handle (a reference-counted pointer to its series). Copy it freely; it
// keeps its series alive. Every member is thread-safe and noexcept; inc() never allocates,
// except once per thread per 1024 series for that thread's cells.
#pragma once

#include <cmath>
#include <cstdint>

#include "vigil/metrics/detail/cells.h"
#include "vigil/metrics/detail/series.h"
#include "vigil/metrics/exemplar.h"

namespace vigil::metrics {

class Counter {
 public:
  // A handle bound to no series: recording is accepted and goes nowhere.
  Counter() noexcept = default;

  // Adds 1.
  void inc() noexcept { detail::cell_add(*detail::thread_cell(cell_), 1); }
  // Adds `v`. A negative or NaN `v` is rejected and counted, never applied.
  void inc(double v) noexcept {
    if (!(v >= 0)) [[unlikely]] {
      reject(v);
      return;
    }
    detail::cell_add_double(*detail::thread_cell(cell_ + 1), v);
  }
  // Adds `v` and keeps `exemplar` (e.g. {{"trace_id", id}}) as the series' latest exemplar.
  void inc(double v, ExemplarLabels exemplar) noexcept {
    inc(v);
    if (v >= 0 && stats_ != nullptr) {
      detail::record_exemplar(stats_, series_.get(), 0, 1, v, exemplar);
    }
  }
  // The current total over all threads. Cost grows with the number of threads that recorded.
  double value() const noexcept { return detail::sum_counter_cells(cell_); }
  // True when bound to a series.
  explicit operator bool() const noexcept { return static_cast<bool>(series_); }

 private:
  template <class>
  friend class Family;                   // makes the handles
  static constexpr uint32_t kCells = 2;  // integer increments, fractional increments
  Counter(detail::SeriesRef series, detail::RecordStats* stats) noexcept
      : series_(std::move(series)), cell_(series_.get()->cell), stats_(stats) {}

  void reject(double v) noexcept {
    if (stats_ == nullptr) return;
    if (std::isnan(v)) {
      stats_->reject_nan();
    } else {
      stats_->reject_negative();
    }
  }
  detail::SeriesRef series_;
  uint32_t cell_ = 0;  // cells 0..1023 are a discard area for unbound handles
  detail::RecordStats* stats_ = nullptr;
};

}  // namespace vigil::metrics
