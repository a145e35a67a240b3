// src/core/detail/percent.h (internal, not installed): the one percent-decoder (RFC 3986 2.1)
// (and encoder, append_percent_encoded),
// for OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS, W3C baggage values and query strings.
//
//   ParseResult<std::string> r = percent_decode("a%20b");        // "a b"
//   percent_decode("50%").error                                  // "... malformed %-escape ..."
//   percent_decode("a%00b", {.reject_nul = true}).error          // "... %00 (NUL) ..."
//
// '+' is left as it is unless plus_is_space (it means a space only in form-encoded queries).
// Thread-safe; never throws except std::bad_alloc; cost O(size).
#pragma once

#include <string>
#include <string_view>

#include "core/detail/parse_result.h"

namespace vigil::detail {

struct PercentDecodeOptions {
  // %00 is an error (for values that end up in C strings or HTTP headers).
  bool reject_nul = false;
  // '+' decodes to a space (application/x-www-form-urlencoded: query strings).
  bool plus_is_space = false;
};

// `in` with every %XX (X a hex digit of either case) replaced by its byte. Fails on a '%' that is
// not followed by two hex digits, and (with reject_nul) on %00; the error names the offset.
ParseResult<std::string> percent_decode(std::string_view in, PercentDecodeOptions options = {});

// The encoder: appends `in` to `out` with every byte other than the unreserved characters
// (A-Z a-z 0-9 - . _ ~, RFC 3986 2.3) written %XX (upper-case hex): safe in a path segment or a
// query value. Never throws except std::bad_alloc.
void append_percent_encoded(std::string& out, std::string_view in);

}  // namespace vigil::detail
