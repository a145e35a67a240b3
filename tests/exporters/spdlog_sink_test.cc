// The spdlog OTLP sink: severity mapping, body, scope, source location, the logging thread's span
// (and none from another thread, as with spdlog's async loggers), and delivery through a
// LogExport with a capturing exporter.
#include "vigil/exporters/spdlog_sink.h"

#include <gtest/gtest.h>
#include <spdlog/details/os.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <thread>

#include "vigil/core/error.h"
#include "vigil/trace/context.h"
#include "vigil/trace/tracer.h"

namespace vigil::exporters {
namespace {

using std::chrono::milliseconds;

class Capture final : public LogRecordExporter {
 public:
  explicit Capture(std::vector<LogRecord>* out, std::mutex* mu) : out_(out), mu_(mu) {}
  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline) override {
    std::lock_guard lock(*mu_);
    out_->insert(out_->end(), records.begin(), records.end());
    return trace::ExportResult::success();
  }
  bool shutdown(milliseconds) override { return true; }

 private:
  std::vector<LogRecord>* out_;
  std::mutex* mu_;
};

struct Fixture {
  trace::ContextScope clean{trace::Context()};
  std::mutex mu;
  std::vector<LogRecord> got;
  std::shared_ptr<LogExport> logs = std::make_shared<LogExport>(
      std::make_unique<Capture>(&got, &mu),
      BatchLogRecordProcessorOptions{.schedule_delay = std::chrono::hours(1)});
  std::shared_ptr<OtlpLogSink> sink = std::make_shared<OtlpLogSink>(logs);
  std::shared_ptr<::spdlog::logger> logger = std::make_shared<::spdlog::logger>("payments", sink);
  Fixture() { logger->set_level(::spdlog::level::trace); }
  std::vector<LogRecord> take() {
    logger->flush();
    std::lock_guard lock(mu);
    return std::exchange(got, {});
  }
};

const trace::AttributeValue* attribute(const LogRecord& r, std::string_view key) {
  for (const auto& kv : r.attributes) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

TEST(SpdlogSink, MapsEveryLevel) {
  EXPECT_EQ(otel_severity(::spdlog::level::trace), 1);
  EXPECT_EQ(otel_severity(::spdlog::level::debug), 5);
  EXPECT_EQ(otel_severity(::spdlog::level::info), 9);
  EXPECT_EQ(otel_severity(::spdlog::level::warn), 13);
  EXPECT_EQ(otel_severity(::spdlog::level::err), 17);
  EXPECT_EQ(otel_severity(::spdlog::level::critical), 21);
  EXPECT_EQ(otel_severity(::spdlog::level::off), 0);
  Fixture f;
  f.logger->trace("t");
  f.logger->warn("upstream {} slow", "openai");
  f.logger->critical("down");
  const auto got = f.take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].severity_number, 1);
  EXPECT_EQ(got[0].severity_text, "trace");
  EXPECT_EQ(got[1].severity_number, 13);
  EXPECT_EQ(got[1].severity_text, "warning");
  EXPECT_EQ(got[1].body, "upstream openai slow");
  EXPECT_EQ(got[1].scope_name, "payments");
  EXPECT_EQ(got[2].severity_text, "critical");
  EXPECT_GT(got[1].time_unix_nanos, 1'600'000'000'000'000'000ULL);
  EXPECT_GE(got[1].observed_unix_nanos, got[1].time_unix_nanos);
  EXPECT_FALSE(got[1].trace_id.valid());
  ASSERT_NE(attribute(got[1], "thread.id"), nullptr);
  EXPECT_EQ(attribute(got[1], "code.filepath"), nullptr);
}

TEST(SpdlogSink, CarriesTheLoggingThreadsSpanAndSourceLocation) {
  Fixture f;
  trace::TracerProvider provider;
  trace::Span span = provider.tracer("t").start_span("request");
  SPDLOG_LOGGER_ERROR(f.logger, "payment {} declined", 42);
  const int line = __LINE__ - 1;
  auto got = f.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].trace_id, span.trace_id());
  EXPECT_EQ(got[0].span_id, span.span_id());
  EXPECT_TRUE(got[0].trace_flags.sampled());
  EXPECT_EQ(got[0].body, "payment 42 declined");
  ASSERT_NE(attribute(got[0], "code.lineno"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*attribute(got[0], "code.lineno")), line);
  EXPECT_NE(std::get<std::string>(*attribute(got[0], "code.filepath")).find("spdlog_sink_test.cc"),
            std::string::npos);
  EXPECT_NE(attribute(got[0], "code.function"), nullptr);
}

TEST(SpdlogSink, ARecordFromAnotherThreadGetsNoIds) {
  // What spdlog's async worker does: call the sink with a message made on another thread.
  Fixture f;
  trace::TracerProvider provider;
  trace::Span worker_span = provider.tracer("t").start_span("worker");
  ::spdlog::details::log_msg msg("payments", ::spdlog::level::info, "queued line");
  msg.thread_id = ::spdlog::details::os::thread_id() + 1;
  const LogRecord r = f.sink->to_record(msg);
  EXPECT_FALSE(r.trace_id.valid());
  EXPECT_FALSE(r.span_id.valid());
}

TEST(SpdlogSink, ManyThreadsNoneLost) {
  Fixture f;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 200; ++i) f.logger->info("t{} i{}", t, i);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.take().size(), 800u);
  EXPECT_EQ(f.logs->processor().stats().dropped(), 0u);
}

TEST(SpdlogSink, ShipFromEnvironmentOffByDefault) {
  trace::Environment env(std::map<std::string, std::string, std::less<>>{});
  EXPECT_EQ(ship_spdlog_logs_from_environment(env), nullptr);
  EXPECT_THROW(OtlpLogSink(nullptr), Error);
}

}  // namespace
}  // namespace vigil::exporters
