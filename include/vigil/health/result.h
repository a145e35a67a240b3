// vigil/health/result.h: what one health check says: pass, warn or fail, with an explanation.
//
// A check function returns a CheckResult (or a bool, or a future of either; see check.h). The
// status follows the IETF health check draft (draft-inadarei-api-health-check): "pass", "warn",
// "fail". The overall words map onto it: pass = healthy, warn = degraded, fail = unhealthy.
//
//   vigil::health::CheckResult check_database() {
//     const double ms = db.ping_ms();
//     if (ms < 0) return vigil::health::CheckResult::fail("connection refused");
//     auto r = ms < 100 ? vigil::health::CheckResult::pass()
//                       : vigil::health::CheckResult::warn("slow: " + std::to_string(ms) + " ms");
//     return r.observe(ms, "ms");  // shown as observedValue / observedUnit
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vigil::health {

// Ordered from best to worst, so std::max of two statuses is the worse one.
enum class Status : uint8_t {
  kPass = 0,  // healthy
  kWarn = 1,  // degraded: working, with a problem worth a look
  kFail = 2,  // unhealthy
};

// "pass", "warn" or "fail" (the IETF draft's words). Thread-safe; never throws; no allocation.
std::string_view to_string(Status status) noexcept;

// "healthy", "degraded" or "unhealthy". Thread-safe; never throws.
std::string_view overall_name(Status status) noexcept;

// The value of the vigil_health_check_status metric: 1 pass, 0.5 warn, 0 fail.
// Thread-safe; never throws.
double metric_value(Status status) noexcept;

// The worse of two statuses. Thread-safe; never throws.
constexpr Status worst(Status a, Status b) noexcept { return a < b ? b : a; }

// The outcome of one run of a check. A plain value type: copy it freely.
struct CheckResult {
  Status status = Status::kPass;
  // Human-readable explanation, e.g. "rss 812 MiB of 1024 MiB limit (79%)" or the error text.
  // Shown as "output" in the health+json body (full detail only).
  std::string output;
  // An optional measurement (IETF observedValue / observedUnit), e.g. 12.5 and "ms".
  std::optional<double> observed_value;
  std::string observed_unit;

  // Factories. Cost: moves the string.
  static CheckResult pass(std::string output = {}) {
    return CheckResult{Status::kPass, std::move(output), std::nullopt, {}};
  }
  static CheckResult warn(std::string output) {
    return CheckResult{Status::kWarn, std::move(output), std::nullopt, {}};
  }
  static CheckResult fail(std::string output) {
    return CheckResult{Status::kFail, std::move(output), std::nullopt, {}};
  }

  // Sets observed_value and observed_unit; returns *this for chaining.
  CheckResult& observe(double value, std::string unit) & {
    observed_value = value;
    observed_unit = std::move(unit);
    return *this;
  }
  CheckResult&& observe(double value, std::string unit) && {
    observed_value = value;
    observed_unit = std::move(unit);
    return std::move(*this);
  }
};

}  // namespace vigil::health
