// The shared checks of HTTP exporter options (http_options.h).
#include "http_options.h"

#include <algorithm>
#include <cctype>

#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::detail {

bool is_http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool sendable_header_value(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::string check_http_url(std::string_view url) {
  std::size_t host_at = 0;
  if (vigil::detail::starts_with_icase(url, "http://")) {
    host_at = 7;
  } else if (vigil::detail::starts_with_icase(url, "https://")) {
    host_at = 8;
  } else {
    return "must start with http:// or https://";
  }
  const std::string_view rest = url.substr(host_at);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':' || rest.front() == '?') {
    return "has no host";
  }
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return "contains spaces or control characters";
  }
  return {};
}

void validate_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view who) {
  for (const auto& [name, value] : headers) {
    if (!is_http_token(name)) {
      throw Error(std::string(who) + ": header name '" + name + "' is not an HTTP token");
    }
    if (!sendable_header_value(value)) {
      throw Error(std::string(who) + ": the value of header '" + name + "' contains CR, LF or NUL");
    }
  }
}

void validate_retry(const vigil::RetryOptions& retry, std::string_view who) {
  const std::string w(who);
  if (retry.max_attempts < 1 || retry.max_attempts > 100) {
    throw Error(w + ": retry.max_attempts must be in [1, 100]");
  }
  if (retry.initial_backoff.count() < 0 || retry.max_backoff < retry.initial_backoff) {
    throw Error(w + ": retry backoffs must satisfy 0 <= initial_backoff <= max_backoff");
  }
  if (!(retry.multiplier >= 1.0) || retry.multiplier > 100.0) {
    throw Error(w + ": retry.multiplier must be in [1, 100]");
  }
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0)) {
    throw Error(w + ": retry.jitter must be in [0, 1]");
  }
}

}  // namespace vigil::detail
