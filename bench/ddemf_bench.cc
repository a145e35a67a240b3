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

// One export's encoding by the exporter's encoder (its memory kept from the previous export, as
// in EmfExporter). Not inlined, so that callgrind can count it alone
// (--toggle-collect='*emf_export_encode*').
[[gnu::noinline]] std::size_t emf_export_encode(detail::EmfEncoder& encoder,
                                                const MetricsSnapshot& deltas,
                                                detail::EmfBatch& batch) {
  encoder.encode(deltas, batch);
  return batch.text.size();
}

void BM_EmfEncode10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const EmfExporterOptions o;
  detail::EmfEncoder encoder(o);
  detail::EmfBatch batch;
  encoder.encode(s, batch);  // the buffers grown by a first export
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = emf_export_encode(encoder, s, batch);
    benchmark::DoNotOptimize(batch.text.data());
  }
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / 10000.0;
  state.counters["documents"] = static_cast<double>(batch.documents.size());
}
BENCHMARK(BM_EmfEncode10k)->Unit(benchmark::kMillisecond);

// A new encoder every time (its memory allocated anew) and each document copied into its own
// string: detail::encode_emf, what the exporter did per export before the encoder was kept.
void BM_EmfEncodeFresh10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const EmfExporterOptions o;
  for (auto _ : state) {
    auto out = detail::encode_emf(s, o);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EmfEncodeFresh10k)->Unit(benchmark::kMillisecond);

// What export_metrics does before any I/O: DeltaTracker::deltas_into on the cumulative
// snapshot (into the previous deltas), then the encoding.
void BM_EmfDeltaAndEncode10k(benchmark::State& state) {
  const MetricsSnapshot s = snapshot_10k();
  const EmfExporterOptions o;
  DeltaTracker tracker;
  MetricsSnapshot deltas;
  detail::EmfEncoder encoder(o);
  detail::EmfBatch batch;
  tracker.deltas_into(s, deltas);
  encoder.encode(deltas, batch);
  for (auto _ : state) {
    tracker.deltas_into(s, deltas);
    emf_export_encode(encoder, deltas, batch);
    benchmark::DoNotOptimize(batch.text.data());
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
