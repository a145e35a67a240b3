// The push export engine's cost (issue 12, section 5): recording a counter and a histogram with
// no engine, and with an engine collecting every 10 ms into two exporters that encode the whole
// snapshot as text in the background (recording should cost the same: collection is the
// registry's ordinary read and exporters work on the copy); and collect_snapshot /
// DeltaTracker over 10,000 series (time per series). Figures in bench/README.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace vigil;

// An exporter that does what a real one does with a snapshot (one text line per point) and
// drops the text.
class EncodingExporter final : public exporters::MetricExporter {
 public:
  explicit EncodingExporter(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  exporters::ExportOutcome export_metrics(const exporters::MetricsSnapshot& s,
                                          exporters::ExportDeadline) override {
    text_.clear();
    for (const auto& f : s.families) {
      for (const auto& p : f.points) {
        text_ += f.name;
        for (const auto& v : p.label_values) {
          text_ += ',';
          text_ += v;
        }
        text_ += ' ';
        text_ += std::to_string(p.value + static_cast<double>(p.count));
        text_ += '\n';
      }
    }
    benchmark::DoNotOptimize(text_.data());
    return {.ok = true, .points = s.series(), .bytes = text_.size(), .requests = 1};
  }

 private:
  std::string name_;
  std::string text_;
};

// A registry of `series` series: 50% counters (2 labels), 30% gauges, 20% histograms (12
// buckets), like a service's own metrics.
void populate(metrics::Registry& r, int series) {
  const metrics::MetricOptions big{.cardinality_limit = 100'000};
  auto& counters = r.counter("requests_total", "Requests", {"route", "code"}, big);
  auto& gauges = r.gauge("queue_depth", "Depth", {"queue"}, big);
  auto& histograms = r.histogram("latency_seconds", "Latency", {"route"},
                                 {.buckets = metrics::default_buckets()}, big);
  const int nc = series / 2;
  const int ng = series * 3 / 10;
  const int nh = series - nc - ng;
  for (int i = 0; i < nc; ++i) {
    counters.labels("/route/" + std::to_string(i / 5), std::to_string(200 + i % 5))
        .inc(static_cast<double>(i));
  }
  for (int i = 0; i < ng; ++i) gauges.labels("q" + std::to_string(i)).set(i);
  for (int i = 0; i < nh; ++i) {
    auto h = histograms.labels("/route/" + std::to_string(i));
    h.observe(0.001 * i);
  }
}

// The engine in the background (arg 1) or none (arg 0), over a registry of 1,000 series plus
// the instruments being recorded.
struct Setup {
  metrics::Registry registry;
  std::unique_ptr<exporters::PeriodicExporter> engine;
  explicit Setup(bool with_engine) {
    populate(registry, 1000);
    if (!with_engine) return;
    engine = std::make_unique<exporters::PeriodicExporter>(
        registry, exporters::PeriodicExporterOptions{.interval = std::chrono::milliseconds(10),
                                                     .timeout = std::chrono::seconds(1),
                                                     .self_metrics = &registry});
    engine->add(std::make_unique<EncodingExporter>("a"));
    engine->add(std::make_unique<EncodingExporter>("b"));
    engine->start();
  }
  ~Setup() {
    if (engine) engine->shutdown(std::chrono::seconds(5));
  }
  uint64_t exports() const {
    uint64_t n = 0;
    if (engine) {
      for (const auto& s : engine->status()) n += s.exports;
    }
    return n;
  }
};

void BM_CounterInc(benchmark::State& state) {
  Setup setup(state.range(0) == 1);
  auto c = setup.registry.counter("hot_total", "Hot").get();
  for (auto _ : state) c.inc();
  benchmark::DoNotOptimize(c.value());
  state.counters["exports"] = static_cast<double>(setup.exports());
  state.SetLabel(state.range(0) == 1 ? "engine every 10 ms, 2 exporters" : "no engine");
}
BENCHMARK(BM_CounterInc)->Arg(0)->Arg(1);

void BM_HistogramObserve(benchmark::State& state) {
  Setup setup(state.range(0) == 1);
  auto h = setup.registry.histogram("hot_seconds", "Hot").get();
  double v = 0;
  for (auto _ : state) {
    h.observe(v);
    v += 0.0001;
    if (v > 2) v = 0;
  }
  state.counters["exports"] = static_cast<double>(setup.exports());
  state.SetLabel(state.range(0) == 1 ? "engine every 10 ms, 2 exporters" : "no engine");
}
BENCHMARK(BM_HistogramObserve)->Arg(0)->Arg(1);

constexpr int kSeries = 10'000;

void BM_CollectSnapshot10k(benchmark::State& state) {
  metrics::Registry r;
  populate(r, kSeries);
  const bool exemplars = state.range(0) == 1;
  std::size_t series = 0;
  for (auto _ : state) {
    auto s = exporters::collect_snapshot(r, {.exemplars = exemplars});
    series = s.series();
    benchmark::DoNotOptimize(s.families.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["per_series"] = benchmark::Counter(
      static_cast<double>(series),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CollectSnapshot10k)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_DeltaTracker10k(benchmark::State& state) {
  metrics::Registry r;
  populate(r, kSeries);
  const auto snapshot = exporters::collect_snapshot(r);
  exporters::DeltaTracker tracker;
  tracker.deltas(snapshot);
  for (auto _ : state) {
    auto d = tracker.deltas(snapshot);
    benchmark::DoNotOptimize(d.families.data());
  }
  state.counters["per_series"] = benchmark::Counter(
      static_cast<double>(snapshot.series()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DeltaTracker10k)->Unit(benchmark::kMicrosecond);

// deltas_into() with the previous output kept (as the exporters do).
void BM_DeltaTrackerInto10k(benchmark::State& state) {
  metrics::Registry r;
  populate(r, kSeries);
  const auto snapshot = exporters::collect_snapshot(r);
  exporters::DeltaTracker tracker;
  exporters::MetricsSnapshot d;
  tracker.deltas_into(snapshot, d);
  for (auto _ : state) {
    tracker.deltas_into(snapshot, d);
    benchmark::DoNotOptimize(d.families.data());
  }
  state.counters["per_series"] = benchmark::Counter(
      static_cast<double>(snapshot.series()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DeltaTrackerInto10k)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
