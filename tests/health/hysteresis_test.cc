// Hysteresis (failure and success thresholds) and startup gating.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"
#include "vigil/health/monitor.h"

namespace vigil::health {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace testing;

TEST(HealthHysteresis, ThresholdOneReportsEveryRun) {
  Switch s;
  HealthMonitor m;
  m.add_check("db", s.fn());
  EXPECT_EQ(m.readiness().status, Status::kPass);
  s.set(Status::kFail, "down");
  EXPECT_EQ(m.readiness().status, Status::kFail);
  s.set(Status::kPass);
  EXPECT_EQ(m.readiness().status, Status::kPass);
}

TEST(HealthHysteresis, FailureThresholdToleratesShortFailures) {
  Switch s;
  HealthMonitor m;
  m.add_check("db", s.fn(), {.failure_threshold = 3});
  EXPECT_EQ(m.readiness().status, Status::kPass);

  s.set(Status::kFail, "slow answer");
  HealthReport r = m.readiness();  // 1 of 3: reported as warn, still HTTP 200
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_EQ(r.checks[0].status, Status::kWarn);
  EXPECT_EQ(r.checks[0].output,
            "failing (1 of 3 consecutive failures before reporting fail): slow answer");
  EXPECT_EQ(r.checks[0].consecutive_failures, 1);
  EXPECT_EQ(m.readiness().status, Status::kWarn);  // 2 of 3

  s.set(Status::kPass);  // a success resets the count
  EXPECT_EQ(m.readiness().status, Status::kPass);
  s.set(Status::kFail, "down");
  EXPECT_EQ(m.readiness().status, Status::kWarn);
  EXPECT_EQ(m.readiness().status, Status::kWarn);
  r = m.readiness();  // 3 in a row
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.checks[0].output, "down");
}

TEST(HealthHysteresis, SuccessThresholdDelaysRecovery) {
  Switch s(Status::kFail, "down");
  HealthMonitor m;
  m.add_check("db", s.fn(), {.success_threshold = 2});
  EXPECT_EQ(m.readiness().status, Status::kFail);  // the first run is reported as it is
  s.set(Status::kPass, "ok");
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.checks[0].output,
            "recovering (1 of 2 consecutive successes before reporting pass): ok");
  EXPECT_EQ(m.readiness().status, Status::kPass);
}

TEST(HealthHysteresis, FirstRunIsReportedAsItIs) {
  Switch s(Status::kFail, "not yet");
  HealthMonitor m;
  m.add_check("db", s.fn(), {.failure_threshold = 5});
  EXPECT_EQ(m.readiness().status, Status::kFail);
}

TEST(HealthHysteresis, WarnCountsAsSuccess) {
  Switch s(Status::kFail, "down");
  HealthMonitor m;
  m.add_check("db", s.fn(), {.success_threshold = 2});
  m.readiness();
  s.set(Status::kWarn, "slow");
  EXPECT_EQ(m.readiness().status, Status::kFail);
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_EQ(r.checks[0].output, "slow");
}

TEST(HealthHysteresis, TimeoutsCountAsFailures) {
  Gate gate;
  std::atomic<bool> hang{false};
  HealthMonitor m;
  m.add_check("flaky", [&] { return hang ? gate.wait(10s) : true; },
              {.timeout = 100ms, .failure_threshold = 2, .max_concurrent_runs = 4});
  EXPECT_EQ(m.readiness().status, Status::kPass);
  hang = true;
  EXPECT_EQ(m.readiness().status, Status::kWarn);  // one timeout tolerated
  EXPECT_EQ(m.readiness().status, Status::kFail);
  gate.open();
}

TEST(HealthStartup, ReadinessFailsUntilStartupPasses) {
  Switch models(Status::kFail, "loading 40%");
  Switch db;
  HealthMonitor m;
  m.add_startup_check("models", models.fn());
  m.add_readiness_check("db", db.fn());

  EXPECT_FALSE(m.started());
  HealthReport r = m.readiness();  // runs the startup checks itself
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_THAT(r.output, StartsWith("startup not complete after "));
  EXPECT_THAT(r.output, HasSubstr("models: loading 40%"));
  ASSERT_EQ(r.checks.size(), 1u);  // only the readiness checks are listed
  EXPECT_EQ(r.checks[0].status, Status::kPass);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(models.calls(), 1);

  EXPECT_EQ(m.startup().status, Status::kFail);
  EXPECT_EQ(m.evaluate_all().status, Status::kFail);
  EXPECT_EQ(m.liveness().status, Status::kPass);  // liveness does not wait for startup

  models.set(Status::kPass);
  r = m.readiness();
  EXPECT_EQ(r.status, Status::kPass);
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(m.started());
}

TEST(HealthStartup, StartupLatchesOnceItPassed) {
  Switch models;
  HealthMonitor m;
  m.add_startup_check("models", models.fn());
  EXPECT_EQ(m.startup().status, Status::kPass);
  const int calls = models.calls();
  models.set(Status::kFail, "unloaded later");
  HealthReport r = m.startup();  // not run again, still pass
  EXPECT_EQ(r.status, Status::kPass);
  EXPECT_TRUE(r.checks[0].cached);
  EXPECT_THAT(r.description, HasSubstr("complete after"));
  EXPECT_EQ(m.readiness().status, Status::kPass);
  EXPECT_EQ(m.evaluate_all().status, Status::kPass);  // startup-only checks are read, not run
  EXPECT_EQ(models.calls(), calls);
}

TEST(HealthStartup, StartupTimeoutGivesAClearFailure) {
  Switch warmup(Status::kFail, "cache 10% warm");
  HealthMonitor m({.startup_timeout = 200ms});
  m.add_startup_check("warmup", warmup.fn());
  Switch alive;
  m.add_liveness_check("alive", alive.fn());

  HealthReport r = m.startup();
  EXPECT_THAT(r.output, StartsWith("startup not complete after"));
  EXPECT_EQ(m.liveness().status, Status::kPass);

  std::this_thread::sleep_for(250ms);
  r = m.startup();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.output, "startup did not complete within 200 ms: warmup: cache 10% warm");
  r = m.liveness();  // startup_timeout_fails_liveness (default)
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_THAT(r.output, StartsWith("startup did not complete within 200 ms"));
  EXPECT_EQ(r.checks[0].status, Status::kPass);

  warmup.set(Status::kPass);  // a late start still completes
  EXPECT_EQ(m.startup().status, Status::kPass);
  EXPECT_EQ(m.liveness().status, Status::kPass);
}

TEST(HealthStartup, StartupTimeoutCanLeaveLivenessAlone) {
  HealthMonitor m({.startup_timeout = 50ms, .startup_timeout_fails_liveness = false});
  m.add_startup_check("never", [] { return false; });
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(m.startup().status, Status::kFail);
  EXPECT_EQ(m.liveness().status, Status::kPass);
}

TEST(HealthStartup, NonCriticalStartupCheckDoesNotBlockStartup) {
  HealthMonitor m;
  m.add_check("optional_warmup", [] { return false; }, {.groups = {"startup"}, .critical = false});
  HealthReport r = m.startup();
  EXPECT_EQ(r.status, Status::kPass);  // warn would be reported while starting; passed now
  EXPECT_TRUE(m.started());
}

}  // namespace
}  // namespace vigil::health
