// Prometheus durations (model.Duration in 2.42): "1y2w3d4h5m6s7ms", each unit at most once and in
// this order, a plain "0", no sign and no fractions. A year is 365 days, a week 7 days.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "alerting/promql/parser.h"

namespace vigil::alerting::promql {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
constexpr Unit kUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
};

}  // namespace

detail::ParseResult<int64_t> parse_duration(std::string_view input) {
  using R = detail::ParseResult<int64_t>;
  if (input.empty()) return R::fail("empty duration string");
  if (input == "0") return R::ok(0);
  const std::string quoted = "\"" + std::string(input.substr(0, 64)) + "\"";
  int64_t total = 0;
  size_t next_unit = 0;  // units must appear in decreasing order, each once
  size_t i = 0;
  while (i < input.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < input.size() && input[i] >= '0' && input[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10)
        return R::fail("duration " + quoted + " is out of range");
      n = n * 10 + (input[i] - '0');
      ++i;
    }
    if (i == start) return R::fail("not a valid duration string: " + quoted);
    size_t u = next_unit;
    for (; u < std::size(kUnits); ++u) {
      std::string_view name = kUnits[u].name;
      // "m" must not match the start of "ms".
      if (input.substr(i, name.size()) == name && !(name == "m" && input.substr(i, 2) == "ms"))
        break;
    }
    if (u == std::size(kUnits)) return R::fail("not a valid duration string: " + quoted);
    i += kUnits[u].name.size();
    next_unit = u + 1;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].ms ||
        total > std::numeric_limits<int64_t>::max() - n * kUnits[u].ms)
      return R::fail("duration " + quoted + " is out of range");
    total += n * kUnits[u].ms;
  }
  return R::ok(total);
}

std::string format_duration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;  // durations are never INT64_MIN here: parse_duration caps them
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace vigil::alerting::promql
