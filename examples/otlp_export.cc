// OTLP export: spans sent to an OpenTelemetry Collector (or Jaeger, Tempo, any OTLP/HTTP
// receiver) at $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, batched on a background thread.
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 build/release/examples/example_otlp_export
//
// The standard variables configure the exporter: OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS,
// _PROTOCOL (http/protobuf or http/json), _COMPRESSION, _TIMEOUT; OTEL_SERVICE_NAME names the
// service. vigil::setup() does all of this in one call (examples/setup_quickstart.cc); this is
// the same wiring spelled out. See docs/otlp.md.
#include <iostream>
#include <memory>
#include <string>

#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/tracer.h"

int main() {
  using namespace vigil::trace;
  namespace exporters = vigil::exporters;

  auto options = exporters::OtlpTraceExporterOptions::from_environment();  // OTEL_EXPORTER_OTLP_*
  const std::string endpoint = options.endpoint;
  auto exporter = std::make_unique<exporters::OtlpTraceExporter>(std::move(options));
  const exporters::OtlpTraceExporter* otlp = exporter.get();  // for its counters at the end

  TracerProviderOptions provider_options;
  provider_options.resource = Resource::create({.service_name = "otlp-example"});
  provider_options.processors.push_back(
      std::make_unique<BatchSpanProcessor>(std::move(exporter), BatchSpanProcessorOptions{}));
  TracerProvider provider(std::move(provider_options));
  Tracer& tracer = provider.tracer("otlp-example", "1.0");

  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    Span request = tracer.start_span("handle_request", {.kind = SpanKind::kServer});
    request.set_attribute("request.number", int64_t{i});
    Span db = tracer.start_span("db.query", {.kind = SpanKind::kClient});
    db.set_attribute("db.system", "postgresql");
  }

  // Sends what is queued and stops the batch thread (at most 5 s).
  provider.shutdown(std::chrono::seconds(5));
  const exporters::OtlpExporterStats stats = otlp->stats();
  std::cout << "otlp_export: exported " << stats.exported_spans << " of " << 2 * kRequests
            << " spans to " << endpoint << " (" << stats.export_calls << " requests, "
            << stats.dropped_spans << " dropped"
            << (stats.last_error.empty() ? "" : ", last error: " + stats.last_error) << ")\n";
  return stats.exported_spans == 2 * kRequests ? 0 : 1;
}
