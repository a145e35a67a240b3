// OTEL_* environment reading with warnings and defaults.
#include "vigil/trace/environment.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include "core/detail/text.h"

namespace vigil::trace {
namespace {

using vigil::detail::trim;

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}
WarningHandler& handler() {
  static WarningHandler h;
  return h;
}

}  // namespace

void set_warning_handler(WarningHandler h) {
  std::lock_guard lock(handler_mutex());
  handler() = std::move(h);
}

void warn(std::string_view message) noexcept {
  try {
    std::lock_guard lock(handler_mutex());
    if (handler()) {
      handler()(message);
      return;
    }
  } catch (...) {
    // fall through to stderr
  }
  std::fprintf(stderr, "vigil: warning: %.*s\n", static_cast<int>(message.size()), message.data());
}

Environment::Environment()
    : lookup_([](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
      }) {}

Environment::Environment(Lookup lookup, Warn w) : lookup_(std::move(lookup)), warn_(std::move(w)) {}

Environment::Environment(std::map<std::string, std::string, std::less<>> vars, Warn w)
    : lookup_([vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      }),
      warn_(std::move(w)) {}

std::optional<std::string> Environment::get(std::string_view name) const {
  if (!lookup_) return std::nullopt;
  std::optional<std::string> v = lookup_(name);
  if (v && trim(*v).empty()) return std::nullopt;
  return v;
}

void Environment::warn(std::string_view message) const {
  if (warn_) {
    warn_(message);
  } else {
    vigil::trace::warn(message);
  }
}

bool Environment::get_bool(std::string_view name, bool fallback) const {
  const auto v = get(name);
  if (!v) return fallback;
  const std::string l = vigil::detail::ascii_lower(trim(*v));
  if (l == "true") return true;
  if (l == "false") return false;
  warn(std::string(name) + "='" + *v + "' is not true or false; using " +
       (fallback ? "true" : "false"));
  return fallback;
}

int64_t Environment::get_int(std::string_view name, int64_t fallback, int64_t min,
                             int64_t max) const {
  const auto v = get(name);
  if (!v) return fallback;
  const std::string_view t = trim(*v);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || end != t.data() + t.size() || out < min || out > max) {
    warn(std::string(name) + "='" + *v + "' is not an integer in [" + std::to_string(min) + ", " +
         std::to_string(max) + "]; using " + std::to_string(fallback));
    return fallback;
  }
  return out;
}

double Environment::get_double(std::string_view name, double fallback, double min,
                               double max) const {
  const auto v = get(name);
  if (!v) return fallback;
  const std::string t(trim(*v));
  char* end = nullptr;
  errno = 0;
  const double out = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || errno != 0 || !(out >= min && out <= max)) {
    warn(std::string(name) + "='" + *v + "' is not a number in [" + std::to_string(min) + ", " +
         std::to_string(max) + "]; using " + std::to_string(fallback));
    return fallback;
  }
  return out;
}

std::chrono::milliseconds Environment::get_millis(std::string_view name,
                                                  std::chrono::milliseconds fallback) const {
  return std::chrono::milliseconds(get_int(name, fallback.count(), 0, INT64_MAX / 1000000));
}

}  // namespace vigil::trace
