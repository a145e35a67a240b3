// src/core/detail/hex.h (internal, not installed): hex digits, the one encoder and decoder.
//
//   hex_value('F')                   // 15
//   hex_value('F', HexCase::kLower)  // -1: W3C ids are lowercase only
//   char out[4]; write_hex(bytes, 2, out);  // "0aff"
//
// Thread-safe, constexpr where possible, never throw, never allocate (except append_hex, which
// grows its string).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Eight lowercase hex digits at a time ("SWAR": one 64-bit word holds the eight characters).
// W3C trace ids are decoded on every incoming request and encoded for every exemplar and log
// line; the per-character table loop above costs ~7 instructions a digit, this ~1.5.
namespace hex_internal {
inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHigh = 0x8080808080808080ull;

// 0x80 in each byte of `w` in [lo, hi]; every byte of `w` must be < 0x80 (no carries).
constexpr uint64_t bytes_in_range(uint64_t w, uint8_t lo, uint8_t hi) noexcept {
  const uint64_t ge_lo = w + kOnes * (0x80u - lo);  // bit 7 set: byte >= lo
  const uint64_t gt_hi = w + kOnes * (0x7Fu - hi);  // bit 7 set: byte > hi
  return ge_lo & ~gt_hi & kHigh;
}

// Decodes the 8 lowercase hex digits at `in` into 4 bytes at `out`; false when one is not a
// digit (out untouched).
inline bool decode_hex8_lower(const char* in, uint8_t* out) noexcept {
  uint64_t w;
  std::memcpy(&w, in, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  // Now byte i (from the least significant) is in[i].
  if ((w & kHigh) != 0) return false;
  if ((bytes_in_range(w, '0', '9') | bytes_in_range(w, 'a', 'f')) != kHigh) return false;
  // '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66: the low nibble, plus 9 where bit 6 is set.
  const uint64_t letters = (w >> 6) & kOnes;
  uint64_t n = (w & (kOnes * 0x0F)) + letters * 9;
  // Pairs: byte 2k gets in[2k] << 4 | in[2k+1], then the even bytes are packed together.
  n = ((n << 4) | (n >> 8)) & 0x00FF00FF00FF00FFull;
  n = (n | (n >> 8)) & 0x0000FFFF0000FFFFull;
  auto packed = static_cast<uint32_t>(n | (n >> 16));
  if constexpr (std::endian::native == std::endian::big) packed = __builtin_bswap32(packed);
  std::memcpy(out, &packed, 4);
  return true;
}

// Encodes 4 bytes as 8 lowercase hex digits.
inline void encode_hex8_lower(const uint8_t* in, char* out) noexcept {
  uint32_t word;
  std::memcpy(&word, in, 4);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap32(word);
  uint64_t n = word;
  // Spread the bytes to the even bytes, then each nibble to its own byte (high first).
  n = (n | (n << 16)) & 0x0000FFFF0000FFFFull;
  n = (n | (n << 8)) & 0x00FF00FF00FF00FFull;
  n = ((n >> 4) | (n << 8)) & (kOnes * 0x0F);
  // Digit: nibble + '0', plus ('a' - '0' - 10) where the nibble is >= 10.
  const uint64_t ge10 = ((n + kOnes * 6) >> 4) & kOnes;
  n += kOnes * '0' + ge10 * ('a' - '0' - 10);
  if constexpr (std::endian::native == std::endian::big) n = __builtin_bswap64(n);
  std::memcpy(out, &n, 8);
}
}  // namespace hex_internal

#if defined(__SSE2__)
namespace hex_internal {
// Decodes the 16 lowercase hex digits at `in` into 8 bytes (SSE2, part of every x86-64):
// ~22 instructions where the word decoder above takes ~75.
inline bool decode_hex16_lower_sse2(const char* in, uint8_t* out) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
  // Signed compares: bytes >= 0x80 are negative and fail both ranges.
  const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                      _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
  const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                       _mm_cmpgt_epi8(_mm_set1_epi8('f' + 1), v));
  if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xFFFF) return false;
  const __m128i nibble =
      _mm_add_epi8(_mm_and_si128(v, _mm_set1_epi8(0x0F)), _mm_and_si128(letter, _mm_set1_epi8(9)));
  // 16-bit lane k holds in[2k] (low byte) and in[2k+1] (high byte): in[2k] << 4 | in[2k+1].
  const __m128i pairs = _mm_and_si128(
      _mm_or_si128(_mm_slli_epi16(nibble, 4), _mm_srli_epi16(nibble, 8)), _mm_set1_epi16(0x00FF));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(pairs, pairs));
  return true;
}
}  // namespace hex_internal
#endif

// Decodes the 2*n lowercase hex digits at `in` into bytes[0..n), n a multiple of 4 (trace
// ids: 16, span ids: 8). False, bytes partly written, when one is not a lowercase digit.
inline bool parse_hex_lower_x4(const char* in, uint8_t* bytes, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 8 <= n; i += 8) {
    if (!hex_internal::decode_hex16_lower_sse2(in + 2 * i, bytes + i)) return false;
  }
#endif
  for (; i < n; i += 4) {
    if (!hex_internal::decode_hex8_lower(in + 2 * i, bytes + i)) return false;
  }
  return true;
}

// Writes the 2*n lowercase hex digits of bytes[0..n), n a multiple of 4.
inline void write_hex_lower_x4(const uint8_t* bytes, std::size_t n, char* out) noexcept {
  for (std::size_t i = 0; i < n; i += 4) hex_internal::encode_hex8_lower(bytes + i, out + 2 * i);
}

}  // namespace vigil::detail
