// vigil/alerting/notifier.h: what a receiver is sent, and the interface every notification
// channel implements (Slack, email, webhook, PagerDuty, a callback, or a user's own).
//
// A NotificationGroup is one aggregation group's alerts at one flush, as Alertmanager hands them
// to its integrations (notify/notify.go, the webhook v4 data): receiver, group key, group labels,
// common labels and annotations, and the alerts, firing and resolved.
//
//   class PagerChannel : public vigil::alerting::Notifier {
//    public:
//     std::string_view integration() const noexcept override { return "pager"; }
//     DeliveryResult notify(const NotificationGroup& g, const DeliveryContext& ctx) override {
//       return send_page(g) ? DeliveryResult::delivered() : DeliveryResult::retry("busy");
//     }
//   };
//
// Thread-safety: notify() is called by one delivery thread at a time per notifier instance;
// abort() from any thread. NotificationGroup and NotifiedAlert are plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/alerting/alert.h"

namespace vigil::alerting {

// One alert as a notification carries it (Alertmanager's webhook `alerts[]` element).
struct NotifiedAlert {
  LabelList labels;       // sorted by name (alertname, severity, ...)
  LabelList annotations;  // in the rule's order
  TimePoint starts_at;
  TimePoint ends_at;  // firing: when it expires if not re-sent (zero: unknown); resolved: when
  std::string generator_url;
  uint64_t fingerprint = 0;
  Severity severity = Severity::kWarning;
  double value = 0;
  bool resolved = false;
  // Silenced in the engine: kept (alive, and as an inhibition source) but never notified.
  bool silenced = false;

  // "firing" or "resolved".
  std::string_view status() const noexcept { return resolved ? "resolved" : "firing"; }
  std::string fingerprint_hex() const;
  std::string_view label(std::string_view name) const noexcept;
  std::string_view annotation(std::string_view name) const noexcept;
};

// The notification form of an engine alert: firing, or resolved (resolved_at set); ends_at is
// resolved_at or valid_until.
NotifiedAlert to_notified(const Alert& alert, std::string generator_url = "");

// One aggregation group's alerts at a flush: what a receiver's integrations send.
struct NotificationGroup {
  std::string receiver;
  std::string group_key;  // Alertmanager's groupKey: route key + ":" + group labels
  LabelList group_labels;
  LabelList common_labels;            // labels every alert has with the same value
  LabelList common_annotations;       // likewise for annotations
  std::string external_url;           // the dispatcher's external URL (links back to vigil)
  std::vector<NotifiedAlert> alerts;  // firing and resolved, sorted by labels

  // "firing" when at least one alert fires, else "resolved".
  std::string_view status() const noexcept;
  size_t firing_count() const noexcept;
  size_t resolved_count() const noexcept;
  // Recomputes common_labels and common_annotations from alerts.
  void compute_common();
};

enum class DeliveryStatus : uint8_t {
  kDelivered,  // the receiver took it
  kRetry,      // failed in a way that may pass on a later attempt (connection, timeout, 429, 5xx)
  kFailed,     // failed for good (other 4xx, a template error, a refused address)
};

// The outcome of one attempt. `error` never contains secrets (URLs of webhooks with tokens,
// passwords, routing keys): notifiers name the receiver and integration instead.
struct DeliveryResult {
  DeliveryStatus status = DeliveryStatus::kDelivered;
  std::string error;
  std::optional<std::chrono::milliseconds> retry_after;  // the receiver's Retry-After
  long http_status = 0;                                  // 0 when not HTTP or no response

  static DeliveryResult delivered() { return {}; }
  static DeliveryResult retry(std::string why,
                              std::optional<std::chrono::milliseconds> after = std::nullopt) {
    return {DeliveryStatus::kRetry, std::move(why), after, 0};
  }
  static DeliveryResult failed(std::string why) {
    return {DeliveryStatus::kFailed, std::move(why), std::nullopt, 0};
  }
  bool ok() const noexcept { return status == DeliveryStatus::kDelivered; }
};

// What one attempt may use.
struct DeliveryContext {
  // The attempt must return by then (the notifier's own timeout is capped to it).
  std::chrono::steady_clock::time_point deadline;
  int attempt = 1;  // 1 for the first attempt
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // The integration's name: "webhook", "slack", "email", "pagerduty", "callback", or a user's.
  virtual std::string_view integration() const noexcept = 0;
  // One attempt (the dispatcher retries, with backoff, on kRetry). Blocks at most until
  // ctx.deadline. Must not throw (a throw is caught, counted and treated as kFailed).
  virtual DeliveryResult notify(const NotificationGroup& group, const DeliveryContext& ctx) = 0;
  // Whether resolved alerts are sent (Alertmanager's send_resolved). When false the dispatcher
  // removes resolved alerts before notify() and skips a group with no firing alert left.
  virtual bool send_resolved() const noexcept { return true; }
  // Makes a running notify() return promptly, and later ones at once (shutdown). Any thread.
  virtual void abort() noexcept {}
};

}  // namespace vigil::alerting
