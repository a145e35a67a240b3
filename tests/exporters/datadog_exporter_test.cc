// DatadogExporter against a local receiver (vigil's admin server standing in for
// api.datadoghq.com): headers, gzip, the decoded series with hand-computed count deltas,
// payload splitting, and faults (receiver down, hanging, 500, 429 with Retry-After, 400).
#include "vigil/exporters/datadog_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/detail/gzip.h"
#include "fake_collector.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"

namespace vigil::exporters {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using testing::Clock;

constexpr const char* kKey = "dd-secret-key-0123456789";

struct Request {
  std::string body;  // decoded (gunzipped when Content-Encoding: gzip)
  std::size_t wire_bytes = 0;
  std::string api_key, content_type, content_encoding;
  Clock::time_point at;
};

// A Datadog intake: POST /api/v2/series, answers scripted per request number.
class FakeDatadog {
 public:
  using Responder = std::function<admin::Response(int n)>;
  explicit FakeDatadog(Responder respond = {})
      : respond_(std::move(respond)),
        server_({.listen = "127.0.0.1:0", .threads = 2, .max_request_body_bytes = 8u << 20}) {
    server_.handle("/api/v2/series",
                   [this](const admin::Request& req) {
                     Request r;
                     r.wire_bytes = req.body.size();
                     r.api_key = std::string(req.header("DD-API-KEY").value_or(""));
                     r.content_type = std::string(req.header("Content-Type").value_or(""));
                     r.content_encoding = std::string(req.header("Content-Encoding").value_or(""));
                     r.at = Clock::now();
                     if (r.content_encoding == "gzip") {
                       auto plain = vigil::detail::gunzip(req.body);
                       r.body = plain ? *plain : "<bad gzip>";
                     } else {
                       r.body = std::string(req.body);
                     }
                     int n = 0;
                     {
                       std::lock_guard lock(mu_);
                       n = static_cast<int>(received_.size());
                       received_.push_back(std::move(r));
                     }
                     if (respond_) return respond_(n);
                     return admin::Response{.status = 202,
                                            .content_type = "application/json",
                                            .body = "{\"errors\":[]}"};
                   },
                   {.methods = {"POST"}, .access = admin::Access::kPublic});
    server_.start();
  }
  std::string site() const { return server_.url(); }
  std::vector<Request> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  Responder respond_;
  mutable std::mutex mu_;
  std::vector<Request> received_;
  admin::Server server_;
};

// Listening on 127.0.0.1, never accepting: connections complete, no answer ever comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0)
      ADD_FAILURE() << "cannot listen";
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string site() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

DatadogExporterOptions options_for(const std::string& site) {
  DatadogExporterOptions o;
  o.api_key = kKey;
  o.site = site;
  o.retry = {
      .max_attempts = 3, .initial_backoff = milliseconds(10), .max_backoff = milliseconds(20)};
  return o;
}

// counter requests{method} (started at t=990), gauge temperature, histogram latency_seconds
// (bounds 0.1, 1), summary rpc_seconds.
MetricsSnapshot snapshot(double t, double requests, uint64_t h_count, double h_sum,
                         std::vector<uint64_t> h_buckets, double temperature) {
  MetricsSnapshot s;
  s.timestamp = t;
  MetricFamily c{
      .name = "requests", .type = metrics::MetricType::kCounter, .label_names = {"method"}};
  c.points.push_back({.label_values = {"GET"}, .value = requests, .start_time = 990});
  c.points.push_back({.label_values = {""}, .value = 1, .start_time = 990});
  MetricFamily g{.name = "temperature", .unit = "", .type = metrics::MetricType::kGauge};
  g.points.push_back({.value = temperature});
  MetricFamily h{.name = "latency_seconds",
                 .unit = "seconds",
                 .type = metrics::MetricType::kHistogram,
                 .bounds = {0.1, 1}};
  h.points.push_back(
      {.start_time = 990, .count = h_count, .sum = h_sum, .buckets = std::move(h_buckets)});
  MetricFamily sm{.name = "rpc_seconds", .unit = "seconds", .type = metrics::MetricType::kSummary};
  sm.points.push_back(
      {.start_time = 990, .count = 2, .sum = 0.5, .quantiles = {{0.5, 0.2}, {0.99, 0.3}}});
  s.families = {c, g, h, sm};
  return s;
}

// series by metric name + tags.
std::map<std::string, json> by_key(const json& body) {
  std::map<std::string, json> out;
  for (const auto& s : body.at("series")) {
    std::string key = s.at("metric").get<std::string>();
    for (const auto& t : s.value("tags", json::array())) key += "|" + t.get<std::string>();
    out[key] = s;
  }
  return out;
}

TEST(DatadogExporter, SendsSeriesWithHeadersGzipAndCountDeltas) {
  FakeDatadog dd;
  auto o = options_for(dd.site());
  o.prefix = "app";
  o.tags = {"env:test"};
  o.host = "web-1";
  DatadogExporter exporter(o);
  EXPECT_EQ(exporter.name(), "datadog");

  auto r1 = exporter.export_metrics(snapshot(1000.4, 10, 4, 2.5, {1, 3, 4}, 3.5),
                                    Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r1.ok) << r1.error;
  auto r2 = exporter.export_metrics(snapshot(1010.4, 25, 7, 4.0, {2, 5, 7}, -1.25),
                                    Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r2.ok) << r2.error;
  // 2 counter series + gauge + histogram count/sum + summary count/sum/2 quantiles.
  EXPECT_EQ(r2.points, 9u);
  EXPECT_EQ(r2.requests, 1u);
  EXPECT_EQ(r2.dropped_points, 0u);

  const auto got = dd.received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.api_key, kKey);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.content_encoding, "gzip");
  }
  EXPECT_EQ(r2.bytes, got[1].wire_bytes);

  auto first = by_key(json::parse(got[0].body));
  auto s = by_key(json::parse(got[1].body));
  ASSERT_EQ(s.size(), 9u) << got[1].body;
  // First export: the whole counter value over the window since the series started.
  EXPECT_EQ(first.at("app.requests|env:test|method:GET").at("points")[0].at("value"), 10.0);
  EXPECT_EQ(first.at("app.requests|env:test|method:GET").at("interval"), 10);

  const json& req = s.at("app.requests|env:test|method:GET");
  EXPECT_EQ(req.at("type"), 1);
  EXPECT_EQ(req.at("interval"), 10);
  EXPECT_EQ(req.at("points")[0].at("timestamp"), 1010);
  EXPECT_EQ(req.at("points")[0].at("value"), 15.0);  // 25 - 10
  EXPECT_EQ(req.at("resources"), json::parse(R"([{"name":"web-1","type":"host"}])"));
  // An empty label value is no tag.
  EXPECT_EQ(s.at("app.requests|env:test").at("points")[0].at("value"), 0.0);

  const json& temp = s.at("app.temperature|env:test");
  EXPECT_EQ(temp.at("type"), 3);
  EXPECT_EQ(temp.at("points")[0].at("value"), -1.25);
  EXPECT_FALSE(temp.contains("interval"));

  const json& hc = s.at("app.latency_seconds.count|env:test");
  EXPECT_EQ(hc.at("type"), 1);
  EXPECT_EQ(hc.at("points")[0].at("value"), 3.0);  // 7 - 4
  const json& hs = s.at("app.latency_seconds.sum|env:test");
  EXPECT_EQ(hs.at("points")[0].at("value"), 1.5);  // 4.0 - 2.5
  EXPECT_EQ(hs.at("unit"), "second");

  EXPECT_EQ(s.at("app.rpc_seconds.count|env:test").at("points")[0].at("value"), 0.0);
  const json& q = s.at("app.rpc_seconds.quantile|env:test|quantile:0.99");
  EXPECT_EQ(q.at("type"), 3);
  EXPECT_EQ(q.at("points")[0].at("value"), 0.3);

  const auto st = exporter.stats();
  EXPECT_EQ(st.exports, 2u);
  EXPECT_EQ(st.requests, 2u);
  EXPECT_EQ(st.points, 18u);
}

TEST(DatadogExporter, HistogramBucketsAndNameSanitising) {
  MetricsSnapshot s;
  s.timestamp = 100;
  MetricFamily h{.name = "rpc:latency", .type = metrics::MetricType::kHistogram, .bounds = {0.5}};
  h.points.push_back({.count = 3, .sum = 1, .buckets = {1, 3}});
  s.families.push_back(h);
  DatadogExporterOptions o;
  o.api_key = "k";
  o.histogram_buckets = true;
  std::vector<uint64_t> points;
  auto bodies = detail::encode_datadog_series(s, o, 1u << 20, points);
  ASSERT_EQ(bodies.size(), 1u);
  auto m = by_key(json::parse(bodies[0]));
  EXPECT_EQ(m.at("rpc_latency.bucket|upper_bound:0.5").at("points")[0].at("value"), 1.0);
  EXPECT_EQ(m.at("rpc_latency.bucket|upper_bound:inf").at("points")[0].at("value"), 3.0);
  EXPECT_EQ(m.at("rpc_latency.count").at("points")[0].at("value"), 3.0);
  EXPECT_EQ(points[0], 4u);
}

TEST(DatadogExporter, EscapesLabelValues) {
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily g{.name = "g", .type = metrics::MetricType::kGauge, .label_names = {"k"}};
  g.points.push_back({.label_values = {"a\"b\nc\xff"}, .value = 2});
  s.families.push_back(g);
  DatadogExporterOptions o;
  o.api_key = "k";
  o.host = "h\"1";
  std::vector<uint64_t> points;
  auto bodies = detail::encode_datadog_series(s, o, 1u << 20, points);
  ASSERT_EQ(bodies.size(), 1u);
  const json body = json::parse(bodies[0]);
  EXPECT_EQ(body["series"][0]["tags"][0], "k:a\"b\nc\xef\xbf\xbd");  // invalid UTF-8: U+FFFD
  EXPECT_EQ(body["series"][0]["resources"][0]["name"], "h\"1");
}

MetricsSnapshot many_gauges(int n, double t = 100) {
  MetricsSnapshot s;
  s.timestamp = t;
  MetricFamily g{.name = "g", .type = metrics::MetricType::kGauge, .label_names = {"id"}};
  for (int i = 0; i < n; ++i) {
    g.points.push_back({.label_values = {"series-" + std::to_string(i)}, .value = i * 1.5});
  }
  s.families.push_back(std::move(g));
  return s;
}

TEST(DatadogExporter, SplitsLargeExportsWithinTheLimits) {
  FakeDatadog dd;
  auto o = options_for(dd.site());
  o.gzip = false;
  o.max_payload_bytes = 4096;
  o.max_uncompressed_bytes = 4096;
  DatadogExporter exporter(o);
  auto r = exporter.export_metrics(many_gauges(500), Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 500u);
  const auto got = dd.received();
  EXPECT_GT(got.size(), 5u);
  EXPECT_EQ(r.requests, got.size());
  std::map<std::string, double> seen;
  for (const auto& req : got) {
    EXPECT_LE(req.wire_bytes, 4096u);
    EXPECT_EQ(req.content_encoding, "");
    const json body = json::parse(req.body);
    for (const auto& s : body.at("series")) {
      const auto tag = s.at("tags")[0].get<std::string>();
      EXPECT_EQ(seen.count(tag), 0u) << tag;
      seen[tag] = s.at("points")[0].at("value").get<double>();
    }
  }
  ASSERT_EQ(seen.size(), 500u);
  EXPECT_EQ(seen.at("id:series-499"), 499 * 1.5);
}

TEST(DatadogExporter, SplitsWhenTheCompressedBodyIsTooLarge) {
  FakeDatadog dd;
  auto o = options_for(dd.site());
  o.max_payload_bytes = 1024;  // compressed
  DatadogExporter exporter(o);
  auto r = exporter.export_metrics(many_gauges(2000), Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 2000u);
  const auto got = dd.received();
  std::size_t series = 0;
  for (const auto& req : got) {
    EXPECT_LE(req.wire_bytes, 1024u);
    EXPECT_EQ(req.content_encoding, "gzip");
    series += json::parse(req.body).at("series").size();
  }
  EXPECT_EQ(series, 2000u);
  EXPECT_GT(got.size(), 2u);
}

TEST(DatadogExporter, ReceiverDownIsCountedAndTheKeyNeverShows) {
  testing::RefusingPort port;
  std::string url = port.endpoint();
  url = url.substr(0, url.find("/v1/traces"));
  auto o = options_for(url);
  o.retry.max_attempts = 2;
  DatadogExporter exporter(o);
  auto r = exporter.export_metrics(many_gauges(10), Clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection");
  EXPECT_EQ(r.dropped_points, 10u);
  EXPECT_EQ(r.points, 0u);
  EXPECT_EQ(r.retries, 1u);
  EXPECT_EQ(r.error.find(kKey), std::string::npos) << r.error;
  EXPECT_EQ(exporter.stats().dropped_points, 10u);
}

TEST(DatadogExporter, HangingReceiverTimesOut) {
  SilentListener silent;
  auto o = options_for(silent.site());
  DatadogExporter exporter(o);
  const auto start = Clock::now();
  auto r = exporter.export_metrics(many_gauges(3), start + milliseconds(300));
  const auto took = Clock::now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(r.dropped_points, 3u);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(r.error.find(kKey), std::string::npos);
}

TEST(DatadogExporter, AbortEndsAHangingExportAtOnce) {
  SilentListener silent;
  DatadogExporter exporter(options_for(silent.site()));
  const auto start = Clock::now();
  ExportOutcome r;
  std::thread t(
      [&] { r = exporter.export_metrics(many_gauges(3), start + std::chrono::seconds(20)); });
  exporter.abort();  // from another thread, before or during the request
  t.join();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "shutdown");
  EXPECT_EQ(r.dropped_points, 3u);
}

TEST(DatadogExporter, RetriesA500ThenSucceeds) {
  FakeDatadog dd([](int n) {
    return n == 0 ? admin::Response{.status = 500, .body = "oops"} : admin::Response{.status = 202};
  });
  DatadogExporter exporter(options_for(dd.site()));
  auto r = exporter.export_metrics(many_gauges(4), Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.retries, 1u);
  EXPECT_EQ(r.points, 4u);
  const auto got = dd.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body);
}

TEST(DatadogExporter, HonoursRetryAfterOn429) {
  FakeDatadog dd([](int n) {
    if (n == 0) return admin::Response{.status = 429, .headers = {{"Retry-After", "1"}}};
    return admin::Response{.status = 202};
  });
  DatadogExporter exporter(options_for(dd.site()));  // backoff 10 ms: the wait is Retry-After's
  auto r = exporter.export_metrics(many_gauges(2), Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.retries, 1u);
  const auto got = dd.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[1].at - got[0].at, milliseconds(900));
}

TEST(DatadogExporter, Does400NotRetryAndCountsTheDrop) {
  FakeDatadog dd([](int) {
    // A receiver that echoes the key back must not get it into the error text.
    return admin::Response{.status = 400,
                           .content_type = "application/json",
                           .body = std::string("{\"errors\":[\"bad payload for ") + kKey + "\"]}"};
  });
  DatadogExporter exporter(options_for(dd.site()));
  auto r = exporter.export_metrics(many_gauges(5), Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_EQ(r.retries, 0u);
  EXPECT_EQ(r.dropped_points, 5u);
  EXPECT_EQ(dd.received().size(), 1u);
  EXPECT_NE(r.error.find("HTTP 400"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("bad payload"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find(kKey), std::string::npos) << r.error;
  const auto st = exporter.stats();
  EXPECT_EQ(st.failed_exports, 1u);
  EXPECT_EQ(st.dropped_points, 5u);
  EXPECT_EQ(st.last_error.find(kKey), std::string::npos);
}

TEST(DatadogExporter, Is403NotRetried) {
  FakeDatadog dd([](int) { return admin::Response{.status = 403, .body = "Forbidden"}; });
  DatadogExporter exporter(options_for(dd.site()));
  auto r = exporter.export_metrics(many_gauges(1), Clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(dd.received().size(), 1u);
}

TEST(DatadogExporterOptions, EndpointFromSite) {
  DatadogExporterOptions o;
  EXPECT_EQ(o.endpoint(), "https://api.datadoghq.com/api/v2/series");
  o.site = "datadoghq.eu";
  EXPECT_EQ(o.endpoint(), "https://api.datadoghq.eu/api/v2/series");
  o.site = "http://127.0.0.1:8080/";
  EXPECT_EQ(o.endpoint(), "http://127.0.0.1:8080/api/v2/series");
  o.url = "http://proxy:1/x";
  EXPECT_EQ(o.endpoint(), "http://proxy:1/x");
}

TEST(DatadogExporterOptions, ValidateNamesTheRule) {
  DatadogExporterOptions o;
  EXPECT_THROW(o.validate(), Error);  // no key
  o.api_key = "k";
  EXPECT_NO_THROW(o.validate());
  o.site = "not a site";
  EXPECT_THROW(o.validate(), Error);
  o.site = "datadoghq.com";
  o.tags = {""};
  EXPECT_THROW(o.validate(), Error);
  o.tags = {};
  o.max_payload_bytes = 10;
  EXPECT_THROW(o.validate(), Error);
  o.max_payload_bytes = 512000;
  o.url = "ftp://x";
  EXPECT_THROW(o.validate(), Error);
  try {
    DatadogExporterOptions bad;
    bad.api_key = "k";
    bad.retry.max_attempts = 0;
    bad.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_attempts"), std::string::npos);
  }
}

TEST(DatadogExporterOptions, FromEnvironment) {
  std::vector<std::string> warnings;
  auto warn = [&](std::string_view w) { warnings.emplace_back(w); };
  EXPECT_FALSE(DatadogExporterOptions::from_environment(
      trace::Environment(std::map<std::string, std::string, std::less<>>{}, warn)));

  auto o = DatadogExporterOptions::from_environment(
      trace::Environment({{"DD_API_KEY", "abc"},
                          {"DD_SITE", "datadoghq.eu"},
                          {"DD_TAGS", "env:prod team:core"},
                          {"VIGIL_DATADOG_PREFIX", "svc"},
                          {"DD_HOSTNAME", "h"}},
                         warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->api_key, "abc");
  EXPECT_EQ(o->endpoint(), "https://api.datadoghq.eu/api/v2/series");
  EXPECT_EQ(o->tags, (std::vector<std::string>{"env:prod", "team:core"}));
  EXPECT_EQ(o->prefix, "svc");
  EXPECT_EQ(o->host, "h");
  EXPECT_NO_THROW(o->validate());

  o = DatadogExporterOptions::from_environment(
      trace::Environment({{"VIGIL_DATADOG_API_KEY", "k2"},
                          {"DD_API_KEY", "k1"},
                          {"VIGIL_DATADOG_SITE", "us3.datadoghq.com"},
                          {"DD_SITE", "datadoghq.eu"},
                          {"VIGIL_DATADOG_TAGS", "a:1,b:2"},
                          {"DD_TAGS", "c:3"},
                          {"VIGIL_DATADOG_URL", "http://127.0.0.1:9/api/v2/series"},
                          {"VIGIL_DATADOG_GZIP", "false"},
                          {"VIGIL_DATADOG_HISTOGRAM_BUCKETS", "yes"}},
                         warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->api_key, "k2");
  EXPECT_EQ(o->site, "us3.datadoghq.com");
  EXPECT_EQ(o->endpoint(), "http://127.0.0.1:9/api/v2/series");
  EXPECT_EQ(o->tags, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_FALSE(o->gzip);
  EXPECT_FALSE(o->histogram_buckets);  // "yes" is not a boolean: warned, default kept
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].find("k2"), std::string::npos);

  warnings.clear();
  EXPECT_FALSE(DatadogExporterOptions::from_environment(
      trace::Environment({{"DD_API_KEY", "abc"}, {"DD_SITE", "bad site!"}}, warn)));
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].find("abc"), std::string::npos);
}

}  // namespace
}  // namespace vigil::exporters
