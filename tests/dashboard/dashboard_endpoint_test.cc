// Tests of the dashboard endpoint (vigil/admin/dashboard_endpoint.h): the query API's shapes
// and values (hand-computed from samples taken at injected times), its errors in Prometheus'
// shape, escaping of label values, access (read-only without the token on an exposed server),
// the page's headers (CSP without 'unsafe-inline'/'unsafe-eval') and the ring's bounds.
#include "vigil/admin/dashboard_endpoint.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "../admin/http_client.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

using nlohmann::json;
using testing::http;
using testing::HttpResponse;

constexpr int64_t kT0 = 1'700'000'000'000;  // ms

std::string enc(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(DashboardOptions o, std::string listen = "127.0.0.1:0", std::string token = "") {
    if (server_) server_->stop();
    server_ = std::make_unique<Server>(ServerOptions{.listen = listen, .admin_token = token});
    o.sample_thread = false;  // sampled when a query arrives, at the injected time
    o.clock = [this] {
      return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
    };
    add_dashboard_endpoint(*server_, registry_, std::move(o));
    server_->start();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  HttpResponse get(const std::string& path, const std::string& token = "") {
    return http("GET", base_ + path, "", token);
  }
  json get_json(const std::string& path, long want_status = 200) {
    HttpResponse r = get(path);
    EXPECT_EQ(r.status, want_status) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << path;
    return json::parse(r.body);
  }
  // Advances the clock and makes the endpoint take a sample.
  void sample_at(int64_t ms) {
    now_ms_ = ms;
    get_json("/api/v1/query?query=1");
  }
  void expect_bad_data(const std::string& path, const std::string& message_part) {
    json j = get_json(path, 400);
    EXPECT_EQ(j["status"], "error") << path;
    EXPECT_EQ(j["errorType"], "bad_data") << path;
    EXPECT_NE(j["error"].get<std::string>().find(message_part), std::string::npos)
        << path << ": " << j["error"];
  }

  metrics::Registry registry_;
  std::atomic<int64_t> now_ms_{kT0};
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(DashboardTest, RangeQueryOfACounterHasHandComputedValuesAndRate) {
  metrics::Counter c = registry_.counter("jobs", "Jobs done", {"kind"}).labels({"a"});
  sample_at(kT0);  // 0
  c.inc(10);
  sample_at(kT0 + 5000);  // 10
  c.inc(5);
  sample_at(kT0 + 10000);  // 15

  json j = get_json("/api/v1/query_range?query=jobs_total&start=1700000000&end=1700000010&step=5");
  EXPECT_EQ(j, json::parse(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"__name__":"jobs_total","kind":"a"},
       "values":[[1700000000,"0"],[1700000005,"10"],[1700000010,"15"]]}]}})"));

  // rate over [t0, t0+10s]: samples at both ends, 15 in 10 s, no extrapolation: 1.5/s.
  j = get_json("/api/v1/query?query=" + enc("sum(rate(jobs_total[10s]))") + "&time=1700000010");
  EXPECT_EQ(j, json::parse(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"value":[1700000010,"1.5"]}]}})"));

  // RFC 3339 times and a duration step give the same answer; fractional seconds are kept.
  json k = get_json(
      "/api/v1/query_range?query=jobs_total&start=2023-11-14T22:13:20Z"
      "&end=2023-11-14T22:13:30Z&step=5s");
  EXPECT_EQ(k["data"]["result"][0]["values"].size(), 3u);
  j = get_json("/api/v1/query?query=jobs_total&time=1700000007.25");
  EXPECT_EQ(j["data"]["result"][0]["value"][0], 1700000007.25);
  EXPECT_EQ(j["data"]["result"][0]["value"][1], "10");
}

TEST_F(DashboardTest, CachedRangePointsStayAndNewPointsAreAdded) {
  metrics::Gauge g = registry_.gauge("level", "Level").get();
  g.set(1);
  sample_at(kT0);
  g.set(2);
  sample_at(kT0 + 5000);
  const std::string q = "/api/v1/query_range?query=level&start=1700000000&end=1700000015&step=5";
  // Points after the last sample (t0+10 s, t0+15 s) carry the last value by lookback but are
  // not final: they are evaluated again next time.
  EXPECT_EQ(
      get_json(q)["data"]["result"][0]["values"],
      json::parse(R"([[1700000000,"1"],[1700000005,"2"],[1700000010,"2"],[1700000015,"2"]])"));
  g.set(7);
  sample_at(kT0 + 10000);
  EXPECT_EQ(
      get_json(q)["data"]["result"][0]["values"],
      json::parse(R"([[1700000000,"1"],[1700000005,"2"],[1700000010,"7"],[1700000015,"7"]])"));
  // A negative offset reads later samples: its points are not final until those exist.
  const std::string neg = "/api/v1/query_range?query=" + enc("level offset -5s") +
                          "&start=1700000000&end=1700000010&step=5";
  EXPECT_EQ(get_json(neg)["data"]["result"][0]["values"],
            json::parse(R"([[1700000000,"2"],[1700000005,"7"],[1700000010,"7"]])"));
  g.set(9);
  sample_at(kT0 + 15000);
  EXPECT_EQ(get_json(neg)["data"]["result"][0]["values"],
            json::parse(R"([[1700000000,"2"],[1700000005,"7"],[1700000010,"9"]])"));
}

TEST_F(DashboardTest, HistogramQuantileAndScalarAndMatrixShapes) {
  metrics::Histogram h =
      registry_.histogram("lat_seconds", "Latency", {}, {.buckets = {1, 2, 5}}).labels({});
  for (double v : {0.5, 1.5, 1.5, 3.0}) h.observe(v);
  sample_at(kT0);
  // Cumulative 1, 3, 4, 4: rank 2 falls in (1, 2] with 2 of its 3: 1 + (2-1)*(2-1)/(3-1) = 1.5.
  json j = get_json("/api/v1/query?query=" + enc("histogram_quantile(0.5, lat_seconds_bucket)") +
                    "&time=1700000000");
  EXPECT_EQ(j["data"]["result"][0]["value"][1], "1.5");

  j = get_json("/api/v1/query?query=" + enc("1+1") + "&time=1700000000.5");
  EXPECT_EQ(
      j, json::parse(
             R"({"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"2"]}})"));

  j = get_json("/api/v1/query?query=" + enc("lat_seconds_count[1m]") + "&time=1700000000");
  EXPECT_EQ(j["data"]["resultType"], "matrix");
  EXPECT_EQ(j["data"]["result"][0]["values"], json::parse(R"([[1700000000,"4"]])"));

  // A scalar range query is one series without labels.
  j = get_json("/api/v1/query_range?query=" + enc("2*3") +
               "&start=1700000000&end=1700000001&step=1");
  EXPECT_EQ(j["data"]["result"],
            json::parse(R"([{"metric":{},"values":[[1700000000,"6"],[1700000001,"6"]]}])"));
}

TEST_F(DashboardTest, SeriesLabelsLabelValuesMetadataBuildinfo) {
  registry_.gauge("temp_celsius", "Temperature", {"room"})
      .labels({"<script>alert(1)</script>"})
      .set(21);
  registry_.gauge("temp_celsius_max", "Highest", {"room"}).labels({"kitchen \"x\""}).set(30);
  sample_at(kT0);

  json j = get_json("/api/v1/series?match[]=temp_celsius");
  EXPECT_EQ(j, json::parse(R"({"status":"success","data":[
      {"__name__":"temp_celsius","room":"<script>alert(1)</script>"}]})"));
  j = get_json("/api/v1/labels");
  EXPECT_EQ(j["data"], json::parse(R"(["__name__","room"])"));
  j = get_json("/api/v1/label/room/values");
  EXPECT_EQ(j["data"], json::parse(R"(["<script>alert(1)</script>","kitchen \"x\""])"));
  j = get_json("/api/v1/label/room/values?match[]=" + enc("{__name__=\"temp_celsius_max\"}"));
  EXPECT_EQ(j["data"], json::parse(R"(["kitchen \"x\""])"));
  j = get_json("/api/v1/label/__name__/values");
  EXPECT_EQ(j["data"], json::parse(R"(["temp_celsius","temp_celsius_max"])"));

  j = get_json("/api/v1/metadata?metric=temp_celsius");
  EXPECT_EQ(j, json::parse(R"({"status":"success","data":{"temp_celsius":[
      {"type":"gauge","help":"Temperature","unit":"","labels":["room"]}]}})"));
  j = get_json("/api/v1/status/buildinfo");
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["data"]["version"], "2.42.0");
}

TEST_F(DashboardTest, BadInputGets400InPrometheusErrorShape) {
  sample_at(kT0);
  expect_bad_data("/api/v1/query?query=" + enc("sum(("), "invalid parameter \"query\"");
  expect_bad_data("/api/v1/query", "empty query");
  expect_bad_data("/api/v1/query?query=1&time=yesterday", "invalid parameter \"time\"");
  const std::string r = "/api/v1/query_range?query=1";
  expect_bad_data(r + "&start=10&end=5&step=1", "end timestamp must not be before start time");
  expect_bad_data(r + "&start=0&end=5&step=0", "zero or negative query resolution step");
  expect_bad_data(r + "&start=0&end=5&step=-1", "zero or negative query resolution step");
  expect_bad_data(r + "&start=0&end=5&step=fast", "invalid parameter \"step\"");
  expect_bad_data(r + "&end=5&step=1", "invalid parameter \"start\"");
  expect_bad_data(r + "&start=x&end=5&step=1", "invalid parameter \"start\"");
  // 11,000 points at most: 0..11000 s at 1 s is 11,001 points.
  expect_bad_data(r + "&start=0&end=11000&step=1", "exceeded maximum resolution of 11000 points");
  EXPECT_EQ(get(r + "&start=0&end=10999&step=1").status, 200);
  expect_bad_data("/api/v1/query_range?query=" + enc("up[5m]") + "&start=0&end=5&step=1",
                  "invalid expression type \"range vector\" for range query");
  expect_bad_data("/api/v1/series", "no match[] parameter provided");
  expect_bad_data("/api/v1/series?match[]=" + enc("rate(x[1m])"), "is not a series selector");
  expect_bad_data("/api/v1/label/1bad/values", "invalid label name");
  expect_bad_data("/api/v1/query?query=%zz", "malformed query string");
  expect_bad_data("/api/v1/metadata?limit=many", "invalid parameter \"limit\"");

  // An evaluation error is 422 "execution", as Prometheus answers.
  registry_.gauge("a", "a").get().set(1);
  registry_.gauge("b", "b").get().set(1);
  sample_at(kT0 + 5000);
  json j =
      get_json("/api/v1/query?query=" + enc("{__name__=~\"a|b\"} + 1") + "&time=1700000005", 422);
  EXPECT_EQ(j["errorType"], "execution");
  EXPECT_NE(j["error"].get<std::string>().find("same labelset"), std::string::npos) << j;
}

TEST_F(DashboardTest, PageAndFilesCarryAStrictContentSecurityPolicy) {
  for (const std::string path :
       {"/", "/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css",
        "/dashboard/dashboard_lib.js", "/api/v1/query?query=1"}) {
    HttpResponse r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    const std::string csp = r.header("Content-Security-Policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path << ": " << csp;
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << path;
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY") << path;
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << path;
  }
  HttpResponse page = get("/");
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  // No inline script or style: scripts only by src, no style attribute or element.
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  EXPECT_NE(page.body.find("<script src=\"/dashboard/dashboard.js\""), std::string::npos);
  EXPECT_EQ(get("/dashboard/dashboard.js").content_type, "application/javascript; charset=utf-8");
  json cfg = get_json("/dashboard/config.json");
  EXPECT_EQ(cfg["stepMs"], 5000);
  EXPECT_EQ(cfg["paths"]["health"], "/health");
  EXPECT_EQ(cfg["paths"]["guardrails"], "/api/v1/guardrails");
}

TEST_F(DashboardTest, ReadOnlyWithoutTheTokenOnAnExposedServer) {
  start({}, "0.0.0.0:0", "s3cret");  // exposed: /api/ needs the token
  EXPECT_EQ(get("/api/v1/query?query=1").status, 401);
  EXPECT_EQ(get("/api/v1/query?query=1", "s3cret").status, 200);
  EXPECT_EQ(get("/dashboard").status, 200);  // the page holds no data
  // POST (Grafana's default) always needs the token; with it, the form body is read.
  EXPECT_EQ(http("POST", base_ + "/api/v1/query", "query=1%2B2").status, 401);
  HttpResponse r = http("POST", base_ + "/api/v1/query", "query=1%2B2", "s3cret");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["data"]["result"][1], "3");
  // Nothing else is accepted.
  EXPECT_EQ(http("DELETE", base_ + "/api/v1/series?match[]=x", "", "s3cret").status, 405);
}

TEST_F(DashboardTest, RingKeepsAtMostMaxSeriesAndRetention) {
  start({.sample_interval = std::chrono::milliseconds(1000),
         .retention = std::chrono::milliseconds(10000),
         .max_series = 3});
  auto& fam = registry_.gauge("g", "g", {"i"});
  for (int i = 0; i < 5; ++i) fam.labels({std::to_string(i)}).set(i);
  for (int s = 0; s <= 20; ++s) sample_at(kT0 + s * 1000);
  json cfg = get_json("/dashboard/config.json");
  EXPECT_EQ(cfg["ring"]["series"], 3);
  EXPECT_EQ(cfg["ring"]["droppedSeries"], 2);
  // 10 s of retention at 1 s: 11 samples per series kept (t-10 s .. t).
  EXPECT_EQ(cfg["ring"]["samples"], 33);
  json j = get_json("/api/v1/query_range?query=g&start=1700000000&end=1700000020&step=1");
  ASSERT_EQ(j["data"]["result"].size(), 3u);
  // Samples older than the retention are gone; the lookback (5 m) carries the oldest kept one
  // back to nothing: points start at t0+10 s.
  EXPECT_EQ(j["data"]["result"][0]["values"][0][0], 1700000010);
}

TEST(DashboardOptionsTest, OutOfRangeOptionsThrow) {
  metrics::Registry registry;
  Server server({.listen = "127.0.0.1:0"});
  EXPECT_THROW(
      add_dashboard_endpoint(server, registry, {.sample_interval = std::chrono::milliseconds(10)}),
      vigil::Error);
  EXPECT_THROW(
      add_dashboard_endpoint(server, registry, {.retention = std::chrono::milliseconds(1000)}),
      vigil::Error);
  EXPECT_THROW(add_dashboard_endpoint(server, registry, {.max_series = 0}), vigil::Error);
  // Nothing was registered by the failures: a valid call succeeds, a second one throws.
  add_dashboard_endpoint(server, registry, {.sample_thread = false});
  EXPECT_THROW(add_dashboard_endpoint(server, registry, {.sample_thread = false}), vigil::Error);
}

}  // namespace
}  // namespace vigil::admin
