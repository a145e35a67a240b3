// Pushgateway export cost: the push body (Prometheus text format 0.0.4) of a 10,000-series
// snapshot, written by encode_pushgateway_body, next to collecting the snapshot and to the
// registry's own /metrics serialization of the same series. The network round trip is not
// measured. Figures in bench/README.md (Pushgateway section).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/exporters/pushgateway_exporter.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace vigil;

// 10,000 series: 5,000 counters, 3,000 gauges, 1,500 histograms (12 bounds), 500 summaries (4
// quantiles), each series with 3 labels (route, method, status) as an HTTP service has.
struct Fixture {
  metrics::Registry registry;
  exporters::MetricsSnapshot snapshot;
  exporters::PushgatewayExporterOptions options;

  Fixture() {
    const std::vector<std::string> labels = {"route", "method", "status"};
    auto& requests = registry.counter("http_requests_total", "Requests.", labels);
    auto& bytes = registry.counter("http_response_bytes_total", "Bytes.", labels);
    auto& inflight = registry.gauge("http_inflight_requests", "In flight.", labels);
    auto& latency = registry.histogram(
        "http_request_duration_seconds", "Latency.", labels,
        {.buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}});
    auto& tokens = registry.summary("llm_tokens", "Tokens.", labels);
    const char* methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    const char* statuses[] = {"200", "201", "400", "404", "500"};
    auto series = [&](int i) {
      return std::vector<std::string>{"/api/v1/resource_" + std::to_string(i / 25), methods[i % 5],
                                      statuses[(i / 5) % 5]};
    };
    auto views = [](const std::vector<std::string>& v) {
      return std::vector<std::string_view>(v.begin(), v.end());
    };
    for (int i = 0; i < 2500; ++i) {
      const auto l = series(i);
      const auto v = views(l);
      requests.labels(v).inc(i * 3 + 1);
      bytes.labels(v).inc(i * 1024.5);
    }
    for (int i = 0; i < 3000; ++i) {
      const auto l = series(i);
      inflight.labels(views(l)).set(i % 17);
    }
    for (int i = 0; i < 1500; ++i) {
      const auto l = series(i);
      auto h = latency.labels(views(l));
      for (int k = 0; k < 8; ++k) h.observe(0.003 * (k + 1) * (i % 7 + 1));
    }
    for (int i = 0; i < 500; ++i) {
      const auto l = series(i);
      auto s = tokens.labels(views(l));
      for (int k = 0; k < 8; ++k) s.observe(100 + k * i % 300);
    }
    snapshot = exporters::collect_snapshot(registry, {.exemplars = false});
    options.url = "http://127.0.0.1:9091";
    options.job = "bench";
    options.grouping_key = {{"instance", "host-1"}};
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void report(benchmark::State& state, std::size_t bytes, std::size_t series) {
  state.counters["series"] = static_cast<double>(series);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / static_cast<double>(series);
}

// The push body of one export (what export_metrics sends).
void BM_PushgatewayBody10k(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t bytes = 0;
  for (auto _ : state) {
    exporters::PushgatewayBody body = exporters::encode_pushgateway_body(f.snapshot, f.options);
    bytes = body.text.size();
    benchmark::DoNotOptimize(body);
  }
  report(state, bytes, f.snapshot.series());
}
BENCHMARK(BM_PushgatewayBody10k)->Unit(benchmark::kMillisecond);

// The same into a reused body (what the exporter does from its second export on).
void BM_PushgatewayBodyReused10k(benchmark::State& state) {
  Fixture& f = fixture();
  exporters::PushgatewayBody body;
  for (auto _ : state) {
    exporters::encode_pushgateway_body(f.snapshot, f.options, body);
    benchmark::DoNotOptimize(body.text.data());
  }
  report(state, body.text.size(), f.snapshot.series());
}
BENCHMARK(BM_PushgatewayBodyReused10k)->Unit(benchmark::kMillisecond);

// Collecting the registry into a snapshot (the engine's part of every export).
void BM_CollectSnapshot10k(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    auto s = exporters::collect_snapshot(f.registry, {.exemplars = false});
    benchmark::DoNotOptimize(s);
  }
  report(state, 0, f.snapshot.series());
}
BENCHMARK(BM_CollectSnapshot10k)->Unit(benchmark::kMillisecond);

// Peer: the registry's own Prometheus text serialization (/metrics) of the same series.
void BM_RegistryPrometheusText10k(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out = metrics::serialize(f.registry, metrics::Format::kPrometheusText);
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  report(state, bytes, f.snapshot.series());
}
BENCHMARK(BM_RegistryPrometheusText10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
