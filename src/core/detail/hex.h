// src/core/detail/hex.h (internal, not installed): hex digits, the one encoder and decoder.
//
//   hex_value('F')                   // 15
//   hex_value('F', HexCase::kLower)  // -1: W3C ids are lowercase only
//   char out[4]; write_hex(bytes, 2, out);  // "0aff"
//
// Thread-safe, constexpr where possible, never throw, never allocate (except append_hex, which
// grows its string).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::detail {

inline constexpr char kHexLower[] = "0123456789abcdef";
inline constexpr char kHexUpper[] = "0123456789ABCDEF";

enum class HexCase : uint8_t {
  kAny,    // decode: 0-9, a-f and A-F
  kLower,  // decode: 0-9 and a-f only (W3C trace context)
};

namespace hex_internal {
// Digit values by byte, -1 for non-digits: one load per character instead of three range checks
// (trace ids are decoded on every incoming request).
struct HexTable {
  int8_t any[256];
  int8_t lower[256];
};
constexpr HexTable make_hex_table() noexcept {
  HexTable t{};
  for (int c = 0; c < 256; ++c) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    t.lower[c] = static_cast<int8_t>(v);
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    t.any[c] = static_cast<int8_t>(v);
  }
  return t;
}
inline constexpr HexTable kHexTable = make_hex_table();
}  // namespace hex_internal

// The value of the hex digit `c`, -1 when it is not one (of the case `accepted`).
constexpr int hex_value(char c, HexCase accepted = HexCase::kAny) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return accepted == HexCase::kAny ? hex_internal::kHexTable.any[u]
                                   : hex_internal::kHexTable.lower[u];
}

// The byte the two hex digits hi, lo stand for; -1 when either is not a hex digit.
constexpr int hex_byte(char hi, char lo, HexCase accepted = HexCase::kAny) noexcept {
  const int h = hex_value(hi, accepted);
  const int l = hex_value(lo, accepted);
  return (h < 0 || l < 0) ? -1 : (h << 4 | l);
}

// Writes the 2*n lowercase (or uppercase) hex digits of bytes[0..n) to out (no terminator).
constexpr void write_hex(const uint8_t* bytes, std::size_t n, char* out,
                         bool upper = false) noexcept {
  const char* digits = upper ? kHexUpper : kHexLower;
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
}

// Appends the two hex digits of `byte`.
inline void append_hex(std::string& out, uint8_t byte, bool upper = false) {
  const char* digits = upper ? kHexUpper : kHexLower;
  out += digits[byte >> 4];
  out += digits[byte & 0xf];
}

// Decodes exactly 2*n hex digits of `hex` into bytes[0..n); false (bytes partly written) when
// `hex` has another length or a character that is not a digit of the case `accepted`.
constexpr bool parse_hex(std::string_view hex, uint8_t* bytes, std::size_t n,
                         HexCase accepted = HexCase::kAny) noexcept {
  if (hex.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const int b = hex_byte(hex[2 * i], hex[2 * i + 1], accepted);
    if (b < 0) return false;
    bytes[i] = static_cast<uint8_t>(b);
  }
  return true;
}

}  // namespace vigil::detail
