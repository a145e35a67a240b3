// Prometheus remote write: the cost of one export's encoding (WriteRequest protobuf + snappy, all
// requests of 2000 samples) of a 10,000-series snapshot, and bytes per series compressed and
// not. vigil writes the protobuf wire format itself; BM_RemoteWriteLiteRuntime builds the same
// requests with the protoc-generated lite classes (proto/prometheus/) for comparison. The
// network round trip is not measured. Figures in bench/README.md.
#include <benchmark/benchmark.h>
#include <snappy.h>

#include <string>
#include <vector>

#include "prometheus/remote.pb.h"
#include "remote_write_encoding.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace vigil;

// 20 services x 10 pods x 5 methods x 5 codes x (a request counter, a gauge) = 10,000 series,
// labels code, method, pod, service (sorted as written), plus external labels.
struct Flat {
  metrics::Registry registry;
  Flat() {
    auto& requests =
        registry.counter("http_requests", "Requests served", {"code", "method", "pod", "service"});
    auto& inflight = registry.gauge("http_inflight_requests", "Requests in flight",
                                    {"code", "method", "pod", "service"});
    const char* methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    const char* codes[] = {"200", "201", "404", "500", "503"};
    double v = 1;
    for (int s = 0; s < 20; ++s) {
      const std::string service = "service-" + std::to_string(s);
      for (int p = 0; p < 10; ++p) {
        const std::string pod = service + "-7d9f8b6c4-" + std::to_string(10000 + p * 37);
        for (const char* m : methods) {
          for (const char* c : codes) {
            requests.labels(c, m, pod, service).inc(v += 17.25);
            inflight.labels(c, m, pod, service).set(v / 1000);
          }
        }
      }
    }
  }
};

// 9,000 counter series and 1,000 histograms of 10 buckets (13 remote write series each):
// 10,000 snapshot series, 22,000 remote write series.
struct Mixed {
  metrics::Registry registry;
  Mixed() {
    auto& requests =
        registry.counter("http_requests", "Requests served", {"code", "method", "pod", "service"});
    auto& latency =
        registry.histogram("http_request_duration_seconds", "Latency", {"method", "pod", "service"},
                           {.buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}});
    const char* methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    double v = 1;
    for (int s = 0; s < 20; ++s) {
      const std::string service = "service-" + std::to_string(s);
      for (int p = 0; p < 10; ++p) {
        const std::string pod = service + "-7d9f8b6c4-" + std::to_string(10000 + p * 37);
        for (int i = 0; i < 45; ++i) {
          requests.labels(std::to_string(200 + i), methods[i % 5], pod, service).inc(v += 3.5);
        }
        for (const char* m : methods) {
          auto h = latency.labels(m, pod, service);
          for (int k = 0; k < 20; ++k) h.observe(0.001 * (k * k + s + p));
        }
      }
    }
  }
};

exporters::detail::RemoteWriteEncoding encoding() {
  exporters::detail::RemoteWriteEncoding e;
  e.external_labels = {{"cluster", "eu-west-1"}, {"replica", "a"}};
  return e;
}

// Compress = false: the protobuf alone (the bodies are then the uncompressed requests).
template <class Workload, bool Compress = true>
void BM_RemoteWriteEncode(benchmark::State& state) {
  Workload w;
  exporters::MetricsSnapshot snapshot = exporters::collect_snapshot(w.registry);
  auto options = encoding();
  options.compress = Compress;
  exporters::detail::RemoteWriteEncoder encoder(options);
  std::vector<exporters::detail::RemoteWriteBatch> batches;
  std::size_t n = 0;
  for (auto _ : state) {
    snapshot.timestamp += 10;  // every export a new time, as in service
    n = encoder.encode(snapshot, batches);
    benchmark::DoNotOptimize(batches.data());
  }
  std::size_t raw = 0;
  std::size_t compressed = 0;
  std::size_t series = 0;
  for (std::size_t i = 0; i < n; ++i) {
    raw += batches[i].raw_bytes;
    compressed += batches[i].body.size();
    series += batches[i].series;
  }
  state.counters["snapshot_series"] = static_cast<double>(snapshot.series());
  state.counters["rw_series"] = static_cast<double>(series);
  state.counters["requests"] = static_cast<double>(n);
  state.counters["raw_B_per_series"] = static_cast<double>(raw) / static_cast<double>(series);
  state.counters["snappy_B_per_series"] =
      static_cast<double>(compressed) / static_cast<double>(series);
  state.counters["ratio"] = static_cast<double>(raw) / static_cast<double>(compressed);
}
BENCHMARK_TEMPLATE(BM_RemoteWriteEncode, Flat)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RemoteWriteEncode, Mixed)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RemoteWriteEncode, Flat, false)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_RemoteWriteEncode, Mixed, false)->Unit(benchmark::kMillisecond);

// The same 10,000 flat series through the generated lite classes: a WriteRequest per 2000
// series, labels set from the same sorted layout, SerializeToString, snappy.
void BM_RemoteWriteLiteRuntime(benchmark::State& state) {
  Flat w;
  exporters::MetricsSnapshot snapshot = exporters::collect_snapshot(w.registry);
  std::string raw;
  std::string body;
  std::size_t bytes = 0;
  for (auto _ : state) {
    snapshot.timestamp += 10;
    const auto ms = static_cast<int64_t>(snapshot.timestamp * 1000);
    prometheus::WriteRequest req;
    bytes = 0;
    const auto flush = [&] {
      req.SerializeToString(&raw);
      body.clear();
      snappy::Compress(raw.data(), raw.size(), &body);
      bytes += body.size();
      req.Clear();
    };
    for (const auto& f : snapshot.families) {
      const std::string name = f.name + (f.type == metrics::MetricType::kCounter ? "_total" : "");
      for (const auto& p : f.points) {
        prometheus::TimeSeries* ts = req.add_timeseries();
        auto* l = ts->add_labels();
        l->set_name("__name__");
        l->set_value(name);
        l = ts->add_labels();
        l->set_name("cluster");
        l->set_value("eu-west-1");
        for (std::size_t i = 0; i < f.label_names.size(); ++i) {
          if (i == 3) {  // sorted: ..., pod, replica, service
            l = ts->add_labels();
            l->set_name("replica");
            l->set_value("a");
          }
          l = ts->add_labels();
          l->set_name(f.label_names[i]);
          l->set_value(p.label_values[i]);
        }
        auto* s = ts->add_samples();
        s->set_value(p.value);
        s->set_timestamp(ms);
        if (req.timeseries_size() == 2000) flush();
      }
    }
    if (req.timeseries_size() > 0) flush();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["snappy_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RemoteWriteLiteRuntime)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
