// spdlog flags for the current trace and span ids.
#include "vigil/trace/spdlog.h"

#include <utility>

#include "vigil/trace/context.h"

namespace vigil::trace {
namespace {

void append(::spdlog::memory_buf_t& dest, const char* data, std::size_t size) {
  dest.append(data, data + size);
}

}  // namespace

void SpdlogTraceIdFlag::format(const ::spdlog::details::log_msg&, const std::tm&,
                               ::spdlog::memory_buf_t& dest) {
  const SpanContext& ctx = current_span_context();
  if (!ctx.trace_id.valid()) {
    append(dest, none_.data(), none_.size());
    return;
  }
  char hex[TraceId::kHexSize];
  ctx.trace_id.write_hex(hex);
  append(dest, hex, sizeof hex);
}

std::unique_ptr<::spdlog::custom_flag_formatter> SpdlogTraceIdFlag::clone() const {
  return std::make_unique<SpdlogTraceIdFlag>(none_);
}

void SpdlogSpanIdFlag::format(const ::spdlog::details::log_msg&, const std::tm&,
                              ::spdlog::memory_buf_t& dest) {
  const SpanContext& ctx = current_span_context();
  if (!ctx.span_id.valid()) {
    append(dest, none_.data(), none_.size());
    return;
  }
  char hex[SpanId::kHexSize];
  ctx.span_id.write_hex(hex);
  append(dest, hex, sizeof hex);
}

std::unique_ptr<::spdlog::custom_flag_formatter> SpdlogSpanIdFlag::clone() const {
  return std::make_unique<SpdlogSpanIdFlag>(none_);
}

::spdlog::pattern_formatter& add_trace_flags(::spdlog::pattern_formatter& formatter,
                                             const SpdlogTraceFlags& flags) {
  formatter.add_flag<SpdlogTraceIdFlag>(flags.trace_id, flags.none);
  formatter.add_flag<SpdlogSpanIdFlag>(flags.span_id, flags.none);
  return formatter;
}

std::unique_ptr<::spdlog::pattern_formatter> make_spdlog_formatter(std::string pattern,
                                                                   const SpdlogTraceFlags& flags) {
  auto formatter = std::make_unique<::spdlog::pattern_formatter>();
  add_trace_flags(*formatter, flags);
  formatter->set_pattern(std::move(pattern));
  return formatter;
}

void use_trace_pattern(::spdlog::logger& logger, std::string pattern,
                       const SpdlogTraceFlags& flags) {
  logger.set_formatter(make_spdlog_formatter(std::move(pattern), flags));
}

}  // namespace vigil::trace
