// src/alerting/rule_def.h (internal, namespace vigil::detail so that alerting's internal headers
// keep meaning vigil::detail by `detail::`): what an AlertRule holds, and the interface through
// which the manager evaluates PromQL rules without depending on the PromQL engine at link time (the
// engine is reached only through rules built with expr(), see query_engine.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "alerting/template.h"
#include "vigil/alerting/rule.h"

namespace vigil::metrics {
class Registry;
}

namespace vigil::detail {

using alerting::LabelList;
using alerting::SeriesValue;
using alerting::Severity;

class QueryEngine;

// A parsed PromQL expression of a rule.
class QueryRule {
 public:
  virtual ~QueryRule() = default;
  // Creates the engine the manager keeps (one per manager: registry samples, recorded series).
  virtual std::unique_ptr<QueryEngine> make_engine() const = 0;
};

// Per-manager PromQL state: the sampled registry history and recorded series.
class QueryEngine {
 public:
  virtual ~QueryEngine() = default;
  // The rule set changed: recompute which series to keep and for how long.
  virtual void set_rules(const std::vector<std::shared_ptr<const RuleDef>>& rules) = 0;
  // Samples the registry at `t_ms` (only the series the rules select).
  virtual void sample(const metrics::Registry& registry, int64_t t_ms) = 0;
  // Evaluates a rule's expression at `t_ms`. On error returns false with `error` set.
  virtual bool evaluate(const RuleDef& rule, int64_t t_ms, std::vector<SeriesValue>& out,
                        std::string& error) = 0;
  // A recording rule's output (labels already include __name__), appended for later rules; series
  // it wrote last time and not now get a stale marker.
  virtual void record(const RuleDef& rule, const std::vector<SeriesValue>& series,
                      int64_t t_ms) = 0;
  // ALERTS / ALERTS_FOR_STATE samples of an alerting rule (labels without __name__; state
  // "pending" or "firing"; active_at in seconds), with stale markers for the ones gone.
  struct AlertSample {
    LabelList labels;
    bool firing = false;
    double active_at_seconds = 0;
  };
  virtual void write_alerts(const RuleDef& rule, const std::vector<AlertSample>& alerts,
                            int64_t t_ms) = 0;
  // Forgets a removed rule's outputs (stale markers).
  virtual void remove_rule(const RuleDef& rule, int64_t t_ms) = 0;
};

struct RuleDef {
  std::string name;  // alert name, or the recorded metric name
  std::string group = "default";
  std::string description;  // brace template (C++ rules)
  Severity severity = Severity::kWarning;
  bool severity_set = false;
  LabelList labels;       // in the order given
  LabelList annotations;  // in the order given
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  std::chrono::milliseconds cooldown{0};
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> channels;
  int limit = 0;
  std::chrono::milliseconds interval{0};  // group interval (0: the manager's)

  std::function<std::vector<SeriesValue>()> condition;  // C++ rules
  bool recording = false;
  std::string expr;                        // PromQL rules
  std::shared_ptr<const QueryRule> query;  // set when expr is parsed
  // PromQL rules: the labels' and annotations' Go templates, parsed by build() (same order as
  // `labels` / `annotations`).
  std::vector<std::shared_ptr<const alerting::tmpl::Template>> label_templates;
  std::vector<std::shared_ptr<const alerting::tmpl::Template>> annotation_templates;
  std::shared_ptr<const alerting::tmpl::Template> description_template;
  // Set by Builder::expr() (defined with the PromQL engine): parses `expr` into `query` at
  // build(). A pointer so that C++-condition-only programs do not link the PromQL engine.
  void (*parse)(RuleDef& rule) = nullptr;
};

}  // namespace vigil::detail
