// vigil/metrics/family.h: a metric family, its label names and its series.
//
//   auto& calls = registry.counter("llm_calls_total", "LLM calls", {"provider", "model"});
//   vigil::metrics::Counter c = calls.labels("openai", "gpt-4o");  // ~20-30 ns if it exists
//   c.inc();                                                      // keep the handle: ~1 ns
//   calls.remove("openai", "gpt-4o");                             // drops the series
//
// Label names are declared at registration; `labels(...)` takes one value per name, as string
// views, and does not allocate when the series exists. The returned handle keeps its series
// alive and works at full speed for as long as it is held (also after remove(), when its
// recordings are no longer exported).
//
// Cardinality: at most `cardinality_limit` series per family (default 10,000). Past it, new
// label sets share one overflow series whose label values are all "__overflow__", and each
// folded lookup is counted in vigil_cardinality_overflow_total{metric="<family>"}.
// Idle expiry (off by default): a series that no handle holds and that was not looked up for
// `idle_expiry` disappears at the next collection or expire_idle() call.
// Label values must be UTF-8 of at most 1024 bytes: invalid bytes are replaced by U+FFFD and
// longer values truncated, each counted in vigil_invalid_observations_total.
//
// Thread-safety: every member is safe from any thread. Lookups of existing series take a
// reader lock shared with other lookups; creating or removing a series takes it exclusively.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vigil/metrics/collector.h"
#include "vigil/metrics/counter.h"
#include "vigil/metrics/gauge.h"
#include "vigil/metrics/histogram.h"
#include "vigil/metrics/info.h"
#include "vigil/metrics/summary.h"

namespace vigil::metrics {

// Options common to every family.
struct MetricOptions {
  std::string unit;                     // base unit; the name must end with "_<unit>"
  std::vector<LabelPair> const_labels;  // written on every series of the family
  size_t cardinality_limit = 10'000;    // series beyond it share one overflow series
  std::chrono::seconds idle_expiry{0};  // 0: series never expire
  // Exemplar sampling: > 0 keeps at most one new exemplar per interval for each series (each
  // histogram bucket) and recording thread; the others are not stored (their values count as
  // usual). 0: every exemplar replaces the last. Prometheus' Java client samples the same way
  // (90 ms); the HTTP server metrics use 100 ms so that a traced request does not take the
  // exemplar store's lock (~100 ns) every time.
  std::chrono::milliseconds exemplar_interval{0};
};

namespace detail {
struct FamilyIndex;  // the open-addressing table, in src/metrics/family.cc
// Registry's way to the constructors users do not call (families are made by Registry only);
// defined in src/metrics/registry.cc.
struct RegistryAccess;

// Everything of a family that does not depend on its instrument type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, MetricOptions options,
             uint32_t cells_per_series);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::string& unit() const noexcept { return options_.unit; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  const MetricOptions& options() const noexcept { return options_; }

  // Live series, not counting the overflow series.
  size_t size() const;
  // Removes the series with these label values. False when there is none.
  bool remove(std::span<const std::string_view> values);
  // Removes every series (handles stay valid but are no longer exported).
  void clear();
  // Removes series idle for longer than options().idle_expiry. Returns how many.
  size_t expire_idle();
  // Lookups folded into the overflow series so far.
  uint64_t overflow_count() const noexcept;
  const RecordStats& record_stats() const noexcept { return stats_; }
  // Changes whenever a series leaves the family (remove, clear, idle expiry). A handle kept
  // together with this value is still the exported series while the value is unchanged (what
  // HttpServerMetrics' handle cache checks).
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  uint64_t invalid_label_values() const noexcept;

  // Emits the family to `sink` (begin_family, series, end_family). Skips empty families.
  void collect(MetricSink& sink) const;
  // A read of the current values for in-process readers (Registry::read_family): like
  // collect(), but begin_family and end_family come also when the family has no series, and
  // the read does not count as a collection (exemplars kept for the next scrape are not aged).
  void read(MetricSink& sink) const;

 protected:
  // The series for `values`, created if needed, with a reference added for the caller.
  // Throws vigil::Error when the number of values is wrong.
  SeriesNode* acquire(std::span<const std::string_view> values);
  // Prepares a new node (cells are allocated already). May throw.
  virtual void init_series(SeriesNode& node);
  // Writes one series to the sink.
  virtual void emit(MetricSink& sink, LabelValues labels, const SeriesNode& node) const = 0;

  RecordStats stats_;

 private:
  SeriesNode* find_locked(uint64_t hash, std::span<const std::string_view> values) const;
  SeriesNode* create_locked(uint64_t hash, std::span<const std::string_view> values);
  SeriesNode* acquire_slow(std::span<const std::string_view> values);
  void visit(MetricSink& sink, bool collection) const;
  uint32_t clock_seconds() const noexcept;

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  MetricOptions options_;
  uint32_t cells_per_series_;
  int64_t clock_origin_ns_;
  uint64_t id_;                          // unique for the process, never reused
  std::atomic<uint64_t> generation_{0};  // bumped whenever a series leaves the index
  std::unique_ptr<FamilyIndex> index_;
};

inline std::string_view as_view(std::string_view s) noexcept { return s; }
}  // namespace detail

// A family of series of one instrument type: Counter, Gauge, Histogram, Summary or Info.
template <class Instrument>
class Family final : public detail::FamilyBase {
 public:
  // The series for these label values (one per declared label name, in order), created if
  // needed. Throws vigil::Error when the count of values does not match the label names.
  Instrument labels(std::span<const std::string_view> values) {
    return make(detail::SeriesRef(acquire(values)));
  }
  Instrument labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  template <class... Values>
  requires(sizeof...(Values) > 0 && (std::convertible_to<const Values&, std::string_view> &&
                                     ...)) Instrument labels(const Values&... values) {
    const std::string_view array[] = {detail::as_view(values)...};
    return labels(std::span<const std::string_view>(array));
  }
  // The series of a family without labels. Throws vigil::Error if the family has labels.
  Instrument get() { return labels(std::span<const std::string_view>()); }

  using FamilyBase::remove;
  template <class... Values>
  requires(sizeof...(Values) > 0 && (std::convertible_to<const Values&, std::string_view> &&
                                     ...)) bool remove(const Values&... values) {
    const std::string_view array[] = {detail::as_view(values)...};
    return remove(std::span<const std::string_view>(array));
  }

  // Histogram families: the finite bucket bounds. Summary families: the quantiles.
  const std::vector<double>& buckets() const noexcept { return bounds_; }
  const SummaryOptions& summary_options() const noexcept { return summary_; }

 private:
  friend struct detail::RegistryAccess;  // families are made by Registry
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         MetricOptions options);
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         MetricOptions options, HistogramOptions histogram);
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         MetricOptions options, SummaryOptions summary);

  Instrument make(detail::SeriesRef ref) {
    if constexpr (std::is_same_v<Instrument, Counter> || std::is_same_v<Instrument, Summary>) {
      return Instrument(std::move(ref), &stats_);
    } else if constexpr (std::is_same_v<Instrument, Histogram>) {
      return Instrument(std::move(ref), bounds_.data(), static_cast<uint32_t>(bounds_.size()),
                        &stats_);
    } else {
      return Instrument(std::move(ref));
    }
  }
  void init_series(detail::SeriesNode& node) override;
  void emit(MetricSink& sink, LabelValues labels, const detail::SeriesNode& node) const override;

  std::vector<double> bounds_;
  SummaryOptions summary_;
};

// Defined per instrument in src/metrics/instruments.cc.
#define VIGIL_DETAIL_DECLARE_FAMILY(I)                                                       \
  template <>                                                                                \
  void Family<I>::init_series(detail::SeriesNode& node);                                     \
  template <>                                                                                \
  void Family<I>::emit(MetricSink& sink, LabelValues labels, const detail::SeriesNode& node) \
      const;
VIGIL_DETAIL_DECLARE_FAMILY(Counter)
VIGIL_DETAIL_DECLARE_FAMILY(Gauge)
VIGIL_DETAIL_DECLARE_FAMILY(Histogram)
VIGIL_DETAIL_DECLARE_FAMILY(Summary)
VIGIL_DETAIL_DECLARE_FAMILY(Info)
#undef VIGIL_DETAIL_DECLARE_FAMILY
template <>
Family<Counter>::Family(std::string, std::string, std::vector<std::string>, MetricOptions);
template <>
Family<Gauge>::Family(std::string, std::string, std::vector<std::string>, MetricOptions);
template <>
Family<Info>::Family(std::string, std::string, std::vector<std::string>, MetricOptions);
template <>
Family<Histogram>::Family(std::string, std::string, std::vector<std::string>, MetricOptions,
                          HistogramOptions);
template <>
Family<Summary>::Family(std::string, std::string, std::vector<std::string>, MetricOptions,
                        SummaryOptions);

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
extern template class Family<Summary>;
extern template class Family<Info>;

}  // namespace vigil::metrics
