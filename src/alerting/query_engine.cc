// PromQL rules in the rule engine: Builder::expr(), the per-manager QueryEngine (the registry
// sampled into a MemoryStorage with Prometheus' series names, recording rules' outputs, ALERTS
// and ALERTS_FOR_STATE), and add_rule_file(). Reached only through rules built with expr(), so
// programs with C++ conditions only do not link the PromQL engine.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "alerting/promql/ast.h"
#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"
#include "alerting/rule_def.h"
#include "metrics/text_format.h"
#include "vigil/alerting/manager.h"
#include "vigil/core/error.h"
#include "vigil/metrics/collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::detail {
namespace {

namespace pq = alerting::promql;

class QueryRuleImpl;

// A stable key for a label set (sorted labels): name 0xff value 0xfe ...
std::string key_of(const pq::Labels& labels) {
  std::string k;
  for (const auto& [n, v] : labels) {
    k += n;
    k += '\xff';
    k += v;
    k += '\xfe';
  }
  return k;
}

// Series written by one writer (a recording rule, a rule's ALERTS): what it wrote last time, to
// write stale markers for what it no longer writes, as Prometheus' rule group does.
struct OutputSet {
  std::unordered_map<std::string, pq::Labels> last;

  void write(pq::MemoryStorage& storage, std::vector<std::pair<pq::Labels, double>> samples,
             int64_t t) {
    std::unordered_map<std::string, pq::Labels> now;
    for (auto& [labels, v] : samples) {
      pq::sort_labels(labels);
      storage.append(labels, t, v);
      now.emplace(key_of(labels), std::move(labels));
    }
    for (auto& [k, labels] : last) {
      if (now.count(k) == 0) storage.append(labels, t, pq::stale_nan());
    }
    last = std::move(now);
  }
  void clear(pq::MemoryStorage& storage, int64_t t) {
    for (auto& [k, labels] : last) storage.append(labels, t, pq::stale_nan());
    last.clear();
  }
};

// A series sampled from the registry: its Prometheus labels (sorted), built once, and the round
// that last saw it (series not seen in a round get a stale marker and are forgotten).
struct SampledSeries {
  pq::Labels labels;
  uint64_t round = 0;
};
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
// Keyed by sample name and the registry's label values (and le / quantile): found with one hash
// of a reused buffer, without building the label set again.
using SampledMap = std::unordered_map<std::string, SampledSeries, KeyHash, std::equal_to<>>;

// Collects a registry into the storage under Prometheus' sample names, only the names some rule
// may select.
class SampleSink final : public metrics::MetricSink {
 public:
  SampleSink(pq::MemoryStorage& storage, int64_t t,
             const std::function<bool(const std::string&)>& wanted, SampledMap& sampled,
             uint64_t round)
      : storage_(storage), t_(t), wanted_(wanted), sampled_(sampled), round_(round) {}

  void begin_family(const metrics::FamilyDesc& f) override {
    family_ = &f;
    base_ = std::string(f.name);
    const auto w = [&](const std::string& n) { return wanted_(n); };
    switch (f.type) {
      case metrics::MetricType::kCounter:
        names_ = {base_ + "_total"};
        break;
      case metrics::MetricType::kGauge:
        names_ = {base_};
        break;
      case metrics::MetricType::kHistogram:
        names_ = {base_ + "_bucket", base_ + "_sum", base_ + "_count"};
        break;
      case metrics::MetricType::kSummary:
        names_ = {base_, base_ + "_sum", base_ + "_count"};
        break;
      case metrics::MetricType::kInfo:
        names_ = {base_ + "_info"};
        break;
    }
    want_.clear();
    any_ = false;
    for (const std::string& n : names_) {
      want_.push_back(w(n));
      any_ = any_ || want_.back();
    }
  }
  void counter(metrics::LabelValues labels, double value, double) override {
    if (want_[0]) append(names_[0], labels, value);
  }
  void gauge(metrics::LabelValues labels, double value) override {
    if (want_[0]) append(names_[0], labels, value);
  }
  void histogram(metrics::LabelValues labels, const metrics::HistogramPoint& p) override {
    if (!any_) return;
    if (want_[0]) {
      std::string le;
      for (size_t i = 0; i <= p.bounds.size(); ++i) {
        le.clear();
        if (i < p.bounds.size()) {
          metrics::detail::append_label_number(le, p.bounds[i], false);
        } else {
          le = "+Inf";
        }
        const double count = i < p.cumulative.size() ? static_cast<double>(p.cumulative[i]) : 0.0;
        append(names_[0], labels, count, "le", le);
      }
    }
    if (want_[1]) append(names_[1], labels, p.sum);
    if (want_[2]) append(names_[2], labels, static_cast<double>(p.count));
  }
  void summary(metrics::LabelValues labels, const metrics::SummaryPoint& p) override {
    if (!any_) return;
    if (want_[0]) {
      for (const auto& [q, v] : p.quantiles) {
        std::string qs;
        metrics::detail::append_label_number(qs, q, false);
        append(names_[0], labels, v, "quantile", qs);
      }
    }
    if (want_[1]) append(names_[1], labels, p.sum);
    if (want_[2]) append(names_[2], labels, static_cast<double>(p.count));
  }
  void info(metrics::LabelValues labels) override {
    if (want_[0]) append(names_[0], labels, 1.0);
  }
  void end_family() override { family_ = nullptr; }

 private:
  void append(const std::string& name, metrics::LabelValues values, double v,
              std::string_view extra_name = {}, std::string_view extra_value = {}) {
    // The key: the sample name (unique per family, so it stands for the const labels too), the
    // label values and the extra label's value.
    key_.assign(name);
    for (size_t i = 0; i < values.size(); ++i) {
      key_ += '\xff';
      key_ += values[i];
    }
    key_ += '\xfe';
    key_ += extra_value;
    auto it = sampled_.find(std::string_view(key_));
    if (it == sampled_.end()) {
      pq::Labels labels;
      labels.reserve(family_->const_labels.size() + values.size() + 2);
      labels.emplace_back("__name__", name);
      for (const auto& kv : family_->const_labels) labels.push_back(kv);
      for (size_t i = 0; i < values.size() && i < family_->label_names.size(); ++i) {
        labels.emplace_back(family_->label_names[i], std::string(values[i]));
      }
      if (!extra_name.empty()) {
        labels.emplace_back(std::string(extra_name), std::string(extra_value));
      }
      pq::sort_labels(labels);
      it = sampled_.emplace(key_, SampledSeries{std::move(labels), round_}).first;
    }
    it->second.round = round_;
    storage_.append(it->second.labels, t_, v);
  }

  pq::MemoryStorage& storage_;
  const int64_t t_;
  const std::function<bool(const std::string&)>& wanted_;
  SampledMap& sampled_;
  const uint64_t round_;
  const metrics::FamilyDesc* family_ = nullptr;
  std::string base_;
  std::vector<std::string> names_;
  std::vector<bool> want_;
  bool any_ = false;
  std::string key_;
};

class QueryEngineImpl final : public QueryEngine {
 public:
  void set_rules(const std::vector<std::shared_ptr<const RuleDef>>& rules) override;
  void sample(const metrics::Registry& registry, int64_t t) override {
    const uint64_t round = ++round_;
    const std::function<bool(const std::string&)> wanted = [this](const std::string& name) {
      auto it = wanted_cache_.find(name);
      if (it != wanted_cache_.end()) return it->second;
      bool w = select_all_;
      for (const auto& ms : name_matchers_) {
        if (w) break;
        bool all = true;
        for (const pq::Matcher& m : ms) all = all && m.matches(name);
        w = all;
      }
      wanted_cache_.emplace(name, w);
      return w;
    };
    SampleSink sink(*storage_, t, wanted, sampled_, round);
    registry.collect(sink);
    // Series that disappeared from the registry: a stale marker, as a scrape would write.
    for (auto it = sampled_.begin(); it != sampled_.end();) {
      if (it->second.round == round) {
        ++it;
        continue;
      }
      storage_->append(it->second.labels, t, pq::stale_nan());
      it = sampled_.erase(it);
    }
    storage_->trim_before(t - retention_ms_);
  }
  bool evaluate(const RuleDef& rule, int64_t t, std::vector<SeriesValue>& out,
                std::string& error) override;
  void record(const RuleDef& rule, const std::vector<SeriesValue>& series, int64_t t) override {
    std::vector<std::pair<pq::Labels, double>> samples;
    for (const SeriesValue& s : series) samples.emplace_back(s.labels, s.value);
    outputs_[&rule].write(*storage_, std::move(samples), t);
  }
  void write_alerts(const RuleDef& rule, const std::vector<AlertSample>& alerts,
                    int64_t t) override {
    std::vector<std::pair<pq::Labels, double>> samples;
    for (const AlertSample& a : alerts) {
      pq::Labels l = a.labels;
      l.emplace_back("__name__", "ALERTS");
      l.emplace_back("alertstate", a.firing ? "firing" : "pending");
      samples.emplace_back(std::move(l), 1.0);
      pq::Labels f = a.labels;
      f.emplace_back("__name__", "ALERTS_FOR_STATE");
      samples.emplace_back(std::move(f), a.active_at_seconds);
    }
    outputs_[&rule].write(*storage_, std::move(samples), t);
  }
  void use_storage(pq::MemoryStorage* storage) override {
    storage_ = storage != nullptr ? storage : &own_storage_;
  }
  void remove_rule(const RuleDef& rule, int64_t t) override {
    auto it = outputs_.find(&rule);
    if (it == outputs_.end()) return;
    it->second.clear(*storage_, t);
    outputs_.erase(it);
  }

 private:
  pq::MemoryStorage own_storage_;
  pq::MemoryStorage* storage_ = &own_storage_;
  SampledMap sampled_;
  uint64_t round_ = 0;
  // Keyed by the rule's definition (alive as long as the manager holds the rule; removed rules
  // are passed to remove_rule before they go).
  std::unordered_map<const RuleDef*, OutputSet> outputs_;
  std::vector<std::vector<pq::Matcher>> name_matchers_;
  bool select_all_ = false;
  std::unordered_map<std::string, bool> wanted_cache_;
  int64_t retention_ms_ = 5 * 60 * 1000;
};

class QueryRuleImpl final : public QueryRule {
 public:
  explicit QueryRuleImpl(pq::ExprPtr expr) : expr_(std::move(expr)) {}
  std::unique_ptr<QueryEngine> make_engine() const override {
    return std::make_unique<QueryEngineImpl>();
  }
  const pq::Expr& expr() const { return *expr_; }

 private:
  pq::ExprPtr expr_;
};

void QueryEngineImpl::set_rules(const std::vector<std::shared_ptr<const RuleDef>>& rules) {
  name_matchers_.clear();
  select_all_ = false;
  wanted_cache_.clear();
  const int64_t lookback = pq::EvalOptions{}.lookback_delta_ms;
  int64_t longest = 0;
  for (const auto& r : rules) {
    if (!r->query) continue;
    const auto& q = static_cast<const QueryRuleImpl&>(*r->query);
    pq::for_each_selector(q.expr(), [&](const pq::Expr& sel) {
      std::vector<pq::Matcher> ms;
      for (const pq::Matcher& m : sel.matchers) {
        if (m.name == "__name__") ms.push_back(m);
      }
      if (ms.empty()) select_all_ = true;
      name_matchers_.push_back(std::move(ms));
      longest = std::max(longest, sel.range_ms + std::max<int64_t>(0, sel.offset_ms));
    });
  }
  retention_ms_ = longest + lookback;
}

bool QueryEngineImpl::evaluate(const RuleDef& rule, int64_t t, std::vector<SeriesValue>& out,
                               std::string& error) {
  const auto& q = static_cast<const QueryRuleImpl&>(*rule.query);
  pq::EvalResult r = pq::evaluate(q.expr(), *storage_, t);
  if (!r.ok()) {
    error = std::move(r.error);
    return false;
  }
  out.clear();
  if (r.type == pq::ValueType::kScalar) {
    out.push_back({{}, r.scalar});
  } else if (r.type == pq::ValueType::kVector) {
    out.reserve(r.vector.size());
    for (pq::VectorSample& s : r.vector) out.push_back({std::move(s.labels), s.v});
  } else {
    error = "rule result is not a vector or scalar";
    return false;
  }
  if (rule.recording) {
    // Prometheus' RecordingRule.Eval: __name__ and the rule's labels set on every sample.
    std::set<std::string> keys;
    for (SeriesValue& s : out) {
      pq::Labels l;
      for (auto& kv : s.labels) {
        if (kv.first != "__name__") l.push_back(std::move(kv));
      }
      for (const auto& label : rule.labels) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
        const std::string& k = label.first;
        const std::string& v = label.second;
        auto it = std::find_if(l.begin(), l.end(), [&](const auto& kv) { return kv.first == k; });
        if (it != l.end()) {
          it->second = v;
        } else {
          l.emplace_back(k, v);
        }
      }
      l.emplace_back("__name__", rule.name);
      pq::sort_labels(l);
      if (!keys.insert(key_of(l)).second) {
        error = "vector contains metrics with the same labelset after applying rule labels";
        return false;
      }
      s.labels = std::move(l);
    }
    if (rule.limit > 0 && out.size() > static_cast<size_t>(rule.limit)) {
      error = "exceeded limit of " + std::to_string(rule.limit) + " with " +
              std::to_string(out.size()) + " series";
      out.clear();
      return false;
    }
  }
  return true;
}

void parse_rule_expr(RuleDef& rule) {
  auto parsed = pq::parse(rule.expr);
  const std::string what =
      std::string(rule.recording ? "recording" : "alert") + " rule \"" + rule.name + "\": expr: ";
  if (!parsed) throw Error(what + parsed.error);
  const pq::ValueType type = (*parsed)->type;
  if (type != pq::ValueType::kVector && type != pq::ValueType::kScalar) {
    throw Error(what + "invalid expression type \"" + std::string(pq::to_string(type)) +
                "\", must be scalar or instant vector");
  }
  rule.query = std::make_shared<QueryRuleImpl>(std::move(*parsed));
}

}  // namespace
}  // namespace vigil::detail

namespace vigil::alerting {

AlertRule::Builder& AlertRule::Builder::expr(std::string promql) {
  def_->expr = std::move(promql);
  def_->parse = &detail::parse_rule_expr;
  return *this;
}

void AlertManager::add_rule_file(const RuleFile& file) {
  std::vector<RuleGroup> groups;
  for (const RuleGroupSpec& g : file.groups) {
    if ((g.interval.count() != 0 && g.interval < std::chrono::milliseconds(100)) || g.limit < 0) {
      throw Error(file.path + ":" + std::to_string(g.line) + ": group \"" + g.name +
                  "\": interval must be at least 100ms and limit not negative");
    }
    RuleGroup group;
    group.name = g.name;
    group.interval = g.interval;
    group.limit = g.limit;
    group.labels = g.labels;
    for (const RuleSpec& r : g.rules) {
      AlertRule::Builder b = AlertRule::builder();
      if (r.is_alert()) {
        b.name(r.alert)
            .expr(r.expr)
            .for_duration(r.for_duration)
            .keep_firing_for(r.keep_firing_for)
            .annotations(r.annotations);
      } else {
        b.record(r.record).expr(r.expr);
      }
      b.labels(r.labels).group(g.name);
      try {
        group.rules.push_back(b.build());
      } catch (const Error& e) {
        throw Error(file.path + ":" + std::to_string(r.line) + ": group \"" + g.name +
                    "\": " + e.what());
      }
    }
    groups.push_back(std::move(group));
  }
  for (RuleGroup& g : groups) add_group(std::move(g));
}

}  // namespace vigil::alerting
