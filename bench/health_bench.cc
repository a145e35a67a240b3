// Health checks: what a probe costs. No peer library (the guides' health monitors are Python).
//
//   build/release/bench/health_bench
//
// BM_Evaluate_Cached        evaluate() of 6 checks refreshed in the background: what a probe
//                           costs when it only reads the latest results.
// BM_Evaluate_OnDemand/N    evaluate() running N trivial checks on the pool: the dispatch
//                           overhead of a check run (queue, wake a thread, wait, hysteresis).
// BM_ToJson/N               the health+json body of a report with N checks.
// BM_Http_Ready             GET /health/ready over loopback with libcurl (keep-alive): the
//                           whole endpoint, as a kubelet sees it.
// BM_Heartbeat_Beat         one beat() of a liveness heartbeat.
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <chrono>
#include <string>

#include "vigil/admin/health_endpoints.h"
#include "vigil/admin/server.h"
#include "vigil/health/heartbeat.h"
#include "vigil/health/monitor.h"
#include "vigil/health/report.h"

namespace {

using namespace std::chrono_literals;
using vigil::health::CheckResult;
using vigil::health::HealthMonitor;

void add_checks(HealthMonitor& m, int n, std::chrono::milliseconds interval) {
  for (int i = 0; i < n; ++i) {
    m.add_check(
        "dep" + std::to_string(i), [i] { return CheckResult::pass("ok").observe(i, "ms"); },
        {.component_type = "datastore", .measurement = "responseTime", .interval = interval});
  }
}

void BM_Evaluate_Cached(benchmark::State& state) {
  HealthMonitor m;
  add_checks(m, 6, 1h);
  m.readiness();  // waits for the first background runs
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.readiness());
  }
}
BENCHMARK(BM_Evaluate_Cached);

void BM_Evaluate_OnDemand(benchmark::State& state) {
  HealthMonitor m;
  add_checks(m, static_cast<int>(state.range(0)), 0ms);
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.readiness());
  }
  state.counters["runs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Evaluate_OnDemand)->Arg(1)->Arg(6)->UseRealTime();

void BM_ToJson(benchmark::State& state) {
  HealthMonitor m({.service_id = "agent-gateway", .version = "1.4.2"});
  add_checks(m, static_cast<int>(state.range(0)), 1h);
  const vigil::health::HealthReport r = m.readiness();
  for (auto _ : state) {
    benchmark::DoNotOptimize(vigil::health::to_json(r));
  }
}
BENCHMARK(BM_ToJson)->Arg(6);

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

void BM_Http_Ready(benchmark::State& state) {
  HealthMonitor m({.service_id = "agent-gateway", .version = "1.4.2"});
  add_checks(m, 6, 1h);
  vigil::admin::Server server({.listen = "127.0.0.1:0"});
  vigil::admin::add_health_endpoints(server, m);
  server.start();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  const std::string url = server.url() + "/health/ready";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard);
  long status = 0;
  for (auto _ : state) {
    if (curl_easy_perform(curl) != CURLE_OK) {
      state.SkipWithError("request failed");
      break;
    }
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) state.SkipWithError("not 200");
  curl_easy_cleanup(curl);
  server.stop();
}
BENCHMARK(BM_Http_Ready)->UseRealTime();

void BM_Heartbeat_Beat(benchmark::State& state) {
  const vigil::health::Heartbeat hb(10s);
  for (auto _ : state) hb.beat();
}
BENCHMARK(BM_Heartbeat_Beat);

}  // namespace

BENCHMARK_MAIN();
