// The statistics behind a canary-versus-baseline verdict: the mSPRT for a drop in success rate,
// Mann-Whitney U over histogram buckets, and the Judge that combines them with tolerances.
#include "vigil/guardrail/statistics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "vigil/core/error.h"

namespace vigil::guardrail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A figure for a reason: whole numbers as they are ("30000"), others with 4 significant digits
// ("0.9512", "1.2e-30", "inf").
std::string num(double v) {
  char buf[32];
  const bool whole = std::abs(v) < 1e15 && v == std::trunc(v);
  const auto r = whole ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v))
                       : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 4);
  return std::string(buf, r.ptr);
}

// A relative change as a signed percentage ("+30.5%", "-2%", "+inf%").
std::string percent(double v) {
  std::string s = v >= 0 ? "+" : "";
  s += num(v * 100);
  s += '%';
  return s;
}

bool in_open_unit(double v) { return v > 0 && v < 1; }  // false for NaN

double rate(uint64_t part, uint64_t total) {
  return total == 0 ? kNaN : static_cast<double>(part) / static_cast<double>(total);
}

// Judge's constructor validates before its members are built.
const JudgeOptions& validated(const JudgeOptions& options) {
  validate(options);
  return options;
}

double quantile_of(Metric metric) {
  switch (metric) {
    case Metric::kP50Latency:
      return 0.5;
    case Metric::kP95Latency:
      return 0.95;
    case Metric::kP99Latency:
      return 0.99;
    default:
      return kNaN;
  }
}

// "baseline 50 requests, canary 37; at least 100 in each are needed"
std::string too_little(std::string_view metric, uint64_t baseline, uint64_t canary, uint64_t needed,
                       std::string_view what) {
  std::string s(metric);
  s += ": inconclusive, too little traffic to judge (baseline ";
  s += std::to_string(baseline);
  s += ' ';
  s += what;
  s += ", canary ";
  s += std::to_string(canary);
  s += "; at least ";
  s += std::to_string(needed);
  s += " in each are needed)";
  return s;
}

}  // namespace

std::string_view result_name(Result result) noexcept {
  switch (result) {
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kInconclusive:
      return "inconclusive";
    case Result::kError:
      return "error";
  }
  return "error";
}

// ---- the mSPRT -----------------------------------------------------------------------------

SequentialSuccessTest::SequentialSuccessTest(double alpha, double mixture_sd)
    : alpha_(alpha), mixture_variance_(mixture_sd * mixture_sd) {
  if (!in_open_unit(alpha)) {
    throw Error("SequentialSuccessTest: alpha must be in (0, 1), got " + num(alpha));
  }
  if (!(mixture_sd > 0) || !std::isfinite(mixture_sd)) {
    throw Error("SequentialSuccessTest: mixture_sd must be positive and finite, got " +
                num(mixture_sd));
  }
}

SuccessTestResult SequentialSuccessTest::update(uint64_t baseline_successes,
                                                uint64_t baseline_total, uint64_t canary_successes,
                                                uint64_t canary_total) {
  // A source read between two counters can see a success not yet counted in the total.
  baseline_successes = std::min(baseline_successes, baseline_total);
  canary_successes = std::min(canary_successes, canary_total);

  SuccessTestResult r;
  r.baseline_rate = rate(baseline_successes, baseline_total);
  r.canary_rate = rate(canary_successes, canary_total);
  r.difference = r.canary_rate - r.baseline_rate;
  if (baseline_total > 0 && canary_total > 0) {
    // Under no change, the observed difference d is approximately N(0, V). The variance comes
    // from the pooled rate with one pseudo-success and one pseudo-failure, so that rates of 0 or
    // 1 still give V > 0 (no infinities).
    const double nb = static_cast<double>(baseline_total);
    const double nc = static_cast<double>(canary_total);
    const double pooled =
        (static_cast<double>(baseline_successes + canary_successes) + 1) / (nb + nc + 2);
    const double v = pooled * (1 - pooled) * (1 / nb + 1 / nc);
    const double t2 = mixture_variance_;
    const double d = r.difference;
    r.z = d / std::sqrt(v);
    // Lambda = integral of N(d; theta, V) N(theta; 0, tau^2) dtheta / N(d; 0, V)
    //        = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))).
    const double log_lambda = 0.5 * std::log(v / (v + t2)) + t2 * d * d / (2 * v * (v + t2));
    r.likelihood_ratio = std::min(std::exp(log_lambda), std::numeric_limits<double>::max());
    min_p_ = std::min(min_p_, std::min(1.0, std::exp(-log_lambda)));
  }
  r.p_value = min_p_;
  r.significant = r.p_value <= alpha_ && r.difference < 0;
  return r;
}

void SequentialSuccessTest::reset() { min_p_ = 1; }

// ---- Mann-Whitney U over buckets -----------------------------------------------------------

MannWhitneyResult mann_whitney_buckets(std::span<const uint64_t> baseline,
                                       std::span<const uint64_t> canary) noexcept {
  MannWhitneyResult r;
  if (baseline.size() != canary.size()) return r;
  uint64_t n_baseline = 0;
  uint64_t n_canary = 0;
  double nb = 0;
  double nc = 0;
  double u = 0;     // canary's U: baseline observations below each canary one, ties counting 1/2
  double ties = 0;  // sum over tie groups (buckets) of t^3 - t
  for (size_t i = 0; i < baseline.size(); ++i) {
    const double b = static_cast<double>(baseline[i]);
    const double c = static_cast<double>(canary[i]);
    u += c * (nb + b / 2);
    nb += b;
    nc += c;
    n_baseline += baseline[i];
    n_canary += canary[i];
    const double t = b + c;
    ties += (t * t - 1) * t;
  }
  r.n_baseline = n_baseline;
  r.n_canary = n_canary;
  if (nb == 0 || nc == 0) return r;
  r.u = u;
  const double pairs = nb * nc;
  r.superiority = u / pairs;
  const double n = nb + nc;
  // Var(U) with mid-ranks: n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1))).
  const double variance = pairs / 12 * ((n + 1) - ties / (n * (n - 1)));
  if (!(variance > 0)) return r;  // every observation in one bucket: no evidence either way
  r.z = (u - pairs / 2) / std::sqrt(variance);
  r.p_value = 0.5 * std::erfc(r.z / std::sqrt(2.0));
  return r;
}

double look_alpha(double alpha, int look) noexcept {
  if (look < 1) return 0;
  const double k = look;
  return alpha / (k * (k + 1));
}

// ---- the Judge -----------------------------------------------------------------------------

void validate(const JudgeOptions& options) {
  if (!in_open_unit(options.success_alpha)) {
    throw Error("JudgeOptions.success_alpha must be in (0, 1), got " + num(options.success_alpha));
  }
  if (!in_open_unit(options.latency_alpha)) {
    throw Error("JudgeOptions.latency_alpha must be in (0, 1), got " + num(options.latency_alpha));
  }
  if (!(options.success_tolerance >= 0) || !std::isfinite(options.success_tolerance)) {
    throw Error("JudgeOptions.success_tolerance must be finite and >= 0 (an absolute drop), got " +
                num(options.success_tolerance));
  }
  if (!(options.latency_tolerance >= 0) || !std::isfinite(options.latency_tolerance)) {
    throw Error("JudgeOptions.latency_tolerance must be finite and >= 0 (a relative rise), got " +
                num(options.latency_tolerance));
  }
  if (std::isnan(quantile_of(options.latency_metric))) {
    throw Error(
        "JudgeOptions.latency_metric must be a latency (p50_latency, p95_latency or "
        "p99_latency), got " +
        std::string(metric_name(options.latency_metric)));
  }
  if (!(options.mixture_sd > 0) || !std::isfinite(options.mixture_sd)) {
    throw Error("JudgeOptions.mixture_sd must be positive and finite, got " +
                num(options.mixture_sd));
  }
}

Judge::Judge(JudgeOptions options)
    : options_(validated(options)), success_(options.success_alpha, options.mixture_sd) {}

void Judge::reset() {
  success_.reset();
  looks_ = 0;
  latency_looks_ = 0;
}

namespace {

ConditionResult judge_success(const JudgeOptions& o, SequentialSuccessTest& test,
                              const WindowCounts& baseline, const WindowCounts& canary) {
  ConditionResult c;
  c.metric = "success_rate";
  c.threshold = -o.success_tolerance;
  c.alpha = o.success_alpha;
  c.baseline = rate(baseline.successes, baseline.requests);
  c.observed = rate(canary.successes, canary.requests);
  const uint64_t needed = std::max<uint64_t>(o.min_requests, 1);
  if (baseline.requests < needed || canary.requests < needed) {
    c.result = Result::kInconclusive;
    c.reason = too_little(c.metric, baseline.requests, canary.requests, needed, "requests");
    return c;
  }
  const SuccessTestResult r =
      test.update(baseline.successes, baseline.requests, canary.successes, canary.requests);
  c.baseline = r.baseline_rate;
  c.observed = r.canary_rate;
  c.statistic = r.z;
  c.p_value = r.p_value;
  const bool beyond = -r.difference > o.success_tolerance;
  c.result = r.significant && beyond ? Result::kFail : Result::kPass;

  std::string s = "success_rate ";
  s += c.result == Result::kFail ? "fail" : "pass";
  s += ": canary " + num(r.canary_rate) + " (" + std::to_string(canary.successes) + " of " +
       std::to_string(canary.requests) + " requests) against baseline " + num(r.baseline_rate) +
       " (" + std::to_string(baseline.successes) + " of " + std::to_string(baseline.requests) +
       "), a change of " + num(r.difference) + ' ';
  s += beyond ? "beyond" : "within";
  s += " the tolerance of " + num(-o.success_tolerance) + "; mSPRT z = " + num(r.z) +
       ", likelihood ratio " + num(r.likelihood_ratio) + ", always-valid p = " + num(r.p_value);
  if (r.significant) {
    s += " <= alpha " + num(o.success_alpha) + ": a significant drop";
  } else if (r.p_value <= o.success_alpha) {
    s += " <= alpha " + num(o.success_alpha) + " but the canary is not worse";
  } else {
    s += " > alpha " + num(o.success_alpha) + ": not significant";
  }
  c.reason = std::move(s);
  return c;
}

bool same_histogram(const WindowCounts& a, const WindowCounts& b) {
  return a.bounds == b.bounds && a.buckets.size() == a.bounds.size() + 1 &&
         b.buckets.size() == b.bounds.size() + 1;
}

}  // namespace

Judgement Judge::look(const WindowCounts& baseline, const WindowCounts& canary) {
  Judgement j;
  j.look = ++looks_;
  j.baseline_requests = baseline.requests;
  j.canary_requests = canary.requests;
  j.conditions.push_back(judge_success(options_, success_, baseline, canary));

  if (!baseline.bounds.empty() || !canary.bounds.empty()) {
    ConditionResult c;
    c.metric = std::string(metric_name(options_.latency_metric));
    c.threshold = options_.latency_tolerance;
    c.alpha = look_alpha(options_.latency_alpha, latency_looks_ + 1);
    c.baseline = kNaN;
    c.observed = kNaN;
    const uint64_t needed = std::max<uint64_t>(options_.min_requests, 1);
    if (!same_histogram(baseline, canary)) {
      c.result = Result::kInconclusive;
      c.reason = c.metric + ": inconclusive, the cohorts' latency histograms differ (baseline " +
                 std::to_string(baseline.bounds.size()) + " bounds and " +
                 std::to_string(baseline.buckets.size()) + " buckets, canary " +
                 std::to_string(canary.bounds.size()) + " bounds and " +
                 std::to_string(canary.buckets.size()) + " buckets)";
    } else if (baseline.latency_count() < needed || canary.latency_count() < needed) {
      const double q = quantile_of(options_.latency_metric);
      c.baseline = bucket_quantile(q, baseline.bounds, baseline.buckets);  // for information
      c.observed = bucket_quantile(q, canary.bounds, canary.buckets);
      c.result = Result::kInconclusive;
      c.reason = too_little(c.metric, baseline.latency_count(), canary.latency_count(), needed,
                            "latency observations");
    } else {
      const int look = ++latency_looks_;
      const double q = quantile_of(options_.latency_metric);
      c.baseline = bucket_quantile(q, baseline.bounds, baseline.buckets);
      c.observed = bucket_quantile(q, canary.bounds, canary.buckets);
      double rise = 0;
      if (c.baseline > 0) {
        rise = (c.observed - c.baseline) / c.baseline;
      } else if (c.observed > 0) {
        rise = std::numeric_limits<double>::infinity();  // from 0 to anything
      }
      const MannWhitneyResult mw = mann_whitney_buckets(baseline.buckets, canary.buckets);
      c.statistic = mw.z;
      c.p_value = mw.p_value;
      const bool significant = mw.p_value <= c.alpha;
      const bool beyond = rise > options_.latency_tolerance;
      if (std::isnan(rise)) {
        c.result = Result::kInconclusive;
      } else {
        c.result = significant && beyond ? Result::kFail : Result::kPass;
      }
      std::string s = c.metric + ' ' + std::string(result_name(c.result)) + ": canary " +
                      num(c.observed) + " against baseline " + num(c.baseline) + ", a change of " +
                      percent(rise) + ' ';
      s += beyond ? "beyond" : "within";
      s += " the tolerance of " + percent(options_.latency_tolerance) + "; Mann-Whitney over " +
           std::to_string(mw.n_canary) + " canary and " + std::to_string(mw.n_baseline) +
           " baseline latencies: U = " + num(mw.u) + ", P(canary slower) = " + num(mw.superiority) +
           ", z = " + num(mw.z) + ", one-sided p = " + num(mw.p_value);
      s += significant ? " <= " : " > ";
      s += "alpha " + num(c.alpha) + " (latency look " + std::to_string(look) + ": " +
           num(options_.latency_alpha) + " / (" + std::to_string(look) + " x " +
           std::to_string(look + 1) + "))";
      s += significant ? ": significantly slower" : ": not significant";
      c.reason = std::move(s);
    }
    j.conditions.push_back(std::move(c));
  }

  bool any_fail = false;
  bool any_inconclusive = false;
  for (const ConditionResult& c : j.conditions) {
    any_fail |= c.result == Result::kFail;
    any_inconclusive |= c.result == Result::kInconclusive || c.result == Result::kError;
  }
  j.result = any_fail ? Result::kFail : any_inconclusive ? Result::kInconclusive : Result::kPass;
  // The deciding conditions' reasons: those with the overall result (all of them on a pass).
  for (const ConditionResult& c : j.conditions) {
    const bool deciding =
        c.result == j.result || (j.result == Result::kInconclusive && c.result == Result::kError);
    if (!deciding) continue;
    if (!j.reason.empty()) j.reason += "; ";
    j.reason += c.reason;
  }
  return j;
}

}  // namespace vigil::guardrail
