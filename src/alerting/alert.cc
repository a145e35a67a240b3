// Alerts, severities, fingerprints and silence matching.
#include "vigil/alerting/alert.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdio>

#include "core/detail/text.h"
#include "vigil/alerting/silence.h"
#include "vigil/core/error.h"

namespace vigil::alerting {

std::string_view to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
    case Severity::kCritical:
      return "critical";
  }
  return "warning";
}

std::optional<Severity> parse_severity(std::string_view text) noexcept {
  for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kError, Severity::kCritical}) {
    if (vigil::detail::iequals(text, to_string(s))) return s;
  }
  return std::nullopt;
}

std::string_view to_string(AlertState state) noexcept {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "inactive";
}

std::string_view to_string(MatchType type) noexcept {
  switch (type) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegexMatch:
      return "=~";
    case MatchType::kRegexNoMatch:
      return "!~";
  }
  return "=";
}

std::string_view to_string(SilenceState state) noexcept {
  switch (state) {
    case SilenceState::kPending:
      return "pending";
    case SilenceState::kActive:
      return "active";
    case SilenceState::kExpired:
      return "expired";
  }
  return "expired";
}

uint64_t label_fingerprint(const LabelList& labels) noexcept {
  // FNV-1a 64 (Prometheus common/model/fnv.go), 0xff separators (model.SeparatorByte).
  uint64_t h = 14695981039346656037ULL;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  auto add_byte = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (const auto& [name, value] : labels) {
    add(name);
    add_byte(0xff);
    add(value);
    add_byte(0xff);
  }
  return h;
}

std::string fingerprint_hex(uint64_t fingerprint) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fingerprint));
  return std::string(buf, 16);
}

std::string Alert::fingerprint_hex() const { return alerting::fingerprint_hex(fingerprint); }

std::string_view Alert::label(std::string_view key) const noexcept {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return {};
}

bool needs_sending(const Alert& alert, TimePoint ts,
                   std::chrono::milliseconds resend_delay) noexcept {
  if (alert.state == AlertState::kPending || alert.state == AlertState::kInactive) return false;
  if (alert.resolved_at > alert.last_sent_at) return true;  // resolved since the last send
  return alert.last_sent_at + resend_delay < ts;
}

bool silence_matches(const Silence& silence, const LabelList& labels) {
  for (const SilenceMatcher& m : silence.matchers) {
    std::string_view v;
    for (const auto& [k, val] : labels) {
      if (k == m.name) v = val;
    }
    bool ok = false;
    switch (m.type) {
      case MatchType::kEqual:
        ok = v == m.value;
        break;
      case MatchType::kNotEqual:
        ok = v != m.value;
        break;
      case MatchType::kRegexMatch:
      case MatchType::kRegexNoMatch: {
        RE2 re("^(?:" + m.value + ")$", RE2::Quiet);
        if (!re.ok()) throw Error("silence matcher " + m.name + ": bad regex: " + re.error());
        ok = RE2::FullMatch(v, re) == (m.type == MatchType::kRegexMatch);
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace vigil::alerting
