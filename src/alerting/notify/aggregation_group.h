// src/alerting/notify/aggregation_group.h (internal): an aggregation group (one route x one set
// of group label values) and the dedup decision of Alertmanager's notify.go (DedupStage,
// needsUpdate) against what the notification log says was delivered.
//
//   AggregationGroup g{.route = m, .receiver = 0, .key = key, .labels = labels};
//   g.alerts[fp] = alert;
//   if (needs_update(last, firing, resolved, send_resolved, now, m.repeat_interval)) send(...);
//
// Thread-safety: plain values; the dispatcher serialises access.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/alerting/notifier.h"
#include "vigil/alerting/routing.h"

namespace vigil::alerting::dispatch {

struct AggregationGroup {
  const RouteMatch* route = nullptr;         // the route's options (group_wait, intervals)
  size_t receiver = 0;                       // index into the dispatcher's receivers
  std::string key;                           // the group key
  LabelList labels;                          // group labels
  std::map<uint64_t, NotifiedAlert> alerts;  // by fingerprint
  TimePoint next_flush;
  bool flushed = false;  // at least one flush happened (then every group_interval)
};

// The last delivered sets of one (receiver, integration, group).
struct DeliveredSets {
  std::vector<uint64_t> firing;    // sorted
  std::vector<uint64_t> resolved;  // sorted
  TimePoint at;
};

// notify.go's needsUpdate: nothing delivered yet -> whether anything fires; the firing set is not
// a subset of the last delivered firing set; everything resolved while something was delivered
// firing; (send_resolved) a resolved alert not delivered as resolved; or repeat_interval passed
// since the last delivery. `firing` and `resolved` sorted.
bool needs_update(const std::optional<DeliveredSets>& last, const std::vector<uint64_t>& firing,
                  const std::vector<uint64_t>& resolved, bool send_resolved, TimePoint now,
                  std::chrono::milliseconds repeat_interval);

// The alerts sorted by labels (then fingerprint), as notifications carry them.
void sort_alerts(std::vector<NotifiedAlert>& alerts);

}  // namespace vigil::alerting::dispatch
