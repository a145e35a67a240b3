#include "vigil/health/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

namespace vigil::health {
namespace {

using Json = nlohmann::ordered_json;

// RFC 3339 / ISO 8601 in UTC with milliseconds: "2025-01-17T03:36:48.120Z".
std::string iso8601(double unix_seconds) {
  if (!std::isfinite(unix_seconds) || unix_seconds < 0) unix_seconds = 0;
  double whole = std::floor(unix_seconds);
  int millis = static_cast<int>(std::lround((unix_seconds - whole) * 1000));
  if (millis >= 1000) {
    millis -= 1000;
    whole += 1;
  }
  const std::time_t t = static_cast<std::time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  if (std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    return "1970-01-01T00:00:00Z";
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", std::clamp(millis, 0, 999));
  return std::string(date) + frac;
}

// Rounded to `decimals` places so bodies stay readable (durations to the microsecond).
double rounded(double v, int decimals) {
  if (!std::isfinite(v)) return 0;
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

Json number_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;  // JSON has no NaN or infinity
  return v;
}

}  // namespace

int http_status(Status status) noexcept { return status == Status::kFail ? 503 : 200; }

std::string to_json(const HealthReport& report, Detail detail) {
  Json j;
  j["status"] = to_string(report.status);
  j["overall_status"] = overall_name(report.status);
  if (detail == Detail::kFull) {
    if (!report.version.empty()) j["version"] = report.version;
    if (!report.release_id.empty()) j["releaseId"] = report.release_id;
    if (!report.service_id.empty()) j["serviceId"] = report.service_id;
    if (!report.description.empty()) j["description"] = report.description;
    if (!report.output.empty()) j["output"] = report.output;
    j["group"] = report.group.empty() ? "all" : report.group;
    j["started"] = report.started;
    j["uptime_seconds"] = rounded(report.uptime_seconds, 3);
    j["duration_ms"] = rounded(report.duration_seconds * 1000, 3);
    j["time"] = iso8601(report.time);
    Json checks = Json::object();
    for (const CheckReport& c : report.checks) {
      Json entry;
      if (!c.component_type.empty()) entry["componentType"] = c.component_type;
      if (c.observed_value) {
        entry["observedValue"] = number_or_null(*c.observed_value);
        if (!c.observed_unit.empty()) entry["observedUnit"] = c.observed_unit;
      }
      entry["status"] = to_string(c.status);
      if (c.time > 0) entry["time"] = iso8601(c.time);
      if (!c.output.empty()) entry["output"] = c.output;
      entry["duration_ms"] = rounded(c.duration_seconds * 1000, 3);
      entry["critical"] = c.critical;
      entry["groups"] = c.groups;
      if (c.cached) entry["cached"] = true;
      const std::string key = c.measurement.empty() ? c.name : c.name + ":" + c.measurement;
      checks[key] = Json::array({std::move(entry)});
    }
    j["checks"] = std::move(checks);
  }
  std::string out = j.dump(2, ' ', false, Json::error_handler_t::replace);
  out.push_back('\n');
  return out;
}

}  // namespace vigil::health
