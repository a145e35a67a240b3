#include "vigil/metrics/names.h"

#include <cstdint>
#include <cstring>

namespace vigil::metrics {
namespace {

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The translation rule shared by prometheus_metric_name and prometheus_label_name.
std::string translate_name(std::string_view name, bool allow_colon) {
  std::string out;
  out.reserve(name.size() + 1);
  for (const char c : name) {
    if (is_alpha_(c) || is_digit(c) || (allow_colon && c == ':')) {
      if (c == '_' && !out.empty() && out.back() == '_') continue;
      if (out.empty() && is_digit(c)) out.push_back('_');
      out.push_back(c);
      continue;
    }
    if (out.empty() || out.back() != '_') out.push_back('_');
  }
  return out;
}

}  // namespace

std::string prometheus_metric_name(std::string_view name) { return translate_name(name, true); }

std::string prometheus_label_name(std::string_view name) { return translate_name(name, false); }

bool is_valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  if (!is_alpha_(name[0]) && name[0] != ':') return false;
  for (char c : name) {
    if (!is_alpha_(c) && !is_digit(c) && c != ':') return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !is_alpha_(name[0]) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!is_alpha_(c) && !is_digit(c)) return false;
  }
  return true;
}

bool is_valid_unit(std::string_view unit) noexcept {
  if (unit.empty()) return false;
  for (char c : unit) {
    if (!is_alpha_(c) && !is_digit(c)) return false;
  }
  return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  // ASCII fast path, 8 bytes at a time (exemplar ids and most label values are plain ASCII).
  while (i + 8 <= n) {
    uint64_t word;
    std::memcpy(&word, s + i, 8);
    if ((word & 0x8080808080808080ULL) != 0) break;
    i += 8;
  }
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace vigil::metrics
