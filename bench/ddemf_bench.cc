// Encoding cost of one export of 10,000 series for the CloudWatch EMF exporter and the Datadog
// HTTP API exporter (v2 series JSON, and JSON + gzip), with the bytes each series costs. No I/O
// is measured. Figures in bench/README.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/detail/gzip.h"
#include "vigil/exporters/datadog_exporter.h"
#include "vigil/exporters/emf_exporter.h"
#include "vigil/exporters/metric_exporter.h"

namespace {

using namespace vigil::exporters;

// 100 families x 100 series (labels service, method, status): 40 counters, 40 gauges and 20
// histograms with 10 buckets, as the deltas a DeltaTracker hands over.
MetricsSnapshot snapshot_10k() {
  MetricsSnapshot s;
  s.timestamp = 1'700'000'000.25;
  const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
  for (int f = 0; f < 100; ++f) {
    MetricFamily fam;
    fam.label_names = {"service", "method", "status"};
    if (f < 40) {
      fam.name = "requests_" + std::to_string(f);
      fam.type = vigil::metrics::MetricType::kCounter;
    } else if (f < 80) {
      fam.name = "queue_bytes_" + std::to_string(f);
      fam.unit = "bytes";
      fam.type = vigil::metrics::MetricType::kGauge;
    } else {
      fam.name = "latency_seconds_" + std::to_string(f);
      fam.unit = "seconds";
      fam.type = vigil::metrics::MetricType::kHistogram;
      fam.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    }
    for (int i = 0; i < 100; ++i) {
      MetricPoint p;
      p.label_values = {"svc-" + std::to_string(i / 20), methods[i % 4],
                        std::to_string(200 + i % 5)};
      p.value = 17.0 + i;
      p.start_time = s.timestamp - 10;
      if (fam.type == vigil::metrics::MetricType::kHistogram) {
        uint64_t cum = 0;
        for (int b = 0; b <= 10; ++b) {
          cum += static_cast<uint64_t>((b * 7 + i) % 5);
          p.buckets.push_back(cum);
        }
        p.count = cum;
        p.sum = 0.3 * static_cast<double>(cum);
      }
      fam.points.push_back(std::move(p));
    }
    s.families.push_back(std::move(fam));
  }
  return s;
}

void BM_EmfEncode10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const EmfExporterOptions o;
  std::size_t bytes = 0, docs = 0;
  for (auto _ : state) {
    auto out = detail::encode_emf(s, o);
    docs = out.size();
    bytes = 0;
    for (const auto& d : out) bytes += d.json.size() + 1;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / 10000.0;
  state.counters["documents"] = static_cast<double>(docs);
}
BENCHMARK(BM_EmfEncode10k)->Unit(benchmark::kMillisecond);

// With the delta computation the exporter does first (DeltaTracker on a cumulative snapshot).
void BM_EmfDeltaAndEncode10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const EmfExporterOptions o;
  DeltaTracker tracker;
  (void)tracker.deltas(s);
  for (auto _ : state) {
    auto out = detail::encode_emf(tracker.deltas(s), o);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EmfDeltaAndEncode10k)->Unit(benchmark::kMillisecond);

DatadogExporterOptions dd_options() {
  DatadogExporterOptions o;
  o.api_key = "k";
  o.tags = {"env:prod"};
  o.host = "node-17";
  return o;
}

void BM_DatadogJson10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const DatadogExporterOptions o = dd_options();
  std::vector<uint64_t> points;
  std::size_t bytes = 0, series = 0;
  for (auto _ : state) {
    auto bodies = detail::encode_datadog_series(s, o, o.max_uncompressed_bytes, points);
    bytes = 0;
    series = 0;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      bytes += bodies[i].size();
      series += points[i];
    }
    benchmark::DoNotOptimize(bodies.data());
  }
  // Per snapshot series (a histogram sends .count and .sum: `series` counts both).
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / 10000.0;
  state.counters["datadog_series"] = static_cast<double>(series);
}
BENCHMARK(BM_DatadogJson10k)->Unit(benchmark::kMillisecond);

void BM_DatadogJsonGzip10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const DatadogExporterOptions o = dd_options();
  std::vector<uint64_t> points;
  std::size_t bytes = 0, requests = 0;
  for (auto _ : state) {
    auto bodies = detail::encode_datadog_series(s, o, o.max_uncompressed_bytes, points);
    bytes = 0;
    requests = bodies.size();
    for (const auto& b : bodies) {
      auto z = vigil::detail::gzip_compress(b);
      bytes += z ? z->size() : 0;
      benchmark::DoNotOptimize(z);
    }
  }
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / 10000.0;
  state.counters["requests"] = static_cast<double>(requests);
}
BENCHMARK(BM_DatadogJsonGzip10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
