// next_hysteresis (src/health/hysteresis.cc), the pure function behind failure_threshold and
// success_threshold: each step from a given state, with the texts it reports.
#include <gtest/gtest.h>

#include "health/monitor_internal.h"

namespace vigil::health::detail {
namespace {

const CheckResult kPass = CheckResult::pass("ok");
const CheckResult kFail = CheckResult::fail("down");

TEST(NextHysteresis, TheFirstResultIsReportedAsItIs) {
  const HysteresisStep f = next_hysteresis({}, true, kFail, 3, 2);
  EXPECT_TRUE(f.state.failing);
  EXPECT_EQ(f.state.consecutive_failures, 1);
  EXPECT_EQ(f.state.consecutive_successes, 0);
  EXPECT_EQ(f.reported, Status::kFail);
  EXPECT_EQ(f.reported_output, "down");

  const HysteresisStep p = next_hysteresis({}, true, kPass, 3, 2);
  EXPECT_FALSE(p.state.failing);
  EXPECT_EQ(p.state.consecutive_successes, 1);
  EXPECT_EQ(p.reported, Status::kPass);
  EXPECT_EQ(p.reported_output, "ok");
}

TEST(NextHysteresis, FailuresBelowTheThresholdWarn) {
  HysteresisState s{.failing = false, .consecutive_failures = 0, .consecutive_successes = 4};
  HysteresisStep h = next_hysteresis(s, false, kFail, 3, 2);
  EXPECT_FALSE(h.state.failing);
  EXPECT_EQ(h.state.consecutive_failures, 1);
  EXPECT_EQ(h.state.consecutive_successes, 0);
  EXPECT_EQ(h.reported, Status::kWarn);
  EXPECT_EQ(h.reported_output, "failing (1 of 3 consecutive failures before reporting fail): down");
  h = next_hysteresis(h.state, false, kFail, 3, 2);
  EXPECT_EQ(h.reported, Status::kWarn);
  EXPECT_EQ(h.reported_output, "failing (2 of 3 consecutive failures before reporting fail): down");
  h = next_hysteresis(h.state, false, kFail, 3, 2);  // the third: fail
  EXPECT_TRUE(h.state.failing);
  EXPECT_EQ(h.reported, Status::kFail);
  EXPECT_EQ(h.reported_output, "down");
}

TEST(NextHysteresis, APassResetsTheFailureCount) {
  HysteresisState s{.failing = false, .consecutive_failures = 2, .consecutive_successes = 0};
  const HysteresisStep h = next_hysteresis(s, false, kPass, 3, 2);
  EXPECT_FALSE(h.state.failing);
  EXPECT_EQ(h.state.consecutive_failures, 0);
  EXPECT_EQ(h.state.consecutive_successes, 1);
  EXPECT_EQ(h.reported, Status::kPass);
}

TEST(NextHysteresis, RecoveryNeedsTheSuccessThreshold) {
  HysteresisState s{.failing = true, .consecutive_failures = 5, .consecutive_successes = 0};
  HysteresisStep h = next_hysteresis(s, false, kPass, 3, 2);
  EXPECT_TRUE(h.state.failing);
  EXPECT_EQ(h.reported, Status::kFail);
  EXPECT_EQ(h.reported_output,
            "recovering (1 of 2 consecutive successes before reporting pass): ok");
  h = next_hysteresis(h.state, false, CheckResult::pass(), 3, 2);
  EXPECT_FALSE(h.state.failing);
  EXPECT_EQ(h.reported, Status::kPass);
  // Without an output the recovering text has no ": ..." tail.
  s = {.failing = true, .consecutive_failures = 1, .consecutive_successes = 0};
  h = next_hysteresis(s, false, CheckResult::pass(), 3, 2);
  EXPECT_EQ(h.reported_output, "recovering (1 of 2 consecutive successes before reporting pass)");
}

TEST(NextHysteresis, AWarnCountsAsASuccessAndIsReportedAsWarn) {
  const HysteresisState s{.failing = false, .consecutive_failures = 1, .consecutive_successes = 0};
  const HysteresisStep h = next_hysteresis(s, false, CheckResult::warn("slow"), 3, 2);
  EXPECT_EQ(h.state.consecutive_successes, 1);
  EXPECT_EQ(h.state.consecutive_failures, 0);
  EXPECT_EQ(h.reported, Status::kWarn);
  EXPECT_EQ(h.reported_output, "slow");
}

TEST(NextHysteresis, ThresholdOneFollowsEveryResult) {
  HysteresisStep h = next_hysteresis({}, false, kFail, 1, 1);
  EXPECT_TRUE(h.state.failing);
  EXPECT_EQ(h.reported, Status::kFail);
  h = next_hysteresis(h.state, false, kPass, 1, 1);
  EXPECT_FALSE(h.state.failing);
  EXPECT_EQ(h.reported, Status::kPass);
}

}  // namespace
}  // namespace vigil::health::detail
