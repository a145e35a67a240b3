// Interop: vigil's OTLP metric exporter against an independent decoder, the official
// OpenTelemetry JS protobuf definitions (@opentelemetry/otlp-transformer 0.52.1) in
// receiver/receiver.js (/v1/metrics). Every field of a snapshot with one family of each type,
// exemplars and resource is checked on the decoded side, in protobuf and JSON, plain and gzipped;
// then delta temporality, partial success written by the official encoder, failures, a real
// registry, and the OTEL_* configuration. Run by otlp_interop_test.sh (VIGIL_NODE,
// VIGIL_OTLP_RECEIVER); without them the tests are skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "otlp_receiver.h"
#include "test_metrics.h"
#include "vigil/exporters/otlp_metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::Receiver;

// protobufjs' toObject sets empty arrays for absent repeated fields: dropped, to compare with
// the expectation (which has no empty lists).
json without_empty_arrays(const json& j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_array() && it->empty()) continue;
      out[it.key()] = without_empty_arrays(*it);
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& e : j) out.push_back(without_empty_arrays(e));
    return out;
  }
  return j;
}

OtlpMetricExporterOptions options_for(const Receiver& r, OtlpProtocol protocol,
                                      OtlpCompression compression) {
  OtlpMetricExporterOptions o;
  o.endpoint = r.base_url() + "/v1/metrics";
  o.protocol = protocol;
  o.compression = compression;
  o.timeout = milliseconds(5000);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(100);
  o.headers = {{"x-tenant", "team a"}};
  o.resource = trace::Resource({{"service.name", std::string("checkout")}});
  o.scope_version = "1.0";
  o.prefix = "app_";
  o.attributes = {{"env", "test"}};
  return o;
}

ExportDeadline far() { return Clock::now() + std::chrono::seconds(30); }

const json& metrics_of(const json& request) {
  return request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
}

struct Encoding {
  OtlpProtocol protocol;
  OtlpCompression compression;
};

class OtlpMetricInterop : public ::testing::TestWithParam<Encoding> {};

TEST_P(OtlpMetricInterop, EveryFieldSurvivesTheOfficialDecoder) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  OtlpMetricExporter exporter(options_for(receiver, GetParam().protocol, GetParam().compression));
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.points, 6u);
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 1u);
  const json& rec = records[0];
  EXPECT_EQ(rec["errors"], json::array()) << rec["errors"].dump();
  EXPECT_EQ(rec["signal"], "metrics");
  EXPECT_EQ(rec["path"], "/v1/metrics");
  EXPECT_EQ(rec["method"], "POST");
  EXPECT_EQ(rec["headers"]["x-tenant"], "team a");
  const bool is_json = GetParam().protocol == OtlpProtocol::kHttpJson;
  EXPECT_EQ(rec["contentType"], is_json ? "application/json" : "application/x-protobuf");
  EXPECT_EQ(rec["contentEncoding"], GetParam().compression == OtlpCompression::kGzip ? "gzip" : "");
  const json request = without_empty_arrays(rec["request"]);
  // The start of series without their own: the exporter's creation time (checked in the unit
  // tests); taken from what arrived.
  const std::string unknown = metrics_of(request)[0]["sum"]["dataPoints"][1]["startTimeUnixNano"];
  EXPECT_EQ(request, testing::expected_cumulative(unknown)) << request.dump(1);
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, OtlpMetricInterop,
    ::testing::Values(Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone},
                      Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip},
                      Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kNone},
                      Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kGzip}),
    [](const auto& p) {
      return std::string(p.param.protocol == OtlpProtocol::kHttpJson ? "Json" : "Protobuf") +
             (p.param.compression == OtlpCompression::kGzip ? "Gzip" : "");
    });

class OtlpMetricInteropProtocols : public ::testing::TestWithParam<OtlpProtocol> {};

TEST_P(OtlpMetricInteropProtocols, DeltaTemporality) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  auto o = options_for(receiver, GetParam(), OtlpCompression::kNone);
  o.temporality = OtlpTemporality::kDelta;
  OtlpMetricExporter exporter(o);
  const double t1 = testing::kSnapshotTime;
  ASSERT_TRUE(exporter.export_metrics(testing::make_test_snapshot(1, t1), far()).ok);
  ASSERT_TRUE(exporter.export_metrics(testing::make_test_snapshot(3, t1 + 10), far()).ok);
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["errors"], json::array());
  const json m = metrics_of(without_empty_arrays(records[1]["request"]));
  const json& get = m[0]["sum"]["dataPoints"][0];
  EXPECT_EQ(m[0]["sum"]["aggregationTemporality"], 1);
  EXPECT_EQ(m[0]["sum"]["isMonotonic"], true);
  EXPECT_EQ(get["asDouble"], 84);
  EXPECT_EQ(get["startTimeUnixNano"], testing::kNow);
  EXPECT_EQ(get["timeUnixNano"], "1700000110500000000");
  EXPECT_EQ(get["exemplars"][0]["traceId"], testing::kTraceIdHex);
  EXPECT_EQ(get["exemplars"][0]["spanId"], testing::kSpanIdHex);
  EXPECT_EQ(m[2]["histogram"]["aggregationTemporality"], 1);
  EXPECT_EQ(m[2]["histogram"]["dataPoints"][0]["bucketCounts"], json::array({"4", "6", "8", "2"}));
  EXPECT_EQ(m[2]["histogram"]["dataPoints"][0]["count"], "20");
  EXPECT_EQ(m[2]["histogram"]["dataPoints"][0]["sum"], 8.5);
  EXPECT_EQ(m[3]["summary"]["dataPoints"][0]["count"], "21");  // summaries stay cumulative
}

TEST_P(OtlpMetricInteropProtocols, PartialSuccessFromTheOfficialEncoder) {
  Receiver receiver(R"([{"partial": {"rejectedDataPoints": 2, "errorMessage": "too old"}}])");
  REQUIRE_RECEIVER(receiver);
  OtlpMetricExporter exporter(options_for(receiver, GetParam(), OtlpCompression::kNone));
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.points, 4u);
  EXPECT_EQ(r.dropped_points, 2u);
  EXPECT_EQ(r.reason, "rejected");
  EXPECT_EQ(exporter.stats().rejected_points, 2u);
  EXPECT_THAT(exporter.stats().last_error, HasSubstr("too old"));
}

INSTANTIATE_TEST_SUITE_P(Protocols, OtlpMetricInteropProtocols,
                         ::testing::Values(OtlpProtocol::kHttpProtobuf, OtlpProtocol::kHttpJson),
                         [](const auto& p) {
                           return std::string(p.param == OtlpProtocol::kHttpJson ? "Json"
                                                                                 : "Protobuf");
                         });

TEST(OtlpMetricInteropFailures, Retries429WithRetryAfterThenSucceeds) {
  Receiver receiver(R"([{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 200}])");
  REQUIRE_RECEIVER(receiver);
  OtlpMetricExporter exporter(
      options_for(receiver, OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone));
  const ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.retries, 1u);
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 2u);
  const auto gap =
      records[1]["receivedAtMs"].get<int64_t>() - records[0]["receivedAtMs"].get<int64_t>();
  EXPECT_GE(gap, 900);
}

TEST(OtlpMetricInteropFailures, BadRequestIsNotRetriedAndReceiverDownFails) {
  Receiver receiver(R"([{"status": 400}])");
  REQUIRE_RECEIVER(receiver);
  auto o = options_for(receiver, OtlpProtocol::kHttpJson, OtlpCompression::kNone);
  o.timeout = milliseconds(500);
  OtlpMetricExporter exporter(o);
  ExportOutcome r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "http_error");
  EXPECT_EQ(r.dropped_points, 6u);
  EXPECT_EQ(receiver.records().size(), 1u);

  receiver.stop();
  const auto t0 = Clock::now();
  r = exporter.export_metrics(testing::make_test_snapshot(), far());
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count(), 900);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.reason == "connection" || r.reason == "timeout") << r.reason;
  EXPECT_EQ(r.dropped_points, 6u);
}

// A real registry, collected: the values the registry holds arrive.
TEST(OtlpMetricInteropRegistry, CollectedRegistryArrivesFromTheEnvironment) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  registry.counter("jobs_processed_total", "Jobs processed", {"queue"}).labels({"fast"}).inc(5);
  auto h = registry
               .histogram("job_duration_seconds", "Job durations", {}, {.buckets = {0.1, 1}},
                          {.unit = "seconds"})
               .get();
  for (double v : {0.0625, 0.5, 0.5, 3.0}) h.observe(v);
  registry.gauge("queue_depth", "Queued jobs").get().set(7);

  trace::Environment env({{"OTEL_METRICS_EXPORTER", "otlp"},
                          {"OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url()},
                          {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"},
                          {"OTEL_SERVICE_NAME", "batch-job"},
                          {"OTEL_METRIC_EXPORT_INTERVAL", "1000"}},
                         [](std::string_view m) { ADD_FAILURE() << m; });
  auto o = OtlpMetricExporterOptions::from_environment(env);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->export_interval, milliseconds(1000));
  OtlpMetricExporter exporter(*o);
  const ExportOutcome r = exporter.export_metrics(collect_snapshot(registry), far());
  ASSERT_TRUE(r.ok) << r.error;
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["errors"], json::array());
  EXPECT_EQ(records[0]["path"], "/v1/metrics");
  EXPECT_EQ(records[0]["contentType"], "application/json");
  const json request = without_empty_arrays(records[0]["request"]);
  bool service = false;
  for (const auto& a : request["resourceMetrics"][0]["resource"]["attributes"]) {
    if (a["key"] == "service.name") service = a["value"]["stringValue"] == "batch-job";
  }
  EXPECT_TRUE(service);
  EXPECT_EQ(request["resourceMetrics"][0]["scopeMetrics"][0]["scope"]["name"], "vigil");
  int seen = 0;
  for (const auto& m : metrics_of(request)) {
    if (m["name"] == "jobs_processed") {
      ++seen;
      const json& p = m["sum"]["dataPoints"][0];
      EXPECT_EQ(p["asDouble"], 5);
      EXPECT_EQ(p["attributes"][0]["key"], "queue");
      EXPECT_EQ(m["sum"]["isMonotonic"], true);
      EXPECT_EQ(m["sum"]["aggregationTemporality"], 2);
      EXPECT_TRUE(p.contains("startTimeUnixNano"));
    } else if (m["name"] == "job_duration_seconds") {  // only _total is a type suffix
      ++seen;
      EXPECT_EQ(m["unit"], "s");
      const json& p = m["histogram"]["dataPoints"][0];
      EXPECT_EQ(p["count"], "4");
      EXPECT_EQ(p["sum"], 4.0625);
      EXPECT_EQ(p["bucketCounts"], json::array({"1", "2", "1"}));
      EXPECT_EQ(p["explicitBounds"], json::array({0.1, 1}));
    } else if (m["name"] == "queue_depth") {
      ++seen;
      EXPECT_EQ(m["gauge"]["dataPoints"][0]["asDouble"], 7);
    }
  }
  EXPECT_EQ(seen, 3) << request.dump(1);
}

}  // namespace
}  // namespace vigil::exporters
