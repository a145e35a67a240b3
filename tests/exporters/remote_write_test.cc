// Prometheus remote write: the requests (snappy-uncompressed and parsed with the classes protoc
// generates from proto/prometheus/*.proto) hold exactly the series, labels, values, timestamps,
// staleness markers and metadata computed by hand; batching; the options and the environment;
// and delivery against an in-process receiver (vigil's admin server): headers, 500 and 429
// retried (Retry-After honoured), 400 not retried, destination down, hanging, abort.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "fake_collector.h"
#include "prometheus/remote.pb.h"
#include "remote_write_encoding.h"
#include "snapshot_builders.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/exporters/remote_write_exporter.h"

namespace vigil::exporters {
namespace {

using metrics::MetricType;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Snapshots built by hand.

using vigil::exporters::testing::family;
using vigil::exporters::testing::point;

MetricsSnapshot sample_snapshot() {
  MetricsSnapshot s;
  s.timestamp = 1700000000.123;
  MetricFamily c = family("http_requests", MetricType::kCounter, {"method", "code"});
  c.help = "Requests served";
  c.points = {point({"GET", "200"}, 5), point({"POST", ""}, 2)};
  MetricFamily g = family("temperature", MetricType::kGauge, {"zone", "Region"});
  g.unit = "celsius";
  g.points = {point({"a", "eu"}, 21.5)};
  MetricFamily h = family("latency_seconds", MetricType::kHistogram);
  h.bounds = {0.1, 1};
  MetricPoint hp;
  hp.count = 4;
  hp.sum = 2.5;
  hp.buckets = {1, 3, 4};
  h.points = {hp};
  MetricFamily sm = family("rpc_seconds", MetricType::kSummary);
  MetricPoint sp;
  sp.count = 10;
  sp.sum = 3;
  sp.quantiles = {{0.5, 0.2}, {0.99, 0.9}};
  sm.points = {sp};
  MetricFamily info = family("build", MetricType::kInfo, {"version"});
  info.points = {point({"1.2"}, 1)};
  MetricFamily empty = family("unused", MetricType::kGauge);
  s.families = {c, g, h, sm, info, empty};
  return s;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

prometheus::WriteRequest decode(const std::string& body, bool compressed = true) {
  std::string raw;
  if (compressed) {
    EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw)) << "not snappy";
  } else {
    raw = body;
  }
  prometheus::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw)) << "not a WriteRequest";
  return req;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// `{a="1",b="2"} value @ms` with the labels in the order they were sent.
std::string show(const prometheus::TimeSeries& ts) {
  std::string out = "{";
  for (int i = 0; i < ts.labels_size(); ++i) {
    if (i > 0) out += ",";
    out += ts.labels(i).name() + "=\"" + ts.labels(i).value() + "\"";
  }
  out += "}";
  for (const auto& s : ts.samples()) {
    out += " " + number(s.value()) + " @" + std::to_string(s.timestamp());
  }
  return out;
}

std::vector<std::string> series_of(const std::vector<detail::RemoteWriteBatch>& batches,
                                   std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto req = decode(batches[i].body);
    for (const auto& ts : req.timeseries()) out.push_back(show(ts));
  }
  return out;
}

detail::RemoteWriteEncoding sample_encoding() {
  detail::RemoteWriteEncoding e;
  e.prefix = "app_";
  e.external_labels = {{"job", "batch"}, {"code", "x"}};
  return e;
}

TEST(RemoteWriteEncoding, SeriesLabelsValuesAndTimestampsAsComputedByHand) {
  detail::RemoteWriteEncoder encoder(sample_encoding());
  std::vector<detail::RemoteWriteBatch> batches;
  ASSERT_EQ(encoder.encode(sample_snapshot(), batches), 1u);
  const std::string t = " @1700000000123";
  // Sorted by label name (bytes: "Region" < "__name__" < "code"); the external `code` yields to
  // the counter's own (and an empty value is left out); one sample per series at the snapshot's
  // time in ms.
  const std::vector<std::string> expected = {
      R"({__name__="app_http_requests_total",code="200",job="batch",method="GET"} 5)" + t,
      R"({__name__="app_http_requests_total",job="batch",method="POST"} 2)" + t,
      R"({Region="eu",__name__="app_temperature",code="x",job="batch",zone="a"} 21.5)" + t,
      R"({__name__="app_latency_seconds_bucket",code="x",job="batch",le="0.1"} 1)" + t,
      R"({__name__="app_latency_seconds_bucket",code="x",job="batch",le="1"} 3)" + t,
      R"({__name__="app_latency_seconds_bucket",code="x",job="batch",le="+Inf"} 4)" + t,
      R"({__name__="app_latency_seconds_count",code="x",job="batch"} 4)" + t,
      R"({__name__="app_latency_seconds_sum",code="x",job="batch"} 2.5)" + t,
      R"({__name__="app_rpc_seconds",code="x",job="batch",quantile="0.5"} 0.20000000000000001)" + t,
      R"({__name__="app_rpc_seconds",code="x",job="batch",quantile="0.99"} 0.90000000000000002)" +
          t,
      R"({__name__="app_rpc_seconds_count",code="x",job="batch"} 10)" + t,
      R"({__name__="app_rpc_seconds_sum",code="x",job="batch"} 3)" + t,
      R"({__name__="app_build_info",code="x",job="batch",version="1.2"} 1)" + t};
  EXPECT_EQ(series_of(batches, 1), expected);
  EXPECT_EQ(batches[0].samples, 13u);
  EXPECT_EQ(batches[0].series, 13u);
  EXPECT_EQ(batches[0].stale_markers, 0u);
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(batches[0].body.data(), batches[0].body.size(), &raw));
  EXPECT_EQ(batches[0].raw_bytes, raw.size());
  EXPECT_LT(batches[0].body.size(), raw.size());

  // Metadata: one per family that has series, with the exposed name, type, help and unit.
  const auto req = decode(batches[0].body);
  ASSERT_EQ(req.metadata_size(), 5);
  using M = prometheus::MetricMetadata;
  EXPECT_EQ(req.metadata(0).type(), M::COUNTER);
  EXPECT_EQ(req.metadata(0).metric_family_name(), "app_http_requests_total");
  EXPECT_EQ(req.metadata(0).help(), "Requests served");
  EXPECT_EQ(req.metadata(1).type(), M::GAUGE);
  EXPECT_EQ(req.metadata(1).metric_family_name(), "app_temperature");
  EXPECT_EQ(req.metadata(1).unit(), "celsius");
  EXPECT_EQ(req.metadata(2).type(), M::HISTOGRAM);
  EXPECT_EQ(req.metadata(2).metric_family_name(), "app_latency_seconds");
  EXPECT_EQ(req.metadata(3).type(), M::SUMMARY);
  EXPECT_EQ(req.metadata(4).type(), M::INFO);
  EXPECT_EQ(req.metadata(4).metric_family_name(), "app_build_info");
}

TEST(RemoteWriteEncoding, WithoutCompressionTheBodyIsTheProtobuf) {
  auto e = sample_encoding();
  e.compress = false;
  e.metadata = false;
  detail::RemoteWriteEncoder encoder(e);
  std::vector<detail::RemoteWriteBatch> batches;
  ASSERT_EQ(encoder.encode(sample_snapshot(), batches), 1u);
  const auto req = decode(batches[0].body, false);
  EXPECT_EQ(req.timeseries_size(), 13);
  EXPECT_EQ(req.metadata_size(), 0);
  EXPECT_EQ(batches[0].raw_bytes, batches[0].body.size());
  // Round trip: the generated serializer writes the same bytes (field order and sizes agree).
  EXPECT_EQ(req.SerializeAsString(), batches[0].body);
}

TEST(RemoteWriteEncoding, StalenessMarkersForSeriesThatDisappear) {
  detail::RemoteWriteEncoder encoder({.metadata = false});
  std::vector<detail::RemoteWriteBatch> batches;
  MetricsSnapshot a;
  a.timestamp = 100.0;
  MetricFamily g = family("queue", MetricType::kGauge, {"q"});
  g.points = {point({"x"}, 1), point({"y"}, 2)};
  a.families = {g};
  ASSERT_EQ(encoder.encode(a, batches), 1u);
  EXPECT_EQ(encoder.tracked_series(), 2u);

  // y is gone; the snapshot has the same timestamp: samples go 1 ms later.
  MetricsSnapshot b = a;
  b.families[0].points = {point({"x"}, 3)};
  ASSERT_EQ(encoder.encode(b, batches), 1u);
  EXPECT_EQ(encoder.last_timestamp_ms(), 100001);
  const auto req = decode(batches[0].body);
  ASSERT_EQ(req.timeseries_size(), 2);
  EXPECT_EQ(show(req.timeseries(0)), R"({__name__="queue",q="x"} 3 @100001)");
  const auto& stale = req.timeseries(1);
  ASSERT_EQ(stale.samples_size(), 1);
  EXPECT_EQ(std::bit_cast<uint64_t>(stale.samples(0).value()), 0x7ff0000000000002ULL);
  EXPECT_EQ(stale.samples(0).timestamp(), 100001);
  ASSERT_EQ(stale.labels_size(), 2);
  EXPECT_EQ(stale.labels(0).name(), "__name__");
  EXPECT_EQ(stale.labels(0).value(), "queue");
  EXPECT_EQ(stale.labels(1).value(), "y");
  EXPECT_EQ(batches[0].stale_markers, 1u);
  EXPECT_EQ(batches[0].samples, 2u);

  // Only once: the next export has no marker. A family that vanishes whole gets markers for all
  // its series (histogram: every bucket, _count and _sum).
  MetricsSnapshot c = b;
  c.timestamp = 200.0;
  MetricFamily h = family("lat", MetricType::kHistogram);
  h.bounds = {1};
  MetricPoint hp;
  hp.count = 1;
  hp.buckets = {1, 1};
  h.points = {hp};
  c.families.push_back(h);
  ASSERT_EQ(encoder.encode(c, batches), 1u);
  EXPECT_EQ(batches[0].stale_markers, 0u);
  EXPECT_EQ(batches[0].samples, 5u);
  MetricsSnapshot d = b;
  d.timestamp = 300.0;
  ASSERT_EQ(encoder.encode(d, batches), 1u);
  EXPECT_EQ(batches[0].stale_markers, 4u);
  const auto req_d = decode(batches[0].body);
  std::vector<std::string> names;
  for (const auto& ts : req_d.timeseries()) {
    if (std::bit_cast<uint64_t>(ts.samples(0).value()) == detail::kStaleNaNBits) {
      names.push_back(ts.labels(0).value() + (ts.labels_size() > 1 ? ts.labels(1).value() : ""));
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("lat_bucket+Inf", "lat_bucket1", "lat_count", "lat_sum"));
}

TEST(RemoteWriteEncoding, AReplacedSeriesAndAReorderedSnapshot) {
  detail::RemoteWriteEncoder encoder({.metadata = false});
  std::vector<detail::RemoteWriteBatch> batches;
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily g = family("g", MetricType::kGauge, {"k"});
  g.points = {point({"x"}, 1), point({"y"}, 2)};
  s.families = {g};
  ASSERT_EQ(encoder.encode(s, batches), 1u);
  // As many series as before, one of them new: y gets a marker, z none.
  s.timestamp = 2;
  s.families[0].points = {point({"x"}, 1), point({"z"}, 3)};
  ASSERT_EQ(encoder.encode(s, batches), 1u);
  EXPECT_THAT(series_of(batches, 1),
              ElementsAre(R"({__name__="g",k="x"} 1 @2000)", R"({__name__="g",k="z"} 3 @2000)",
                          R"({__name__="g",k="y"} nan @2000)"));
  EXPECT_EQ(batches[0].stale_markers, 1u);
  // The same series in another order: nothing vanished.
  s.timestamp = 3;
  s.families[0].points = {point({"z"}, 3), point({"x"}, 1)};
  ASSERT_EQ(encoder.encode(s, batches), 1u);
  EXPECT_EQ(batches[0].stale_markers, 0u);
  EXPECT_EQ(batches[0].samples, 2u);
}

TEST(RemoteWriteEncoding, AnExternalLeOrQuantileYieldsToTheSeriesOwn) {
  detail::RemoteWriteEncoder encoder(
      {.external_labels = {{"le", "x"}, {"quantile", "y"}}, .metadata = false});
  std::vector<detail::RemoteWriteBatch> batches;
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily h = family("h", MetricType::kHistogram);
  h.bounds = {};
  MetricPoint hp;
  hp.count = 2;
  hp.sum = 3;
  hp.buckets = {2};
  h.points = {hp};
  MetricFamily g = family("g", MetricType::kGauge);
  g.points = {point({}, 4)};
  s.families = {h, g};
  ASSERT_EQ(encoder.encode(s, batches), 1u);
  EXPECT_THAT(series_of(batches, 1),
              ElementsAre(R"({__name__="h_bucket",le="+Inf",quantile="y"} 2 @1000)",
                          R"({__name__="h_count",le="x",quantile="y"} 2 @1000)",
                          R"({__name__="h_sum",le="x",quantile="y"} 3 @1000)",
                          R"({__name__="g",le="x",quantile="y"} 4 @1000)"));
}

TEST(RemoteWriteEncoding, ARecordedStaleNaNIsSentAsAnOrdinaryNaN) {
  detail::RemoteWriteEncoder encoder({});
  std::vector<detail::RemoteWriteBatch> batches;
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily g = family("g", MetricType::kGauge);
  g.points = {point({}, std::bit_cast<double>(detail::kStaleNaNBits))};
  s.families = {g};
  ASSERT_EQ(encoder.encode(s, batches), 1u);
  const auto req = decode(batches[0].body);
  const double v = req.timeseries(0).samples(0).value();
  EXPECT_TRUE(std::isnan(v));
  EXPECT_NE(std::bit_cast<uint64_t>(v), detail::kStaleNaNBits);
}

TEST(RemoteWriteEncoding, BatchesHoldAtMostMaxSamples) {
  detail::RemoteWriteEncoder encoder({.max_samples_per_send = 3});
  std::vector<detail::RemoteWriteBatch> batches;
  MetricsSnapshot s;
  s.timestamp = 10;
  MetricFamily a = family("a", MetricType::kGauge, {"i"});
  for (int i = 0; i < 4; ++i) a.points.push_back(point({std::to_string(i)}, i));
  MetricFamily b = family("b", MetricType::kCounter, {"i"});
  for (int i = 0; i < 3; ++i) b.points.push_back(point({std::to_string(i)}, 10 + i));
  s.families = {a, b};
  ASSERT_EQ(encoder.encode(s, batches), 3u);
  EXPECT_EQ(batches[0].samples, 3u);
  EXPECT_EQ(batches[1].samples, 3u);
  EXPECT_EQ(batches[2].samples, 1u);
  EXPECT_THAT(series_of(batches, 3),
              ElementsAre(R"({__name__="a",i="0"} 0 @10000)", R"({__name__="a",i="1"} 1 @10000)",
                          R"({__name__="a",i="2"} 2 @10000)", R"({__name__="a",i="3"} 3 @10000)",
                          R"({__name__="b_total",i="0"} 10 @10000)",
                          R"({__name__="b_total",i="1"} 11 @10000)",
                          R"({__name__="b_total",i="2"} 12 @10000)"));
  // Metadata goes with the request that carries the family's first series.
  EXPECT_EQ(decode(batches[0].body).metadata_size(), 1);
  EXPECT_EQ(decode(batches[1].body).metadata_size(), 1);
  EXPECT_EQ(decode(batches[1].body).metadata(0).metric_family_name(), "b_total");
  EXPECT_EQ(decode(batches[2].body).metadata_size(), 0);

  // Markers count towards the limit too: 7 series gone -> 3 requests of markers.
  MetricsSnapshot empty;
  empty.timestamp = 11;
  ASSERT_EQ(encoder.encode(empty, batches), 3u);
  EXPECT_EQ(batches[0].stale_markers + batches[1].stale_markers + batches[2].stale_markers, 7u);
  ASSERT_EQ(encoder.encode(empty, batches), 0u);  // nothing left to send
}

TEST(RemoteWriteEncoding, ExemplarsWhenAsked) {
  MetricsSnapshot s;
  s.timestamp = 50;
  MetricFamily c = family("jobs", MetricType::kCounter);
  MetricPoint cp = point({}, 7);
  cp.exemplar = ExemplarValue{{{"trace_id", "abc"}}, 1.0, 49.5};
  c.points = {cp};
  MetricFamily h = family("lat", MetricType::kHistogram);
  h.bounds = {1};
  MetricPoint hp;
  hp.count = 2;
  hp.sum = 1.5;
  hp.buckets = {1, 2};
  hp.bucket_exemplars = {std::nullopt, ExemplarValue{{{"span_id", "s1"}}, 1.25, 0}};
  h.points = {hp};
  s.families = {c, h};

  std::vector<detail::RemoteWriteBatch> batches;
  detail::RemoteWriteEncoder without({});
  ASSERT_EQ(without.encode(s, batches), 1u);
  const auto plain = decode(batches[0].body);
  for (const auto& ts : plain.timeseries()) EXPECT_EQ(ts.exemplars_size(), 0);

  detail::RemoteWriteEncoder with({.exemplars = true});
  ASSERT_EQ(with.encode(s, batches), 1u);
  const auto req = decode(batches[0].body);
  ASSERT_EQ(req.timeseries_size(), 5);  // jobs_total, 2 buckets, count, sum
  ASSERT_EQ(req.timeseries(0).exemplars_size(), 1);
  const auto& e0 = req.timeseries(0).exemplars(0);
  EXPECT_EQ(e0.value(), 1.0);
  EXPECT_EQ(e0.timestamp(), 49500);
  ASSERT_EQ(e0.labels_size(), 1);
  EXPECT_EQ(e0.labels(0).name(), "trace_id");
  EXPECT_EQ(e0.labels(0).value(), "abc");
  EXPECT_EQ(req.timeseries(1).exemplars_size(), 0);
  ASSERT_EQ(req.timeseries(2).exemplars_size(), 1);  // le="+Inf"
  EXPECT_EQ(req.timeseries(2).labels(1).value(), "+Inf");
  EXPECT_EQ(req.timeseries(2).exemplars(0).value(), 1.25);
  EXPECT_EQ(req.timeseries(2).exemplars(0).timestamp(), 50000);  // none given: the sample's
}

// ---------------------------------------------------------------------------------------------
// Options and the environment.

RemoteWriteOptions valid() {
  RemoteWriteOptions o;
  o.url = "http://127.0.0.1:9090/api/v1/write";
  return o;
}

void expect_invalid(const RemoteWriteOptions& o, const std::string& text) {
  try {
    o.validate();
    ADD_FAILURE() << "no error; expected one containing: " << text;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("remote write exporter: "));
    EXPECT_THAT(e.what(), HasSubstr(text));
  }
}

TEST(RemoteWriteOptions, ValidateNamesTheRuleBroken) {
  EXPECT_NO_THROW(valid().validate());
  auto o = valid();
  o.url = "ftp://x";
  expect_invalid(o, "url 'ftp://x' must start with http:// or https://");
  o = valid();
  o.headers = {{"Content-Encoding", "gzip"}};
  expect_invalid(o, "header 'Content-Encoding' is set by the exporter");
  o = valid();
  o.headers = {{"bad name", "v"}};
  expect_invalid(o, "is not an HTTP token");
  o = valid();
  o.headers = {{"Authorization", "Bearer x"}};
  o.basic_auth_username = "u";
  expect_invalid(o, "cannot be used together");
  o = valid();
  o.external_labels = {{"__x", "1"}};
  expect_invalid(o, "external label '__x' is not a valid label name");
  o = valid();
  o.external_labels = {{"job", ""}};
  expect_invalid(o, "external label 'job' has an empty value");
  o = valid();
  o.external_labels = {{"job", "a"}, {"job", "b"}};
  expect_invalid(o, "external label 'job' is given twice");
  o = valid();
  o.prefix = "1x";
  expect_invalid(o, "prefix '1x'");
  o = valid();
  o.max_samples_per_send = 0;
  expect_invalid(o, "max_samples_per_send must be at least 1");
  o = valid();
  o.retry.max_attempts = 0;
  expect_invalid(o, "retry.max_attempts");
  EXPECT_THROW(RemoteWriteExporter{o}, Error);
}

using Vars = std::map<std::string, std::string, std::less<>>;

TEST(RemoteWriteOptions, FromEnvironment) {
  std::vector<std::string> warnings;
  const auto warn = [&](std::string_view w) { warnings.emplace_back(w); };
  EXPECT_FALSE(RemoteWriteOptions::from_environment(trace::Environment(Vars{}, warn)));
  EXPECT_FALSE(RemoteWriteOptions::from_environment(
      trace::Environment({{"VIGIL_REMOTE_WRITE_URL", ""}}, warn)));
  EXPECT_TRUE(warnings.empty());

  const auto o = RemoteWriteOptions::from_environment(trace::Environment(
      {{"VIGIL_REMOTE_WRITE_URL", " http://rw:9090/api/v1/write "},
       {"VIGIL_REMOTE_WRITE_HEADERS", "X-Scope-OrgID=t1, bad header=x,Content-Type=y"},
       {"VIGIL_REMOTE_WRITE_BASIC_AUTH", "user:pa:ss"},
       {"VIGIL_REMOTE_WRITE_LABELS", "cluster=eu-1, __bad=1,job=a%20b,empty="},
       {"VIGIL_REMOTE_WRITE_MAX_SAMPLES", "500"}},
      warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->url, "http://rw:9090/api/v1/write");
  EXPECT_EQ(o->headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "t1"}}));
  EXPECT_EQ(o->basic_auth_username, "user");
  EXPECT_EQ(o->basic_auth_password, "pa:ss");
  EXPECT_EQ(o->external_labels, (std::vector<std::pair<std::string, std::string>>{
                                    {"cluster", "eu-1"}, {"job", "a b"}}));
  EXPECT_EQ(o->max_samples_per_send, 500u);
  EXPECT_NO_THROW(o->validate());
  ASSERT_EQ(warnings.size(), 4u);  // bad header, Content-Type, __bad, empty=
  for (const auto& w : warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("pa:ss")));

  warnings.clear();
  const auto d = RemoteWriteOptions::from_environment(
      trace::Environment({{"VIGIL_REMOTE_WRITE_URL", "http://rw/w"},
                          {"VIGIL_REMOTE_WRITE_BASIC_AUTH", "secret-without-colon"},
                          {"VIGIL_REMOTE_WRITE_MAX_SAMPLES", "0"}},
                         warn));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->basic_auth_username, "");
  EXPECT_EQ(d->max_samples_per_send, 2000u);
  ASSERT_EQ(warnings.size(), 2u);
  for (const auto& w : warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("secret")));

  warnings.clear();
  EXPECT_FALSE(RemoteWriteOptions::from_environment(
      trace::Environment({{"VIGIL_REMOTE_WRITE_URL", "localhost:9090"}}, warn)));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("VIGIL_REMOTE_WRITE_URL"));
}

// ---------------------------------------------------------------------------------------------
// Delivery.

struct Request {
  std::string body;
  std::map<std::string, std::string> headers;
  testing::Clock::time_point at;
};

// A remote write receiver on 127.0.0.1 whose answer to the n-th request `respond` decides.
// hang(): requests wait (up to 10 s) until release().
class Receiver {
 public:
  using Responder = std::function<admin::Response(int n)>;
  explicit Receiver(Responder respond)
      : respond_(std::move(respond)), server_({.listen = "127.0.0.1:0", .threads = 4}) {
    server_.handle(
        "/api/v1/write",
        [this](const admin::Request& req) {
          Request r{std::string(req.body), {}, testing::Clock::now()};
          for (const char* h : {"Content-Type", "Content-Encoding", "User-Agent", "Authorization",
                                "X-Prometheus-Remote-Write-Version", "X-Scope-OrgID"}) {
            r.headers[h] = std::string(req.header(h).value_or(""));
          }
          int n = 0;
          {
            std::unique_lock lock(mu_);
            n = static_cast<int>(received_.size());
            received_.push_back(std::move(r));
            cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !hang_; });
          }
          return respond_(n);
        },
        {.methods = {"POST"}, .access = admin::Access::kPublic});
    server_.start();
  }
  ~Receiver() { release(); }

  std::string url() const { return server_.url() + "/api/v1/write"; }
  std::vector<Request> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  void hang() {
    std::lock_guard lock(mu_);
    hang_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      hang_ = false;
    }
    cv_.notify_all();
  }

 private:
  Responder respond_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hang_ = false;
  std::vector<Request> received_;
  admin::Server server_;  // last: stopped first
};

admin::Response answer(int code, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {.status = code,
          .content_type = "text/plain",
          .body = code < 300 ? "" : "out of order sample",
          .headers = std::move(headers)};
}

RemoteWriteOptions options_for(const std::string& url) {
  RemoteWriteOptions o;
  o.url = url;
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(50);
  o.retry.max_attempts = 3;
  return o;
}

ExportDeadline in(milliseconds ms) { return ExportClock::now() + ms; }

long elapsed_ms(testing::Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<milliseconds>(testing::Clock::now() - since).count());
}

TEST(RemoteWriteExporter, DeliversWithTheRequiredHeaders) {
  Receiver rx([](int) { return answer(204); });
  auto o = options_for(rx.url());
  o.headers = {{"X-Scope-OrgID", "tenant-1"}};
  o.basic_auth_username = "user";
  o.basic_auth_password = "pw";
  o.external_labels = {{"job", "batch"}, {"code", "x"}};
  o.prefix = "app_";
  RemoteWriteExporter exporter(o);
  EXPECT_EQ(exporter.name(), "remote_write");
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(5000)));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 13u);
  EXPECT_EQ(r.dropped_points, 0u);
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.retries, 0u);
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(r.bytes, got[0].body.size());
  const auto& h = got[0].headers;
  EXPECT_EQ(h.at("Content-Type"), "application/x-protobuf");
  EXPECT_EQ(h.at("Content-Encoding"), "snappy");
  EXPECT_EQ(h.at("X-Prometheus-Remote-Write-Version"), "0.1.0");
  EXPECT_EQ(h.at("User-Agent"), "vigil-remote-write/0.1");
  EXPECT_EQ(h.at("Authorization"), "Basic dXNlcjpwdw==");  // user:pw
  EXPECT_EQ(h.at("X-Scope-OrgID"), "tenant-1");
  const auto req = decode(got[0].body);
  ASSERT_EQ(req.timeseries_size(), 13);
  EXPECT_EQ(
      show(req.timeseries(0)),
      R"({__name__="app_http_requests_total",code="200",job="batch",method="GET"} 5 @1700000000123)");
  const RemoteWriteStats st = exporter.stats();
  EXPECT_EQ(st.exports, 1u);
  EXPECT_EQ(st.requests, 1u);
  EXPECT_EQ(st.samples, 13u);
  EXPECT_EQ(st.bytes, got[0].body.size());
  EXPECT_GT(st.uncompressed_bytes, st.bytes);
  EXPECT_EQ(st.last_error, "");
}

TEST(RemoteWriteExporter, Retries500ThenSucceeds) {
  // 500 is not in the OTLP retry list; remote write retries every 5xx.
  Receiver rx([](int n) { return n == 0 ? answer(500) : answer(200); });
  RemoteWriteExporter exporter(options_for(rx.url()));
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(5000)));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(rx.received().size(), 2u);
  EXPECT_EQ(r.retries, 1u);
  EXPECT_EQ(r.points, 13u);
  EXPECT_EQ(exporter.stats().retries, 1u);
}

TEST(RemoteWriteExporter, HonoursRetryAfterOn429) {
  Receiver rx([](int n) { return n == 0 ? answer(429, {{"Retry-After", "1"}}) : answer(204); });
  RemoteWriteExporter exporter(options_for(rx.url()));
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(5000)));
  EXPECT_TRUE(r.ok) << r.error;
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 2u);
  const auto gap = std::chrono::duration_cast<milliseconds>(got[1].at - got[0].at).count();
  EXPECT_GE(gap, 950);  // Retry-After: 1, not the 20 ms backoff
  EXPECT_LT(gap, 2500);
  EXPECT_EQ(got[0].body, got[1].body);  // the same request again
  EXPECT_EQ(r.retries, 1u);
}

TEST(RemoteWriteExporter, A400IsNotRetriedAndTheNextRequestsStillGo) {
  // Two requests (max 7 samples): the first refused, the second accepted.
  Receiver rx([](int n) { return n == 0 ? answer(400) : answer(204); });
  auto o = options_for(rx.url());
  o.max_samples_per_send = 7;
  RemoteWriteExporter exporter(o);
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "rejected");
  EXPECT_THAT(r.error, HasSubstr("HTTP 400"));
  EXPECT_THAT(r.error, HasSubstr("out of order sample"));  // the receiver's text
  EXPECT_EQ(rx.received().size(), 2u);                     // no retry of the first
  EXPECT_EQ(r.retries, 0u);
  EXPECT_EQ(r.dropped_points, 7u);
  EXPECT_EQ(r.points, 6u);
  EXPECT_EQ(r.requests, 1u);
  const RemoteWriteStats st = exporter.stats();
  EXPECT_EQ(st.failed_requests, 1u);
  EXPECT_EQ(st.dropped_samples, 7u);
  EXPECT_EQ(st.failed_exports, 1u);
  EXPECT_THAT(st.last_error, HasSubstr("HTTP 400"));
}

TEST(RemoteWriteExporter, PersistentFailureStopsTheExportAndCountsEverything) {
  Receiver rx([](int) { return answer(503); });
  auto o = options_for(rx.url());
  o.max_samples_per_send = 5;  // 3 requests
  RemoteWriteExporter exporter(o);
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(5000)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_EQ(rx.received().size(), 3u);  // 3 attempts of the first request, none of the others
  EXPECT_EQ(r.retries, 2u);
  EXPECT_EQ(r.dropped_points, 13u);
  EXPECT_EQ(r.points, 0u);
  EXPECT_EQ(exporter.stats().failed_requests, 3u);
}

TEST(RemoteWriteExporter, DestinationDown) {
  testing::RefusingPort port;
  std::string url = port.endpoint();
  url.replace(url.find("/v1/traces"), std::string::npos, "/api/v1/write");
  RemoteWriteExporter exporter(options_for(url));
  const auto t0 = testing::Clock::now();
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(3000)));
  EXPECT_LT(elapsed_ms(t0), 2000);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection");
  EXPECT_EQ(r.dropped_points, 13u);
  EXPECT_EQ(r.retries, 2u);
}

TEST(RemoteWriteExporter, HangingReceiverMeetsTheDeadline) {
  Receiver rx([](int) { return answer(204); });
  rx.hang();
  RemoteWriteExporter exporter(options_for(rx.url()));
  const auto t0 = testing::Clock::now();
  const ExportOutcome r = exporter.export_metrics(sample_snapshot(), in(milliseconds(300)));
  const long took = elapsed_ms(t0);
  rx.release();
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1500);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(r.dropped_points, 13u);
}

TEST(RemoteWriteExporter, AbortEndsAnExportInFlight) {
  Receiver rx([](int) { return answer(204); });
  rx.hang();
  RemoteWriteExporter exporter(options_for(rx.url()));
  const auto t0 = testing::Clock::now();
  auto done = std::async(std::launch::async, [&] {
    return exporter.export_metrics(sample_snapshot(), in(milliseconds(10000)));
  });
  // Wait (bounded) until the request reached the receiver, then abort.
  for (int i = 0; i < 500 && rx.received().empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  exporter.abort();
  const ExportOutcome r = done.get();
  rx.release();
  EXPECT_LT(elapsed_ms(t0), 3000);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "shutdown");
  EXPECT_EQ(r.dropped_points, 13u);
  // Later exports fail at once.
  const ExportOutcome again = exporter.export_metrics(sample_snapshot(), in(milliseconds(1000)));
  EXPECT_EQ(again.reason, "shutdown");
  EXPECT_EQ(rx.received().size(), 1u);
}

}  // namespace
}  // namespace vigil::exporters
