// Snapshots, thresholds and bucket quantiles: guide 000's example, every change/bound
// combination, validation, and Prometheus' histogram_quantile on hand-computed values.
#include "vigil/guardrail/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "vigil/core/error.h"

namespace vigil::guardrail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(Snapshot, GuideExampleTriggersOnSuccessRate) {
  PerformanceSnapshot baseline{
      .success_rate = 0.95, .p50_latency = 700, .p95_latency = 1500, .error_rate = 0.02};
  PerformanceSnapshot current{
      .success_rate = 0.85, .p50_latency = 720, .p95_latency = 1600, .error_rate = 0.03};
  current.timestamp = TimePoint(std::chrono::seconds(1'700'000'000));
  const auto thresholds = default_thresholds();
  auto trigger = evaluate_thresholds(baseline, current, thresholds);
  ASSERT_TRUE(trigger.has_value());
  EXPECT_EQ(trigger->metric_name, "success_rate");
  EXPECT_EQ(trigger->threshold_value, -0.08);
  EXPECT_EQ(trigger->baseline_value, 0.95);
  EXPECT_EQ(trigger->observed_value, 0.85);
  EXPECT_NEAR(trigger->change, -0.10, 1e-12);
  EXPECT_EQ(trigger->threshold.metric, Metric::kSuccessRate);
  EXPECT_EQ(trigger->time, current.timestamp);
  EXPECT_TRUE(trigger->monitor.empty());
  EXPECT_EQ(trigger->reason,
            "success_rate dropped by 0.1 (from 0.95 to 0.85), beyond the threshold of -0.08 "
            "(absolute change)");
  // Without the success-rate drop nothing fires: p95 +6.7% < 30%, error rate 0.03 < 0.15.
  current.success_rate = 0.94;
  EXPECT_FALSE(evaluate_thresholds(baseline, current, thresholds).has_value());
}

TEST(Snapshot, DefaultThresholdsAreTheGuides) {
  const auto t = default_thresholds();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].describe(), "success_rate absolute change below -0.08");
  EXPECT_EQ(t[1].describe(), "p95_latency relative change above 0.3");
  EXPECT_EQ(t[2].describe(), "error_rate above 0.15");
  const auto custom = default_thresholds(-0.05, 0.5, 0.1);
  EXPECT_EQ(custom[0].limit, -0.05);
  EXPECT_EQ(custom[1].limit, 0.5);
  EXPECT_EQ(custom[2].limit, 0.1);
  EXPECT_THROW(default_thresholds(0.08), Error);  // a positive "drop"
  EXPECT_THROW(default_thresholds(-0.08, -0.3), Error);
  EXPECT_THROW(default_thresholds(-0.08, 0.3, 15), Error);  // 15 is not a rate
}

TEST(Snapshot, MetricNamesRoundTrip) {
  for (Metric m : {Metric::kSuccessRate, Metric::kErrorRate, Metric::kP50Latency,
                   Metric::kP95Latency, Metric::kP99Latency}) {
    EXPECT_EQ(parse_metric(metric_name(m)), m);
  }
  EXPECT_EQ(metric_name(Metric::kP99Latency), "p99_latency");
  EXPECT_FALSE(parse_metric("p90_latency").has_value());
  EXPECT_FALSE(parse_metric("").has_value());
  PerformanceSnapshot s{
      .success_rate = 0.9, .p50_latency = 1, .p95_latency = 2, .p99_latency = 3, .error_rate = 0.1};
  EXPECT_EQ(s.value(Metric::kSuccessRate), 0.9);
  EXPECT_EQ(s.value(Metric::kErrorRate), 0.1);
  EXPECT_EQ(s.value(Metric::kP50Latency), 1);
  EXPECT_EQ(s.value(Metric::kP95Latency), 2);
  EXPECT_EQ(s.value(Metric::kP99Latency), 3);
}

// One threshold against a baseline/current pair: the trigger or nullopt.
std::optional<RollbackTrigger> eval(Threshold t, double base, double observed) {
  validate(t);
  PerformanceSnapshot b, c;
  b.success_rate = b.error_rate = b.p50_latency = b.p95_latency = b.p99_latency = base;
  c.success_rate = c.error_rate = c.p50_latency = c.p95_latency = c.p99_latency = observed;
  const Threshold one[] = {t};
  return evaluate_thresholds(b, c, one);
}

TEST(Snapshot, AbsoluteBelow) {
  const Threshold t{Metric::kSuccessRate, Change::kAbsolute, Bound::kBelow, -0.08};
  EXPECT_FALSE(eval(t, 0.95, 0.90));  // -0.05
  EXPECT_FALSE(eval(t, 0.95, 0.87));  // -0.08 exactly (-0.08000000000000007 in doubles)
  EXPECT_FALSE(eval(t, 0.95, 0.99));  // better
  auto fired = eval(t, 0.95, 0.80);
  ASSERT_TRUE(fired);
  EXPECT_NEAR(fired->change, -0.15, 1e-12);
  EXPECT_EQ(fired->reason,
            "success_rate dropped by 0.15 (from 0.95 to 0.8), beyond the threshold of -0.08 "
            "(absolute change)");
}

TEST(Snapshot, AbsoluteAbove) {
  const Threshold t{Metric::kErrorRate, Change::kAbsolute, Bound::kAbove, 0.05};
  EXPECT_FALSE(eval(t, 0.02, 0.06));
  EXPECT_FALSE(eval(t, 0.02, 0.07));  // +0.05 exactly
  auto fired = eval(t, 0.02, 0.12);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->metric_name, "error_rate");
  EXPECT_EQ(fired->reason,
            "error_rate rose by 0.1 (from 0.02 to 0.12), beyond the threshold of 0.05 (absolute "
            "change)");
  const Threshold latency{Metric::kP50Latency, Change::kAbsolute, Bound::kAbove, 100};
  EXPECT_FALSE(eval(latency, 700, 800));
  auto slow = eval(latency, 700, 801);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->reason,
            "p50_latency rose by 101 (from 700 to 801), beyond the threshold of 100 (absolute "
            "change)");
}

TEST(Snapshot, RelativeAbove) {
  const Threshold t{Metric::kP95Latency, Change::kRelative, Bound::kAbove, 0.30};
  EXPECT_FALSE(eval(t, 1500, 1600));  // +6.7%
  EXPECT_FALSE(eval(t, 1500, 1950));  // +30% exactly
  EXPECT_FALSE(eval(t, 0, 1950));     // no relative change from 0
  auto fired = eval(t, 1500, 2100);
  ASSERT_TRUE(fired);
  EXPECT_NEAR(fired->change, 0.4, 1e-12);
  EXPECT_EQ(fired->reason,
            "p95_latency rose by 40% (from 1500 to 2100), beyond the threshold of 0.3 (relative "
            "change, 30%)");
}

TEST(Snapshot, RelativeBelow) {
  const Threshold t{Metric::kSuccessRate, Change::kRelative, Bound::kBelow, -0.10};
  EXPECT_FALSE(eval(t, 0.9, 0.85));  // -5.6%
  auto fired = eval(t, 0.9, 0.72);   // -20%
  ASSERT_TRUE(fired);
  EXPECT_NEAR(fired->change, -0.2, 1e-12);
  EXPECT_EQ(fired->reason,
            "success_rate dropped by 20% (from 0.9 to 0.72), beyond the threshold of -0.1 "
            "(relative change, -10%)");
}

TEST(Snapshot, ValueAboveAndBelow) {
  const Threshold above{Metric::kErrorRate, Change::kValue, Bound::kAbove, 0.15};
  EXPECT_FALSE(eval(above, 0.02, 0.15));
  auto fired = eval(above, 0.02, 0.2);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->change, 0.2);
  EXPECT_EQ(fired->reason, "error_rate is 0.2 (baseline 0.02), above the threshold of 0.15");
  // kValue ignores the baseline, also a NaN one.
  EXPECT_TRUE(eval(above, kNaN, 0.2));

  const Threshold below{Metric::kSuccessRate, Change::kValue, Bound::kBelow, 0.9};
  EXPECT_FALSE(eval(below, 0.95, 0.9));
  auto low = eval(below, 0.95, 0.85);
  ASSERT_TRUE(low);
  EXPECT_EQ(low->reason, "success_rate is 0.85 (baseline 0.95), below the threshold of 0.9");
}

TEST(Snapshot, NaNFiguresAreSkippedAndOrderDecides) {
  PerformanceSnapshot base{.success_rate = 0.95, .p95_latency = 1.0, .error_rate = 0.01};
  PerformanceSnapshot cur{.success_rate = kNaN, .p95_latency = 2.0, .error_rate = 0.5};
  // success_rate NaN: skipped; p95 +100% fires before error_rate (order of the list).
  auto t = evaluate_thresholds(base, cur, default_thresholds());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->metric_name, "p95_latency");
  cur.p95_latency = kNaN;
  t = evaluate_thresholds(base, cur, default_thresholds());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->metric_name, "error_rate");
  base.p95_latency = kNaN;
  cur.p95_latency = 5;
  cur.error_rate = 0.01;
  EXPECT_FALSE(evaluate_thresholds(base, cur, default_thresholds()));
  EXPECT_FALSE(evaluate_thresholds(base, cur, {}));
}

TEST(Snapshot, ValidateRefusesWhatCannotWork) {
  auto refused = [](Threshold t, std::string_view fragment) {
    try {
      validate(t);
      ADD_FAILURE() << t.describe() << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string_view(e.what()).find(fragment), std::string_view::npos) << e.what();
      EXPECT_NE(std::string_view(e.what()).find("guardrail threshold"), std::string_view::npos);
    }
  };
  using enum Metric;
  // Wrong signs.
  refused({kSuccessRate, Change::kAbsolute, Bound::kBelow, 0.08}, "limit must be <= 0");
  refused({kP95Latency, Change::kRelative, Bound::kAbove, -0.3}, "limit must be >= 0");
  refused({kErrorRate, Change::kAbsolute, Bound::kAbove, -0.01}, "limit must be >= 0");
  // The mirror cases: a change on the side that is no regression.
  refused({kSuccessRate, Change::kAbsolute, Bound::kAbove, -0.08}, "regresses by a drop");
  refused({kP95Latency, Change::kRelative, Bound::kBelow, 0.3}, "regresses by a rise");
  refused({kErrorRate, Change::kAbsolute, Bound::kBelow, -0.05}, "regresses by a rise");
  // Non-finite limits.
  refused({kSuccessRate, Change::kAbsolute, Bound::kBelow, kNaN}, "finite");
  refused({kP95Latency, Change::kRelative, Bound::kAbove, std::numeric_limits<double>::infinity()},
          "finite");
  // Rates outside [0, 1].
  refused({kErrorRate, Change::kValue, Bound::kAbove, 15}, "[0, 1]");
  refused({kSuccessRate, Change::kValue, Bound::kBelow, -0.1}, "[0, 1]");
  refused({kSuccessRate, Change::kAbsolute, Bound::kBelow, -1.5}, "[-1, 1]");
  // Latency values, relative limits.
  refused({kP99Latency, Change::kValue, Bound::kAbove, -1}, ">= 0");
  refused({kSuccessRate, Change::kRelative, Bound::kBelow, -1}, "> -1");
  // Unknown enumerators.
  refused({static_cast<Metric>(42), Change::kValue, Bound::kAbove, 0.1}, "unknown metric");

  // Accepted: the guide's, zero limits, value limits at the ends.
  for (const Threshold& t : default_thresholds()) EXPECT_NO_THROW(validate(t));
  EXPECT_NO_THROW(validate({kSuccessRate, Change::kAbsolute, Bound::kBelow, 0}));
  EXPECT_NO_THROW(validate({kErrorRate, Change::kValue, Bound::kAbove, 1}));
  EXPECT_NO_THROW(validate({kSuccessRate, Change::kValue, Bound::kBelow, 0}));
  EXPECT_NO_THROW(validate({kP50Latency, Change::kAbsolute, Bound::kAbove, 250}));
  EXPECT_NO_THROW(validate({kP99Latency, Change::kRelative, Bound::kAbove, 2}));
}

TEST(Snapshot, DescribeEveryForm) {
  EXPECT_EQ((Threshold{Metric::kP99Latency, Change::kAbsolute, Bound::kAbove, 0.25}).describe(),
            "p99_latency absolute change above 0.25");
  EXPECT_EQ((Threshold{Metric::kSuccessRate, Change::kValue, Bound::kBelow, 0.9}).describe(),
            "success_rate below 0.9");
}

// ---- bucket_quantile: Prometheus' histogram_quantile ----

TEST(BucketQuantile, InterpolatesInsideTheBucket) {
  const std::vector<double> bounds = {0.1, 0.5, 1.0};
  // 10 in (0, 0.1], 30 in (0.1, 0.5], 50 in (0.5, 1], 10 above: 100 in all.
  const std::vector<uint64_t> buckets = {10, 30, 50, 10};
  // q=0.5: rank 50, bucket (0.5, 1] (cumulative 40 -> 90): 0.5 + 0.5 * (10 / 50) = 0.6.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.5, bounds, buckets), 0.6);
  // q=0.25: rank 25, bucket (0.1, 0.5]: 0.1 + 0.4 * (15 / 30) = 0.3.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.25, bounds, buckets), 0.3);
  // q=0.05: rank 5 in the first bucket, from 0: 0.1 * 5 / 10 = 0.05.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.05, bounds, buckets), 0.05);
  // q=0.9: rank 90 = cumulative of (0.5, 1]: its upper bound.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.9, bounds, buckets), 1.0);
  // q=0.95: rank 95 falls in +Inf: the highest finite bound.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.95, bounds, buckets), 1.0);
}

TEST(BucketQuantile, PrometheusEdgeCases) {
  const std::vector<double> bounds = {0.1, 0.5, 1.0};
  // Empty: NaN.
  EXPECT_TRUE(std::isnan(bucket_quantile(0.5, bounds, std::vector<uint64_t>{0, 0, 0, 0})));
  // q outside [0, 1] or NaN: NaN.
  const std::vector<uint64_t> some = {1, 2, 3, 4};
  EXPECT_TRUE(std::isnan(bucket_quantile(-0.1, bounds, some)));
  EXPECT_TRUE(std::isnan(bucket_quantile(1.1, bounds, some)));
  EXPECT_TRUE(std::isnan(bucket_quantile(kNaN, bounds, some)));
  // Mismatched sizes; only the +Inf bucket (Prometheus: fewer than 2 buckets): NaN.
  EXPECT_TRUE(std::isnan(bucket_quantile(0.5, bounds, std::vector<uint64_t>{1, 2, 3})));
  EXPECT_TRUE(std::isnan(bucket_quantile(0.5, {}, std::vector<uint64_t>{5})));
  // q=1: rank = all observations; with some in +Inf: the highest finite bound.
  EXPECT_DOUBLE_EQ(bucket_quantile(1, bounds, some), 1.0);
  // q=1 with nothing in +Inf: the upper bound of the last non-empty finite bucket... of the first
  // bucket whose cumulative count reaches the total: {1,2,0,0}: (0.1, 0.5] -> 0.5.
  EXPECT_DOUBLE_EQ(bucket_quantile(1, bounds, std::vector<uint64_t>{1, 2, 0, 0}), 0.5);
  // q=0 with a non-empty first bucket: its lower end, 0.
  EXPECT_DOUBLE_EQ(bucket_quantile(0, bounds, some), 0.0);
  // q=0 with an empty first bucket: 0/0 in the first bucket, NaN (as in Prometheus).
  EXPECT_TRUE(std::isnan(bucket_quantile(0, bounds, std::vector<uint64_t>{0, 2, 0, 0})));
  // Everything in +Inf: the highest finite bound.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.5, bounds, std::vector<uint64_t>{0, 0, 0, 7}), 1.0);
  // A first bound <= 0 holding the rank: that bound, no interpolation.
  const std::vector<double> negative = {-1.0, 0.0, 1.0};
  EXPECT_DOUBLE_EQ(bucket_quantile(0.2, negative, std::vector<uint64_t>{5, 5, 5, 0}), -1.0);
  // Then interpolation between the bounds: rank 7.5 in (-1, 0]: -1 + 1 * 2.5 / 5 = -0.5.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.5, negative, std::vector<uint64_t>{5, 5, 5, 0}), -0.5);
  // A single finite bucket: interpolation from 0.
  EXPECT_DOUBLE_EQ(bucket_quantile(0.5, std::vector<double>{2.0}, std::vector<uint64_t>{4, 0}),
                   1.0);
}

TEST(WindowCounts, SnapshotComputesRatesAndQuantiles) {
  WindowCounts w;
  w.end = TimePoint(std::chrono::seconds(60));
  w.requests = 200;
  w.successes = 180;
  w.errors = 15;  // 5 neither (an outcome named in neither list)
  w.bounds = {0.1, 0.5, 1.0};
  w.buckets = {10, 30, 50, 10};
  EXPECT_EQ(w.latency_count(), 100u);
  const PerformanceSnapshot s = w.snapshot();
  EXPECT_DOUBLE_EQ(s.success_rate, 0.9);
  EXPECT_DOUBLE_EQ(s.error_rate, 0.075);
  EXPECT_DOUBLE_EQ(s.p50_latency, 0.6);
  EXPECT_DOUBLE_EQ(s.p95_latency, 1.0);
  EXPECT_DOUBLE_EQ(s.p99_latency, 1.0);
  EXPECT_EQ(s.request_count, 200u);
  EXPECT_EQ(s.timestamp, w.end);

  WindowCounts empty;
  const PerformanceSnapshot e = empty.snapshot();
  EXPECT_TRUE(std::isnan(e.success_rate));
  EXPECT_TRUE(std::isnan(e.error_rate));
  EXPECT_TRUE(std::isnan(e.p50_latency));
  EXPECT_TRUE(std::isnan(e.p95_latency));
  EXPECT_EQ(e.request_count, 0u);
  // An empty window against a baseline: nothing to judge, no trigger.
  PerformanceSnapshot base{.success_rate = 0.95, .p95_latency = 1, .error_rate = 0.01};
  EXPECT_FALSE(evaluate_thresholds(base, e, default_thresholds()));
}

}  // namespace
}  // namespace vigil::guardrail
