// src/metrics/text_format.h: private helpers shared by the exposition sinks.
//
// Number formatting and string escaping for the Prometheus text format 0.0.4, OpenMetrics 1.0.0
// and the JSON sink. Every function appends to `out` and allocates nothing but the growth of
// `out` itself (numbers go through std::to_chars into a stack buffer).
//
//   std::string line;
//   detail::append_value(line, 1e15);                 // "1000000000000000"
//   detail::append_label_number(line, 1.0, true);     // "1.0" (OpenMetrics canonical le)
//   detail::append_escaped(line, "a\"b", Escape::kLabelValue);  // a\"b
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/metrics/collector.h"

namespace vigil::metrics::detail {

// A sample value: "NaN", "+Inf", "-Inf"; an integer-valued double with |v| < 2^63 exactly as an
// integer without a decimal point (1e15 -> "1000000000000000", -0.0 -> "0"); any other double
// as the shortest string that round-trips (std::to_chars), e.g. "0.1", "1.5e-07", "1e+300".
void append_value(std::string& out, double value);

// An unsigned integer (counts, bucket values).
void append_uint(std::string& out, uint64_t value);

// A number used as an `le` or `quantile` label value, formatted like Go's
// strconv.FormatFloat(v, 'g', -1, 64), which is what client_golang writes: shortest round-trip
// digits, exponent form when the decimal exponent is < -4 or >= 6 ("0.005", "1", "100000",
// "1e+06", "1e-05", "+Inf"). With `openmetrics`, ".0" is appended when the result has neither a
// decimal point nor an exponent ("1.0", "0.0", "100000.0"): the OpenMetrics 1.0 canonical form.
void append_label_number(std::string& out, double value, bool openmetrics);

// Raw forms of the above for callers that size a buffer first: each writes at `p` and returns
// the end. kMaxNumberChars bounds append_value / append_label_number / append_uint output.
inline constexpr std::size_t kMaxNumberChars = 32;
char* write_value(char* p, double value);
char* write_uint(char* p, uint64_t value);

enum class Escape : uint8_t {
  kHelpText,    // Prometheus text 0.0.4 HELP: backslash and line feed
  kLabelValue,  // label values (both formats) and OpenMetrics HELP: backslash, quote, line feed
};

// Appends `text` escaped for `mode`. Bytes that are not valid UTF-8 are replaced with U+FFFD
// (both Prometheus and OpenMetrics reject a whole exposition over one invalid label value).
void append_escaped(std::string& out, std::string_view text, Escape mode);
// Raw form: writes at most kMaxEscapeExpansion * text.size() bytes at `p`; returns the end.
inline constexpr std::size_t kMaxEscapeExpansion = 3;  // one invalid byte -> U+FFFD (3 bytes)
char* write_escaped(char* p, std::string_view text, Escape mode);

// "counter", "gauge", "histogram", "summary", "info" (independent of to_string(MetricType) so
// that the exposition code does not depend on where that is defined).
std::string_view type_name(MetricType type) noexcept;

}  // namespace vigil::metrics::detail
