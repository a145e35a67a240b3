// Guardrails (issue 11, section 6): the cost of one check over live instruments, as far as the
// live source and the thresholds go: LiveSource::sample, the last 60 s of two cohorts, their
// snapshots and evaluate_thresholds. The monitor's whole check (statistics, audit) is measured
// by the monitor's benchmark. Figures in bench/README.md ("Guardrails"). Run:
//   build/release/bench/guardrail_bench --benchmark_repetitions=3
//   (add --benchmark_report_aggregates_only for the mean, median and stddev only)
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "vigil/guardrail/snapshot.h"
#include "vigil/guardrail/source.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace vigil;
using std::chrono::seconds;

const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const char* const kVersions[] = {"v1", "v2"};
const char* const kStatuses[] = {"success", "error", "timeout"};

// The shape: agent_requests_total{version, status[, route]} and
// agent_request_duration_seconds{version[, route]}, two cohorts, plus `noise` series in other
// families (the demo's registry has a few hundred).
struct Workload {
  Workload(int noise, int routes) {
    auto& requests =
        registry.counter("agent_requests_total", "Requests", {"version", "status", "route"});
    auto& latency = registry.histogram("agent_request_duration_seconds", "Latency",
                                       {"version", "route"}, {.buckets = kBuckets});
    for (int r = 0; r < routes; ++r) {
      const std::string route = "/v1/route" + std::to_string(r);
      for (const char* v : kVersions) {
        for (const char* s : kStatuses) counters.push_back(requests.labels(v, s, route));
        histograms.push_back(latency.labels(v, route));
      }
    }
    // Noise: counters and histograms in 10 other families.
    for (int i = 0; i < noise; ++i) {
      const std::string family = "noise_family_" + std::to_string(i % 10);
      if (i % 10 < 7) {
        registry.counter(family + "_total", "Noise", {"k"}).labels(std::to_string(i)).inc();
      } else {
        registry.histogram(family + "_seconds", "Noise", {"k"}, {.buckets = kBuckets})
            .labels(std::to_string(i))
            .observe(0.1);
      }
    }
    source = std::make_unique<guardrail::LiveSource>(
        guardrail::LiveSourceOptions{.registry = &registry,
                                     .requests = "agent_requests_total",
                                     .outcome_label = "status",
                                     .latency = "agent_request_duration_seconds",
                                     .cohort_label = "version"});
    // A minute of history (10 s samples) before measuring.
    for (int i = 0; i < 7; ++i) step();
  }

  // Some traffic (the same for both cohorts, so the check passes), then a sample 10 s later.
  void step() {
    for (size_t i = 0; i < counters.size(); ++i) counters[i].inc(i % 3 == 0 ? 25 : 1);
    for (size_t i = 0; i < histograms.size(); ++i) {
      histograms[i].observe(0.02 * static_cast<double>(i / 2 % 7 + 1));
    }
    now += seconds(10);
    source->sample(now);
  }

  metrics::Registry registry;
  std::vector<metrics::Counter> counters;
  std::vector<metrics::Histogram> histograms;
  std::unique_ptr<guardrail::LiveSource> source;
  guardrail::TimePoint now = guardrail::TimePoint(seconds(1'700'000'000));
  const std::vector<guardrail::Threshold> thresholds = guardrail::default_thresholds();
};

// The whole check: record a little, sample, two windows, two snapshots, the thresholds.
void BM_GuardrailCheck(benchmark::State& state) {
  Workload w(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    w.step();
    auto stable = w.source->last("v1", seconds(60));
    auto canary = w.source->last("v2", seconds(60));
    auto trigger =
        guardrail::evaluate_thresholds(stable->snapshot(), canary->snapshot(), w.thresholds);
    benchmark::DoNotOptimize(trigger);
  }
  state.counters["series_read"] = static_cast<double>(w.counters.size() + w.histograms.size());
}
BENCHMARK(BM_GuardrailCheck)
    ->ArgNames({"noise", "routes"})
    ->Args({0, 1})
    ->Args({300, 1})
    ->Args({300, 20})
    ->Unit(benchmark::kMicrosecond);

// The parts: sample() alone (with the recording), one window, one snapshot + thresholds.
void BM_GuardrailSample(benchmark::State& state) {
  Workload w(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) w.step();
}
BENCHMARK(BM_GuardrailSample)
    ->ArgNames({"noise", "routes"})
    ->Args({300, 1})
    ->Args({300, 20})
    ->Unit(benchmark::kMicrosecond);

void BM_GuardrailWindow(benchmark::State& state) {
  Workload w(300, 1);
  for (int i = 0; i < 400; ++i) w.step();  // a full ring (65 min of 10 s samples)
  for (auto _ : state) benchmark::DoNotOptimize(w.source->last("v2", seconds(60)));
}
BENCHMARK(BM_GuardrailWindow)->Unit(benchmark::kMicrosecond);

void BM_GuardrailThresholds(benchmark::State& state) {
  Workload w(0, 1);
  const auto stable = w.source->last("v1", seconds(60));
  const auto canary = w.source->last("v2", seconds(60));
  for (auto _ : state) {
    auto trigger =
        guardrail::evaluate_thresholds(stable->snapshot(), canary->snapshot(), w.thresholds);
    benchmark::DoNotOptimize(trigger);
  }
}
BENCHMARK(BM_GuardrailThresholds)->Unit(benchmark::kMicrosecond);

// A check that fails: the trigger with its reason in words (string formatting).
void BM_GuardrailThresholdsTrigger(benchmark::State& state) {
  Workload w(0, 1);
  const auto stable = w.source->last("v1", seconds(60))->snapshot();
  auto canary = w.source->last("v2", seconds(60))->snapshot();
  canary.success_rate -= 0.1;
  for (auto _ : state) {
    auto trigger = guardrail::evaluate_thresholds(stable, canary, w.thresholds);
    benchmark::DoNotOptimize(trigger);
  }
}
BENCHMARK(BM_GuardrailThresholdsTrigger)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
