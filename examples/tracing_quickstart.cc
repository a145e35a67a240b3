// Tracing quick start: a tracer, nested spans with attributes, an event, an error, the trace
// context sent to the next service, and what was recorded.
//
//   build/release/examples/example_tracing_quickstart
//
// Spans go to an in-memory store (read back at the end) and to the console. In a service, use
// vigil::setup() instead (examples/setup_quickstart.cc): it reads OTEL_* and exports to a
// collector. See docs/tracing.md.
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/tracer.h"

int main() {
  using namespace vigil::trace;

  // 1. A provider: who we are (the resource) and where finished spans go (processors).
  auto memory = std::make_shared<InMemorySpanStore>();
  TracerProviderOptions options;
  options.resource = Resource::create({.service_name = "quickstart", .service_version = "1.0"});
  options.processors.push_back(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(memory)));
  options.processors.push_back(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<ConsoleExporter>()));
  TracerProvider provider(std::move(options));
  Tracer& tracer = provider.tracer("quickstart", "1.0");

  // 2. Spans. A started span is current on this thread until it ends: spans started meanwhile
  // are its children.
  std::string traceparent;
  {
    Span request = tracer.start_span("handle_request", {.kind = SpanKind::kServer});
    request.set_attribute("http.request.method", "POST").set_attribute("http.route", "/chat");
    {
      Span llm = tracer.start_span("llm_call", {.kind = SpanKind::kClient});
      llm.set_attribute("gen_ai.request.model", "gpt-4o")
          .set_attribute("gen_ai.usage.input_tokens", int64_t{812});
      llm.add_event("first_token", {{"latency_ms", int64_t{120}}});
      // 3. The context for the next service (W3C traceparent header).
      HeaderMapCarrier headers;
      default_propagator().inject(Context::current(), headers);
      for (const auto& [name, value] : headers.headers) {
        if (name == "traceparent") traceparent = value;
      }
    }
    {
      Span tool = tracer.start_span("tool.search");
      try {
        throw std::runtime_error("index unavailable");
      } catch (const std::exception& e) {
        tool.record_exception(e).set_status(StatusCode::kError, e.what());
      }
    }
  }  // spans end here, children first

  // 4. What was recorded: one trace, three spans.
  provider.force_flush();
  const auto spans = memory->spans();
  std::cout << "tracing_quickstart: " << spans.size() << " spans in trace "
            << (spans.empty() ? std::string("-") : spans.front().context.trace_id.to_hex())
            << "; traceparent sent on: " << traceparent << "\n";
  for (const SpanData& s : spans) {
    std::cout << "  " << s.name << (s.parent_span_id.valid() ? " (child)" : " (root)")
              << (s.status.code == StatusCode::kError ? " error: " + s.status.message : "") << "\n";
  }
  return spans.size() == 3 ? 0 : 1;
}
