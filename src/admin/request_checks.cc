#include "request_checks.h"

#include "core/detail/percent.h"
#include "core/detail/text.h"

namespace vigil::admin::detail {

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

Target parse_target(std::string_view target) {
  Target t;
  if (target == "*") {
    t.asterisk = true;
    return t;
  }
  if (!target.empty() && target.front() != '/') {
    const std::size_t scheme = target.find("://");
    if (scheme == std::string_view::npos ||
        !(vigil::detail::iequals(target.substr(0, scheme), "http") ||
          vigil::detail::iequals(target.substr(0, scheme), "https"))) {
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
    vigil::detail::ParseResult<std::string> path =
        vigil::detail::percent_decode(raw_path, {.reject_nul = true});
    if (!path.value) {
      t.error = "the request path is refused: " + path.error;
      return t;
    }
    t.path = std::move(*path.value);
  }
  return t;
}

}  // namespace vigil::admin::detail
