// Helpers of the dispatcher tests: an injectable clock, alerts, and scripted notifiers.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vigil/alerting/alert.h"
#include "vigil/alerting/dispatcher.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/notifier.h"

namespace vigil::alerting::testing {

using namespace std::chrono_literals;

// A clock the test moves by hand.
class FakeClock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)))
      : ms_(std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch())
                .count()) {}
  TimePoint now() const { return TimePoint(std::chrono::milliseconds(ms_.load())); }
  void set(TimePoint t) {
    ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  std::function<TimePoint()> fn() {
    return [this] { return now(); };
  }

 private:
  std::atomic<int64_t> ms_;
};

// An engine alert: firing (ends_at = valid_until far ahead) or resolved at `resolved_at`.
inline Alert make_alert(LabelList labels, TimePoint active_at, bool resolved = false,
                        TimePoint resolved_at = {}) {
  std::sort(labels.begin(), labels.end());
  Alert a;
  a.labels = labels;
  for (const auto& [k, v] : labels) {
    if (k == "alertname") a.name = v;
  }
  a.state = resolved ? AlertState::kResolved : AlertState::kFiring;
  a.active_at = active_at;
  a.fired_at = active_at;
  a.resolved_at = resolved ? resolved_at : TimePoint{};
  a.valid_until = active_at + std::chrono::hours(24);
  a.fingerprint = label_fingerprint(labels);
  a.value = 1;
  return a;
}

inline Notification notification_of(std::vector<Alert> alerts, TimePoint t,
                                    std::vector<std::string> channels = {}) {
  Notification n;
  n.rule = alerts.empty() ? "" : alerts.front().name;
  n.alerts = std::move(alerts);
  n.time = t;
  n.channels = std::move(channels);
  return n;
}

// Records what it is sent; answers from a script (then delivered).
class ScriptedNotifier : public Notifier {
 public:
  explicit ScriptedNotifier(std::string name = "test", bool send_resolved = true)
      : name_(std::move(name)), send_resolved_(send_resolved) {}
  std::string_view integration() const noexcept override { return name_; }
  bool send_resolved() const noexcept override { return send_resolved_; }

  DeliveryResult notify(const NotificationGroup& g, const DeliveryContext& ctx) override {
    std::function<DeliveryResult(const NotificationGroup&, const DeliveryContext&)> hook;
    DeliveryResult r;
    {
      std::lock_guard lock(mu_);
      attempts_.push_back({std::chrono::steady_clock::now(), ctx});
      hook = hook_;
      if (!script_.empty()) {
        r = script_.front();
        script_.pop_front();
      } else {
        r = always_;
      }
    }
    if (hook) r = hook(g, ctx);
    if (r.ok()) {
      std::lock_guard lock(mu_);
      delivered_.push_back(g);
    }
    cv_.notify_all();
    return r;
  }
  void abort() noexcept override { aborted_ = true; }

  void script(std::vector<DeliveryResult> results) {
    std::lock_guard lock(mu_);
    script_.assign(results.begin(), results.end());
  }
  void always(DeliveryResult r) {
    std::lock_guard lock(mu_);
    always_ = std::move(r);
  }
  void hook(std::function<DeliveryResult(const NotificationGroup&, const DeliveryContext&)> h) {
    std::lock_guard lock(mu_);
    hook_ = std::move(h);
  }
  std::vector<NotificationGroup> delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  size_t delivered_count() const {
    std::lock_guard lock(mu_);
    return delivered_.size();
  }
  struct Attempt {
    std::chrono::steady_clock::time_point at;
    DeliveryContext ctx;
  };
  std::vector<Attempt> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  bool aborted() const { return aborted_.load(); }
  void clear() {
    std::lock_guard lock(mu_);
    delivered_.clear();
    attempts_.clear();
  }

 private:
  std::string name_;
  bool send_resolved_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DeliveryResult> script_;
  DeliveryResult always_ = DeliveryResult::delivered();
  std::function<DeliveryResult(const NotificationGroup&, const DeliveryContext&)> hook_;
  std::vector<NotificationGroup> delivered_;
  std::vector<Attempt> attempts_;
  std::atomic<bool> aborted_{false};
};

// A routing configuration with one receiver per notifier given, the first as the root's.
inline RoutingConfig routing_of(std::vector<std::pair<std::string, std::shared_ptr<Notifier>>> rs,
                                std::vector<std::string> group_by = {"alertname"}) {
  RoutingConfig cfg;
  cfg.route.receiver = rs.front().first;
  cfg.route.group_by = std::move(group_by);
  cfg.route.group_wait = 30s;
  cfg.route.group_interval = 5min;
  cfg.route.repeat_interval = 4h;
  for (auto& [name, n] : rs) {
    ReceiverConfig rc;
    rc.name = name;
    if (n) rc.notifiers.push_back(n);
    cfg.receivers.push_back(std::move(rc));
  }
  return cfg;
}

}  // namespace vigil::alerting::testing
