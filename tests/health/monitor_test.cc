// HealthMonitor: aggregation, groups, check function shapes, caching, background refresh,
// configuration errors.
#include "vigil/health/monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_util.h"
#include "vigil/core/error.h"

namespace vigil::health {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace testing;

const CheckReport* find(const HealthReport& r, std::string_view name) {
  for (const CheckReport& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(HealthMonitor, EmptyGroupsPass) {
  HealthMonitor m;
  EXPECT_EQ(m.liveness().status, Status::kPass);
  EXPECT_EQ(m.readiness().status, Status::kPass);
  EXPECT_EQ(m.startup().status, Status::kPass);
  EXPECT_EQ(m.evaluate_all().status, Status::kPass);
  EXPECT_EQ(m.evaluate("nothing_here").status, Status::kPass);
  EXPECT_TRUE(m.started());
}

TEST(HealthMonitor, AggregatesWorstStatus) {
  Switch a, b;
  HealthMonitor m({.service_id = "svc", .version = "1.2.3"});
  m.add_readiness_check("a", a.fn());
  m.add_readiness_check("b", b.fn());
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kPass);
  EXPECT_EQ(r.group, "readiness");
  EXPECT_EQ(r.service_id, "svc");
  EXPECT_EQ(r.version, "1.2.3");
  EXPECT_EQ(r.description, "readiness of svc");
  EXPECT_THAT(r.output, IsEmpty());
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].name, "a");  // registration order
  EXPECT_EQ(r.checks[1].name, "b");

  b.set(Status::kWarn, "slow: 250 ms");
  r = m.readiness();
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_EQ(r.output, "b: slow: 250 ms");

  a.set(Status::kFail, "connection refused");
  r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.output, "a: connection refused");  // the failures, not the warnings
  EXPECT_EQ(find(r, "a")->status, Status::kFail);
  EXPECT_EQ(find(r, "b")->status, Status::kWarn);
  EXPECT_GE(r.uptime_seconds, 0);
  EXPECT_GT(r.time, 1.6e9);
}

TEST(HealthMonitor, NonCriticalFailureDegrades) {
  Switch cache(Status::kFail, "cache down");
  Switch db;
  HealthMonitor m;
  m.add_check("cache", cache.fn(), {.critical = false});
  m.add_check("db", db.fn());
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kWarn);
  EXPECT_EQ(overall_name(r.status), "degraded");
  EXPECT_EQ(find(r, "cache")->status, Status::kFail);  // the check itself says fail
  EXPECT_FALSE(find(r, "cache")->critical);
  EXPECT_THAT(r.output, HasSubstr("cache down"));
}

TEST(HealthMonitor, CheckInSeveralGroupsRunsOncePerEvaluation) {
  Switch s;
  HealthMonitor m;
  m.add_check("shared", s.fn(), {.groups = {"liveness", "readiness", "deps"}});
  m.add_check("other", [] { return true; }, {.groups = {"deps2"}});
  EXPECT_EQ(m.liveness().checks.size(), 1u);
  EXPECT_EQ(m.readiness().checks.size(), 1u);
  EXPECT_EQ(m.evaluate("deps").checks.size(), 1u);
  EXPECT_EQ(s.calls(), 3);
  EXPECT_THAT(m.groups(), ElementsAre("deps", "deps2", "liveness", "readiness", "startup"));
  EXPECT_TRUE(m.has_group("deps"));
  EXPECT_TRUE(m.has_group("startup"));
  EXPECT_FALSE(m.has_group("nope"));
  EXPECT_THAT(m.evaluate("deps").checks[0].groups, ElementsAre("liveness", "readiness", "deps"));
  m.remove_check("other");
}

TEST(HealthMonitor, AcceptsEveryFunctionShape) {
  HealthMonitor m;
  m.add_check("result", [] { return CheckResult::pass("fine").observe(12.5, "ms"); });
  m.add_check("bool_true", [] { return true; });
  m.add_check("bool_false", [] { return false; }, {.critical = false});
  m.add_check("token", [](std::stop_token st) { return !st.stop_requested(); });
  m.add_check("future", [] {
    std::promise<CheckResult> p;
    p.set_value(CheckResult::warn("async warn"));
    return p.get_future();
  });
  m.add_check("future_bool", [] { return std::async(std::launch::async, [] { return true; }); });
  m.add_check("deferred", [] { return std::async(std::launch::deferred, [] { return true; }); });
  auto owned = std::make_unique<int>(7);  // move-only callables work
  m.add_check("move_only", [p = std::move(owned)] { return *p == 7; });
  std::function<bool()> fn = [] { return true; };
  m.add_check("std_function", fn);

  HealthReport r = m.readiness();
  EXPECT_EQ(find(r, "result")->status, Status::kPass);
  EXPECT_EQ(find(r, "result")->output, "fine");
  EXPECT_EQ(find(r, "result")->observed_value, 12.5);
  EXPECT_EQ(find(r, "result")->observed_unit, "ms");
  EXPECT_EQ(find(r, "bool_true")->status, Status::kPass);
  EXPECT_EQ(find(r, "bool_false")->status, Status::kFail);
  EXPECT_EQ(find(r, "bool_false")->output, "check returned false");
  EXPECT_EQ(find(r, "token")->status, Status::kPass);
  EXPECT_EQ(find(r, "future")->status, Status::kWarn);
  EXPECT_EQ(find(r, "future")->output, "async warn");
  EXPECT_EQ(find(r, "future_bool")->status, Status::kPass);
  EXPECT_EQ(find(r, "deferred")->status, Status::kPass);
  EXPECT_EQ(find(r, "move_only")->status, Status::kPass);
  EXPECT_EQ(find(r, "std_function")->status, Status::kPass);
  EXPECT_EQ(r.status, Status::kWarn);
}

TEST(HealthMonitor, ExceptionsBecomeFailures) {
  HealthMonitor m;
  m.add_check("throws", []() -> bool { throw std::runtime_error("db exploded"); });
  m.add_check("throws_int", []() -> bool { throw 42; });
  m.add_check("async_throws", [] {
    std::promise<bool> p;
    p.set_exception(std::make_exception_ptr(std::runtime_error("async exploded")));
    return p.get_future();
  });
  m.add_check("empty_future", [] { return std::future<bool>(); });
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(find(r, "throws")->output, "check threw: db exploded");
  EXPECT_THAT(find(r, "throws_int")->output, HasSubstr("not a std::exception"));
  EXPECT_EQ(find(r, "async_throws")->output, "check threw: async exploded");
  EXPECT_THAT(find(r, "empty_future")->output, HasSubstr("empty std::future"));
  EXPECT_EQ(m.stats().exceptions, 2u);
}

TEST(HealthMonitor, MeasuresDuration) {
  HealthMonitor m;
  m.add_check("slow", [] {
    std::this_thread::sleep_for(50ms);
    return true;
  });
  HealthReport r = m.readiness();
  EXPECT_GE(r.checks[0].duration_seconds, 0.045);
  EXPECT_LT(r.checks[0].duration_seconds, 2.0);
  EXPECT_GE(r.duration_seconds, 0.045);
}

TEST(HealthMonitor, ChecksRunInParallel) {
  HealthMonitor m;
  for (int i = 0; i < 4; ++i) {
    m.add_check("sleep" + std::to_string(i), [] {
      std::this_thread::sleep_for(200ms);
      return true;
    });
  }
  Stopwatch sw;
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kPass);
  EXPECT_LT(sw.ms(), 4 * 200 - 100);  // not one after the other
  EXPECT_GE(m.stats().peak_threads, 2u);
}

TEST(HealthMonitor, CacheTtlReusesResults) {
  Switch s;
  HealthMonitor m;
  m.add_check("cached", s.fn(), {.cache_ttl = 10s});
  m.readiness();
  HealthReport r = m.readiness();
  EXPECT_EQ(s.calls(), 1);
  EXPECT_TRUE(r.checks[0].cached);

  Switch t;
  m.add_check("short", t.fn(), {.groups = {"g"}, .cache_ttl = 30ms});
  m.evaluate("g");
  std::this_thread::sleep_for(60ms);
  m.evaluate("g");
  EXPECT_EQ(t.calls(), 2);
}

TEST(HealthMonitor, BackgroundIntervalRefreshes) {
  Switch s;
  HealthMonitor m;
  m.add_check("bg", s.fn(), {.interval = 20ms});
  ASSERT_TRUE(eventually([&] { return s.calls() >= 3; }));
  // Evaluations read the latest result and never run the check themselves.
  s.set(Status::kFail, "down");
  ASSERT_TRUE(eventually([&] { return m.readiness().status == Status::kFail; }));
  HealthReport r = m.readiness();
  EXPECT_TRUE(r.checks[0].cached);
  EXPECT_EQ(r.checks[0].output, "down");
  s.set(Status::kPass);
  EXPECT_TRUE(eventually([&] { return m.readiness().status == Status::kPass; }));
}

TEST(HealthMonitor, FirstEvaluationOfABackgroundCheckWaitsForItsFirstRun) {
  HealthMonitor m;
  m.add_check("bg",
              [] {
                std::this_thread::sleep_for(50ms);
                return CheckResult::warn("first");
              },
              {.interval = 1h});
  HealthReport r = m.readiness();
  EXPECT_EQ(r.checks[0].status, Status::kWarn);
  EXPECT_EQ(r.checks[0].output, "first");
}

// Four evaluations that overlap one run of a check share it: the check runs exactly once.
// Deterministic: the shared check is held on a gate until every evaluation has joined its run.
// Each thread evaluates its own group, made of the shared check and a marker check of its own;
// an evaluation starts (or joins) the runs of its group's checks under the monitor's lock
// before it waits, and a run's function starts only once that lock is free, so a marker having
// run proves its thread already waits on the shared run.
TEST(HealthMonitor, ConcurrentEvaluationsShareOneRun) {
  constexpr int kThreads = 4;
  std::atomic<int> calls{0};
  Gate gate;
  std::array<std::atomic<int>, kThreads> joined{};
  HealthMonitor m;
  std::vector<std::string> groups;
  for (int i = 0; i < kThreads; ++i) groups.push_back("g" + std::to_string(i));
  m.add_check("slow",
              [&] {
                calls.fetch_add(1);
                return gate.wait();
              },
              {.groups = groups, .timeout = 60s});  // not the point here: never on a slow machine
  for (int i = 0; i < kThreads; ++i) {
    m.add_check("joined" + std::to_string(i),
                [&joined, i] {
                  joined[static_cast<std::size_t>(i)].fetch_add(1);
                  return true;
                },
                {.groups = {groups[static_cast<std::size_t>(i)]}});
  }
  std::array<HealthReport, kThreads> reports;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      reports[static_cast<std::size_t>(i)] = m.evaluate(groups[static_cast<std::size_t>(i)]);
    });
  }
  const bool all_joined = eventually(
      [&] {
        for (const auto& j : joined) {
          if (j.load() == 0) return false;
        }
        return true;
      },
      30s);
  EXPECT_EQ(gate.inside(), 1);  // the shared run is in progress, held by the gate
  gate.open();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(all_joined);
  EXPECT_EQ(calls.load(), 1);
  for (const auto& j : joined) EXPECT_EQ(j.load(), 1);
  EXPECT_EQ(m.stats().runs, 1u + kThreads);
  EXPECT_EQ(m.stats().skipped, 0u);  // nobody tried a second run of "slow"
  for (const HealthReport& r : reports) {
    EXPECT_EQ(r.status, Status::kPass);
    ASSERT_EQ(r.checks.size(), 2u);
    EXPECT_EQ(r.checks[0].name, "slow");
    EXPECT_FALSE(r.checks[0].cached);
  }
}

TEST(HealthMonitor, RemoveCheck) {
  Switch s(Status::kFail);
  HealthMonitor m;
  m.add_check("gone", s.fn());
  EXPECT_EQ(m.readiness().status, Status::kFail);
  EXPECT_TRUE(m.remove_check("gone"));
  EXPECT_FALSE(m.remove_check("gone"));
  EXPECT_EQ(m.readiness().status, Status::kPass);
  EXPECT_THAT(m.check_names(), IsEmpty());
  m.add_check("gone", s.fn());  // the name is free again
  EXPECT_THAT(m.check_names(), ElementsAre("gone"));
}

TEST(HealthMonitor, ReportsMetadata) {
  HealthMonitor m({.service_id = "gw",
                   .version = "2.0",
                   .release_id = "2.0-rc1",
                   .description = "the gateway"});
  m.add_check("db", [] { return true; },
              {.component_type = "datastore", .measurement = "responseTime"});
  HealthReport r = m.readiness();
  EXPECT_EQ(r.release_id, "2.0-rc1");
  EXPECT_EQ(r.description, "the gateway");
  EXPECT_EQ(r.checks[0].component_type, "datastore");
  EXPECT_EQ(r.checks[0].measurement, "responseTime");
  EXPECT_EQ(m.evaluate_all().group, "");
}

TEST(HealthMonitor, LongOutputsAreTruncated) {
  HealthMonitor m;
  m.add_check("chatty", [] { return CheckResult::fail(std::string(100000, 'x')); });
  HealthReport r = m.readiness();
  EXPECT_LE(r.checks[0].output.size(), 4096u + 3);
  EXPECT_THAT(r.checks[0].output, ::testing::EndsWith("..."));
}

// --- configuration errors ---------------------------------------------------------------------

void expect_error(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "expected vigil::Error containing: " << message;
  } catch (const vigil::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(message));
  }
}

TEST(HealthMonitorConfig, BadChecksThrowClearErrors) {
  HealthMonitor m;
  auto ok = [] { return true; };
  expect_error([&] { m.add_check("", ok); }, "health check: the name must not be empty");
  expect_error([&] { m.add_check("has space", ok); },
               "health check \"has space\": the name may only contain");
  expect_error([&] { m.add_check("a:b", ok); }, "the name may only contain");
  expect_error([&] { m.add_check(std::string(129, 'a'), ok); }, "longer than 128");
  expect_error([&] { m.add_check("zero", ok, {.timeout = 0ms}); },
               "health check \"zero\": the timeout must be greater than 0 (got 0 ms)");
  expect_error([&] { m.add_check("neg", ok, {.timeout = -5ms}); }, "greater than 0 (got -5 ms)");
  expect_error([&] { m.add_check("nogroup", ok, {.groups = {}}); },
               "it must belong to at least one group");
  expect_error([&] { m.add_check("badgroup", ok, {.groups = {"a/b"}}); },
               "invalid group name \"a/b\"");
  expect_error([&] { m.add_check("emptygroup", ok, {.groups = {""}}); }, "invalid group name");
  expect_error(
      [&] {
        m.add_check("twice", ok, {.groups = {"x", "x"}});
      },
      "group \"x\" is listed twice");
  expect_error([&] { m.add_check("ft", ok, {.failure_threshold = 0}); },
               "failure_threshold must be at least 1 (got 0)");
  expect_error([&] { m.add_check("st", ok, {.success_threshold = -1}); },
               "success_threshold must be at least 1");
  expect_error([&] { m.add_check("ttl", ok, {.cache_ttl = -1ms}); }, "cache_ttl must not be");
  expect_error([&] { m.add_check("iv", ok, {.interval = -1ms}); }, "interval must not be");
  expect_error([&] { m.add_check("mc", ok, {.max_concurrent_runs = 0}); },
               "max_concurrent_runs must be from 1 to 64 (got 0)");
  expect_error([&] { m.add_check("empty_fn", std::function<bool()>()); },
               "health check \"empty_fn\": the check function is empty");
  bool (*null_fn)() = nullptr;
  expect_error([&] { m.add_check("null_fn", null_fn); }, "the check function is empty");
  EXPECT_THAT(m.check_names(), IsEmpty());  // nothing half-registered

  m.add_check("db", ok);
  expect_error([&] { m.add_check("db", ok); }, "health check \"db\" is already registered");
  EXPECT_THAT(m.check_names(), ElementsAre("db"));
}

TEST(HealthMonitorConfig, BadMonitorOptionsThrow) {
  expect_error([] { HealthMonitor m({.max_threads = 0}); },
               "health monitor: max_threads must be from 1 to 256 (got 0)");
  expect_error([] { HealthMonitor m({.startup_timeout = -1ms}); },
               "startup_timeout must not be negative");
}

TEST(HealthMonitorConfig, AddAfterShutdownThrows) {
  HealthMonitor m;
  m.shutdown(0ms);
  expect_error([&] { m.add_check("late", [] { return true; }); }, "shut down");
  HealthReport r = m.readiness();
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.output, "shutting down");
}

}  // namespace
}  // namespace vigil::health
