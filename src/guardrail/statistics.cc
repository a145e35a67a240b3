// Placeholder (wt-gr-stats replaces it): mSPRT, Mann-Whitney, the Judge.
#include "vigil/guardrail/statistics.h"

#include "vigil/core/error.h"

namespace vigil::guardrail {

std::string_view result_name(Result) noexcept { return "unimplemented"; }
SequentialSuccessTest::SequentialSuccessTest(double alpha, double mixture_sd)
    : alpha_(alpha), mixture_variance_(mixture_sd * mixture_sd) {}
SuccessTestResult SequentialSuccessTest::update(uint64_t, uint64_t, uint64_t, uint64_t) {
  throw Error("SequentialSuccessTest: not implemented yet");
}
void SequentialSuccessTest::reset() { min_p_ = 1; }
MannWhitneyResult mann_whitney_buckets(std::span<const uint64_t>,
                                       std::span<const uint64_t>) noexcept {
  return {};
}
double look_alpha(double, int) noexcept { return 0; }
void validate(const JudgeOptions&) { throw Error("validate(JudgeOptions): not implemented yet"); }
Judge::Judge(JudgeOptions options)
    : options_(options), success_(options.success_alpha, options.mixture_sd) {}
Judgement Judge::look(const WindowCounts&, const WindowCounts&) {
  throw Error("Judge: not implemented yet");
}
void Judge::reset() { looks_ = 0; }

}  // namespace vigil::guardrail
