// vigil/metrics/summary.h: quantiles of recent observations over a sliding time window.
//
//   auto& latency = registry.summary("llm_latency_seconds", "LLM call latency", {"provider"},
//                                    {.quantiles = {0.5, 0.9, 0.95, 0.99}});
//   latency.labels("openai").observe(0.42);  // ~15-25 ns, no lock
//
// Window: observations older than `max_age` (default 10 minutes) leave the quantiles. The
// window is `age_buckets` (default 5) buckets of max_age / age_buckets each, so a quantile
// covers between max_age * (1 - 1/age_buckets) and max_age of history. `_count` and `_sum` are
// cumulative since the series was created, as in Prometheus.
//
// Error bound. Each bucket counts observations in log-linear bins: every power of two is split
// into 64 equal bins. For a quantile q over the n observations in the window, let x be the exact
// nearest-rank quantile (the ceil(q * n)-th smallest, at least the 1st). The reported value v
// satisfies |v - x| <= |x| / 128 (0.78% relative error) whenever 2^-40 <= |x| < 2^40
// (about 9.1e-13 to 1.1e12); values closer to zero are reported as 0 and larger ones as about
// 1.1e12. tests/metrics/summary_test.cc checks this bound against exact quantiles.
//
// Thread-safe; observe() is noexcept and allocates only the first time a value lands in a new
// power of two for an age bucket (512 bytes). NaN observations are rejected and counted.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "vigil/metrics/detail/cells.h"
#include "vigil/metrics/detail/series.h"

namespace vigil::metrics {

struct SummaryOptions {
  std::vector<double> quantiles = {0.5, 0.9, 0.95, 0.99};  // each in [0, 1]
  std::chrono::seconds max_age{600};
  int age_buckets = 5;
};

namespace detail {
// The sliding window of one summary series. Defined in src/metrics/summary.cc.
class SummaryWindow {
 public:
  SummaryWindow(std::chrono::nanoseconds max_age, int age_buckets);
  ~SummaryWindow();
  SummaryWindow(const SummaryWindow&) = delete;
  SummaryWindow& operator=(const SummaryWindow&) = delete;
  void observe(double v) noexcept;
  // Fills (quantile, value) for each requested quantile (sorted ascending); NaN when empty.
  void quantiles(std::span<const double> qs, std::span<std::pair<double, double>> out) const;
  uint64_t window_count() const noexcept;

 private:
  struct Slot;
  void rotate(int64_t epoch) noexcept;
  int64_t width_ns_;
  int ring_;
  Slot* slots_;
};
}  // namespace detail

class Summary {
 public:
  // A handle bound to no series: observations are accepted and go nowhere.
  Summary() noexcept = default;

  void observe(double v) noexcept {
    if (std::isnan(v)) [[unlikely]] {
      if (stats_ != nullptr) stats_->reject_nan();
      return;
    }
    detail::Cell* run = detail::thread_cell(cell_);
    detail::seq_begin(run[0]);
    detail::cell_add_double(run[1], v);
    detail::cell_add(run[2], 1);
    detail::seq_end(run[0]);
    if (window_ != nullptr) window_->observe(v);
  }

  uint64_t count() const noexcept;  // since creation
  double sum() const noexcept;      // since creation
  // Current estimate of quantile q in [0, 1] over the window; NaN when the window is empty.
  double quantile(double q) const;

  explicit operator bool() const noexcept { return static_cast<bool>(series_); }

 private:
  template <class>
  friend class Family;                   // makes the handles
  static constexpr uint32_t kCells = 3;  // sequence, sum, count
  Summary(detail::SeriesRef series, detail::RecordStats* stats) noexcept
      : series_(std::move(series)),
        cell_(series_.get()->cell),
        window_(series_.get()->window()),
        stats_(stats) {}

  detail::SeriesRef series_;
  uint32_t cell_ = 0;
  detail::SummaryWindow* window_ = nullptr;
  detail::RecordStats* stats_ = nullptr;
};

}  // namespace vigil::metrics
