// vigil/alerting/rule.h: alerting and recording rules, built with a builder.
//
// A rule is one of:
//   - a C++ condition, a callable returning `bool`, `std::optional<double>` (the value; nullopt
//     means "not firing") or `std::vector<SeriesValue>` (one alert per series, for rules over
//     many label sets);
//   - a PromQL expression over the process's own registry (`expr`), as in a Prometheus rule file;
//   - a recording rule (`record` + `expr`): its result is stored as a series later rules read.
//
//   using namespace std::chrono_literals;
//   auto rule = vigil::alerting::AlertRule::builder()
//                   .name("high_error_rate")
//                   .description("Error rate {value}% above 5% on {labels.service}")
//                   .condition([&] { return error_rate.get() > 5.0; })
//                   .severity(vigil::alerting::Severity::kCritical)
//                   .labels({{"service", "api"}, {"env", "production"}})
//                   .for_duration(1min)
//                   .notification_channels({"slack", "email"})
//                   .cooldown(5min)
//                   .build();
//   auto promql = vigil::alerting::AlertRule::builder()
//                     .name("HighErrorRate")
//                     .expr("rate(errors_total[5m]) > 0.1")
//                     .for_duration(10min)
//                     .build();
//
// Templates: a C++ rule's description and annotations use the guides' braces over the alert's
// labels: `{value}`, `{value:.2f}` (a printf spec), `{labels.x}` or `{x}`; unknown names stay as
// written. A PromQL rule's labels and annotations are Go templates as in Prometheus rule files
// (`{{ $value | humanize }}`, `{{ $labels.job }}`, over the series' labels), parsed by build();
// an expansion error becomes the text "<error expanding template: ...>" and shows in the rule's
// health. The description becomes the `description` annotation (first, then the annotations in
// their order).
//
// Errors: build() throws vigil::Error naming the rule and what is wrong (no name, no condition
// and no expr, both, a bad label name, an expression that does not parse or that vigil does not
// evaluate in-process). Rules are immutable values once built; copying one is cheap (shared).
// Conditions run on the manager's worker threads: they must be thread-safe with respect to the
// application; they may throw (counted, shown in the rule's health) or hang (timed out).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vigil/alerting/alert.h"

namespace vigil::detail {
struct RuleDef;  // internal (src/alerting/rule_def.h)
}

namespace vigil::alerting {

// One series of a multi-series condition's result.
struct SeriesValue {
  LabelList labels;
  double value = 0;
};

class AlertRule {
 public:
  class Builder;
  static Builder builder();

  const std::string& name() const noexcept;
  const std::string& group() const noexcept;
  Severity severity() const noexcept;
  bool is_recording() const noexcept;
  bool is_promql() const noexcept;
  // The expression as written (empty for a C++ condition).
  const std::string& expr() const noexcept;
  std::chrono::milliseconds for_duration() const noexcept;
  std::chrono::milliseconds keep_firing_for() const noexcept;
  std::chrono::milliseconds cooldown() const noexcept;
  const std::vector<std::string>& notification_channels() const noexcept;

  // Internal.
  explicit AlertRule(std::shared_ptr<const detail::RuleDef> def) : def_(std::move(def)) {}
  const std::shared_ptr<const detail::RuleDef>& def() const noexcept { return def_; }

 private:
  std::shared_ptr<const detail::RuleDef> def_;
};

class AlertRule::Builder {
 public:
  Builder();
  ~Builder();
  Builder(Builder&&) noexcept;
  Builder& operator=(Builder&&) noexcept;

  Builder& name(std::string name);
  // The message: stored as the `description` annotation, a brace template.
  Builder& description(std::string text);
  Builder& message(std::string text) { return description(std::move(text)); }

  // The C++ condition (see the header comment for the three accepted return types).
  template <class F>
  Builder& condition(F fn) {
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_same_v<R, bool>) {
      return set_condition([fn = std::move(fn)]() mutable -> std::vector<SeriesValue> {
        if (fn()) return {SeriesValue{{}, 1.0}};
        return {};
      });
    } else if constexpr (std::is_convertible_v<R, std::optional<double>> &&
                         !std::is_arithmetic_v<R>) {
      return set_condition([fn = std::move(fn)]() mutable -> std::vector<SeriesValue> {
        std::optional<double> v = fn();
        if (v) return {SeriesValue{{}, *v}};
        return {};
      });
    } else {
      static_assert(std::is_convertible_v<R, std::vector<SeriesValue>>,
                    "a condition returns bool, std::optional<double> or "
                    "std::vector<SeriesValue>");
      return set_condition(
          [fn = std::move(fn)]() mutable -> std::vector<SeriesValue> { return fn(); });
    }
  }

  // A PromQL expression over the manager's registry (and recording rules' outputs). Parsed by
  // build().
  Builder& expr(std::string promql);
  // Makes this a recording rule writing series `metric_name` (needs expr()).
  Builder& record(std::string metric_name);

  Builder& severity(Severity severity);
  Builder& labels(LabelList labels);
  Builder& label(std::string name, std::string value);
  Builder& annotations(LabelList annotations);
  Builder& annotation(std::string name, std::string value);
  Builder& for_duration(std::chrono::milliseconds d);
  Builder& keep_firing_for(std::chrono::milliseconds d);
  // A firing alert of this rule is not notified again within `d` of its last notification
  // (also after resolving and firing again). Resolutions are always notified.
  Builder& cooldown(std::chrono::milliseconds d);
  Builder& notification_channels(std::vector<std::string> channels);
  // The group (self metrics, health, evaluation interval); default "default".
  Builder& group(std::string name);
  // Most alerts the rule may have (0: no limit); more is an error and drops them all.
  Builder& limit(int n);
  // Longest a C++ condition may run (0: the manager's condition_timeout).
  Builder& timeout(std::chrono::milliseconds d);

  AlertRule build();

 private:
  Builder& set_condition(std::function<std::vector<SeriesValue>()> fn);
  std::unique_ptr<detail::RuleDef> def_;
};

}  // namespace vigil::alerting
