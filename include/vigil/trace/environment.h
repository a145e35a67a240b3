// vigil/trace/environment.h: reading OTEL_* configuration with warnings instead of failures.
//
//   vigil::trace::Environment env;  // the process environment; warnings go to the warning handler
//   auto timeout = env.get_millis("OTEL_EXPORTER_OTLP_TIMEOUT", std::chrono::milliseconds(10000));
//   bool off = env.get_bool("OTEL_SDK_DISABLED", false);
//
//   // In tests: a fixed map, warnings collected.
//   std::vector<std::string> warnings;
//   vigil::trace::Environment test_env({{"OTEL_SERVICE_NAME", "svc"}},
//                                      [&](std::string_view w) { warnings.emplace_back(w); });
//
// OpenTelemetry's rule: a variable that is set to an empty value counts as unset, and a value
// that cannot be parsed gives a warning (naming the variable, the value and the rule) and the
// default. Nothing here throws except std::bad_alloc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::trace {

// Where vigil's tracing configuration warnings go. The default handler writes
// "vigil: warning: <message>\n" to stderr. Thread-safe; `handler` must be thread-safe.
// An empty handler restores the default.
using WarningHandler = std::function<void(std::string_view message)>;
void set_warning_handler(WarningHandler handler);
// Reports `message` through the current handler. Thread-safe; never throws.
void warn(std::string_view message) noexcept;

class Environment {
 public:
  using Lookup = std::function<std::optional<std::string>(std::string_view name)>;
  using Warn = std::function<void(std::string_view message)>;

  // The process environment (getenv); warnings through vigil::trace::warn.
  Environment();
  // A custom source. `lookup` may be empty (nothing set); `warn` empty uses vigil::trace::warn.
  Environment(Lookup lookup, Warn warn);
  // A fixed set of variables.
  explicit Environment(std::map<std::string, std::string, std::less<>> vars, Warn warn = {});

  // The value of `name`; nullopt when unset or empty.
  std::optional<std::string> get(std::string_view name) const;
  // Reports a warning.
  void warn(std::string_view message) const;

  // "true"/"false" (case-insensitive); otherwise a warning and `fallback`.
  bool get_bool(std::string_view name, bool fallback) const;
  // A decimal integer in [min, max]; otherwise a warning and `fallback`.
  int64_t get_int(std::string_view name, int64_t fallback, int64_t min = 0,
                  int64_t max = INT64_MAX) const;
  // A floating-point number in [min, max]; otherwise a warning and `fallback`.
  double get_double(std::string_view name, double fallback, double min, double max) const;
  // Milliseconds as a non-negative integer (OTel's duration format); otherwise a warning and
  // `fallback`.
  std::chrono::milliseconds get_millis(std::string_view name,
                                       std::chrono::milliseconds fallback) const;

 private:
  Lookup lookup_;
  Warn warn_;
};

}  // namespace vigil::trace
