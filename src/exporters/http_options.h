// src/exporters/http_options.h (internal): the checks every HTTP exporter's options share
// (OTLP traces and metrics, Pushgateway, remote write, Datadog): URLs, header names and values,
// retry settings. One copy, so that every exporter words its errors alike.
//
//   check_http_url("ftp://x")                    // "must start with http:// or https://"
//   validate_headers(o.headers, "Pushgateway exporter");  // throws vigil::Error
//
// Thread-safe; the validate_* functions throw vigil::Error "<who>: <what is wrong>".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/retry.h"

namespace vigil::detail {

// RFC 9110 tchar+: a valid header name.
bool is_http_token(std::string_view s) noexcept;
// No CR, LF or NUL.
bool sendable_header_value(std::string_view s) noexcept;
// "http://" or "https://" followed by a host, no spaces or control characters. Returns what is
// wrong, "" when fine.
std::string check_http_url(std::string_view url);
// Every name a token, every value sendable.
void validate_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view who);
// max_attempts in [1, 100], 0 <= initial_backoff <= max_backoff, multiplier in [1, 100], jitter
// in [0, 1].
void validate_retry(const vigil::RetryOptions& retry, std::string_view who);

}  // namespace vigil::detail
