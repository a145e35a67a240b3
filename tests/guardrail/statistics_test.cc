// Unit tests of vigil/guardrail/statistics.h against hand-computed values, and its edge cases.
#include "vigil/guardrail/statistics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "vigil/core/error.h"

namespace vigil::guardrail {
namespace {

using ::testing::HasSubstr;

TEST(ResultName, NamesEveryResult) {
  EXPECT_EQ(result_name(Result::kPass), "pass");
  EXPECT_EQ(result_name(Result::kFail), "fail");
  EXPECT_EQ(result_name(Result::kInconclusive), "inconclusive");
  EXPECT_EQ(result_name(Result::kError), "error");
}

// ---- mSPRT

// Baseline 90 of 100, canary 80 of 100, tau = 0.05, by hand:
//   pooled p = (90 + 80 + 1) / (100 + 100 + 2) = 171 / 202
//   V = p (1 - p) (1/100 + 1/100) = (171 * 31 / 202^2) * 0.02 = 0.0025982747
//   d = 0.8 - 0.9 = -0.1;  z = d / sqrt(V) = -1.9618124
//   Lambda = sqrt(V / (V + 0.0025)) * exp(0.0025 * 0.01 / (2 V (V + 0.0025)))
//          = sqrt(0.50963696) * exp(0.94363217) = 0.71388862 * 2.5693362 = 1.8341895
//   p = 1 / Lambda = 0.54519994: not significant.
TEST(SequentialSuccessTest, LikelihoodRatioByHand) {
  SequentialSuccessTest test(0.05, 0.05);
  const SuccessTestResult r = test.update(90, 100, 80, 100);
  EXPECT_DOUBLE_EQ(r.baseline_rate, 0.9);
  EXPECT_DOUBLE_EQ(r.canary_rate, 0.8);
  EXPECT_NEAR(r.difference, -0.1, 1e-12);
  EXPECT_NEAR(r.z, -1.9618124, 1e-6);
  EXPECT_NEAR(r.likelihood_ratio, 1.8341895, 1e-6);
  EXPECT_NEAR(r.p_value, 0.54519994, 1e-7);
  EXPECT_FALSE(r.significant);
}

// Baseline 950 of 1000, canary 900 of 1000, tau = 0.05:
//   pooled p = 1851 / 2002; V = p (1 - p) * 0.002 = 1.3947142e-4; d = -0.05; z = -4.2337713
//   Lambda = sqrt(V / (V + 0.0025)) * exp(0.0025 * 0.0025 / (2 V (V + 0.0025))) = 1117.2136
//   p = 8.9508400e-4 <= 0.01: a significant drop.
TEST(SequentialSuccessTest, SignificantDropByHand) {
  SequentialSuccessTest test(0.01, 0.05);
  const SuccessTestResult r = test.update(950, 1000, 900, 1000);
  EXPECT_NEAR(r.z, -4.2337713, 1e-6);
  EXPECT_NEAR(r.likelihood_ratio, 1117.2136, 1e-3);
  EXPECT_NEAR(r.p_value, 8.9508400e-4, 1e-10);
  EXPECT_TRUE(r.significant);
}

TEST(SequentialSuccessTest, PValueIsTheRunningMinimum) {
  SequentialSuccessTest test(0.01, 0.05);
  const double first = test.update(950, 1000, 900, 1000).p_value;
  // The next look shows no difference at all: its own 1 / Lambda is > 1, the p-value stays.
  const SuccessTestResult second = test.update(1900, 2000, 1900, 2000);
  EXPECT_DOUBLE_EQ(second.p_value, first);
  EXPECT_DOUBLE_EQ(second.difference, 0);
  EXPECT_LT(second.likelihood_ratio, 1);
  EXPECT_FALSE(second.significant);  // small p but no drop now
  test.reset();
  EXPECT_DOUBLE_EQ(test.update(1900, 2000, 1900, 2000).p_value, 1);
}

TEST(SequentialSuccessTest, OnlyADropIsSignificant) {
  SequentialSuccessTest test(0.01, 0.05);
  const SuccessTestResult r = test.update(900, 1000, 950, 1000);  // the canary is better
  EXPECT_LT(r.p_value, 0.01);
  EXPECT_GT(r.difference, 0);
  EXPECT_FALSE(r.significant);
}

TEST(SequentialSuccessTest, ZeroCounts) {
  SequentialSuccessTest test;
  SuccessTestResult r = test.update(0, 0, 0, 0);
  EXPECT_TRUE(std::isnan(r.baseline_rate));
  EXPECT_TRUE(std::isnan(r.canary_rate));
  EXPECT_EQ(r.z, 0);
  EXPECT_EQ(r.likelihood_ratio, 1);
  EXPECT_EQ(r.p_value, 1);
  EXPECT_FALSE(r.significant);
  r = test.update(10, 10, 0, 0);  // one cohort empty: still no test
  EXPECT_EQ(r.p_value, 1);
  EXPECT_FALSE(r.significant);
}

TEST(SequentialSuccessTest, AllSuccessesAndAllFailuresStayFinite) {
  SequentialSuccessTest test(0.01, 0.05);
  SuccessTestResult r = test.update(1000, 1000, 1000, 1000);  // 100% against 100%
  EXPECT_TRUE(std::isfinite(r.z));
  EXPECT_TRUE(std::isfinite(r.likelihood_ratio));
  EXPECT_EQ(r.z, 0);
  EXPECT_EQ(r.p_value, 1);
  r = test.update(0, 1000, 0, 1000);  // 0% against 0%
  EXPECT_TRUE(std::isfinite(r.likelihood_ratio));
  EXPECT_EQ(r.p_value, 1);
  // 100% against 0%: an enormous but finite ratio, p = 0, significant.
  r = test.update(1000000, 1000000, 0, 1000000);
  EXPECT_TRUE(std::isfinite(r.z));
  EXPECT_TRUE(std::isfinite(r.likelihood_ratio));
  EXPECT_EQ(r.p_value, 0);
  EXPECT_TRUE(r.significant);
}

TEST(SequentialSuccessTest, IdenticalCohortsAreNeverSignificant) {
  SequentialSuccessTest test(0.2, 0.05);
  for (uint64_t n = 10; n <= 100000; n *= 10) {
    const SuccessTestResult r = test.update(n * 9 / 10, n, n * 9 / 10, n);
    EXPECT_EQ(r.difference, 0);
    EXPECT_EQ(r.p_value, 1);
    EXPECT_FALSE(r.significant);
  }
}

TEST(SequentialSuccessTest, SuccessesAboveTotalAreClamped) {
  SequentialSuccessTest test;
  const SuccessTestResult r = test.update(12, 10, 5, 10);
  EXPECT_DOUBLE_EQ(r.baseline_rate, 1);
  EXPECT_DOUBLE_EQ(r.canary_rate, 0.5);
}

TEST(SequentialSuccessTest, BadParametersThrow) {
  EXPECT_THROW(SequentialSuccessTest(0, 0.05), Error);
  EXPECT_THROW(SequentialSuccessTest(1, 0.05), Error);
  EXPECT_THROW(SequentialSuccessTest(std::nan(""), 0.05), Error);
  EXPECT_THROW(SequentialSuccessTest(0.01, 0), Error);
  EXPECT_THROW(SequentialSuccessTest(0.01, -1), Error);
  EXPECT_THROW(SequentialSuccessTest(0.01, std::numeric_limits<double>::infinity()), Error);
  try {
    SequentialSuccessTest(1.5, 0.05);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("alpha must be in (0, 1), got 1.5"));
  }
}

// ---- Mann-Whitney U

// Three buckets; baseline {2, 1, 1}, canary {0, 2, 2}. Sorted, with mid-ranks per bucket:
//   bucket 0: B B     ranks 1-2, mid-rank 1.5
//   bucket 1: B C C   ranks 3-5, mid-rank 4
//   bucket 2: B C C   ranks 6-8, mid-rank 7
// Canary rank sum R = 2*4 + 2*7 = 22; U = R - 4*5/2 = 12 (of 16 pairs); mean 8.
// Ties t = 2, 3, 3: sum(t^3 - t) = 6 + 24 + 24 = 54.
// Var = 4*4/12 * ((8 + 1) - 54 / (8*7)) = 1.3333333 * 8.0357143 = 10.714286; sd = 3.2732684
// z = (12 - 8) / 3.2732684 = 1.2220202; p = P(Z >= z) = 0.11085000.
TEST(MannWhitney, SmallExampleWithTiesByHand) {
  const std::vector<uint64_t> baseline{2, 1, 1};
  const std::vector<uint64_t> canary{0, 2, 2};
  const MannWhitneyResult r = mann_whitney_buckets(baseline, canary);
  EXPECT_EQ(r.n_baseline, 4u);
  EXPECT_EQ(r.n_canary, 4u);
  EXPECT_DOUBLE_EQ(r.u, 12);
  EXPECT_DOUBLE_EQ(r.superiority, 0.75);
  EXPECT_NEAR(r.z, 1.2220202, 1e-6);
  EXPECT_NEAR(r.p_value, 0.11085000, 1e-7);
}

TEST(MannWhitney, FasterCanaryHasALargePValue) {
  const std::vector<uint64_t> baseline{0, 2, 2};
  const std::vector<uint64_t> canary{2, 1, 1};
  const MannWhitneyResult r = mann_whitney_buckets(baseline, canary);
  EXPECT_DOUBLE_EQ(r.u, 4);  // 16 pairs - 12
  EXPECT_NEAR(r.z, -1.2220202, 1e-6);
  EXPECT_NEAR(r.p_value, 1 - 0.11085000, 1e-7);
}

TEST(MannWhitney, IdenticalHistograms) {
  const std::vector<uint64_t> h{5, 10, 20, 0, 3};
  const MannWhitneyResult r = mann_whitney_buckets(h, h);
  EXPECT_DOUBLE_EQ(r.u, 38.0 * 38.0 / 2);
  EXPECT_DOUBLE_EQ(r.superiority, 0.5);
  EXPECT_DOUBLE_EQ(r.z, 0);
  EXPECT_DOUBLE_EQ(r.p_value, 0.5);
}

TEST(MannWhitney, EdgeCases) {
  const std::vector<uint64_t> empty{0, 0, 0};
  const std::vector<uint64_t> some{1, 2, 3};
  // A cohort without observations.
  MannWhitneyResult r = mann_whitney_buckets(empty, some);
  EXPECT_EQ(r.n_baseline, 0u);
  EXPECT_EQ(r.n_canary, 6u);
  EXPECT_EQ(r.p_value, 1);
  EXPECT_EQ(r.z, 0);
  // Mismatched bucket sizes: n = 0, p = 1.
  const std::vector<uint64_t> four{1, 2, 3, 4};
  r = mann_whitney_buckets(four, some);
  EXPECT_EQ(r.n_baseline, 0u);
  EXPECT_EQ(r.n_canary, 0u);
  EXPECT_EQ(r.p_value, 1);
  // Everything in one bucket: no variance, no evidence.
  const std::vector<uint64_t> one_a{0, 7, 0};
  const std::vector<uint64_t> one_b{0, 9, 0};
  r = mann_whitney_buckets(one_a, one_b);
  EXPECT_EQ(r.n_baseline, 7u);
  EXPECT_EQ(r.n_canary, 9u);
  EXPECT_EQ(r.z, 0);
  EXPECT_EQ(r.p_value, 1);
  // No buckets at all.
  r = mann_whitney_buckets({}, {});
  EXPECT_EQ(r.p_value, 1);
  // Completely separated, every canary observation slower: U = n1 n2.
  const std::vector<uint64_t> low{50, 0};
  const std::vector<uint64_t> high{0, 50};
  r = mann_whitney_buckets(low, high);
  EXPECT_DOUBLE_EQ(r.u, 2500);
  EXPECT_DOUBLE_EQ(r.superiority, 1);
  EXPECT_LT(r.p_value, 1e-20);
}

TEST(MannWhitney, LargeCountsStayFinite) {
  const uint64_t big = 4'000'000'000ULL;
  const std::vector<uint64_t> b{big, big, 1};
  const std::vector<uint64_t> c{1, big, big};
  const MannWhitneyResult r = mann_whitney_buckets(b, c);
  EXPECT_TRUE(std::isfinite(r.z));
  EXPECT_GT(r.z, 0);
  EXPECT_EQ(r.n_baseline, 2 * big + 1);
}

// ---- look_alpha

TEST(LookAlpha, LevelsSumToAlpha) {
  EXPECT_DOUBLE_EQ(look_alpha(0.01, 1), 0.005);
  EXPECT_DOUBLE_EQ(look_alpha(0.01, 2), 0.01 / 6);
  EXPECT_DOUBLE_EQ(look_alpha(0.01, 9), 0.01 / 90);
  EXPECT_EQ(look_alpha(0.01, 0), 0);
  EXPECT_EQ(look_alpha(0.01, -3), 0);
  double sum = 0;
  for (int k = 1; k <= 10000; ++k) sum += look_alpha(0.05, k);
  EXPECT_NEAR(sum, 0.05 * 10000 / 10001, 1e-12);  // telescoping: alpha (1 - 1/(K+1))
  EXPECT_LT(sum, 0.05);
}

// ---- JudgeOptions

TEST(JudgeOptions, ValidateNamesTheOptionAndTheRule) {
  EXPECT_NO_THROW(validate(JudgeOptions{}));
  const auto message = [](JudgeOptions o) -> std::string {
    try {
      validate(o);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(message({.success_alpha = 0}), HasSubstr("success_alpha must be in (0, 1)"));
  EXPECT_THAT(message({.success_alpha = 1}), HasSubstr("success_alpha must be in (0, 1)"));
  EXPECT_THAT(message({.latency_alpha = -0.1}), HasSubstr("latency_alpha must be in (0, 1)"));
  EXPECT_THAT(message({.latency_alpha = std::nan("")}),
              HasSubstr("latency_alpha must be in (0, 1)"));
  EXPECT_THAT(message({.success_tolerance = -0.01}),
              HasSubstr("success_tolerance must be finite and >= 0"));
  EXPECT_THAT(message({.latency_tolerance = std::numeric_limits<double>::infinity()}),
              HasSubstr("latency_tolerance must be finite and >= 0"));
  EXPECT_THAT(message({.latency_metric = Metric::kSuccessRate}),
              HasSubstr("latency_metric must be a latency"));
  EXPECT_THAT(message({.latency_metric = Metric::kErrorRate}),
              HasSubstr("latency_metric must be a latency"));
  EXPECT_THAT(message({.mixture_sd = 0}), HasSubstr("mixture_sd must be positive"));
  EXPECT_THROW(Judge({.success_alpha = 2}), Error);
  EXPECT_NO_THROW(Judge({.latency_metric = Metric::kP99Latency}));
}

// ---- the Judge

WindowCounts counts(uint64_t successes, uint64_t requests, std::vector<double> bounds = {},
                    std::vector<uint64_t> buckets = {}) {
  WindowCounts w;
  w.requests = requests;
  w.successes = successes;
  w.errors = requests - successes;
  w.bounds = std::move(bounds);
  w.buckets = std::move(buckets);
  return w;
}

TEST(Judge, TooLittleTrafficIsInconclusive) {
  Judge judge;  // min_requests 100
  const Judgement j = judge.look(counts(950, 1000), counts(40, 50));
  EXPECT_EQ(j.result, Result::kInconclusive);
  EXPECT_EQ(j.look, 1);
  EXPECT_EQ(j.baseline_requests, 1000u);
  EXPECT_EQ(j.canary_requests, 50u);
  ASSERT_EQ(j.conditions.size(), 1u);  // no histograms: no latency condition
  const ConditionResult& c = j.conditions[0];
  EXPECT_EQ(c.metric, "success_rate");
  EXPECT_EQ(c.result, Result::kInconclusive);
  EXPECT_DOUBLE_EQ(c.baseline, 0.95);
  EXPECT_DOUBLE_EQ(c.observed, 0.8);
  EXPECT_EQ(c.reason,
            "success_rate: inconclusive, too little traffic to judge (baseline 1000 requests, "
            "canary 50; at least 100 in each are needed)");
  EXPECT_EQ(j.reason, c.reason);
  // Even a canary that fails everything.
  EXPECT_EQ(judge.look(counts(950, 1000), counts(0, 99)).result, Result::kInconclusive);
  // No requests at all: NaN rates, inconclusive, no crash.
  const Judgement empty = Judge().look(counts(0, 0), counts(0, 0));
  EXPECT_EQ(empty.result, Result::kInconclusive);
  EXPECT_TRUE(std::isnan(empty.conditions[0].baseline));
}

// The by-hand mSPRT above (950/1000 against 900/1000: p = 8.95e-4) through the Judge.
TEST(Judge, SignificantDropBeyondToleranceFails) {
  Judge judge;
  const Judgement j = judge.look(counts(950, 1000), counts(900, 1000));
  EXPECT_EQ(j.result, Result::kFail);
  ASSERT_EQ(j.conditions.size(), 1u);
  const ConditionResult& c = j.conditions[0];
  EXPECT_EQ(c.result, Result::kFail);
  EXPECT_DOUBLE_EQ(c.baseline, 0.95);
  EXPECT_DOUBLE_EQ(c.observed, 0.9);
  EXPECT_DOUBLE_EQ(c.threshold, -0.02);
  EXPECT_NEAR(c.statistic, -4.2337713, 1e-6);
  EXPECT_NEAR(c.p_value, 8.9508400e-4, 1e-10);
  EXPECT_DOUBLE_EQ(c.alpha, 0.01);
  EXPECT_EQ(c.reason,
            "success_rate fail: canary 0.9 (900 of 1000 requests) against baseline 0.95 (950 of "
            "1000), a change of -0.05 beyond the tolerance of -0.02; mSPRT z = -4.234, likelihood "
            "ratio 1117, always-valid p = 0.0008951 <= alpha 0.01: a significant drop");
  EXPECT_EQ(j.reason, c.reason);
}

TEST(Judge, SignificantDropWithinTolerancePasses) {
  Judge judge;  // tolerance 0.02
  // 95% against 94% on 100,000 each: z = -9.8, p = 6.5e-20, but a drop of 1 point only.
  const Judgement j = judge.look(counts(95000, 100000), counts(94000, 100000));
  EXPECT_EQ(j.result, Result::kPass);
  EXPECT_NEAR(j.conditions[0].p_value, 6.4761954e-20, 1e-26);
  EXPECT_THAT(j.reason, HasSubstr("a change of -0.01 within the tolerance of -0.02"));
  EXPECT_THAT(j.reason, HasSubstr("a significant drop"));
  // A tolerance of 0 fails it.
  EXPECT_EQ(
      Judge({.success_tolerance = 0}).look(counts(95000, 100000), counts(94000, 100000)).result,
      Result::kFail);
}

TEST(Judge, NotSignificantPasses) {
  Judge judge;
  // 950/1000 against 945/1000: Lambda = 0.2214, 1 / Lambda > 1, p = 1.
  const Judgement j = judge.look(counts(950, 1000), counts(945, 1000));
  EXPECT_EQ(j.result, Result::kPass);
  EXPECT_EQ(j.conditions[0].p_value, 1);
  EXPECT_THAT(j.reason, HasSubstr("always-valid p = 1 > alpha 0.01: not significant"));
}

TEST(Judge, ABetterCanaryPasses) {
  Judge judge({.success_tolerance = 0});
  const Judgement j = judge.look(counts(900, 1000), counts(950, 1000));
  EXPECT_EQ(j.result, Result::kPass);
  EXPECT_THAT(j.reason, HasSubstr("but the canary is not worse"));
}

// Bounds {1, 2, 4}; baseline {100, 100, 0, 0}, canary {50, 50, 100, 0}.
//   p95 (rank 190 of 200): baseline 1 + 1 * 90/100 = 1.9; canary 2 + 2 * 90/100 = 3.8: +100%.
//   U = 50*(0 + 50) + 50*(100 + 50) + 100*(200 + 0) = 30000 of 40000 pairs; ties 150, 150, 100:
//   sum(t^3 - t) = 7749600; Var = 40000/12 * (401 - 7749600/(400*399)) = 1174812.03;
//   z = 10000 / 1083.8875 = 9.2260501; p = 1.4039796e-20 <= 0.01 / (1 x 2).
TEST(Judge, LatencyShiftFails) {
  const std::vector<double> bounds{1, 2, 4};
  Judge judge;
  const Judgement j = judge.look(counts(190, 200, bounds, {100, 100, 0, 0}),
                                 counts(190, 200, bounds, {50, 50, 100, 0}));
  EXPECT_EQ(j.result, Result::kFail);
  ASSERT_EQ(j.conditions.size(), 2u);
  EXPECT_EQ(j.conditions[0].result, Result::kPass);  // same success rate
  const ConditionResult& c = j.conditions[1];
  EXPECT_EQ(c.metric, "p95_latency");
  EXPECT_EQ(c.result, Result::kFail);
  EXPECT_DOUBLE_EQ(c.baseline, 1.9);
  EXPECT_DOUBLE_EQ(c.observed, 3.8);
  EXPECT_DOUBLE_EQ(c.threshold, 0.1);
  EXPECT_NEAR(c.statistic, 9.2260501, 1e-6);
  EXPECT_NEAR(c.p_value, 1.4039796e-20, 1e-26);
  EXPECT_DOUBLE_EQ(c.alpha, 0.005);
  EXPECT_EQ(c.reason,
            "p95_latency fail: canary 3.8 against baseline 1.9, a change of +100% beyond the "
            "tolerance of +10%; Mann-Whitney over 200 canary and 200 baseline latencies: U = "
            "30000, P(canary slower) = 0.75, z = 9.226, one-sided p = 1.404e-20 <= alpha 0.005 "
            "(latency look 1: 0.01 / (1 x 2)): significantly slower");
  EXPECT_EQ(j.reason, c.reason);  // the failing condition decides
  EXPECT_EQ(judge.latency_looks(), 1);
  // The second latency look is at 0.01 / 6.
  const Judgement second = judge.look(counts(190, 200, bounds, {100, 100, 0, 0}),
                                      counts(190, 200, bounds, {50, 50, 100, 0}));
  EXPECT_DOUBLE_EQ(second.conditions[1].alpha, 0.01 / 6);
  EXPECT_EQ(second.look, 2);
  judge.reset();
  EXPECT_EQ(judge.looks(), 0);
  EXPECT_EQ(judge.latency_looks(), 0);
}

TEST(Judge, LatencyWithinTolerancePasses) {
  // Bounds {1, 2}: baseline {100, 100, 0}: p95 1.9; canary {50, 100, 50}: p95 in +Inf, so the
  // highest finite bound 2: +5.3%, within 10%, though Mann-Whitney is significant.
  const std::vector<double> bounds{1, 2};
  Judge judge;
  const Judgement j =
      judge.look(counts(190, 200, bounds, {100, 100, 0}), counts(190, 200, bounds, {50, 100, 50}));
  EXPECT_EQ(j.result, Result::kPass);
  const ConditionResult& c = j.conditions[1];
  EXPECT_EQ(c.result, Result::kPass);
  EXPECT_LT(c.p_value, c.alpha);
  EXPECT_THAT(c.reason, HasSubstr("a change of +5.263% within the tolerance of +10%"));
  EXPECT_THAT(c.reason, HasSubstr("significantly slower"));
  // On a pass the reason carries every condition.
  EXPECT_THAT(j.reason, HasSubstr("success_rate pass"));
  EXPECT_THAT(j.reason, HasSubstr("; p95_latency pass"));
}

TEST(Judge, LatencyNeedsMatchingBucketsAndEnoughObservations) {
  Judge judge;
  // Different bounds: the latency condition cannot compare.
  Judgement j =
      judge.look(counts(190, 200, {1, 2}, {100, 100, 0}), counts(190, 200, {1, 3}, {100, 100, 0}));
  EXPECT_EQ(j.result, Result::kInconclusive);
  ASSERT_EQ(j.conditions.size(), 2u);
  EXPECT_EQ(j.conditions[0].result, Result::kPass);
  EXPECT_EQ(j.conditions[1].result, Result::kInconclusive);
  EXPECT_THAT(j.reason, HasSubstr("the cohorts' latency histograms differ"));
  // Buckets of the wrong size.
  j = judge.look(counts(190, 200, {1, 2}, {100, 100}), counts(190, 200, {1, 2}, {100, 100, 0}));
  EXPECT_EQ(j.conditions[1].result, Result::kInconclusive);
  // One cohort without a histogram.
  j = judge.look(counts(190, 200), counts(190, 200, {1, 2}, {100, 100, 0}));
  EXPECT_EQ(j.conditions[1].result, Result::kInconclusive);
  // Enough requests, too few latency observations.
  j = judge.look(counts(190, 200, {1, 2}, {10, 10, 0}), counts(190, 200, {1, 2}, {100, 100, 0}));
  EXPECT_EQ(j.conditions[1].result, Result::kInconclusive);
  EXPECT_THAT(j.conditions[1].reason,
              HasSubstr("too little traffic to judge (baseline 20 latency observations, canary "
                        "200; at least 100 in each are needed)"));
  EXPECT_DOUBLE_EQ(j.conditions[1].baseline, 1.9);  // the figures, for information
  EXPECT_DOUBLE_EQ(j.conditions[1].observed, 1.9);
  EXPECT_EQ(judge.latency_looks(), 0);  // the latency test has not run yet
  EXPECT_EQ(judge.looks(), 4);
}

TEST(Judge, OtherLatencyQuantiles) {
  const std::vector<double> bounds{1, 2, 4};
  Judge judge({.latency_metric = Metric::kP50Latency});
  const Judgement j = judge.look(counts(190, 200, bounds, {100, 100, 0, 0}),
                                 counts(190, 200, bounds, {50, 50, 100, 0}));
  const ConditionResult& c = j.conditions[1];
  EXPECT_EQ(c.metric, "p50_latency");
  EXPECT_DOUBLE_EQ(c.baseline, 1);  // rank 100: the top of the first bucket
  EXPECT_DOUBLE_EQ(c.observed, 2);  // rank 100: the top of the second
  EXPECT_EQ(c.result, Result::kFail);
}

}  // namespace
}  // namespace vigil::guardrail
