// The GuardrailMonitor's costs (issue 11, section 6; figures in bench/README.md, "Guardrails:
// the monitor"):
//   - check_now() over live instruments: a request counter with an outcome label (two series:
//     success, error) and a latency histogram, a 60 s window of samples taken every second (an
//     injected clock), fixed mode with the three default thresholds; without and with the SQLite
//     audit trail (each decision committed before check_now() returns).
//   - decision to action started: the time from just before check() (which decides and hands
//     the trigger to the action's worker) to the action callback's first instruction, over 2,000
//     triggers; without and with the audit trail (the action is handed over before the write).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/guardrail/monitor.h"
#include "vigil/guardrail/source.h"
#include "vigil/metrics/registry.h"

namespace {

using namespace std::chrono_literals;
using vigil::guardrail::GuardrailMonitor;
using vigil::guardrail::MonitorOptions;
using vigil::guardrail::PerformanceSnapshot;
using vigil::guardrail::TimePoint;

std::string temp_db(const char* tag) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("vigil_gr_bench_") + tag + "_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(p);
  return p.string();
}

void BM_CheckNow(benchmark::State& state) {
  const bool audit = state.range(0) != 0;
  vigil::metrics::Registry reg;
  auto& requests = reg.counter("app_requests_total", "Requests.", {"status", "version"});
  auto& latency = reg.histogram("app_request_duration_seconds", "Latency.", {"version"});
  auto ok = requests.labels("success", "v1");
  auto err = requests.labels("error", "v1");
  auto lat = latency.labels("v1");
  auto source = std::make_shared<vigil::guardrail::LiveSource>(
      vigil::guardrail::LiveSourceOptions{.registry = &reg,
                                          .requests = "app_requests_total",
                                          .outcome_label = "status",
                                          .latency = "app_request_duration_seconds",
                                          .cohort_label = "version"});
  auto ns = std::make_shared<std::atomic<int64_t>>(int64_t{1'800'000'000} * 1'000'000'000);
  MonitorOptions o;
  o.name = "bench";
  o.source = source;
  o.cohort = "v1";
  o.metrics_registry = &reg;
  o.clock = [ns] { return TimePoint(std::chrono::nanoseconds(ns->load())); };
  const std::string path = audit ? temp_db("check") : "";
  o.audit_path = path;
  GuardrailMonitor m(o);
  m.set_baseline(
      {.success_rate = 0.99, .p50_latency = 0.05, .p95_latency = 0.2, .error_rate = 0.01});
  auto traffic = [&] {
    ok.inc(250);
    err.inc(2);
    for (int i = 0; i < 25; ++i) lat.observe(0.01 * (i % 20));
  };
  for (int i = 0; i < 61; ++i) {  // a full window of samples, one a second
    traffic();
    ns->fetch_add(1'000'000'000);
    m.check_now();
  }
  for (auto _ : state) {
    state.PauseTiming();
    traffic();
    ns->fetch_add(1'000'000'000);
    state.ResumeTiming();
    benchmark::DoNotOptimize(m.check_now());
  }
  state.SetLabel(audit ? "with SQLite audit" : "memory only");
  if (audit) std::filesystem::remove(path);
}
BENCHMARK(BM_CheckNow)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_DecisionToActionStarted(benchmark::State& state) {
  const bool audit = state.range(0) != 0;
  constexpr int kTriggers = 2000;
  vigil::metrics::Registry reg;
  MonitorOptions o;
  o.name = "latency";
  o.metrics_registry = &reg;
  o.cooldown = 0ms;
  o.passes_to_rearm = 1;
  const std::string path = audit ? temp_db("latency") : "";
  o.audit_path = path;
  o.memory_decisions = 64;
  GuardrailMonitor m(o);
  std::mutex mu;
  std::vector<int64_t> started;  // steady ns at the callback's first instruction
  started.reserve(kTriggers);
  m.on_trigger("rollback", [&](const vigil::guardrail::RollbackTrigger&) {
    const int64_t t = std::chrono::steady_clock::now().time_since_epoch().count();
    std::lock_guard lock(mu);
    started.push_back(t);
  });
  const PerformanceSnapshot base{.success_rate = 0.95, .p95_latency = 1500, .error_rate = 0.02};
  PerformanceSnapshot bad = base;
  bad.success_rate = 0.80;
  m.set_baseline(base);
  std::vector<double> us;
  for (auto _ : state) {
    us.clear();
    for (int i = 0; i < kTriggers; ++i) {
      m.check(base);  // a pass rearms
      const int64_t t0 = std::chrono::steady_clock::now().time_since_epoch().count();
      m.check(bad);  // decides, hands the trigger over, (writes the audit row)
      m.wait_for_actions(10s);
      std::lock_guard lock(mu);
      us.push_back(static_cast<double>(started.back() - t0) / 1000.0);
    }
    started.clear();
  }
  std::sort(us.begin(), us.end());
  auto q = [&](double p) {
    return us[static_cast<size_t>(p * static_cast<double>(us.size() - 1))];
  };
  state.counters["p50_us"] = q(0.5);
  state.counters["p99_us"] = q(0.99);
  state.counters["max_us"] = us.back();
  state.SetLabel(audit ? "with SQLite audit" : "memory only");
  if (audit) std::filesystem::remove(path);
}
BENCHMARK(BM_DecisionToActionStarted)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
