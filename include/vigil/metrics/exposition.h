// vigil/metrics/exposition.h: a registry as Prometheus text, OpenMetrics text or JSON.
//
//   std::string body = vigil::metrics::serialize(registry, Format::kOpenMetrics);
//   Format f = vigil::metrics::negotiate_format(request_accept_header);
//
// Prometheus text format 0.0.4 and OpenMetrics 1.0.0 follow their specifications (escaping,
// +Inf/-Inf/NaN, `_created`, `# UNIT`, `# EOF`); both pass `promtool check metrics`. Number
// formatting, escaping and the JSON schema are documented in docs/metrics-exposition.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/collector.h"

namespace vigil::metrics {

class Registry;

enum class Format : uint8_t { kPrometheusText, kOpenMetrics, kJson };

// The Content-Type header value for a format, e.g.
// "text/plain; version=0.0.4; charset=utf-8".
std::string_view content_type(Format format) noexcept;

// Chooses a format from an HTTP Accept header the way Prometheus clients do: OpenMetrics when
// "application/openmetrics-text" is accepted (with a q > 0), JSON when "application/json" is
// preferred, Prometheus text otherwise (also for an empty or malformed header). Never throws.
Format negotiate_format(std::string_view accept_header) noexcept;

// Appends every family of `registry` (and its collectors) to `out` in `format`.
// Thread-safe with concurrent recording; cost is linear in the number of series.
void serialize(const Registry& registry, Format format, std::string& out);
std::string serialize(const Registry& registry, Format format);

// Exposition sinks, for collecting from something other than a Registry (e.g. one Collector).
// Each appends to `out`; call finish() once after the last family (OpenMetrics writes # EOF).
// A sink serves one collection at a time (not thread-safe); `out` must outlive it.
//
//   std::string body;
//   TextSink sink(body, Format::kOpenMetrics);
//   collector.collect(sink);
//   sink.finish();
//
// TextSink writes straight into `out` (no per-sample allocation once its scratch buffers have
// grown); its cost is linear in the bytes written.
class TextSink : public MetricSink {
 public:
  // `format` is kPrometheusText or kOpenMetrics; throws vigil::Error for kJson (use JsonSink).
  TextSink(std::string& out, Format format);
  ~TextSink() override;
  TextSink(const TextSink&) = delete;
  TextSink& operator=(const TextSink&) = delete;
  void begin_family(const FamilyDesc& family) override;
  void counter(LabelValues labels, double value, double created) override;
  // OpenMetrics writes the exemplar after the _total sample; Prometheus text has no exemplars.
  void counter_with_exemplar(LabelValues labels, double value, double created,
                             const ExemplarPoint& exemplar) override;
  void gauge(LabelValues labels, double value) override;
  void histogram(LabelValues labels, const HistogramPoint& point) override;
  void summary(LabelValues labels, const SummaryPoint& point) override;
  void info(LabelValues labels) override;
  void end_family() override;
  void finish();

 private:
  // Appends ` # {labels} value timestamp` (OpenMetrics exemplar) to out_.
  void append_exemplar(const ExemplarPoint& exemplar);
  // A sample line is built in line_ with raw writes and appended to out_ in one call.
  char* line(std::size_t max_bytes);
  void commit(const char* end);
  // Upper bound of what write_labels writes for `labels`.
  std::size_t labels_bound(LabelValues labels) const;
  // Writes the series' escaped labels at `p` (const labels first, no braces); returns the end.
  char* write_labels(char* p, LabelValues labels) const;
  // A one-line sample: `<family name><suffix>{<labels>} <value>\n`.
  void write_sample(std::string_view suffix, LabelValues labels, double value);
  // For series with several lines: escapes their labels once into series_labels_ ...
  void set_series_labels(LabelValues labels);
  // ... then writes `<family name><suffix>{<series labels>[,<extra>="<value>"]} <value>\n`.
  void write_series_line(std::string_view suffix, std::string_view extra_name,
                         std::string_view extra_value, double value);
  void write_series_count(std::string_view suffix, std::string_view extra_name,
                          std::string_view extra_value, uint64_t count,
                          const ExemplarPoint* exemplar = nullptr);
  char* write_series_head(std::string_view suffix, std::string_view extra_name,
                          std::string_view extra_value);
  // Fills le_text_/le_ends_ for `bounds` unless they equal the previous series' bounds.
  void format_bounds(std::span<const double> bounds);

  std::string& out_;
  Format format_;
  FamilyDesc family_;
  std::string name_;  // the family name as this format writes it in metadata
  bool openmetrics_ = false;
  bool finished_ = false;
  // Per family: escaped const labels `a="x",b="y"` and, for each label name, `,name="` (the
  // comma omitted for the very first label of a series).
  std::string const_labels_;
  std::string label_heads_;
  std::vector<uint32_t> label_head_ends_;
  bool has_labels_ = false;  // const labels or label names: samples have braces
  // Per series: the escaped labels between the braces, reused for every line of the series.
  std::string series_labels_;
  std::string line_;
  // The formatted `le` values of the last bucket layout, reused while the bounds are equal.
  std::vector<double> le_bounds_;
  std::string le_text_;
  std::vector<uint32_t> le_ends_;
  std::string number_;  // scratch for one formatted label number
};

// A sink that writes a JSON document (schema in docs/metrics-exposition.md):
//   {"metrics":[{"name":"http_requests","type":"counter","help":"...","unit":"",
//                "series":[{"labels":{"method":"GET"},"value":7,"created":1700000000.5}]}]}
// Values that JSON cannot represent (+Inf, -Inf, NaN) are written as the strings "+Inf",
// "-Inf" and "NaN"; invalid UTF-8 becomes U+FFFD. The document is streamed into `out` as
// families and series arrive and is complete after finish(). Compact (no whitespace).
class JsonSink : public MetricSink {
 public:
  explicit JsonSink(std::string& out);
  ~JsonSink() override;
  JsonSink(const JsonSink&) = delete;
  JsonSink& operator=(const JsonSink&) = delete;
  void begin_family(const FamilyDesc& family) override;
  void counter(LabelValues labels, double value, double created) override;
  void counter_with_exemplar(LabelValues labels, double value, double created,
                             const ExemplarPoint& exemplar) override;
  void gauge(LabelValues labels, double value) override;
  void histogram(LabelValues labels, const HistogramPoint& point) override;
  void summary(LabelValues labels, const SummaryPoint& point) override;
  void info(LabelValues labels) override;
  void end_family() override;
  // Closes the document; later calls do nothing.
  void finish();

 private:
  struct Impl;  // uses nlohmann::json, kept out of this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::metrics
