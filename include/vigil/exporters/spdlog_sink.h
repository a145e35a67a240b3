// vigil/exporters/spdlog_sink.h: an spdlog sink that ships every record as an OpenTelemetry log
// record (OTLP /v1/logs through vigil::exporters::LogExport), with the trace and span ids of the
// span current on the logging thread, the OTel severity, the logger name as instrumentation
// scope, and the source location when spdlog has it.
// Optional target vigil::exporters_spdlog (built when spdlog is found): vigil::exporters has no
// spdlog types, and vigil::trace_spdlog (log correlation in text lines) does not pull libcurl.
//
//   #include "vigil/exporters/spdlog_sink.h"
//   // OTEL_LOGS_EXPORTER=otlp (and OTEL_EXPORTER_OTLP_*, OTEL_BLRP_*): attach to the default
//   // logger; nullptr (nothing attached) when logs export is off.
//   std::shared_ptr<vigil::exporters::LogExport> logs =
//       vigil::exporters::ship_spdlog_logs_from_environment();
//   spdlog::warn("upstream {} slow", name);   // also sent as an OTLP WARN record
//   ...
//   if (logs) logs->shutdown(std::chrono::seconds(5));  // at exit: flush, then stop
//
//   // Or by hand, on any logger:
//   auto sink = std::make_shared<vigil::exporters::OtlpLogSink>(logs);
//   auto logger = std::make_shared<spdlog::logger>("payments", sink);
//
// Severity: trace -> TRACE (1), debug -> DEBUG (5), info -> INFO (9), warn -> WARN (13),
// err -> ERROR (17), critical -> FATAL (21); severity_text is spdlog's level name ("warning").
// Attributes: thread.id, and code.filepath, code.lineno, code.function when the record has a
// source location (SPDLOG_LOGGER_INFO(...) and friends, or spdlog::source_loc). The body is the
// formatted message without the pattern's prefix (set_pattern/set_formatter are ignored).
//
// Async loggers: spdlog's async loggers call sinks on their worker thread, where the logging
// thread's span is not current. The sink notices (the record's thread id is not the calling
// thread's) and then sends the record without trace and span ids rather than with wrong ones.
// Give this sink a synchronous logger: it only moves the record into the processor's queue (the
// network work is already on the processor's thread), so an async logger buys nothing here.
//
// Thread-safety: log() and flush() may be called from any number of threads (no lock of the
// sink's own: the processor's queue is the only shared state). Cost per record: building the
// record (a few small allocations for the body and attributes) plus BatchLogRecordProcessor::emit:
// measured +270 ns of CPU over the same spdlog logger with a null sink (414 vs 145 ns,
// bench/log_bench.cc); a full queue drops the record and counts it, never blocks.
#pragma once

#include <spdlog/common.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vigil/exporters/otlp_log_exporter.h"

namespace vigil::exporters {

// spdlog level -> OpenTelemetry SeverityNumber (see above); 0 for spdlog::level::off.
uint8_t otel_severity(::spdlog::level::level_enum level) noexcept;

struct OtlpLogSinkOptions {
  std::string scope_version;    // the instrumentation scope's version (scope name: logger name)
  bool thread_id = true;        // add thread.id
  bool source_location = true;  // add code.filepath, code.lineno, code.function when known
  // How long flush() (spdlog's logger->flush(), flush_on(level)) waits for the export.
  std::chrono::milliseconds flush_timeout{5000};
};

class OtlpLogSink final : public ::spdlog::sinks::sink {
 public:
  // `logs` must not be null (throws vigil::Error). The sink shares its ownership, so a logger
  // that outlives the application's handle stays safe: after logs->shutdown() records are
  // dropped and counted.
  explicit OtlpLogSink(std::shared_ptr<LogExport> logs, OtlpLogSinkOptions options = {});

  // Builds the record on the calling thread and emits it. Never throws.
  void log(const ::spdlog::details::log_msg& msg) override;
  // Waits up to options.flush_timeout for everything emitted so far to be exported.
  void flush() override;
  // Ignored: the body is the message alone.
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<::spdlog::formatter> formatter) override;

  // The LogRecord `msg` becomes (what log() emits). Exposed for tests. Allocates.
  LogRecord to_record(const ::spdlog::details::log_msg& msg) const;

  LogExport& logs() noexcept { return *logs_; }

 private:
  std::shared_ptr<LogExport> logs_;
  OtlpLogSinkOptions options_;
};

// Adds an OtlpLogSink over `logs` to `logger`'s sinks and returns it. Call before other threads
// log through `logger` (spdlog's sink list is not synchronised).
std::shared_ptr<OtlpLogSink> attach_otlp_sink(::spdlog::logger& logger,
                                              std::shared_ptr<LogExport> logs,
                                              OtlpLogSinkOptions options = {});

// LogExport::from_environment(env, self_metrics) (OTEL_LOGS_EXPORTER=otlp|console) attached to
// spdlog's default logger; nullptr (nothing attached) when logs export is off. The one call an
// application (or vigil::setup) makes at start-up; keep the result and shutdown() it at exit.
std::shared_ptr<LogExport> ship_spdlog_logs_from_environment(
    const trace::Environment& env = trace::Environment(),
    metrics::Registry* self_metrics = nullptr);

}  // namespace vigil::exporters
