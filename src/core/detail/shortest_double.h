// src/core/detail/shortest_double.h (internal, not installed): std::to_chars(double) (the
// shortest text that reads back as the same double, "%f" or "%e" style, whichever is shorter)
// with fast paths for the values encoders write most: integers below 2^53 in magnitude, and
// short decimals (at most 9 decimal places, fewer than 15 digits: 0.25, 148.5, -3.7) that the
// "%f" style writes. Either path writes exactly the text std::to_chars would (the digits of the
// only decimal of that length that reads back as the value), at a fraction of the cost; other
// values go to std::to_chars. For the encoders that write many values (JSON writer, StatsD,
// EMF).
//
//   char buf[kShortestDoubleChars];
//   char* end = write_shortest_double(buf, 42.0);     // "42"
//   end = write_shortest_double(buf, 1e6);            // "1e+06" (as std::to_chars)
//   end = write_shortest_double(buf, 0.1);            // "0.1"
//   end = write_shortest_double(buf, 0.0001);         // "1e-04" (as std::to_chars)
//
// Thread-safe; noexcept; no allocation. Non-finite values are written as std::to_chars writes
// them ("inf", "-nan"): callers that need other spellings check first.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vigil::detail {

// Room that write_shortest_double needs (std::to_chars(double) writes at most 24 characters).
inline constexpr std::size_t kShortestDoubleChars = 32;

namespace shortest_double_internal {

inline constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

// m * 10^-k (m not a multiple of 10, |m| < 1e15, 1 <= k <= 9) in the "%f" style at p, or nullptr
// (nothing written) when the "%e" style is shorter, as std::to_chars decides.
inline char* write_decimal(char* p, int64_t m, int k) noexcept {
  char digits[20];
  const uint64_t u = m < 0 ? static_cast<uint64_t>(-m) : static_cast<uint64_t>(m);
  const auto d = static_cast<int>(std::to_chars(digits, digits + sizeof digits, u).ptr - digits);
  const int fixed = k < d ? d + 1 : 2 + k;  // "148.5" or "0.0025"
  const int exponent = d - 1 - k;           // of the first digit
  const int scientific =
      (d == 1 ? 1 : d + 1) + 2 + (exponent <= -100 ? 3 : 2);  // "2.5e-03", "5e-04"
  if (scientific < fixed) return nullptr;
  if (m < 0) *p++ = '-';
  if (k < d) {
    std::memcpy(p, digits, static_cast<std::size_t>(d - k));
    p += d - k;
    *p++ = '.';
    std::memcpy(p, digits + (d - k), static_cast<std::size_t>(k));
    return p + k;
  }
  *p++ = '0';
  *p++ = '.';
  std::memset(p, '0', static_cast<std::size_t>(k - d));
  p += k - d;
  std::memcpy(p, digits, static_cast<std::size_t>(d));
  return p + d;
}

}  // namespace shortest_double_internal

// Writes `v` at `p` (room for kShortestDoubleChars) exactly as std::to_chars(p, p + 32, v);
// returns the end.
inline char* write_shortest_double(char* p, double v) noexcept {
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below it is a double
  if (v > -kExact && v < kExact) {
    const auto n = static_cast<int64_t>(v);
    if (static_cast<double>(n) == v && (n != 0 || !std::signbit(v))) {
      char* digits = p;
      if (n < 0) *digits++ = '-';
      const uint64_t u = n < 0 ? static_cast<uint64_t>(-n) : static_cast<uint64_t>(n);
      char* const end = std::to_chars(digits, digits + 20, u).ptr;
      // std::to_chars picks "%e" when it is strictly shorter: with d digits of which the last
      // t are zeros, "%e" takes 1 + 4 characters for one significant digit ("1e+06") and
      // d - t + 5 for more ("1.5e+06"); the exponent (d - 1 <= 15) has two digits.
      const auto d = static_cast<std::size_t>(end - digits);
      std::size_t t = 0;
      while (t + 1 < d && digits[d - 1 - t] == '0') ++t;
      const std::size_t significant = d - t;
      const std::size_t scientific = significant == 1 ? 5 : significant + 5;
      if (scientific >= d) return end;
      return std::to_chars(p, p + kShortestDoubleChars, v).ptr;
    }
    // A short decimal: the first k for which v * 10^k is an integer m (not a multiple of 10)
    // with m / 10^k == v. Below 1e15 two decimals of k places that read back as the same double
    // would be closer than its spacing, so m's digits are the only shortest ones std::to_chars
    // can write (it picks the shortest round-trip digits).
    using shortest_double_internal::kPow10;
    for (int k = 1; k <= 9; ++k) {
      const double scaled = v * kPow10[k];
      if (!(scaled > -1e15 && scaled < 1e15)) break;
      const auto m = static_cast<int64_t>(scaled);
      if (static_cast<double>(m) != scaled) continue;
      if (m % 10 == 0 || static_cast<double>(m) / kPow10[k] != v) continue;
      if (char* end = shortest_double_internal::write_decimal(p, m, k)) return end;
      break;
    }
  }
  return std::to_chars(p, p + kShortestDoubleChars, v).ptr;
}

}  // namespace vigil::detail
