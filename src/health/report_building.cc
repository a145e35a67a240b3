// Aggregation and the texts of health reports (monitor_internal.h).
#include <string>

#include "monitor_internal.h"

namespace vigil::health::detail {
namespace {

constexpr size_t kMaxProblemsInOutput = 3;

}  // namespace

Status contribution(const CheckReport& c) noexcept {
  return c.critical ? c.status : (c.status == Status::kFail ? Status::kWarn : c.status);
}

Status aggregate(const std::vector<const CheckReport*>& checks) noexcept {
  Status s = Status::kPass;
  for (const CheckReport* c : checks) s = worst(s, contribution(*c));
  return s;
}

std::string problems(const std::vector<const CheckReport*>& checks, Status level) {
  std::string out;
  size_t n = 0;
  size_t more = 0;
  for (const CheckReport* c : checks) {
    if (contribution(*c) != level) continue;
    if (n == kMaxProblemsInOutput) {
      ++more;
      continue;
    }
    if (!out.empty()) out += "; ";
    out += c->name;
    out += ": ";
    out += c->output.empty() ? std::string(to_string(c->status)) : c->output;
    ++n;
  }
  if (more > 0) out += "; and " + std::to_string(more) + " more";
  return out;
}

CheckReport make_check_report(const CheckState& c, bool cached) {
  CheckReport r;
  r.name = c.name;
  r.measurement = c.options.measurement;
  r.component_type = c.options.component_type;
  r.groups = c.options.groups;
  r.critical = c.options.critical;
  if (c.has_result) {
    r.status = c.reported;
    r.output = c.reported_output;
    r.observed_value = c.last.result.observed_value;
    r.observed_unit = c.last.result.observed_unit;
    r.duration_seconds = c.last.duration_seconds;
    r.time = c.last.time;
  } else {
    r.status = Status::kFail;
    r.output = "no result yet";
  }
  r.cached = cached;
  r.consecutive_failures = c.hysteresis.consecutive_failures;
  r.consecutive_successes = c.hysteresis.consecutive_successes;
  return r;
}

HealthReport base_report(const HealthMonitorOptions& options, std::string_view group) {
  HealthReport r;
  r.group = std::string(group);
  r.service_id = options.service_id;
  r.version = options.version;
  r.release_id = options.release_id;
  const std::string what = group.empty() ? std::string("health") : std::string(group);
  if (!options.description.empty()) {
    r.description = options.description;
  } else if (!options.service_id.empty()) {
    r.description = what + " of " + options.service_id;
  } else {
    r.description = what;
  }
  return r;
}

}  // namespace vigil::health::detail
