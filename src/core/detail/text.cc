#include "core/detail/text.h"

namespace vigil::detail {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Built with append(): GCC 12 reports a false -Wrestrict for "'" + std::string(s) + "'".
std::string quoted(std::string_view s, char quote) {
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back(quote);
  q.append(s);
  q.push_back(quote);
  return q;
}

}  // namespace vigil::detail
