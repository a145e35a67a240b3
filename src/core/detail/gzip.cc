#include "core/detail/gzip.h"

#include <algorithm>

#define ZLIB_CONST
#include <zlib.h>

#include "core/detail/text.h"

namespace vigil::detail {
namespace {

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

std::size_t clamp_chunk(std::size_t chunk_bytes) noexcept {
  return std::clamp<std::size_t>(chunk_bytes, 1, kZlibMaxChunk);
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) noexcept {
  // -1: not listed; 0: refused (q=0 or malformed); 1: accepted.
  int gzip = -1;
  int star = -1;
  for_each_list_member(accept_encoding, ',', [&](std::string_view element) {
    const std::size_t semi = element.find(';');
    const std::string_view coding = trim(element.substr(0, semi));
    bool accepted = true;
    if (semi != std::string_view::npos) {
      for_each_list_member(element.substr(semi + 1), ';', [&](std::string_view param) {
        const SplitPair kv = split_pair(param, '=');
        if (!kv.found || !iequals(kv.first, "q")) return;  // not a weight; ignore
        bool positive = false;
        if (!parse_qvalue(kv.second, positive)) positive = false;
        accepted = positive;
      });
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      if (gzip < 0) gzip = accepted ? 1 : 0;
    } else if (coding == "*") {
      if (star < 0) star = accepted ? 1 : 0;
    }
  });
  if (gzip >= 0) return gzip == 1;
  return star == 1;
}

std::optional<std::string> gzip_compress(std::string_view data, int level,
                                         std::size_t chunk_bytes) {
  chunk_bytes = clamp_chunk(chunk_bytes);
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
    const std::size_t in_chunk = std::min(data.size() - in_pos, chunk_bytes);
    const std::size_t out_chunk = std::min(out.size() - out_pos, chunk_bytes);
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

ParseResult<std::string> gunzip(std::string_view data, std::size_t max_bytes,
                                std::size_t chunk_bytes) {
  using Result = ParseResult<std::string>;
  chunk_bytes = clamp_chunk(chunk_bytes);
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Result::fail("gunzip: zlib failed to start");
  std::string out;
  std::string buf(std::min<std::size_t>(chunk_bytes, 1u << 16), '\0');
  std::size_t in_pos = 0;
  int rc = Z_OK;
  std::string error;
  while (rc != Z_STREAM_END) {
    const std::size_t in_chunk = std::min(data.size() - in_pos, chunk_bytes);
    zs.next_in = reinterpret_cast<const Bytef*>(data.data() + in_pos);
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += in_chunk - zs.avail_in;
    const std::size_t produced = buf.size() - zs.avail_out;
    if (rc == Z_BUF_ERROR) {  // no progress possible: all input consumed, stream not ended
      error = "truncated gzip data";
      break;
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      error = "malformed gzip data";
      break;
    }
    if (out.size() + produced > max_bytes) {
      error = "gzip data decompresses to more than " + std::to_string(max_bytes) + " bytes";
      break;
    }
    out.append(buf.data(), produced);
    if (rc == Z_OK && in_pos == data.size() && zs.avail_out != 0) {
      error = "truncated gzip data";
      break;
    }
  }
  inflateEnd(&zs);
  if (!error.empty()) return Result::fail(std::move(error));
  return Result::ok(std::move(out));
}

}  // namespace vigil::detail
