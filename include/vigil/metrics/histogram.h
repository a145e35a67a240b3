// vigil/metrics/histogram.h: observations counted in buckets with fixed upper bounds.
//
//   auto& latency = registry.histogram("http_request_duration_seconds", "Request latency",
//                                      {"route"}, {.buckets = vigil::metrics::default_buckets()});
//   vigil::metrics::Histogram h = latency.labels("/api/users");
//   h.observe(0.125);  // ~2-4 ns: bucket search, then plain stores to this thread's cells
//
// Buckets are "less or equal" upper bounds, strictly increasing and finite; +Inf is implicit.
// A collection never sees buckets that disagree with the count or the sum: each thread's cells
// are written under a per-thread sequence number and the count is the sum of the buckets.
// NaN observations are rejected and counted in vigil_invalid_observations_total.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "vigil/metrics/detail/cells.h"
#include "vigil/metrics/detail/series.h"
#include "vigil/metrics/exemplar.h"

namespace vigil::metrics {

// Prometheus' default buckets for latencies in seconds: 5 ms to 10 s.
std::vector<double> default_buckets();
// `count` buckets: start, start + width, ... Throws vigil::Error unless count >= 1, width > 0.
std::vector<double> linear_buckets(double start, double width, int count);
// `count` buckets: start, start * factor, ... Throws unless count >= 1, start > 0, factor > 1.
std::vector<double> exponential_buckets(double start, double factor, int count);
// Buckets from `min` to `max` (both > 0) with `count` exponentially spaced bounds.
std::vector<double> exponential_buckets_range(double min, double max, int count);

struct HistogramOptions {
  std::vector<double> buckets = default_buckets();
};

class Histogram {
 public:
  // A handle bound to no series: observations are accepted and go nowhere.
  Histogram() noexcept = default;

  void observe(double v) noexcept {
    if (std::isnan(v)) [[unlikely]] {
      if (stats_ != nullptr) stats_->reject_nan();
      return;
    }
    record(v, bucket_of(v));
  }

  // Observes `v` and keeps `exemplar` (e.g. {{"trace_id", id}}) as its bucket's latest exemplar.
  void observe(double v, ExemplarLabels exemplar) noexcept {
    if (std::isnan(v)) [[unlikely]] {
      if (stats_ != nullptr) stats_->reject_nan();
      return;
    }
    const uint32_t bucket = bucket_of(v);
    record(v, bucket);
    if (stats_ != nullptr) {
      detail::record_exemplar(stats_, series_.get(), bucket, bound_count_ + 1, v, exemplar);
    }
  }

  // Count and sum over all threads (a consistent snapshot).
  uint64_t count() const noexcept;
  double sum() const noexcept;
  // Cumulative counts per bucket, the last one (+Inf) equal to count().
  std::vector<uint64_t> cumulative_counts() const;

  explicit operator bool() const noexcept { return static_cast<bool>(series_); }

 private:
  template <class>
  friend class Family;  // makes the handles
  // Cells: sequence, sum, one count per bucket and +Inf.
  static uint32_t cells_for(size_t bound_count) noexcept {
    return static_cast<uint32_t>(bound_count) + 3;
  }
  Histogram(detail::SeriesRef series, const double* bounds, uint32_t bound_count,
            detail::RecordStats* stats) noexcept
      : series_(std::move(series)),
        cell_(series_.get()->cell),
        bound_count_(bound_count),
        bounds_(bounds),
        stats_(stats) {}

  // Index of the first bucket whose upper bound is >= v (bound_count_ for +Inf).
  uint32_t bucket_of(double v) const noexcept {
    uint32_t i = 0;
    if (bound_count_ <= 16) {
      while (i < bound_count_ && v > bounds_[i]) ++i;
    } else {
      uint32_t lo = 0, hi = bound_count_;  // first bound >= v
      while (lo < hi) {
        const uint32_t mid = (lo + hi) / 2;
        if (v > bounds_[mid]) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      i = lo;
    }
    return i;
  }
  void record(double v, uint32_t bucket) noexcept {
    detail::Cell* run = detail::thread_cell(cell_);
    detail::seq_begin(run[0]);
    detail::cell_add(run[2 + bucket], 1);
    detail::cell_add_double(run[1], v);
    detail::seq_end(run[0]);
  }

  detail::SeriesRef series_;
  uint32_t cell_ = 0;
  uint32_t bound_count_ = 0;
  const double* bounds_ = nullptr;
  detail::RecordStats* stats_ = nullptr;
};

}  // namespace vigil::metrics
