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
#include "alerting/promql/eval_internal.h"
#include "alerting/promql/parser.h"
#include "alerting/registry_sampler.h"
#include "alerting/rule_def.h"
#include "vigil/alerting/manager.h"
#include "vigil/core/error.h"
#include "vigil/metrics/collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::detail {
namespace {

namespace pq = alerting::promql;

class QueryRuleImpl;

// A stable key for a label set (sorted labels).
std::string key_of(const pq::Labels& labels) {
  std::string k;
  pq::eval_detail::labels_key(labels, k);
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

class QueryEngineImpl final : public QueryEngine {
 public:
  void set_rules(const std::vector<std::shared_ptr<const RuleDef>>& rules) override;
  void sample(const metrics::Registry& registry, int64_t t) override {
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
    sampler_.sample(registry, t, *storage_, wanted);
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
  alerting::RegistrySampler sampler_;
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
