// Timeouts, hung checks, the bound on concurrent runs, and shutdown with a deadline.
//
// Timing assertions use generous upper bounds (they run under ASan and TSan on a shared 2-core
// machine) but stay meaningful: a check sleeping 5 s with a 300 ms timeout must be reported
// well before 5 s.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "test_util.h"
#include "vigil/health/monitor.h"

namespace vigil::health {
namespace {

using ::testing::HasSubstr;
using namespace testing;

constexpr auto kTimeout = 300ms;
constexpr double kMarginMs = 1500;  // scheduling noise allowed past a timeout (sanitizers)

TEST(HealthTimeout, HungCheckFailsAtItsTimeout) {
  Gate gate;
  HealthMonitor m;
  m.add_check("hung", [&] { return gate.wait(5s); }, {.timeout = kTimeout});
  Switch other;
  m.add_check("other", other.fn());
  Stopwatch sw;
  HealthReport r = m.readiness();
  const double ms = sw.ms();
  EXPECT_GE(ms, 290);  // waited for the timeout
  EXPECT_LT(ms, 300 + kMarginMs);
  EXPECT_EQ(r.status, Status::kFail);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].status, Status::kFail);
  EXPECT_EQ(r.checks[0].output, "timed out: no result within 300 ms");
  EXPECT_DOUBLE_EQ(r.checks[0].duration_seconds, 0.3);
  EXPECT_EQ(r.checks[1].status, Status::kPass);  // other checks are not held up
  EXPECT_EQ(m.stats().timeouts, 1u);
  gate.open();
}

TEST(HealthTimeout, SleepingCheckDoesNotDelayTheAnswer) {
  // The check ignores its stop token and sleeps far past its timeout (a blocking call).
  std::atomic<bool> returned{false};
  {
    HealthMonitor m({.shutdown_timeout = 5s});
    m.add_liveness_check("sleeper",
                         [&] {
                           std::this_thread::sleep_for(2s);
                           returned = true;
                           return true;
                         },
                         {.timeout = kTimeout});
    Stopwatch sw;
    HealthReport r = m.liveness();
    EXPECT_LT(sw.ms(), 300 + kMarginMs);
    EXPECT_EQ(r.status, Status::kFail);
    EXPECT_THAT(r.checks[0].output, HasSubstr("timed out"));
  }  // the destructor waits for the sleeping thread (within shutdown_timeout) and joins it
  EXPECT_TRUE(returned);
}

TEST(HealthTimeout, StopTokenIsRequestedAtTheTimeout) {
  std::atomic<bool> saw_stop{false};
  HealthMonitor m;
  m.add_check("cooperative",
              [&](std::stop_token st) {
                const auto until = Clock::now() + 10s;
                while (!st.stop_requested() && Clock::now() < until)
                  std::this_thread::sleep_for(1ms);
                saw_stop = st.stop_requested();
                return true;
              },
              {.timeout = 100ms});
  EXPECT_EQ(m.readiness().status, Status::kFail);
  EXPECT_TRUE(eventually([&] { return saw_stop.load(); }));
  EXPECT_TRUE(eventually([&] { return m.stats().late_results == 1; }));  // its late "true"
  EXPECT_EQ(m.stats().running, 0u);
}

TEST(HealthTimeout, AsyncCheckTimesOut) {
  HealthMonitor m;
  m.add_check(
      "async_hung",
      [&] {
        auto p = std::make_shared<std::promise<CheckResult>>();
        return p->get_future();  // the promise is dropped: broken_promise, but only when destroyed
      },
      {.timeout = 200ms});
  // A future that never becomes ready: kept alive by the test until the end.
  auto held = std::make_shared<std::promise<CheckResult>>();
  m.add_check("async_never", [held] { return held->get_future(); }, {.timeout = kTimeout});
  Stopwatch sw;
  HealthReport r = m.readiness();
  EXPECT_LT(sw.ms(), 300 + kMarginMs);
  EXPECT_EQ(r.checks[0].status, Status::kFail);
  EXPECT_THAT(r.checks[0].output, HasSubstr("check threw"));
  EXPECT_EQ(r.checks[1].status, Status::kFail);
  EXPECT_EQ(r.checks[1].output, "timed out: no result within 300 ms");
  // The worker waiting on the future gives up when the stop token is requested.
  EXPECT_TRUE(eventually([&] { return m.stats().running == 0; }));
}

TEST(HealthTimeout, HungCheckRunsAreBoundedAndSkippedRunsCounted) {
  Gate gate;
  std::atomic<int> started{0};
  HealthMonitor m;
  m.add_check("hung",
              [&] {
                started.fetch_add(1);
                return gate.wait(20s);
              },
              {.timeout = 100ms, .max_concurrent_runs = 2});
  for (int i = 0; i < 6; ++i) {
    HealthReport r = m.readiness();
    EXPECT_EQ(r.status, Status::kFail);
    if (i >= 2) {
      EXPECT_THAT(r.checks[0].output, HasSubstr("skipped: the previous run"));
    }
  }
  EXPECT_EQ(started.load(), 2);  // never more than max_concurrent_runs threads in the check
  EXPECT_EQ(gate.inside(), 2);
  const HealthMonitor::Stats s = m.stats();
  EXPECT_EQ(s.runs, 2u);
  EXPECT_EQ(s.timeouts, 2u);
  EXPECT_EQ(s.skipped, 4u);
  EXPECT_EQ(s.running, 2u);
  gate.open();
  EXPECT_TRUE(eventually([&] { return m.stats().running == 0; }));
  EXPECT_EQ(m.readiness().status, Status::kPass);  // runs again once the hung ones returned
}

TEST(HealthTimeout, SkippedRunsAnswerImmediately) {
  Gate gate;
  HealthMonitor m;
  m.add_check("hung", [&] { return gate.wait(20s); }, {.timeout = 200ms});
  m.readiness();  // times out, leaves one run hung
  Stopwatch sw;
  HealthReport r = m.readiness();  // max_concurrent_runs = 1: skipped, no waiting
  EXPECT_LT(sw.ms(), 150);
  EXPECT_THAT(r.checks[0].output, HasSubstr("skipped"));
  gate.open();
}

TEST(HealthTimeout, PoolExhaustionReportsRunsThatCouldNotStart) {
  Gate gate;
  HealthMonitor m({.max_threads = 1});
  m.add_check("hog", [&] { return gate.wait(20s); }, {.timeout = 100ms});
  Switch s;
  m.add_check("starved", s.fn(), {.timeout = 200ms});
  HealthReport r = m.readiness();
  EXPECT_EQ(r.checks[0].output, "timed out: no result within 100 ms");
  // The only thread is held by "hog"; "starved" waited in the queue.
  EXPECT_THAT(r.checks[1].output, HasSubstr("could start"));
  EXPECT_EQ(s.calls(), 0);
  gate.open();
  EXPECT_TRUE(eventually([&] { return m.stats().expired == 1; }));  // dropped, never run
  EXPECT_TRUE(eventually([&] { return m.readiness().status == Status::kPass; }));
}

TEST(HealthTimeout, EvaluationTakesTheSlowestTimeoutNotTheSum) {
  Gate gate;
  HealthMonitor m;
  for (int i = 0; i < 5; ++i) {
    m.add_check("hung" + std::to_string(i), [&] { return gate.wait(20s); }, {.timeout = kTimeout});
  }
  Stopwatch sw;
  HealthReport r = m.readiness();
  EXPECT_LT(sw.ms(), 300 + kMarginMs);  // 5 x 300 ms would be 1.5 s
  EXPECT_EQ(r.status, Status::kFail);
  gate.open();
}

TEST(HealthShutdown, JoinsFinishedThreadsAndDetachesHungOnes) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  HealthMonitor::Stats stats;
  {
    HealthMonitor m;
    m.add_check("stuck",
                [finished] {
                  std::this_thread::sleep_for(1500ms);  // ignores its stop token
                  *finished = true;
                  return true;
                },
                {.timeout = 100ms});
    m.add_check("quick", [] { return true; });
    m.readiness();
    Stopwatch sw;
    m.shutdown(200ms);
    EXPECT_LT(sw.ms(), 200 + kMarginMs);  // did not wait for the stuck check
    stats = m.stats();
    EXPECT_EQ(m.readiness().output, "shutting down");
  }
  EXPECT_EQ(stats.detached_threads, 1u);
  // The detached thread finishes on its own, touching only state it holds.
  EXPECT_TRUE(eventually([&] { return finished->load(); }, 10s));
  std::this_thread::sleep_for(50ms);  // let it release its state before the test ends
}

TEST(HealthShutdown, WakesWaitingEvaluations) {
  Gate gate;
  HealthMonitor m;
  m.add_check("hung", [&] { return gate.wait(20s); }, {.timeout = 10s});
  std::future<HealthReport> f = std::async(std::launch::async, [&] { return m.readiness(); });
  ASSERT_TRUE(eventually([&] { return gate.inside() == 1; }));
  Stopwatch sw;
  std::thread opener([&] {
    std::this_thread::sleep_for(300ms);
    gate.open();
  });
  m.shutdown(2s);
  const HealthReport r = f.get();
  EXPECT_LT(sw.ms(), 2000 + kMarginMs);
  EXPECT_EQ(r.status, Status::kFail);
  EXPECT_EQ(r.output, "shutting down");
  opener.join();
  EXPECT_EQ(m.stats().detached_threads, 0u);
}

TEST(HealthShutdown, StopsBackgroundRefresh) {
  Switch s;
  {
    HealthMonitor m;
    m.add_check("bg", s.fn(), {.interval = 10ms});
    ASSERT_TRUE(eventually([&] { return s.calls() >= 2; }));
    m.shutdown(1s);
    const int calls = s.calls();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(s.calls(), calls);
  }
}

TEST(HealthShutdown, IsIdempotent) {
  HealthMonitor m;
  m.add_check("a", [] { return true; });
  m.readiness();
  m.shutdown(1s);
  m.shutdown(1s);
  EXPECT_EQ(m.stats().detached_threads, 0u);
}

}  // namespace
}  // namespace vigil::health
