#include "vigil/metrics/counter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "test_sink.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

TEST(Counter, IncrementsByOneAndByFractions) {
  Registry r;
  Counter c = r.counter("jobs_total", "Jobs").get();
  EXPECT_EQ(c.value(), 0);
  c.inc();
  c.inc();
  c.inc(0.5);
  EXPECT_DOUBLE_EQ(c.value(), 2.5);
}

TEST(Counter, RejectsNegativeAndNaNAndCountsThem) {
  Registry r;
  auto& f = r.counter("cost_dollars_total", "Cost");
  Counter c = f.get();
  c.inc(3);
  c.inc(-1);
  c.inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_DOUBLE_EQ(c.value(), 3);
  EXPECT_EQ(f.record_stats().negative.load(), 1u);
  EXPECT_EQ(f.record_stats().nan.load(), 1u);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* inv = sink.family("vigil_invalid_observations");
  ASSERT_NE(inv, nullptr);
  const auto* neg = inv->find({"cost_dollars", "negative_increment"});
  ASSERT_NE(neg, nullptr);
  EXPECT_EQ(neg->value, 1);
  ASSERT_NE(inv->find({"cost_dollars", "nan"}), nullptr);
}

TEST(Counter, UnboundHandleIsHarmless) {
  Counter c;
  EXPECT_FALSE(c);
  c.inc();
  c.inc(2);  // goes nowhere, must not crash
}

TEST(Counter, ValuesFromManyThreadsAddUp) {
  Registry r;
  Counter c = r.counter("events_total", "Events").get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c]() mutable {
      for (int i = 0; i < 100000; ++i) c.inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000);
}

TEST(Counter, ValuesSurviveThreadExitAndBlockReuse) {
  Registry r;
  Counter c = r.counter("survivor_total", "x").get();
  for (int round = 0; round < 20; ++round) {
    std::thread([c]() mutable {
      for (int i = 0; i < 1000; ++i) c.inc();
    }).join();
  }
  EXPECT_EQ(c.value(), 20000);
}

TEST(Counter, ExposedWithCreatedTimestamp) {
  Registry r;
  r.counter("things_total", "Things", {"kind"}).labels("a").inc(7);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* f = sink.family("things");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::kCounter);
  ASSERT_EQ(f->series.size(), 1u);
  EXPECT_EQ(f->series[0].labels, std::vector<std::string>{"a"});
  EXPECT_EQ(f->series[0].value, 7);
  EXPECT_GT(f->series[0].created, 1.7e9);
}

}  // namespace
}  // namespace vigil::metrics
