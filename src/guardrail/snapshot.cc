// Snapshots, thresholds and bucket quantiles (vigil/guardrail/snapshot.h).
#include "vigil/guardrail/snapshot.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "vigil/core/error.h"

namespace vigil::guardrail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A crossing by less than this (relative to the limit, at least 1e-9 absolute) is rounding, not
// a crossing: 0.87 - 0.95 is -0.08000000000000007 in doubles, which is "at" -0.08, not below.
constexpr double kTolerance = 1e-9;

bool is_rate(Metric m) noexcept { return m == Metric::kSuccessRate || m == Metric::kErrorRate; }

// A figure for people: at most 6 significant digits ("0.1" for 0.09999999999999998).
std::string figure(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) v = 0;  // no "-0"
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return std::string(buf, r.ptr);
}

// The exact limit as configured (shortest round-trip form: "-0.08", "0.3").
std::string exact(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string_view change_name(Change c) noexcept {
  switch (c) {
    case Change::kAbsolute:
      return "absolute change";
    case Change::kRelative:
      return "relative change";
    case Change::kValue:
      return "value";
  }
  return "unknown change";
}

std::string_view bound_name(Bound b) noexcept { return b == Bound::kBelow ? "below" : "above"; }

bool known(const Threshold& t) noexcept {
  const auto m = static_cast<int>(t.metric);
  const auto c = static_cast<int>(t.change);
  const auto b = static_cast<int>(t.fires_when);
  return m >= 0 && m <= static_cast<int>(Metric::kP99Latency) && c >= 0 &&
         c <= static_cast<int>(Change::kValue) && b >= 0 && b <= static_cast<int>(Bound::kAbove);
}

[[noreturn]] void refuse(const Threshold& t, const std::string& rule) {
  throw Error("guardrail threshold '" + t.describe() + "': " + rule);
}

}  // namespace

std::string_view metric_name(Metric metric) noexcept {
  switch (metric) {
    case Metric::kSuccessRate:
      return "success_rate";
    case Metric::kErrorRate:
      return "error_rate";
    case Metric::kP50Latency:
      return "p50_latency";
    case Metric::kP95Latency:
      return "p95_latency";
    case Metric::kP99Latency:
      return "p99_latency";
  }
  return "unknown";
}

std::optional<Metric> parse_metric(std::string_view name) noexcept {
  for (Metric m : {Metric::kSuccessRate, Metric::kErrorRate, Metric::kP50Latency,
                   Metric::kP95Latency, Metric::kP99Latency}) {
    if (metric_name(m) == name) return m;
  }
  return std::nullopt;
}

double PerformanceSnapshot::value(Metric metric) const noexcept {
  switch (metric) {
    case Metric::kSuccessRate:
      return success_rate;
    case Metric::kErrorRate:
      return error_rate;
    case Metric::kP50Latency:
      return p50_latency;
    case Metric::kP95Latency:
      return p95_latency;
    case Metric::kP99Latency:
      return p99_latency;
  }
  return kNaN;
}

std::string Threshold::describe() const {
  std::string out(metric_name(metric));
  if (change != Change::kValue) {
    out += ' ';
    out += change_name(change);
  }
  out += ' ';
  out += bound_name(fires_when);
  out += ' ';
  out += exact(limit);
  return out;
}

std::vector<Threshold> default_thresholds(double success_delta, double latency_delta,
                                          double error_rate) {
  std::vector<Threshold> out = {
      {Metric::kSuccessRate, Change::kAbsolute, Bound::kBelow, success_delta},
      {Metric::kP95Latency, Change::kRelative, Bound::kAbove, latency_delta},
      {Metric::kErrorRate, Change::kValue, Bound::kAbove, error_rate},
  };
  for (const Threshold& t : out) validate(t);
  return out;
}

void validate(const Threshold& t) {
  if (!known(t)) {
    throw Error("guardrail threshold: unknown metric, change or bound (metric " +
                std::to_string(static_cast<int>(t.metric)) + ", change " +
                std::to_string(static_cast<int>(t.change)) + ", bound " +
                std::to_string(static_cast<int>(t.fires_when)) + ")");
  }
  if (!std::isfinite(t.limit)) refuse(t, "the limit must be a finite number");
  const bool rate = is_rate(t.metric);
  if (t.change == Change::kValue) {
    if (rate && (t.limit < 0 || t.limit > 1)) {
      refuse(t, "a rate is a fraction in [0, 1]: the limit must be in [0, 1] (0.15 for 15%)");
    }
    if (!rate && t.limit < 0) refuse(t, "a latency is never negative: the limit must be >= 0");
    return;
  }
  // A change threshold must describe a regression: success rate down, error rate and latency up.
  const bool higher_is_worse = t.metric != Metric::kSuccessRate;
  const Bound worse = higher_is_worse ? Bound::kAbove : Bound::kBelow;
  const std::string direction = higher_is_worse ? "a rise" : "a drop";
  if (t.fires_when != worse) {
    refuse(t, std::string(metric_name(t.metric)) + " regresses by " + direction + ": use " +
                  std::string(bound_name(worse)) + " (" + (higher_is_worse ? "+0.3" : "-0.08") +
                  ")");
  }
  if (t.fires_when == Bound::kBelow && t.limit > 0) {
    refuse(t, "a drop is a negative change: the limit must be <= 0 (-0.08 for 8 points lower)");
  }
  if (t.fires_when == Bound::kAbove && t.limit < 0) {
    refuse(t, "a rise is a positive change: the limit must be >= 0 (0.3 for 30% higher)");
  }
  if (t.change == Change::kRelative && t.limit <= -1) {
    refuse(t, "a relative change cannot be -100% or less: the limit must be > -1");
  }
  if (t.change == Change::kAbsolute && rate && std::abs(t.limit) > 1) {
    refuse(t, "a rate changes by at most 1 (100 points): the limit must be in [-1, 1]");
  }
}

std::optional<RollbackTrigger> evaluate_thresholds(const PerformanceSnapshot& baseline,
                                                   const PerformanceSnapshot& current,
                                                   std::span<const Threshold> thresholds) {
  for (const Threshold& t : thresholds) {
    const double base = baseline.value(t.metric);
    const double observed = current.value(t.metric);
    if (std::isnan(observed)) continue;
    double change;
    switch (t.change) {
      case Change::kAbsolute:
        change = observed - base;
        break;
      case Change::kRelative:
        if (base == 0) continue;
        change = (observed - base) / base;
        break;
      case Change::kValue:
        change = observed;
        break;
      default:
        continue;
    }
    if (std::isnan(change)) continue;  // a NaN baseline for a change threshold
    const double tolerance = kTolerance * std::max(1.0, std::abs(t.limit));
    const bool crossed =
        t.fires_when == Bound::kBelow ? change < t.limit - tolerance : change > t.limit + tolerance;
    if (!crossed) continue;

    RollbackTrigger trigger;
    const std::string name(metric_name(t.metric));
    trigger.metric_name = name;
    trigger.baseline_value = base;
    trigger.observed_value = observed;
    trigger.threshold_value = t.limit;
    trigger.change = change;
    trigger.threshold = t;
    trigger.time = current.timestamp;
    const std::string moved = change < 0 ? " dropped by " : " rose by ";
    switch (t.change) {
      case Change::kAbsolute:
        trigger.reason = name + moved + figure(std::abs(change)) + " (from " + figure(base) +
                         " to " + figure(observed) + "), beyond the threshold of " +
                         exact(t.limit) + " (absolute change)";
        break;
      case Change::kRelative:
        trigger.reason = name + moved + figure(std::abs(change) * 100) + "% (from " + figure(base) +
                         " to " + figure(observed) + "), beyond the threshold of " +
                         exact(t.limit) + " (relative change, " + figure(t.limit * 100) + "%)";
        break;
      case Change::kValue:
        trigger.reason = name + " is " + figure(observed) + " (baseline " + figure(base) + "), " +
                         std::string(bound_name(t.fires_when)) + " the threshold of " +
                         exact(t.limit);
        break;
    }
    return trigger;
  }
  return std::nullopt;
}

double bucket_quantile(double q, std::span<const double> bounds,
                       std::span<const uint64_t> buckets) noexcept {
  // Prometheus' bucketQuantile (promql/quantile.go), on non-cumulative integer counts.
  if (std::isnan(q) || q < 0 || q > 1) return kNaN;
  if (bounds.empty() || buckets.size() != bounds.size() + 1) return kNaN;
  uint64_t observations = 0;
  for (uint64_t c : buckets) observations += c;
  if (observations == 0) return kNaN;
  const double rank = q * static_cast<double>(observations);
  // The first finite bucket whose cumulative count reaches the rank; none: the +Inf bucket.
  size_t b = 0;
  uint64_t below = 0;  // cumulative count of the buckets before b
  for (; b < bounds.size(); ++b) {
    if (static_cast<double>(below + buckets[b]) >= rank) break;
    below += buckets[b];
  }
  if (b == bounds.size()) return bounds.back();
  if (b == 0 && bounds[0] <= 0) return bounds[0];
  const double start = b == 0 ? 0.0 : bounds[b - 1];
  const double end = bounds[b];
  // As in Prometheus, an empty bucket here (q = 0 with an empty first bucket) gives 0/0 = NaN.
  const double in_bucket = rank - static_cast<double>(below);
  return start + (end - start) * (in_bucket / static_cast<double>(buckets[b]));
}

uint64_t WindowCounts::latency_count() const noexcept {
  uint64_t n = 0;
  for (uint64_t c : buckets) n += c;
  return n;
}

PerformanceSnapshot WindowCounts::snapshot() const {
  PerformanceSnapshot s;
  const auto n = static_cast<double>(requests);
  s.success_rate = requests == 0 ? kNaN : static_cast<double>(successes) / n;
  s.error_rate = requests == 0 ? kNaN : static_cast<double>(errors) / n;
  const bool latency = latency_count() > 0;
  s.p50_latency = latency ? bucket_quantile(0.50, bounds, buckets) : kNaN;
  s.p95_latency = latency ? bucket_quantile(0.95, bounds, buckets) : kNaN;
  s.p99_latency = latency ? bucket_quantile(0.99, bounds, buckets) : kNaN;
  s.request_count = requests;
  s.timestamp = end;
  return s;
}

}  // namespace vigil::guardrail
