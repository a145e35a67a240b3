// OtlpLogExporter, ConsoleLogExporter, their options, OTEL_LOGS_EXPORTER and LogExport.
#include "vigil/exporters/otlp_log_exporter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>

#include "core/detail/gzip.h"
#include "core/detail/http_sender.h"
#include "core/detail/rfc3339.h"
#include "core/detail/text.h"
#include "otlp_encoding.h"
#include "otlp_log_encoding.h"
#include "otlp_options.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"

namespace vigil::exporters {
namespace {

enum Reason : std::size_t {
  kRejected,
  kHttpError,
  kTimeout,
  kConnection,
  kShutdown,
  kEncoding,
  kReasons
};
constexpr std::string_view kReasonNames[kReasons] = {"rejected",   "http_error", "timeout",
                                                     "connection", "shutdown",   "encoding"};

using Code = trace::ExportResult::Code;

// A failed send: why (for the counters), whether a later attempt may help, and what to say.
struct Failure {
  Reason reason;
  Code code;
  std::string message;
};

Failure describe_failure(const vigil::detail::SendReport& report, std::string_view where,
                         std::chrono::milliseconds budget) {
  const vigil::detail::HttpResult& last = report.last;
  const std::string attempts =
      " after " + std::to_string(report.attempts) + " attempt" + (report.attempts == 1 ? "" : "s");
  std::string w(where);
  switch (report.outcome) {
    case vigil::detail::SendOutcome::kHttpError: {
      std::string m = w + "HTTP " + std::to_string(last.status);
      const std::string body = detail::describe_error_body(last.body, last.content_type);
      if (!body.empty()) m += " (" + body + ")";
      m += attempts;
      if (!report.detail.empty()) m += "; " + report.detail;
      return {kHttpError,
              vigil::detail::retryable_status(last.status) ? Code::kRetryable : Code::kFailure,
              std::move(m)};
    }
    case vigil::detail::SendOutcome::kTimeout:
      return {kTimeout, Code::kRetryable,
              w + "deadline of " + std::to_string(budget.count()) + " ms exceeded" + attempts +
                  " (" + last.error + ")"};
    case vigil::detail::SendOutcome::kConnection:
      return {kConnection, Code::kRetryable,
              w + last.error + attempts + (report.detail.empty() ? "" : "; " + report.detail)};
    case vigil::detail::SendOutcome::kAborted:
      return {kShutdown, Code::kFailure, w + "aborted by shutdown"};
    case vigil::detail::SendOutcome::kDelivered:
      break;
  }
  return {kHttpError, Code::kFailure, w + "unexpected outcome"};
}

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
        rng(std::random_device{}()) {
    if (options.self_metrics == nullptr) return;
    metrics::Registry& r = *options.self_metrics;
    exported = r.counter("vigil_otlp_exported_log_records_total",
                         "Log records the OTLP collector accepted")
                   .get();
    auto& dropped_family =
        r.counter("vigil_otlp_log_records_dropped_total",
                  "Log records the OTLP exporter did not deliver, by reason", {"reason"});
    auto& failures_family =
        r.counter("vigil_otlp_log_export_failures_total",
                  "OTLP log export calls that delivered nothing, by reason", {"reason"});
    for (std::size_t i = 0; i < kReasons; ++i) {
      dropped[i] = dropped_family.labels({kReasonNames[i]});
      if (i != kRejected) failures[i] = failures_family.labels({kReasonNames[i]});
    }
  }

  trace::ExportResult export_logs(std::span<const LogRecord> records, Deadline deadline);
  trace::ExportResult fail(Reason reason, uint64_t n, Code code, std::string message);

  const OtlpLogExporterOptions options;
  vigil::detail::HttpSender sender;
  metrics::Counter exported;
  metrics::Counter dropped[kReasons];
  metrics::Counter failures[kReasons];

  mutable std::mutex stats_mu;
  OtlpLogExporterStats stats;
  bool warned_since_success = false;

  std::atomic<bool> shut_down{false};
  std::mutex export_mu;
  std::mutex running_mu;
  std::condition_variable running_cv;
  int running = 0;
  std::mt19937_64 rng;  // under export_mu
  std::string body;     // under export_mu
};

trace::ExportResult OtlpLogExporter::Impl::fail(Reason reason, uint64_t n, Code code,
                                                std::string message) {
  dropped[reason].inc(static_cast<double>(n));
  failures[reason].inc();
  bool warn_now = false;
  {
    std::lock_guard lock(stats_mu);
    stats.dropped_records += n;
    ++stats.failed_exports;
    stats.last_error = message;
    warn_now = !warned_since_success;
    warned_since_success = true;
  }
  if (warn_now && reason != kShutdown) {
    trace::warn(message + " (" + std::to_string(n) +
                " log records dropped; further failures are only counted until an export "
                "succeeds)");
  }
  return {code, std::move(message), 0};
}

trace::ExportResult OtlpLogExporter::Impl::export_logs(std::span<const LogRecord> records,
                                                       Deadline deadline) {
  const uint64_t n = records.size();
  {
    std::lock_guard lock(stats_mu);
    ++stats.export_calls;
  }
  if (n == 0) return trace::ExportResult::success();
  if (shut_down.load(std::memory_order_acquire)) {
    return fail(kShutdown, n, Code::kFailure, "OTLP log exporter: export after shutdown");
  }
  {
    std::lock_guard lock(running_mu);
    ++running;
  }
  struct Done {
    Impl* self;
    ~Done() {
      {
        std::lock_guard lock(self->running_mu);
        --self->running;
      }
      self->running_cv.notify_all();
    }
  } done{this};

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
  std::string_view payload = body;
  std::optional<std::string> compressed;
  if (options.compression == OtlpCompression::kGzip) {
    compressed = vigil::detail::gzip_compress(body);
    if (!compressed) return fail(kEncoding, n, Code::kFailure, where + "gzip failed");
    payload = *compressed;
  }

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const vigil::detail::SendReport report = vigil::detail::send_with_retry(
      sender, payload, call_deadline, options.retry, [&] { return unit(rng); });
  {
    std::lock_guard lock(stats_mu);
    stats.retries += static_cast<uint64_t>(std::max(0, report.attempts - 1));
    stats.sent_bytes += payload.size() * static_cast<uint64_t>(report.attempts);
  }
  if (report.outcome != vigil::detail::SendOutcome::kDelivered) {
    Failure f = describe_failure(
        report, where,
        std::chrono::duration_cast<std::chrono::milliseconds>(call_deadline - start));
    return fail(f.reason, n, f.code, std::move(f.message));
  }
  const auto partial = detail::parse_export_response(report.last.body, report.last.content_type,
                                                     detail::OtlpSignal::kLogs);
  uint64_t rejected = 0;
  std::string message;
  if (partial) {
    rejected = static_cast<uint64_t>(
        std::clamp<int64_t>(partial->rejected_spans, 0, static_cast<int64_t>(n)));
    message = where + "partial success: " + std::to_string(rejected) + " of " + std::to_string(n) +
              " log records rejected" +
              (partial->error_message.empty() ? "" : ": " + partial->error_message);
  }
  exported.inc(static_cast<double>(n - rejected));
  if (rejected > 0) dropped[kRejected].inc(static_cast<double>(rejected));
  bool warn_now = false;
  {
    std::lock_guard lock(stats_mu);
    stats.exported_records += n - rejected;
    if (partial) {
      stats.rejected_records += rejected;
      stats.dropped_records += rejected;
      stats.last_error = message;
      warn_now = !warned_since_success;
    }
    warned_since_success = partial.has_value();
  }
  if (warn_now) trace::warn(message);
  if (partial) return trace::ExportResult::partial(rejected, std::move(message));
  return trace::ExportResult::success();
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
  impl_->shut_down.store(true, std::memory_order_release);
  impl_->sender.abort();
  std::unique_lock lock(impl_->running_mu);
  return impl_->running_cv.wait_for(lock, timeout, [this] { return impl_->running == 0; });
}

const OtlpLogExporterOptions& OtlpLogExporter::options() const noexcept { return impl_->options; }

OtlpLogExporterStats OtlpLogExporter::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
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
