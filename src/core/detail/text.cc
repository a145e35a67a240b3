#include "core/detail/text.h"

#include <cstdio>

#include "core/detail/json_escape.h"

namespace vigil::detail {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Built with append(): GCC 12 reports a false -Wrestrict for "'" + std::string(s) + "'".
std::string quoted(std::string_view s, char quote) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back(quote);
  q.append(s);
  q.push_back(quote);
  return q;
}

void append_go_quoted(std::string& out, std::string_view s) {
  out += '"';
  char buf[16];
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      switch (b0) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (b0 < 0x20 || b0 == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", b0);
            out += buf;
          } else {
            out += static_cast<char>(b0);
          }
      }
      ++i;
      continue;
    }
    // One UTF-8 sequence; invalid bytes are printed as \xNN.
    const size_t n = utf8_sequence_length(s, i);
    const bool ok = n != 0;
    uint32_t r = 0;
    if (ok) {
      r = b0 & (n == 2 ? 0x1Fu : n == 3 ? 0x0Fu : 0x07u);
      for (size_t k = 1; k < n; ++k) r = (r << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    if (!ok) {
      std::snprintf(buf, sizeof buf, "\\x%02x", b0);
      out += buf;
      ++i;
      continue;
    }
    // Not printable in Go (approximation of unicode.IsPrint): C1 controls, non-ASCII spaces, soft
    // hyphen, line and paragraph separators, BOM, private use.
    const bool printable =
        !(r <= 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x202F || r == 0x205F ||
          r == 0x3000 || r == 0xAD || (r >= 0x2028 && r <= 0x2029) || r == 0xFEFF ||
          (r >= 0xE000 && r <= 0xF8FF) || (r >= 0x200B && r <= 0x200F) ||
          (r >= 0xFFF9 && r <= 0xFFFB));
    if (printable) {
      out.append(s.substr(i, n));
    } else if (r < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", r);
      out += buf;
    } else {
      std::snprintf(buf, sizeof buf, "\\U%08x", r);
      out += buf;
    }
    i += n;
  }
  out += '"';
}

std::string go_quoted(std::string_view s) {
  std::string out;
  append_go_quoted(out, s);
  return out;
}

}  // namespace vigil::detail
