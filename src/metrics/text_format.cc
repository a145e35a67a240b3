#include "text_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <system_error>

namespace vigil::metrics::detail {

namespace {

// 2^63: integer-valued doubles below this magnitude fit in int64_t and print as integers.
constexpr double kTwoPow63 = 9223372036854775808.0;

bool append_non_finite(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN", 3);
    return true;
  }
  if (std::isinf(value)) {
    if (value > 0) {
      out.append("+Inf", 4);
    } else {
      out.append("-Inf", 4);
    }
    return true;
  }
  return false;
}

// Length of the valid UTF-8 sequence starting at p[0] (a byte >= 0x80), or 0 when invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) {
  const unsigned char c = p[0];
  auto cont = [&](std::size_t i, unsigned char lo, unsigned char hi) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// True when one of the 8 bytes of `word` is '\\', '\n', '"' or >= 0x80 (the quote may be a
// false positive for help text; the byte loop then decides).
inline bool needs_look(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  return ((word & kHigh) | has_zero(word ^ (kOnes * '\\')) | has_zero(word ^ (kOnes * '\n')) |
          has_zero(word ^ (kOnes * '"'))) != 0;
}

}  // namespace

char* write_uint(char* p, uint64_t value) {
  return std::to_chars(p, p + kMaxNumberChars, value).ptr;
}

char* write_value(char* p, double value) {
  if (std::isnan(value)) {
    std::memcpy(p, "NaN", 3);
    return p + 3;
  }
  if (std::isinf(value)) {
    std::memcpy(p, value > 0 ? "+Inf" : "-Inf", 4);
    return p + 4;
  }
  if (value > -kTwoPow63 && value < kTwoPow63) {
    const auto as_int = static_cast<int64_t>(value);
    if (static_cast<double>(as_int) == value) {
      return std::to_chars(p, p + kMaxNumberChars, as_int).ptr;
    }
  }
  return std::to_chars(p, p + kMaxNumberChars, value).ptr;
}

void append_uint(std::string& out, uint64_t value) {
  char buf[kMaxNumberChars];
  out.append(buf, static_cast<std::size_t>(write_uint(buf, value) - buf));
}

void append_value(std::string& out, double value) {
  char buf[kMaxNumberChars];
  out.append(buf, static_cast<std::size_t>(write_value(buf, value) - buf));
}

void append_label_number(std::string& out, double value, bool openmetrics) {
  if (append_non_finite(out, value)) return;
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)XX[X].
  char sci[40];
  const char* const sci_end =
      std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
  const char* p = sci;
  const bool negative = *p == '-';
  if (negative) ++p;
  char digits[24];
  std::size_t ndigits = 0;
  while (p < sci_end && *p != 'e') {
    if (*p != '.' && ndigits < sizeof digits) digits[ndigits++] = *p;
    ++p;
  }
  int exponent = 0;
  if (p < sci_end) {  // at 'e'
    const char* e = p + 1;
    if (e < sci_end && *e == '+') ++e;
    std::from_chars(e, sci_end, exponent);
  }
  if (exponent < -4 || exponent >= 6) {
    // Same as the scientific form: Go also writes at least two exponent digits ("1e+06").
    out.append(sci, static_cast<std::size_t>(sci_end - sci));
    return;
  }
  char buf[40];
  std::size_t n = 0;
  if (negative) buf[n++] = '-';
  if (exponent >= 0) {
    const auto int_digits = static_cast<std::size_t>(exponent) + 1;
    for (std::size_t i = 0; i < int_digits; ++i) buf[n++] = i < ndigits ? digits[i] : '0';
    if (ndigits > int_digits) {
      buf[n++] = '.';
      for (std::size_t i = int_digits; i < ndigits; ++i) buf[n++] = digits[i];
    } else if (openmetrics) {
      buf[n++] = '.';
      buf[n++] = '0';
    }
  } else {
    buf[n++] = '0';
    buf[n++] = '.';
    for (int i = -1; i > exponent; --i) buf[n++] = '0';
    for (std::size_t i = 0; i < ndigits; ++i) buf[n++] = digits[i];
  }
  out.append(buf, n);
}

char* write_escaped(char* out, std::string_view text, Escape mode) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  // Bytes that need a look: 1 for backslash and line feed, 2 for the double quote (escaped
  // only in kLabelValue), 3 for bytes >= 0x80 (UTF-8 validation).
  static constexpr auto kClass = [] {
    struct Table {
      unsigned char v[256] = {};
    } t;
    t.v[static_cast<unsigned char>('\\')] = 1;
    t.v[static_cast<unsigned char>('\n')] = 1;
    t.v[static_cast<unsigned char>('"')] = 2;
    for (int c = 0x80; c < 0x100; ++c) t.v[c] = 3;
    return t;
  }();
  std::size_t start = 0;
  std::size_t i = 0;
  auto flush = [&](std::size_t to) {
    if (to > start) {
      std::memcpy(out, text.data() + start, to - start);
      out += to - start;
    }
  };
  while (i < n) {
    // Skip 8 plain bytes at a time: no backslash, line feed, quote or byte >= 0x80.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (!needs_look(word)) {
        i += 8;
        continue;
      }
    }
    // Then look at the next (up to) 8 bytes one by one.
    const std::size_t stop = std::min(n, i + 8);
    while (i < stop) {
      const unsigned char c = p[i];
      const unsigned char cls = kClass.v[c];
      if (cls == 0 || (cls == 2 && mode != Escape::kLabelValue)) {
        ++i;
        continue;
      }
      if (cls != 3) {
        flush(i);
        *out++ = '\\';
        *out++ = c == '\n' ? 'n' : static_cast<char>(c);
        start = ++i;
        continue;
      }
      const std::size_t len = utf8_sequence_length(p + i, n - i);
      if (len == 0) {
        flush(i);
        std::memcpy(out, "\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
        out += 3;
        start = ++i;
      } else {
        i += len;
      }
    }
  }
  flush(n);
  return out;
}

void append_escaped(std::string& out, std::string_view text, Escape mode) {
  const std::size_t old = out.size();
  out.resize(old + kMaxEscapeExpansion * text.size());
  char* const end = write_escaped(out.data() + old, text, mode);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

std::string_view type_name(MetricType type) noexcept {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
  }
  return "unknown";
}

}  // namespace vigil::metrics::detail
