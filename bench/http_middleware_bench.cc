// The request middleware's cost (issue 14 sections 3 and 8: "at most 300 ns plus the span").
// Each middleware benchmark is paired with the bare span it opens, measured in the same run,
// so that the middleware's own cost is the difference:
//   BM_Metrics_Only            HttpServerMetrics start + finish (what the admin server recorded
//                              before the middleware): the floor
//   BM_Middleware_NoTracing    the middleware with a disabled provider (metrics only)
//   BM_Middleware_Unsampled    a request with a traceparent (flags 00) under always_off:
//                              extraction + an unsampled span + metrics
//   BM_Span_Unsampled          the unsampled server span alone (extraction not included)
//   BM_Middleware_Sampled      a request with a sampled traceparent, always_on, batch
//                              processor: extraction, span with 9 attributes, metrics with the
//                              trace_id exemplar
//   BM_Span_Sampled            a sampled server span alone (start, end, hand-off)
//   BM_Span_Sampled_Attributes the same span with the middleware's 9 attributes
//   BM_*_Sampled_Dropped       the sampled pair with a processor that drops spans (no export
//                              thread competing for the cores): the stable own-cost figure
//   BM_Middleware_Sampled_NoExemplar / _NoTraceparent: the exemplar's and extraction's shares
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <string_view>

#include "vigil/metrics/http_metrics.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/http_server.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/tracer.h"

namespace {

using namespace vigil::trace;

class NullExporter : public SpanExporter {
 public:
  ExportResult export_spans(std::span<const SpanData* const>, Deadline) override {
    return ExportResult::success();
  }
};

// Drops every ended span: the sampled pair below measured without the batch processor's thread,
// which shares the 2 cores and makes the exported pair's difference swing by hundreds of ns.
class DropProcessor : public SpanProcessor {
 public:
  void on_end(SpanRef) noexcept override {}
  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  bool shutdown(std::chrono::milliseconds) noexcept override { return true; }
};

TracerProvider& dropping_provider() {
  static TracerProvider* p = [] {
    TracerProviderOptions o;
    o.sampler = parent_based(always_on());
    o.processors.push_back(std::make_unique<DropProcessor>());
    return new TracerProvider(std::move(o));
  }();
  return *p;
}

TracerProvider& provider(bool sampled, bool enabled = true) {
  auto make = [](bool on, bool en) {
    TracerProviderOptions o;
    o.sampler = on ? parent_based(always_on()) : always_off();
    o.enabled = en;
    o.processors.push_back(std::make_unique<BatchSpanProcessor>(
        std::make_unique<NullExporter>(),
        BatchSpanProcessorOptions{.max_queue_size = 65536,
                                  .schedule_delay = std::chrono::milliseconds(5),
                                  .max_export_batch_size = 4096}));
    return new TracerProvider(std::move(o));
  };
  static TracerProvider* on = make(true, true);
  static TracerProvider* off = make(false, true);
  static TracerProvider* disabled = make(true, false);
  if (!enabled) return *disabled;
  return sampled ? *on : *off;
}

vigil::metrics::Registry& registry() {
  static auto* r = new vigil::metrics::Registry();
  return *r;
}

// A request's headers as a framework hands them: a small array scanned case-insensitively.
struct Headers {
  std::string_view traceparent;
  std::optional<std::string_view> operator()(std::string_view name) const {
    if (name == "traceparent" && !traceparent.empty()) return traceparent;
    if (name == "user-agent") return std::string_view("bench-client/1.0");
    return std::nullopt;
  }
};

void run_middleware(benchmark::State& state, Tracer& tracer, std::string_view traceparent,
                    bool exemplars = true) {
  auto headers = header_getter(Headers{traceparent});
  // One middleware per tracer, on the shared registry (the families are found, not duplicated).
  HttpServerMiddleware m({.tracer = &tracer, .registry = &registry(), .exemplars = exemplars});
  for (auto _ : state) {
    HttpServerMiddleware::Scope scope(m, {.method = "GET",
                                          .route = "/api/v1/items/{id}",
                                          .path = "/api/v1/items/42",
                                          .server_address = "127.0.0.1",
                                          .server_port = 8080,
                                          .client_address = "10.1.2.3",
                                          .headers = &headers});
    scope.finish(200);
  }
}

// The default propagator's extraction of the request's traceparent (W3C trace context and
// baggage): part of the middleware's own cost.
void BM_Extract(benchmark::State& state) {
  auto headers = header_getter(Headers{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"});
  for (auto _ : state) {
    Context ctx;
    default_propagator().extract(headers, ctx);
    benchmark::DoNotOptimize(ctx.span.span_id);
  }
}
BENCHMARK(BM_Extract);

void BM_Metrics_Only(benchmark::State& state) {
  static auto* m = new vigil::metrics::HttpServerMetrics(registry());
  for (auto _ : state) {
    auto scope = m->start("GET", "/api/v1/items/{id}");
    scope.finish(200);
  }
}
BENCHMARK(BM_Metrics_Only);

void BM_Middleware_NoTracing(benchmark::State& state) {
  run_middleware(state, provider(true, false).tracer("bench"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}
BENCHMARK(BM_Middleware_NoTracing);

void BM_Middleware_Unsampled(benchmark::State& state) {
  run_middleware(state, provider(false).tracer("bench"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}
BENCHMARK(BM_Middleware_Unsampled);

void BM_Span_Unsampled(benchmark::State& state) {
  Tracer& t = provider(false).tracer("bench");
  for (auto _ : state) {
    Span s = t.start_span("GET /api/v1/items/{id}", {.kind = SpanKind::kServer});
    s.end();
  }
}
BENCHMARK(BM_Span_Unsampled);

void BM_Middleware_Sampled(benchmark::State& state) {
  run_middleware(state, provider(true).tracer("bench"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}
BENCHMARK(BM_Middleware_Sampled);

// Where the sampled request's own cost goes (with the dropping processor below, to compare with
// BM_Middleware_Sampled_Dropped): without the exemplar, and without a parent.
void BM_Middleware_Sampled_NoExemplar(benchmark::State& state) {
  run_middleware(state, dropping_provider().tracer("bench"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false);
}
BENCHMARK(BM_Middleware_Sampled_NoExemplar);

void BM_Middleware_Sampled_NoTraceparent(benchmark::State& state) {
  run_middleware(state, dropping_provider().tracer("bench"), "");
}
BENCHMARK(BM_Middleware_Sampled_NoTraceparent);

// The span the middleware opens, with the same attributes: what "the span" costs.
// `parent`: the incoming request's context (parsed once, outside the loop), as the middleware's
// span has it; null: a root span.
void span_with_attributes(benchmark::State& state, Tracer& t, const SpanContext* parent = nullptr) {
  for (auto _ : state) {
    Span s = t.start_span("GET /api/v1/items/{id}",
                          {.kind = SpanKind::kServer, .parent = parent, .root = true});
    s.set_attribute("http.request.method", "GET");
    s.set_attribute("http.route", "/api/v1/items/{id}");
    s.set_attribute("url.path", "/api/v1/items/42");
    s.set_attribute("url.scheme", "http");
    s.set_attribute("server.address", "127.0.0.1");
    s.set_attribute("server.port", 8080);
    s.set_attribute("client.address", "10.1.2.3");
    s.set_attribute("user_agent.original", "bench-client/1.0");
    s.set_attribute("http.response.status_code", 200);
    s.end();
  }
}
void BM_Span_Sampled_Attributes(benchmark::State& state) {
  span_with_attributes(state, provider(true).tracer("bench"));
}
BENCHMARK(BM_Span_Sampled_Attributes);

// The sampled pair again with a processor that drops the spans (no export thread): the
// middleware's own cost on a sampled request is Middleware_Sampled_Dropped - Span_..._Dropped.
void BM_Middleware_Sampled_Dropped(benchmark::State& state) {
  run_middleware(state, dropping_provider().tracer("bench"),
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}
BENCHMARK(BM_Middleware_Sampled_Dropped);

void BM_Span_Sampled_Attributes_Dropped(benchmark::State& state) {
  const std::optional<SpanContext> parent =
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  span_with_attributes(state, dropping_provider().tracer("bench"), &*parent);
}
BENCHMARK(BM_Span_Sampled_Attributes_Dropped);

void BM_Span_Sampled(benchmark::State& state) {
  Tracer& t = provider(true).tracer("bench");
  for (auto _ : state) {
    Span s = t.start_span("GET /api/v1/items/{id}", {.kind = SpanKind::kServer});
    s.end();
  }
}
BENCHMARK(BM_Span_Sampled);

}  // namespace

BENCHMARK_MAIN();
