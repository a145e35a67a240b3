// vigil/metrics/exposition.h: a registry as Prometheus text, OpenMetrics text or JSON.
//
//   std::string body = vigil::metrics::serialize(registry, Format::kOpenMetrics);
//   Format f = vigil::metrics::negotiate_format(request_accept_header);
//
// Prometheus text format 0.0.4 and OpenMetrics 1.0.0 follow their specifications (escaping,
// +Inf/-Inf/NaN, `_created`, `# UNIT`, `# EOF`); both pass `promtool check metrics`. The JSON
// schema is documented in docs/metrics.md.
#pragma once

#include <string>
#include <string_view>

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
class TextSink : public MetricSink {
 public:
  TextSink(std::string& out, Format format);  // kPrometheusText or kOpenMetrics
  ~TextSink() override;
  void begin_family(const FamilyDesc& family) override;
  void counter(LabelValues labels, double value, double created) override;
  void gauge(LabelValues labels, double value) override;
  void histogram(LabelValues labels, const HistogramPoint& point) override;
  void summary(LabelValues labels, const SummaryPoint& point) override;
  void info(LabelValues labels) override;
  void end_family() override;
  void finish();

 private:
  void write_labels(LabelValues labels, std::string_view extra_name, std::string_view extra_value);
  void write_sample(std::string_view suffix, LabelValues labels, std::string_view extra_name,
                    std::string_view extra_value, double value);
  std::string& out_;
  Format format_;
  FamilyDesc family_;
  std::string name_;  // the family name as this format writes it in metadata
};

}  // namespace vigil::metrics
