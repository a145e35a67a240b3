// OtlpTraceExporter against an in-process fake collector (vigil's admin server): delivery in
// both encodings, gzip, headers, partial success, and every failure mode: 400, 429/503 with and
// without Retry-After, retries exhausted, connection refused, slow collector, shutdown during an
// export. Each checks the call returns within its deadline and that drops are counted.
#include "vigil/exporters/otlp_trace_exporter.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/detail/gzip.h"
#include "fake_collector.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "test_spans.h"
#include "vigil/admin/server.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using std::chrono::milliseconds;
using testing::Clock;
using testing::FakeCollector;
using ::testing::HasSubstr;
using testing::RefusingPort;
namespace pbc = opentelemetry::proto::collector::trace::v1;

admin::Response ok() { return {.status = 200, .content_type = "application/x-protobuf"}; }

admin::Response status(int code, std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {
      .status = code, .content_type = "text/plain", .body = "no", .headers = std::move(headers)};
}

OtlpTraceExporterOptions options_for(const std::string& endpoint, metrics::Registry& registry) {
  OtlpTraceExporterOptions o;
  o.endpoint = endpoint;
  o.self_metrics = &registry;
  o.timeout = milliseconds(3000);
  o.retry.initial_backoff = milliseconds(20);
  o.retry.max_backoff = milliseconds(50);
  return o;
}

trace::SpanExporter::Deadline far() { return Clock::now() + std::chrono::hours(1); }

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

// The value of one sample in the registry's text exposition ("" when absent).
std::string sample(const metrics::Registry& r, const std::string& series) {
  const std::string text = metrics::serialize(r, metrics::Format::kPrometheusText);
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const std::size_t begin = at + series.size() + 2;
  return text.substr(begin, text.find('\n', begin) - begin);
}

TEST(OtlpTraceExporter, DeliversProtobufWithHeaders) {
  FakeCollector collector([](int) { return ok(); });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.headers = {{"Authorization", "Bearer t0ken"}};
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();

  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.rejected_spans, 0u);

  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/x-protobuf");
  EXPECT_EQ(got[0].content_encoding, "");
  EXPECT_EQ(got[0].authorization, "Bearer t0ken");
  EXPECT_THAT(got[0].user_agent, HasSubstr("vigil"));
  pbc::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(got[0].body));
  ASSERT_EQ(req.resource_spans_size(), 1);
  EXPECT_EQ(req.resource_spans(0).scope_spans(0).spans(0).name(), "GET /checkout");

  const OtlpExporterStats s = exporter.stats();
  EXPECT_EQ(s.export_calls, 1u);
  EXPECT_EQ(s.exported_spans, 3u);
  EXPECT_EQ(s.dropped_spans, 0u);
  EXPECT_EQ(s.sent_bytes, got[0].body.size());
  EXPECT_EQ(sample(registry, "vigil_otlp_exported_spans_total"), "3");
  EXPECT_EQ(sample(registry, "vigil_otlp_export_duration_seconds_count"), "1");
  EXPECT_EQ(exporter.name(), "otlp");
}

TEST(OtlpTraceExporter, DeliversGzippedJson) {
  FakeCollector collector([](int) {
    return admin::Response{.status = 200, .content_type = "application/json", .body = "{}"};
  });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.protocol = OtlpProtocol::kHttpJson;
  o.compression = OtlpCompression::kGzip;
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  EXPECT_TRUE(exporter.export_spans(spans, far()).ok());

  const auto got = collector.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].content_encoding, "gzip");
  const auto plain = vigil::detail::gunzip(got[0].body);
  ASSERT_TRUE(plain) << plain.error;
  const auto j = nlohmann::json::parse(*plain);
  EXPECT_EQ(j["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"], testing::kTraceIdHex);
}

TEST(OtlpTraceExporter, ReportsAndCountsPartialSuccess) {
  for (bool json : {false, true}) {
    FakeCollector collector([json](int) {
      if (json) {
        return admin::Response{
            .status = 200,
            .content_type = "application/json",
            .body = R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}})"};
      }
      pbc::ExportTraceServiceResponse resp;
      resp.mutable_partial_success()->set_rejected_spans(2);
      resp.mutable_partial_success()->set_error_message("too old");
      return admin::Response{.status = 200,
                             .content_type = "application/x-protobuf",
                             .body = resp.SerializeAsString()};
    });
    metrics::Registry registry;
    auto o = options_for(collector.endpoint(), registry);
    if (json) o.protocol = OtlpProtocol::kHttpJson;
    OtlpTraceExporter exporter(o);
    auto batch = testing::make_test_batch();
    const auto spans = batch->pointers();
    const trace::ExportResult r = exporter.export_spans(spans, far());
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.rejected_spans, 2u);
    EXPECT_THAT(r.message, HasSubstr("too old"));
    const auto s = exporter.stats();
    EXPECT_EQ(s.exported_spans, 1u);
    EXPECT_EQ(s.rejected_spans, 2u);
    EXPECT_EQ(s.dropped_spans, 2u);
    EXPECT_EQ(s.partial_successes, 1u);
    EXPECT_EQ(sample(registry, "vigil_otlp_spans_dropped_total{reason=\"rejected\"}"), "2");
    EXPECT_EQ(sample(registry, "vigil_otlp_exported_spans_total"), "1");
  }
}

TEST(OtlpTraceExporter, BadRequestIsNotRetried) {
  FakeCollector collector([](int) {
    google::rpc::Status st;
    st.set_code(3);
    st.set_message("span id must be 8 bytes");
    return admin::Response{
        .status = 400, .content_type = "application/x-protobuf", .body = st.SerializeAsString()};
  });
  metrics::Registry registry;
  OtlpTraceExporter exporter(options_for(collector.endpoint(), registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_EQ(r.code, trace::ExportResult::Code::kFailure);
  EXPECT_THAT(r.message, HasSubstr("HTTP 400"));
  EXPECT_THAT(r.message, HasSubstr("span id must be 8 bytes"));
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
  EXPECT_EQ(exporter.stats().failed_exports, 1u);
  EXPECT_EQ(exporter.stats().retries, 0u);
  EXPECT_EQ(sample(registry, "vigil_otlp_spans_dropped_total{reason=\"http_error\"}"), "3");
  EXPECT_EQ(sample(registry, "vigil_otlp_export_failures_total{reason=\"http_error\"}"), "1");
}

TEST(OtlpTraceExporter, Other4xxAreNotRetried) {
  for (int code : {401, 403, 404, 413}) {
    FakeCollector collector([code](int) { return status(code); });
    metrics::Registry registry;
    OtlpTraceExporter exporter(options_for(collector.endpoint(), registry));
    auto batch = testing::make_test_batch();
    const auto spans = batch->pointers();
    EXPECT_EQ(exporter.export_spans(spans, far()).code, trace::ExportResult::Code::kFailure);
    EXPECT_EQ(collector.count(), 1u) << code;
  }
}

TEST(OtlpTraceExporter, HonoursRetryAfterOn503) {
  FakeCollector collector([](int n) {
    return n == 0 ? status(503, {{"Retry-After", "1"}}) : ok();
  });
  metrics::Registry registry;
  OtlpTraceExporter exporter(options_for(collector.endpoint(), registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_TRUE(r.ok()) << r.message;
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 2u);
  const auto gap = std::chrono::duration_cast<milliseconds>(got[1].at - got[0].at).count();
  EXPECT_GE(gap, 950);  // Retry-After: 1, not the 20 ms backoff
  EXPECT_LT(gap, 2500);
  EXPECT_EQ(exporter.stats().retries, 1u);
  EXPECT_EQ(exporter.stats().exported_spans, 3u);
  EXPECT_EQ(sample(registry, "vigil_otlp_export_retries_total"), "1");
}

TEST(OtlpTraceExporter, RetriesOn429ThenSucceeds) {
  FakeCollector collector([](int n) { return n < 2 ? status(429) : ok(); });
  metrics::Registry registry;
  OtlpTraceExporter exporter(options_for(collector.endpoint(), registry));
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  EXPECT_TRUE(exporter.export_spans(spans, far()).ok());
  EXPECT_LT(elapsed_ms(t0), 1000);
  EXPECT_EQ(collector.count(), 3u);
  EXPECT_EQ(exporter.stats().retries, 2u);
  EXPECT_EQ(exporter.stats().dropped_spans, 0u);
}

TEST(OtlpTraceExporter, RetryAfterPastTheDeadlineGivesUpAtOnce) {
  FakeCollector collector([](int) { return status(503, {{"Retry-After", "30"}}); });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.timeout = milliseconds(2000);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_LT(elapsed_ms(t0), 1000);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_THAT(r.message, HasSubstr("HTTP 503"));
  EXPECT_THAT(r.message, HasSubstr("deadline"));
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
}

TEST(OtlpTraceExporter, GivesUpAfterMaxAttempts) {
  FakeCollector collector([](int) { return status(502); });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.retry.max_attempts = 3;
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_THAT(r.message, HasSubstr("3 attempts"));
  EXPECT_EQ(collector.count(), 3u);
  EXPECT_EQ(exporter.stats().retries, 2u);
  EXPECT_EQ(sample(registry, "vigil_otlp_spans_dropped_total{reason=\"http_error\"}"), "3");
}

TEST(OtlpTraceExporter, CollectorDownReturnsWithinTheDeadline) {
  RefusingPort port;
  metrics::Registry registry;
  auto o = options_for(port.endpoint(), registry);
  o.timeout = milliseconds(500);
  o.retry.max_attempts = 100;
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  const long ms = elapsed_ms(t0);
  EXPECT_LT(ms, 900);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_GT(exporter.stats().retries, 0u);  // connection errors are retried
  EXPECT_EQ(exporter.stats().dropped_spans, 3u);
  // The reason is the last attempt's: "connection", or "timeout" when the deadline ran out
  // before another attempt could be sent (a slow machine, e.g. under ASan). One of the two,
  // counted once.
  const auto count = [&](const char* family, const char* reason) {
    const std::string v = sample(registry, std::string(family) + "{reason=\"" + reason + "\"}");
    return v.empty() ? 0.0 : std::stod(v);
  };
  EXPECT_EQ(count("vigil_otlp_spans_dropped_total", "connection") +
                count("vigil_otlp_spans_dropped_total", "timeout"),
            3.0);
  EXPECT_EQ(count("vigil_otlp_export_failures_total", "connection") +
                count("vigil_otlp_export_failures_total", "timeout"),
            1.0);
}

TEST(OtlpTraceExporter, SlowCollectorTimesOut) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(1500));
    return ok();
  });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.timeout = milliseconds(300);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, far());
  const long ms = elapsed_ms(t0);
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 900);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
  EXPECT_EQ(sample(registry, "vigil_otlp_spans_dropped_total{reason=\"timeout\"}"), "3");
}

TEST(OtlpTraceExporter, ProcessorDeadlineWinsOverTimeout) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(1500));
    return ok();
  });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.timeout = milliseconds(10000);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  const auto t0 = Clock::now();
  const trace::ExportResult r = exporter.export_spans(spans, t0 + milliseconds(200));
  EXPECT_LT(elapsed_ms(t0), 800);
  EXPECT_EQ(r.code, trace::ExportResult::Code::kRetryable);
}

TEST(OtlpTraceExporter, ShutdownAbortsAnExportInFlight) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(2000));
    return ok();
  });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.timeout = milliseconds(10000);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  auto running =
      std::async(std::launch::async, [&] { return exporter.export_spans(spans, far()); });
  while (collector.count() == 0) std::this_thread::sleep_for(milliseconds(5));
  const auto t0 = Clock::now();
  EXPECT_TRUE(exporter.shutdown(milliseconds(1000)));
  EXPECT_LT(elapsed_ms(t0), 600);
  const trace::ExportResult r = running.get();
  EXPECT_EQ(r.code, trace::ExportResult::Code::kFailure);
  EXPECT_EQ(sample(registry, "vigil_otlp_spans_dropped_total{reason=\"shutdown\"}"), "3");

  // Later exports fail at once, counted.
  const auto t1 = Clock::now();
  EXPECT_EQ(exporter.export_spans(spans, far()).code, trace::ExportResult::Code::kFailure);
  EXPECT_LT(elapsed_ms(t1), 50);
  EXPECT_EQ(exporter.stats().dropped_spans, 6u);
  EXPECT_TRUE(exporter.shutdown(milliseconds(10)));  // idempotent
  EXPECT_TRUE(exporter.force_flush(milliseconds(10)));
}

TEST(OtlpTraceExporter, ShutdownInterruptsARetryWait) {
  FakeCollector collector([](int) { return status(503, {{"Retry-After", "5"}}); });
  metrics::Registry registry;
  auto o = options_for(collector.endpoint(), registry);
  o.timeout = milliseconds(10000);
  OtlpTraceExporter exporter(o);
  auto batch = testing::make_test_batch();
  const auto spans = batch->pointers();
  auto running =
      std::async(std::launch::async, [&] { return exporter.export_spans(spans, far()); });
  while (collector.count() == 0) std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(50));
  const auto t0 = Clock::now();
  EXPECT_TRUE(exporter.shutdown(milliseconds(1000)));
  EXPECT_LT(elapsed_ms(t0), 500);
  EXPECT_EQ(running.get().code, trace::ExportResult::Code::kFailure);
  EXPECT_EQ(collector.count(), 1u);
}

TEST(OtlpTraceExporter, EmptyBatchSendsNothing) {
  FakeCollector collector([](int) { return ok(); });
  metrics::Registry registry;
  OtlpTraceExporter exporter(options_for(collector.endpoint(), registry));
  EXPECT_TRUE(exporter.export_spans({}, far()).ok());
  EXPECT_EQ(collector.count(), 0u);
}

TEST(OtlpTraceExporter, RegisteredAsTheOtlpFactory) {
  ASSERT_TRUE(trace::has_exporter_factory("otlp"));
  std::vector<std::string> warnings;
  trace::Environment env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"},
                          {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}},
                         [&](std::string_view w) { warnings.emplace_back(w); });
  std::unique_ptr<trace::SpanExporter> e = trace::exporter_factory("otlp")(env, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name(), "otlp");
  auto* otlp = dynamic_cast<OtlpTraceExporter*>(e.get());
  ASSERT_NE(otlp, nullptr);
  EXPECT_EQ(otlp->options().endpoint, "http://127.0.0.1:1/v1/traces");
  EXPECT_EQ(otlp->options().protocol, OtlpProtocol::kHttpJson);
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace vigil::exporters
