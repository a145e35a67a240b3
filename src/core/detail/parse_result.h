// src/core/detail/parse_result.h (internal, not installed): the one result type of vigil's
// parsers of outside input (environment variables, headers, query strings, request bodies).
//
// Convention: a parser of outside input never throws across the API (except std::bad_alloc) and
// never crashes; it returns a ParseResult holding either the value or an error message that says
// what was wrong and where ("'a%4' has a malformed %-escape at byte 1"). Callers that want a
// warning print `error`; callers that skip bad input just test the result.
//
//   vigil::detail::ParseResult<std::string> r = vigil::detail::percent_decode("a%20b");
//   if (r) use(*r); else warn(r.error);
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace vigil::detail {

template <class T>
struct ParseResult {
  std::optional<T> value;  // set on success
  std::string error;       // set on failure: what was wrong and where

  static ParseResult ok(T v) { return ParseResult{std::optional<T>(std::move(v)), {}}; }
  static ParseResult fail(std::string message) {
    return ParseResult{std::nullopt, std::move(message)};
  }

  explicit operator bool() const noexcept { return value.has_value(); }
  bool has_value() const noexcept { return value.has_value(); }
  T& operator*() & noexcept { return *value; }
  const T& operator*() const& noexcept { return *value; }
  T&& operator*() && noexcept { return std::move(*value); }
  T* operator->() noexcept { return &*value; }
  const T* operator->() const noexcept { return &*value; }
};

}  // namespace vigil::detail
