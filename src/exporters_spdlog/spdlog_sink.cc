// OtlpLogSink: spdlog records to vigil::exporters::LogRecord.
#include "vigil/exporters/spdlog_sink.h"

#include <spdlog/details/os.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "vigil/core/error.h"

namespace vigil::exporters {
namespace {

uint64_t unix_nanos(::spdlog::log_clock::time_point t) noexcept {
  const auto n = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

}  // namespace

uint8_t otel_severity(::spdlog::level::level_enum level) noexcept {
  switch (level) {
    case ::spdlog::level::trace:
      return severity::kTrace;
    case ::spdlog::level::debug:
      return severity::kDebug;
    case ::spdlog::level::info:
      return severity::kInfo;
    case ::spdlog::level::warn:
      return severity::kWarn;
    case ::spdlog::level::err:
      return severity::kError;
    case ::spdlog::level::critical:
      return severity::kFatal;
    default:
      return 0;
  }
}

OtlpLogSink::OtlpLogSink(std::shared_ptr<LogExport> logs, OtlpLogSinkOptions options)
    : logs_(std::move(logs)), options_(std::move(options)) {
  if (!logs_) throw Error("OtlpLogSink: logs must not be null");
}

LogRecord OtlpLogSink::to_record(const ::spdlog::details::log_msg& msg) const {
  LogRecord r;
  r.time_unix_nanos = unix_nanos(msg.time);
  r.severity_number = otel_severity(msg.level);
  const ::spdlog::string_view_t level = ::spdlog::level::to_string_view(msg.level);
  r.severity_text.assign(level.data(), level.size());
  r.body.assign(msg.payload.data(), msg.payload.size());
  r.scope_name.assign(msg.logger_name.data(), msg.logger_name.size());
  r.scope_version = options_.scope_version;
  // The logging thread's span, only when this is the logging thread (not an async worker).
  if (msg.thread_id == ::spdlog::details::os::thread_id()) r.set_current_span();
  if (options_.thread_id) {
    r.attributes.push_back({"thread.id", static_cast<int64_t>(msg.thread_id)});
  }
  if (options_.source_location && !msg.source.empty()) {
    r.attributes.push_back({"code.filepath", std::string(msg.source.filename)});
    r.attributes.push_back({"code.lineno", static_cast<int64_t>(msg.source.line)});
    if (msg.source.funcname != nullptr && *msg.source.funcname != '\0') {
      r.attributes.push_back({"code.function", std::string(msg.source.funcname)});
    }
  }
  return r;
}

void OtlpLogSink::log(const ::spdlog::details::log_msg& msg) {
  try {
    logs_->emit(to_record(msg));
  } catch (...) {
    // Out of memory building the record: the record is lost; logging must not throw.
  }
}

void OtlpLogSink::flush() { logs_->flush(options_.flush_timeout); }

void OtlpLogSink::set_pattern(const std::string& /*pattern*/) {}

void OtlpLogSink::set_formatter(std::unique_ptr<::spdlog::formatter> /*formatter*/) {}

std::shared_ptr<OtlpLogSink> attach_otlp_sink(::spdlog::logger& logger,
                                              std::shared_ptr<LogExport> logs,
                                              OtlpLogSinkOptions options) {
  auto sink = std::make_shared<OtlpLogSink>(std::move(logs), std::move(options));
  logger.sinks().push_back(sink);
  return sink;
}

std::shared_ptr<LogExport> ship_spdlog_logs_from_environment(const trace::Environment& env,
                                                             metrics::Registry* self_metrics) {
  std::shared_ptr<LogExport> logs = LogExport::from_environment(env, self_metrics);
  if (logs) attach_otlp_sink(*::spdlog::default_logger(), logs);
  return logs;
}

}  // namespace vigil::exporters
