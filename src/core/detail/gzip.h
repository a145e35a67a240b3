// src/core/detail/gzip.h (internal, not installed): the one gzip wrapper (zlib), and HTTP
// Accept-Encoding negotiation. Built as its own small target, vigil_core_gzip, so that vigil::core
// (and a metrics-only user) never needs zlib: only targets that compress (admin, exporters) link
// it, PRIVATE.
//
//   std::optional<std::string> z = vigil::detail::gzip_compress(body);
//   vigil::detail::ParseResult<std::string> back = vigil::detail::gunzip(*z);
//
// Inputs of any size: zlib counts bytes in a 32-bit uInt, so data is fed to it in chunks of at
// most kZlibMaxChunk bytes (bodies above 4 GiB compress and decompress like small ones).
// Thread-safe; never throw except std::bad_alloc.
#pragma once

#include <climits>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/parse_result.h"

namespace vigil::detail {

// The most bytes handed to zlib in one call (its avail_in / avail_out are 32-bit).
inline constexpr std::size_t kZlibMaxChunk = UINT_MAX;

// Whether an Accept-Encoding header value allows a gzip-coded response (RFC 9110 12.5.3):
// "gzip" or "x-gzip" with a q-value above 0, or "*" with a q-value above 0 when gzip is not
// listed. "gzip;q=0" refuses gzip, and so does an empty or absent header (identity is then the
// safe choice). Malformed elements count as refusing. No allocation.
bool accepts_gzip(std::string_view accept_encoding) noexcept;

// `data` compressed as one gzip member (RFC 1952) with zlib at `level` (clamped to 1..9);
// nullopt when zlib fails (out of memory). `chunk_bytes` (tests) bounds the bytes given to zlib
// per call, at most kZlibMaxChunk. Cost: about 20 to 50 ns per input byte at level 6.
std::optional<std::string> gzip_compress(std::string_view data, int level = 6,
                                         std::size_t chunk_bytes = kZlibMaxChunk);

// The inverse, for responses and tests: one gzip member decompressed. Fails on malformed or
// truncated input and when the result would exceed `max_bytes`.
ParseResult<std::string> gunzip(std::string_view data, std::size_t max_bytes = 64u << 20,
                                std::size_t chunk_bytes = kZlibMaxChunk);

}  // namespace vigil::detail
