// AlertRule and its builder.
#include "vigil/alerting/rule.h"

#include <utility>

#include "alerting/rule_def.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::alerting {

namespace {
const detail::RuleDef& empty_def() {
  static const detail::RuleDef def;
  return def;
}
}  // namespace

AlertRule::Builder AlertRule::builder() { return Builder(); }

#define VIGIL_RULE_DEF (def_ ? *def_ : empty_def())
const std::string& AlertRule::name() const noexcept { return VIGIL_RULE_DEF.name; }
const std::string& AlertRule::group() const noexcept { return VIGIL_RULE_DEF.group; }
Severity AlertRule::severity() const noexcept { return VIGIL_RULE_DEF.severity; }
bool AlertRule::is_recording() const noexcept { return VIGIL_RULE_DEF.recording; }
bool AlertRule::is_promql() const noexcept { return !VIGIL_RULE_DEF.expr.empty(); }
const std::string& AlertRule::expr() const noexcept { return VIGIL_RULE_DEF.expr; }
std::chrono::milliseconds AlertRule::for_duration() const noexcept {
  return VIGIL_RULE_DEF.for_duration;
}
std::chrono::milliseconds AlertRule::keep_firing_for() const noexcept {
  return VIGIL_RULE_DEF.keep_firing_for;
}
std::chrono::milliseconds AlertRule::cooldown() const noexcept { return VIGIL_RULE_DEF.cooldown; }
const std::vector<std::string>& AlertRule::notification_channels() const noexcept {
  return VIGIL_RULE_DEF.channels;
}
#undef VIGIL_RULE_DEF

AlertRule::Builder::Builder() : def_(std::make_unique<detail::RuleDef>()) {}
AlertRule::Builder::~Builder() = default;
AlertRule::Builder::Builder(Builder&&) noexcept = default;
AlertRule::Builder& AlertRule::Builder::operator=(Builder&&) noexcept = default;

#define VIGIL_BUILDER_SETTER(method, type, field)          \
  AlertRule::Builder& AlertRule::Builder::method(type v) { \
    def_->field = std::move(v);                            \
    return *this;                                          \
  }
VIGIL_BUILDER_SETTER(name, std::string, name)
VIGIL_BUILDER_SETTER(description, std::string, description)
VIGIL_BUILDER_SETTER(labels, LabelList, labels)
VIGIL_BUILDER_SETTER(annotations, LabelList, annotations)
VIGIL_BUILDER_SETTER(for_duration, std::chrono::milliseconds, for_duration)
VIGIL_BUILDER_SETTER(keep_firing_for, std::chrono::milliseconds, keep_firing_for)
VIGIL_BUILDER_SETTER(cooldown, std::chrono::milliseconds, cooldown)
VIGIL_BUILDER_SETTER(notification_channels, std::vector<std::string>, channels)
VIGIL_BUILDER_SETTER(group, std::string, group)
VIGIL_BUILDER_SETTER(limit, int, limit)
VIGIL_BUILDER_SETTER(timeout, std::chrono::milliseconds, timeout)
#undef VIGIL_BUILDER_SETTER

AlertRule::Builder& AlertRule::Builder::severity(Severity s) {
  def_->severity = s;
  def_->severity_set = true;
  return *this;
}

AlertRule::Builder& AlertRule::Builder::label(std::string name, std::string value) {
  def_->labels.emplace_back(std::move(name), std::move(value));
  return *this;
}

AlertRule::Builder& AlertRule::Builder::annotation(std::string name, std::string value) {
  def_->annotations.emplace_back(std::move(name), std::move(value));
  return *this;
}

AlertRule::Builder& AlertRule::Builder::record(std::string metric_name) {
  def_->recording = true;
  def_->name = std::move(metric_name);
  return *this;
}

AlertRule::Builder& AlertRule::Builder::set_condition(
    std::function<std::vector<SeriesValue>()> fn) {
  def_->condition = std::move(fn);
  return *this;
}

AlertRule AlertRule::Builder::build() {
  if (!def_) throw Error("alert rule: build() called twice on one builder");
  detail::RuleDef& d = *def_;
  const std::string what = "alert rule \"" + d.name + "\": ";
  if (d.name.empty()) throw Error("alert rule: a name is required");
  if (d.recording ? !metrics::is_valid_metric_name(d.name)
                  : !metrics::is_valid_metric_name(d.name) && d.expr.empty()) {
    // C++ rules and recording rules need a valid metric name (the alertname of PromQL rules may
    // be any string, as in Prometheus).
    throw Error(what + "name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (d.group.empty()) throw Error(what + "group must not be empty");
  const bool has_condition = static_cast<bool>(d.condition);
  const bool has_expr = !d.expr.empty();
  if (has_condition == has_expr) {
    throw Error(what + (has_condition ? "give a condition or an expr, not both"
                                      : "a condition or an expr is required"));
  }
  if (d.recording && !has_expr) throw Error(what + "a recording rule needs an expr");
  if (d.recording && (d.for_duration.count() != 0 || d.keep_firing_for.count() != 0 ||
                      !d.annotations.empty() || !d.description.empty())) {
    throw Error(what + "a recording rule has no for, keep_firing_for, description or annotations");
  }
  if (d.for_duration.count() < 0 || d.keep_firing_for.count() < 0 || d.cooldown.count() < 0 ||
      d.timeout.count() < 0) {
    throw Error(what + "durations must not be negative");
  }
  if (d.limit < 0) throw Error(what + "limit must not be negative");
  for (const auto& [k, v] : d.labels) {
    if (!metrics::is_valid_label_name(k) || k == "alertname") {
      throw Error(what + "invalid label name \"" + k + "\"");
    }
  }
  for (const auto& [k, v] : d.annotations) {
    if (!metrics::is_valid_label_name(k)) {
      throw Error(what + "invalid annotation name \"" + k + "\"");
    }
  }
  if (d.severity_set) {
    for (const auto& [k, v] : d.labels) {
      if (k == "severity" && v != to_string(d.severity)) {
        throw Error(what + "label severity=\"" + v + "\" contradicts severity(" +
                    std::string(to_string(d.severity)) + ")");
      }
    }
  }
  if (has_expr && d.parse != nullptr) d.parse(d);  // throws on a bad expression
  if (has_expr && !d.recording) {
    // Labels and annotations of PromQL rules are Go templates, as in Prometheus' rule files.
    auto parse = [&](const LabelList& list, const char* kind,
                     std::vector<std::shared_ptr<const tmpl::Template>>& out) {
      out.clear();
      for (const auto& [k, v] : list) {
        auto t = tmpl::Template::parse_alert(v, d.name);
        if (!t) throw Error(what + kind + " \"" + k + "\": " + t.error);
        out.push_back(std::make_shared<const tmpl::Template>(std::move(*t)));
      }
    };
    parse(d.labels, "label", d.label_templates);
    parse(d.annotations, "annotation", d.annotation_templates);
    if (!d.description.empty()) {
      std::vector<std::shared_ptr<const tmpl::Template>> one;
      parse(LabelList{{"description", d.description}}, "annotation", one);
      d.description_template = std::move(one[0]);
    }
  }
  std::shared_ptr<const detail::RuleDef> def(std::move(def_));
  return AlertRule(std::move(def));
}

}  // namespace vigil::alerting
