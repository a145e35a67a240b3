// The health monitor's own metrics, and each check's series in them (monitor_internal.h).
#include <string>

#include "monitor_internal.h"

namespace vigil::health::detail {

MonitorMetrics register_monitor_metrics(metrics::Registry& registry) {
  MonitorMetrics m;
  m.status = &registry.gauge(
      "vigil_health_check_status",
      "Reported status of a health check in a group: 1 pass, 0.5 warn, 0 fail", {"check", "group"});
  m.group = &registry.gauge(
      "vigil_health_status",
      "Status of a health check group (as its endpoint reports it): 1 pass, 0.5 warn, 0 fail",
      {"group"});
  m.duration = &registry.histogram(
      "vigil_health_check_duration_seconds",
      "Duration of health check runs; a run that timed out counts as its timeout", {"check"},
      {.buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}});
  m.runs = &registry.counter("vigil_health_check_runs_total",
                             "Health check runs by result: pass, warn, fail, timeout, skipped",
                             {"check", "result"});
  return m;
}

void bind_check_metrics(const MonitorMetrics& m, CheckState& c) noexcept {
  try {
    c.duration = m.duration->labels(c.name);
    c.status_gauges.clear();
    for (const std::string& g : c.options.groups) {
      c.status_gauges.push_back(m.status->labels(c.name, g));
    }
    for (size_t i = 0; i < kRunResultNames.size(); ++i) {
      c.runs[i] = m.runs->labels(c.name, kRunResultNames[i]);
    }
  } catch (...) {
    // bad_alloc: this check records no more metrics.
  }
}

void unbind_check_metrics(CheckState& c) noexcept {
  c.duration = metrics::Histogram();
  c.status_gauges.clear();
  c.runs = {};
}

void remove_check_series(const MonitorMetrics& m, const std::string& name,
                         const std::vector<std::string>& groups) {
  for (const std::string& g : groups) m.status->remove(name, g);
  m.duration->remove(name);
  for (std::string_view r : kRunResultNames) m.runs->remove(name, r);
}

}  // namespace vigil::health::detail
