// vigil/alerting/alertmanager_client.h: hands the rule engine's alerts to one or more real
// Alertmanager instances, as Prometheus' notifier does (notifier/notifier.go): every alert that
// needs sending is POSTed to /api/v2/alerts of every instance, firing alerts again every resend
// delay (so that a restarted Alertmanager learns them back) with endsAt set (so that alerts of a
// vigil that died expire), resolved ones with their resolution time.
//
//   vigil::alerting::AlertmanagerClientOptions o;
//   o.urls = {"http://alertmanager-0:9093", "http://alertmanager-1:9093"};
//   vigil::alerting::AlertmanagerClient client(o);
//   client.attach(manager);
//
// Queueing as Prometheus: one bounded queue (capacity, oldest dropped first and counted), sent
// in batches of max_batch on library-owned threads, to each instance in parallel; an instance
// that fails does not hold the others. Outcomes counted per instance (status(), and
// vigil_alertmanager_* metrics when self_metrics is set).
//
// Each instance has its own sender thread and its own place in the one queue: an alert leaves
// the queue once every instance has taken it, so a slow or dead instance keeps its backlog there
// (at most `queue_capacity` alerts, the oldest dropped first) while the others go on. A POST is
// one attempt bounded by http.timeout; a failed batch is counted and not retried (the manager
// re-sends firing alerts every resend_delay). Metrics, as Prometheus' with the vigil_ prefix:
// vigil_alertmanager_notifications_total{alertmanager} (alerts sent, whatever the outcome),
// vigil_alertmanager_notifications_errors_total{alertmanager} (alerts in failed POSTs),
// vigil_alertmanager_notification_latency_seconds{alertmanager} (summary),
// vigil_alertmanager_notifications_dropped_total, vigil_alertmanager_notifications_queue_length,
// vigil_alertmanager_notifications_queue_capacity, vigil_alertmanager_discovered_alertmanagers.
// Credentials (user:password@ in a URL, http.basic_auth_*, http.bearer_token) go in the request
// only: status(), metrics and errors show URLs without them.
//
// Thread-safety: every member is safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vigil/alerting/manager.h"
#include "vigil/alerting/notifiers.h"

namespace vigil::metrics {
class Registry;
}

namespace vigil::alerting {

struct AlertmanagerClientOptions {
  // Base URLs ("http://127.0.0.1:9093", with a path prefix if any); alerts go to
  // <url>/api/v2/alerts.
  std::vector<std::string> urls;
  HttpChannelOptions http;         // timeout per request, auth, TLS
  size_t queue_capacity = 10'000;  // Prometheus' --alertmanager.notification-queue-capacity
  size_t max_batch = 64;           // alerts per POST (Prometheus: 64)
  std::string generator_url;       // each alert's generatorURL ("" = none)
  metrics::Registry* self_metrics = nullptr;
};

struct AlertmanagerStatus {
  std::string url;      // the /api/v2/alerts URL (credentials removed)
  uint64_t sent = 0;    // alerts delivered
  uint64_t errors = 0;  // alerts in batches that failed
  uint64_t requests = 0;
  // Alerts this instance never got: dropped from the full queue (or at shutdown) before it took
  // them, e.g. while it was down or slower than the others.
  uint64_t dropped = 0;
  std::string last_error;
  TimePoint last_success;  // zero until a POST succeeds
};

class AlertmanagerClient {
 public:
  // Throws vigil::Error when a URL is not http(s), there is none, or queue_capacity, max_batch
  // or http.timeout is 0.
  explicit AlertmanagerClient(AlertmanagerClientOptions options);
  // shutdown(5 s) when not shut down.
  ~AlertmanagerClient();
  AlertmanagerClient(const AlertmanagerClient&) = delete;
  AlertmanagerClient& operator=(const AlertmanagerClient&) = delete;

  int attach(AlertManager& manager);
  void detach(AlertManager& manager, int id);
  // Queues the notification's alerts (non-blocking; the oldest are dropped when full).
  void submit(const Notification& notification);
  // Waits until the queue is empty and sent, up to `timeout`.
  bool flush(std::chrono::milliseconds timeout);
  // Stops taking alerts (later ones are counted as dropped), sends what it can within
  // `deadline`, then aborts the POSTs in flight (counted as errors), counts what is left in the
  // queue as dropped and ends the threads. Idempotent.
  void shutdown(std::chrono::milliseconds deadline);

  std::vector<AlertmanagerStatus> status() const;
  size_t queued() const;  // alerts some instance has not taken yet
  // Alerts dropped from a full queue or at shutdown before every instance had taken them, and
  // alerts submitted after shutdown.
  uint64_t dropped() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The JSON body Alertmanager's POST /api/v2/alerts takes (postableAlerts) for `alerts`: an array
// of {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}, times in RFC 3339 UTC with
// milliseconds (as Prometheus sends them); startsAt, endsAt and generatorURL are left out when
// zero or empty (Alertmanager then uses its receive time and resolve_timeout).
std::string alertmanager_payload(const std::vector<NotifiedAlert>& alerts);

}  // namespace vigil::alerting
