// Placeholder (wt-gr-source replaces it): snapshots, thresholds, bucket quantiles.
#include "vigil/guardrail/snapshot.h"

#include <cmath>

#include "vigil/core/error.h"

namespace vigil::guardrail {

std::string_view metric_name(Metric) noexcept { return "unimplemented"; }
std::optional<Metric> parse_metric(std::string_view) noexcept { return std::nullopt; }
double PerformanceSnapshot::value(Metric) const noexcept { return NAN; }
std::string Threshold::describe() const { return "unimplemented"; }
std::vector<Threshold> default_thresholds(double, double, double) {
  throw Error("default_thresholds: not implemented yet");
}
void validate(const Threshold&) { throw Error("validate: not implemented yet"); }
std::optional<RollbackTrigger> evaluate_thresholds(const PerformanceSnapshot&,
                                                   const PerformanceSnapshot&,
                                                   std::span<const Threshold>) {
  throw Error("evaluate_thresholds: not implemented yet");
}
double bucket_quantile(double, std::span<const double>, std::span<const uint64_t>) noexcept {
  return NAN;
}
uint64_t WindowCounts::latency_count() const noexcept { return 0; }
PerformanceSnapshot WindowCounts::snapshot() const {
  throw Error("WindowCounts::snapshot: not implemented yet");
}

}  // namespace vigil::guardrail
