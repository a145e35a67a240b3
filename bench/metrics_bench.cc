// Metrics hot paths and exposition, vigil next to prometheus-cpp (the peer library) in the same
// binary. Figures are recorded in bench/README.md. Run:
//   build/release/bench/metrics_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <vector>

#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

#ifdef VIGIL_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>
#endif

namespace {

using namespace vigil::metrics;

const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// ---------------------------------------------------------------- vigil

Registry& vigil_registry() {
  static Registry* r = new Registry;
  return *r;
}

void BM_Vigil_CounterInc(benchmark::State& state) {
  static Counter c = vigil_registry().counter("bench_counter_total", "c").get();
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_Vigil_CounterInc)->Threads(1)->Threads(2);

void BM_Vigil_GaugeSet(benchmark::State& state) {
  static Gauge g = vigil_registry().gauge("bench_gauge", "g").get();
  double v = 0;
  for (auto _ : state) g.set(v += 1);
}
BENCHMARK(BM_Vigil_GaugeSet)->Threads(1)->Threads(2);

void BM_Vigil_HistogramObserve(benchmark::State& state) {
  static Histogram h =
      vigil_registry().histogram("bench_histogram_seconds", "h", {}, {.buckets = kBuckets}).get();
  double v = 0;
  for (auto _ : state) {
    h.observe(v);
    v = v > 12 ? 0 : v + 0.37;  // walks every bucket
  }
}
BENCHMARK(BM_Vigil_HistogramObserve)->Threads(1)->Threads(2);

void BM_Vigil_SummaryObserve(benchmark::State& state) {
  static Summary s = vigil_registry().summary("bench_summary_seconds", "s").get();
  double v = 0;
  for (auto _ : state) {
    s.observe(v);
    v = v > 12 ? 0.001 : v * 1.01 + 0.001;
  }
}
BENCHMARK(BM_Vigil_SummaryObserve)->Threads(1)->Threads(2);

void BM_Vigil_Lookup2Labels(benchmark::State& state) {
  static Family<Counter>& f =
      vigil_registry().counter("bench_lookup_total", "l", {"method", "path"});
  f.labels("GET", "/api/v1/users").inc();
  const std::string method = "GET", path = "/api/v1/users";
  for (auto _ : state) {
    Counter c = f.labels(method, path);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_Vigil_Lookup2Labels)->Threads(1)->Threads(2);

void BM_Vigil_LookupAndInc(benchmark::State& state) {
  static Family<Counter>& f =
      vigil_registry().counter("bench_lookup_inc_total", "l", {"method", "path"});
  const std::string method = "GET", path = "/api/v1/users";
  for (auto _ : state) f.labels(method, path).inc();
}
BENCHMARK(BM_Vigil_LookupAndInc);

void fill_vigil(Registry& r, int series) {
  auto& f = r.counter("bench_expo_total", "Exposition benchmark", {"method", "path"},
                      {.cardinality_limit = 1'000'000});
  for (int i = 0; i < series; ++i) {
    f.labels(i % 2 ? "GET" : "POST", "/api/v1/item/" + std::to_string(i)).inc(i);
  }
}

void BM_Vigil_Exposition100k(benchmark::State& state) {
  Registry r;
  fill_vigil(r, 100000);  // (cardinality limit raised below)
  std::string out;
  for (auto _ : state) {
    out.clear();
    serialize(r, Format::kPrometheusText, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_Vigil_Exposition100k)->Unit(benchmark::kMillisecond);

void BM_Vigil_ExpositionOpenMetrics100k(benchmark::State& state) {
  Registry r;
  fill_vigil(r, 100000);  // (cardinality limit raised below)
  std::string out;
  for (auto _ : state) {
    out.clear();
    serialize(r, Format::kOpenMetrics, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Vigil_ExpositionOpenMetrics100k)->Unit(benchmark::kMillisecond);

size_t heap_in_use() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

void BM_Vigil_MemoryPerSeries(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto r = std::make_unique<Registry>();
    auto& f =
        r->counter("bench_memory_total", "m", {"method", "path"}, {.cardinality_limit = 1'000'000});
    std::vector<std::string> paths;
    for (int i = 0; i < 100000; ++i) paths.push_back("/api/v1/item/" + std::to_string(i));
    state.ResumeTiming();
    const size_t before = heap_in_use();
    for (int i = 0; i < 100000; ++i) f.labels("GET", paths[static_cast<size_t>(i)]).inc();
    const size_t after = heap_in_use();
    state.counters["bytes_per_series"] = static_cast<double>(after - before) / 100000.0;
  }
}
BENCHMARK(BM_Vigil_MemoryPerSeries)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------- prometheus-cpp

#ifdef VIGIL_BENCH_PROMETHEUS_CPP
prometheus::Registry& prom_registry() {
  static auto* r = new prometheus::Registry;
  return *r;
}

void BM_PromCpp_CounterInc(benchmark::State& state) {
  static auto& c =
      prometheus::BuildCounter().Name("bench_counter_total").Register(prom_registry()).Add({});
  for (auto _ : state) c.Increment();
}
BENCHMARK(BM_PromCpp_CounterInc)->Threads(1)->Threads(2);

void BM_PromCpp_GaugeSet(benchmark::State& state) {
  static auto& g = prometheus::BuildGauge().Name("bench_gauge").Register(prom_registry()).Add({});
  double v = 0;
  for (auto _ : state) g.Set(v += 1);
}
BENCHMARK(BM_PromCpp_GaugeSet)->Threads(1)->Threads(2);

void BM_PromCpp_HistogramObserve(benchmark::State& state) {
  static auto& h = prometheus::BuildHistogram()
                       .Name("bench_histogram_seconds")
                       .Register(prom_registry())
                       .Add({}, prometheus::Histogram::BucketBoundaries(kBuckets));
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);
    v = v > 12 ? 0 : v + 0.37;
  }
}
BENCHMARK(BM_PromCpp_HistogramObserve)->Threads(1)->Threads(2);

void BM_PromCpp_SummaryObserve(benchmark::State& state) {
  static auto& s = prometheus::BuildSummary()
                       .Name("bench_summary_seconds")
                       .Register(prom_registry())
                       .Add({}, prometheus::Summary::Quantiles{
                                    {0.5, 0.05}, {0.9, 0.01}, {0.95, 0.005}, {0.99, 0.001}});
  double v = 0;
  for (auto _ : state) {
    s.Observe(v);
    v = v > 12 ? 0.001 : v * 1.01 + 0.001;
  }
}
BENCHMARK(BM_PromCpp_SummaryObserve)->Threads(1)->Threads(2);

void BM_PromCpp_Lookup2Labels(benchmark::State& state) {
  static auto& f = prometheus::BuildCounter().Name("bench_lookup_total").Register(prom_registry());
  f.Add({{"method", "GET"}, {"path", "/api/v1/users"}}).Increment();
  const std::string method = "GET", path = "/api/v1/users";
  for (auto _ : state) {
    auto& c = f.Add({{"method", method}, {"path", path}});
    benchmark::DoNotOptimize(&c);
  }
}
BENCHMARK(BM_PromCpp_Lookup2Labels)->Threads(1)->Threads(2);

void BM_PromCpp_Exposition100k(benchmark::State& state) {
  prometheus::Registry r;
  auto& f = prometheus::BuildCounter().Name("bench_expo_total").Help("Exposition").Register(r);
  for (int i = 0; i < 100000; ++i) {
    f.Add({{"method", i % 2 ? "GET" : "POST"}, {"path", "/api/v1/item/" + std::to_string(i)}})
        .Increment(i);
  }
  prometheus::TextSerializer serializer;
  std::string out;
  for (auto _ : state) {
    out = serializer.Serialize(r.Collect());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_PromCpp_Exposition100k)->Unit(benchmark::kMillisecond);

void BM_PromCpp_MemoryPerSeries(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto r = std::make_unique<prometheus::Registry>();
    auto& f = prometheus::BuildCounter().Name("bench_memory_total").Register(*r);
    std::vector<std::string> paths;
    for (int i = 0; i < 100000; ++i) paths.push_back("/api/v1/item/" + std::to_string(i));
    state.ResumeTiming();
    const size_t before = heap_in_use();
    for (int i = 0; i < 100000; ++i) {
      f.Add({{"method", "GET"}, {"path", paths[static_cast<size_t>(i)]}}).Increment();
    }
    const size_t after = heap_in_use();
    state.counters["bytes_per_series"] = static_cast<double>(after - before) / 100000.0;
  }
}
BENCHMARK(BM_PromCpp_MemoryPerSeries)->Iterations(1)->Unit(benchmark::kMillisecond);
#endif

}  // namespace

BENCHMARK_MAIN();
