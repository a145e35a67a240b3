// src/core/detail/text.h (internal, not installed): the ASCII text helpers every vigil layer
// shares, so that there is one trim, one case-insensitive compare and one list splitter.
//
// All functions work on bytes: "case-insensitive" and "lower" mean ASCII only (HTTP tokens,
// header names, enum words in environment variables); other bytes compare as they are. They are
// thread-safe, never throw (except std::bad_alloc where they return a std::string) and do not
// allocate unless they return a std::string.
//
//   using namespace vigil::detail;
//   trim(" \tgzip \t")                 // "gzip"
//   iequals("Content-Type", "content-type")  // true
//   for_each_list_member("a, b,,c", ',', [](std::string_view m) { ...; return true; });
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace vigil::detail {

// HTTP optional white space (RFC 9110 5.6.3): space and horizontal tab.
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// `s` without leading and trailing OWS (spaces and tabs).
constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// `s` without leading and trailing spaces, tabs, CR and LF (lines of files and header values
// as libcurl hands them over, with their line ending).
constexpr std::string_view trim_line(std::string_view s) noexcept {
  constexpr auto space = [](char c) { return is_ows(c) || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// 'A'..'Z' to 'a'..'z'; every other byte as it is.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// `s` with 'A'..'Z' lowered.
std::string ascii_lower(std::string_view s);

// `s` between two `quote` characters, for messages: quoted("db") == "\"db\"". Nothing inside is
// escaped.
std::string quoted(std::string_view s, char quote = '"');

// Go's strconv.Quote (fmt's %q): `s` in double quotes, printable runes as they are, \" \\ and
// control characters escaped (\n, \t, \xNN, \uNNNN), invalid UTF-8 bytes as \xNN. How Prometheus
// and Alertmanager print label values (PromQL, label sets, group keys).
void append_go_quoted(std::string& out, std::string_view s);
std::string go_quoted(std::string_view s);

// Whether a and b are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Whether `s` starts with `prefix`, ignoring ASCII case.
constexpr bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// `s` split at the first `sep`: {before, after}, both trimmed of OWS. When there is no `sep`,
// `found` is false and `first` is all of `s`, trimmed.
struct SplitPair {
  std::string_view first;
  std::string_view second;
  bool found = false;
};
constexpr SplitPair split_pair(std::string_view s, char sep) noexcept {
  const std::size_t at = s.find(sep);
  if (at == std::string_view::npos) return {trim(s), {}, false};
  return {trim(s.substr(0, at)), trim(s.substr(at + 1)), true};
}

// Calls fn(member) for every member of the `sep`-separated list `s`, each trimmed of OWS, empty
// members skipped (RFC 9110 5.6.1 lists: "a, ,b" has members "a" and "b"). `fn` returns bool
// (false stops: for_each_list_member then returns false) or void. No allocation.
template <typename Fn>
bool for_each_list_member(std::string_view s, char sep, Fn&& fn) {
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view member = trim(s.substr(pos, end - pos));
    pos = end + 1;
    if (member.empty()) continue;
    if constexpr (std::is_same_v<decltype(fn(member)), bool>) {
      if (!fn(member)) return false;
    } else {
      fn(member);
    }
  }
  return true;
}

}  // namespace vigil::detail
