// Remote write into a real Prometheus (label integration, driven by
// remote_write_prometheus_test.sh, which starts Prometheus 2.42 with
// --web.enable-remote-write-receiver on 127.0.0.1 and passes its URL in
// VIGIL_TEST_PROMETHEUS_URL). vigil pushes a few exports from real registries; the values read
// back through /api/v1/query equal what vigil held: counters, gauges, histogram_quantile over
// the pushed buckets, a counter reset (a "restarted process": a new registry and exporter) seen
// by resets() and an exact increase(), and a series removed from its family going stale at once.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/detail/http_sender.h"
#include "vigil/core/clock.h"
#include "vigil/exporters/remote_write_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

std::string prometheus_url() {
  const char* url = std::getenv("VIGIL_TEST_PROMETHEUS_URL");
  return url == nullptr ? "" : url;
}

std::string escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out = e == nullptr ? "" : e;
  curl_free(e);
  return out;
}

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// An instant query at `time` (Unix seconds, 0: now).
std::vector<Sample> query(const std::string& expr, double time = 0) {
  std::string url = prometheus_url() + "/api/v1/query?query=" + escape(expr);
  if (time > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", time);
    url += "&time=";
    url += buf;
  }
  vigil::detail::HttpSender get({.url = url, .max_response_bytes = 1 << 20});
  const auto r = get.get(vigil::detail::Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(r.status, 200) << expr << ": " << r.error << r.body;
  std::vector<Sample> out;
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || doc.value("status", "") != "success") {
    ADD_FAILURE() << expr << ": " << r.body;
    return out;
  }
  const auto& data = doc["data"];
  if (data["resultType"] == "scalar") {
    out.push_back({{}, std::stod(data["result"][1].get<std::string>())});
    return out;
  }
  for (const auto& s : data["result"]) {
    Sample x;
    for (const auto& [k, v] : s["metric"].items()) x.labels[k] = v.get<std::string>();
    x.value = std::stod(s["value"][1].get<std::string>());
    out.push_back(std::move(x));
  }
  return out;
}

// The single value of `expr` (fails unless exactly one series).
double value(const std::string& expr, double time = 0) {
  const auto r = query(expr, time);
  EXPECT_EQ(r.size(), 1u) << expr;
  return r.empty() ? std::nan("") : r[0].value;
}

RemoteWriteOptions options() {
  RemoteWriteOptions o;
  o.url = prometheus_url() + "/api/v1/write";
  o.external_labels = {{"instance", "rw-test"}};
  return o;
}

void push(RemoteWriteExporter& exporter, const MetricsSnapshot& s) {
  const ExportOutcome r = exporter.export_metrics(s, ExportClock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_GT(r.points, 0u);
}

// A snapshot of `r` stamped `seconds_ago` before now (whole seconds), so that the tests know the
// samples' times exactly.
MetricsSnapshot snapshot_at(const metrics::Registry& r, double base, double offset) {
  MetricsSnapshot s = collect_snapshot(r);
  s.timestamp = base + offset;
  return s;
}

double base_time() { return std::floor(unix_time_seconds()) - 30; }

class RemoteWritePrometheus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (prometheus_url().empty()) GTEST_SKIP() << "VIGIL_TEST_PROMETHEUS_URL is not set";
  }
};

TEST_F(RemoteWritePrometheus, ValuesReadBackEqualWhatVigilHeld) {
  metrics::Registry r;
  auto& jobs = r.counter("rw_jobs", "Jobs done", {"kind"});
  jobs.labels("a").inc(7);
  jobs.labels("b").inc(3.5);
  r.gauge("rw_queue_depth", "Queue depth").get().set(42);
  auto lat = r.histogram("rw_latency_seconds", "Latency", {}, {.buckets = {0.1, 0.5, 1}}).get();
  for (const double v : {0.05, 0.3, 0.3, 0.7}) lat.observe(v);

  RemoteWriteExporter exporter(options());
  push(exporter, collect_snapshot(r));
  EXPECT_EQ(value(R"(rw_jobs_total{kind="a",instance="rw-test"})"), 7);
  EXPECT_EQ(value(R"(rw_jobs_total{kind="b"})"), 3.5);
  EXPECT_EQ(value("rw_queue_depth"), 42);
  EXPECT_EQ(value("rw_latency_seconds_count"), 4);
  EXPECT_NEAR(value("rw_latency_seconds_sum"), 1.35, 1e-12);
  EXPECT_EQ(value(R"(rw_latency_seconds_bucket{le="0.5"})"), 3);
  // Buckets 1, 3, 4, 4 (+Inf): the median's rank 2 falls in (0.1, 0.5]: 0.1 + 0.4 * 1/2 = 0.3;
  // the 0.9 quantile's rank 3.6 in (0.5, 1]: 0.5 + 0.5 * 0.6 = 0.8.
  EXPECT_NEAR(value("histogram_quantile(0.5, rw_latency_seconds_bucket)"), 0.3, 1e-12);
  EXPECT_NEAR(value("histogram_quantile(0.9, rw_latency_seconds_bucket)"), 0.8, 1e-12);

  // A second export carries the new values.
  jobs.labels("a").inc(3);
  r.gauge("rw_queue_depth", "Queue depth").get().set(-1.5);
  push(exporter, collect_snapshot(r));
  EXPECT_EQ(value(R"(rw_jobs_total{kind="a"})"), 10);
  EXPECT_EQ(value("rw_queue_depth"), -1.5);
  // Metadata and every series reached the TSDB: 2 counters, 1 gauge, 4 buckets + count + sum.
  EXPECT_EQ(value(R"(count({instance="rw-test", __name__=~"rw_(jobs|queue|latency).*"}))"), 9);
}

TEST_F(RemoteWritePrometheus, ACounterResetIsSeenByResetsAndIncrease) {
  // First process: 10, then 30.
  metrics::Registry r1;
  auto c1 = r1.counter("rw_restarts", "Work units").get();
  RemoteWriteExporter e1(options());
  const double t = base_time();
  c1.inc(10);
  push(e1, snapshot_at(r1, t, 0));
  c1.inc(20);
  push(e1, snapshot_at(r1, t, 5));
  // The process restarts: a new registry and exporter, 5, then 15.
  metrics::Registry r2;
  auto c2 = r2.counter("rw_restarts", "Work units").get();
  RemoteWriteExporter e2(options());
  c2.inc(5);
  push(e2, snapshot_at(r2, t, 10));
  c2.inc(10);
  push(e2, snapshot_at(r2, t, 15));

  // A range that starts exactly at the first sample and ends at the last: Prometheus does not
  // extrapolate, so increase() is the raw increase over the reset: (30 - 10) + 5 + (15 - 5).
  EXPECT_EQ(value("resets(rw_restarts_total[15s])", t + 15), 1);
  EXPECT_NEAR(value("increase(rw_restarts_total[15s])", t + 15), 35, 1e-9);
  EXPECT_NEAR(value("rate(rw_restarts_total[15s])", t + 15), 35.0 / 15, 1e-12);
  EXPECT_EQ(value("rw_restarts_total", t + 15), 15);
  EXPECT_EQ(value("rw_restarts_total", t + 7), 30);
}

TEST_F(RemoteWritePrometheus, ARemovedSeriesGoesStaleAtOnce) {
  metrics::Registry r;
  auto& up = r.gauge("rw_worker_up", "Worker is up", {"worker"});
  up.labels("w1").set(1);
  up.labels("w2").set(1);
  RemoteWriteExporter exporter(options());
  const double t = base_time();
  push(exporter, snapshot_at(r, t, 0));
  ASSERT_TRUE(up.remove("w2"));
  push(exporter, snapshot_at(r, t, 5));
  EXPECT_EQ(exporter.stats().stale_markers, 1u);

  // Both at the first export's time and just before the second; only w1 from the second's on,
  // although w2's last real sample is well within the 5-minute lookback.
  EXPECT_EQ(query("rw_worker_up", t).size(), 2u);
  EXPECT_EQ(query("rw_worker_up", t + 4.999).size(), 2u);
  EXPECT_EQ(query("rw_worker_up", t + 5).size(), 1u);
  const auto now = query("rw_worker_up");
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].labels.at("worker"), "w1");
  EXPECT_EQ(query(R"(rw_worker_up{worker="w2"})").size(), 0u);
}

}  // namespace
}  // namespace vigil::exporters
