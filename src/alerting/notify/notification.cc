// NotifiedAlert and NotificationGroup: the values notifiers are handed.
#include <algorithm>
#include <exception>

#include "alerting/label_matcher.h"
#include "vigil/alerting/notifier.h"
#include "vigil/alerting/notifiers.h"
#include "vigil/core/error.h"

namespace vigil::alerting {

std::string NotifiedAlert::fingerprint_hex() const {
  return alerting::fingerprint_hex(fingerprint);
}

std::string_view NotifiedAlert::label(std::string_view name) const noexcept {
  return vigil::detail::find_label(labels, name);
}

std::string_view NotifiedAlert::annotation(std::string_view name) const noexcept {
  return vigil::detail::find_label(annotations, name);
}

NotifiedAlert to_notified(const Alert& alert, std::string generator_url) {
  NotifiedAlert n;
  n.labels = alert.labels;
  n.annotations = alert.annotations;
  n.starts_at = alert.active_at;
  n.ends_at = alert.ends_at();
  n.generator_url = std::move(generator_url);
  n.fingerprint = alert.fingerprint;
  n.severity = alert.severity;
  n.value = alert.value;
  n.resolved = alert.state == AlertState::kResolved;
  n.silenced = alert.silenced;
  return n;
}

std::string_view NotificationGroup::status() const noexcept {
  return firing_count() > 0 ? "firing" : "resolved";
}

size_t NotificationGroup::firing_count() const noexcept {
  return static_cast<size_t>(std::count_if(alerts.begin(), alerts.end(),
                                           [](const NotifiedAlert& a) { return !a.resolved; }));
}

size_t NotificationGroup::resolved_count() const noexcept { return alerts.size() - firing_count(); }

namespace {
// The pairs every list has with the same value (Alertmanager's commonLabels), sorted by name.
LabelList common_of(const std::vector<NotifiedAlert>& alerts, LabelList NotifiedAlert::*field) {
  if (alerts.empty()) return {};
  LabelList common = alerts.front().*field;
  std::sort(common.begin(), common.end());
  for (size_t i = 1; i < alerts.size() && !common.empty(); ++i) {
    const LabelList& other = alerts[i].*field;
    std::erase_if(common, [&](const std::pair<std::string, std::string>& kv) {
      for (const auto& o : other) {
        if (o.first == kv.first) return o.second != kv.second;
      }
      return true;
    });
  }
  return common;
}
}  // namespace

void NotificationGroup::compute_common() {
  common_labels = common_of(alerts, &NotifiedAlert::labels);
  common_annotations = common_of(alerts, &NotifiedAlert::annotations);
}

namespace {
class CallbackNotifier final : public Notifier {
 public:
  CallbackNotifier(std::function<void(const NotificationGroup&)> fn, bool send_resolved)
      : fn_(std::move(fn)), send_resolved_(send_resolved) {}
  std::string_view integration() const noexcept override { return "callback"; }
  bool send_resolved() const noexcept override { return send_resolved_; }
  DeliveryResult notify(const NotificationGroup& group, const DeliveryContext&) override {
    try {
      fn_(group);
      return DeliveryResult::delivered();
    } catch (const std::exception& e) {
      return DeliveryResult::failed(std::string("callback threw: ") + e.what());
    } catch (...) {
      return DeliveryResult::failed("callback threw a non-standard exception");
    }
  }

 private:
  std::function<void(const NotificationGroup&)> fn_;
  bool send_resolved_;
};
}  // namespace

std::unique_ptr<Notifier> make_callback_notifier(std::function<void(const NotificationGroup&)> fn,
                                                 bool send_resolved) {
  if (!fn) throw Error("callback notifier: the callback is empty");
  return std::make_unique<CallbackNotifier>(std::move(fn), send_resolved);
}

}  // namespace vigil::alerting
