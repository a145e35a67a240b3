// src/exporters/gzip.h (private): gzip compression of request bodies. Not installed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vigil::exporters::detail {

// `data` compressed as one gzip member (RFC 1952) at zlib level `level` (1..9); nullopt when
// zlib fails. Thread-safe; never throws except std::bad_alloc.
std::optional<std::string> gzip(std::string_view data, int level = 6);

// The inverse, for tests and responses: nullopt on malformed input or when the result would
// exceed `max_bytes`. Never throws except std::bad_alloc.
std::optional<std::string> gunzip(std::string_view data, std::size_t max_bytes = 64u << 20);

}  // namespace vigil::exporters::detail
