// vigil/alerting/alert.h: an alert, its severity and state, and its identity.
//
// One alert exists per result series of a rule; its identity is its label set (the rule's name
// as `alertname`, the rule's labels, the series' labels, and `severity`). The identity has two
// forms: a 64-bit fingerprint computed as Prometheus and Alertmanager compute it (FNV-1a over the
// sorted labels), printed as 16 hex digits, and the guides' readable id
// (`high_error_rate_service=api_env=production`).
//
//   for (const vigil::alerting::Alert& a : manager.active_alerts(Severity::kCritical))
//     std::cout << a.id << " " << to_string(a.state) << " since " << a.active_at << "\n";
//
// States follow Prometheus (rules/alerting.go): pending (condition true, `for` not yet elapsed),
// firing, and resolved (a firing alert whose condition went away; kept for resending and in
// history). Alerts are plain values: copies taken from the manager, safe to keep anywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/alerting/rule_file.h"  // LabelList

namespace vigil::alerting {

using TimePoint = std::chrono::system_clock::time_point;

enum class Severity : uint8_t { kInfo, kWarning, kError, kCritical };

// "info", "warning", "error", "critical": the value of the `severity` label.
std::string_view to_string(Severity severity) noexcept;
// Parses a severity label value (case-insensitive); nullopt when unknown.
std::optional<Severity> parse_severity(std::string_view text) noexcept;

enum class AlertState : uint8_t {
  kInactive,  // no alert (a rule with no active alert; a pending alert that was dropped)
  kPending,   // condition true, `for` not yet elapsed
  kFiring,    // condition true for at least `for` (or kept firing by keep_firing_for)
  kResolved,  // was firing, condition went away: kept for resending and in history
};

// "inactive", "pending", "firing", "resolved".
std::string_view to_string(AlertState state) noexcept;

struct Alert {
  std::string name;       // the rule's name: the `alertname` label
  std::string group;      // the rule's group
  LabelList labels;       // sorted by name; includes alertname (and severity when set)
  LabelList annotations;  // expanded templates, in the rule's order
  Severity severity = Severity::kWarning;  // from the `severity` label (kWarning when absent)
  AlertState state = AlertState::kInactive;
  double value = 0;       // the condition's value at the last evaluation (1 for a bool rule)
  double peak_value = 0;  // the largest value seen since active_at

  TimePoint active_at;          // pending since (Prometheus' ActiveAt)
  TimePoint fired_at;           // firing since; zero while pending
  TimePoint resolved_at;        // zero until resolved
  TimePoint last_sent_at;       // last time the alert was handed to notifiers; zero if never
  TimePoint keep_firing_since;  // condition false but kept firing by keep_firing_for since
  TimePoint valid_until;        // Prometheus' ValidUntil: ends_at for a firing alert sent

  uint64_t fingerprint = 0;  // hash of `labels` (Alertmanager's fingerprint)
  std::string id;            // readable identity: name_k=v_k=v

  bool silenced = false;                 // suppressed by at least one active silence
  std::vector<std::string> silenced_by;  // ids of the silences that match

  // The fingerprint as Alertmanager prints it: 16 lowercase hex digits.
  std::string fingerprint_hex() const;
  // The label's value, or "" when absent.
  std::string_view label(std::string_view name) const noexcept;
  // When a notification should say the alert ends: resolved_at if resolved, else valid_until.
  TimePoint ends_at() const noexcept {
    return resolved_at != TimePoint{} ? resolved_at : valid_until;
  }
};

// Prometheus' needsSending (rules/alerting.go): a pending alert never; one resolved since it was
// last sent; otherwise when last_sent_at + resend_delay is before `ts`.
bool needs_sending(const Alert& alert, TimePoint ts,
                   std::chrono::milliseconds resend_delay) noexcept;

// Prometheus' / Alertmanager's label-set fingerprint: FNV-1a 64 over name, 0xff, value, 0xff for
// each label in name order. `labels` must be sorted by name.
uint64_t label_fingerprint(const LabelList& labels) noexcept;
// 16 lowercase hex digits.
std::string fingerprint_hex(uint64_t fingerprint);

}  // namespace vigil::alerting
