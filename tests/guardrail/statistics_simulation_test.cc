// Simulations of the Judge (issue 11, section 5): A/A runs at several traffic levels stay within
// the stated false-positive rates; a 10-point success-rate drop is detected within 30 s; a +30%
// latency shift within 60 s; too little traffic is inconclusive.
//
// Seeded (std::mt19937_64, fixed seeds), so every run of the test sees the same draws. Counts per
// 10-second look come from Poisson/binomial/multinomial draws, not one draw per request. The
// number of runs is 10 times smaller in builds without NDEBUG (the ASan + UBSan CI build) and every
// bound is computed from the number of runs actually made. The measured figures are printed
// ("[ measured ]" lines) and quoted in docs/guardrails.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vigil/guardrail/statistics.h"

namespace vigil::guardrail {
namespace {

#ifdef NDEBUG
constexpr int kScale = 1;  // Release: the full number of runs
#else
constexpr int kScale = 10;  // Debug/ASan: a tenth of them
#endif

// The demo's agent_request_duration_seconds buckets (demo/gateway_metrics.cc).
const std::vector<double> kDemoBounds{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};

constexpr double kLookSeconds = 10;

struct Cohort {
  double success_rate = 0.95;
  double latency_median = 1.2;  // seconds, lognormal
  double latency_sigma = 0.6;
};

struct Scenario {
  double requests_per_second = 250;
  double canary_share = 0.5;
  Cohort baseline;
  Cohort canary;
  int looks = 60;
  // > 0: the baseline is a fixed window of this many seconds of all the traffic before the
  // release (drawn once, constant afterwards), as a monitor's "window" mode has it.
  double fixed_baseline_seconds = 0;
};

// Probabilities of the buckets (bounds.size() + 1, the last +Inf) for a lognormal latency.
std::vector<double> bucket_probabilities(const Cohort& c) {
  std::vector<double> p;
  double below = 0;
  for (const double bound : kDemoBounds) {
    const double z = (std::log(bound) - std::log(c.latency_median)) / c.latency_sigma;
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    p.push_back(cdf - below);
    below = cdf;
  }
  p.push_back(1 - below);
  return p;
}

class Simulator {
 public:
  explicit Simulator(uint64_t seed) : rng_(seed) {}

  uint64_t binomial(uint64_t n, double p) {
    if (n == 0 || p <= 0) return 0;
    if (p >= 1) return n;
    std::binomial_distribution<uint64_t> d(n, p);
    return d(rng_);
  }
  uint64_t poisson(double mean) {
    std::poisson_distribution<uint64_t> d(mean);
    return d(rng_);
  }
  // Adds n requests of cohort `c` to `w`: successes and latency buckets (multinomial as a chain
  // of binomials).
  void add(WindowCounts& w, uint64_t n, const Cohort& c, const std::vector<double>& probs) {
    w.requests += n;
    const uint64_t ok = binomial(n, c.success_rate);
    w.successes += ok;
    w.errors += n - ok;
    uint64_t left = n;
    double mass = 1;
    for (size_t i = 0; i < probs.size(); ++i) {
      const uint64_t k = i + 1 == probs.size() ? left : binomial(left, probs[i] / mass);
      w.buckets[i] += k;
      left -= k;
      mass -= probs[i];
      if (mass <= 0) mass = 0;
    }
  }

 private:
  std::mt19937_64 rng_;
};

WindowCounts empty_window() {
  WindowCounts w;
  w.bounds = kDemoBounds;
  w.buckets.assign(kDemoBounds.size() + 1, 0);
  return w;
}

// How one run went: the first look (1-based) at which each condition failed, 0 for never.
struct RunOutcome {
  int first_fail = 0;
  int first_success_fail = 0;
  int first_latency_fail = 0;
  int inconclusive_looks = 0;
  double latency_rise = 0;  // the latency condition's relative change at the last look
};

RunOutcome run(const Scenario& s, const JudgeOptions& options, Simulator& sim) {
  const std::vector<double> base_probs = bucket_probabilities(s.baseline);
  const std::vector<double> canary_probs = bucket_probabilities(s.canary);
  WindowCounts baseline = empty_window();
  WindowCounts canary = empty_window();
  Judge judge(options);
  RunOutcome out;
  const bool fixed = s.fixed_baseline_seconds > 0;
  if (fixed) {
    sim.add(baseline, sim.poisson(s.requests_per_second * s.fixed_baseline_seconds), s.baseline,
            base_probs);
  }
  for (int look = 1; look <= s.looks; ++look) {
    const uint64_t total = sim.poisson(s.requests_per_second * kLookSeconds);
    const uint64_t to_canary = sim.binomial(total, s.canary_share);
    if (!fixed) sim.add(baseline, total - to_canary, s.baseline, base_probs);
    sim.add(canary, to_canary, s.canary, canary_probs);
    const Judgement j = judge.look(baseline, canary);
    if (j.result == Result::kInconclusive) ++out.inconclusive_looks;
    for (const ConditionResult& c : j.conditions) {
      if (c.result != Result::kFail) continue;
      int& first = c.metric == "success_rate" ? out.first_success_fail : out.first_latency_fail;
      if (first == 0) first = look;
    }
    for (const ConditionResult& c : j.conditions) {
      if (c.metric != "success_rate") out.latency_rise = (c.observed - c.baseline) / c.baseline;
    }
    if (j.result == Result::kFail && out.first_fail == 0) out.first_fail = look;
  }
  return out;
}

// Many runs of one scenario: the fraction of runs in which the judge (or a condition) failed, the
// mean look of the first failure of the condition, the mean latency change at the last look.
struct Tally {
  int runs = 0;
  double fail = 0;
  double success_fail = 0;
  double latency_fail = 0;
  double mean_success_look = 0;  // over the runs where it failed
  double mean_latency_look = 0;
  double mean_latency_rise = 0;
};

Tally simulate(const Scenario& s, const JudgeOptions& options, uint64_t seed, int runs) {
  Simulator sim(seed);
  Tally t;
  t.runs = runs;
  int fails = 0;
  int success = 0;
  int latency = 0;
  double success_looks = 0;
  double latency_looks = 0;
  double rise = 0;
  for (int i = 0; i < runs; ++i) {
    const RunOutcome o = run(s, options, sim);
    fails += o.first_fail != 0;
    success += o.first_success_fail != 0;
    latency += o.first_latency_fail != 0;
    success_looks += o.first_success_fail;
    latency_looks += o.first_latency_fail;
    rise += o.latency_rise;
  }
  t.fail = static_cast<double>(fails) / runs;
  t.success_fail = static_cast<double>(success) / runs;
  t.latency_fail = static_cast<double>(latency) / runs;
  t.mean_success_look = success ? success_looks / success : 0;
  t.mean_latency_look = latency ? latency_looks / latency : 0;
  t.mean_latency_rise = rise / runs;
  return t;
}

// The largest rate of a binomial(runs, alpha) count that is not evidence against "the true rate
// is at most alpha": alpha + 3 standard deviations (a one-sided 0.13% chance of a false alarm of
// the test itself).
double upper_bound(double alpha, int runs) {
  return alpha + 3 * std::sqrt(alpha * (1 - alpha) / runs);
}

struct AaCase {
  double rps;
  double canary_share;
  uint64_t seed;
  double success_rate = 0.95;  // of both cohorts
};

class AaSimulation : public ::testing::TestWithParam<AaCase> {};

// A/A: no change, 60 looks of 10 s, tolerances 0 (so every significant result in the bad
// direction fails: the tests' own false-positive rates, with no help from the tolerances).
TEST_P(AaSimulation, FalsePositiveRatesWithinAlpha) {
  const AaCase& c = GetParam();
  const int runs = 1000 / kScale;
  const JudgeOptions options{.success_alpha = 0.05,
                             .latency_alpha = 0.05,
                             .success_tolerance = 0,
                             .latency_tolerance = 0,
                             .min_requests = 100};
  Scenario s{.requests_per_second = c.rps, .canary_share = c.canary_share};
  s.baseline.success_rate = c.success_rate;
  s.canary.success_rate = c.success_rate;
  const Tally t = simulate(s, options, c.seed, runs);
  std::printf(
      "[ measured ] A/A %g req/s, canary %g%%, success rate %g, %d runs x 60 looks: "
      "success_rate false positives %.4f (alpha 0.05), latency %.4f (alpha 0.05), either %.4f "
      "(<= 0.10)\n",
      c.rps, c.canary_share * 100, c.success_rate, runs, t.success_fail, t.latency_fail, t.fail);
  EXPECT_LE(t.success_fail, upper_bound(0.05, runs));
  EXPECT_LE(t.latency_fail, upper_bound(0.05, runs));
  EXPECT_LE(t.fail, upper_bound(0.10, runs));
}

INSTANTIATE_TEST_SUITE_P(
    TrafficLevels, AaSimulation,
    ::testing::Values(AaCase{20, 0.5, 1100}, AaCase{20, 0.1, 1101}, AaCase{250, 0.5, 1102},
                      AaCase{250, 0.1, 1103}, AaCase{2000, 0.5, 1104}, AaCase{2000, 0.1, 1105},
                      AaCase{20, 0.1, 1106, 0.995}, AaCase{250, 0.1, 1107, 0.995},
                      AaCase{20, 0.5, 1108, 0.5}),
    [](const ::testing::TestParamInfo<AaCase>& param_info) {
      return std::to_string(static_cast<int>(param_info.param.rps)) + "rps_canary" +
             std::to_string(static_cast<int>(param_info.param.canary_share * 100)) + "pct_success" +
             std::to_string(static_cast<int>(param_info.param.success_rate * 1000));
    });

// The default options (alpha 0.01 each, tolerances 2 points and +10%): A/A runs fail at most at
// 0.01 + 0.01.
TEST(JudgeSimulation, AaWithDefaultOptionsStaysQuiet) {
  const int runs = 500 / kScale;
  const Tally t =
      simulate({.requests_per_second = 250, .canary_share = 0.1}, JudgeOptions{}, 1200, runs);
  std::printf(
      "[ measured ] A/A default options, 250 req/s, canary 10%%, %d runs x 60 looks: fail rate "
      "%.4f (success_rate %.4f, latency %.4f; stated <= 0.01 + 0.01)\n",
      runs, t.fail, t.success_fail, t.latency_fail);
  EXPECT_LE(t.fail, upper_bound(0.02, runs));
}

// A/A against a fixed baseline window (the monitor's "window" mode): the baseline's estimation
// error never shrinks, so the sequential guarantees do not hold as stated; measured here, and the
// default tolerances keep the judge quiet.
TEST(JudgeSimulation, AaAgainstAFixedBaselineWindow) {
  const int runs = 500 / kScale;
  for (const double seconds : {60.0, 600.0}) {
    const Scenario s{
        .requests_per_second = 250, .canary_share = 0.1, .fixed_baseline_seconds = seconds};
    const Tally raw = simulate(s,
                               {.success_alpha = 0.05,
                                .latency_alpha = 0.05,
                                .success_tolerance = 0,
                                .latency_tolerance = 0},
                               1250, runs);
    const Tally quiet = simulate(s, JudgeOptions{}, 1251, runs);
    std::printf(
        "[ measured ] A/A, baseline a fixed window of %g s at 250 req/s, canary 10%% for 60 looks, "
        "%d runs: alpha 0.05 and tolerances 0: success_rate %.4f, latency %.4f; default options: "
        "fail rate %.4f\n",
        seconds, runs, raw.success_fail, raw.latency_fail, quiet.fail);
    EXPECT_LE(quiet.fail, upper_bound(0.02, runs));
  }
}

// A 10-point success-rate drop (0.95 -> 0.85) at 250 requests/s, detected within 30 s (3 looks
// of 10 s) in at least 95% of runs, with the default options.
TEST(JudgeSimulation, SuccessRateDropDetectedWithin30Seconds) {
  const int runs = 500 / kScale;
  uint64_t seed = 1300;
  for (const double share : {0.5, 0.1}) {
    Scenario s{.requests_per_second = 250, .canary_share = share, .looks = 3};
    s.canary.success_rate = 0.85;
    const Tally t = simulate(s, JudgeOptions{}, seed++, runs);
    std::printf(
        "[ measured ] success drop 0.95 -> 0.85, 250 req/s, canary %g%%, %d runs: detected "
        "within 30 s in %.4f of runs, mean detection look %.2f (x 10 s)\n",
        share * 100, runs, t.success_fail, t.mean_success_look);
    EXPECT_GE(t.success_fail, 0.95) << "canary share " << share;
  }
}

struct LatencyCase {
  double share;
  double median;  // of the baseline, seconds (sigma 0.6)
  uint64_t seed;
};

// +30% latency (every canary latency multiplied by 1.3; lognormal, sigma 0.6) binned into the
// demo's buckets, at 250 requests/s: detected within 60 s (6 looks) in at least 95% of runs. With
// a median of 1.2 s the p95 (3.2 s -> 4.2 s) lies in the bucket (2.5, 5]; interpolated in it,
// the measured rise is smaller than 30% but beyond the 10% tolerance.
TEST(JudgeSimulation, LatencyShiftDetectedWithin60Seconds) {
  const int runs = 500 / kScale;
  for (const LatencyCase& c : {LatencyCase{0.5, 1.2, 1400}, LatencyCase{0.1, 1.2, 1401}}) {
    Scenario s{.requests_per_second = 250, .canary_share = c.share, .looks = 6};
    s.baseline.latency_median = c.median;
    s.canary.latency_median = c.median * 1.3;
    const Tally t = simulate(s, JudgeOptions{}, c.seed, runs);
    std::printf(
        "[ measured ] latency x1.3 (median %g s), 250 req/s, canary %g%%, %d runs: p95 from the "
        "buckets rose by %.1f%% on average; detected within 60 s in %.4f of runs, mean "
        "detection look %.2f (x 10 s)\n",
        c.median, c.share * 100, runs, 100 * t.mean_latency_rise, t.latency_fail,
        t.mean_latency_look);
    EXPECT_GE(t.latency_fail, 0.95) << "canary share " << c.share;
    // The success rate did not change: its condition fails at most at its false-positive rate.
    EXPECT_LE(t.success_fail, upper_bound(0.01, runs));
  }
}

// The limit of measuring the effect on bucket quantiles: with a median of 0.65 s (sigma 0.6) the
// p95 (1.74 s -> 2.27 s) stays inside the wide bucket (1, 2.5], where the interpolated p95 rises
// by only about 8.4% (2.248 -> 2.438 by hand from the lognormal's bucket probabilities): within
// the 10% tolerance, so the Judge mostly passes although Mann-Whitney is significant. Measured and
// documented (docs/guardrails.md), not a goal.
TEST(JudgeSimulation, CoarseBucketsUnderstateALatencyShift) {
  const int runs = 100;
  Scenario s{.requests_per_second = 250, .canary_share = 0.5, .looks = 6};
  s.baseline.latency_median = 0.65;
  s.canary.latency_median = 0.65 * 1.3;
  const Tally t = simulate(s, JudgeOptions{}, 1450, runs);
  std::printf(
      "[ measured ] latency x1.3 (median 0.65 s), 250 req/s, canary 50%%, %d runs: p95 from the "
      "buckets rose by %.1f%% on average; failed within 60 s in %.4f of runs\n",
      runs, 100 * t.mean_latency_rise, t.latency_fail);
  EXPECT_NEAR(t.mean_latency_rise, 0.084, 0.01);
  EXPECT_LT(t.latency_fail, 0.5);  // only noisy early looks measure a rise above 10%
  // With a tolerance below the measured rise, it is detected.
  const Tally finer = simulate(s, JudgeOptions{.latency_tolerance = 0.03}, 1451, runs);
  std::printf("[ measured ]   with latency_tolerance 0.03: detected in %.4f of runs\n",
              finer.latency_fail);
  EXPECT_GE(finer.latency_fail, 0.95);
}

// 1 request/s for 60 s: 300 per cohort at most, a few dozen at the first looks. With
// min_requests 500 every look is inconclusive, even with a canary that fails everything.
TEST(JudgeSimulation, TooLittleTrafficIsInconclusive) {
  const int runs = 100;
  Simulator sim(1500);
  Scenario s{.requests_per_second = 1, .canary_share = 0.5, .looks = 60};
  s.canary.success_rate = 0;
  s.canary.latency_median = 10;
  for (int i = 0; i < runs; ++i) {
    const RunOutcome o = run(s, JudgeOptions{.min_requests = 500}, sim);
    EXPECT_EQ(o.first_fail, 0);
    EXPECT_EQ(o.inconclusive_looks, 60);
  }
  // With the default 100, the same bad canary fails once each cohort has 100 requests (200 s
  // would be needed at 0.5 req/s; 60 looks of 10 s give it 300).
  Simulator again(1501);
  const RunOutcome o = run(s, JudgeOptions{}, again);
  EXPECT_GT(o.first_fail, 15);
  EXPECT_GT(o.inconclusive_looks, 15);
}

}  // namespace
}  // namespace vigil::guardrail
