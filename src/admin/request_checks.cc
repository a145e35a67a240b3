#include "request_checks.h"

#include <algorithm>

namespace vigil::admin::detail {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

}  // namespace

bool has_obsolete_fold(std::string_view buffered) noexcept {
  const std::size_t end = buffered.find("\r\n\r\n");
  const std::string_view head =
      buffered.substr(0, end == std::string_view::npos ? buffered.size() : end + 2);
  // Skip blank lines before the request line.
  const std::size_t start = head.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return false;
  for (std::size_t i = head.find('\n', start); i != std::string_view::npos && i + 1 < head.size();
       i = head.find('\n', i + 1)) {
    if (head[i + 1] == ' ' || head[i + 1] == '\t') return true;
  }
  return false;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space,
                                          bool reject_nul) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0' && reject_nul) return std::nullopt;
    out += c;
  }
  return out;
}

Target parse_target(std::string_view target) {
  Target t;
  if (target == "*") {
    t.asterisk = true;
    return t;
  }
  if (!target.empty() && target.front() != '/') {
    const std::size_t scheme = target.find("://");
    if (scheme == std::string_view::npos || !(iequals(target.substr(0, scheme), "http") ||
                                              iequals(target.substr(0, scheme), "https"))) {
      t.error = "the request target must be a path, an http(s) URL or \"*\"";
      return t;
    }
    const std::size_t rest = target.find_first_of("/?#", scheme + 3);
    if (rest == std::string_view::npos) {
      target = "/";
    } else if (target[rest] == '/') {
      target = target.substr(rest);
    } else {
      // "http://host?q": an empty path is "/".
      t.path = "/";
      target = target.substr(rest);
    }
  }
  if (t.path.empty() && (target.empty() || target.front() != '/')) {
    t.error = "the request target must start with '/'";
    return t;
  }
  const std::size_t q = target.find_first_of("?#");
  const std::string_view raw_path = t.path.empty() ? target.substr(0, q) : std::string_view{};
  if (q != std::string_view::npos && target[q] == '?') {
    t.query = target.substr(q + 1);
    t.query = t.query.substr(0, t.query.find('#'));
  }
  if (t.path.empty()) {
    std::optional<std::string> path = percent_decode(raw_path, false, true);
    if (!path) {
      t.error = "the request path has a malformed %-escape or an encoded NUL";
      return t;
    }
    t.path = std::move(*path);
  }
  return t;
}

}  // namespace vigil::admin::detail
