// src/core/detail/base64.h (internal, not installed): the one base64 encoder (RFC 4648): the
// standard alphabet (section 4: MIME encoded words in alerting's email notifier) and the URL- and
// filename-safe one (section 5: Pushgateway grouping keys, `<label>@base64/<value>`).
//
//   std::string s;
//   append_base64(s, "/var/tmp");                        // "L3Zhci90bXA="
//   append_base64(s, "\xfb\xff", Base64Alphabet::kUrlSafe);  // "-_8=" (standard: "+/8=")
//
// Always padded with '=' to a multiple of 4 characters. Thread-safe; never throws except
// std::bad_alloc; cost O(size).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::detail {

enum class Base64Alphabet : uint8_t {
  kStandard,  // A-Z a-z 0-9 + /
  kUrlSafe,   // A-Z a-z 0-9 - _
};

inline void append_base64(std::string& out, std::string_view in,
                          Base64Alphabet alphabet = Base64Alphabet::kStandard) {
  static constexpr char kStandard[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrlSafe[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* const table = alphabet == Base64Alphabet::kUrlSafe ? kUrlSafe : kStandard;
  out.reserve(out.size() + (in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(in[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(in[i + 1])} << 8) |
                       uint32_t{static_cast<uint8_t>(in[i + 2])};
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t{static_cast<uint8_t>(in[i])} << 16;
    if (i + 1 < in.size()) v |= uint32_t{static_cast<uint8_t>(in[i + 1])} << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < in.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
}

}  // namespace vigil::detail
