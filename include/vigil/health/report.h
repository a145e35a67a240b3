// vigil/health/report.h: the answer to "is this service healthy?", and its health+json form.
//
// HealthMonitor::liveness(), readiness(), startup(), evaluate(group) and evaluate_all() return a
// HealthReport: the overall status of the group and what each check said. to_json() writes it
// as `application/health+json` in the shape of the IETF health check draft
// (draft-inadarei-api-health-check), plus vigil's fields:
//
//   vigil::health::HealthReport r = monitor.readiness();
//   int code = vigil::health::http_status(r.status);   // 200 (pass, warn) or 503 (fail)
//   std::string body = vigil::health::to_json(r);       // or to_json(r, Detail::kStatusOnly)
//
//   {"status": "fail", "overall_status": "unhealthy", "version": "1.4.2",
//    "serviceId": "agent-gateway", "description": "readiness of agent-gateway",
//    "output": "vector_store: connection refused", "uptime_seconds": 812.4,
//    "checks": {"vector_store:responseTime": [{"componentType": "datastore",
//      "observedValue": 3000, "observedUnit": "ms", "status": "fail",
//      "time": "2025-01-17T03:36:48.120Z", "output": "connection refused",
//      "duration_ms": 3000.4, "critical": true, "groups": ["readiness"]}]}}
//
// Use your own HTTP framework with to_json() and http_status(), or let vigil::admin serve the
// endpoints (vigil/admin/health_endpoints.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vigil/health/result.h"

namespace vigil::health {

// What one check contributed to a report.
struct CheckReport {
  std::string name;
  std::string measurement;     // IETF measurementName; may be empty
  std::string component_type;  // IETF componentType; may be empty
  std::vector<std::string> groups;
  bool critical = true;
  // The reported status, after hysteresis (see CheckOptions::failure_threshold). A failing
  // non-critical check keeps kFail here; the group counts it as kWarn.
  Status status = Status::kPass;
  // The explanation: the check's own output, or the monitor's ("timed out after 5 s",
  // "skipped: ...", "failure 1 of 3 in a row ...").
  std::string output;
  std::optional<double> observed_value;
  std::string observed_unit;
  double duration_seconds = 0;  // how long the run that produced the result took
  double time = 0;              // when that run finished (Unix seconds); 0 if it never ran
  bool cached = false;          // the result was reused (cache_ttl, interval, startup done)
  int consecutive_failures = 0;
  int consecutive_successes = 0;
};

// The status of a group (or of every check) at one moment.
struct HealthReport {
  std::string group;  // "liveness", "readiness", "startup", a user group, or "" for all checks
  // Worst of the checks (a failing non-critical check counts as kWarn), and kFail while startup
  // has not completed (readiness, all) or after the startup timeout (startup, and liveness
  // when HealthMonitorOptions::startup_timeout_fails_liveness).
  Status status = Status::kPass;
  // Why the group is not passing, in one line (empty when it passes), e.g.
  // "vector_store: connection refused" or "startup not complete after 12.0 s: waiting for ...".
  std::string output;
  std::string service_id;           // HealthMonitorOptions::service_id
  std::string version;              // HealthMonitorOptions::version
  std::string release_id;           // HealthMonitorOptions::release_id
  std::string description;          // e.g. "readiness of agent-gateway"
  double time = 0;                  // Unix seconds when the evaluation finished
  double uptime_seconds = 0;        // since the HealthMonitor was created
  double duration_seconds = 0;      // how long the evaluation took
  bool started = false;             // whether the startup group has passed
  std::vector<CheckReport> checks;  // in registration order
};

// How much of a report to expose.
enum class Detail {
  kFull,        // everything: checks, outputs, version, uptime
  kStatusOnly,  // {"status": "pass", "overall_status": "healthy"}: for unauthenticated callers
};

// 200 for kPass and kWarn, 503 for kFail. Thread-safe; never throws.
int http_status(Status status) noexcept;

// The health+json body (ends with a newline). Strings that are not valid UTF-8 are repaired
// (U+FFFD). Thread-safe (reads `report` only); never throws except std::bad_alloc.
// Cost: a few microseconds per check.
std::string to_json(const HealthReport& report, Detail detail = Detail::kFull);

// The media type of to_json's output: "application/health+json".
inline constexpr const char* kHealthJsonContentType = "application/health+json";

}  // namespace vigil::health
