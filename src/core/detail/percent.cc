#include "core/detail/percent.h"

#include "core/detail/hex.h"

namespace vigil::detail {

ParseResult<std::string> percent_decode(std::string_view in, PercentDecodeOptions options) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += (in[i] == '+' && options.plus_is_space) ? ' ' : in[i];
      continue;
    }
    const int byte = i + 2 < in.size() ? hex_byte(in[i + 1], in[i + 2]) : -1;
    if (byte < 0) {
      return ParseResult<std::string>::fail("malformed %-escape at byte " + std::to_string(i) +
                                            " (expected '%' and two hex digits)");
    }
    if (byte == 0 && options.reject_nul) {
      return ParseResult<std::string>::fail("%00 (NUL) at byte " + std::to_string(i) +
                                            " is not allowed");
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return ParseResult<std::string>::ok(std::move(out));
}

void append_percent_encoded(std::string& out, std::string_view in) {
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHexUpper[u >> 4];
      out += kHexUpper[u & 15];
    }
  }
}

}  // namespace vigil::detail
