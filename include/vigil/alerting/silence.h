// vigil/alerting/silence.h: silences in Alertmanager's model.
//
// A silence mutes the alerts whose labels match all of its matchers between starts_at and
// ends_at. A silenced alert is still evaluated and listed (suppressed, with the silence ids in
// Alert::silenced_by); it is not handed to notification callbacks.
//
//   vigil::alerting::Silence s;
//   s.matchers = {{"alertname", MatchType::kEqual, "HighErrorRate"},
//                 {"env", MatchType::kRegexMatch, "prod|staging"}};
//   s.ends_at = now + std::chrono::hours(2);
//   s.created_by = "oncall";
//   s.comment = "deploying the fix";
//   std::string id = manager.add_silence(s);
//
// Regex matchers use RE2 (the syntax Alertmanager uses), anchored at both ends as Alertmanager
// does. Plain values, safe to copy anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/alerting/alert.h"

namespace vigil::alerting {

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };  // = != =~ !~

// "=", "!=", "=~", "!~".
std::string_view to_string(MatchType type) noexcept;

struct SilenceMatcher {
  std::string name;
  MatchType type = MatchType::kEqual;
  std::string value;
};

enum class SilenceState : uint8_t { kPending, kActive, kExpired };
// "pending", "active", "expired" (Alertmanager's silence states).
std::string_view to_string(SilenceState state) noexcept;

struct Silence {
  std::string id;  // set by add_silence (a random UUID) unless given
  std::vector<SilenceMatcher> matchers;
  TimePoint starts_at;  // zero: now
  TimePoint ends_at;
  std::string created_by;
  std::string comment;
  TimePoint updated_at;  // set by the manager

  SilenceState state(TimePoint now) const noexcept {
    if (now >= ends_at) return SilenceState::kExpired;
    if (now < starts_at) return SilenceState::kPending;
    return SilenceState::kActive;
  }
};

// True when every matcher matches `labels` (an absent label matches as ""), as Alertmanager
// decides. Throws vigil::Error on an invalid regex. Cost: compiles regexes each call; the
// manager keeps compiled matchers instead.
bool silence_matches(const Silence& silence, const LabelList& labels);

}  // namespace vigil::alerting
