// Interop: vigil's OTLP logs, from spdlog through OtlpLogSink, the batch processor and
// OtlpLogExporter, decoded by the official OpenTelemetry JS definitions
// (@opentelemetry/otlp-transformer 0.52.1, receiver/receiver.js at /v1/logs) in protobuf and
// JSON, plain and gzipped: severity, body, scope, attributes, source location, the trace and span
// ids of the span current on the logging thread, resource; then partial success and a retried
// 503 from the same receiver. Run by otlp_interop_test.sh (VIGIL_NODE, VIGIL_OTLP_RECEIVER).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "otlp_receiver.h"
#include "vigil/exporters/otlp_log_exporter.h"
#include "vigil/exporters/spdlog_sink.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"
#include "vigil/trace/tracer.h"

namespace vigil::exporters {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using testing::Receiver;

struct Encoding {
  OtlpProtocol protocol;
  OtlpCompression compression;
  const char* content_type;
};

std::shared_ptr<LogExport> make_logs(const Receiver& r, const Encoding& e,
                                     metrics::Registry& registry) {
  LogExportOptions o;
  o.otlp.endpoint = r.base_url() + "/v1/logs";
  o.otlp.protocol = e.protocol;
  o.otlp.compression = e.compression;
  o.otlp.headers = {{"x-tenant", "team a"}};
  o.otlp.timeout = milliseconds(5000);
  o.otlp.retry.initial_backoff = milliseconds(20);
  o.otlp.retry.max_backoff = milliseconds(50);
  o.otlp.resource = trace::Resource({{"service.name", std::string("checkout")},
                                     {"service.version", std::string("1.4.2")},
                                     {"process.pid", int64_t{4242}}});
  o.otlp.self_metrics = &registry;
  o.batch.schedule_delay = std::chrono::hours(1);  // flush() sends
  o.batch.self_metrics = &registry;
  return std::make_shared<LogExport>(std::move(o));
}

const json& attr(const json& attributes, const std::string& key) {
  for (const json& kv : attributes) {
    if (kv["key"] == key) return kv["value"];
  }
  static const json missing;
  ADD_FAILURE() << "attribute " << key << " missing in " << attributes.dump();
  return missing;
}

class OtlpLogInterop : public ::testing::TestWithParam<Encoding> {};

TEST_P(OtlpLogInterop, EveryFieldSurvivesTheOfficialDecoder) {
  Receiver receiver;
  REQUIRE_RECEIVER(receiver);
  trace::ContextScope clean{trace::Context()};
  metrics::Registry registry;
  auto logs = make_logs(receiver, GetParam(), registry);
  auto logger = std::make_shared<::spdlog::logger>(
      "payments", std::make_shared<OtlpLogSink>(logs, OtlpLogSinkOptions{.scope_version = "2.0"}));
  logger->set_level(::spdlog::level::trace);

  trace::TracerProvider provider;
  std::string trace_hex, span_hex;
  int flags = 0;
  int line = 0;
  {
    trace::Span span = provider.tracer("t").start_span("checkout");
    trace_hex = span.trace_id().to_hex();
    span_hex = span.span_id().to_hex();
    flags = trace::current_span_context().flags.value;  // sampled, and random (W3C level 2)
    SPDLOG_LOGGER_ERROR(logger, "payment {} declined: {}", 42, "card expired \"ü\"");
    line = __LINE__ - 1;
  }
  logger->debug("cache warm");
  ASSERT_TRUE(logs->flush(milliseconds(10000)));

  const auto records = receiver.records();
  ASSERT_EQ(records.size(), 1u);
  const json& rec = records[0];
  SCOPED_TRACE(rec.dump());
  EXPECT_EQ(rec["errors"], json::array());
  EXPECT_EQ(rec["path"], "/v1/logs");
  EXPECT_EQ(rec["signal"], "logs");
  EXPECT_EQ(rec["contentType"], GetParam().content_type);
  EXPECT_EQ(rec["contentEncoding"], GetParam().compression == OtlpCompression::kGzip ? "gzip" : "");
  EXPECT_EQ(rec["headers"]["x-tenant"], "team a");
  const json& req = rec["request"];
  ASSERT_EQ(req["resourceLogs"].size(), 1u);
  const json& rl = req["resourceLogs"][0];
  EXPECT_EQ(attr(rl["resource"]["attributes"], "service.name")["stringValue"], "checkout");
  EXPECT_EQ(attr(rl["resource"]["attributes"], "process.pid")["intValue"], "4242");
  ASSERT_EQ(rl["scopeLogs"].size(), 1u);
  const json& sl = rl["scopeLogs"][0];
  EXPECT_EQ(sl["scope"]["name"], "payments");
  EXPECT_EQ(sl["scope"]["version"], "2.0");
  ASSERT_EQ(sl["logRecords"].size(), 2u);

  const json& err = sl["logRecords"][0];
  EXPECT_EQ(err["severityNumber"], 17);
  EXPECT_EQ(err["severityText"], "error");
  EXPECT_EQ(err["body"]["stringValue"], "payment 42 declined: card expired \"ü\"");
  EXPECT_EQ(err["traceId"], trace_hex);
  EXPECT_EQ(err["spanId"], span_hex);
  EXPECT_EQ(err["flags"], flags);
  EXPECT_EQ(flags & 1, 1);
  EXPECT_EQ(attr(err["attributes"], "code.lineno")["intValue"], std::to_string(line));
  EXPECT_NE(attr(err["attributes"], "code.filepath")["stringValue"].get<std::string>().find(
                "otlp_log_interop_test.cc"),
            std::string::npos);
  EXPECT_TRUE(attr(err["attributes"], "thread.id").contains("intValue"));
  const uint64_t t = std::stoull(err["timeUnixNano"].get<std::string>());
  const uint64_t observed = std::stoull(err["observedTimeUnixNano"].get<std::string>());
  EXPECT_GT(t, 1'600'000'000'000'000'000ULL);
  EXPECT_GE(observed, t);

  const json& debug = sl["logRecords"][1];
  EXPECT_EQ(debug["severityNumber"], 5);
  EXPECT_EQ(debug["severityText"], "debug");
  EXPECT_EQ(debug["body"]["stringValue"], "cache warm");
  EXPECT_TRUE(!debug.contains("traceId") || debug["traceId"] == "");
  EXPECT_TRUE(!debug.contains("spanId") || debug["spanId"] == "");

  ASSERT_NE(logs->otlp_exporter(), nullptr);
  EXPECT_EQ(logs->otlp_exporter()->stats().exported_records, 2u);
  EXPECT_TRUE(logs->shutdown(milliseconds(5000)));
}

TEST_P(OtlpLogInterop, PartialSuccessAndRetryFromTheOfficialEncoder) {
  Receiver receiver(
      R"([{"status":503},{"status":200,"partial":{"rejectedLogRecords":1,"errorMessage":"too old"}}])");
  REQUIRE_RECEIVER(receiver);
  metrics::Registry registry;
  auto logs = make_logs(receiver, GetParam(), registry);
  for (const char* body : {"a", "b", "c"}) {
    LogRecord r;
    r.body = body;
    r.severity_number = severity::kInfo;
    logs->emit(std::move(r));
  }
  ASSERT_TRUE(logs->flush(milliseconds(10000)));
  EXPECT_EQ(receiver.records().size(), 2u);  // 503, then accepted
  const auto s = logs->otlp_exporter()->stats();
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.rejected_records, 1u);
  EXPECT_EQ(s.exported_records, 2u);
  EXPECT_EQ(logs->processor().stats().dropped_export_failed, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, OtlpLogInterop,
    ::testing::Values(
        Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone, "application/x-protobuf"},
        Encoding{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip, "application/x-protobuf"},
        Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kNone, "application/json"},
        Encoding{OtlpProtocol::kHttpJson, OtlpCompression::kGzip, "application/json"}),
    [](const auto& param_info) {
      return std::string(param_info.param.protocol == OtlpProtocol::kHttpJson ? "Json"
                                                                              : "Protobuf") +
             (param_info.param.compression == OtlpCompression::kGzip ? "Gzip" : "");
    });

}  // namespace
}  // namespace vigil::exporters
