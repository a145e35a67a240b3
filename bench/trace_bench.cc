// Benchmarks of vigil::trace (issue 3 section 8). opentelemetry-cpp is not packaged by Debian, so
// its figures in bench/README.md are the ones quoted in the issue, not measured here.
#include <benchmark/benchmark.h>

#include <atomic>

#include "vigil/trace/processor.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/tracer.h"

namespace {

using namespace vigil::trace;

// Drops everything: measures the recording side and the hand-off only.
class NullExporter : public SpanExporter {
 public:
  ExportResult export_spans(std::span<const SpanData* const>, Deadline) override {
    return ExportResult::success();
  }
};

TracerProvider& batch_provider() {
  static TracerProvider* p = [] {
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("bench")}});
    o.processors.push_back(std::make_unique<BatchSpanProcessor>(
        std::make_unique<NullExporter>(),
        BatchSpanProcessorOptions{.max_queue_size = 65536,
                                  .schedule_delay = std::chrono::milliseconds(5),
                                  .max_export_batch_size = 4096}));
    return new TracerProvider(std::move(o));
  }();
  return *p;
}

TracerProvider& off_provider() {
  static TracerProvider* p = [] {
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("bench")}});
    o.sampler = always_off();
    o.processors.push_back(std::make_unique<BatchSpanProcessor>(std::make_unique<NullExporter>()));
    return new TracerProvider(std::move(o));
  }();
  return *p;
}

void BM_SampledSpan3Attributes(benchmark::State& state) {
  Tracer& t = batch_provider().tracer("bench");
  for (auto _ : state) {
    Span s = t.start_span("operation");
    s.set_attribute("http.method", "GET");
    s.set_attribute("http.status_code", 200);
    s.set_attribute("cache.hit", true);
  }
}
BENCHMARK(BM_SampledSpan3Attributes)->Threads(1)->Threads(2);

void BM_ParentAndActiveChild(benchmark::State& state) {
  Tracer& t = batch_provider().tracer("bench");
  for (auto _ : state) {
    Span parent = t.start_span("parent");
    Span child = t.start_span("child");
  }
}
BENCHMARK(BM_ParentAndActiveChild)->Threads(1)->Threads(2);

void BM_UnsampledSpan(benchmark::State& state) {
  Tracer& t = off_provider().tracer("bench");
  for (auto _ : state) {
    Span s = t.start_span("operation");
    s.set_attribute("http.method", "GET");
  }
}
BENCHMARK(BM_UnsampledSpan);

void BM_DisabledTracer(benchmark::State& state) {
  static auto noop = TracerProvider::noop();
  Tracer& t = noop->tracer("bench");
  for (auto _ : state) {
    Span s = t.start_span("operation");
    s.set_attribute("http.method", "GET");
  }
}
BENCHMARK(BM_DisabledTracer);

void BM_ParseTraceparent(benchmark::State& state) {
  for (auto _ : state) {
    auto c = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ParseTraceparent);

void BM_InjectTraceContext(benchmark::State& state) {
  auto p = trace_context_propagator();
  Context ctx;
  ctx.span = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  HeaderMapCarrier out;
  for (auto _ : state) {
    p->inject(ctx, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_InjectTraceContext);

}  // namespace

BENCHMARK_MAIN();
