// Guide 004's production collector (issue 14, section 1): record_request of an existing series
// (the target: at most 100 ns), against the same histogram observation through vigil's
// Family::labels and through prometheus-cpp's Family::Add (the peer) in the same binary; the
// other record calls; summary().
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "vigil/metrics/business_metrics.h"
#include "vigil/metrics/production_collector.h"
#include "vigil/metrics/registry.h"

#if VIGIL_BENCH_PROMETHEUS_CPP
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#endif

namespace {

using namespace std::chrono_literals;
namespace vm = vigil::metrics;

vm::ProductionCollector& collector() {
  static auto* registry = new vm::Registry;
  static auto* c = [] {
    vm::ProductionCollectorOptions o;
    o.register_process_collector = false;
    return new vm::ProductionCollector(*registry, o);
  }();
  return *c;
}

// The guide's call: endpoint, provider, outcome, latency and a model label.
void BM_RecordRequest(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  double ms = 10;
  for (auto _ : state) {
    c.record_request("/chat", "anthropic", true, std::chrono::duration<double, std::milli>(ms),
                     {{"model", "claude-sonnet-4-5"}});
    ms = ms > 4000 ? 10 : ms * 1.07;
  }
}
BENCHMARK(BM_RecordRequest)->Threads(1)->Threads(2);

void BM_RecordRequestNoLabels(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) c.record_request("/chat", "anthropic", true, 123.4ms);
}
BENCHMARK(BM_RecordRequestNoLabels);

// The same observation written by hand: vigil's label lookup of four values, then observe.
void BM_VigilFamilyLabelsObserve(benchmark::State& state) {
  static vm::Registry registry;
  static auto& family = registry.histogram(
      "bench_seconds", "h", {"route", "system", "model", "error"},
      {.buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80}});
  double v = 0.01;
  for (auto _ : state) {
    family.labels("/chat", "anthropic", "claude-sonnet-4-5", "").observe(v);
    v = v > 4 ? 0.01 : v * 1.07;
  }
}
BENCHMARK(BM_VigilFamilyLabelsObserve);

void BM_RecordToolExecution(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) c.record_tool_execution("read_file", true, 45.2ms);
}
BENCHMARK(BM_RecordToolExecution);

void BM_ToolExecutionScope(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) {
    auto run = c.start_tool_execution("web_fetch");
  }
}
BENCHMARK(BM_ToolExecutionScope);

void BM_RecordCacheHit(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) c.record_cache_hit("tool_cache");
}
BENCHMARK(BM_RecordCacheHit);

void BM_RecordTokens(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) c.record_tokens("anthropic", "claude-sonnet-4-5", 812, 230);
}
BENCHMARK(BM_RecordTokens);

// A value past its label's cap: folded into "other" without a lock.
void BM_RecordRequestFolded(benchmark::State& state) {
  static auto* registry = new vm::Registry;
  static auto* c = [] {
    vm::ProductionCollectorOptions o;
    o.register_process_collector = false;
    o.caps.endpoints = 1;
    auto* p = new vm::ProductionCollector(*registry, o);
    p->record_request("/first", "p", true, 1ms);
    return p;
  }();
  for (auto _ : state) c->record_request("/chat", "anthropic", true, 123.4ms);
}
BENCHMARK(BM_RecordRequestFolded);

void BM_Summary(benchmark::State& state) {
  vm::ProductionCollector& c = collector();
  for (auto _ : state) benchmark::DoNotOptimize(c.summary());
}
BENCHMARK(BM_Summary)->Unit(benchmark::kMicrosecond);

// Guide 002's business metrics: one result into the history (full: the oldest is dropped).
void BM_BusinessRecord(benchmark::State& state) {
  static vm::BusinessMetrics business;
  for (auto _ : state) business.record_causal_inference_result(0.9, 4, 0.8, 0.35, 1 << 20);
}
BENCHMARK(BM_BusinessRecord);

// performance_summary over a full default history (1 MiB: 21,845 results).
void BM_PerformanceSummaryFullHistory(benchmark::State& state) {
  static vm::BusinessMetrics business;
  static const bool filled = [] {
    for (size_t i = 0; i < business.capacity(); ++i) {
      business.record_causal_inference_result(0.9, 4, 0.8, 0.35, 1 << 20);
    }
    return true;
  }();
  benchmark::DoNotOptimize(filled);
  for (auto _ : state) benchmark::DoNotOptimize(business.performance_summary(24));
}
BENCHMARK(BM_PerformanceSummaryFullHistory)->Unit(benchmark::kMicrosecond);

#if VIGIL_BENCH_PROMETHEUS_CPP
// The peer: prometheus-cpp's Family::Add (a std::map of labels) then Histogram::Observe.
void BM_PrometheusCpp_AddObserve(benchmark::State& state) {
  static prometheus::Registry registry;
  static auto& family =
      prometheus::BuildHistogram().Name("bench_seconds").Help("h").Register(registry);
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
  double v = 0.01;
  for (auto _ : state) {
    family
        .Add({{"route", "/chat"},
              {"system", "anthropic"},
              {"model", "claude-sonnet-4-5"},
              {"error", ""}},
             buckets)
        .Observe(v);
    v = v > 4 ? 0.01 : v * 1.07;
  }
}
BENCHMARK(BM_PrometheusCpp_AddObserve);
#endif

}  // namespace

BENCHMARK_MAIN();
