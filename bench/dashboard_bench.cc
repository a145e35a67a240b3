// The live dashboard's JSON endpoints (issue 13, section 6): how long each answers for the
// demo's registry with a full ring (15 minutes of samples every 5 s), as the page asks them,
// over HTTP on loopback (keep-alive libcurl handle; "gz" rows accept gzip as a browser does);
// and what one sampling round of the ring costs.
//
//   build/release/bench/dashboard_bench
//   build/release/bench/dashboard_bench --benchmark_filter=query_range
//
// Rows:
//   eval_range/<query>           the PromQL evaluation alone of a cold range query (181 steps)
//   sample_round                 one RegistrySampler round of the demo's registry into a
//                                MemoryStorage holding 15 min of history, plus the trim
//   http_cold/<query>            a range query with no cached point (all 181 steps evaluated)
//   http/<endpoint>[/gz]         one request and its whole response; range queries repeated
//                                (their points cached: a polling page's steady state)
//   page_round                   the requests of one poll round of the default charts
//                                (6 query_range + config.json), back to back
//   http_cold/page_5m_*, page_15m_*, http/page_*
//                                what the page asks now that the step grows with the range
//                                (at most 61 points): 5 min at 5 s, 15 min at 15 s
//   page_round_5m                page_round over the page's default 5 minutes
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"
#include "alerting/registry_sampler.h"
#include "demo_registry.h"
#include "vigil/admin/dashboard_endpoint.h"
#include "vigil/admin/server.h"

namespace {

using vigil::demo::kModels;

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kStepMs = 5000;
constexpr int kRounds = 181;  // 15 minutes at 5 s, both ends

// Varies the demo's metrics a little between samples, so rates and quantiles are not flat.
void traffic(vigil::demo::GatewayMetrics& g, int round) {
  for (size_t i = 0; i < kModels.size(); ++i) {
    g.requests.labels(kModels[i].provider, kModels[i].model, "success", "v1").inc(10 + round % 7);
    g.collector.record_request("/v1/chat/completions", kModels[i].provider, true,
                               std::chrono::duration<double>(0.2 + 0.1 * (round % 13)),
                               {{"model", kModels[i].model}});
    g.collector.record_tokens(kModels[i].provider, kModels[i].model,
                              static_cast<uint64_t>(800 + round), 0);
  }
  for (auto& h : g.request_latency)
    h[vigil::demo::kStableVersion].observe(0.5 + 0.05 * (round % 20));
  g.active_requests.set(round % 9);
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

size_t discard(char*, size_t size, size_t n, void* user) {
  *static_cast<size_t*>(user) += size * n;
  return size * n;
}

struct Fixture {
  vigil::bench::DemoRegistry demo;
  std::atomic<int64_t> now{kT0};
  std::unique_ptr<vigil::admin::Server> server;
  std::string base;
  size_t series = 0;

  Fixture() {
    server = std::make_unique<vigil::admin::Server>(
        vigil::admin::ServerOptions{.listen = "127.0.0.1:0", .self_metrics = &demo.registry});
    vigil::admin::add_dashboard_endpoint(
        *server, demo.registry,
        {.sample_thread = false, .clock = [this] {
           return std::chrono::system_clock::time_point(std::chrono::milliseconds(now.load()));
         }});
    server->start();
    base = "http://127.0.0.1:" + std::to_string(server->port());
    CURL* c = curl_easy_init();
    size_t bytes = 0;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
    for (int r = 0; r < kRounds; ++r) {
      traffic(*demo.gateway, r);
      now = kT0 + r * kStepMs;
      const std::string url = base + "/api/v1/query?query=1";
      curl_easy_setopt(c, CURLOPT_URL, url.c_str());
      curl_easy_perform(c);
    }
    curl_easy_cleanup(c);
  }
};

Fixture& fixture() {
  static Fixture* f = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return new Fixture();
  }();
  return *f;
}

std::string escape(const std::string& q) {
  CURL* c = curl_easy_init();
  char* e = curl_easy_escape(c, q.c_str(), static_cast<int>(q.size()));
  std::string out(e);
  curl_free(e);
  curl_easy_cleanup(c);
  return out;
}

// The last `range_s` seconds (15 minutes by default) at a `step_s` step (5 s), ending at the
// last sample (181 points by default). `shift_ms` moves the window by that many milliseconds (a
// "cold" request: no point is cached yet).
std::string range_path(const std::string& query, int shift_ms = 0, int range_s = 900,
                       int step_s = 5) {
  const int64_t end = kT0 + (kRounds - 1) * kStepMs - shift_ms;
  char times[128];
  std::snprintf(times, sizeof times, "&start=%.3f&end=%.3f&step=%d",
                static_cast<double>(end - int64_t{range_s} * 1000) / 1000,
                static_cast<double>(end) / 1000, step_s);
  return "/api/v1/query_range?query=" + escape(query) + times;
}

const std::vector<std::string>& chart_queries() {
  static const std::vector<std::string> q = {
      "sum (rate(agent_requests_total[1m]))",
      "histogram_quantile(0.5, sum by (le) (rate(agent_request_duration_seconds_bucket[1m])))",
      "histogram_quantile(0.9, sum by (le) (rate(agent_request_duration_seconds_bucket[1m])))",
      "histogram_quantile(0.99, sum by (le) (rate(agent_request_duration_seconds_bucket[1m])))",
      "process_resident_memory_bytes",
      "sum (rate(process_cpu_seconds_total[1m]))",
  };
  return q;
}

void run_get(benchmark::State& state, const std::vector<std::string>& paths, bool gzip) {
  Fixture& f = fixture();
  CURL* c = curl_easy_init();
  size_t bytes = 0;
  long status = 0;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
  if (gzip) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
  std::vector<std::string> urls;
  for (const std::string& p : paths) urls.push_back(f.base + p);
  size_t errors = 0;
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    for (const std::string& u : urls) {
      curl_easy_setopt(c, CURLOPT_URL, u.c_str());
      if (curl_easy_perform(c) != CURLE_OK) ++errors;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      if (status != 200) ++errors;
    }
  }
  const double cpu = process_cpu_seconds() - cpu_start;
  curl_easy_cleanup(c);
  // CPU of the whole process (server threads and this client) per request: unlike wall time,
  // not inflated when other processes share the cores.
  state.counters["process_cpu_us_per_request"] =
      cpu * 1e6 / static_cast<double>(state.iterations() * paths.size());
  state.counters["errors"] = static_cast<double>(errors);
  state.counters["bytes_per_request"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations() * paths.size());
}

void BM_http(benchmark::State& state, std::string path, bool gzip) { run_get(state, {path}, gzip); }

// A range query none of whose points is cached (a new chart, a first page load): every step
// evaluated. Each iteration shifts the window by another millisecond.
void BM_http_cold(benchmark::State& state, std::string query, int range_s = 900, int step_s = 5) {
  Fixture& f = fixture();
  CURL* c = curl_easy_init();
  size_t bytes = 0;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
  int shift = 0;
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    state.PauseTiming();
    // The trailing space keeps these points in a cache entry of their own: the warm rows below
    // measure the steady state, not points evicted by these.
    const std::string url = f.base + range_path(query + " ", 1 + shift++ % 4000, range_s, step_s);
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    state.ResumeTiming();
    curl_easy_perform(c);
  }
  state.counters["process_cpu_us_per_request"] =
      (process_cpu_seconds() - cpu_start) * 1e6 / static_cast<double>(state.iterations());
  curl_easy_cleanup(c);
}
BENCHMARK_CAPTURE(BM_http_cold, query_range_counter_rate, chart_queries()[0])
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, query_range_histogram_p99, chart_queries()[3])
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, query_range_histogram_p99_by_model,
                  "histogram_quantile(0.99, sum by (le, gen_ai_request_model) "
                  "(rate(gen_ai_client_operation_duration_seconds_bucket[1m])))")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, query_range_gauge, chart_queries()[4])
    ->Unit(benchmark::kMicrosecond);

// What the page asks since the step grows with the range (web/dashboard_lib.js rangeStep, at
// most 61 points): its default 5 minutes at 5 s (61 points) and 15 minutes at 15 s (61).
const std::string kP99ByModel =
    "histogram_quantile(0.99, sum by (le, gen_ai_request_model) "
    "(rate(gen_ai_client_operation_duration_seconds_bucket[1m])))";
BENCHMARK_CAPTURE(BM_http_cold, page_5m_counter_rate, chart_queries()[0], 300, 5)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_5m_histogram_p99, chart_queries()[3], 300, 5)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_5m_histogram_p99_by_model, kP99ByModel, 300, 5)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_5m_gauge, chart_queries()[4], 300, 5)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_15m_counter_rate, chart_queries()[0], 900, 15)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_15m_histogram_p99, chart_queries()[3], 900, 15)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_15m_histogram_p99_by_model, kP99ByModel, 900, 15)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http_cold, page_15m_gauge, chart_queries()[4], 900, 15)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, page_5m_histogram_p99, range_path(chart_queries()[3], 0, 300, 5), false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, page_5m_histogram_p99_by_model, range_path(kP99ByModel, 0, 300, 5),
                  false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, page_15m_histogram_p99, range_path(chart_queries()[3], 0, 900, 15),
                  false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, page_15m_histogram_p99_by_model, range_path(kP99ByModel, 0, 900, 15),
                  false)
    ->Unit(benchmark::kMicrosecond);

// The rows below repeat one request: the range rows are served from the point cache (the steady
// state of a page polling the same charts, less the newest step or two it evaluates).

BENCHMARK_CAPTURE(BM_http, query_range_counter_rate, range_path(chart_queries()[0]), false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, query_range_histogram_p99, range_path(chart_queries()[3]), false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, query_range_histogram_p99_by_model,
                  range_path("histogram_quantile(0.99, sum by (le, gen_ai_request_model) "
                             "(rate(gen_ai_client_operation_duration_seconds_bucket[1m])))"),
                  false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, query_range_gauge, range_path(chart_queries()[4]), false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, query_range_histogram_p99_gz, range_path(chart_queries()[3]), true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, query_instant_counter_rate,
                  "/api/v1/query?query=" + escape(chart_queries()[0]), false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, metadata, "/api/v1/metadata", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, metadata_gz, "/api/v1/metadata", true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, labels, "/api/v1/labels", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, series_all_of_one_family,
                  "/api/v1/series?match[]=agent_request_duration_seconds_bucket", false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, config, "/dashboard/config.json", false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, page_html_gz, "/dashboard", true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_http, uplot_js_gz, "/dashboard/uPlot.min.js", true)
    ->Unit(benchmark::kMicrosecond);

void BM_page_round(benchmark::State& state) {
  std::vector<std::string> paths;
  for (const std::string& q : chart_queries()) paths.push_back(range_path(q));
  paths.push_back("/dashboard/config.json");
  run_get(state, paths, true);
}
BENCHMARK(BM_page_round)->Unit(benchmark::kMicrosecond);

// The same round as the page now asks it by default: 5 minutes at 5 s.
void BM_page_round_5m(benchmark::State& state) {
  std::vector<std::string> paths;
  for (const std::string& q : chart_queries()) paths.push_back(range_path(q, 0, 300, 5));
  paths.push_back("/dashboard/config.json");
  run_get(state, paths, true);
}
BENCHMARK(BM_page_round_5m)->Unit(benchmark::kMicrosecond);

// The evaluation alone (no HTTP, no JSON) of a range query's 181 steps over the same ring, on
// this thread: its CPU column is the endpoint's compute for a cold request, which stays
// meaningful when other processes load the machine (the HTTP rows' wall times do not).
void BM_eval_range(benchmark::State& state, std::string query) {
  Fixture& f = fixture();
  vigil::alerting::RegistrySampler sampler;
  vigil::alerting::promql::MemoryStorage storage;
  for (int r = 0; r < kRounds; ++r) sampler.sample(f.demo.registry, kT0 + r * kStepMs, storage);
  auto expr = vigil::alerting::promql::parse(query);
  if (!expr) {
    state.SkipWithError(expr.error.c_str());
    return;
  }
  const int64_t end = kT0 + (kRounds - 1) * kStepMs;
  size_t points = 0;
  for (auto _ : state) {
    for (int64_t t = end - 900'000; t <= end; t += kStepMs) {
      auto r = vigil::alerting::promql::evaluate(**expr, storage, t);
      points += r.vector.size();
    }
  }
  state.counters["points"] = static_cast<double>(points) / static_cast<double>(state.iterations());
}
BENCHMARK_CAPTURE(BM_eval_range, counter_rate, chart_queries()[0])->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_eval_range, histogram_p99, chart_queries()[3])->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_eval_range, histogram_p99_by_model,
                  "histogram_quantile(0.99, sum by (le, gen_ai_request_model) "
                  "(rate(gen_ai_client_operation_duration_seconds_bucket[1m])))")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_eval_range, gauge, chart_queries()[4])->Unit(benchmark::kMicrosecond);

// One sampling round with a full ring (what the endpoint's thread does every 5 s).
void BM_sample_round(benchmark::State& state) {
  Fixture& f = fixture();
  vigil::alerting::RegistrySampler sampler({.max_series = 10000});
  vigil::alerting::promql::MemoryStorage storage;
  int64_t t = kT0;
  for (int r = 0; r < kRounds; ++r, t += kStepMs) sampler.sample(f.demo.registry, t, storage);
  for (auto _ : state) {
    sampler.sample(f.demo.registry, t, storage);
    storage.trim_before(t - 15 * 60 * 1000);
    t += kStepMs;
  }
  state.counters["series"] = static_cast<double>(storage.series_count());
  state.counters["samples"] = static_cast<double>(storage.sample_count());
  state.counters["ring_bytes"] = static_cast<double>(storage.memory_bytes());
}
BENCHMARK(BM_sample_round)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
