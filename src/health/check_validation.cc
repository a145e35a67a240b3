// What HealthMonitor::add_check accepts (monitor_internal.h).
#include <algorithm>
#include <string>

#include "core/detail/text.h"
#include "monitor_internal.h"
#include "vigil/core/error.h"

namespace vigil::health::detail {
namespace {

using vigil::detail::quoted;

bool valid_name_char(char c, bool allow_slash) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || (allow_slash && c == '/');
}

}  // namespace

void validate_check(const std::string& name, const CheckFn& fn, const CheckOptions& o) {
  if (name.empty()) throw Error("health check: the name must not be empty");
  const std::string what = "health check " + quoted(name) + ": ";
  if (name.size() > 128) throw Error(what + "the name is longer than 128 characters");
  for (char c : name) {
    if (!valid_name_char(c, true)) {
      throw Error(what + "the name may only contain letters, digits, '_', '-', '.' and '/'");
    }
  }
  if (!fn) throw Error(what + "the check function is empty");
  if (o.groups.empty()) throw Error(what + "it must belong to at least one group");
  for (size_t i = 0; i < o.groups.size(); ++i) {
    const std::string& g = o.groups[i];
    if (g.empty() || g.size() > 64 ||
        !std::all_of(g.begin(), g.end(), [](char c) { return valid_name_char(c, false); })) {
      throw Error(what + "invalid group name " + quoted(g) +
                  " (1 to 64 letters, digits, '_', '-' or '.')");
    }
    if (std::find(o.groups.begin(), o.groups.begin() + static_cast<std::ptrdiff_t>(i), g) !=
        o.groups.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw Error(what + "group " + quoted(g) + " is listed twice");
    }
  }
  if (o.timeout.count() <= 0) {
    throw Error(what + "the timeout must be greater than 0 (got " +
                std::to_string(o.timeout.count()) + " ms)");
  }
  if (o.failure_threshold < 1) {
    throw Error(what + "failure_threshold must be at least 1 (got " +
                std::to_string(o.failure_threshold) + ")");
  }
  if (o.success_threshold < 1) {
    throw Error(what + "success_threshold must be at least 1 (got " +
                std::to_string(o.success_threshold) + ")");
  }
  if (o.cache_ttl.count() < 0) throw Error(what + "cache_ttl must not be negative");
  if (o.interval.count() < 0) throw Error(what + "interval must not be negative");
  if (o.max_concurrent_runs < 1 || o.max_concurrent_runs > 64) {
    throw Error(what + "max_concurrent_runs must be from 1 to 64 (got " +
                std::to_string(o.max_concurrent_runs) + ")");
  }
  if (o.on_false != Status::kFail && o.on_false != Status::kWarn) {
    throw Error(what + "on_false must be Status::kFail or Status::kWarn (a false cannot pass)");
  }
}

}  // namespace vigil::health::detail
