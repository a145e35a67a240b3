// vigil/metrics/registry.h: where families are registered, looked up and collected.
//
//   vigil::metrics::Registry& r = vigil::metrics::Registry::global();  // or your own Registry
//   auto& tokens = r.counter("llm_tokens_total", "Tokens used", {"provider", "kind"});
//   tokens.labels("openai", "prompt").inc(812);
//   r.gauge("queue_depth", "Jobs waiting").get().set(3);
//   r.callback_gauge("cache_entries", "Entries in the cache", [&] { return cache.size(); });
//   std::string text = vigil::metrics::serialize(r, vigil::metrics::Format::kPrometheusText);
//
// Get-or-create: registering a name again with the same type, help, label names and options
// returns the family that exists. Another type, help or label names is a vigil::Error, and
// nothing is registered. Names, label names and units follow Prometheus' rules (names.h) and
// are checked at registration, as are clashes between the sample names families produce
// (a counter "a" writes a_total and a_created, so a gauge "a_total" is refused).
//
// A counter registered as "x_total" or "x" is the family "x" (its samples are x_total).
// An info metric registered as "build_info" or "build" is the family "build".
//
// Thread-safety: every member is safe from any thread. Families live as long as the registry
// (remove() unlists one but keeps it alive); handles must not outlive their registry. The
// global registry is never destroyed.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/collector.h"
#include "vigil/metrics/family.h"

namespace vigil::metrics {

// Everything about a histogram family in one struct, so a call names only what it sets:
//
//   auto& latency = registry.histogram("request_duration_seconds",
//                                      {.help = "Request latency", .labels = {"route"},
//                                       .buckets = {0.01, 0.1, 1}, .unit = "seconds"});
//
// The same registration as histogram(name, help, labels, {buckets}, {unit, ...}): the same
// get-or-create rules and vigil::Error on a conflict or a bad name, label or unit.
struct HistogramSpec {
  std::string help;
  std::vector<std::string> labels;
  std::vector<double> buckets = default_buckets();
  std::string unit;                     // base unit; the name must end with "_<unit>"
  std::vector<LabelPair> const_labels;  // written on every series of the family
  size_t cardinality_limit = 10'000;    // series beyond it share one overflow series
  std::chrono::seconds idle_expiry{0};  // 0: series never expire
};

// The same for a summary (quantiles over a sliding window of max_age in age_buckets steps).
struct SummarySpec {
  std::string help;
  std::vector<std::string> labels;
  std::vector<double> quantiles = {0.5, 0.9, 0.95, 0.99};  // each in [0, 1]
  std::chrono::seconds max_age{600};
  int age_buckets = 5;
  std::string unit;
  std::vector<LabelPair> const_labels;
  size_t cardinality_limit = 10'000;
  std::chrono::seconds idle_expiry{0};
};

// Callback series: values read when the registry is collected.
class CallbackFamily {
 public:
  // Adds (or replaces) the series with these label values. Throws vigil::Error on a wrong
  // number of values. `fn` runs during collection, on the collecting thread; it must be
  // thread-safe and should be fast. An exception from it drops that series from that
  // collection and is counted in vigil_collector_errors_total.
  void add(std::vector<std::string> label_values, std::function<double()> fn);
  // Removes the series with these label values; false if there was none.
  bool remove(const std::vector<std::string>& label_values);

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  const MetricOptions& options() const noexcept { return options_; }
  size_t size() const;

 private:
  friend struct detail::RegistryAccess;  // made and collected by Registry
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, MetricOptions options);
  // `empty_too`: begin_family and end_family also without series (Registry::read_family).
  void collect(MetricSink& sink, std::atomic<uint64_t>& errors, bool empty_too = false) const;

  struct Entry {
    std::vector<std::string> values;
    std::function<double()> fn;
    double created;
  };
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  MetricOptions options_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide default registry.
  static Registry& global();

  Family<Counter>& counter(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names = {}, MetricOptions options = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {}, MetricOptions options = {});
  Family<Histogram>& histogram(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names = {},
                               HistogramOptions histogram = {}, MetricOptions options = {});
  Family<Summary>& summary(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names = {}, SummaryOptions summary = {},
                           MetricOptions options = {});
  // The same with one options struct (see HistogramSpec).
  Family<Histogram>& histogram(std::string_view name, HistogramSpec spec);
  Family<Summary>& summary(std::string_view name, SummarySpec spec);
  Family<Info>& info(std::string_view name, std::string_view help,
                     std::vector<std::string> label_names, MetricOptions options = {});

  // A gauge or counter whose value `fn` computes at collection time.
  CallbackFamily& callback_gauge(std::string_view name, std::string_view help,
                                 std::function<double()> fn, MetricOptions options = {});
  CallbackFamily& callback_counter(std::string_view name, std::string_view help,
                                   std::function<double()> fn, MetricOptions options = {});
  // Labelled callback families; add series with CallbackFamily::add.
  CallbackFamily& callback_gauge_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        MetricOptions options = {});
  CallbackFamily& callback_counter_family(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names,
                                          MetricOptions options = {});

  // Adds a collector; throws vigil::Error if one of its family names is taken.
  void add_collector(std::shared_ptr<const Collector> collector);

  // Unlists the family called `name` (as registered or as its family name). Its handles keep
  // working but are no longer exported. False when there is no such family.
  bool remove(std::string_view name);

  // Emits every family, then the registry's own vigil_* families, to `sink`. Also expires
  // idle series of families that have idle_expiry set.
  void collect(MetricSink& sink) const;

  // Reads one family: emits the family called `name` (as registered, e.g. "x_total", or as its
  // family name "x") to `sink`: begin_family, its series, end_family, also when it has no
  // series yet (so a reader learns its type and label names). Values only, for in-process
  // readers such as vigil::guardrail::LiveSource: a name lookup and one pass over that family's
  // series under its reader lock (recording is not slowed down), no idle expiry, no exemplar
  // ageing, exemplars only if the sink wants_exemplars(). False when no family of that name is
  // listed (collectors cannot be read by name).
  //
  //   struct Total : vigil::metrics::MetricSink { double sum = 0; ...
  //     void counter(LabelValues, double v, double) override { sum += v; } };
  //   Total t;
  //   if (registry.read_family("http_requests_total", t)) use(t.sum);
  bool read_family(std::string_view name, MetricSink& sink) const;

  struct FamilySummary {
    std::string name;  // family name (without _total / _info)
    MetricType type;
    std::string help;
    std::vector<std::string> label_names;
    size_t series;  // 0 for collectors
  };
  // What the registry holds, in registration order (collectors not included).
  std::vector<FamilySummary> list() const;
  size_t family_count() const;
  // Series over all families (overflow series not counted).
  size_t series_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Get-or-create on the global registry, like metric_counter("name", ...) in Python clients.
inline Family<Counter>& counter(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {}) {
  return Registry::global().counter(name, help, std::move(label_names));
}
inline Family<Gauge>& gauge(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {}) {
  return Registry::global().gauge(name, help, std::move(label_names));
}
inline Family<Histogram>& histogram(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names = {},
                                    HistogramOptions options = {}) {
  return Registry::global().histogram(name, help, std::move(label_names), std::move(options));
}
inline Family<Summary>& summary(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {},
                                SummaryOptions options = {}) {
  return Registry::global().summary(name, help, std::move(label_names), std::move(options));
}

inline Family<Histogram>& Registry::histogram(std::string_view name, HistogramSpec spec) {
  return histogram(name, spec.help, std::move(spec.labels), {.buckets = std::move(spec.buckets)},
                   {.unit = std::move(spec.unit),
                    .const_labels = std::move(spec.const_labels),
                    .cardinality_limit = spec.cardinality_limit,
                    .idle_expiry = spec.idle_expiry});
}
inline Family<Summary>& Registry::summary(std::string_view name, SummarySpec spec) {
  return summary(name, spec.help, std::move(spec.labels),
                 {.quantiles = std::move(spec.quantiles),
                  .max_age = spec.max_age,
                  .age_buckets = spec.age_buckets},
                 {.unit = std::move(spec.unit),
                  .const_labels = std::move(spec.const_labels),
                  .cardinality_limit = spec.cardinality_limit,
                  .idle_expiry = spec.idle_expiry});
}
// On the global registry.
inline Family<Histogram>& histogram(std::string_view name, HistogramSpec spec) {
  return Registry::global().histogram(name, std::move(spec));
}
inline Family<Summary>& summary(std::string_view name, SummarySpec spec) {
  return Registry::global().summary(name, std::move(spec));
}

}  // namespace vigil::metrics
