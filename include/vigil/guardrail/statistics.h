// vigil/guardrail/statistics.h: the statistics behind a canary-versus-baseline verdict.
//
// Two tests, each with a stated false-positive rate that holds however often it is looked at:
//   - success rate: a mixture sequential probability ratio test (mSPRT, normal mixture over the
//     difference of two proportions; Johari, Pekelis, Walsh, "Always valid inference", 2017).
//     Its always-valid p-value is the running minimum of 1/Lambda; "significant" when it falls
//     below alpha. Under no change, P(ever significant, over any number of looks) <= alpha
//     (asymptotically; the simulations in tests/guardrail/ measure it).
//   - latency: a one-sided Mann-Whitney U test on histogram buckets (ties within a bucket get
//     mid-ranks, tie-corrected variance), the k-th look at level alpha / (k (k + 1)): the looks'
//     levels sum to alpha, so P(ever significant) <= alpha by the union bound.
// A Judge combines them with effect-size tolerances, as Kayenta's judge does: a condition fails
// only when its test is significant in the bad direction AND the estimated effect exceeds the
// tolerance; passes when the test is not significant or the effect is within tolerance; and is
// inconclusive below min_requests in either cohort.
//
//   vigil::guardrail::Judge judge({.success_alpha = 0.01, .latency_alpha = 0.01});
//   // every interval, with cumulative counts since the canary started:
//   Judgement j = judge.look(stable_counts, canary_counts);
//   if (j.result == Result::kFail) rollback(j.reason);
//
// Thread-safety: the free functions are pure; a Judge or SequentialSuccessTest is not
// thread-safe (one per comparison, used from one thread or under a lock).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/guardrail/snapshot.h"

namespace vigil::guardrail {

// A check's outcome, as Argo Rollouts' analysis names them (plus kError for a check that could
// not measure: a missing family, a source error).
enum class Result { kPass, kFail, kInconclusive, kError };

// "pass", "fail", "inconclusive", "error".
std::string_view result_name(Result result) noexcept;

struct SuccessTestResult {
  double baseline_rate = 0;  // NaN without requests
  double canary_rate = 0;
  double difference = 0;        // canary_rate - baseline_rate
  double z = 0;                 // difference / its standard error (0 when undefined)
  double likelihood_ratio = 1;  // the mixture likelihood ratio Lambda at this look
  double p_value = 1;           // always-valid p-value: min over looks of 1 / Lambda
  bool significant = false;     // p_value <= alpha and difference < 0 (the canary is worse)
};

// The mSPRT for a drop in success rate, canary against baseline.
class SequentialSuccessTest {
 public:
  // alpha in (0, 1); mixture_sd > 0: the prior's standard deviation over the difference (the
  // size of drop the test is most sensitive to). Throws vigil::Error otherwise.
  explicit SequentialSuccessTest(double alpha = 0.01, double mixture_sd = 0.05);
  // One look with the cumulative counts since the comparison began (both never decreasing).
  SuccessTestResult update(uint64_t baseline_successes, uint64_t baseline_total,
                           uint64_t canary_successes, uint64_t canary_total);
  void reset();  // a new comparison
  double alpha() const noexcept { return alpha_; }

 private:
  double alpha_;
  double mixture_variance_;
  double min_p_ = 1;
};

struct MannWhitneyResult {
  uint64_t n_baseline = 0;
  uint64_t n_canary = 0;
  double u = 0;              // U of the canary: pairs (canary > baseline) + ties / 2
  double z = 0;              // (U - n1 n2 / 2) / sd with the tie correction (0 when undefined)
  double p_value = 1;        // one-sided: P(Z >= z), small when the canary is slower
  double superiority = 0.5;  // U / (n1 n2): P(canary slower than baseline) + ties / 2
};

// Mann-Whitney U over two histograms with the same buckets (non-cumulative counts, equal sizes;
// a size mismatch gives n = 0 and p_value 1).
MannWhitneyResult mann_whitney_buckets(std::span<const uint64_t> baseline,
                                       std::span<const uint64_t> canary) noexcept;

// alpha / (look * (look + 1)) for look >= 1: a level per look whose sum over all looks is alpha.
double look_alpha(double alpha, int look) noexcept;

struct JudgeOptions {
  double success_alpha = 0.01;      // false-positive rate of the success-rate condition
  double latency_alpha = 0.01;      // false-positive rate of the latency condition
  double success_tolerance = 0.02;  // an absolute drop up to this passes even when significant
  double latency_tolerance = 0.10;  // a relative rise of the quantile up to this passes
  Metric latency_metric = Metric::kP95Latency;  // the quantile the effect is measured on
  uint64_t min_requests = 100;                  // per cohort; fewer: inconclusive
  double mixture_sd = 0.05;                     // SequentialSuccessTest's mixture_sd
};

// Throws vigil::Error naming the option and the rule broken (alphas in (0, 1), tolerances >= 0
// and finite, latency_metric a latency, mixture_sd > 0).
void validate(const JudgeOptions& options);

// One condition of a verdict, with what it measured.
struct ConditionResult {
  std::string metric;  // "success_rate", "p95_latency", "error_rate", ...
  Result result = Result::kInconclusive;
  std::string reason;    // in words, with the figures
  double baseline = 0;   // the baseline's figure
  double observed = 0;   // the canary's (current) figure
  double threshold = 0;  // the limit or tolerance it was compared with
  double statistic = 0;  // z (or the change, for a plain threshold)
  double p_value = 1;    // the test's p-value (1 for a plain threshold)
  double alpha = 0;      // the level it was compared with (0 for a plain threshold)
};

struct Judgement {
  Result result = Result::kInconclusive;  // fail if any condition fails, else inconclusive if
                                          // any is, else pass
  std::string reason;                     // the deciding condition's reason (or a summary)
  std::vector<ConditionResult> conditions;
  uint64_t baseline_requests = 0;
  uint64_t canary_requests = 0;
  int look = 0;  // 1 for the first look of this comparison
};

// Canary against baseline, look after look.
class Judge {
 public:
  explicit Judge(JudgeOptions options = {});  // throws vigil::Error (see validate)
  // One look: the cumulative counts of both cohorts since the comparison began (a baseline taken
  // from a fixed window may stay constant). Latency is judged when both have the same buckets.
  Judgement look(const WindowCounts& baseline, const WindowCounts& canary);
  void reset();  // a new comparison (a new release, a new baseline)
  int looks() const noexcept { return looks_; }
  // Looks at which the latency test ran (both cohorts with enough observations and the same
  // buckets): the k in look_alpha(latency_alpha, k).
  int latency_looks() const noexcept { return latency_looks_; }
  const JudgeOptions& options() const noexcept { return options_; }

 private:
  JudgeOptions options_;
  SequentialSuccessTest success_;
  int looks_ = 0;
  int latency_looks_ = 0;
};

}  // namespace vigil::guardrail
