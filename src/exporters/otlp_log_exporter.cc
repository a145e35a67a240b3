// OtlpLogExporter, ConsoleLogExporter, their options, OTEL_LOGS_EXPORTER and LogExport.
#include "vigil/exporters/otlp_log_exporter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>

#include "core/detail/http_sender.h"
#include "core/detail/rfc3339.h"
#include "core/detail/text.h"
#include "otlp_encoding.h"
#include "otlp_log_encoding.h"
#include "otlp_options.h"
#include "otlp_send.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"

namespace vigil::exporters {
namespace {

using Code = trace::ExportResult::Code;
using detail::kEncoding;
using detail::kShutdown;
using Reason = detail::OtlpDropReason;

constexpr detail::OtlpBookNames kBookNames = {
    "vigil_otlp_exported_log_records_total",
    "Log records the OTLP collector accepted",
    "vigil_otlp_log_records_dropped_total",
    "Log records the OTLP exporter did not deliver, by reason",
    "vigil_otlp_log_export_failures_total",
    "OTLP log export calls that delivered nothing, by reason"};

}  // namespace

std::string_view severity_name(uint8_t n) noexcept {
  static constexpr std::string_view kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  if (n < 1 || n > 24) return {};
  return kNames[(n - 1) / 4];
}

void LogRecord::set_current_span() noexcept {
  const trace::SpanContext& ctx = trace::current_span_context();
  trace_id = ctx.trace_id;
  span_id = ctx.span_id;
  trace_flags = ctx.flags;
}

// ---- OtlpLogExporter ---------------------------------------------------------------------------

void OtlpLogExporterOptions::validate() const {
  detail::validate_otlp_settings("OTLP log exporter", endpoint, headers, timeout, retry);
}

OtlpLogExporterOptions OtlpLogExporterOptions::from_environment(const trace::Environment& env) {
  OtlpLogExporterOptions o;
  detail::read_otlp_environment(env, "LOGS", "v1/logs", detail::settings_of(o));
  o.resource = trace::Resource::create({}, env);
  return o;
}

class OtlpLogExporter::Impl {
 public:
  explicit Impl(OtlpLogExporterOptions o)
      : options((o.validate(), std::move(o))),
        sender(detail::otlp_http_config(options)),
        book(options.self_metrics, kBookNames),
        rng(std::random_device{}()) {}

  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline deadline);
  trace::ExportResult fail(Reason reason, uint64_t n, Code code, std::string message);

  const OtlpLogExporterOptions options;
  vigil::detail::HttpSender sender;
  detail::OtlpBook book;

  detail::OtlpInFlight in_flight;
  std::mutex export_mu;
  std::mt19937_64 rng;  // under export_mu
  std::string body;     // under export_mu
};

trace::ExportResult OtlpLogExporter::Impl::fail(Reason reason, uint64_t n, Code code,
                                                std::string message) {
  return book.fail(reason, n, code, std::move(message), "log records");
}

trace::ExportResult OtlpLogExporter::Impl::export_logs(std::span<const LogRecord> records,
                                                       Deadline deadline) {
  const uint64_t n = records.size();
  book.call();
  if (n == 0) return trace::ExportResult::success();
  if (in_flight.shut_down()) {
    return fail(kShutdown, n, Code::kFailure, "OTLP log exporter: export after shutdown");
  }
  const detail::OtlpInFlight::Guard guard = in_flight.enter();

  std::lock_guard export_lock(export_mu);
  const auto start = Clock::now();
  const Deadline call_deadline = std::min(deadline, start + options.timeout);
  const std::string where = "OTLP log export to " + options.endpoint + ": ";

  std::string error;
  if (options.protocol == OtlpProtocol::kHttpJson) {
    body = detail::encode_logs_json(records, options.resource);
  } else if (!detail::encode_logs_protobuf(records, options.resource, body, error)) {
    return fail(kEncoding, n, Code::kFailure, where + error);
  }
  return detail::otlp_post({sender, book, options.retry, rng, options.compression,
                            detail::OtlpSignal::kLogs, "log records", where},
                           body, n, start, call_deadline);
}

OtlpLogExporter::OtlpLogExporter(OtlpLogExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

OtlpLogExporter::~OtlpLogExporter() {
  if (impl_) shutdown(std::chrono::milliseconds(1000));
}

trace::ExportResult OtlpLogExporter::export_logs(std::span<const LogRecord> records,
                                                 Deadline deadline) {
  try {
    return impl_->export_logs(records, deadline);
  } catch (const std::exception& e) {
    return impl_->fail(kEncoding, records.size(), Code::kFailure,
                       std::string("OTLP log export failed: ") + e.what());
  } catch (...) {
    return trace::ExportResult::failure("OTLP log export failed: unknown exception");
  }
}

bool OtlpLogExporter::shutdown(std::chrono::milliseconds timeout) {
  return impl_->in_flight.shutdown(impl_->sender, timeout);
}

const OtlpLogExporterOptions& OtlpLogExporter::options() const noexcept { return impl_->options; }

OtlpLogExporterStats OtlpLogExporter::stats() const {
  const detail::OtlpCounts c = impl_->book.counts();
  OtlpLogExporterStats out;
  out.export_calls = c.export_calls;
  out.exported_records = c.exported;
  out.dropped_records = c.dropped;
  out.rejected_records = c.rejected;
  out.failed_exports = c.failed_exports;
  out.retries = c.retries;
  out.sent_bytes = c.sent_bytes;
  out.last_error = c.last_error;
  return out;
}

// ---- ConsoleLogExporter ------------------------------------------------------------------------

trace::ExportResult ConsoleLogExporter::export_logs(std::span<const LogRecord> records,
                                                    Deadline /*deadline*/) {
  try {
    std::string out;
    for (const LogRecord& r : records) {
      const uint64_t t = r.time_unix_nanos != 0 ? r.time_unix_nanos : r.observed_unix_nanos;
      out += vigil::detail::format_rfc3339(
          std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::nanoseconds(t))),
          true);
      out += ' ';
      const std::string_view level = severity_name(r.severity_number);
      out += level.empty() ? std::string_view("UNSPECIFIED") : level;
      out += " [";
      out += r.scope_name;
      out += "] ";
      out += r.body;
      if (r.trace_id.valid()) {
        out += " trace_id=" + r.trace_id.to_hex() + " span_id=" + r.span_id.to_hex();
      }
      for (const trace::KeyValue& kv : r.attributes) {
        out += ' ';
        out += kv.key;
        out += '=';
        out += trace::to_string(kv.value);
      }
      out += '\n';
    }
    static std::mutex mu;  // one writer at a time across exporters sharing a stream
    std::lock_guard lock(mu);
    if (std::fwrite(out.data(), 1, out.size(), out_) != out.size()) {
      return trace::ExportResult::failure("console log exporter: write failed");
    }
    std::fflush(out_);
    return trace::ExportResult::success();
  } catch (...) {
    return trace::ExportResult::failure("console log exporter: out of memory");
  }
}

// ---- OTEL_LOGS_EXPORTER, LogExport -------------------------------------------------------------

std::optional<LogExportOptions> LogExportOptions::from_environment(const trace::Environment& env) {
  if (env.get_bool("OTEL_SDK_DISABLED", false)) return std::nullopt;
  const std::optional<std::string> value = env.get("OTEL_LOGS_EXPORTER");
  if (!value) return std::nullopt;
  std::optional<LogExporterKind> kind;
  std::string unknown;
  std::size_t known = 0;
  vigil::detail::for_each_list_member(*value, ',', [&](std::string_view raw) {
    const std::string name = vigil::detail::ascii_lower(raw);
    std::optional<LogExporterKind> k;
    if (name == "otlp") k = LogExporterKind::kOtlp;
    if (name == "console") k = LogExporterKind::kConsole;
    if (name == "none") return;
    if (!k) {
      unknown += (unknown.empty() ? "'" : ", '") + name + "'";
      return;
    }
    ++known;
    if (!kind) kind = k;
  });
  if (!unknown.empty()) {
    env.warn("OTEL_LOGS_EXPORTER='" + *value + "': unknown exporter " + unknown +
             " (vigil supports otlp, console, none); ignored");
  }
  if (known > 1) {
    env.warn("OTEL_LOGS_EXPORTER='" + *value +
             "': vigil sends logs to one exporter; using the first, " +
             (*kind == LogExporterKind::kOtlp ? "otlp" : "console"));
  }
  if (!kind) return std::nullopt;
  LogExportOptions o;
  o.exporter = *kind;
  if (*kind == LogExporterKind::kOtlp) o.otlp = OtlpLogExporterOptions::from_environment(env);
  o.batch = BatchLogRecordProcessorOptions::from_environment(env);
  return o;
}

namespace {
std::unique_ptr<LogRecordExporter> make_exporter(const LogExportOptions& o) {
  if (o.exporter == LogExporterKind::kConsole) {
    return std::make_unique<ConsoleLogExporter>(o.console);
  }
  return std::make_unique<OtlpLogExporter>(o.otlp);
}
}  // namespace

LogExport::LogExport(LogExportOptions options) {
  std::unique_ptr<LogRecordExporter> exporter = make_exporter(options);
  if (options.exporter == LogExporterKind::kOtlp) {
    otlp_ = static_cast<const OtlpLogExporter*>(exporter.get());
  }
  processor_ = std::make_unique<BatchLogRecordProcessor>(std::move(exporter), options.batch);
}

LogExport::LogExport(std::unique_ptr<LogRecordExporter> exporter,
                     BatchLogRecordProcessorOptions batch)
    : processor_(std::make_unique<BatchLogRecordProcessor>(std::move(exporter), batch)) {}

std::unique_ptr<LogExport> LogExport::from_environment(const trace::Environment& env,
                                                       metrics::Registry* self_metrics) {
  std::optional<LogExportOptions> o = LogExportOptions::from_environment(env);
  if (!o) return nullptr;
  o->otlp.self_metrics = self_metrics;
  o->batch.self_metrics = self_metrics;
  try {
    return std::make_unique<LogExport>(std::move(*o));
  } catch (const Error& e) {
    // Cannot happen with values read from the environment (bad ones were replaced); be safe.
    env.warn(std::string("OTEL_LOGS_EXPORTER: ") + e.what() + "; logs export is off");
    return nullptr;
  }
}

LogExport::~LogExport() {
  if (processor_) processor_->shutdown(std::chrono::seconds(5));
}

}  // namespace vigil::exporters
