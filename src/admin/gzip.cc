#include "gzip.h"

#include <algorithm>
#include <climits>
#include <cstddef>

#define ZLIB_CONST
#include <zlib.h>

namespace vigil::detail {
namespace {

constexpr std::string_view kWhitespace = " \t";

std::string_view trim(std::string_view s) noexcept {
  const std::size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

// Parses an RFC 9110 qvalue ("0", "0.5", "1", "1.000", ...). Sets `positive` to q > 0.
// Returns false when malformed.
bool parse_qvalue(std::string_view v, bool& positive) noexcept {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return false;
  const bool one = v[0] == '1';
  bool nonzero_fraction = false;
  if (v.size() > 1) {
    if (v[1] != '.') return false;
    const std::string_view fraction = v.substr(2);
    if (fraction.size() > 3) return false;
    for (char c : fraction) {
      if (c < '0' || c > '9') return false;
      if (c != '0') nonzero_fraction = true;
    }
    if (one && nonzero_fraction) return false;  // above 1
  }
  positive = one || nonzero_fraction;
  return true;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) noexcept {
  // -1: not listed; 0: refused (q=0 or malformed); 1: accepted.
  int gzip = -1;
  int star = -1;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    element = trim(element);
    if (element.empty()) continue;

    const std::size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    bool accepted = true;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : element.substr(semi + 1);
    while (!params.empty()) {
      const std::size_t next = params.find(';');
      const std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      if (param.empty()) continue;
      const std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;  // not a weight; ignore
      if (!iequals(trim(param.substr(0, eq)), "q")) continue;
      bool positive = false;
      if (!parse_qvalue(trim(param.substr(eq + 1)), positive)) positive = false;
      accepted = positive;
    }

    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      if (gzip < 0) gzip = accepted ? 1 : 0;
    } else if (coding == "*") {
      if (star < 0) star = accepted ? 1 : 0;
    }
  }
  if (gzip >= 0) return gzip == 1;
  return star == 1;
}

std::optional<std::string> gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  level = std::clamp(level, 1, 9);
  // windowBits 15 + 16: a gzip header and trailer instead of a zlib one.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out;
  const uLong bound_input = data.size() > ULONG_MAX ? ULONG_MAX : static_cast<uLong>(data.size());
  out.resize(static_cast<std::size_t>(deflateBound(&zs, bound_input)) + 64);

  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out_pos == out.size()) out.resize(out.size() * 2);
    const std::size_t in_chunk = std::min<std::size_t>(data.size() - in_pos, UINT_MAX);
    const std::size_t out_chunk = std::min<std::size_t>(out.size() - out_pos, UINT_MAX);
    zs.next_in = reinterpret_cast<const Bytef*>(data.data() + in_pos);
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    zs.avail_out = static_cast<uInt>(out_chunk);
    const bool last = in_pos + in_chunk == data.size();
    rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
    in_pos += in_chunk - zs.avail_in;
    out_pos += out_chunk - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return std::nullopt;
    }
  }
  deflateEnd(&zs);
  out.resize(out_pos);
  return out;
}

}  // namespace vigil::detail
