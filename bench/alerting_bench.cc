// Alerting (issue 9, section 9): what a round of rule evaluation costs, history memory, and the
// latency from a condition becoming true to the alert being handed to callbacks.
//
//   build/release/bench/alerting_bench
//   bench/prometheus_rules_compare.sh build/release     # the same rule file in real Prometheus
//
// BM_ThresholdRules/N/F/T      AlertManager::evaluate() of N C++ threshold rules (half
//                              `counter.value() > x`, half `gauge.value() > x`) with F per
//                              thousand true (firing), injected clock (+15 s per round), T
//                              condition threads (0: the default, 4).
//                              Target: <= 1 ms per round for 1,000 rules.
// BM_RuleFile100               AlertManager::evaluate() of the 100-rule file of
//                              bench/alerting_workload.h over a Registry holding its 10,000
//                              series, windows filled (72 rounds of 5 s first): sampling the
//                              registry into the history, evaluating the rules, alert states.
//                              Counters: rules_ms (the rules' own evaluation time, as
//                              Prometheus' rule_group_last_duration_seconds measures it),
//                              firing/pending alerts.
// BM_HistoryMemory/H           MemoryStorage holding 10,000 series sampled every 15 s for H
//                              hours of range (plus the 5 min lookback), trimmed each round as
//                              the rule engine does: bytes per sample, per series, per series
//                              per hour of range.
// BM_FiringLatency/I/N         evaluation thread at I ms, a C++ rule with for: 0; N trials: the
//                              condition flips at a random phase, time until on_alert runs
//                              (p50/p99/max in ms, against I + 5 ms).
#include <benchmark/benchmark.h>
#include <malloc.h>

// Callgrind counts only the timed rounds when run with --instr-atstart=no (see bench/README.md).
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"
#include "alerting_workload.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace std::chrono_literals;
using vigil::alerting::AlertManager;
using vigil::alerting::AlertManagerOptions;
using vigil::alerting::AlertRule;
using vigil::alerting::AlertState;
using vigil::alerting::TimePoint;

// A clock the benchmark moves.
struct FakeClock {
  TimePoint now{std::chrono::seconds(1'800'000'000)};
  std::function<TimePoint()> fn() {
    return [this] { return now; };
  }
};

// ---- 1,000 threshold rules -------------------------------------------------------------------

void BM_ThresholdRules(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int true_per_mille = static_cast<int>(state.range(1));
  vigil::metrics::Registry registry;
  vigil::metrics::MetricOptions big;
  big.cardinality_limit = 100'000;
  auto& counters = registry.counter("work_done_total", "Work.", {"id"}, big);
  auto& gauges = registry.gauge("work_level", "Level.", {"id"}, big);
  FakeClock clock;
  AlertManagerOptions o;
  o.clock = clock.fn();
  o.registry = &registry;
  if (state.range(2) > 0) o.condition_threads = static_cast<int>(state.range(2));
  AlertManager manager(o);
  for (int i = 0; i < n; ++i) {
    const bool fires = (i * 1000 / n) % 1000 < true_per_mille;
    const std::string id = std::to_string(i);
    auto b = AlertRule::builder();
    b.name("threshold_" + id).severity(vigil::alerting::Severity::kWarning);
    b.description("level {value} above threshold");
    if (i % 2 == 0) {
      vigil::metrics::Counter c = counters.labels(id);
      c.inc(100);
      const double x = fires ? 50 : 1000;
      b.condition([c, x] { return c.value() > x; });
    } else {
      vigil::metrics::Gauge g = gauges.labels(id);
      g.set(100);
      const double x = fires ? 50 : 1000;
      b.condition([g, x] { return g.value() > x; });
    }
    manager.add_rule(b.build());
  }
  manager.evaluate();  // first round: alerts created
  size_t firing = 0;
  for (auto _ : state) {
    clock.now += 15s;
    auto changes = manager.evaluate();
    benchmark::DoNotOptimize(changes);
  }
  for (const auto& a : manager.active_alerts()) firing += a.state == AlertState::kFiring ? 1 : 0;
  state.counters["rules"] = n;
  state.counters["firing"] = static_cast<double>(firing);
}
BENCHMARK(BM_ThresholdRules)
    ->Args({1000, 0, 0})
    ->Args({1000, 100, 0})
    ->Args({100, 0, 0})
    ->Args({1000, 0, 1})
    ->Args({1000, 0, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// ---- 100 rules over 10,000 series -------------------------------------------------------------

void BM_RuleFile100(benchmark::State& state) {
  vigil::metrics::Registry registry;
  vigil_bench::AlertingWorkload workload(registry);
  auto file = vigil::alerting::parse_rule_file(vigil_bench::alerting_rule_file("5s"), "bench");
  if (!file) {
    state.SkipWithError(("rule file: " + file.errors.at(0)).c_str());
    return;
  }
  FakeClock clock;
  AlertManagerOptions o;
  o.clock = clock.fn();
  o.registry = &registry;
  o.evaluation_interval = 5s;
  AlertManager manager(o);
  manager.add_rule_file(*file.file);
  // Fill the 5 m windows (and the rules' `for`): 6 minutes of 5 s rounds.
  for (int i = 0; i < 72; ++i) {
    workload.step(5);
    clock.now += 5s;
    manager.evaluate();
  }
  double rules_ns = 0;
  int64_t rounds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    workload.step(5);
    clock.now += 5s;
    state.ResumeTiming();
    CALLGRIND_START_INSTRUMENTATION;
    manager.evaluate();
    CALLGRIND_STOP_INSTRUMENTATION;
    state.PauseTiming();
    for (const auto& s : manager.rule_status()) {
      rules_ns += static_cast<double>(s.evaluation_duration.count());
    }
    ++rounds;
    state.ResumeTiming();
  }
  size_t firing = 0, pending = 0, errors = 0;
  for (const auto& a : manager.active_alerts()) {
    firing += a.state == AlertState::kFiring ? 1 : 0;
    pending += a.state == AlertState::kPending ? 1 : 0;
  }
  for (const auto& s : manager.rule_status()) {
    errors += s.health == vigil::alerting::RuleHealth::kError ? 1 : 0;
  }
  if (errors != 0) state.SkipWithError("a rule failed");
  state.counters["rules_ms"] = rounds > 0 ? rules_ns / static_cast<double>(rounds) / 1e6 : 0;
  state.counters["firing"] = static_cast<double>(firing);
  state.counters["pending"] = static_cast<double>(pending);
  state.counters["series"] = vigil_bench::AlertingWorkload::kSeries;
}
BENCHMARK(BM_RuleFile100)->Unit(benchmark::kMillisecond)->UseRealTime();

// The PromQL engine alone over a MemoryStorage holding the same data (no registry sampling, no
// alert state): what evaluating the 100 expressions costs. Argument 1: the data advances between
// iterations (a round of samples appended and the store trimmed to 10 min, as in the manager),
// to tell the cost of fresh data from the cost of the manager around the engine.
void BM_RuleFile100_EngineOnly(benchmark::State& state) {
  namespace pq = vigil::alerting::promql;
  vigil::metrics::Registry registry;
  vigil_bench::AlertingWorkload workload(registry);
  auto file = vigil::alerting::parse_rule_file(vigil_bench::alerting_rule_file("5s"), "bench");
  if (!file) {
    state.SkipWithError("rule file");
    return;
  }
  std::vector<pq::ExprPtr> exprs;
  for (const auto& r : file.file->groups.at(0).rules) {
    auto e = pq::parse(r.expr);
    if (!e) {
      state.SkipWithError(("parse: " + r.expr).c_str());
      return;
    }
    exprs.push_back(std::move(*e));
  }
  // The registry's samples under Prometheus' names, as the rule engine writes them.
  pq::MemoryStorage store;
  struct Sink final : vigil::metrics::MetricSink {
    pq::MemoryStorage* store;
    int64_t t;
    const vigil::metrics::FamilyDesc* f = nullptr;
    void begin_family(const vigil::metrics::FamilyDesc& d) override { f = &d; }
    void end_family() override {}
    pq::Labels base(vigil::metrics::LabelValues v, const std::string& name) {
      pq::Labels l{{"__name__", name}};
      for (size_t i = 0; i < v.size(); ++i) l.emplace_back(f->label_names[i], std::string(v[i]));
      return l;
    }
    void add(pq::Labels l, double v) {
      pq::sort_labels(l);
      store->append(l, t, v);
    }
    void counter(vigil::metrics::LabelValues v, double x, double) override {
      add(base(v, std::string(f->name) + "_total"), x);
    }
    void gauge(vigil::metrics::LabelValues v, double x) override {
      add(base(v, std::string(f->name)), x);
    }
    void histogram(vigil::metrics::LabelValues v,
                   const vigil::metrics::HistogramPoint& p) override {
      const std::string n(f->name);
      for (size_t i = 0; i <= p.bounds.size(); ++i) {
        pq::Labels l = base(v, n + "_bucket");
        char le[32];
        if (i < p.bounds.size()) {
          std::snprintf(le, sizeof le, "%g", p.bounds[i]);
        } else {
          std::snprintf(le, sizeof le, "+Inf");
        }
        l.emplace_back("le", le);
        add(std::move(l), static_cast<double>(p.cumulative[i]));
      }
      add(base(v, n + "_sum"), p.sum);
      add(base(v, n + "_count"), static_cast<double>(p.count));
    }
    void summary(vigil::metrics::LabelValues, const vigil::metrics::SummaryPoint&) override {}
    void info(vigil::metrics::LabelValues) override {}
  } sink;
  sink.store = &store;
  int64_t t = 1'800'000'000'000;
  for (int i = 0; i < 72; ++i) {
    workload.step(5);
    t += 5000;
    sink.t = t;
    registry.collect(sink);
  }
  size_t out = 0;
  const bool advance = state.range(0) != 0;
  for (auto _ : state) {
    if (advance) {
      state.PauseTiming();
      workload.step(5);
      t += 5000;
      sink.t = t;
      registry.collect(sink);
      store.trim_before(t - 600'000);
      state.ResumeTiming();
    }
    out = 0;
    CALLGRIND_START_INSTRUMENTATION;
    for (const auto& e : exprs) {
      pq::EvalResult r = pq::evaluate(*e, store, t);
      if (!r.ok()) {
        state.SkipWithError(r.error.c_str());
        return;
      }
      out += r.vector.size();
    }
    CALLGRIND_STOP_INSTRUMENTATION;
  }
  state.counters["alerts"] = static_cast<double>(out);
  state.counters["series"] = static_cast<double>(store.series_count());
  state.counters["samples"] = static_cast<double>(store.sample_count());
}
BENCHMARK(BM_RuleFile100_EngineOnly)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- history memory ---------------------------------------------------------------------------

void BM_HistoryMemory(benchmark::State& state) {
  namespace pq = vigil::alerting::promql;
  const int64_t range_ms = state.range(0) * 3'600'000;
  constexpr int kSeries = 10'000;
  constexpr int64_t kStep = 15'000;
  const int64_t retention = range_ms + 5 * 60'000;  // the engine keeps range + lookback
  std::vector<pq::Labels> labels;
  for (int i = 0; i < kSeries; ++i) {
    labels.push_back({{"__name__", "http_requests_total"},
                      {"code", i % 4 == 0 ? "500" : "200"},
                      {"pod", "pod-" + std::to_string(i / 8)},
                      {"service", "svc" + std::to_string(i % 20)}});
  }
  size_t bytes = 0, samples = 0, series = 0, heap = 0;
  for (auto _ : state) {
    const size_t heap0 = mallinfo2().uordblks;
    pq::MemoryStorage store;
    // Twice the retention, trimming every round as the engine does: the steady state.
    int64_t t = 0;
    for (int64_t k = 0; k * kStep <= 2 * retention; ++k) {
      t = k * kStep;
      for (int i = 0; i < kSeries; ++i) store.append(labels[i], t, static_cast<double>(k));
      store.trim_before(t - retention);
    }
    bytes = store.memory_bytes();
    samples = store.sample_count();
    series = store.series_count();
    heap = mallinfo2().uordblks - heap0;
    benchmark::DoNotOptimize(store);
  }
  state.counters["samples_per_series"] = static_cast<double>(samples) / static_cast<double>(series);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / static_cast<double>(samples);
  state.counters["heap_per_sample"] = static_cast<double>(heap) / static_cast<double>(samples);
  state.counters["bytes_per_series"] = static_cast<double>(bytes) / static_cast<double>(series);
  state.counters["heap_per_series_per_hour"] =
      static_cast<double>(heap) / static_cast<double>(series) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_HistoryMemory)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- condition to firing latency --------------------------------------------------------------

void BM_FiringLatency(benchmark::State& state) {
  const auto interval = std::chrono::milliseconds(state.range(0));
  const int trials = static_cast<int>(state.range(1));
  using Steady = std::chrono::steady_clock;
  std::atomic<bool> condition{false};
  std::mutex mu;
  std::condition_variable cv;
  Steady::time_point fired_at{};
  bool fired = false, resolved = false;

  AlertManagerOptions o;
  o.evaluation_interval = interval;
  o.registry = nullptr;
  AlertManager manager(o);
  manager.add_rule(AlertRule::builder()
                       .name("flip")
                       .condition([&] { return condition.load(std::memory_order_acquire); })
                       .build());
  manager.on_alert([&](const vigil::alerting::Notification& n) {
    const Steady::time_point now = Steady::now();
    std::lock_guard lock(mu);
    for (const auto& a : n.alerts) {
      if (a.state == AlertState::kFiring && !fired) {
        fired = true;
        fired_at = now;
      } else if (a.state == AlertState::kResolved) {
        resolved = true;
      }
    }
    cv.notify_all();
  });
  std::mt19937_64 rng(7);
  std::vector<double> ms;
  for (auto _ : state) {
    manager.start();
    for (int i = 0; i < trials; ++i) {
      std::uniform_int_distribution<int64_t> phase(0, interval.count() * 1000);
      std::this_thread::sleep_for(std::chrono::microseconds(phase(rng)));
      Steady::time_point flipped;
      {
        std::lock_guard lock(mu);
        fired = resolved = false;
        flipped = Steady::now();
        condition.store(true, std::memory_order_release);
      }
      std::unique_lock lock(mu);
      if (!cv.wait_for(lock, 10 * interval + 1s, [&] { return fired; })) {
        state.SkipWithError("the alert did not fire");
        break;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(fired_at - flipped).count());
      condition.store(false, std::memory_order_release);
      if (!cv.wait_for(lock, 10 * interval + 1s, [&] { return resolved; })) {
        state.SkipWithError("the alert did not resolve");
        break;
      }
    }
    manager.stop();
  }
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  };
  state.counters["p50_ms"] = pct(0.5);
  state.counters["p99_ms"] = pct(0.99);
  state.counters["max_ms"] = ms.back();
  state.counters["bound_ms"] = static_cast<double>(interval.count()) + 5;
  size_t over = 0;
  for (double x : ms) over += x > static_cast<double>(interval.count()) + 5 ? 1 : 0;
  state.counters["over_bound"] = static_cast<double>(over);
  state.counters["trials"] = static_cast<double>(ms.size());
}
BENCHMARK(BM_FiringLatency)->Args({100, 200})->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
