// Guide 002's health details: a check that returns false may report degraded (warn) instead of
// failing (CheckOptions::on_false), a timeout or an exception still fails, and the last results
// of every check are readable without running the checks (HealthMonitor::last_results).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.h"
#include "vigil/core/error.h"
#include "vigil/health/monitor.h"

namespace vigil::health {
namespace {

using ::testing::HasSubstr;
using namespace testing;

// Guide 002's HealthMonitor, translated: `True` is healthy, `False` degraded, a timeout or an
// exception unhealthy; the overall status is the worst.
TEST(HealthDegraded, Guide002FalseIsDegradedTimeoutAndExceptionFail) {
  std::atomic<bool> memory_ok{true};
  Gate gate;
  HealthMonitor m;
  const CheckOptions degraded{.on_false = Status::kWarn};
  m.add_check(
      "memory", [&] { return memory_ok.load(); }, degraded);
  m.add_check(
      "causal_engine", [] { return true; }, degraded);

  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kPass);
  EXPECT_EQ(overall_name(r.status), "healthy");

  memory_ok = false;
  r = m.readiness();
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_EQ(overall_name(r.status), "degraded");
  EXPECT_EQ(http_status(r.status), 200);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].status, Status::kWarn);
  EXPECT_EQ(r.checks[0].output, "check returned false");

  // An exception is a failure even with on_false = kWarn.
  m.add_check(
      "dependencies", []() -> bool { throw std::runtime_error("redis down"); }, degraded);
  r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(overall_name(r.status), "unhealthy");
  EXPECT_THAT(r.checks[2].output, HasSubstr("redis down"));

  // A timeout too.
  HealthMonitor t;
  t.add_check("slow", [&] { return gate.wait(5s); },
              {.timeout = std::chrono::milliseconds(50), .on_false = Status::kWarn});
  r = t.readiness();
  gate.open();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_THAT(r.checks[0].output, HasSubstr("timed out"));
}

TEST(HealthDegraded, DefaultFalseStillFails) {
  HealthMonitor m;
  m.add_check("db", [] { return false; });
  const HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.checks[0].output, "check returned false");
}

TEST(HealthDegraded, AsyncBoolFalseIsDegraded) {
  HealthMonitor m;
  m.add_check("async", [] { return std::async(std::launch::deferred, [] { return false; }); },
              {.on_false = Status::kWarn});
  EXPECT_EQ(m.readiness().status, Status::kWarn);
}

TEST(HealthDegraded, CheckResultIsReportedAsReturned) {
  // on_false only concerns bool checks: a CheckResult fail stays a fail.
  HealthMonitor m;
  m.add_check("r", [] { return CheckResult::fail("down"); }, {.on_false = Status::kWarn});
  EXPECT_EQ(m.readiness().status, Status::kFail);
}

TEST(HealthDegraded, OnFalsePassIsRefused) {
  HealthMonitor m;
  try {
    m.add_check("x", [] { return true; }, {.on_false = Status::kPass});
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"x\""));
    EXPECT_THAT(e.what(), HasSubstr("on_false"));
  }
  EXPECT_TRUE(m.check_names().empty());  // nothing registered
}

TEST(HealthLastResults, ReadsWithoutRunning) {
  Switch a(Status::kPass), b(Status::kWarn, "slow: 250 ms");
  HealthMonitor m;
  m.add_check("a", a.fn());
  m.add_check("b", b.fn(), {.groups = {"dependencies"}});

  // Before any run: every check is listed, "no result yet".
  std::vector<CheckReport> last = m.last_results();
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].name, "a");
  EXPECT_EQ(last[0].status, Status::kFail);
  EXPECT_EQ(last[0].output, "no result yet");
  EXPECT_EQ(last[0].time, 0);
  EXPECT_EQ(a.calls(), 0);

  m.evaluate_all();
  EXPECT_EQ(a.calls(), 1);
  EXPECT_EQ(b.calls(), 1);
  last = m.last_results();
  EXPECT_EQ(a.calls(), 1);  // reading did not run the checks
  EXPECT_EQ(b.calls(), 1);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].status, Status::kPass);
  EXPECT_GT(last[0].time, 0);
  EXPECT_TRUE(last[0].cached);
  EXPECT_EQ(last[1].name, "b");
  EXPECT_EQ(last[1].status, Status::kWarn);
  EXPECT_EQ(last[1].output, "slow: 250 ms");
  EXPECT_EQ(last[1].groups, std::vector<std::string>{"dependencies"});

  // Only the readiness group runs: b keeps its earlier result.
  a.set(Status::kFail, "down");
  b.set(Status::kPass);
  m.readiness();
  last = m.last_results();
  EXPECT_EQ(last[0].status, Status::kFail);
  EXPECT_EQ(last[0].output, "down");
  EXPECT_EQ(last[1].status, Status::kWarn);

  m.remove_check("a");
  EXPECT_EQ(m.last_results().size(), 1u);
}

}  // namespace
}  // namespace vigil::health
