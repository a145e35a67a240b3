// The vigil_health_* metrics a HealthMonitor records in the registry it is given.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"
#include "vigil/health/monitor.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::health {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace testing;

std::string text(const metrics::Registry& r) {
  return metrics::serialize(r, metrics::Format::kPrometheusText);
}

TEST(HealthMetrics, StatusGaugesFollowTheReportedStatus) {
  metrics::Registry registry;
  Switch db, cache;
  HealthMonitor m({.self_metrics = &registry});
  m.add_check("db", db.fn(), {.groups = {"readiness", "liveness"}});
  m.add_check("cache", cache.fn(), {.critical = false});
  // Nothing is exported before a check has run.
  EXPECT_THAT(text(registry), Not(HasSubstr("vigil_health_check_status{")));

  m.readiness();
  std::string t = text(registry);
  EXPECT_THAT(t, HasSubstr("# TYPE vigil_health_check_status gauge"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_status{check=\"db\",group=\"readiness\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_status{check=\"db\",group=\"liveness\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"readiness\"} 1\n"));

  cache.set(Status::kFail, "down");
  m.readiness();
  t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_check_status{check=\"cache\",group=\"readiness\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"readiness\"} 0.5\n"));  // degraded

  db.set(Status::kWarn, "slow");
  m.readiness();
  t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_check_status{check=\"db\",group=\"readiness\"} 0.5\n"));

  db.set(Status::kFail, "down");
  m.readiness();
  t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_check_status{check=\"db\",group=\"liveness\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"readiness\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"liveness\"} 0\n"));
}

TEST(HealthMetrics, RunsAndDurations) {
  metrics::Registry registry;
  Switch s;
  Gate gate;
  HealthMonitor m({.self_metrics = &registry});
  m.add_check("db", s.fn());
  m.add_check("hung", [&] { return gate.wait(10s); }, {.timeout = 100ms});
  m.readiness();
  s.set(Status::kFail);
  m.readiness();  // "hung" is skipped: its first run has not returned
  const std::string t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_check_runs_total{check=\"db\",result=\"pass\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_runs_total{check=\"db\",result=\"fail\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_runs_total{check=\"hung\",result=\"timeout\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_runs_total{check=\"hung\",result=\"skipped\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("# TYPE vigil_health_check_duration_seconds histogram"));
  EXPECT_THAT(t, HasSubstr("vigil_health_check_duration_seconds_count{check=\"db\"} 2\n"));
  // The timed-out run counts as its timeout (0.1 s): in the 0.1 bucket, not below.
  EXPECT_THAT(
      t, HasSubstr("vigil_health_check_duration_seconds_bucket{check=\"hung\",le=\"0.05\"} 0\n"));
  EXPECT_THAT(
      t, HasSubstr("vigil_health_check_duration_seconds_bucket{check=\"hung\",le=\"0.1\"} 1\n"));
  gate.open();
}

TEST(HealthMetrics, StartupGatingShowsInTheReadinessGauge) {
  metrics::Registry registry;
  Switch models(Status::kFail, "loading");
  HealthMonitor m({.self_metrics = &registry});
  m.add_startup_check("models", models.fn());
  m.add_readiness_check("db", [] { return true; });
  m.readiness();
  std::string t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"readiness\"} 0\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"startup\"} 0\n"));
  models.set(Status::kPass);
  m.readiness();
  t = text(registry);
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"readiness\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"startup\"} 1\n"));
}

// A startup check refreshed in the background latches startup by itself: the readiness gauge
// turns 1 with no readiness() or startup() call (vigil-demo's NotReady alert fired without it).
TEST(HealthMetrics, BackgroundStartupCheckOpensTheReadinessGauge) {
  metrics::Registry registry;
  Switch models(Status::kFail, "loading");
  HealthMonitor m({.self_metrics = &registry});
  m.add_startup_check("models", models.fn(), {.interval = 10ms});
  m.add_readiness_check("db", [] { return true; }, {.interval = 10ms});
  const auto has = [&](const char* line) { return text(registry).find(line) != std::string::npos; };
  EXPECT_TRUE(eventually([&] { return has("vigil_health_status{group=\"startup\"} 0\n"); }));
  EXPECT_TRUE(has("vigil_health_status{group=\"readiness\"} 0\n"));
  models.set(Status::kPass);
  EXPECT_TRUE(eventually([&] { return has("vigil_health_status{group=\"readiness\"} 1\n"); }));
  EXPECT_TRUE(has("vigil_health_status{group=\"startup\"} 1\n"));
}

TEST(HealthMetrics, UnknownGroupsGetNoSeries) {
  metrics::Registry registry;
  HealthMonitor m({.self_metrics = &registry});
  m.add_check("db", [] { return true; }, {.groups = {"deps"}});
  m.evaluate("no_such_group");
  m.evaluate("deps");
  const std::string t = text(registry);
  EXPECT_THAT(t, Not(HasSubstr("no_such_group")));
  EXPECT_THAT(t, HasSubstr("vigil_health_status{group=\"deps\"} 1\n"));
}

TEST(HealthMetrics, BackgroundChecksUpdateGaugesWithoutRequests) {
  metrics::Registry registry;
  Switch s;
  HealthMonitor m({.self_metrics = &registry});
  m.add_check("bg", s.fn(), {.interval = 10ms});
  EXPECT_TRUE(eventually([&] {
    return text(registry).find("vigil_health_check_status{check=\"bg\",group=\"readiness\"} 1\n") !=
           std::string::npos;
  }));
  s.set(Status::kFail);
  EXPECT_TRUE(eventually([&] {
    return text(registry).find("vigil_health_check_status{check=\"bg\",group=\"readiness\"} 0\n") !=
           std::string::npos;
  }));
}

TEST(HealthMetrics, RemovedChecksAndShutdownRemoveSeries) {
  metrics::Registry registry;
  {
    HealthMonitor m({.self_metrics = &registry});
    m.add_check("a", [] { return true; });
    m.add_check("b", [] { return true; });
    m.readiness();
    EXPECT_TRUE(m.remove_check("a"));
    std::string t = text(registry);
    EXPECT_THAT(t, Not(HasSubstr("check=\"a\"")));
    EXPECT_THAT(t, HasSubstr("check=\"b\""));
  }
  EXPECT_THAT(text(registry), Not(HasSubstr("check=\"b\"")));
  // A second monitor on the same registry registers the same families again (get-or-create).
  HealthMonitor again({.self_metrics = &registry});
  again.add_check("b", [] { return true; });
  again.readiness();
  EXPECT_THAT(text(registry), HasSubstr("vigil_health_check_status{check=\"b\""));
}

}  // namespace
}  // namespace vigil::health
