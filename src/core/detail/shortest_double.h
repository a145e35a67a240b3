// src/core/detail/shortest_double.h (internal, not installed): std::to_chars(double) (the
// shortest text that reads back as the same double, "%f" or "%e" style, whichever is shorter)
// with a fast path for integral values: an integer below 2^53 in magnitude is written with the
// integer std::to_chars (about a tenth of the cost) whenever that is the text the double
// overload would give, so the output is byte for byte the same. For the encoders that write
// many counts and counter values (JSON writer, StatsD, EMF).
//
//   char buf[kShortestDoubleChars];
//   char* end = write_shortest_double(buf, 42.0);     // "42"
//   end = write_shortest_double(buf, 1e6);            // "1e+06" (as std::to_chars)
//   end = write_shortest_double(buf, 0.1);            // "0.1"
//
// Thread-safe; noexcept; no allocation. Non-finite values are written as std::to_chars writes
// them ("inf", "-nan"): callers that need other spellings check first.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace vigil::detail {

// Room that write_shortest_double needs (std::to_chars(double) writes at most 24 characters).
inline constexpr std::size_t kShortestDoubleChars = 32;

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
    }
  }
  return std::to_chars(p, p + kShortestDoubleChars, v).ptr;
}

}  // namespace vigil::detail
