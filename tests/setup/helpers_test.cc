// The helpers the demo had to write itself, now in the library (issue 14 section 7): exemplar
// labels from the current span, the no-op tracer, one options struct for histograms and
// summaries, and "no exporter unless one is configured".
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/config.h"
#include "vigil/trace/exemplar.h"
#include "vigil/trace/tracer.h"

namespace {

using vigil::metrics::Format;
using vigil::trace::Environment;
using Vars = std::map<std::string, std::string, std::less<>>;

std::unique_ptr<vigil::trace::TracerProvider> recording_provider() {
  vigil::trace::TracerProviderOptions o;
  o.resource = vigil::trace::Resource({{"service.name", std::string("t")}});
  return std::make_unique<vigil::trace::TracerProvider>(std::move(o));
}

TEST(ExemplarIds, FromTheCurrentSampledSpan) {
  auto provider = recording_provider();
  vigil::trace::Tracer& tracer = provider->tracer("t");
  EXPECT_FALSE(vigil::trace::ExemplarIds());  // no current span
  vigil::trace::Span span = tracer.start_span("request");
  const vigil::trace::ExemplarIds current;
  ASSERT_TRUE(current);
  EXPECT_EQ(current.trace_id(), span.trace_id().to_hex());
  EXPECT_EQ(current.span_id(), span.span_id().to_hex());
  const vigil::trace::ExemplarIds of_span(span);
  EXPECT_EQ(of_span.trace_id(), current.trace_id());
  span.end();
  EXPECT_FALSE(vigil::trace::ExemplarIds());
  EXPECT_EQ(vigil::trace::ExemplarIds().trace_id(), "");
}

TEST(ExemplarIds, NoneForASampledOutOrNoOpSpan) {
  vigil::trace::TracerProviderOptions o;
  o.sampler = vigil::trace::always_off();
  vigil::trace::TracerProvider off(std::move(o));
  vigil::trace::Span dropped = off.tracer("t").start_span("x");
  EXPECT_FALSE(vigil::trace::ExemplarIds(dropped));
  EXPECT_FALSE(vigil::trace::ExemplarIds());
  vigil::trace::Span noop = vigil::trace::noop_tracer().start_span("y");
  EXPECT_FALSE(vigil::trace::ExemplarIds(noop));
}

TEST(ExemplarIds, ObserveAndIncWithTraceWriteOpenMetricsExemplars) {
  auto provider = recording_provider();
  vigil::metrics::Registry registry;
  auto latency =
      registry
          .histogram("latency_seconds", {.help = "Latency", .buckets = {0.1, 1}, .unit = "seconds"})
          .get();
  auto errors = registry.counter("errors", "Errors").get();
  vigil::trace::observe_with_trace(latency, 0.05);  // no span: a plain observation
  std::string trace_id;
  {
    vigil::trace::Span span = provider->tracer("t").start_span("request");
    trace_id = span.trace_id().to_hex();
    vigil::trace::observe_with_trace(latency, 0.5);
    vigil::trace::inc_with_trace(errors);
  }
  const std::string text = vigil::metrics::serialize(registry, Format::kOpenMetrics);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1.0\"} 2 # {trace_id=\"" + trace_id),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("errors_total 1 # {trace_id=\"" + trace_id), std::string::npos) << text;
}

TEST(NoopTracer, NeverNullAndRecordsNothing) {
  vigil::trace::Tracer& a = vigil::trace::noop_tracer();
  EXPECT_EQ(&a, &vigil::trace::noop_tracer());
  EXPECT_FALSE(a.enabled());
  vigil::trace::Span span = a.start_span("x");
  EXPECT_FALSE(span.recording());
  EXPECT_FALSE(span.span_id().valid());
}

TEST(HistogramSpec, SameFamilyAsTheLongForm) {
  vigil::metrics::Registry registry;
  auto& long_form = registry.histogram("request_duration_seconds", "Request latency", {"route"},
                                       {.buckets = {0.01, 0.1, 1}}, {.unit = "seconds"});
  auto& spec = registry.histogram("request_duration_seconds", {.help = "Request latency",
                                                               .labels = {"route"},
                                                               .buckets = {0.01, 0.1, 1},
                                                               .unit = "seconds"});
  EXPECT_EQ(&long_form, &spec);
  // Without labels or buckets: no placeholders.
  auto& plain = registry.histogram("queue_wait_seconds", {.help = "Wait", .unit = "seconds"});
  plain.get().observe(0.2);
  EXPECT_EQ(plain.unit(), "seconds");
  // The same rules: a unit the name does not end with is refused.
  EXPECT_THROW(registry.histogram("queue_depth", {.help = "Depth", .unit = "seconds"}),
               vigil::Error);
  // Another help for a registered name is a conflict.
  EXPECT_THROW(registry.histogram("queue_wait_seconds", {.help = "Other", .unit = "seconds"}),
               vigil::Error);
}

TEST(SummarySpec, SameFamilyAsTheLongForm) {
  vigil::metrics::Registry registry;
  auto& long_form = registry.summary(
      "tool_duration_seconds", "Tool latency", {"tool"},
      {.quantiles = {0.5, 0.99}, .max_age = std::chrono::seconds(60), .age_buckets = 6},
      {.unit = "seconds"});
  auto& spec = registry.summary("tool_duration_seconds", {.help = "Tool latency",
                                                          .labels = {"tool"},
                                                          .quantiles = {0.5, 0.99},
                                                          .max_age = std::chrono::seconds(60),
                                                          .age_buckets = 6,
                                                          .unit = "seconds"});
  EXPECT_EQ(&long_form, &spec);
  spec.labels("search").observe(0.25);
  const std::string text = vigil::metrics::serialize(registry, Format::kPrometheusText);
  EXPECT_NE(text.find("tool_duration_seconds{tool=\"search\",quantile=\"0.99\"} 0.25"),
            std::string::npos)
      << text;
}

TEST(ExportOnlyIfConfigured, NoneUnlessAnExporterOrEndpointIsSet) {
  using Names = std::vector<std::string>;
  const Environment empty(Vars{});
  EXPECT_EQ(vigil::trace::trace_exporter_names(empty, false), Names{"otlp"});  // OpenTelemetry
  EXPECT_EQ(vigil::trace::trace_exporter_names(empty, true), Names{"none"});
  EXPECT_EQ(vigil::trace::describe_trace_export(empty, true),
            "none (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER)");
  const Environment endpoint(Vars{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}});
  EXPECT_EQ(vigil::trace::trace_exporter_names(endpoint, true), Names{"otlp"});
  EXPECT_EQ(vigil::trace::describe_trace_export(endpoint, true), "otlp to http://c:4318");
  const Environment traces_endpoint(
      Vars{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t/v1/traces"}});
  EXPECT_EQ(vigil::trace::describe_trace_export(traces_endpoint, true),
            "otlp to http://t/v1/traces");
  const Environment listed(Vars{{"OTEL_TRACES_EXPORTER", " Console , none"}});
  EXPECT_EQ(vigil::trace::trace_exporter_names(listed, true), (Names{"console", "none"}));
  EXPECT_EQ(vigil::trace::describe_trace_export(listed, true), "console");

  // Through options_from_environment: no processor without configuration.
  EXPECT_TRUE(vigil::trace::options_from_environment({.export_only_if_configured = true}, empty)
                  .processors.empty());
  const Environment console(Vars{{"OTEL_TRACES_EXPORTER", "console"}});
  EXPECT_EQ(vigil::trace::options_from_environment({.export_only_if_configured = true}, console)
                .processors.size(),
            1u);
}

}  // namespace
