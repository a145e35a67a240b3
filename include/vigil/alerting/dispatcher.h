// vigil/alerting/dispatcher.h: delivers what the rule engine decides, as Alertmanager would
// (notify/notify.go, dispatch/dispatch.go): inhibition, routing, aggregation groups with
// group_wait / group_interval / repeat_interval, deduplication against a notification log, a
// bounded queue and a delivery thread per receiver, retries with backoff, and a notification log
// in SQLite so that a crash neither loses nor repeats a notification.
//
//   vigil::alerting::DispatcherOptions o;
//   o.routing = vigil::alerting::load_routing_file("alertmanager.yml").config.value();
//   o.state_path = "/var/lib/app/vigil.db";  // the AlertManager's database file is fine
//   vigil::alerting::Dispatcher dispatcher(std::move(o));
//   dispatcher.attach(manager);   // every notification of `manager` enters the pipeline
//   dispatcher.start();
//   ...
//   dispatcher.shutdown(std::chrono::seconds(5));  // the guides' close()
//
// Pipeline, in Alertmanager's order: an alert arriving (firing, or resolved) updates the
// dispatcher's alert store and the inhibitor; the route tree (or, when the rule named
// notification channels, those receivers) picks aggregation groups (route x group labels). A new
// group flushes after group_wait, then every group_interval. At a flush each integration of the
// receiver is sent the group's alerts that are not inhibited (resolved ones only if it sends
// resolved) when the notification log says it needs to: the set of firing alerts is not a subset
// of what was last delivered to it, a resolved alert was not delivered as resolved yet, or
// repeat_interval has passed since the last delivery. Resolved alerts leave the group once
// delivered. A firing alert whose ends_at passes is resolved (an engine that stops sending).
//
// Delivery: each flush's notifications are written to the log (SQLite, WAL) before they are
// queued; the receiver's thread sends them, retrying kRetry results with exponential backoff and
// jitter (a longer Retry-After wins; a shorter one never shortens the backoff) until the
// notification's deadline; success and the alert sets delivered are recorded in the same
// transaction. After a crash and restart, notifications not confirmed are sent again (at least
// once), and the log's delivered sets keep a restarted process from notifying again inside
// repeat_interval.
//
// Difference from Alertmanager: a notification whose rule names notification channels
// (Notification::channels) skips the route tree and goes to the receivers of those names, with
// the root route's timers, grouped by alertname (group key "{}/channel:<receiver>:{alertname=..}");
// names that are no receiver are counted in DispatcherStatus::unknown_channels, not thrown.
// Retries stop at retry.max_attempts (0: no limit) or at delivery_deadline, whichever is first.
//
// Never blocking: submit() and the manager's callback only take a short lock; a full receiver
// queue drops the new notification and counts it. Everything is counted per receiver and
// integration (status(), and vigil_notifications_* metrics when self_metrics is set).
//
// Thread-safety: every member is safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/alerting/manager.h"
#include "vigil/alerting/notifier.h"
#include "vigil/alerting/routing.h"
#include "vigil/core/retry.h"

namespace vigil::metrics {
class Registry;
}

namespace vigil::alerting {

struct DispatcherOptions {
  RoutingConfig routing;
  // The clock of grouping timers, repeat intervals and alert times (tests inject one). Null:
  // the system clock.
  std::function<TimePoint()> clock;
  // false: no timer thread; flushes happen in tick() only (tests, with an injected clock).
  bool run_timer_thread = true;
  // SQLite database of the notification log ("" = memory only: no redelivery after a crash). A
  // database that cannot be used is reported in status and on stderr once; delivery goes on.
  std::string state_path;
  size_t queue_capacity = 1024;  // notifications waiting per receiver; beyond: dropped, counted
  size_t max_alerts = 100'000;   // alerts held by the dispatcher; beyond: new ones dropped
  // Backoff between attempts of one notification; max_attempts counts them all (0: no limit but
  // delivery_deadline).
  RetryOptions retry{.max_attempts = 8,
                     .initial_backoff = std::chrono::milliseconds(500),
                     .max_backoff = std::chrono::milliseconds(30'000),
                     .multiplier = 2.0,
                     .jitter = 0.2};
  // Overall time one notification may take from being queued, time in the queue and retries
  // included (then it is given up, counted as failed; one that waited past it in the queue is
  // given up without an attempt).
  std::chrono::milliseconds delivery_deadline{5 * 60'000};
  // Longest one attempt may take (DeliveryContext::deadline: the earlier of this and the
  // notification's deadline).
  std::chrono::milliseconds attempt_timeout{30'000};
  std::string external_url;  // NotificationGroup::external_url
  metrics::Registry* self_metrics = nullptr;
  // How long delivered entries stay in the log (Alertmanager: 120h).
  std::chrono::milliseconds log_retention{120LL * 60 * 60'000};
};

struct IntegrationStatus {
  std::string integration;  // "webhook", "slack", ...
  // Its position among the receiver's integrations (webhook_configs, slack_configs,
  // email_configs, pagerduty_configs, then notifiers): a display index that shifts when
  // integrations are added. The dedup state and the notification log key an integration by
  // its name and its index among the receiver's integrations of that name instead.
  int index = 0;
  uint64_t sent = 0;       // notifications delivered
  uint64_t failed = 0;     // notifications given up (kFailed, out of attempts or deadline)
  uint64_t retried = 0;    // attempts after the first
  uint64_t dropped = 0;    // notifications dropped (queue full, shutdown)
  std::string last_error;  // no secrets
  TimePoint last_success;  // zero if never
  TimePoint last_attempt;
};

struct ReceiverStatus {
  std::string name;
  size_t queued = 0;  // notifications waiting for this receiver's thread
  std::vector<IntegrationStatus> integrations;
};

// An aggregation group as it is now (Alertmanager's /api/v2/alerts/groups).
struct GroupStatus {
  std::string receiver;
  std::string group_key;
  LabelList group_labels;
  std::vector<NotifiedAlert> alerts;
  TimePoint next_flush;
};

struct DispatcherStatus {
  std::vector<ReceiverStatus> receivers;
  size_t alerts = 0;  // alerts held
  uint64_t alerts_dropped = 0;
  uint64_t inhibited = 0;  // alert notifications muted by inhibition
  // Notification channels named by rules that are no receiver (counted, not thrown).
  uint64_t unknown_channels = 0;
  std::string last_unknown_channel;
  bool log_ok = true;  // the notification log works (or is not configured)
  std::string log_error;
  uint64_t redelivered = 0;  // unconfirmed notifications re-queued at start-up
};

struct ShutdownReport {
  uint64_t delivered = 0;  // sent during the shutdown
  uint64_t abandoned = 0;  // still queued or in flight at the deadline (kept in the log)
};

class Dispatcher {
 public:
  // Builds the router, the inhibitor and every receiver's notifiers; opens the log and re-queues
  // what it holds unconfirmed. Throws vigil::Error on an invalid configuration.
  explicit Dispatcher(DispatcherOptions options);
  // shutdown(5 s) when not shut down yet.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Subscribes to `manager`'s notifications (on_alert); returns the callback id. The manager
  // must outlive the subscription (detach or destroy the manager first).
  int attach(AlertManager& manager);
  void detach(AlertManager& manager, int id);

  // Hands alerts to the pipeline (what the manager's callback does). Non-blocking.
  void submit(const Notification& notification);

  // Starts the delivery threads (and the timer thread unless run_timer_thread is false).
  void start();
  // Runs the flushes that are due at clock() now (with an injected clock in tests).
  void tick();
  // Waits until every queued notification has been delivered or given up, up to `timeout`.
  bool flush(std::chrono::milliseconds timeout);
  // Flushes within `deadline`, then stops the threads (aborting notifiers in flight) and counts
  // what is left. Idempotent.
  ShutdownReport shutdown(std::chrono::milliseconds deadline);

  DispatcherStatus status() const;
  std::vector<GroupStatus> groups() const;
  const Router& router() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vigil::alerting
