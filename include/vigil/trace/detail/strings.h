// vigil/trace/detail/strings.h: string helpers of the hot paths of tracing (attribute keys,
// span names), shared by attributes.h and the recording side. Not an API: may change in any
// release.
//
//   if (!detail::equal_strings(kv.key, key)) ...;  // short keys compared without memcmp
//   detail::assign_string(span.name, name);         // no copy when it already holds `name`
//
// Thread-safety: pure functions of their arguments. Never throw except std::bad_alloc from
// assign_string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil::trace::detail {

// a == b for short strings without a call to memcmp (attribute keys and span names are mostly
// 4 to 16 characters; a memcmp call costs more than the compare).
[[gnu::always_inline]] inline bool equal_strings(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  const auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  const auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return load8(x) == load8(y) && load8(x + n - 8) == load8(y + n - 8);
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}
// s = v, skipping the copy when s already holds v (pooled spans mostly see the same names and
// keys again, and a compare is cheaper than std::string::assign).
[[gnu::always_inline]] inline void assign_string(std::string& s, std::string_view v) {
  if (!equal_strings(s, v)) [[unlikely]] {
    s.assign(v);
  }
}

}  // namespace vigil::trace::detail
