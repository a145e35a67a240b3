// OTLP metrics: the encodings (protobuf decoded with the generated classes, JSON parsed) against
// one hand-computed expectation; delta temporality; options and OTEL_* variables; and the
// exporter against an in-process fake collector: delivery, gzip, partial success, and the faults
// (collector down, hanging, 500, 503 and 429 with Retry-After, 400), each within its deadline
// with the points counted as dropped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/detail/gzip.h"
#include "fake_collector.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "otlp_metric_encoding.h"
#include "test_metrics.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_metric_exporter.h"

namespace vigil::exporters {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::Clock;
using testing::expected_cumulative;
using testing::FakeCollector;
using ::testing::HasSubstr;
using testing::kNow;
using testing::kSpanIdHex;
using testing::kTraceIdHex;
using testing::kv;
using testing::RefusingPort;
namespace pbc = opentelemetry::proto::collector::metrics::v1;
namespace pbm = opentelemetry::proto::metrics::v1;
namespace pbcommon = opentelemetry::proto::common::v1;

// ---- the decoded protobuf in the OTLP/JSON form, to compare with the same expectation --------

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

json attrs(const google::protobuf::RepeatedPtrField<pbcommon::KeyValue>& kvs) {
  json a = json::array();
  for (const auto& kv : kvs) {
    EXPECT_EQ(kv.value().value_case(), pbcommon::AnyValue::kStringValue) << kv.key();
    a.push_back({{"key", kv.key()}, {"value", {{"stringValue", kv.value().string_value()}}}});
  }
  return a;
}

template <typename Point>
void common(json& j, const Point& p) {
  if (p.attributes_size() > 0) j["attributes"] = attrs(p.attributes());
  if (p.start_time_unix_nano() != 0) {
    j["startTimeUnixNano"] = std::to_string(p.start_time_unix_nano());
  }
  j["timeUnixNano"] = std::to_string(p.time_unix_nano());
}

json exemplars(const google::protobuf::RepeatedPtrField<pbm::Exemplar>& list) {
  json out = json::array();
  for (const auto& e : list) {
    json j;
    if (e.filtered_attributes_size() > 0) j["filteredAttributes"] = attrs(e.filtered_attributes());
    j["timeUnixNano"] = std::to_string(e.time_unix_nano());
    EXPECT_EQ(e.value_case(), pbm::Exemplar::kAsDouble);
    j["asDouble"] = e.as_double();
    if (!e.span_id().empty()) j["spanId"] = hex(e.span_id());
    if (!e.trace_id().empty()) j["traceId"] = hex(e.trace_id());
    out.push_back(j);
  }
  return out;
}

json number_points(const google::protobuf::RepeatedPtrField<pbm::NumberDataPoint>& points) {
  json out = json::array();
  for (const auto& p : points) {
    json j;
    common(j, p);
    if (p.value_case() == pbm::NumberDataPoint::kAsInt) {
      j["asInt"] = std::to_string(p.as_int());
    } else {
      EXPECT_EQ(p.value_case(), pbm::NumberDataPoint::kAsDouble);
      j["asDouble"] = p.as_double();
    }
    if (p.exemplars_size() > 0) j["exemplars"] = exemplars(p.exemplars());
    out.push_back(j);
  }
  return out;
}

json to_json(const pbc::ExportMetricsServiceRequest& r) {
  json metrics = json::array();
  EXPECT_EQ(r.resource_metrics_size(), 1);
  const auto& rm = r.resource_metrics(0);
  EXPECT_EQ(rm.scope_metrics_size(), 1);
  const auto& sm = rm.scope_metrics(0);
  for (const auto& m : sm.metrics()) {
    json j;
    j["name"] = m.name();
    if (!m.description().empty()) j["description"] = m.description();
    if (!m.unit().empty()) j["unit"] = m.unit();
    switch (m.data_case()) {
      case pbm::Metric::kGauge:
        j["gauge"] = {{"dataPoints", number_points(m.gauge().data_points())}};
        break;
      case pbm::Metric::kSum:
        j["sum"] = {
            {"dataPoints", number_points(m.sum().data_points())},
            {"aggregationTemporality", static_cast<int>(m.sum().aggregation_temporality())}};
        if (m.sum().is_monotonic()) j["sum"]["isMonotonic"] = true;
        break;
      case pbm::Metric::kHistogram: {
        json points = json::array();
        for (const auto& p : m.histogram().data_points()) {
          json k;
          common(k, p);
          k["count"] = std::to_string(p.count());
          EXPECT_TRUE(p.has_sum());
          EXPECT_FALSE(p.has_min());
          EXPECT_FALSE(p.has_max());
          k["sum"] = p.sum();
          k["bucketCounts"] = json::array();
          for (uint64_t c : p.bucket_counts()) k["bucketCounts"].push_back(std::to_string(c));
          k["explicitBounds"] = json::array();
          for (double b : p.explicit_bounds()) k["explicitBounds"].push_back(b);
          if (p.exemplars_size() > 0) k["exemplars"] = exemplars(p.exemplars());
          points.push_back(k);
        }
        j["histogram"] = {
            {"dataPoints", points},
            {"aggregationTemporality", static_cast<int>(m.histogram().aggregation_temporality())}};
        break;
      }
      case pbm::Metric::kSummary: {
        json points = json::array();
        for (const auto& p : m.summary().data_points()) {
          json k;
          common(k, p);
          k["count"] = std::to_string(p.count());
          k["sum"] = p.sum();
          k["quantileValues"] = json::array();
          for (const auto& q : p.quantile_values()) {
            k["quantileValues"].push_back({{"quantile", q.quantile()}, {"value", q.value()}});
          }
          points.push_back(k);
        }
        j["summary"] = {{"dataPoints", points}};
        break;
      }
      default:
        ADD_FAILURE() << "no data in " << m.name();
    }
    metrics.push_back(j);
  }
  json scope = {{"name", sm.scope().name()}};
  if (!sm.scope().version().empty()) scope["version"] = sm.scope().version();
  return {{"resourceMetrics",
           {{{"resource", {{"attributes", attrs(rm.resource().attributes())}}},
             {"scopeMetrics", {{{"scope", scope}, {"metrics", metrics}}}}}}}};
}

json decode_protobuf(const std::string& body) {
  pbc::ExportMetricsServiceRequest r;
  EXPECT_TRUE(r.ParseFromString(body));
  return to_json(r);
}

struct Encoding {
  trace::Resource resource{{{"service.name", std::string("checkout")}}};
  std::vector<std::pair<std::string, std::string>> attributes{{"env", "test"}};
  detail::MetricEncoding how;
  Encoding() {
    how.resource = &resource;
    how.scope_version = "1.0";
    how.prefix = "app_";
    how.attributes = &attributes;
    how.default_start = 1699999999;
  }
};

TEST(OtlpMetricEncoding, ProtobufEqualsTheExpectation) {
  Encoding e;
  std::string body;
  std::string error;
  ASSERT_TRUE(detail::encode_metrics_protobuf(testing::make_test_snapshot(), e.how, body, error));
  EXPECT_EQ(decode_protobuf(body), expected_cumulative("1699999999000000000"));
}

TEST(OtlpMetricEncoding, JsonEqualsTheExpectation) {
  Encoding e;
  std::string body;
  detail::encode_metrics_json(testing::make_test_snapshot(), e.how, body);
  const json j = json::parse(body);
  EXPECT_EQ(j, expected_cumulative("1699999999000000000")) << j.dump(1);
}

TEST(OtlpMetricEncoding, WithoutExemplarsAndBadIds) {
  Encoding e;
  e.how.exemplars = false;
  std::string body;
  detail::encode_metrics_json(testing::make_test_snapshot(), e.how, body);
  EXPECT_EQ(body.find("exemplars"), std::string::npos);

  // An id that is not hex of the right length stays an attribute.
  MetricsSnapshot s = testing::make_test_snapshot();
  s.families[0].points[0].exemplar->labels = {{"trace_id", "xyz"}, {"span_id", "00f067aa0ba902b7"}};
  e.how.exemplars = true;
  std::string pb;
  std::string error;
  ASSERT_TRUE(detail::encode_metrics_protobuf(s, e.how, pb, error));
  const json j = decode_protobuf(pb);
  const json& ex = j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0]
                    ["exemplars"][0];
  EXPECT_EQ(ex["filteredAttributes"], json::array({kv("trace_id", "xyz")}));
  EXPECT_EQ(ex["spanId"], kSpanIdHex);
  EXPECT_FALSE(ex.contains("traceId"));
}

TEST(OtlpMetricEncoding, Units) {
  EXPECT_EQ(otlp_unit("seconds"), "s");
  EXPECT_EQ(otlp_unit("bytes"), "By");
  EXPECT_EQ(otlp_unit("ratio"), "1");
  EXPECT_EQ(otlp_unit("widgets"), "widgets");
  EXPECT_EQ(otlp_unit(""), "");
}

// ---- options --------------------------------------------------------------------------------

trace::Environment env_of(std::map<std::string, std::string, std::less<>> vars,
                          std::vector<std::string>* warnings) {
  return trace::Environment(std::move(vars), [warnings](std::string_view m) {
    if (warnings != nullptr) warnings->emplace_back(m);
  });
}

TEST(OtlpMetricOptions, FromEnvironmentNeedsOtlpInTheExporterList) {
  EXPECT_FALSE(OtlpMetricExporterOptions::from_environment(env_of({}, nullptr)));
  EXPECT_FALSE(OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "prometheus"}}, nullptr)));
  EXPECT_FALSE(OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "none"}}, nullptr)));
  auto o = OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "prometheus, otlp"}}, nullptr));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->endpoint, "http://localhost:4318/v1/metrics");
  EXPECT_EQ(o->temporality, OtlpTemporality::kCumulative);
  EXPECT_EQ(o->export_interval, milliseconds(60000));
  EXPECT_EQ(o->export_timeout, milliseconds(30000));
}

TEST(OtlpMetricOptions, ReadsTheMetricsVariablesOverTheGenericOnes) {
  std::vector<std::string> warnings;
  auto o = OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "otlp"},
              {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
              {"OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"},
              {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "b=3"},
              {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
              {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"},
              {"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"},
              {"OTEL_EXPORTER_OTLP_TIMEOUT", "1234"},
              {"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/ca.pem"},
              {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"},
              {"OTEL_METRIC_EXPORT_INTERVAL", "5000"},
              {"OTEL_METRIC_EXPORT_TIMEOUT", "2000"},
              {"OTEL_SERVICE_NAME", "billing"}},
             &warnings));
  ASSERT_TRUE(o);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(o->endpoint, "http://collector:4318/v1/metrics");
  EXPECT_EQ(o->headers, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "3"}}));
  EXPECT_EQ(o->protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(o->compression, OtlpCompression::kGzip);
  EXPECT_EQ(o->timeout, milliseconds(1234));
  EXPECT_EQ(o->certificate_file, "/ca.pem");
  EXPECT_EQ(o->temporality, OtlpTemporality::kDelta);
  EXPECT_EQ(o->export_interval, milliseconds(5000));
  EXPECT_EQ(o->export_timeout, milliseconds(2000));
  EXPECT_EQ(o->resource.service_name(), "billing");

  auto m = OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "otlp"},
              {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"},
              {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m.example/custom"},
              {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "lowmemory"}},
             nullptr));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->endpoint, "https://m.example/custom");
  EXPECT_EQ(m->temporality, OtlpTemporality::kLowMemory);
}

TEST(OtlpMetricOptions, BadValuesWarnAndKeepDefaults) {
  std::vector<std::string> warnings;
  auto o = OtlpMetricExporterOptions::from_environment(
      env_of({{"OTEL_METRICS_EXPORTER", "otlp"},
              {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "ftp://x"},
              {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes"},
              {"OTEL_METRIC_EXPORT_INTERVAL", "0"},
              {"OTEL_METRIC_EXPORT_TIMEOUT", "soon"}},
             &warnings));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->endpoint, "http://localhost:4318/v1/metrics");
  EXPECT_EQ(o->temporality, OtlpTemporality::kCumulative);
  EXPECT_EQ(o->export_interval, milliseconds(60000));
  EXPECT_EQ(o->export_timeout, milliseconds(30000));
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_THAT(warnings[0], HasSubstr("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
  EXPECT_THAT(warnings[1], HasSubstr("sometimes"));
  EXPECT_NO_THROW(o->validate());
}

TEST(OtlpMetricOptions, ValidateNamesTheRuleBroken) {
  const auto throws_with = [](OtlpMetricExporterOptions o, const std::string& text) {
    try {
      o.validate();
      ADD_FAILURE() << "no throw, expected " << text;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(text));
    }
  };
  OtlpMetricExporterOptions o;
  EXPECT_NO_THROW(o.validate());
  auto bad = o;
  bad.endpoint = "localhost:4318";
  throws_with(bad, "endpoint 'localhost:4318' must start with http://");
  bad = o;
  bad.scope_name.clear();
  throws_with(bad, "scope_name");
  bad = o;
  bad.prefix = "9x";
  throws_with(bad, "prefix '9x'");
  bad = o;
  bad.attributes = {{"a", "1"}, {"a", "2"}};
  throws_with(bad, "attribute 'a' is given twice");
  bad = o;
  bad.timeout = milliseconds(0);
  throws_with(bad, "timeout must be positive");
  bad = o;
  bad.headers = {{"bad name", "v"}};
  throws_with(bad, "header name 'bad name'");
  EXPECT_THROW(OtlpMetricExporter{bad}, Error);
}

// ---- the exporter against a fake collector ---------------------------------------------------

admin::Response ok() { return {.status = 200, .content_type = "application/x-protobuf"}; }

admin::Response status(int code, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {
      .status = code, .content_type = "text/plain", .body = "no", .headers = std::move(headers)};
}

OtlpMetricExporterOptions options_for(const std::string& endpoint) {
  OtlpMetricExporterOptions o;
  o.endpoint = endpoint;
  o.timeout = milliseconds(3000);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(50);
  o.resource = trace::Resource({{"service.name", std::string("checkout")}});
  o.scope_version = "1.0";
  o.prefix = "app_";
  o.attributes = {{"env", "test"}};
  return o;
}

ExportDeadline far() { return Clock::now() + std::chrono::hours(1); }

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

constexpr uint64_t kPoints = 6;  // series in make_test_snapshot()

TEST(OtlpMetricExporter, DeliversProtobufWithHeaders) {
  FakeCollector collector([](int) { return ok(); });
  auto o = options_for(collector.endpoint());
  o.headers = {{"Authorization", "Bearer t0ken"}};
  const double before = unix_time_seconds();
  OtlpMetricExporter exporter(o);
  const double after = unix_time_seconds();
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, kPoints);
  EXPECT_EQ(r.dropped_points, 0u);
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.retries, 0u);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(r.bytes, got[0].body.size());
  EXPECT_EQ(got[0].content_type, "application/x-protobuf");
  EXPECT_EQ(got[0].authorization, "Bearer t0ken");
  json j = decode_protobuf(got[0].body);
  // Series without a start time start when the exporter was created.
  auto& post = j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][1];
  const double start = std::stod(post["startTimeUnixNano"].get<std::string>()) / 1e9;
  EXPECT_GE(start, before - 0.001);
  EXPECT_LE(start, after + 0.001);
  const std::string unknown = post["startTimeUnixNano"];
  EXPECT_EQ(j, expected_cumulative(unknown));
  EXPECT_EQ(exporter.stats().exported_points, kPoints);
}

TEST(OtlpMetricExporter, DeliversGzippedJson) {
  FakeCollector collector([](int) {
    return admin::Response{.status = 200, .content_type = "application/json", .body = "{}"};
  });
  auto o = options_for(collector.endpoint());
  o.protocol = OtlpProtocol::kHttpJson;
  o.compression = OtlpCompression::kGzip;
  OtlpMetricExporter exporter(o);
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok) << r.error;
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].content_encoding, "gzip");
  EXPECT_EQ(r.bytes, got[0].body.size());
  const auto plain = vigil::detail::gunzip(got[0].body);
  ASSERT_TRUE(plain);
  json j = json::parse(*plain);
  const std::string unknown = j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]
                               ["dataPoints"][1]["startTimeUnixNano"];
  EXPECT_EQ(j, expected_cumulative(unknown));
}

TEST(OtlpMetricExporter, DeltaTemporalitySendsChangesOverTheirWindows) {
  FakeCollector collector([](int) { return ok(); });
  auto o = options_for(collector.endpoint());
  o.temporality = OtlpTemporality::kDelta;
  OtlpMetricExporter exporter(o);
  const double t1 = testing::kSnapshotTime;
  const double t2 = t1 + 10;
  ASSERT_TRUE(exporter.export_metrics(testing::make_test_snapshot(1, t1), far()).ok);
  ASSERT_TRUE(exporter.export_metrics(testing::make_test_snapshot(3, t2), far()).ok);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 2u);

  // First export: the whole values, from each series' start (the snapshot time when unknown).
  const json first =
      decode_protobuf(got[0].body)["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
  EXPECT_EQ(first[0]["sum"]["aggregationTemporality"], 1);
  EXPECT_EQ(first[0]["sum"]["isMonotonic"], true);
  EXPECT_EQ(first[0]["sum"]["dataPoints"][0]["asDouble"], 42);
  EXPECT_EQ(first[0]["sum"]["dataPoints"][0]["startTimeUnixNano"], "1700000000500000000");
  EXPECT_EQ(first[0]["sum"]["dataPoints"][1]["startTimeUnixNano"], kNow);
  EXPECT_EQ(first[2]["histogram"]["dataPoints"][0]["bucketCounts"],
            json::array({"2", "3", "4", "1"}));

  // Second: the changes since t1 (scale 3 - scale 1 = twice the base figures).
  const json second =
      decode_protobuf(got[1].body)["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
  const std::string t1_nanos = kNow;
  const std::string t2_nanos = "1700000110500000000";
  const json& get = second[0]["sum"]["dataPoints"][0];
  EXPECT_EQ(second[0]["sum"]["aggregationTemporality"], 1);
  EXPECT_EQ(get["asDouble"], 84);
  EXPECT_EQ(get["startTimeUnixNano"], t1_nanos);
  EXPECT_EQ(get["timeUnixNano"], t2_nanos);
  EXPECT_EQ(get["exemplars"][0]["traceId"], kTraceIdHex);
  EXPECT_EQ(second[0]["sum"]["dataPoints"][1]["asDouble"], 6);
  // Gauge unchanged.
  EXPECT_EQ(second[1]["gauge"]["dataPoints"][0]["asDouble"], -3.5);
  // Histogram: cumulative buckets 6,15,27,30 minus 2,5,9,10 = 4,10,18,20 -> per bucket 4,6,8,2.
  const json& h = second[2]["histogram"];
  EXPECT_EQ(h["aggregationTemporality"], 1);
  EXPECT_EQ(h["dataPoints"][0]["bucketCounts"], json::array({"4", "6", "8", "2"}));
  EXPECT_EQ(h["dataPoints"][0]["count"], "20");
  EXPECT_EQ(h["dataPoints"][0]["sum"], 8.5);
  EXPECT_EQ(h["dataPoints"][0]["startTimeUnixNano"], t1_nanos);
  // Summaries stay cumulative, from the series' start.
  const json& s = second[3]["summary"]["dataPoints"][0];
  EXPECT_EQ(s["count"], "21");
  EXPECT_EQ(s["sum"], 7.5);
  EXPECT_EQ(s["startTimeUnixNano"], "1700000001000000000");
  // Info: a cumulative non-monotonic sum.
  EXPECT_EQ(second[4]["sum"]["aggregationTemporality"], 2);
  EXPECT_FALSE(second[4]["sum"].contains("isMonotonic"));
}

TEST(OtlpMetricExporter, PartialSuccessCountsRejectedPoints) {
  FakeCollector collector([](int n) {
    if (n == 0) {
      return admin::Response{
          .status = 200,
          .content_type = "application/json",
          .body = R"({"partialSuccess":{"rejectedDataPoints":"2","errorMessage":"too old"}})"};
    }
    pbc::ExportMetricsServiceResponse resp;
    resp.mutable_partial_success()->set_rejected_data_points(1);
    resp.mutable_partial_success()->set_error_message("bad point");
    return admin::Response{
        .status = 200, .content_type = "application/x-protobuf", .body = resp.SerializeAsString()};
  });
  auto o = options_for(collector.endpoint());
  o.protocol = OtlpProtocol::kHttpJson;
  OtlpMetricExporter json_exporter(o);
  ExportOutcome r = json_exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.points, kPoints - 2);
  EXPECT_EQ(r.dropped_points, 2u);
  EXPECT_EQ(r.reason, "rejected");
  EXPECT_THAT(json_exporter.stats().last_error, HasSubstr("2 of 6 data points rejected: too old"));

  OtlpMetricExporter pb_exporter(options_for(collector.endpoint()));
  r = pb_exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.points, kPoints - 1);
  EXPECT_EQ(r.dropped_points, 1u);
  const auto stats = pb_exporter.stats();
  EXPECT_EQ(stats.partial_successes, 1u);
  EXPECT_EQ(stats.rejected_points, 1u);
  EXPECT_EQ(stats.exported_points, kPoints - 1);
  EXPECT_THAT(stats.last_error, HasSubstr("bad point"));
}

TEST(OtlpMetricExporter, UnreadableSuccessBodiesMeanAccepted) {
  FakeCollector collector([](int n) {
    if (n == 0) {
      return admin::Response{
          .status = 200, .content_type = "application/x-protobuf", .body = "\xff\xff\x01garbage"};
    }
    return admin::Response{.status = 200, .content_type = "application/json", .body = "{not json"};
  });
  OtlpMetricExporter exporter(options_for(collector.endpoint()));
  for (int i = 0; i < 2; ++i) {
    const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.points, kPoints);
    EXPECT_EQ(r.dropped_points, 0u);
  }
  EXPECT_EQ(exporter.stats().partial_successes, 0u);
}

TEST(OtlpMetricExporter, BadRequestAndServerErrorAreNotRetried) {
  // OTLP/HTTP retries 429, 502, 503 and 504 only: 400 and 500 fail at once.
  for (int code : {400, 500}) {
    FakeCollector collector([code](int) { return status(code); });
    OtlpMetricExporter exporter(options_for(collector.endpoint()));
    const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "http_error");
    EXPECT_THAT(r.error, HasSubstr("HTTP " + std::to_string(code)));
    EXPECT_EQ(r.points, 0u);
    EXPECT_EQ(r.dropped_points, kPoints);
    EXPECT_EQ(r.retries, 0u);
    EXPECT_EQ(collector.count(), 1u) << code;
    EXPECT_EQ(exporter.stats().failed_exports, 1u);
  }
}

TEST(OtlpMetricExporter, RetriesOn503And429HonouringRetryAfter) {
  FakeCollector collector([](int n) {
    if (n == 0) return status(503);
    if (n == 1) return status(429, {{"Retry-After", "1"}});
    return ok();
  });
  OtlpMetricExporter exporter(options_for(collector.endpoint()));
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, kPoints);
  EXPECT_EQ(r.retries, 2u);
  EXPECT_EQ(r.requests, 3u);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 3u);
  const auto gap = std::chrono::duration_cast<milliseconds>(got[2].at - got[1].at).count();
  EXPECT_GE(gap, 950);  // Retry-After: 1, not the 20-50 ms backoff
  EXPECT_LT(gap, 2500);
  EXPECT_EQ(r.bytes, got[0].body.size() * 3);
}

TEST(OtlpMetricExporter, RetryAfterPastTheDeadlineGivesUpAtOnce) {
  FakeCollector collector([](int) { return status(429, {{"Retry-After", "30"}}); });
  auto o = options_for(collector.endpoint());
  o.timeout = milliseconds(2000);
  OtlpMetricExporter exporter(o);
  const auto t0 = Clock::now();
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_LT(elapsed_ms(t0), 1000);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_THAT(r.error, HasSubstr("HTTP 429"));
  EXPECT_EQ(r.dropped_points, kPoints);
  EXPECT_EQ(collector.count(), 1u);
}

TEST(OtlpMetricExporter, CollectorDownReturnsWithinTheDeadline) {
  RefusingPort port;
  auto o = options_for(port.endpoint());
  o.timeout = milliseconds(500);
  o.retry.max_attempts = 100;
  OtlpMetricExporter exporter(o);
  const auto t0 = Clock::now();
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_LT(elapsed_ms(t0), 900);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason == "connection" || r.reason == "timeout") << r.reason;
  EXPECT_GT(r.retries, 0u);  // connection errors are retried
  EXPECT_EQ(r.dropped_points, kPoints);
  EXPECT_EQ(exporter.stats().dropped_points, kPoints);
}

TEST(OtlpMetricExporter, HangingCollectorTimesOutAtTheEngineDeadline) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(800));
    return ok();
  });
  OtlpMetricExporter exporter(options_for(collector.endpoint()));  // timeout 3 s
  const auto t0 = Clock::now();
  const ExportOutcome r =
      exporter.export_metrics(testing::make_test_snapshot(), Clock::now() + milliseconds(300));
  const long ms = elapsed_ms(t0);
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 900);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(r.dropped_points, kPoints);
}

TEST(OtlpMetricExporter, AbortEndsAnExportInFlightAndLaterOnes) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(800));
    return ok();
  });
  OtlpMetricExporter exporter(options_for(collector.endpoint()));
  std::thread aborter([&] {
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (collector.count() == 0 && Clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    exporter.abort();
  });
  const auto t0 = Clock::now();
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  aborter.join();
  EXPECT_LT(elapsed_ms(t0), 700);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "shutdown");
  const ExportOutcome later = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_EQ(later.reason, "shutdown");
  EXPECT_EQ(later.dropped_points, kPoints);
  EXPECT_EQ(collector.count(), 1u);
}

TEST(OtlpMetricExporter, EmptySnapshotSendsNothing) {
  FakeCollector collector([](int) { return ok(); });
  OtlpMetricExporter exporter(options_for(collector.endpoint()));
  MetricsSnapshot empty;
  empty.timestamp = testing::kSnapshotTime;
  const ExportOutcome r = exporter.export_metrics(empty, far());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(collector.count(), 0u);
  EXPECT_EQ(exporter.name(), "otlp");
}

}  // namespace
}  // namespace vigil::exporters
