// bench/alerting_workload.h: the workload of the alerting benchmarks (issue 9, section 9), shared
// by bench/alerting_bench.cc (vigil evaluates the rules in-process) and bench/alerting_exporter.cc
// (serves the same series to a real Prometheus, see bench/prometheus_rules_compare.sh), so that
// both sides evaluate the same 100 rules over the same 10,000 series.
//
// Series: 20 services x 10 pods = 200 pods, 50 series each:
//   http_requests_total{service,pod,method,code}       8 (GET/POST x 200/404/500/503)
//   http_request_duration_seconds{service,pod}         14 (11 default buckets + +Inf, sum, count)
//   db_query_duration_seconds{service,pod}             14
//   jobs_processed_total{service,pod,queue}            4 (queues q0..q3)
//   jobs_failed_total{service,pod,queue}               4
//   queue_depth{service,pod,queue}                     4
//   memory_usage_bytes{service,pod}                    1
//   cpu_seconds_total{service,pod}                     1
// Traffic is deterministic (a fixed-seed generator) and chosen so that some rules fire, some stay
// pending and most stay inactive, as in a real rule file.
//
// Rules: one group "bench", 100 alerting rules: per service (20 each) an error ratio by pod, a
// p95 from a histogram, a job-failure ratio by queue and a queue-depth threshold with `for`; and
// 20 rules over every service (`sum by (service)`, `histogram_quantile` by service, a rate
// threshold, a ratio of two histogram rates, ...), warning and critical variants. Annotations use
// `$labels` and `$value | humanize` templates.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "vigil/metrics/counter.h"
#include "vigil/metrics/gauge.h"
#include "vigil/metrics/histogram.h"
#include "vigil/metrics/registry.h"

namespace vigil_bench {

class AlertingWorkload {
 public:
  static constexpr int kServices = 20;
  static constexpr int kPodsPerService = 10;
  static constexpr int kSeriesPerPod = 50;
  static constexpr int kSeries = kServices * kPodsPerService * kSeriesPerPod;  // 10,000

  explicit AlertingWorkload(vigil::metrics::Registry& registry) {
    using vigil::metrics::HistogramOptions;
    vigil::metrics::MetricOptions big;
    big.cardinality_limit = 100'000;
    auto& requests = registry.counter("http_requests_total", "HTTP requests.",
                                      {"service", "pod", "method", "code"}, big);
    auto& latency = registry.histogram("http_request_duration_seconds", "HTTP request latency.",
                                       {"service", "pod"}, HistogramOptions{}, big);
    auto& db = registry.histogram("db_query_duration_seconds", "Database query latency.",
                                  {"service", "pod"}, HistogramOptions{}, big);
    auto& processed = registry.counter("jobs_processed_total", "Jobs processed.",
                                       {"service", "pod", "queue"}, big);
    auto& failed =
        registry.counter("jobs_failed_total", "Jobs failed.", {"service", "pod", "queue"}, big);
    auto& depth = registry.gauge("queue_depth", "Jobs waiting.", {"service", "pod", "queue"}, big);
    auto& memory =
        registry.gauge("memory_usage_bytes", "Resident memory.", {"service", "pod"}, big);
    auto& cpu = registry.counter("cpu_seconds_total", "CPU time.", {"service", "pod"}, big);
    for (int s = 0; s < kServices; ++s) {
      for (int p = 0; p < kPodsPerService; ++p) {
        Pod pod;
        pod.service = s;
        pod.index = p;
        const std::string sv = service_name(s);
        const std::string pv = sv + "-" + std::to_string(p);
        const char* codes[] = {"200", "404", "500", "503"};
        for (const char* m : {"GET", "POST"}) {
          for (const char* c : codes) pod.requests.push_back(requests.labels(sv, pv, m, c));
        }
        pod.latency = latency.labels(sv, pv);
        pod.db = db.labels(sv, pv);
        for (int q = 0; q < 4; ++q) {
          const std::string qv = "q" + std::to_string(q);
          pod.processed.push_back(processed.labels(sv, pv, qv));
          pod.failed.push_back(failed.labels(sv, pv, qv));
          pod.depth.push_back(depth.labels(sv, pv, qv));
        }
        pod.memory = memory.labels(sv, pv);
        pod.cpu = cpu.labels(sv, pv);
        pods_.push_back(std::move(pod));
      }
    }
  }

  static std::string service_name(int s) {
    return std::string("svc") + static_cast<char>('0' + s / 10) + static_cast<char>('0' + s % 10);
  }

  // Traffic for `seconds` of time: counters grow, histograms get 10 observations per pod, gauges
  // move.
  void step(double seconds) {
    for (Pod& pod : pods_) {
      const int s = pod.service;
      const bool errors = pod.index == 0 && s % 4 == 0;  // 8% errors on one pod
      const double rate_get = 10, rate_post = 3;
      const double err = errors ? 0.08 : 0.01;
      for (int m = 0; m < 2; ++m) {
        const double r = (m == 0 ? rate_get : rate_post) * seconds * jitter();
        pod.requests[m * 4 + 0].inc(r * (1 - err - 0.05));
        pod.requests[m * 4 + 1].inc(r * 0.04);
        pod.requests[m * 4 + 2].inc(r * err);
        pod.requests[m * 4 + 3].inc(r * 0.01);
      }
      const double mean = s % 5 == 0 && pod.index < 3 ? 0.4 : 0.08;
      const double db_mean = s % 7 == 0 ? 0.06 : 0.01;
      for (int i = 0; i < 10; ++i) {
        pod.latency.observe(exponential(mean));
        pod.db.observe(exponential(db_mean));
      }
      for (int q = 0; q < 4; ++q) {
        pod.processed[q].inc(5 * seconds * jitter());
        const double fail = s % 6 == 0 && q == 0 ? 1.0 : 0.1;
        pod.failed[q].inc(fail * seconds * jitter());
        const bool backlog = s % 8 == 0 && q == 1 && pod.index < 2;
        pod.depth[q].set(std::floor(backlog ? 850 + 150 * uniform() : 600 * uniform()));
      }
      pod.memory.set(s % 10 == 9 && pod.index == 0 ? 1.7e9 + 1e8 * uniform()
                                                   : 5e8 + 5e8 * uniform());
      pod.cpu.inc(seconds * (s % 9 == 0 ? 0.92 : 0.3) * jitter());
    }
  }

 private:
  struct Pod {
    int service = 0;
    int index = 0;
    std::vector<vigil::metrics::Counter> requests;
    vigil::metrics::Histogram latency, db;
    std::vector<vigil::metrics::Counter> processed, failed;
    std::vector<vigil::metrics::Gauge> depth;
    vigil::metrics::Gauge memory;
    vigil::metrics::Counter cpu;
  };

  double uniform() {  // splitmix64 -> [0, 1)
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double jitter() { return 0.9 + 0.2 * uniform(); }
  double exponential(double mean) { return -mean * std::log(1 - uniform()); }

  std::vector<Pod> pods_;
  uint64_t rng_ = 42;
};

// The rule file (Prometheus 2.x YAML): one group of 100 alerting rules evaluated every
// `interval` (e.g. "5s").
inline std::string alerting_rule_file(const std::string& interval) {
  std::string y = "groups:\n  - name: bench\n    interval: " + interval + "\n    rules:\n";
  auto rule = [&](const std::string& name, const std::string& expr, const std::string& for_,
                  const std::string& severity, const std::string& summary) {
    y += "      - alert: " + name + "\n";
    y += "        expr: '" + expr + "'\n";
    if (!for_.empty()) y += "        for: " + for_ + "\n";
    y += "        labels:\n          severity: " + severity + "\n";
    y += "        annotations:\n          summary: '" + summary + "'\n";
  };
  for (int s = 0; s < AlertingWorkload::kServices; ++s) {
    const std::string sv = AlertingWorkload::service_name(s);
    const std::string sel = "service=\"" + sv + "\"";
    rule("HighErrorRate_" + sv,
         "sum by (pod) (rate(http_requests_total{" + sel +
             ",code=~\"5..\"}[5m])) / sum by (pod) (rate(http_requests_total{" + sel +
             "}[5m])) > 0.05",
         "2m", "critical", "{{ $labels.pod }} answers {{ $value | humanizePercentage }} with 5xx");
    rule("SlowP95_" + sv,
         "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{" + sel +
             "}[5m]))) > 0.5",
         "5m", "warning", "p95 latency of " + sv + " is {{ $value | humanizeDuration }}");
    rule("JobFailures_" + sv,
         "sum by (queue) (rate(jobs_failed_total{" + sel +
             "}[5m])) / sum by (queue) (rate(jobs_processed_total{" + sel + "}[5m])) > 0.1",
         "5m", "warning",
         "queue {{ $labels.queue }} fails {{ $value | humanizePercentage }} of jobs");
    rule("QueueBacklog_" + sv, "max by (queue) (queue_depth{" + sel + "}) > 800", "1m", "warning",
         "queue {{ $labels.queue }} holds {{ $value }} jobs");
  }
  // Rules over every service: a warning and a critical threshold of ten expressions.
  struct Global {
    const char* name;
    const char* expr;  // `%` is replaced by the threshold
    const char* warn;
    const char* crit;
    const char* summary;
  };
  const Global globals[] = {
      {"ServiceErrorRatio",
       "sum by (service) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (service) "
       "(rate(http_requests_total[5m])) > %",
       "0.015", "0.03", "{{ $labels.service }}: {{ $value | humanizePercentage }} errors"},
      {"ServiceP99",
       "histogram_quantile(0.99, sum by (service, le) "
       "(rate(http_request_duration_seconds_bucket[5m]))) > %",
       "1", "2.5", "{{ $labels.service }} p99 {{ $value | humanizeDuration }}"},
      {"DbP99",
       "histogram_quantile(0.99, sum by (service, le) "
       "(rate(db_query_duration_seconds_bucket[5m]))) "
       "> %",
       "0.1", "0.25", "{{ $labels.service }} db p99 {{ $value | humanizeDuration }}"},
      {"MeanLatency",
       "sum by (service) (rate(http_request_duration_seconds_sum[5m])) / sum by (service) "
       "(rate(http_request_duration_seconds_count[5m])) > %",
       "0.1", "0.3", "{{ $labels.service }} mean latency {{ $value | humanize }}s"},
      {"CpuSaturated", "rate(cpu_seconds_total[5m]) > %", "0.8", "0.95",
       "{{ $labels.pod }} uses {{ $value | humanizePercentage }} of a core"},
      {"MemoryHigh", "memory_usage_bytes > %", "1.5e9", "2e9",
       "{{ $labels.pod }} uses {{ $value | humanize1024 }}B"},
      {"JobFailureRate", "sum by (service) (rate(jobs_failed_total[5m])) > %", "5", "20",
       "{{ $labels.service }} fails {{ $value | humanize }} jobs/s"},
      {"TrafficDrop", "sum by (service) (rate(http_requests_total[5m])) < %", "50", "10",
       "{{ $labels.service }} serves {{ $value | humanize }} req/s"},
      {"QueueDepthTotal", "sum by (service) (queue_depth) > %", "13000", "20000",
       "{{ $labels.service }} holds {{ $value }} jobs"},
      {"Slow404", "sum by (service) (increase(http_requests_total{code=\"404\"}[5m])) > %", "3000",
       "10000", "{{ $labels.service }}: {{ $value | humanize }} not found in 5m"},
  };
  for (const Global& g : globals) {
    for (int crit = 0; crit < 2; ++crit) {
      std::string expr = g.expr;
      expr.replace(expr.find('%'), 1, crit != 0 ? g.crit : g.warn);
      rule(std::string(g.name) + (crit != 0 ? "Critical" : "Warning"), expr, crit ? "5m" : "10m",
           crit != 0 ? "critical" : "warning", g.summary);
    }
  }
  return y;
}

}  // namespace vigil_bench
