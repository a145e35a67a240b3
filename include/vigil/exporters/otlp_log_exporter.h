// vigil/exporters/otlp_log_exporter.h: log records in the OpenTelemetry logs data model, a
// batching processor that never blocks the logging thread, and the OTLP/HTTP exporter that sends
// them to /v1/logs (protobuf or JSON, optionally gzipped). No logging library's types here: the
// spdlog sink (vigil/exporters/spdlog_sink.h, target vigil::exporters_spdlog) feeds it.
//
//   // What OTEL_LOGS_EXPORTER=otlp (with OTEL_EXPORTER_OTLP_*, OTEL_BLRP_*) gives:
//   std::unique_ptr<vigil::exporters::LogExport> logs =
//       vigil::exporters::LogExport::from_environment();   // nullptr: logs export is off
//   if (logs) {
//     vigil::exporters::LogRecord r;
//     r.severity_number = 17;                 // ERROR
//     r.severity_text = "error";
//     r.body = "payment declined";
//     r.attributes.push_back({"order.id", int64_t{42}});
//     r.set_current_span();                   // trace_id/span_id of this thread's span
//     logs->emit(std::move(r));               // queued; sent by the processor's thread
//     logs->shutdown(std::chrono::seconds(5));  // flushes what is queued, then stops
//   }
//
// Threading: LogRecord is a plain value. BatchLogRecordProcessor::emit may be called from any
// number of threads; flush and shutdown from any thread. Exporters are called by the processor's
// one thread.
//
// Dropped records are counted, never lost silently: BatchLogRecordProcessorStats and the
// self-metrics listed at BatchLogRecordProcessorOptions::self_metrics and
// OtlpLogExporterOptions::self_metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/trace/attributes.h"
#include "vigil/trace/environment.h"
#include "vigil/trace/exporter.h"
#include "vigil/trace/ids.h"
#include "vigil/trace/resource.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::exporters {

// The first SeverityNumber of each range of the OpenTelemetry logs data model (each range has
// four steps, e.g. ERROR..ERROR4 = 17..20; 0 is unspecified).
namespace severity {
inline constexpr uint8_t kTrace = 1;
inline constexpr uint8_t kDebug = 5;
inline constexpr uint8_t kInfo = 9;
inline constexpr uint8_t kWarn = 13;
inline constexpr uint8_t kError = 17;
inline constexpr uint8_t kFatal = 21;
}  // namespace severity

// The data model's short name of a SeverityNumber's range: "TRACE", "DEBUG", "INFO", "WARN",
// "ERROR", "FATAL" ("" for 0 or out of range). Never throws.
std::string_view severity_name(uint8_t severity_number) noexcept;

// One log record (OpenTelemetry logs data model). A plain value: copy and move freely.
struct LogRecord {
  uint64_t time_unix_nanos = 0;      // when the event happened (0: unknown)
  uint64_t observed_unix_nanos = 0;  // when vigil saw it (0: set by the processor on emit)
  uint8_t severity_number = 0;       // 1..24 (see `severity`), 0 unspecified
  std::string severity_text;         // the source's own level name ("warning")
  std::string body;                  // the message, sent as a string AnyValue
  std::vector<trace::KeyValue> attributes;
  trace::TraceId trace_id;  // all zero: not in a trace
  trace::SpanId span_id;
  trace::TraceFlags trace_flags;
  std::string scope_name;  // the instrumentation scope (logger name); records are grouped by it
  std::string scope_version;

  // Sets trace_id, span_id and trace_flags from the calling thread's current span (leaves them
  // zero outside any span). Call it on the thread that logs. ~5 ns; never throws.
  void set_current_span() noexcept;
};

// The interface the processor exports through (OtlpLogExporter, ConsoleLogExporter, or a test's).
class LogRecordExporter {
 public:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;
  virtual ~LogRecordExporter() = default;
  // Sends `records` (never empty); returns by `deadline`. `rejected_spans` of the result counts
  // rejected log records. Must not throw. Called by one thread at a time.
  virtual trace::ExportResult export_logs(std::span<const LogRecord> records,
                                          Deadline deadline) = 0;
  // Aborts an export in flight and makes later exports fail at once. Thread-safe; idempotent.
  virtual bool shutdown(std::chrono::milliseconds timeout) = 0;
};

struct BatchLogRecordProcessorOptions {
  std::chrono::milliseconds schedule_delay{1000};   // OTEL_BLRP_SCHEDULE_DELAY: between exports
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BLRP_EXPORT_TIMEOUT: one export call
  std::size_t max_queue_size = 2048;                // OTEL_BLRP_MAX_QUEUE_SIZE: beyond, dropped
  std::size_t max_export_batch_size = 512;          // OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (<= queue)
  // Where the processor counts itself (nullptr: nowhere). Must outlive the processor:
  //   vigil_log_records_dropped_total{reason}  records the processor dropped: queue_full,
  //                                            export_failed (an export call that did not
  //                                            deliver them), shutdown (still queued when the
  //                                            shutdown deadline passed, or emitted after it)
  //   vigil_log_records_exported_total         records an exporter accepted
  metrics::Registry* self_metrics = nullptr;

  // OTEL_BLRP_SCHEDULE_DELAY, OTEL_BLRP_EXPORT_TIMEOUT (milliseconds), OTEL_BLRP_MAX_QUEUE_SIZE,
  // OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (positive integers). A bad value (not a number, 0 where a
  // positive value is needed, a batch larger than the queue) is reported through env.warn and
  // the default used (a batch larger than the queue is cut to the queue size). Never throws
  // except std::bad_alloc.
  static BatchLogRecordProcessorOptions from_environment(
      const trace::Environment& env = trace::Environment());
  // Throws vigil::Error naming the first invalid field (zero sizes or durations, a batch larger
  // than the queue, a queue over 1,048,576 records).
  void validate() const;
};

// What a processor has done since it was created. Counters only grow.
struct BatchLogRecordProcessorStats {
  uint64_t queued = 0;                 // records accepted by emit
  uint64_t exported = 0;               // records an export call delivered
  uint64_t dropped_queue_full = 0;     // emit found the queue full
  uint64_t dropped_export_failed = 0;  // in a failed export call, or rejected by the receiver
  uint64_t dropped_shutdown = 0;       // emitted after shutdown, or left when its deadline passed
  uint64_t export_calls = 0;
  uint64_t failed_exports = 0;
  uint64_t dropped() const noexcept {
    return dropped_queue_full + dropped_export_failed + dropped_shutdown;
  }
};

// Queues records and exports them in batches from its own thread: every schedule_delay, or as
// soon as a batch is full, or on flush. emit() takes a short lock to move the record into a
// preallocated ring and never waits for the exporter; a full queue drops the record and counts
// it.
class BatchLogRecordProcessor {
 public:
  using Clock = std::chrono::steady_clock;
  // Throws vigil::Error for invalid options or a null exporter; starts the thread.
  BatchLogRecordProcessor(std::unique_ptr<LogRecordExporter> exporter,
                          BatchLogRecordProcessorOptions options = {});
  // shutdown(options.export_timeout capped at 5 s).
  ~BatchLogRecordProcessor();
  BatchLogRecordProcessor(const BatchLogRecordProcessor&) = delete;
  BatchLogRecordProcessor& operator=(const BatchLogRecordProcessor&) = delete;

  // Queues `record` (observed time set when 0). Returns false when it was dropped (queue full,
  // or after shutdown). Thread-safe; never blocks on the exporter; no allocation beyond what the
  // record owns. Cost: a lock and a move (~150 ns of CPU with the record's copy, measured).
  bool emit(LogRecord&& record) noexcept;
  // Exports everything queued before the call; true when done within `timeout`. Thread-safe.
  bool flush(std::chrono::milliseconds timeout) noexcept;
  // Exports what is queued until the deadline, then aborts the exporter (an export in flight is
  // cut within ~100 ms) and stops the thread. Later emits drop. True when everything queued was
  // exported in time. Idempotent; thread-safe.
  bool shutdown(std::chrono::milliseconds timeout) noexcept;

  BatchLogRecordProcessorStats stats() const noexcept;
  const BatchLogRecordProcessorOptions& options() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What one OtlpLogExporter has done. Counters only grow.
struct OtlpLogExporterStats {
  uint64_t export_calls = 0;
  uint64_t exported_records = 0;  // accepted by the collector
  uint64_t dropped_records = 0;   // not delivered (failed calls and rejected records)
  uint64_t rejected_records = 0;  // of those, rejected by the collector (partial success)
  uint64_t failed_exports = 0;
  uint64_t retries = 0;
  uint64_t sent_bytes = 0;
  std::string last_error;
};

struct OtlpLogExporterOptions {
  std::string endpoint = "http://localhost:4318/v1/logs";  // used as is
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  OtlpCompression compression = OtlpCompression::kNone;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};  // one export call, retries included
  OtlpRetryOptions retry;                    // 429, 502, 503, 504 and connection errors
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;
  std::size_t max_response_bytes = std::size_t{64} << 10;
  // Sent with every request as the ResourceLogs' resource.
  trace::Resource resource;
  // Where the exporter counts itself (nullptr: nowhere); must outlive it. Families:
  //   vigil_otlp_exported_log_records_total          records the collector accepted
  //   vigil_otlp_log_records_dropped_total{reason}   not delivered: rejected, http_error,
  //                                                  timeout, connection, shutdown, encoding
  //   vigil_otlp_log_export_failures_total{reason}   export calls that delivered nothing
  metrics::Registry* self_metrics = nullptr;

  // OTEL_EXPORTER_OTLP_LOGS_{ENDPOINT,HEADERS,PROTOCOL,COMPRESSION,TIMEOUT,CERTIFICATE,
  // CLIENT_CERTIFICATE,CLIENT_KEY} over the generic OTEL_EXPORTER_OTLP_* (whose ENDPOINT gets
  // "v1/logs" appended), read exactly as OtlpTraceExporterOptions::from_environment reads the
  // trace variables; and the resource from OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES
  // (trace::Resource::create). Bad values: a warning and the default. Never throws except
  // std::bad_alloc.
  static OtlpLogExporterOptions from_environment(
      const trace::Environment& env = trace::Environment());
  // Throws vigil::Error naming the first invalid option (as OtlpTraceExporterOptions::validate).
  void validate() const;
};

// POSTs batches of records as one ExportLogsServiceRequest (grouped by scope under one resource)
// to the endpoint, retrying as the OTLP trace exporter does (see otlp_trace_exporter.h).
class OtlpLogExporter final : public LogRecordExporter {
 public:
  // Validates (throws vigil::Error) and registers the metrics. Opens no connection.
  explicit OtlpLogExporter(OtlpLogExporterOptions options = {});
  ~OtlpLogExporter() override;
  OtlpLogExporter(const OtlpLogExporter&) = delete;
  OtlpLogExporter& operator=(const OtlpLogExporter&) = delete;

  // Cost: encoding ~1.2 µs of CPU per record with three attributes (protobuf or JSON; a
  // 512-record batch in 0.6 ms, bench/log_bench.cc) plus the round trip. Never throws.
  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline deadline) override;
  bool shutdown(std::chrono::milliseconds timeout) override;

  const OtlpLogExporterOptions& options() const noexcept;
  OtlpLogExporterStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes one line per record to `out` (default stdout): time, severity, scope, body, trace and
// span ids, attributes. For debugging (OTEL_LOGS_EXPORTER=console). Thread-safe.
class ConsoleLogExporter final : public LogRecordExporter {
 public:
  explicit ConsoleLogExporter(std::FILE* out = stdout) : out_(out) {}
  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline deadline) override;
  bool shutdown(std::chrono::milliseconds) override { return true; }

 private:
  std::FILE* out_;
};

// OTEL_LOGS_EXPORTER's values that vigil implements.
enum class LogExporterKind : uint8_t { kOtlp, kConsole };

// Everything LogExport needs: which exporter, its options, the processor's.
struct LogExportOptions {
  LogExporterKind exporter = LogExporterKind::kOtlp;
  OtlpLogExporterOptions otlp;
  BatchLogRecordProcessorOptions batch;
  std::FILE* console = stdout;  // for kConsole

  // Reads OTEL_LOGS_EXPORTER: "otlp" or "console" give options (OtlpLogExporterOptions and
  // BatchLogRecordProcessorOptions from the environment); unset, "none", or OTEL_SDK_DISABLED=true
  // give nullopt: vigil ships no logs unless asked to (OpenTelemetry's default would be otlp;
  // vigil chooses none so that an application that never configured a collector does not retry a
  // localhost endpoint forever). A list ("otlp,console") uses its first value vigil knows, with
  // a warning; an unknown value gives a warning and nullopt. Never throws except std::bad_alloc.
  static std::optional<LogExportOptions> from_environment(
      const trace::Environment& env = trace::Environment());
};

// An exporter and the processor in front of it: what the spdlog sink and vigil::setup hold.
class LogExport {
 public:
  // Builds the exporter and starts the processor. Throws vigil::Error for invalid options.
  explicit LogExport(LogExportOptions options);
  // From a custom exporter (tests, other destinations).
  LogExport(std::unique_ptr<LogRecordExporter> exporter, BatchLogRecordProcessorOptions batch);
  // LogExportOptions::from_environment(env) with self-metrics in `self_metrics` (may be
  // nullptr); nullptr when logs export is off. Throws only std::bad_alloc (invalid values were
  // replaced by defaults with warnings).
  static std::unique_ptr<LogExport> from_environment(
      const trace::Environment& env = trace::Environment(),
      metrics::Registry* self_metrics = nullptr);
  // shutdown(5 s).
  ~LogExport();

  // See BatchLogRecordProcessor.
  bool emit(LogRecord&& record) noexcept { return processor_->emit(std::move(record)); }
  bool flush(std::chrono::milliseconds timeout) noexcept { return processor_->flush(timeout); }
  bool shutdown(std::chrono::milliseconds timeout) noexcept {
    return processor_->shutdown(timeout);
  }
  BatchLogRecordProcessor& processor() noexcept { return *processor_; }
  // The OTLP exporter when that is the kind (for its stats), else nullptr.
  const OtlpLogExporter* otlp_exporter() const noexcept { return otlp_; }

 private:
  const OtlpLogExporter* otlp_ = nullptr;
  std::unique_ptr<BatchLogRecordProcessor> processor_;
};

}  // namespace vigil::exporters
