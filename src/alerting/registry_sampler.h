// src/alerting/registry_sampler.h (internal): a metrics::Registry sampled into a PromQL
// MemoryStorage under Prometheus' series names, as a scrape of its text exposition would name
// them: counters as <name>_total, histograms as <name>_bucket{le} / _sum / _count, summaries as
// <name>{quantile} / _sum / _count, info as <name>_info, gauges as <name>; const labels and the
// series' labels as labels. Series that disappear from the registry get a stale marker.
// Used by the rule engine (query_engine.cc) and by the admin dashboard's query API.
//
//   vigil::alerting::RegistrySampler sampler;
//   vigil::alerting::promql::MemoryStorage storage;
//   sampler.sample(registry, now_ms, storage, nullptr);  // every sample name
//
// Not thread-safe: one sampler per storage, sampled from one thread at a time (the caller locks).
// Cost per round: one Registry::collect plus one hash lookup per sample; the label set of a
// series is built once, when the series first appears, and its place in the storage is kept
// (MemoryStorage::SeriesRef), so appending does not hash the label set again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alerting/promql/eval.h"
#include "vigil/metrics/collector.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::alerting {

// What a family looked like at the last sample() (when SamplerOptions::record_families).
struct SampledFamily {
  std::string name;  // the family name (TYPE line), e.g. "agent_requests" for agent_requests_total
  metrics::MetricType type = metrics::MetricType::kGauge;
  std::string help;
  std::string unit;
  std::vector<std::string> label_names;
};

struct SamplerOptions {
  // Keep a sample name only when this returns true; null keeps every name.
  std::function<bool(const std::string&)> wanted;
  // New series beyond this many are not added (counted in dropped_series()); 0: no limit.
  size_t max_series = 0;
  // Fill families() at each round.
  bool record_families = false;
};

class RegistrySampler {
 public:
  explicit RegistrySampler(SamplerOptions options = {}) : options_(std::move(options)) {}

  // Collects `registry` and appends every wanted sample at time `t` (ms) to `storage`.
  // `wanted` overrides SamplerOptions::wanted for this round when set.
  void sample(const metrics::Registry& registry, int64_t t, promql::MemoryStorage& storage,
              const std::function<bool(const std::string&)>& wanted = nullptr);

  size_t series_count() const noexcept { return sampled_.size(); }
  // Series not added in the last round because max_series was reached.
  size_t dropped_series() const noexcept { return dropped_; }
  const std::vector<SampledFamily>& families() const noexcept { return families_; }

  // A sampled series: its Prometheus labels (sorted), built once, and the round that last saw
  // it. Public for the sink in registry_sampler.cc.
  struct Series {
    promql::Labels labels;
    uint64_t round = 0;
    promql::MemoryStorage::SeriesRef ref;  // the series in the storage, found again without a hash
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Keyed by sample name and the registry's label values (and le / quantile): found with one
  // hash of a reused buffer, without building the label set again.
  using Map = std::unordered_map<std::string, Series, KeyHash, std::equal_to<>>;

 private:
  SamplerOptions options_;
  Map sampled_;
  uint64_t round_ = 0;
  size_t dropped_ = 0;
  std::vector<SampledFamily> families_;
};

}  // namespace vigil::alerting
