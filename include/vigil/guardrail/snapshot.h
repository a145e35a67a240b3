// vigil/guardrail/snapshot.h: what a guardrail compares (a PerformanceSnapshot, or the exact
// counts of a window), the thresholds it compares with, and the trigger it returns.
//
//   using namespace vigil::guardrail;
//   PerformanceSnapshot baseline{.success_rate = 0.95, .p50_latency = 700, .p95_latency = 1500,
//                                .error_rate = 0.02};
//   PerformanceSnapshot current{.success_rate = 0.85, .p50_latency = 720, .p95_latency = 1600,
//                               .error_rate = 0.03};
//   auto trigger = evaluate_thresholds(baseline, current, default_thresholds());
//   // trigger->metric_name == "success_rate", trigger->threshold_value == -0.08,
//   // trigger->reason == "success_rate dropped by 0.1 (from 0.95 to 0.85), beyond the
//   //                     threshold of -0.08 (absolute change)"
//
// Latencies are in whatever unit the snapshots use (guide 000 uses milliseconds; snapshots made
// from live histograms use the histogram's unit, seconds by convention); a baseline and the
// snapshots compared with it must agree. Rates are fractions in [0, 1].
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::guardrail {

using TimePoint = std::chrono::system_clock::time_point;

// The figures a guardrail can compare.
enum class Metric { kSuccessRate, kErrorRate, kP50Latency, kP95Latency, kP99Latency };

// "success_rate", "error_rate", "p50_latency", "p95_latency", "p99_latency".
std::string_view metric_name(Metric metric) noexcept;
// The inverse of metric_name; nullopt for an unknown name.
std::optional<Metric> parse_metric(std::string_view name) noexcept;

struct PerformanceSnapshot {
  double success_rate = 0;  // successful requests / requests, in [0, 1]
  double p50_latency = 0;
  double p95_latency = 0;
  double p99_latency = 0;
  double error_rate = 0;       // failed requests / requests, in [0, 1]
  uint64_t request_count = 0;  // requests behind the figures; 0 when unknown (hand-made)
  TimePoint timestamp{};

  // The figure `metric` names.
  double value(Metric metric) const noexcept;
};

// How a threshold measures a change from the baseline.
enum class Change {
  kAbsolute,  // observed - baseline (rates: -0.08 is "8 points lower")
  kRelative,  // (observed - baseline) / baseline (+0.30 is "30% higher"); skipped when baseline is
              // 0
  kValue,     // observed itself, the baseline ignored (error rate above 0.15)
};

// Which side of the limit fires.
enum class Bound { kBelow, kAbove };

struct Threshold {
  Metric metric = Metric::kSuccessRate;
  Change change = Change::kAbsolute;
  Bound fires_when = Bound::kBelow;
  double limit = 0;

  // "success_rate absolute change below -0.08", "p95_latency relative change above 0.3",
  // "error_rate above 0.15".
  std::string describe() const;
};

// Guide 000's thresholds: success_rate absolute change below `success_delta` (-0.08),
// p95_latency relative change above `latency_delta` (+0.30), error_rate above `error_rate`
// (0.15). Throws vigil::Error on values that validate() refuses.
std::vector<Threshold> default_thresholds(double success_delta = -0.08, double latency_delta = 0.30,
                                          double error_rate = 0.15);

// Throws vigil::Error naming the threshold and the rule broken: an unknown metric, change or
// bound; a non-finite limit; a kValue limit on a rate outside [0, 1] or a negative latency; a
// delta whose sign cannot describe a regression (success_rate kBelow a positive change, error_rate
// or a latency kAbove a negative change, and the mirror cases: a delta threshold must fire on a
// drop of success_rate (kBelow, limit <= 0) or a rise of the others (kAbove, limit >= 0)); a
// kRelative limit at or below -1; a kAbsolute change of a rate beyond [-1, 1].
void validate(const Threshold& threshold);

// What check() returns when a threshold is crossed (guide 000's RollbackTrigger).
struct RollbackTrigger {
  std::string reason;       // in words, with the figures
  std::string metric_name;  // metric_name(threshold.metric)
  double baseline_value = 0;
  double observed_value = 0;
  double threshold_value = 0;  // threshold.limit
  double change = 0;           // the measured change (or value, for Change::kValue)
  Threshold threshold;
  TimePoint time{};     // when the check ran
  std::string monitor;  // the monitor's name (empty from evaluate_thresholds)
};

// Compares `current` with `baseline`: the first of `thresholds` (in order) that is crossed, or
// nullopt. A threshold on a figure that is NaN in either snapshot is skipped (for Change::kValue
// only the current figure counts). A crossing by less than rounding (1e-9, relative to limits
// beyond 1) is not one: 0.87 against 0.95 is at -0.08, not below. `time` is current.timestamp.
std::optional<RollbackTrigger> evaluate_thresholds(const PerformanceSnapshot& baseline,
                                                   const PerformanceSnapshot& current,
                                                   std::span<const Threshold> thresholds);

// Prometheus histogram_quantile's estimate from non-cumulative bucket counts: `bounds` are the
// finite upper bounds (ascending), `buckets` has bounds.size() + 1 counts (the last is +Inf).
// Linear interpolation inside the bucket holding the rank (from 0 for the first bucket when its
// bound is positive); a rank in +Inf gives the highest finite bound. NaN when there are no
// observations or q is outside [0, 1].
double bucket_quantile(double q, std::span<const double> bounds,
                       std::span<const uint64_t> buckets) noexcept;

// Exact counts of one cohort over a window, from live instruments (see source.h).
struct WindowCounts {
  TimePoint start{};       // the sample the window starts from
  TimePoint end{};         // the latest sample
  uint64_t requests = 0;   // requests finished in the window
  uint64_t successes = 0;  // of which successful
  uint64_t errors = 0;     // of which failed (requests - successes unless the source names errors)
  std::vector<double> bounds;     // latency histogram's finite upper bounds; empty: no latency
  std::vector<uint64_t> buckets;  // non-cumulative counts, bounds.size() + 1 (last: +Inf)

  uint64_t latency_count() const noexcept;  // sum of buckets
  // Rates and quantiles of the window (success_rate and error_rate are NaN with no requests,
  // latencies NaN with no latency observations); request_count = requests, timestamp = end.
  PerformanceSnapshot snapshot() const;
};

}  // namespace vigil::guardrail
