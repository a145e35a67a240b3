// src/exporters/export_text.h (internal): small text rules the push exporters share (Datadog,
// EMF): control-character checks for configured names and UTF-8-safe truncation of names and
// values to a protocol's length limit. Pure functions; thread-safe; no allocation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace vigil::exporters::detail {

// True when `s` has a C0 control character or DEL (never valid in names, tags or headers).
inline bool has_control(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// `s` cut to at most `n` bytes without splitting a UTF-8 sequence.
inline std::string_view utf8_prefix(std::string_view s, std::size_t n) noexcept {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace vigil::exporters::detail
