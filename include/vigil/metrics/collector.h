// vigil/metrics/collector.h: how metric values leave a registry.
//
// Collection is a visit: a Registry (or any Collector, such as the process collector) calls a
// MetricSink once per family and once per series, with views into its own storage. Exposition
// formats (Prometheus text, OpenMetrics, JSON) are sinks; so is anything a user writes to export
// values elsewhere. Nothing is copied on the way: the views are valid only during the call.
//
//   class PrintSink : public vigil::metrics::MetricSink {
//     void begin_family(const FamilyDesc& f) override { std::cout << f.name << "\n"; }
//     void counter(LabelValues, double v, double) override { std::cout << v << "\n"; }
//     ...
//   };
//   registry.collect(sink);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::metrics {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram, kSummary, kInfo };

// "counter", "gauge", "histogram", "summary", "info".
std::string_view to_string(MetricType type) noexcept;

using LabelPair = std::pair<std::string, std::string>;
// Values of one series, in the order of FamilyDesc::label_names.
using LabelValues = std::span<const std::string_view>;

// What a family is. `name` is the family name without type suffixes: a counter registered as
// "http_requests_total" has name "http_requests"; an info metric registered as "build" or
// "build_info" has name "build". Exposition formats add `_total`, `_info`, `_bucket`, ... .
struct FamilyDesc {
  std::string_view name;
  std::string_view help;
  std::string_view unit;  // empty when none
  MetricType type = MetricType::kGauge;
  std::span<const std::string> label_names;
  std::span<const LabelPair> const_labels;  // written before the series' own labels
};

// An exemplar (OpenMetrics): one recent observation with labels that identify it, usually the
// trace_id and span_id of the request that made it, so a dashboard can jump from a latency
// bucket to a trace.
struct ExemplarPoint {
  std::span<const std::pair<std::string_view, std::string_view>> labels;
  double value = 0;
  double timestamp = 0;  // Unix seconds
};

// One histogram series. `bounds` are the finite upper bounds in increasing order; the +Inf
// bucket is implicit. `cumulative[i]` is the count of observations <= bounds[i] and
// `cumulative[bounds.size()]` (the +Inf bucket) equals `count`.
struct HistogramPoint {
  std::span<const double> bounds;
  std::span<const uint64_t> cumulative;
  uint64_t count = 0;
  double sum = 0;
  double created = 0;  // Unix seconds when the series was created
  // Empty, or one entry per bucket (bounds.size() + 1) holding the bucket's latest exemplar or
  // null.
  std::span<const ExemplarPoint* const> exemplars;
};

// One summary series: quantiles over the sliding window, count and sum since creation.
struct SummaryPoint {
  std::span<const std::pair<double, double>> quantiles;  // (quantile, value); value NaN if empty
  uint64_t count = 0;
  double sum = 0;
  double created = 0;
};

// Receives collected values. Calls come in this order for each family: begin_family, then the
// series, then end_family. A sink is used by one collection at a time (not thread-safe).
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void begin_family(const FamilyDesc& family) = 0;
  virtual void counter(LabelValues labels, double value, double created) = 0;
  // A counter series with its latest exemplar. Sinks that do not write exemplars need not
  // override it: by default it writes the counter alone.
  virtual void counter_with_exemplar(LabelValues labels, double value, double created,
                                     const ExemplarPoint& exemplar) {
    (void)exemplar;
    counter(labels, value, created);
  }
  virtual void gauge(LabelValues labels, double value) = 0;
  virtual void histogram(LabelValues labels, const HistogramPoint& point) = 0;
  virtual void summary(LabelValues labels, const SummaryPoint& point) = 0;
  // An info series: its labels carry the information; its value is always 1.
  virtual void info(LabelValues labels) = 0;
  virtual void end_family() = 0;
  // False: the sink ignores exemplars, so families skip copying them (counter() is called
  // instead of counter_with_exemplar(), HistogramPoint::exemplars stays empty). Readers of
  // values only (Registry::read_family) say false.
  virtual bool wants_exemplars() const { return true; }
};

// Something that produces families at collection time (the process collector, a bridge to
// another library). Registered with Registry::add_collector; `collect` may run on any thread,
// concurrently with itself, and must not throw.
class Collector {
 public:
  virtual ~Collector() = default;
  // Names of the families this collector produces, checked for clashes at registration.
  virtual std::vector<std::string> family_names() const = 0;
  virtual void collect(MetricSink& sink) const = 0;
};

}  // namespace vigil::metrics
