// vigil/metrics/names.h: the Prometheus rules for metric names, label names and units.
//
//   vigil::metrics::is_valid_metric_name("http_requests_total");  // true
//   vigil::metrics::is_valid_label_name("__name__");              // false: reserved prefix
//
// Registration checks these and throws vigil::Error naming the rule that was broken; the
// functions are public so that applications can check names from configuration up front.
// All are pure, thread-safe and cost a few nanoseconds per character.
#pragma once

#include <string_view>

namespace vigil::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus' own use).
bool is_valid_label_name(std::string_view name) noexcept;
// [a-zA-Z0-9_]+ : a base unit such as "seconds", "bytes", "ratio".
bool is_valid_unit(std::string_view unit) noexcept;
// True for well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace vigil::metrics
