// src/core/detail/json_escape.h (internal, not installed): the one JSON string writer (RFC 8259),
// for the JSON-lines span exporter, OTLP/JSON and every other hand-written JSON vigil emits.
//
// The output is always valid UTF-8 and a valid JSON string whatever the input bytes: '"' and
// '\\' are escaped, control characters (below 0x20) become \n, \r, \t, \b, \f or \u00XX, and
// every byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) is replaced by U+FFFD. DEL and non-ASCII characters are
// copied as they are.
//
//   std::string out;
//   append_json_string(out, "a\"b\n\xff");  // "\"a\\\"b\\n\xEF\xBF\xBD\""
//
// Thread-safe; never throws except std::bad_alloc; cost O(size), runs of plain bytes copied at
// once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::detail {

// Appends `s` escaped as the content of a JSON string (without the quotes).
void append_json_escaped(std::string& out, std::string_view s);

// Appends `s` as a JSON string: '"', the escaped content, '"'.
void append_json_string(std::string& out, std::string_view s);

// Length of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII), 0 when the byte at
// s[i] does not start one. i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace vigil::detail
