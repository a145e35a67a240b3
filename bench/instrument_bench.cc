// One-call instrumentation (issue 14, section 2): increment("name", {labels}) of an existing
// series against a held handle, vigil's Family::labels lookup and prometheus-cpp's Family::Add
// lookup, in the same binary; and the cost of instrument_operation (trace/operation.h).
#include <benchmark/benchmark.h>

#include <string>

#include "vigil/metrics/by_name.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/operation.h"
#include "vigil/trace/tracer.h"

#if VIGIL_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#endif

namespace {

using vigil::metrics::Counter;
using vigil::metrics::NamedMetrics;
using vigil::metrics::Registry;

Registry& registry() {
  static auto* r = new Registry;
  return *r;
}
NamedMetrics& named() {
  static auto* m = new NamedMetrics(registry());
  return *m;
}

// The guide's call: a dotted name and one label.
void BM_ByName_Increment1Label(benchmark::State& state) {
  named().increment("playbook.bullets.added", {{"domain", "arithmetic"}});
  for (auto _ : state) named().increment("playbook.bullets.added", {{"domain", "arithmetic"}});
}
BENCHMARK(BM_ByName_Increment1Label)->Threads(1)->Threads(2);

void BM_ByName_IncrementNoLabels(benchmark::State& state) {
  for (auto _ : state) named().increment("curator.dedup.hits");
}
BENCHMARK(BM_ByName_IncrementNoLabels)->Threads(1)->Threads(2);

void BM_ByName_Increment2Labels(benchmark::State& state) {
  const std::string method = "GET", path = "/api/v1/users";
  for (auto _ : state) named().increment("http.requests", {{"method", method}, {"path", path}});
}
BENCHMARK(BM_ByName_Increment2Labels)->Threads(1)->Threads(2);

// The global free function (NamedMetrics::global() on Registry::global()).
void BM_ByName_GlobalIncrement1Label(benchmark::State& state) {
  for (auto _ : state) vigil::metrics::increment("bench.global", {{"domain", "arithmetic"}});
}
BENCHMARK(BM_ByName_GlobalIncrement1Label);

void BM_ByName_Observe1Label(benchmark::State& state) {
  double v = 0.001;
  for (auto _ : state) {
    named().observe("llm.latency", v, {{"provider", "openai"}});
    v = v > 10 ? 0.001 : v * 1.01;
  }
}
BENCHMARK(BM_ByName_Observe1Label);

void BM_ByName_Timer(benchmark::State& state) {
  for (auto _ : state) {
    auto t = named().timer("curator.apply_delta");
  }
}
BENCHMARK(BM_ByName_Timer);

// Baselines: a held handle, and vigil's own label lookup then inc.
void BM_Handle_Inc(benchmark::State& state) {
  static Counter c = registry().counter("bench_handle_total", "h", {"domain"}).labels("arithmetic");
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_Handle_Inc)->Threads(1)->Threads(2);

void BM_Family_LabelsInc1Label(benchmark::State& state) {
  static auto& f = registry().counter("bench_family_total", "f", {"domain"});
  for (auto _ : state) f.labels("arithmetic").inc();
}
BENCHMARK(BM_Family_LabelsInc1Label)->Threads(1)->Threads(2);

#if VIGIL_BENCH_PROMETHEUS_CPP
prometheus::Registry& prom_registry() {
  static auto* r = new prometheus::Registry;
  return *r;
}

// prometheus-cpp's way to a series by labels: Family::Add (a std::map of strings, a mutex).
void BM_PromCpp_FamilyAddIncrement1Label(benchmark::State& state) {
  static auto& f = prometheus::BuildCounter().Name("bench_add_total").Register(prom_registry());
  for (auto _ : state) f.Add({{"domain", "arithmetic"}}).Increment();
}
BENCHMARK(BM_PromCpp_FamilyAddIncrement1Label)->Threads(1)->Threads(2);
#endif

// instrument_operation: metrics only (tracing not set up: the no-op global provider).
void BM_Operation_NoTracing(benchmark::State& state) {
  const vigil::trace::OperationOptions o{.metrics = &named()};
  for (auto _ : state) {
    vigil::trace::instrument_operation(
        "intervention", "do_intervention", [] {}, o);
  }
}
BENCHMARK(BM_Operation_NoTracing);

vigil::trace::TracerProvider& recording_provider() {
  static auto* p = new vigil::trace::TracerProvider(vigil::trace::TracerProviderOptions{});
  return *p;  // records every span, with no processor: the span's own cost, no export
}

// The span alone (start, two attributes, status, end), for comparison.
void BM_Operation_SpanAlone(benchmark::State& state) {
  vigil::trace::Tracer& tracer = recording_provider().tracer("bench");
  for (auto _ : state) {
    vigil::trace::Span span = tracer.start_span("intervention.do_intervention");
    span.set_attribute("operation.type", "intervention")
        .set_attribute("code.function.name", "do_intervention");
    span.set_status(vigil::trace::StatusCode::kOk);
  }
}
BENCHMARK(BM_Operation_SpanAlone);

void BM_Operation_RecordingSpan(benchmark::State& state) {
  const vigil::trace::OperationOptions o{.tracer = &recording_provider().tracer("bench"),
                                         .metrics = &named()};
  for (auto _ : state) {
    vigil::trace::instrument_operation(
        "intervention", "do_intervention", [] {}, o);
  }
}
BENCHMARK(BM_Operation_RecordingSpan);

void BM_Operation_RecordingSpanAndMemory(benchmark::State& state) {
  const vigil::trace::OperationOptions o{
      .record_memory = true, .tracer = &recording_provider().tracer("bench"), .metrics = &named()};
  for (auto _ : state) {
    vigil::trace::instrument_operation(
        "intervention", "do_intervention", [] {}, o);
  }
}
BENCHMARK(BM_Operation_RecordingSpanAndMemory);

}  // namespace

BENCHMARK_MAIN();
