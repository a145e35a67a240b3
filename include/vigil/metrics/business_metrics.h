// vigil/metrics/business_metrics.h: guide 002's BusinessMetricsCollector: typed results kept in
// a bounded in-memory history, and a performance summary over the last N hours.
//
//   vigil::metrics::BusinessMetrics business({.registry = &registry});
//   business.record_causal_inference_result(/*accuracy=*/0.92, /*intervention_count=*/4,
//                                           /*prediction_accuracy=*/0.88,
//                                           /*computation_seconds=*/0.35,
//                                           /*memory_bytes=*/512 << 20);
//   vigil::metrics::PerformanceSummary s = business.performance_summary(24);  // last 24 hours
//   if (s.has_data) use(s.avg_accuracy, s.total_interventions, s.peak_memory_bytes);
//   std::string json = to_json(s);  // {"status":"no_data","hours":24} when nothing is recent
//
// History and memory: each result is one BusinessResult of kBytesPerRecord (48) bytes, kept in
// a ring buffer that holds at most max_history_bytes / 48 results (default 1 MiB: 21,845
// results); the buffer grows as results arrive and never beyond that. When it is full the
// oldest result is dropped to make room, and counted (dropped(),
// vigil_business_history_dropped_total). A result with a non-finite value or a negative count
// is not kept and is counted in rejected().
//
// Metrics (when options.registry is set), the guide's instruments:
//   causal_accuracy_score{model_type="inference"}  gauge, the last accuracy
//   model_prediction_accuracy{model_type="causal"} histogram (buckets 0.1 .. 1)
//   causal_interventions_total                     counter
//   vigil_business_history_dropped_total           counter
//
// Clock: options.clock (Unix seconds, default vigil::unix_time_seconds()) stamps results and
// places performance_summary()'s window; tests inject one.
//
// Thread-safety: every member is safe from any thread (a mutex; recording costs ~50 ns plus
// the metrics, performance_summary() is linear in the history). Errors: the constructor throws
// vigil::Error when max_history_bytes holds no result or a metric name is taken;
// performance_summary() throws vigil::Error when hours is not a positive finite number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/metrics/registry.h"

namespace vigil::metrics {

// One recorded result (guide 002's CausalMetrics).
struct BusinessResult {
  double accuracy = 0;
  int64_t intervention_count = 0;
  double prediction_accuracy = 0;
  double computation_seconds = 0;
  int64_t memory_bytes = 0;
  double timestamp = 0;  // Unix seconds
};

struct BusinessMetricsOptions {
  // The most the history may take; at least kBytesPerRecord.
  size_t max_history_bytes = size_t{1} << 20;
  // Registry for the instruments above; null: history only.
  Registry* registry = nullptr;
  // Unix seconds; null: vigil::unix_time_seconds(). Must be thread-safe.
  std::function<double()> clock;
};

// get_performance_summary()'s dictionary. Without data only `hours` is meaningful.
struct PerformanceSummary {
  bool has_data = false;  // false: "status": "no_data"
  double hours = 0;
  double avg_accuracy = 0;
  int64_t total_interventions = 0;
  double avg_prediction_accuracy = 0;
  double avg_computation_seconds = 0;
  int64_t peak_memory_bytes = 0;
  size_t operation_count = 0;
};

// {"avg_accuracy":..,"total_interventions":..,"avg_prediction_accuracy":..,
//  "avg_computation_time":..,"peak_memory_usage":..,"operation_count":..,
//  "time_period_hours":..}, or {"status":"no_data","hours":..}: the guide's keys.
std::string to_json(const PerformanceSummary& summary);

class BusinessMetrics {
 public:
  static constexpr size_t kBytesPerRecord = sizeof(BusinessResult);

  explicit BusinessMetrics(BusinessMetricsOptions options = {});
  ~BusinessMetrics();
  BusinessMetrics(const BusinessMetrics&) = delete;
  BusinessMetrics& operator=(const BusinessMetrics&) = delete;

  // Records a result stamped with the clock's now. Never throws (an allocation failure while
  // the buffer grows drops the oldest result instead).
  void record_causal_inference_result(double accuracy, int64_t intervention_count,
                                      double prediction_accuracy, double computation_seconds,
                                      int64_t memory_bytes) noexcept;
  // Records `result` with its own timestamp.
  void record(const BusinessResult& result) noexcept;

  // Results stamped after now - hours * 3600 (the guide's cutoff, exclusive).
  PerformanceSummary performance_summary(double hours = 24) const;

  // The kept results, oldest first (allocates a copy).
  std::vector<BusinessResult> history() const;
  size_t size() const;
  // The most results the history holds: max_history_bytes / kBytesPerRecord.
  size_t capacity() const noexcept;
  uint64_t dropped() const noexcept;
  uint64_t rejected() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::metrics
