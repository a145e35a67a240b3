// Hysteresis: what a check reports from its consecutive results (monitor_internal.h).
#include <string>

#include "monitor_internal.h"

namespace vigil::health::detail {

HysteresisStep next_hysteresis(const HysteresisState& state, bool first, const CheckResult& r,
                               int failure_threshold, int success_threshold) {
  HysteresisStep step;
  HysteresisState& s = step.state;
  s = state;
  const bool bad = r.status == Status::kFail;
  if (bad) {
    ++s.consecutive_failures;
    s.consecutive_successes = 0;
  } else {
    ++s.consecutive_successes;
    s.consecutive_failures = 0;
  }
  if (first) {
    s.failing = bad;  // the first result is reported as it is
  } else if (!s.failing && bad && s.consecutive_failures >= failure_threshold) {
    s.failing = true;
  } else if (s.failing && !bad && s.consecutive_successes >= success_threshold) {
    s.failing = false;
  }
  if (bad == s.failing) {
    step.reported = r.status;
    step.reported_output = r.output;
  } else if (bad) {
    step.reported = Status::kWarn;
    step.reported_output = "failing (" + std::to_string(s.consecutive_failures) + " of " +
                           std::to_string(failure_threshold) +
                           " consecutive failures before reporting fail): " + r.output;
  } else {
    step.reported = Status::kFail;
    step.reported_output = "recovering (" + std::to_string(s.consecutive_successes) + " of " +
                           std::to_string(success_threshold) +
                           " consecutive successes before reporting pass)";
    if (!r.output.empty()) step.reported_output += ": " + r.output;
  }
  return step;
}

}  // namespace vigil::health::detail
