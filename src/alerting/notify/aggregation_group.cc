// Aggregation groups and the dedup decision (see aggregation_group.h).
#include "alerting/notify/aggregation_group.h"

#include <algorithm>

namespace vigil::alerting::dispatch {

namespace {
// Whether every element of sorted `sub` is in sorted `super`.
bool subset(const std::vector<uint64_t>& sub, const std::vector<uint64_t>& super) {
  return std::includes(super.begin(), super.end(), sub.begin(), sub.end());
}
}  // namespace

bool needs_update(const std::optional<DeliveredSets>& last, const std::vector<uint64_t>& firing,
                  const std::vector<uint64_t>& resolved, bool send_resolved, TimePoint now,
                  std::chrono::milliseconds repeat_interval) {
  if (!last) return !firing.empty();
  if (!subset(firing, last->firing)) return true;
  // Everything resolved: notified irrespective of send_resolved, so that the firing set the log
  // holds is cleared (the dispatcher skips the send itself when the integration drops resolved).
  if (firing.empty()) return !last->firing.empty();
  if (send_resolved && !subset(resolved, last->resolved)) return true;
  return last->at + repeat_interval < now;  // Alertmanager: Timestamp.Before(now - repeat)
}

void sort_alerts(std::vector<NotifiedAlert>& alerts) {
  std::sort(alerts.begin(), alerts.end(), [](const NotifiedAlert& a, const NotifiedAlert& b) {
    if (a.labels != b.labels) return a.labels < b.labels;
    return a.fingerprint < b.fingerprint;
  });
}

}  // namespace vigil::alerting::dispatch
