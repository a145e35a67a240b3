// OTLP logs: the encodings against hand-computed expectations (protobuf decoded with the
// generated classes, JSON parsed), the batch processor (full queue, flush, shutdown deadlines
// with a hanging collector), the exporter's retries (429/5xx retried, 400 not), and the
// OTEL_LOGS_EXPORTER / OTEL_BLRP_* / OTEL_EXPORTER_OTLP_LOGS_* variables with bad values.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/detail/gzip.h"
#include "fake_collector.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "otlp_log_encoding.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_log_exporter.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"
#include "vigil/trace/tracer.h"

namespace vigil::exporters {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using testing::FakeCollector;
namespace pb = opentelemetry::proto::collector::logs::v1;
using Clock = std::chrono::steady_clock;

constexpr const char* kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpanHex = "00f067aa0ba902b7";

LogRecord record(std::string body, std::string scope = "payments") {
  LogRecord r;
  r.time_unix_nanos = 1'700'000'000'123'456'789ULL;
  r.observed_unix_nanos = 1'700'000'000'200'000'000ULL;
  r.severity_number = severity::kError;
  r.severity_text = "error";
  r.body = std::move(body);
  r.scope_name = std::move(scope);
  r.scope_version = "2.0";
  r.attributes = {{"order.id", int64_t{42}}, {"retry", true}, {"provider", std::string("openai")}};
  return r;
}

std::vector<LogRecord> test_records() {
  std::vector<LogRecord> v;
  v.push_back(record("payment declined"));
  v.back().trace_id = *trace::TraceId::from_hex(kTraceHex);
  v.back().span_id = *trace::SpanId::from_hex(kSpanHex);
  v.back().trace_flags.value = 1;
  v.push_back(record("cache cold", "cache"));
  v.back().severity_number = severity::kWarn;
  v.back().severity_text = "warning";
  v.back().attributes.clear();
  v.push_back(record("second payments line"));
  return v;
}

trace::Resource test_resource() {
  return trace::Resource({{"service.name", std::string("checkout")}, {"process.pid", int64_t{7}}});
}

std::string exposition(const metrics::Registry& r) {
  return metrics::serialize(r, metrics::Format::kPrometheusText);
}

bool has_line(const metrics::Registry& r, const std::string& line) {
  return exposition(r).find("\n" + line + "\n") != std::string::npos;
}

// ---- encodings ---------------------------------------------------------------------------------

TEST(OtlpLogEncoding, ProtobufGroupsByScopeAndCarriesEveryField) {
  std::string out, error;
  const auto records = test_records();
  ASSERT_TRUE(detail::encode_logs_protobuf(records, test_resource(), out, error)) << error;
  pb::ExportLogsServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(out));
  ASSERT_EQ(req.resource_logs_size(), 1);
  const auto& rl = req.resource_logs(0);
  ASSERT_EQ(rl.resource().attributes_size(), 2);
  EXPECT_EQ(rl.resource().attributes(0).key(), "service.name");
  EXPECT_EQ(rl.resource().attributes(0).value().string_value(), "checkout");
  ASSERT_EQ(rl.scope_logs_size(), 2);
  EXPECT_EQ(rl.scope_logs(0).scope().name(), "payments");
  EXPECT_EQ(rl.scope_logs(0).scope().version(), "2.0");
  ASSERT_EQ(rl.scope_logs(0).log_records_size(), 2);
  EXPECT_EQ(rl.scope_logs(1).scope().name(), "cache");
  const auto& r = rl.scope_logs(0).log_records(0);
  EXPECT_EQ(r.time_unix_nano(), 1'700'000'000'123'456'789ULL);
  EXPECT_EQ(r.observed_time_unix_nano(), 1'700'000'000'200'000'000ULL);
  EXPECT_EQ(r.severity_number(), 17);
  EXPECT_EQ(r.severity_text(), "error");
  EXPECT_EQ(r.body().string_value(), "payment declined");
  ASSERT_EQ(r.attributes_size(), 3);
  EXPECT_EQ(r.attributes(0).value().int_value(), 42);
  EXPECT_TRUE(r.attributes(1).value().bool_value());
  EXPECT_EQ(r.flags(), 1u);
  ASSERT_EQ(r.trace_id().size(), 16u);
  EXPECT_EQ(static_cast<uint8_t>(r.trace_id()[0]), 0x4b);
  EXPECT_EQ(static_cast<uint8_t>(r.span_id()[7]), 0xb7);
  const auto& plain = rl.scope_logs(0).log_records(1);
  EXPECT_TRUE(plain.trace_id().empty());
  EXPECT_TRUE(plain.span_id().empty());
  EXPECT_EQ(plain.flags(), 0u);
  EXPECT_EQ(rl.scope_logs(1).log_records(0).severity_number(), 13);
}

TEST(OtlpLogEncoding, JsonHasTheOtlpShape) {
  const auto records = test_records();
  const json j = json::parse(detail::encode_logs_json(records, test_resource()));
  const json& rl = j["resourceLogs"][0];
  EXPECT_EQ(rl["resource"]["attributes"][1], json::parse(R"({"key":"process.pid",
      "value":{"intValue":"7"}})"));
  ASSERT_EQ(rl["scopeLogs"].size(), 2u);
  EXPECT_EQ(rl["scopeLogs"][0]["scope"], json::parse(R"({"name":"payments","version":"2.0"})"));
  const json& r = rl["scopeLogs"][0]["logRecords"][0];
  EXPECT_EQ(r, json::parse(R"({
    "timeUnixNano": "1700000000123456789", "observedTimeUnixNano": "1700000000200000000",
    "severityNumber": 17, "severityText": "error", "body": {"stringValue": "payment declined"},
    "attributes": [{"key": "order.id", "value": {"intValue": "42"}},
                   {"key": "retry", "value": {"boolValue": true}},
                   {"key": "provider", "value": {"stringValue": "openai"}}],
    "flags": 1, "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7"})"));
  EXPECT_FALSE(rl["scopeLogs"][0]["logRecords"][1].contains("traceId"));
}

TEST(OtlpLogEncoding, SeverityNames) {
  EXPECT_EQ(severity_name(0), "");
  EXPECT_EQ(severity_name(1), "TRACE");
  EXPECT_EQ(severity_name(12), "INFO");
  EXPECT_EQ(severity_name(13), "WARN");
  EXPECT_EQ(severity_name(24), "FATAL");
  EXPECT_EQ(severity_name(25), "");
}

TEST(LogRecord, TakesTheCurrentSpan) {
  trace::ContextScope clean{trace::Context()};
  trace::TracerProvider provider;
  LogRecord outside;
  outside.set_current_span();
  EXPECT_FALSE(outside.trace_id.valid());
  trace::Span span = provider.tracer("t").start_span("request");
  LogRecord inside;
  inside.set_current_span();
  EXPECT_EQ(inside.trace_id, span.trace_id());
  EXPECT_EQ(inside.span_id, span.span_id());
  EXPECT_TRUE(inside.trace_flags.sampled());
}

// ---- processor ---------------------------------------------------------------------------------

// Records what it is given; can be made to block until released.
class FakeExporter final : public LogRecordExporter {
 public:
  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline deadline) override {
    std::unique_lock lock(mu);
    ++calls;
    entered.notify_all();
    cv.wait_until(lock, deadline, [this] { return !hold || aborted; });
    if (hold && !aborted) return trace::ExportResult::retryable("deadline");
    if (aborted) return trace::ExportResult::failure("aborted");
    for (const LogRecord& r : records) bodies.push_back(r.body);
    batches.push_back(records.size());
    return result;
  }
  bool shutdown(milliseconds) override {
    std::lock_guard lock(mu);
    aborted = true;
    cv.notify_all();
    return true;
  }
  void release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }
  bool wait_entered(int n) {
    std::unique_lock lock(mu);
    return entered.wait_for(lock, std::chrono::seconds(5), [&] { return calls >= n; });
  }

  std::mutex mu;
  std::condition_variable cv, entered;
  bool hold = false;
  bool aborted = false;
  int calls = 0;
  std::vector<std::string> bodies;
  std::vector<std::size_t> batches;
  trace::ExportResult result;
};

BatchLogRecordProcessorOptions quick(std::size_t queue, std::size_t batch) {
  BatchLogRecordProcessorOptions o;
  o.max_queue_size = queue;
  o.max_export_batch_size = batch;
  o.schedule_delay = std::chrono::hours(1);  // only full batches and flushes export
  o.export_timeout = milliseconds(10000);
  return o;
}

TEST(BatchLogRecordProcessor, FullQueueDropsAndCountsWithoutBlocking) {
  auto exporter = std::make_unique<FakeExporter>();
  FakeExporter& fake = *exporter;
  fake.hold = true;
  metrics::Registry registry;
  auto o = quick(4, 2);
  o.self_metrics = &registry;
  BatchLogRecordProcessor p(std::move(exporter), o);
  // 2 fill a batch: the worker takes them and blocks in the exporter.
  EXPECT_TRUE(p.emit(record("a")));
  EXPECT_TRUE(p.emit(record("b")));
  ASSERT_TRUE(fake.wait_entered(1));
  // The queue (4) fills while the exporter hangs; the next 3 are dropped at once.
  for (const char* b : {"c", "d", "e", "f"}) EXPECT_TRUE(p.emit(record(b)));
  const auto t0 = Clock::now();
  for (const char* b : {"g", "h", "i"}) EXPECT_FALSE(p.emit(record(b)));
  EXPECT_LT(Clock::now() - t0, milliseconds(50));
  EXPECT_EQ(p.stats().dropped_queue_full, 3u);
  EXPECT_EQ(p.stats().queued, 6u);
  EXPECT_TRUE(has_line(registry, "vigil_log_records_dropped_total{reason=\"queue_full\"} 3"));
  fake.release();
  EXPECT_TRUE(p.flush(milliseconds(5000)));
  EXPECT_EQ(fake.bodies, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(fake.batches, (std::vector<std::size_t>{2, 2, 2}));
  EXPECT_EQ(p.stats().exported, 6u);
  EXPECT_TRUE(has_line(registry, "vigil_log_records_exported_total 6"));
}

TEST(BatchLogRecordProcessor, FlushExportsAPartialBatchAndShutdownDrains) {
  auto exporter = std::make_unique<FakeExporter>();
  FakeExporter& fake = *exporter;
  BatchLogRecordProcessor p(std::move(exporter), quick(100, 50));
  EXPECT_TRUE(p.flush(milliseconds(100)));  // nothing queued
  p.emit(record("one"));
  EXPECT_TRUE(p.flush(milliseconds(5000)));
  EXPECT_EQ(fake.bodies, std::vector<std::string>{"one"});
  p.emit(record("two"));
  p.emit(record("three"));
  EXPECT_TRUE(p.shutdown(milliseconds(5000)));
  EXPECT_EQ(fake.bodies.size(), 3u);
  EXPECT_FALSE(p.emit(record("late")));
  EXPECT_EQ(p.stats().dropped_shutdown, 1u);
  EXPECT_TRUE(p.shutdown(milliseconds(10)));  // idempotent
}

TEST(BatchLogRecordProcessor, ScheduleDelayExportsWithoutFlush) {
  auto exporter = std::make_unique<FakeExporter>();
  FakeExporter& fake = *exporter;
  auto o = quick(100, 50);
  o.schedule_delay = milliseconds(20);
  BatchLogRecordProcessor p(std::move(exporter), o);
  p.emit(record("timed"));
  EXPECT_TRUE(fake.wait_entered(1));  // bounded wait: 5 s
}

TEST(BatchLogRecordProcessor, FailedExportsAndRejectionsAreCounted) {
  auto exporter = std::make_unique<FakeExporter>();
  FakeExporter& fake = *exporter;
  fake.result = trace::ExportResult::partial(1, "one too old");
  BatchLogRecordProcessor p(std::move(exporter), quick(100, 50));
  p.emit(record("a"));
  p.emit(record("b"));
  EXPECT_TRUE(p.flush(milliseconds(5000)));
  EXPECT_EQ(p.stats().exported, 1u);
  EXPECT_EQ(p.stats().dropped_export_failed, 1u);
  fake.result = trace::ExportResult::failure("400");
  p.emit(record("c"));
  EXPECT_TRUE(p.flush(milliseconds(5000)));
  EXPECT_EQ(p.stats().dropped_export_failed, 2u);
  EXPECT_EQ(p.stats().failed_exports, 1u);
}

TEST(BatchLogRecordProcessor, RejectsBadOptions) {
  auto make = [](BatchLogRecordProcessorOptions o) {
    BatchLogRecordProcessor p(std::make_unique<FakeExporter>(), o);
  };
  EXPECT_THROW(make(quick(0, 0)), Error);
  EXPECT_THROW(make(quick(10, 20)), Error);
  auto o = quick(10, 5);
  o.schedule_delay = milliseconds(0);
  EXPECT_THROW(make(o), Error);
  EXPECT_THROW(BatchLogRecordProcessor(nullptr, quick(10, 5)), Error);
}

// ---- the OTLP exporter against the fake collector ----------------------------------------------

admin::Response ok() { return {.status = 200, .content_type = "application/x-protobuf"}; }
admin::Response status(int code) {
  return {.status = code, .content_type = "text/plain", .body = "no"};
}

OtlpLogExporterOptions options_for(const std::string& endpoint, metrics::Registry& registry) {
  OtlpLogExporterOptions o;
  o.endpoint = endpoint;
  o.self_metrics = &registry;
  o.timeout = milliseconds(3000);
  o.retry.initial_backoff = milliseconds(10);
  o.retry.max_backoff = milliseconds(20);
  o.resource = test_resource();
  return o;
}

LogRecordExporter::Deadline far() { return Clock::now() + std::chrono::hours(1); }

TEST(OtlpLogExporter, SendsGzippedProtobufTheCollectorDecodes) {
  FakeCollector collector([](int) { return ok(); });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.compression = OtlpCompression::kGzip;
  OtlpLogExporter exporter(o);
  const auto records = test_records();
  EXPECT_TRUE(exporter.export_logs(records, far()).ok());
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/x-protobuf");
  EXPECT_EQ(got[0].content_encoding, "gzip");
  auto body = vigil::detail::gunzip(got[0].body);
  ASSERT_TRUE(body.has_value()) << body.error;
  pb::ExportLogsServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(*body));
  EXPECT_EQ(req.resource_logs(0).scope_logs(0).log_records(0).body().string_value(),
            "payment declined");
  EXPECT_EQ(exporter.stats().exported_records, 3u);
  EXPECT_TRUE(has_line(registry, "vigil_otlp_exported_log_records_total 3"));
}

TEST(OtlpLogExporter, RetriesOn429And5xx) {
  for (int code : {429, 502, 503, 504}) {
    SCOPED_TRACE(code);
    FakeCollector collector([code](int n) { return n < 2 ? status(code) : ok(); });
    metrics::Registry registry;
    OtlpLogExporter exporter(options_for(collector.endpoint(), registry));
    const auto records = test_records();
    EXPECT_TRUE(exporter.export_logs(records, far()).ok());
    EXPECT_EQ(collector.count(), 3u);
    EXPECT_EQ(exporter.stats().retries, 2u);
    EXPECT_EQ(exporter.stats().exported_records, 3u);
  }
}

TEST(OtlpLogExporter, DoesNotRetry400) {
  FakeCollector collector([](int) { return status(400); });
  metrics::Registry registry;
  OtlpLogExporter exporter(options_for(collector.endpoint(), registry));
  const auto records = test_records();
  const trace::ExportResult r = exporter.export_logs(records, far());
  EXPECT_EQ(r.code, trace::ExportResult::Code::kFailure);
  EXPECT_NE(r.message.find("HTTP 400"), std::string::npos) << r.message;
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_EQ(exporter.stats().dropped_records, 3u);
  EXPECT_TRUE(has_line(registry, "vigil_otlp_log_records_dropped_total{reason=\"http_error\"} 3"));
  EXPECT_TRUE(has_line(registry, "vigil_otlp_log_export_failures_total{reason=\"http_error\"} 1"));
}

TEST(OtlpLogExporter, PartialSuccessInJson) {
  FakeCollector collector([](int) {
    return admin::Response{
        .status = 200,
        .content_type = "application/json",
        .body = R"({"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"too old"}})"};
  });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.protocol = OtlpProtocol::kHttpJson;
  OtlpLogExporter exporter(o);
  const auto records = test_records();
  const trace::ExportResult r = exporter.export_logs(records, far());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.rejected_spans, 2u);
  EXPECT_EQ(exporter.stats().rejected_records, 2u);
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(json::parse(got[0].body)["resourceLogs"][0]["scopeLogs"].size(), 2u);
}

// A collector that does not answer until released (or 10 s).
struct HangingCollector {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  FakeCollector collector{[this](int) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return released; });
    return ok();
  }};
  ~HangingCollector() { release(); }
  void release() {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
  }
};

TEST(OtlpLogExporter, FlushAndShutdownKeepTheirDeadlinesAgainstAHangingCollector) {
  HangingCollector hanging;
  metrics::Registry registry;
  auto o = options_for(hanging.collector.endpoint(), registry);
  o.timeout = milliseconds(30000);
  auto batch = quick(100, 50);
  batch.self_metrics = &registry;
  LogExport logs(std::make_unique<OtlpLogExporter>(o), batch);
  logs.emit(record("stuck"));
  auto t0 = Clock::now();
  EXPECT_FALSE(logs.flush(milliseconds(200)));
  auto took = Clock::now() - t0;
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(1500));
  logs.emit(record("queued behind"));
  t0 = Clock::now();
  EXPECT_FALSE(logs.shutdown(milliseconds(300)));
  took = Clock::now() - t0;
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(1500));  // deadline + the abort (~100 ms), generous for CI
  const auto s = logs.processor().stats();
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(s.dropped_export_failed + s.dropped_shutdown, 2u);
  EXPECT_TRUE(has_line(registry, "vigil_otlp_log_records_dropped_total{reason=\"shutdown\"} 1"));
}

TEST(OtlpLogExporter, InvalidOptionsThrowNamingTheProblem) {
  OtlpLogExporterOptions o;
  o.endpoint = "ftp://x";
  try {
    OtlpLogExporter e(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("OTLP log exporter: endpoint 'ftp://x'"),
              std::string::npos)
        << e.what();
  }
}

// ---- environment -------------------------------------------------------------------------------

struct Env {
  std::vector<std::string> warnings;
  trace::Environment env(std::map<std::string, std::string, std::less<>> vars) {
    return trace::Environment(std::move(vars),
                              [this](std::string_view w) { warnings.emplace_back(w); });
  }
};

TEST(LogExportEnvironment, OffUnlessAsked) {
  Env e;
  EXPECT_FALSE(LogExportOptions::from_environment(e.env({})));
  EXPECT_FALSE(LogExportOptions::from_environment(e.env({{"OTEL_LOGS_EXPORTER", "none"}})));
  EXPECT_FALSE(LogExportOptions::from_environment(
      e.env({{"OTEL_LOGS_EXPORTER", "otlp"}, {"OTEL_SDK_DISABLED", "true"}})));
  EXPECT_TRUE(e.warnings.empty());
  EXPECT_FALSE(LogExport::from_environment(e.env({})));
}

TEST(LogExportEnvironment, OtlpWithEveryVariable) {
  Env e;
  auto o = LogExportOptions::from_environment(e.env({
      {"OTEL_LOGS_EXPORTER", "otlp"},
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
      {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
      {"OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=a%20b"},
      {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1500"},
      {"OTEL_SERVICE_NAME", "gateway"},
      {"OTEL_BLRP_SCHEDULE_DELAY", "250"},
      {"OTEL_BLRP_EXPORT_TIMEOUT", "4000"},
      {"OTEL_BLRP_MAX_QUEUE_SIZE", "100"},
      {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"},
  }));
  ASSERT_TRUE(o);
  EXPECT_TRUE(e.warnings.empty()) << e.warnings[0];
  EXPECT_EQ(o->exporter, LogExporterKind::kOtlp);
  EXPECT_EQ(o->otlp.endpoint, "http://collector:4318/v1/logs");
  EXPECT_EQ(o->otlp.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(o->otlp.compression, OtlpCompression::kGzip);
  ASSERT_EQ(o->otlp.headers.size(), 1u);
  EXPECT_EQ(o->otlp.headers[0].second, "a b");
  EXPECT_EQ(o->otlp.timeout, milliseconds(1500));
  EXPECT_EQ(o->otlp.resource.service_name(), "gateway");
  EXPECT_EQ(o->batch.schedule_delay, milliseconds(250));
  EXPECT_EQ(o->batch.export_timeout, milliseconds(4000));
  EXPECT_EQ(o->batch.max_queue_size, 100u);
  EXPECT_EQ(o->batch.max_export_batch_size, 10u);

  // The signal's endpoint is used as is and wins over the generic one.
  auto specific = OtlpLogExporterOptions::from_environment(
      e.env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318/"},
             {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://b:9999/custom"}}));
  EXPECT_EQ(specific.endpoint, "http://b:9999/custom");
}

TEST(LogExportEnvironment, BadValuesWarnAndFallBack) {
  Env e;
  auto o = LogExportOptions::from_environment(e.env({
      {"OTEL_LOGS_EXPORTER", "zipkin, console, otlp"},
      {"OTEL_BLRP_SCHEDULE_DELAY", "soon"},
      {"OTEL_BLRP_EXPORT_TIMEOUT", "0"},
      {"OTEL_BLRP_MAX_QUEUE_SIZE", "-5"},
      {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "many"},
  }));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->exporter, LogExporterKind::kConsole);  // the first one vigil knows
  EXPECT_EQ(o->batch.schedule_delay, milliseconds(1000));
  EXPECT_EQ(o->batch.export_timeout, milliseconds(30000));
  EXPECT_EQ(o->batch.max_queue_size, 2048u);
  EXPECT_EQ(o->batch.max_export_batch_size, 512u);
  std::string all;
  for (const auto& w : e.warnings) all += w + "\n";
  for (const char* name : {"zipkin", "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BLRP_EXPORT_TIMEOUT",
                           "OTEL_BLRP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                           "using the first, console"}) {
    EXPECT_NE(all.find(name), std::string::npos) << name << " not in:\n" << all;
  }

  // A batch larger than the queue is cut to it.
  e.warnings.clear();
  auto b = BatchLogRecordProcessorOptions::from_environment(
      e.env({{"OTEL_BLRP_MAX_QUEUE_SIZE", "64"}, {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "512"}}));
  EXPECT_EQ(b.max_export_batch_size, 64u);
  ASSERT_EQ(e.warnings.size(), 1u);

  // Unknown only: off, with a warning; bad OTLP values: warnings and defaults.
  e.warnings.clear();
  EXPECT_FALSE(LogExportOptions::from_environment(e.env({{"OTEL_LOGS_EXPORTER", "loki"}})));
  EXPECT_EQ(e.warnings.size(), 1u);
  e.warnings.clear();
  auto bad = OtlpLogExporterOptions::from_environment(
      e.env({{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "collector:4318"},
             {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"},
             {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "-1"}}));
  EXPECT_EQ(bad.endpoint, "http://localhost:4318/v1/logs");
  EXPECT_EQ(bad.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(bad.timeout, milliseconds(10000));
  EXPECT_EQ(e.warnings.size(), 3u);
}

TEST(ConsoleLogExporter, WritesOneLinePerRecord) {
  char* buf = nullptr;
  std::size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  ASSERT_NE(f, nullptr);
  {
    ConsoleLogExporter console(f);
    const auto records = test_records();
    EXPECT_TRUE(console.export_logs(records, far()).ok());
  }
  std::fclose(f);
  const std::string text(buf, size);
  std::free(buf);
  EXPECT_NE(text.find("2023-11-14T22:13:20.123Z ERROR [payments] payment declined trace_id="
                      "4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 order.id=42"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

}  // namespace
}  // namespace vigil::exporters
