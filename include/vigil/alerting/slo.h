// vigil/alerting/slo.h: service level objectives and their multiwindow, multi-burn-rate alerts
// (the Google SRE workbook, "Alerting on SLOs", method 6).
//
//   using namespace std::chrono_literals;
//   auto slo = vigil::alerting::Slo::builder()
//                  .name("api-availability")
//                  .outcome_label("http_requests_total", "code", "5..")  // errors: code=~"5.."
//                  .filter("service", "api")
//                  .objective(0.999)
//                  .period(30 * 24h)
//                  .build();
//   vigil::alerting::add_slo(manager, slo);      // evaluated in-process over the registry
//   slo.write_rule_file("deploy/slo.yml");       // the same rules for Prometheus
//
// The SLI is one of:
//   - good/total from two counters (good_total), or errors/total (error_total);
//   - one counter with an outcome label: the series whose label matches a regex are errors
//     (outcome_label);
//   - latency below a threshold from a histogram: good = the bucket le="threshold", total = the
//     count (latency). The threshold must be one of the histogram's bucket bounds (a bound
//     written le="1" in the text format and le="1.0" in OpenMetrics matches both).
// Metric names are the names Prometheus scrapes (`requests_total`, `latency_seconds`), filters
// select the series (the same filters apply to good, error and total).
//
// rules() gives one RuleGroup ("slo:<name>") of PromQL rules, evaluated by the AlertManager over
// the registry's exact counts, and written out unchanged by to_rule_file():
//   - recording rules `slo:sli_error:ratio_rate<W>` (the error ratio over W, one per window:
//     5m 30m 1h 2h 6h 1d 3d for a 30 d period) and `slo:sli_total:increase<W>` (events over each
//     long window), labelled slo="<name>" plus the SLO's labels;
//   - two alerting rules: the page (severity critical) when the burn rate is above 14.4 over 1h
//     and 5m, or above 6 over 6h and 30m; the ticket (severity warning) above 3 over 1d and 2h,
//     or above 1 over 3d and 6h. Burn rate = error ratio / (1 - objective).
// For a period other than 30 d the windows stay and the burn rates keep the workbook's budget
// fractions: 2% of the budget in 1h, 5% in 6h, 10% in 1d, 10% in 3d (burn rate = fraction *
// period / long window), so 30 d gives exactly 14.4, 6, 3, 1. windows() replaces them all.
//
// Minimum-events guard: each window pair alerts only when the long window saw at least
// `min_events_per_hour` * (long window in hours) events (default 10 per hour: 10 in 1h, 60 in
// 6h, 240 in 1d, 720 in 3d), so a quiet service does not page on one failure among a handful of
// requests. 0 turns the guard off. A service quieter than that is better served by a longer
// window or synthetic traffic (the workbook's advice).
//
// Errors: build() throws vigil::Error naming the SLO and what is wrong: no name, no or two
// SLIs, an objective outside (0, 1), a period or window that is not positive, a latency
// threshold that is not a bucket bound (the message lists the bounds), a bad metric or label
// name. Thread-safety: an Slo is an immutable value; safe to share and copy.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vigil/alerting/alert.h"
#include "vigil/alerting/manager.h"
#include "vigil/metrics/family.h"
#include "vigil/metrics/histogram.h"

namespace vigil::alerting {

// One window pair of a multiwindow burn-rate alert: fires when the burn rate is above
// `burn_rate` over both the long and the short window.
struct SloWindow {
  std::chrono::milliseconds long_window{0};
  std::chrono::milliseconds short_window{0};
  double burn_rate = 0;
  Severity severity = Severity::kCritical;  // kCritical pages, anything else is a ticket
};

// The workbook's four window pairs for `period` (see the header comment).
std::vector<SloWindow> default_slo_windows(std::chrono::milliseconds period);

class Slo {
 public:
  class Builder;
  static Builder builder();

  const std::string& name() const noexcept;
  double objective() const noexcept;
  std::chrono::milliseconds period() const noexcept;
  const std::vector<SloWindow>& windows() const noexcept;
  const LabelList& labels() const noexcept;
  double min_events_per_hour() const noexcept;
  // The PromQL expressions of the error ratio and of the event count over `window`.
  std::string error_ratio_expr(std::chrono::milliseconds window) const;
  std::string total_expr(std::chrono::milliseconds window) const;
  // Recording-rule names: "slo:sli_error:ratio_rate5m", "slo:sli_total:increase1h".
  static std::string error_ratio_record(std::chrono::milliseconds window);
  static std::string total_record(std::chrono::milliseconds window);

  // The rules as a group for AlertManager::add_group (recording rules first).
  RuleGroup rules() const;
  // The same rules as a Prometheus rule file (YAML; passes `promtool check rules`).
  std::string to_rule_file() const;
  // Writes to_rule_file() to `path`; throws vigil::Error when it cannot.
  void write_rule_file(const std::string& path) const;

  struct Def;
  explicit Slo(std::shared_ptr<const Def> def) : def_(std::move(def)) {}

 private:
  std::shared_ptr<const Def> def_;
};

class Slo::Builder {
 public:
  Builder();
  ~Builder();
  Builder(Builder&&) noexcept;
  Builder& operator=(Builder&&) noexcept;

  // The SLO's name: the `slo` label of its series and alerts, and its group "slo:<name>".
  Builder& name(std::string name);
  // SLI: good events / total events, two counters (sample names, e.g. "requests_ok_total").
  Builder& good_total(std::string good_counter, std::string total_counter);
  // SLI: 1 - error events / total events.
  Builder& error_total(std::string error_counter, std::string total_counter);
  // SLI: one counter; its series whose `label` matches the regex `error_regex` (fully anchored,
  // as PromQL's =~) are errors.
  Builder& outcome_label(std::string counter, std::string label, std::string error_regex);
  // SLI: requests faster than `threshold` (the histogram's unit) / all requests. `histogram` is
  // the base name (without _bucket); `bounds` its finite bucket bounds.
  Builder& latency(std::string histogram, double threshold, std::vector<double> bounds);
  // The same for a histogram family of this process (name and bounds taken from it).
  Builder& latency(const metrics::Family<metrics::Histogram>& histogram, double threshold);
  // Selects series: label == value (repeatable; applies to good, error and total).
  Builder& filter(std::string label, std::string value);
  // Selects series with PromQL matchers as written, e.g. `env=~"prod|staging"` (repeatable).
  Builder& matchers(std::string promql_matchers);
  // The objective, in (0, 1), e.g. 0.999. Default 0.99.
  Builder& objective(double objective);
  // The SLO period; default 30 days.
  Builder& period(std::chrono::milliseconds period);
  // Replaces the default window pairs.
  Builder& windows(std::vector<SloWindow> windows);
  // Labels added to the SLO's series and alerts (after `slo`).
  Builder& labels(LabelList labels);
  Builder& label(std::string name, std::string value);
  // Minimum events per hour of the long window for an alert (see the header comment).
  Builder& min_events_per_hour(double events);
  // Alert names; default "SLOErrorBudgetBurnPage" and "SLOErrorBudgetBurnTicket".
  Builder& alert_names(std::string page, std::string ticket);
  // Evaluation interval of the group (0: the manager's / Prometheus' global interval).
  Builder& interval(std::chrono::milliseconds interval);
  // Annotations added to both alerts (Go templates, as in rule files).
  Builder& annotation(std::string name, std::string value);

  Slo build();

 private:
  std::unique_ptr<Def> def_;
};

// Adds the SLO's rules to `manager` (manager.add_group(slo.rules())).
void add_slo(AlertManager& manager, const Slo& slo);

}  // namespace vigil::alerting
