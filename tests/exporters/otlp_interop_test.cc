// Interop: vigil's OTLP exporter against an independent decoder, the official OpenTelemetry JS
// protobuf definitions (@opentelemetry/otlp-transformer 0.52.1) in receiver/receiver.js. Each
// test starts the receiver on 127.0.0.1, exports spans with known ids, parent links, kinds,
// attributes of every type, events, links, status and resource, and checks every field on the
// decoded side, in protobuf and JSON, plain and gzipped; then the failure modes against the
// same receiver. Run by otlp_interop_test.sh, which installs the receiver's npm packages and
// sets VIGIL_NODE and VIGIL_OTLP_RECEIVER; without them the tests are skipped.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "otlp_receiver.h"
#include "test_spans.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/config.h"
#include "vigil/trace/tracer.h"

extern char** environ;

namespace vigil::exporters {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::Receiver;

OtlpTraceExporterOptions options_for(const Receiver& r, metrics::Registry& registry,
                                     OtlpProtocol protocol, OtlpCompression compression) {
  OtlpTraceExporterOptions o;
  o.endpoint = r.endpoint();
  o.protocol = protocol;
  o.compression = compression;
  o.self_metrics = &registry;
  o.timeout = milliseconds(5000);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(100);
  o.headers = {{"x-tenant", "team a"}};
  return o;
}

trace::SpanExporter::Deadline far() { return Clock::now() + std::chrono::hours(1); }

const json& attr(const json& attributes, const std::string& key) {
  for (const json& kv : attributes) {
    if (kv["key"] == key) return kv["value"];
  }
  static const json missing;
  ADD_FAILURE() << "attribute " << key << " missing in " << attributes.dump();
  return missing;
}

// Every field of testing::make_test_batch(), as the official decoder saw it.
void check_decoded(const json& record) {
  SCOPED_TRACE(record.dump());
  EXPECT_EQ(record["errors"], json::array());
  EXPECT_EQ(record["method"], "POST");
  EXPECT_EQ(record["path"], "/v1/traces");
  EXPECT_EQ(record["headers"]["x-tenant"], "team a");
  const json& req = record["request"];
  ASSERT_EQ(req["resourceSpans"].size(), 1u);
  const json& rs = req["resourceSpans"][0];
  const json& res = rs["resource"]["attributes"];
  EXPECT_EQ(attr(res, "service.name")["stringValue"], "checkout");
  EXPECT_EQ(attr(res, "service.version")["stringValue"], "1.4.2");
  EXPECT_EQ(attr(res, "process.pid")["intValue"], "4242");
  ASSERT_EQ(rs["scopeSpans"].size(), 2u);

  const json& ss = rs["scopeSpans"][0];
  EXPECT_EQ(ss["scope"]["name"], "vigil.test");
  EXPECT_EQ(ss["scope"]["version"], "1.2.3");
  EXPECT_EQ(ss["schemaUrl"], "https://opentelemetry.io/schemas/1.21.0");
  ASSERT_EQ(ss["spans"].size(), 2u);

  const json& root = ss["spans"][0];
  EXPECT_EQ(root["traceId"], testing::kTraceIdHex);
  EXPECT_EQ(root["spanId"], testing::kRootSpanIdHex);
  EXPECT_TRUE(!root.contains("parentSpanId") || root["parentSpanId"] == "");
  EXPECT_EQ(root["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(root["flags"], 0x101);
  EXPECT_EQ(root["name"], "GET /checkout");
  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(root["startTimeUnixNano"], std::to_string(testing::kStart));
  EXPECT_EQ(root["endTimeUnixNano"], std::to_string(testing::kStart + 5'000'000));
  EXPECT_EQ(root["droppedAttributesCount"], 3);
  EXPECT_EQ(root["droppedEventsCount"], 2);
  EXPECT_EQ(root["droppedLinksCount"], 4);
  EXPECT_EQ(root["status"]["code"], 2);
  EXPECT_EQ(root["status"]["message"], "payment declined");
  const json& a = root["attributes"];
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(attr(a, "http.method")["stringValue"], "GET");
  EXPECT_EQ(attr(a, "http.ok")["boolValue"], true);
  EXPECT_EQ(attr(a, "http.status_code")["intValue"], "-9007199254740993");
  EXPECT_EQ(attr(a, "cost.usd")["doubleValue"], 0.125);
  EXPECT_EQ(attr(a, "tags")["arrayValue"]["values"],
            json::parse(R"([{"stringValue":"a"},{"stringValue":"b\"c"},{"stringValue":"ü"}])"));
  EXPECT_EQ(attr(a, "flags")["arrayValue"]["values"],
            json::parse(R"([{"boolValue":true},{"boolValue":false}])"));
  EXPECT_EQ(attr(a, "sizes")["arrayValue"]["values"],
            json::parse(R"([{"intValue":"1"},{"intValue":"9223372036854775807"},
                            {"intValue":"-9223372036854775808"}])"));
  EXPECT_EQ(attr(a, "ratios")["arrayValue"]["values"],
            json::parse(R"([{"doubleValue":0.5},{"doubleValue":-2.25}])"));
  ASSERT_EQ(root["events"].size(), 1u);
  const json& ev = root["events"][0];
  EXPECT_EQ(ev["name"], "exception");
  EXPECT_EQ(ev["timeUnixNano"], std::to_string(testing::kStart + 1000));
  EXPECT_EQ(attr(ev["attributes"], "exception.type")["stringValue"], "std::runtime_error");
  EXPECT_EQ(attr(ev["attributes"], "exception.message")["stringValue"], "boom");
  EXPECT_EQ(ev["droppedAttributesCount"], 1);
  ASSERT_EQ(root["links"].size(), 1u);
  const json& link = root["links"][0];
  EXPECT_EQ(link["traceId"], testing::kLinkTraceIdHex);
  EXPECT_EQ(link["spanId"], testing::kLinkSpanIdHex);
  EXPECT_EQ(link["traceState"], "vendor=abc");
  EXPECT_EQ(link["flags"], 0x301);
  EXPECT_EQ(attr(link["attributes"], "link.reason")["stringValue"], "batch");

  const json& child = ss["spans"][1];
  EXPECT_EQ(child["name"], "llm_call");
  EXPECT_EQ(child["traceId"], testing::kTraceIdHex);
  EXPECT_EQ(child["spanId"], testing::kChildSpanIdHex);
  EXPECT_EQ(child["parentSpanId"], testing::kRootSpanIdHex);
  EXPECT_EQ(child["kind"], 3);
  EXPECT_EQ(child["status"]["code"], 1);
  EXPECT_EQ(attr(child["attributes"], "llm.provider")["stringValue"], "openai");
  EXPECT_EQ(child["flags"], 0x101);

  const json& other = rs["scopeSpans"][1];
  EXPECT_EQ(other["scope"]["name"], "vigil.other");
  ASSERT_EQ(other["spans"].size(), 1u);
  const json& consumer = other["spans"][0];
  EXPECT_EQ(consumer["name"], "queue.process");
  EXPECT_EQ(consumer["spanId"], "1122334455667788");
  EXPECT_EQ(consumer["parentSpanId"], testing::kRemoteParentHex);
  EXPECT_EQ(consumer["kind"], 5);
  EXPECT_EQ(consumer["flags"], 0x303);
  EXPECT_FALSE(consumer.contains("status") && consumer["status"].contains("code") &&
               consumer["status"]["code"] != 0);
}

struct Encoding {
  OtlpProtocol protocol;
  OtlpCompression compression;
  const char* content_type;
};

class OtlpInterop : public ::testing::TestWithParam<Encoding> {};

TEST_P(OtlpInterop, EveryFieldSurvivesTheOfficialDecoder) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  OtlpTraceExporter exporter(
      options_for(receiver, registry, GetParam().protocol, GetParam().compression));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.rejected_spans, 0u);
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["contentType"], GetParam().content_type);
  EXPECT_EQ(records[0]["contentEncoding"],
            GetParam().compression == OtlpCompression::kGzip ? "gzip" : "");
  check_decoded(records[0]);
  EXPECT_EQ(exporter.stats().exported_spans, 3u);
}

TEST_P(OtlpInterop, PartialSuccessFromTheOfficialEncoder) {
  Receiver receiver(R"([{"status":200,"partial":{"rejectedSpans":2,"errorMessage":"too old"}}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  OtlpTraceExporter exporter(
      options_for(receiver, registry, GetParam().protocol, GetParam().compression));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.rejected_spans, 2u);
  EXPECT_THAT(r.message, HasSubstr("too old"));
  EXPECT_EQ(exporter.stats().dropped_spans, 2u);
  EXPECT_EQ(exporter.stats().exported_spans, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, OtlpInterop,
    ::testing::Values(
        Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone, "application/x-protobuf"},
        Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip, "application/x-protobuf"},
        Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kNone, "application/json"},
        Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kGzip, "application/json"}),
    [](const ::testing::TestParamInfo<Encoding>& p) {
      return std::string(p.param.protocol == OtlpProtocol::kHttpJson ? "Json" : "Protobuf") +
             (p.param.compression == OtlpCompression::kGzip ? "Gzip" : "");
    });

OtlpTraceExporterOptions protobuf_options(const Receiver& r, metrics::Registry& registry) {
  return options_for(r, registry, OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone);
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

TEST(OtlpInteropFailures, Retries429ThenSucceeds) {
  Receiver receiver(R"([{"status":429},{"status":429},{"status":200}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  OtlpTraceExporter exporter(protobuf_options(receiver, registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  EXPECT_TRUE(exporter.export_spans(spans, far()).ok());
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 3u);
  check_decoded(records[2]);  // the retried body is the same request
  EXPECT_EQ(exporter.stats().retries, 2u);
  EXPECT_EQ(exporter.stats().dropped_spans, 0u);
}

TEST(OtlpInteropFailures, HonoursRetryAfterOn503) {
  Receiver receiver(R"([{"status":503,"headers":{"Retry-After":"1"}},{"status":200}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  OtlpTraceExporter exporter(protobuf_options(receiver, registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  EXPECT_TRUE(exporter.export_spans(spans, far()).ok());
  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 2u);
  const auto gap =
      records[1]["receivedAtMs"].get<int64_t>() - records[0]["receivedAtMs"].get<int64_t>();
  EXPECT_GE(gap, 900);
  EXPECT_LT(gap, 3000);
}

TEST(OtlpInteropFailures, BadRequestIsNotRetried) {
  Receiver receiver(R"([{"status":400}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  OtlpTraceExporter exporter(protobuf_options(receiver, registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_EQ(r.code, trace::ExportResult::Code::kFailure);
  EXPECT_THAT(r.message, HasSubstr("HTTP 400"));
  EXPECT_EQ(receiver.records().size(), 1u);
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
}

TEST(OtlpInteropFailures, SlowReceiverHitsTheTimeout) {
  Receiver receiver(R"([{"status":200,"delayMs":3000}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  auto o = protobuf_options(receiver, registry);
  o.timeout = milliseconds(400);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_LT(elapsed_ms(t0), 1000);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
}

TEST(OtlpInteropFailures, ReceiverDown) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  const std::string endpoint = receiver.endpoint();
  receiver.stop();
  metrics::Registry registry;
  OtlpTraceExporterOptions o;
  o.endpoint = endpoint;
  o.self_metrics = &registry;
  o.timeout = milliseconds(500);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(50);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_LT(elapsed_ms(t0), 1100);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
}

// OTEL_TRACES_EXPORTER=otlp and the OTEL_EXPORTER_OTLP_* variables alone, through
// vigil::trace's configuration: the way vigil-demo and applications are set up.
TEST(OtlpInteropEnvironment, ConfiguredFromOtelVariables) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  const std::string base = receiver.endpoint().substr(0, receiver.endpoint().size() - 10);
  std::vector<std::string> warnings;
  trace::Environment env({{"OTEL_TRACES_EXPORTER", "otlp"},
                          {"OTEL_SERVICE_NAME", "env-configured"},
                          {"OTEL_EXPORTER_OTLP_ENDPOINT", base},
                          {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"},
                          {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                          {"OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=team%20a"},
                          {"OTEL_BSP_SCHEDULE_DELAY", "50"}},
                         [&](std::string_view w) { warnings.emplace_back(w); });
  metrics::Registry registry;
  trace::TracerProvider provider(trace::options_from_environment({.self_metrics = &registry}, env));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  trace::Tracer& tracer = provider.tracer("vigil.env", "2.0");
  trace::TraceId trace_id;
  trace::SpanId parent_id;
  {
    trace::Span parent = tracer.start_span("request", {.kind = trace::SpanKind::kServer});
    trace_id = parent.trace_id();
    parent_id = parent.span_id();
    trace::Span child = tracer.start_span("llm_call", {.kind = trace::SpanKind::kClient});
    child.set_attribute("gen_ai.usage.input_tokens", int64_t{812});
  }
  ASSERT_TRUE(provider.force_flush(std::chrono::seconds(10)));
  const auto records = receiver.records();
  ASSERT_GE(records.size(), 1u);
  std::vector<json> spans;
  for (const json& r : records) {
    EXPECT_EQ(r["errors"], json::array());
    EXPECT_EQ(r["contentType"], "application/json");
    EXPECT_EQ(r["contentEncoding"], "gzip");
    EXPECT_EQ(r["headers"]["x-tenant"], "team a");
    const json& rs = r["request"]["resourceSpans"][0];
    EXPECT_EQ(attr(rs["resource"]["attributes"], "service.name")["stringValue"], "env-configured");
    for (const json& ss : rs["scopeSpans"]) {
      EXPECT_EQ(ss["scope"]["name"], "vigil.env");
      EXPECT_EQ(ss["scope"]["version"], "2.0");
      for (const json& sp : ss["spans"]) spans.push_back(sp);
    }
  }
  ASSERT_EQ(spans.size(), 2u);
  const json& child = spans[0]["name"] == "llm_call" ? spans[0] : spans[1];
  const json& parent = spans[0]["name"] == "llm_call" ? spans[1] : spans[0];
  EXPECT_EQ(parent["traceId"], trace_id.to_hex());
  EXPECT_EQ(parent["spanId"], parent_id.to_hex());
  EXPECT_EQ(parent["kind"], 2);
  EXPECT_EQ(child["traceId"], trace_id.to_hex());
  EXPECT_EQ(child["parentSpanId"], parent_id.to_hex());
  EXPECT_EQ(child["kind"], 3);
  EXPECT_EQ(attr(child["attributes"], "gen_ai.usage.input_tokens")["intValue"], "812");
  EXPECT_TRUE(provider.shutdown(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace vigil::exporters
