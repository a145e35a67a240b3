// OTLP metric export cost: one export of a 10,000-series snapshot (counters, gauges and
// histograms with 10 bounds, 3 labels per series) encoded into an ExportMetricsServiceRequest
// (protobuf via the protoc-generated classes, and OTLP/JSON), with delta temporality
// (DeltaTracker + encoding) and gzip. The network round trip is not measured. Figures in
// bench/README.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/detail/gzip.h"
#include "otlp_metric_encoding.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/resource.h"

namespace {

using namespace vigil;
using exporters::MetricsSnapshot;

// `series` series in families of 100: counter, gauge, histogram, counter, ...
MetricsSnapshot make_snapshot(int series, double timestamp) {
  MetricsSnapshot s;
  s.timestamp = timestamp;
  const int families = (series + 99) / 100;
  for (int f = 0; f < families; ++f) {
    exporters::MetricFamily& fam = s.families.emplace_back();
    const int kind = f % 4;
    fam.type = kind == 1   ? metrics::MetricType::kGauge
               : kind == 2 ? metrics::MetricType::kHistogram
                           : metrics::MetricType::kCounter;
    fam.name = "app_metric_" + std::to_string(f);
    fam.help = "A metric of the benchmark";
    fam.unit = kind == 2 ? "seconds" : "";
    fam.label_names = {"service", "route", "status"};
    if (kind == 2) fam.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    for (int i = 0; i < 100 && f * 100 + i < series; ++i) {
      exporters::MetricPoint& p = fam.points.emplace_back();
      p.label_values = {"checkout", "/api/v1/route/" + std::to_string(i % 25),
                        std::to_string(200 + i % 4)};
      p.start_time = 1700000000;
      p.value = 1000 + i;
      if (kind == 2) {
        uint64_t c = 0;
        for (std::size_t b = 0; b <= fam.bounds.size(); ++b) p.buckets.push_back(c += 3 + b);
        p.count = c;
        p.sum = 12.5;
      }
    }
  }
  return s;
}

struct Setup {
  trace::Resource resource{{{"service.name", std::string("checkout")},
                            {"service.version", std::string("1.4.2")},
                            {"host.name", std::string("node-17")}}};
  exporters::detail::MetricEncoding how;
  MetricsSnapshot snapshot;
  explicit Setup(int series) : snapshot(make_snapshot(series, 1700000100)) {
    how.resource = &resource;
    how.default_start = 1700000000;
  }
};

void BM_OtlpMetricEncodeProtobuf(benchmark::State& state) {
  Setup s(static_cast<int>(state.range(0)));
  std::string out, error;
  for (auto _ : state) {
    exporters::detail::encode_metrics_protobuf(s.snapshot, s.how, out, error);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_series"] =
      static_cast<double>(out.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_OtlpMetricEncodeProtobuf)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_OtlpMetricEncodeJson(benchmark::State& state) {
  Setup s(static_cast<int>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    exporters::detail::encode_metrics_json(s.snapshot, s.how, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_series"] =
      static_cast<double>(out.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_OtlpMetricEncodeJson)->Arg(10000)->Unit(benchmark::kMillisecond);

// Delta temporality: the DeltaTracker's pass plus the protobuf encoding, as each export does.
void BM_OtlpMetricDeltaProtobuf(benchmark::State& state) {
  Setup s(static_cast<int>(state.range(0)));
  exporters::DeltaTracker tracker;
  (void)tracker.deltas(s.snapshot);
  std::string out, error;
  for (auto _ : state) {
    const MetricsSnapshot deltas = tracker.deltas(s.snapshot);
    s.how.deltas = &deltas;
    exporters::detail::encode_metrics_protobuf(s.snapshot, s.how, out, error);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OtlpMetricDeltaProtobuf)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_OtlpMetricGzip(benchmark::State& state) {
  Setup s(static_cast<int>(state.range(0)));
  std::string out, error;
  if (state.range(1) == 0) {
    exporters::detail::encode_metrics_protobuf(s.snapshot, s.how, out, error);
  } else {
    exporters::detail::encode_metrics_json(s.snapshot, s.how, out);
  }
  std::size_t compressed = 0;
  for (auto _ : state) {
    auto z = vigil::detail::gzip_compress(out);
    compressed = z->size();
    benchmark::DoNotOptimize(z->data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["gzip_bytes_per_series"] =
      static_cast<double>(compressed) / static_cast<double>(state.range(0));
}
// Arg 2: 0 protobuf, 1 JSON.
BENCHMARK(BM_OtlpMetricGzip)->Args({10000, 0})->Args({10000, 1})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
