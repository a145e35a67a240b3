#include "vigil/metrics/summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "test_sink.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

// The exact nearest-rank quantile: the ceil(q*n)-th smallest value (at least the first).
double exact_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::max<size_t>(rank, 1);
  return v[rank - 1];
}

void check_bound(const std::vector<double>& data, const char* what) {
  Registry r;
  auto& f = r.summary("s", "s", {}, {.quantiles = {0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1}});
  Summary s = f.get();
  for (double v : data) s.observe(v);
  for (double q : f.summary_options().quantiles) {
    const double exact = exact_quantile(data, q);
    const double est = s.quantile(q);
    EXPECT_LE(std::abs(est - exact), std::abs(exact) / 128 + 1e-300)
        << what << " q=" << q << " exact=" << exact << " estimate=" << est;
  }
}

TEST(Summary, QuantileErrorBoundHoldsOnUniformData) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> d(0.001, 10);
  std::vector<double> data(100000);
  for (double& v : data) v = d(rng);
  check_bound(data, "uniform");
}

TEST(Summary, QuantileErrorBoundHoldsOnHeavyTailedData) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> d(-3, 2);  // latencies from microseconds to minutes
  std::vector<double> data(50000);
  for (double& v : data) v = d(rng);
  check_bound(data, "lognormal");
}

TEST(Summary, QuantileErrorBoundHoldsWithNegativesAndZeros) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> d(0, 1000);
  std::vector<double> data(20000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = i % 10 == 0 ? 0.0 : d(rng);
  check_bound(data, "normal");
}

TEST(Summary, QuantileErrorBoundHoldsOnSmallSamples) {
  for (int n : {1, 2, 3, 7, 10}) {
    std::vector<double> data;
    for (int i = 1; i <= n; ++i) data.push_back(i * 1.7);
    check_bound(data, "small");
  }
}

TEST(Summary, CountAndSumAreCumulative) {
  Registry r;
  Summary s = r.summary("req_seconds", "r").get();
  s.observe(1);
  s.observe(2);
  s.observe(4);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_DOUBLE_EQ(s.sum(), 7);
}

TEST(Summary, EmptyWindowGivesNaN) {
  Registry r;
  Summary s = r.summary("empty_seconds", "e").get();
  EXPECT_TRUE(std::isnan(s.quantile(0.5)));
}

TEST(Summary, OldObservationsLeaveTheWindow) {
  Registry r;
  Summary s =
      r.summary("window_seconds", "w", {}, {.max_age = std::chrono::seconds(1), .age_buckets = 2})
          .get();
  for (int i = 0; i < 100; ++i) s.observe(5);
  EXPECT_NEAR(s.quantile(0.5), 5, 5.0 / 128);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_TRUE(std::isnan(s.quantile(0.5)));
  s.observe(7);
  EXPECT_NEAR(s.quantile(0.5), 7, 7.0 / 128);
  EXPECT_EQ(s.count(), 101u);  // count and sum do not slide
}

TEST(Summary, BadOptionsAreRejected) {
  Registry r;
  EXPECT_THROW(r.summary("a", "a", {}, {.quantiles = {1.5}}), Error);
  EXPECT_THROW(r.summary("b", "b", {}, {.max_age = std::chrono::seconds(0)}), Error);
  EXPECT_THROW(r.summary("c", "c", {}, {.age_buckets = 0}), Error);
  EXPECT_THROW(r.summary("d", "d", {"quantile"}), Error);
  EXPECT_EQ(r.family_count(), 0u);
}

TEST(Summary, CollectedPointHasQuantiles) {
  Registry r;
  auto& f =
      r.summary("llm_latency_seconds", "LLM latency", {"provider"}, {.quantiles = {0.5, 0.99}});
  for (int i = 1; i <= 100; ++i) f.labels("openai").observe(i);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* s = sink.family("llm_latency_seconds")->find({"openai"});
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->quantiles.size(), 2u);
  EXPECT_EQ(s->quantiles[0].first, 0.5);
  EXPECT_NEAR(s->quantiles[0].second, 50, 50.0 / 128);
  EXPECT_NEAR(s->quantiles[1].second, 99, 99.0 / 128);
  EXPECT_EQ(s->value, 100);
  EXPECT_DOUBLE_EQ(s->sum, 5050);
}

}  // namespace
}  // namespace vigil::metrics
