#include "vigil/metrics/gauge.h"

#include <gtest/gtest.h>

#include <thread>

#include "vigil/core/clock.h"
#include "vigil/metrics/registry.h"
#include "vigil/metrics/timer.h"

namespace vigil::metrics {
namespace {

TEST(Gauge, SetIncDec) {
  Registry r;
  Gauge g = r.gauge("queue_depth", "Depth").get();
  g.set(10);
  g.inc();
  g.inc(4);
  g.dec(2.5);
  EXPECT_DOUBLE_EQ(g.value(), 12.5);
  g.add(-12.5);
  EXPECT_DOUBLE_EQ(g.value(), 0);
}

TEST(Gauge, SetToCurrentTime) {
  Registry r;
  Gauge g = r.gauge("last_run_timestamp_seconds", "Last run").get();
  g.set_to_current_time();
  EXPECT_NEAR(g.value(), unix_time_seconds(), 5);
}

TEST(Gauge, ConcurrentIncDecBalance) {
  Registry r;
  Gauge g = r.gauge("inflight", "In flight").get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([g]() mutable {
      for (int i = 0; i < 50000; ++i) {
        g.inc();
        g.dec();
      }
      g.inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(g.value(), 4);
}

TEST(Gauge, UnboundHandleIsHarmless) {
  Gauge g;
  g.set(3);
  g.inc();
  EXPECT_FALSE(g);
}

TEST(Timer, ScopedTimerObservesElapsedSeconds) {
  Registry r;
  Histogram h = r.histogram("op_seconds", "Op", {}, {.buckets = {0.001, 0.01, 0.1, 1}}).get();
  {
    ScopedTimer t(h);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GE(h.sum(), 0.02);
  EXPECT_LT(h.sum(), 1.0);
  auto c = h.cumulative_counts();
  EXPECT_EQ(c[1], 0u);  // not <= 10 ms
  EXPECT_EQ(c[2], 1u);  // <= 100 ms
}

TEST(Timer, TimeCallableReturnsResultAndObservesOnThrow) {
  Registry r;
  Summary s = r.summary("call_seconds", "Call").get();
  int v = time(s, [] { return 42; });
  EXPECT_EQ(v, 42);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_THROW(time(s, []() -> int { throw std::runtime_error("boom"); }), std::runtime_error);
  EXPECT_EQ(s.count(), 2u);
}

TEST(Timer, CancelObservesNothing) {
  Registry r;
  Histogram h = r.histogram("cancelled_seconds", "x").get();
  {
    ScopedTimer t(h);
    t.cancel();
  }
  EXPECT_EQ(h.count(), 0u);
}

}  // namespace
}  // namespace vigil::metrics
