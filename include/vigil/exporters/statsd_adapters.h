// vigil/exporters/statsd_adapters.h: alerts and health changes as DogStatsD service checks and
// events, through a StatsdExporter (dogstatsd flavour). Header-only, so that vigil::exporters
// does not depend on vigil::alerting or vigil::health: a program that includes this header
// links the components it uses (vigil::alerting for the alert adapters, vigil::health for the
// health reporter).
//
//   auto statsd = std::make_shared<vigil::exporters::StatsdExporter>(options);
//   // Alerts, from the rule engine directly ...
//   int id = vigil::exporters::attach_alerts(manager, *statsd);  // manager.remove_callback(id)
//   // ... or as a notification channel of the dispatcher (routes, grouping, silences):
//   dispatcher.add_receiver("datadog",
//   std::make_shared<vigil::exporters::DogStatsdNotifier>(statsd));
//   // Health: send what changed in each report you evaluate (a probe handler, a timer).
//   vigil::exporters::StatsdHealthReporter health(*statsd);
//   health.report(monitor.readiness());
//
// What is sent:
// * An alert: an event "[FIRING] <alertname>" / "[RESOLVED] <alertname>" (text: the summary
//   and description annotations, or the labels; alert_type error for critical/error, warning,
//   info, and success when resolved; aggregation_key the alert's fingerprint; source_type
//   "vigil"; tags the alert's labels) and a service check "<check_prefix><alertname>" (status
//   CRITICAL for critical/error, WARNING for warning, OK for info and when resolved; message:
//   the summary annotation; tags the alert's labels).
// * Health: for every check whose status changed since the previous report (all of them at the
//   first), a service check "<check_prefix><check>" (pass OK, warn WARNING, fail CRITICAL;
//   message the check's output; tags group:<group>), and the same for the group itself
//   ("<check_prefix><group>") when its status changed; with events, an event per group change.
//
// Thread-safety: the adapters may be used from any thread (StatsdExporter::service_check and
// event are thread-safe; StatsdHealthReporter locks its memory of statuses). The exporter must
// outlive attach_alerts' callback (remove it first) and the reporter.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "vigil/exporters/statsd_exporter.h"

#if __has_include("vigil/alerting/manager.h")
#include "vigil/alerting/manager.h"
#include "vigil/alerting/notifier.h"
#define VIGIL_STATSD_HAVE_ALERTING 1
#endif
#if __has_include("vigil/health/report.h")
#include "vigil/health/report.h"
#define VIGIL_STATSD_HAVE_HEALTH 1
#endif

namespace vigil::exporters {

struct StatsdAlertOptions {
  bool events = true;
  bool service_checks = true;
  std::string check_prefix = "vigil.alert.";
};

namespace detail {

inline double statsd_unix_seconds(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return 0;
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

inline std::string_view statsd_find(const std::vector<std::pair<std::string, std::string>>& list,
                                    std::string_view name) {
  for (const auto& [k, v] : list) {
    if (k == name) return v;
  }
  return {};
}

// One alert as an event and a service check. `severity` is the alert's severity name.
inline void statsd_send_alert(StatsdExporter& exporter, const StatsdAlertOptions& options,
                              const std::vector<std::pair<std::string, std::string>>& labels,
                              const std::vector<std::pair<std::string, std::string>>& annotations,
                              std::string_view severity, bool resolved, std::string fingerprint,
                              double time) {
  std::string name(statsd_find(labels, "alertname"));
  if (name.empty()) name = "alert";
  const bool critical = severity == "critical" || severity == "error";
  const std::string_view summary = statsd_find(annotations, "summary");
  const std::string_view description = statsd_find(annotations, "description");
  if (options.events) {
    StatsdEvent e;
    e.title = std::string(resolved ? "[RESOLVED] " : "[FIRING] ") + name;
    e.text = std::string(summary);
    if (!description.empty()) {
      if (!e.text.empty()) e.text += '\n';
      e.text += description;
    }
    if (e.text.empty()) {
      for (const auto& [k, v] : labels) e.text += k + "=" + v + "\n";
      if (!e.text.empty()) e.text.pop_back();
    }
    e.alert_type = resolved                ? "success"
                   : critical              ? "error"
                   : severity == "warning" ? "warning"
                                           : "info";
    e.priority = "normal";
    e.aggregation_key = std::move(fingerprint);
    e.source_type = "vigil";
    e.timestamp = time;
    e.tags = labels;
    exporter.event(e);
  }
  if (options.service_checks) {
    StatsdServiceCheck c;
    c.name = options.check_prefix + name;
    c.status = resolved                ? StatsdCheckStatus::kOk
               : critical              ? StatsdCheckStatus::kCritical
               : severity == "warning" ? StatsdCheckStatus::kWarning
                                       : StatsdCheckStatus::kOk;
    c.message = std::string(summary);
    c.timestamp = time;
    c.tags = labels;
    exporter.service_check(c);
  }
}

}  // namespace detail

#ifdef VIGIL_STATSD_HAVE_ALERTING

// Sends every alert of every notification of `manager` (firing and resolved; silenced ones are
// not notified) as the header comment says. Returns the callback id (manager.remove_callback).
inline int attach_alerts(alerting::AlertManager& manager, StatsdExporter& exporter,
                         StatsdAlertOptions options = {}) {
  return manager.on_alert([&exporter, options](const alerting::Notification& n) {
    for (const alerting::Alert& a : n.alerts) {
      const bool resolved = a.resolved_at != alerting::TimePoint{};
      detail::statsd_send_alert(exporter, options, a.labels, a.annotations,
                                alerting::to_string(a.severity), resolved, a.fingerprint_hex(),
                                detail::statsd_unix_seconds(resolved ? a.resolved_at : n.time));
    }
  });
}

// A notification channel ("dogstatsd") for the alerting dispatcher: each alert of a group as an
// event and a service check. Delivered when every datagram was queued; retried when the
// exporter's queue was full. Keeps the exporter alive (shared ownership).
class DogStatsdNotifier final : public alerting::Notifier {
 public:
  explicit DogStatsdNotifier(std::shared_ptr<StatsdExporter> exporter,
                             StatsdAlertOptions options = {})
      : exporter_(std::move(exporter)), options_(std::move(options)) {}
  std::string_view integration() const noexcept override { return "dogstatsd"; }
  alerting::DeliveryResult notify(const alerting::NotificationGroup& group,
                                  const alerting::DeliveryContext&) override {
    if (!exporter_ || exporter_->options().flavor != StatsdFlavor::kDogStatsd) {
      return alerting::DeliveryResult::failed("dogstatsd: the exporter is not a DogStatsD one");
    }
    const uint64_t dropped_before = exporter_->stats().events_dropped;
    for (const alerting::NotifiedAlert& a : group.alerts) {
      detail::statsd_send_alert(*exporter_, options_, a.labels, a.annotations,
                                alerting::to_string(a.severity), a.resolved, a.fingerprint_hex(),
                                detail::statsd_unix_seconds(a.resolved ? a.ends_at : a.starts_at));
    }
    if (exporter_->stats().events_dropped != dropped_before) {
      return alerting::DeliveryResult::retry("dogstatsd: event queue full");
    }
    return alerting::DeliveryResult::delivered();
  }

 private:
  std::shared_ptr<StatsdExporter> exporter_;
  StatsdAlertOptions options_;
};

#endif  // VIGIL_STATSD_HAVE_ALERTING

#ifdef VIGIL_STATSD_HAVE_HEALTH

struct StatsdHealthOptions {
  std::string check_prefix = "vigil.health.";
  bool events = true;  // an event when a group's status changes
};

// Turns health reports into service checks for what changed (see the header comment).
class StatsdHealthReporter {
 public:
  explicit StatsdHealthReporter(StatsdExporter& exporter, StatsdHealthOptions options = {})
      : exporter_(exporter), options_(std::move(options)) {}

  // Sends what changed in `report` since the previous report of the same group. Returns the
  // number of service checks queued.
  int report(const health::HealthReport& report) {
    std::lock_guard lock(mu_);
    int sent = 0;
    const std::string group = report.group.empty() ? "all" : report.group;
    for (const health::CheckReport& c : report.checks) {
      auto [it, fresh] = last_.try_emplace(group + '\n' + c.name, c.status);
      if (!fresh && it->second == c.status) continue;
      it->second = c.status;
      sent += send(c.name, c.status, c.output, group, report.time) ? 1 : 0;
    }
    auto [it, fresh] = last_.try_emplace(group, report.status);
    if (fresh || it->second != report.status) {
      it->second = report.status;
      sent += send(group, report.status, report.output, group, report.time) ? 1 : 0;
      if (options_.events && !fresh) {
        StatsdEvent e;
        e.title = "[health] " + group + " is " + std::string(health::overall_name(report.status));
        e.text = report.output.empty() ? std::string(health::overall_name(report.status))
                                       : report.output;
        e.alert_type = report.status == health::Status::kPass   ? "success"
                       : report.status == health::Status::kWarn ? "warning"
                                                                : "error";
        e.source_type = "vigil";
        e.aggregation_key = "health." + group;
        e.timestamp = report.time;
        e.tags = {{"group", group}};
        exporter_.event(e);
      }
    }
    return sent;
  }

 private:
  bool send(const std::string& name, health::Status status, const std::string& output,
            const std::string& group, double time) {
    StatsdServiceCheck c;
    c.name = options_.check_prefix + name;
    c.status = status == health::Status::kPass   ? StatsdCheckStatus::kOk
               : status == health::Status::kWarn ? StatsdCheckStatus::kWarning
                                                 : StatsdCheckStatus::kCritical;
    c.message = output;
    c.timestamp = time;
    c.tags = {{"group", group}};
    return exporter_.service_check(c);
  }

  StatsdExporter& exporter_;
  StatsdHealthOptions options_;
  std::mutex mu_;
  std::map<std::string, health::Status> last_;
};

#endif  // VIGIL_STATSD_HAVE_HEALTH

}  // namespace vigil::exporters
