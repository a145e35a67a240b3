// vigil/trace/spdlog.h: log correlation for spdlog: pattern flags that print the trace id and
// span id of the current span, so log lines can be joined with traces.
// Optional target vigil::trace_spdlog (built when spdlog is found); vigil::trace does not
// depend on it. This is the one vigil header with third-party (spdlog) types.
//
//   #include "vigil/trace/spdlog.h"
//   spdlog::set_formatter(vigil::trace::make_spdlog_formatter(
//       "[%H:%M:%S.%e] [%l] [trace_id=%* span_id=%~] %v"));
//   {
//     auto span = tracer.start_span("request");
//     spdlog::info("routing");   // [12:00:01.123] [info] [trace_id=4bf9...4736
//     span_id=00f0...02b7] routing
//   }
//
// Default flags: %* prints the trace id (32 lowercase hex digits), %~ the span id (16).
// SpdlogTraceFlags chooses other characters (custom flags win over spdlog's built-in ones, so
// pick characters spdlog does not use: * ~ & j k q w y G J K N Q U V W Z). Outside any span the
// flags print SpdlogTraceFlags::none (default: nothing). Padding specs (%-20*) are ignored.
//
// The ids are those of the thread that *formats* the message: spdlog's synchronous loggers
// format on the logging thread (correct); its async loggers format on their worker thread, where
// no span is current, so use synchronous loggers (or put the ids in the message) with async.
//
// Cost: ~20 ns per flag (a thread-local read and a hex conversion). Thread-safe.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>

#include <memory>
#include <string>

namespace vigil::trace {

struct SpdlogTraceFlags {
  char trace_id = '*';
  char span_id = '~';
  std::string none;  // printed by both flags when no span is current
};

// "[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [trace_id=%* span_id=%~] %v"
inline constexpr const char* kSpdlogTracePattern =
    "[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [trace_id=%* span_id=%~] %v";

// The flag for the trace id of the current span.
class SpdlogTraceIdFlag final : public ::spdlog::custom_flag_formatter {
 public:
  explicit SpdlogTraceIdFlag(std::string none = {}) : none_(std::move(none)) {}
  void format(const ::spdlog::details::log_msg& msg, const std::tm& time,
              ::spdlog::memory_buf_t& dest) override;
  std::unique_ptr<::spdlog::custom_flag_formatter> clone() const override;

 private:
  std::string none_;
};

// The flag for the span id of the current span.
class SpdlogSpanIdFlag final : public ::spdlog::custom_flag_formatter {
 public:
  explicit SpdlogSpanIdFlag(std::string none = {}) : none_(std::move(none)) {}
  void format(const ::spdlog::details::log_msg& msg, const std::tm& time,
              ::spdlog::memory_buf_t& dest) override;
  std::unique_ptr<::spdlog::custom_flag_formatter> clone() const override;

 private:
  std::string none_;
};

// Adds both flags to `formatter`; call formatter.set_pattern(...) afterwards (a pattern is
// compiled when set, so flags added later are not seen by it). Returns `formatter`.
::spdlog::pattern_formatter& add_trace_flags(::spdlog::pattern_formatter& formatter,
                                             const SpdlogTraceFlags& flags = {});

// A pattern formatter with both flags and `pattern`; pass it to spdlog::set_formatter or
// logger->set_formatter. Throws only what spdlog throws for a bad pattern (it does not).
std::unique_ptr<::spdlog::pattern_formatter> make_spdlog_formatter(
    std::string pattern = kSpdlogTracePattern, const SpdlogTraceFlags& flags = {});

// logger.set_formatter(make_spdlog_formatter(pattern, flags)).
void use_trace_pattern(::spdlog::logger& logger, std::string pattern = kSpdlogTracePattern,
                       const SpdlogTraceFlags& flags = {});

}  // namespace vigil::trace
