// PushgatewayExporter: group paths (the README's base64 cases), the text body, options and the
// environment, and delivery against a local fake Pushgateway (vigil's admin server): methods,
// headers, faults (down, hanging, 500, 429 with Retry-After, 400), abort and close.
#include "vigil/exporters/pushgateway_exporter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_collector.h"
#include "snapshot_builders.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Paths

TEST(PushgatewayPath, PlainJobAndLabels) {
  EXPECT_EQ(pushgateway_group_path("batch", {}), "/metrics/job/batch");
  EXPECT_EQ(pushgateway_group_path("batch", {{"instance", "host-1"}, {"zone", "eu_1.a~"}}),
            "/metrics/job/batch/instance/host-1/zone/eu_1.a~");
}

TEST(PushgatewayPath, SlashInValueIsBase64UrlSafe) {
  // The Pushgateway README's example: /var/tmp -> L3Zhci90bXA= (padding is allowed).
  EXPECT_EQ(pushgateway_group_path("directory_cleaner", {{"path", "/var/tmp"}}),
            "/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA=");
  // The URL-safe alphabet (RFC 4648 section 5): '-' where the standard alphabet has '+'.
  EXPECT_EQ(pushgateway_group_path("j", {{"v", "\xc3\xbc/?>~"}}),
            "/metrics/job/j/v@base64/w7wvPz5-");
  // Unicode with a slash.
  EXPECT_EQ(pushgateway_group_path("j", {{"v", "\xe2\x82\xac/x"}}),
            "/metrics/job/j/v@base64/4oKsL3g=");
}

TEST(PushgatewayPath, EmptyValueIsBase64Equals) {
  EXPECT_EQ(pushgateway_group_path("example", {{"first_label", ""}, {"second", "x"}}),
            "/metrics/job/example/first_label@base64/=/second/x");
}

TEST(PushgatewayPath, JobIsEncodedLikeAValue) {
  EXPECT_EQ(pushgateway_group_path("a/b", {}), "/metrics/job@base64/YS9i");
  EXPECT_EQ(pushgateway_group_path("my job", {}), "/metrics/job/my%20job");
}

TEST(PushgatewayPath, UnicodeAndReservedCharactersArePercentEncoded) {
  EXPECT_EQ(pushgateway_group_path("j", {{"name", "Bj\xc3\xb6rn"}}),
            "/metrics/job/j/name/Bj%C3%B6rn");
  EXPECT_EQ(pushgateway_group_path("j", {{"q", "a?b#c%d@e+f"}}),
            "/metrics/job/j/q/a%3Fb%23c%25d%40e%2Bf");
}

TEST(PushgatewayPath, DotSegmentsAreBase64) {
  // "." and ".." would be removed by URL normalisation.
  EXPECT_EQ(pushgateway_group_path("j", {{"a", "."}, {"b", ".."}}),
            "/metrics/job/j/a@base64/Lg==/b@base64/Li4=");
}

// ---------------------------------------------------------------------------------------------
// Body

using vigil::exporters::testing::family;
using vigil::exporters::testing::point;

// A snapshot with one family of each type.
MetricsSnapshot sample_snapshot() {
  MetricsSnapshot s;
  s.timestamp = 1700000000;
  MetricFamily requests = family("requests", metrics::MetricType::kCounter, {"method"});
  requests.help = "Requests served.";
  requests.points.push_back(point({"GET"}, 7));
  requests.points.push_back(point({"PO\"ST\n"}, 2.5));
  MetricPoint with_exemplar = point({"PUT"}, 1);
  with_exemplar.exemplar = ExemplarValue{{{"trace_id", "abc"}}, 1, 1700000000};
  requests.points.push_back(with_exemplar);
  s.families.push_back(requests);

  MetricFamily temp = family("temperature", metrics::MetricType::kGauge);
  temp.help = "Back\\slash";
  temp.points.push_back(point({}, -3.25));
  s.families.push_back(temp);

  MetricFamily latency = family("latency_seconds", metrics::MetricType::kHistogram, {"route"});
  latency.bounds = {0.1, 1};
  MetricPoint h = point({"/a"}, 0);
  h.count = 5;
  h.sum = 2.75;
  h.buckets = {2, 4, 5};
  latency.points.push_back(h);
  s.families.push_back(latency);

  MetricFamily rpc = family("rpc_seconds", metrics::MetricType::kSummary);
  MetricPoint q = point({}, 0);
  q.count = 3;
  q.sum = 1.5;
  q.quantiles = {{0.5, 0.25}, {0.99, 1}};
  rpc.points.push_back(q);
  s.families.push_back(rpc);

  MetricFamily build = family("build", metrics::MetricType::kInfo, {"version"});
  build.points.push_back(point({"1.2.3"}, 1));
  s.families.push_back(build);

  s.families.push_back(family("empty", metrics::MetricType::kGauge));  // no series: not written
  return s;
}

PushgatewayExporterOptions base_options() {
  PushgatewayExporterOptions o;
  o.url = "http://127.0.0.1:9";
  o.job = "test";
  return o;
}

TEST(PushgatewayBody, PrometheusTextOfEveryType) {
  PushgatewayExporterOptions o = base_options();
  o.prefix = "app_";
  o.const_labels = {{"region", "eu"}};
  const PushgatewayBody body = encode_pushgateway_body(sample_snapshot(), o);
  EXPECT_EQ(body.text,
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{region=\"eu\",method=\"GET\"} 7\n"
            "app_requests_total{region=\"eu\",method=\"PO\\\"ST\\n\"} 2.5\n"
            "app_requests_total{region=\"eu\",method=\"PUT\"} 1\n"
            "# HELP app_temperature Back\\\\slash\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature{region=\"eu\"} -3.25\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{region=\"eu\",route=\"/a\",le=\"0.1\"} 2\n"
            "app_latency_seconds_bucket{region=\"eu\",route=\"/a\",le=\"1\"} 4\n"
            "app_latency_seconds_bucket{region=\"eu\",route=\"/a\",le=\"+Inf\"} 5\n"
            "app_latency_seconds_sum{region=\"eu\",route=\"/a\"} 2.75\n"
            "app_latency_seconds_count{region=\"eu\",route=\"/a\"} 5\n"
            "# TYPE app_rpc_seconds summary\n"
            "app_rpc_seconds{region=\"eu\",quantile=\"0.5\"} 0.25\n"
            "app_rpc_seconds{region=\"eu\",quantile=\"0.99\"} 1\n"
            "app_rpc_seconds_sum{region=\"eu\"} 1.5\n"
            "app_rpc_seconds_count{region=\"eu\"} 3\n"
            "# TYPE app_build_info gauge\n"
            "app_build_info{region=\"eu\",version=\"1.2.3\"} 1\n");
  EXPECT_EQ(body.points, 7u);
  EXPECT_EQ(body.refused_points, 0u);
  EXPECT_EQ(body.error, "");
}

TEST(PushgatewayBody, FamiliesCarryingAGroupingLabelAreLeftOut) {
  PushgatewayExporterOptions o = base_options();
  o.grouping_key = {{"instance", "h1"}};
  MetricsSnapshot s;
  MetricFamily bad = family("per_instance", metrics::MetricType::kGauge, {"instance"});
  bad.points = {point({"a"}, 1), point({"b"}, 2)};
  MetricFamily job = family("jobbed", metrics::MetricType::kGauge, {"job"});
  job.points = {point({"x"}, 1)};
  MetricFamily good = family("fine", metrics::MetricType::kGauge);
  good.points = {point({}, 3)};
  s.families = {bad, job, good};
  const PushgatewayBody body = encode_pushgateway_body(s, o);
  EXPECT_EQ(body.text, "# TYPE fine gauge\nfine 3\n");
  EXPECT_EQ(body.points, 1u);
  EXPECT_EQ(body.refused_points, 3u);
  EXPECT_EQ(body.refused_families, 2u);
  EXPECT_NE(body.error.find("metric 'per_instance' carries label 'instance'"), std::string::npos)
      << body.error;
  EXPECT_NE(body.error.find("grouping key"), std::string::npos) << body.error;
}

TEST(PushgatewayBody, LabelTwiceAndMismatchedSeriesAreLeftOut) {
  PushgatewayExporterOptions o = base_options();
  o.const_labels = {{"env", "prod"}};
  MetricsSnapshot s;
  MetricFamily twice = family("twice", metrics::MetricType::kGauge, {"env"});
  twice.points = {point({"dev"}, 1)};
  MetricFamily odd = family("odd", metrics::MetricType::kGauge, {"a"});
  odd.points = {point({"x", "y"}, 1), point({"z"}, 2)};
  s.families = {twice, odd};
  const PushgatewayBody body = encode_pushgateway_body(s, o);
  EXPECT_EQ(body.text, "# TYPE odd gauge\nodd{env=\"prod\",a=\"z\"} 2\n");
  EXPECT_EQ(body.points, 1u);
  EXPECT_EQ(body.refused_points, 2u);
  EXPECT_NE(body.error.find("'twice' has label 'env' twice"), std::string::npos) << body.error;
}

// ---------------------------------------------------------------------------------------------
// Options

void expect_invalid(const PushgatewayExporterOptions& o, const std::string& fragment) {
  try {
    o.validate();
    ADD_FAILURE() << "no error; expected one containing: " << fragment;
  } catch (const vigil::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(PushgatewayOptions, Validate) {
  EXPECT_NO_THROW(base_options().validate());
  auto o = base_options();
  o.job = "";
  expect_invalid(o, "job must not be empty");
  o = base_options();
  o.url = "ftp://x";
  expect_invalid(o, "must start with http:// or https://");
  o.url = "http://user:secret@gw:9091";
  expect_invalid(o, "user:password@");
  o.url = "http://gw:9091/?x=1";
  expect_invalid(o, "query or fragment");
  o = base_options();
  o.grouping_key = {{"job", "x"}};
  expect_invalid(o, "grouping label 'job'");
  o.grouping_key = {{"bad-name", "x"}};
  expect_invalid(o, "'bad-name' is not a valid label name");
  o.grouping_key = {{"a", "1"}, {"a", "2"}};
  expect_invalid(o, "'a' appears twice");
  o.grouping_key = {{"a", "\xff"}};
  expect_invalid(o, "not valid UTF-8");
  o = base_options();
  o.grouping_key = {{"instance", "h"}};
  o.const_labels = {{"instance", "h"}};
  expect_invalid(o, "constant label 'instance' is a grouping label");
  o.const_labels = {{"job", "h"}};
  expect_invalid(o, "constant label 'job' is a grouping label");
  o = base_options();
  o.prefix = "9x";
  expect_invalid(o, "prefix '9x'");
  o = base_options();
  o.headers = {{"bad header", "v"}};
  expect_invalid(o, "header name 'bad header'");
  o = base_options();
  o.timeout = milliseconds(0);
  expect_invalid(o, "timeout must be positive");
  o = base_options();
  o.retry.max_attempts = 0;
  expect_invalid(o, "retry.max_attempts");
  // The constructor validates.
  o = base_options();
  o.job = "";
  EXPECT_THROW(PushgatewayExporter{o}, vigil::Error);
}

trace::Environment env_of(std::map<std::string, std::string, std::less<>> vars,
                          std::vector<std::string>* warnings) {
  return trace::Environment(std::move(vars), [warnings](std::string_view m) {
    if (warnings != nullptr) warnings->emplace_back(m);
  });
}

TEST(PushgatewayOptions, FromEnvironmentOffWhenUrlUnset) {
  std::vector<std::string> warnings;
  EXPECT_FALSE(PushgatewayExporterOptions::from_environment(
                   env_of({{"VIGIL_PUSHGATEWAY_JOB", "x"}}, &warnings))
                   .has_value());
  EXPECT_TRUE(warnings.empty());
}

TEST(PushgatewayOptions, FromEnvironmentReadsEveryVariable) {
  std::vector<std::string> warnings;
  auto o = PushgatewayExporterOptions::from_environment(
      env_of({{"VIGIL_PUSHGATEWAY_URL", "http://gw:9091/"},
              {"VIGIL_PUSHGATEWAY_JOB", "nightly"},
              {"VIGIL_PUSHGATEWAY_GROUPING", "instance=db-1, path=%2Fvar%2Ftmp,empty="},
              {"VIGIL_PUSHGATEWAY_METHOD", "POST"},
              {"VIGIL_PUSHGATEWAY_DELETE_ON_SHUTDOWN", "true"},
              {"VIGIL_PUSHGATEWAY_USERNAME", "u"},
              {"VIGIL_PUSHGATEWAY_PASSWORD", "p"},
              {"VIGIL_PUSHGATEWAY_HEADERS", "x-team=core"},
              {"VIGIL_PUSHGATEWAY_TIMEOUT", "1500"},
              {"OTEL_SERVICE_NAME", "ignored"}},
             &warnings));
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(o->url, "http://gw:9091");
  EXPECT_EQ(o->job, "nightly");
  const std::vector<std::pair<std::string, std::string>> grouping = {
      {"instance", "db-1"}, {"path", "/var/tmp"}, {"empty", ""}};
  EXPECT_EQ(o->grouping_key, grouping);
  EXPECT_EQ(o->method, PushgatewayMethod::kPost);
  EXPECT_TRUE(o->delete_on_close);
  EXPECT_EQ(o->basic_auth_username, "u");
  EXPECT_EQ(o->basic_auth_password, "p");
  ASSERT_EQ(o->headers.size(), 1u);
  EXPECT_EQ(o->headers[0].first, "x-team");
  EXPECT_EQ(o->timeout, milliseconds(1500));
  PushgatewayExporter exporter(*o);
  EXPECT_EQ(exporter.group_url(),
            "http://gw:9091/metrics/job/nightly/instance/db-1/path@base64/L3Zhci90bXA=/"
            "empty@base64/=");
}

TEST(PushgatewayOptions, FromEnvironmentDefaultsAndBadValues) {
  std::vector<std::string> warnings;
  auto o = PushgatewayExporterOptions::from_environment(
      env_of({{"VIGIL_PUSHGATEWAY_URL", "http://gw:9091"},
              {"OTEL_SERVICE_NAME", "checkout"},
              {"VIGIL_PUSHGATEWAY_GROUPING", "ok=1,bad-name=2,job=3,novalue"},
              {"VIGIL_PUSHGATEWAY_METHOD", "patch"},
              {"VIGIL_PUSHGATEWAY_DELETE_ON_SHUTDOWN", "maybe"}},
             &warnings));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->job, "checkout");
  ASSERT_EQ(o->grouping_key.size(), 1u);
  EXPECT_EQ(o->grouping_key[0].first, "ok");
  EXPECT_EQ(o->method, PushgatewayMethod::kPut);
  EXPECT_FALSE(o->delete_on_close);
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_NE(all.find("bad-name"), std::string::npos) << all;
  EXPECT_NE(all.find("job"), std::string::npos) << all;
  EXPECT_NE(all.find("novalue"), std::string::npos) << all;
  EXPECT_NE(all.find("VIGIL_PUSHGATEWAY_METHOD='patch'"), std::string::npos) << all;
  EXPECT_NE(all.find("VIGIL_PUSHGATEWAY_DELETE_ON_SHUTDOWN"), std::string::npos) << all;

  // Without a job or service name: the program's name.
  o = PushgatewayExporterOptions::from_environment(
      env_of({{"VIGIL_PUSHGATEWAY_URL", "http://gw:9091"}}, nullptr));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->job, "exporters_pushgateway_exporter_test");

  // A URL that cannot work: a warning, and the exporter stays off.
  warnings.clear();
  o = PushgatewayExporterOptions::from_environment(
      env_of({{"VIGIL_PUSHGATEWAY_URL", "gw:9091"}}, &warnings));
  EXPECT_FALSE(o.has_value());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("http://"), std::string::npos) << warnings[0];
}

// ---------------------------------------------------------------------------------------------
// Delivery against a fake Pushgateway

struct Request {
  std::string method;
  std::string path;
  std::string body;
  std::string content_type;
  std::string authorization;
  std::string team;
  Clock::time_point at;
};

class FakePushgateway {
 public:
  using Responder = std::function<admin::Response(int n)>;
  explicit FakePushgateway(Responder respond = {})
      : respond_(std::move(respond)), server_({.listen = "127.0.0.1:0", .threads = 4}) {
    server_.handle("/metrics/",
                   [this](const admin::Request& req) {
                     int n = 0;
                     {
                       std::lock_guard lock(mu_);
                       n = static_cast<int>(requests_.size());
                       requests_.push_back(Request{
                           std::string(req.method), std::string(req.path), std::string(req.body),
                           std::string(req.header("Content-Type").value_or("")),
                           std::string(req.header("Authorization").value_or("")),
                           std::string(req.header("X-Team").value_or("")), Clock::now()});
                     }
                     cv_.notify_all();
                     if (respond_) return respond_(n);
                     return admin::Response{.status = 200, .body = ""};
                   },
                   {.prefix = true,
                    .methods = {"PUT", "POST", "DELETE"},
                    .access = vigil::admin::Access::kPublic});
    server_.start();
  }
  std::string url() const { return server_.url(); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool wait_for(std::size_t n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

 private:
  Responder respond_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  admin::Server server_;  // last: stopped first
};

// Blocks handlers until release() (or 5 s).
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return open_; });
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

PushgatewayExporterOptions options_for(const std::string& url) {
  PushgatewayExporterOptions o;
  o.url = url;
  o.job = "batch";
  o.grouping_key = {{"instance", "h/1"}};
  o.timeout = milliseconds(3000);
  o.retry.initial_backoff = milliseconds(10);
  o.retry.max_backoff = milliseconds(20);
  return o;
}

MetricsSnapshot small_snapshot() {
  MetricsSnapshot s;
  MetricFamily f = family("jobs_done", metrics::MetricType::kCounter);
  f.points = {point({}, 4)};
  MetricFamily g = family("last_duration_seconds", metrics::MetricType::kGauge);
  g.points = {point({}, 1.5)};
  s.families = {f, g};
  return s;
}

Clock::time_point in(milliseconds d) { return Clock::now() + d; }

TEST(PushgatewayExporter, PutPostDeleteWithHeadersAndAuth) {
  FakePushgateway gw;
  auto o = options_for(gw.url());
  o.basic_auth_username = "u";
  o.basic_auth_password = "p";
  o.headers = {{"X-Team", "core"}};
  PushgatewayExporter exporter(o);
  EXPECT_EQ(exporter.name(), "pushgateway");

  ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(3000)));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 2u);
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.retries, 0u);
  r = exporter.push_add(small_snapshot(), in(milliseconds(3000)));
  EXPECT_TRUE(r.ok) << r.error;
  r = exporter.delete_group(in(milliseconds(3000)));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 0u);

  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 3u);
  const std::string body =
      "# TYPE jobs_done_total counter\njobs_done_total 4\n"
      "# TYPE last_duration_seconds gauge\nlast_duration_seconds 1.5\n";
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].path, "/metrics/job/batch/instance@base64/aC8x");
  EXPECT_EQ(reqs[0].body, body);
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(reqs[0].content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(reqs[0].authorization, "Basic dTpw");
  EXPECT_EQ(reqs[0].team, "core");
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].body, body);
  EXPECT_EQ(reqs[2].method, "DELETE");
  EXPECT_EQ(reqs[2].path, reqs[0].path);
  EXPECT_EQ(reqs[2].body, "");

  const auto stats = exporter.stats();
  EXPECT_EQ(stats.pushes, 2u);
  EXPECT_EQ(stats.deletes, 1u);
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.sent_bytes, 2 * body.size());
}

TEST(PushgatewayExporter, ExportMetricsUsesTheConfiguredMethod) {
  FakePushgateway gw;
  auto o = options_for(gw.url());
  PushgatewayExporter put(o);
  EXPECT_TRUE(put.export_metrics(small_snapshot(), in(milliseconds(3000))).ok);
  o.method = PushgatewayMethod::kPost;
  PushgatewayExporter post(o);
  EXPECT_TRUE(post.export_metrics(small_snapshot(), in(milliseconds(3000))).ok);
  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[1].method, "POST");
}

TEST(PushgatewayExporter, PushesARegistry) {
  FakePushgateway gw;
  metrics::Registry registry;
  registry.counter("items_processed_total", "Items.").get().inc(3);
  PushgatewayExporter exporter(options_for(gw.url()));
  const ExportOutcome r = exporter.push(registry);
  EXPECT_TRUE(r.ok) << r.error;
  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].body.find("items_processed_total 3\n"), std::string::npos) << reqs[0].body;
}

TEST(PushgatewayExporter, RefusedFamilyIsACountedFailureAndTheRestIsPushed) {
  FakePushgateway gw;
  PushgatewayExporter exporter(options_for(gw.url()));
  MetricsSnapshot s = small_snapshot();
  MetricFamily bad = family("per_host", metrics::MetricType::kGauge, {"instance"});
  bad.points = {point({"x"}, 1)};
  s.families.push_back(bad);
  const ExportOutcome r = exporter.push(s, in(milliseconds(3000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "rejected");
  EXPECT_NE(r.error.find("'per_host' carries label 'instance'"), std::string::npos) << r.error;
  EXPECT_EQ(r.points, 2u);
  EXPECT_EQ(r.dropped_points, 1u);
  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body.find("per_host"), std::string::npos);
  EXPECT_EQ(exporter.stats().failures, 1u);
  EXPECT_EQ(exporter.stats().refused_points, 1u);
}

TEST(PushgatewayExporter, DownIsAConnectionFailureWithinTheDeadline) {
  testing::RefusingPort port;
  std::string url = port.endpoint();
  url.resize(url.size() - std::string("/v1/traces").size());
  auto o = options_for(url);
  o.timeout = milliseconds(500);
  PushgatewayExporter exporter(o);
  const auto start = Clock::now();
  const ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(5000)));
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason == "connection" || r.reason == "timeout") << r.reason;
  EXPECT_EQ(r.dropped_points, 2u);
  EXPECT_EQ(r.points, 0u);
  EXPECT_GE(r.requests, 1u);
  EXPECT_NE(r.error.find("Pushgateway PUT http://127.0.0.1:"), std::string::npos) << r.error;
}

// One export against a Pushgateway that never answers: with `timeout` and a caller's deadline
// `deadline` from now. Returns the outcome and how long the call took.
std::pair<ExportOutcome, Clock::duration> export_to_hanging(milliseconds timeout,
                                                            milliseconds deadline) {
  Gate gate;
  FakePushgateway gw([&](int) {
    gate.wait();
    return admin::Response{};
  });
  auto o = options_for(gw.url());
  o.timeout = timeout;
  PushgatewayExporter exporter(o);
  const auto start = Clock::now();
  const ExportOutcome r = exporter.export_metrics(small_snapshot(), in(deadline));
  const auto took = Clock::now() - start;
  gate.release();
  return {r, took};
}

TEST(PushgatewayExporter, HangingPushgatewayTimesOut) {
  const auto [r, took] = export_to_hanging(milliseconds(300), milliseconds(5000));
  EXPECT_LT(took, milliseconds(1200));
  EXPECT_GE(took, milliseconds(250));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(r.dropped_points, 2u);
}

TEST(PushgatewayExporter, TheCallersDeadlineWinsOverTheTimeout) {
  const auto [r, took] = export_to_hanging(milliseconds(10000), milliseconds(300));
  EXPECT_LT(took, milliseconds(1200));
  EXPECT_GE(took, milliseconds(250));
  EXPECT_EQ(r.reason, "timeout");
}

TEST(PushgatewayExporter, ServerErrorIsRetried) {
  FakePushgateway gw([](int n) {
    return admin::Response{.status = n == 0 ? 500 : 200, .body = n == 0 ? "boom" : ""};
  });
  PushgatewayExporter exporter(options_for(gw.url()));
  const ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(3000)));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.requests, 2u);
  EXPECT_EQ(r.retries, 1u);
  EXPECT_EQ(gw.requests().size(), 2u);
  EXPECT_EQ(exporter.stats().retries, 1u);
}

TEST(PushgatewayExporter, TooManyRequestsHonoursRetryAfter) {
  FakePushgateway gw([](int n) {
    if (n == 0) {
      return admin::Response{.status = 429, .body = "slow down", .headers = {{"Retry-After", "1"}}};
    }
    return admin::Response{};
  });
  PushgatewayExporter exporter(options_for(gw.url()));
  const ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(3000)));
  EXPECT_TRUE(r.ok) << r.error;
  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 2u);
  // The backoff is 10-20 ms; the wait of ~1 s is the Retry-After.
  EXPECT_GE(reqs[1].at - reqs[0].at, milliseconds(900));
}

TEST(PushgatewayExporter, RetryAfterPastTheDeadlineFailsAtOnce) {
  FakePushgateway gw([](int) {
    return admin::Response{.status = 429, .headers = {{"Retry-After", "30"}}};
  });
  PushgatewayExporter exporter(options_for(gw.url()));
  const auto start = Clock::now();
  const ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(3000)));
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_NE(r.error.find("HTTP 429"), std::string::npos) << r.error;
  EXPECT_EQ(gw.requests().size(), 1u);
}

TEST(PushgatewayExporter, BadRequestIsNotRetriedAndCounted) {
  FakePushgateway gw([](int) {
    return admin::Response{.status = 400,
                           .body =
                               "pushed metrics are invalid or inconsistent with existing "
                               "metrics: collected metric \"x\" ...\n"};
  });
  PushgatewayExporter exporter(options_for(gw.url()));
  const ExportOutcome r = exporter.push(small_snapshot(), in(milliseconds(3000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.dropped_points, 2u);
  EXPECT_NE(r.error.find("HTTP 400 (pushed metrics are invalid"), std::string::npos) << r.error;
  EXPECT_EQ(gw.requests().size(), 1u);
  const auto stats = exporter.stats();
  EXPECT_EQ(stats.failures, 1u);
  EXPECT_EQ(stats.pushes, 0u);
  EXPECT_EQ(stats.last_error, r.error);
}

TEST(PushgatewayExporter, AbortEndsACallInFlightAndLaterCalls) {
  Gate gate;
  FakePushgateway gw([&](int) {
    gate.wait();
    return admin::Response{};
  });
  auto o = options_for(gw.url());
  o.timeout = milliseconds(10000);
  o.delete_on_close = true;
  PushgatewayExporter exporter(o);
  ExportOutcome r;
  std::thread t([&] { r = exporter.push(small_snapshot(), in(milliseconds(10000))); });
  ASSERT_TRUE(gw.wait_for(1, milliseconds(3000)));
  const auto start = Clock::now();
  exporter.abort();
  t.join();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  gate.release();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "shutdown");
  EXPECT_EQ(r.dropped_points, 2u);
  r = exporter.push(small_snapshot(), in(milliseconds(1000)));
  EXPECT_EQ(r.reason, "shutdown");
  EXPECT_EQ(r.requests, 0u);
  exporter.close();  // no DELETE after abort
  EXPECT_EQ(gw.requests().size(), 1u);
}

TEST(PushgatewayExporter, CloseDeletesTheGroupWhenAskedOnce) {
  FakePushgateway gw;
  auto o = options_for(gw.url());
  {
    PushgatewayExporter keep(o);
    keep.close();
  }
  EXPECT_TRUE(gw.requests().empty());
  o.delete_on_close = true;
  PushgatewayExporter exporter(o);
  exporter.close();
  exporter.close();
  const auto reqs = gw.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "DELETE");
  EXPECT_EQ(reqs[0].path, "/metrics/job/batch/instance@base64/aC8x");
}

}  // namespace
}  // namespace vigil::exporters
