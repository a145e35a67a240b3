// Alertmanager's route tree (dispatch/route.go) and inhibition (inhibit/inhibit.go).
#include "vigil/alerting/routing.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "alerting/label_matcher.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::alerting {

namespace {

using vigil::detail::CompiledMatcher;
using vigil::detail::find_label;

using vigil::detail::append_go_quoted;

// The longest duration a route or resolve_timeout may have: the dispatcher adds them to
// system_clock time points (nanoseconds: about 292 years from the epoch).
constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 365 * 100);
std::string go_quote(std::string_view s) { return vigil::detail::go_quoted(s); }

// Alertmanager sorts a route's matchers by name, then value, then type (labels.Matchers.Less).
std::vector<LabelMatcher> sorted_matchers(std::vector<LabelMatcher> ms) {
  std::stable_sort(ms.begin(), ms.end(), [](const LabelMatcher& a, const LabelMatcher& b) {
    if (a.name != b.name) return a.name < b.name;
    if (a.value != b.value) return a.value < b.value;
    return a.type < b.type;
  });
  return ms;
}

// labels.Matcher.String(): name, operator, the value in double quotes with only \\, newline
// and " escaped (openMetricsEscape).
std::string matchers_string(const std::vector<LabelMatcher>& ms) {
  std::string out = "{";
  for (size_t i = 0; i < ms.size(); ++i) {
    if (i) out += ',';
    out += ms[i].name;
    out += to_string(ms[i].type);
    out += '"';
    for (char c : ms[i].value) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '"') {
        out += "\\\"";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
  return out;
}

// A compiled matcher; a regex that is only an alternation of plain strings ("prod|staging",
// the common case in routing trees) is matched by comparing strings instead of running RE2.
struct FastMatcher {
  CompiledMatcher c;
  std::vector<std::string> literals;
  bool literal = false;

  bool matches(const LabelList& labels) const {
    const std::string_view v = find_label(labels, c.m.name);
    if (!literal) return c.matches(v);
    const bool in = std::find(literals.begin(), literals.end(), v) != literals.end();
    return (c.m.type == MatchType::kRegexMatch) == in;
  }
};

bool plain_alternation(std::string_view re, std::vector<std::string>& out) {
  for (char ch : re) {
    const bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == ':' ||
                       ch == '/' || ch == ' ' || ch == ',' || ch == '=' || ch == '@' || ch == '|';
    if (!plain) return false;
  }
  size_t start = 0;
  while (true) {
    const size_t bar = re.find('|', start);
    out.emplace_back(re.substr(start, bar == std::string_view::npos ? re.npos : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return true;
}

std::vector<FastMatcher> compile_all(const std::vector<LabelMatcher>& ms,
                                     const std::string& where) {
  std::vector<FastMatcher> out;
  for (const LabelMatcher& m : ms) {
    std::string err;
    auto c = vigil::detail::compile_matcher(m, &err);
    if (!c) {
      throw Error(where + ": matcher " + m.name + std::string(to_string(m.type)) +
                  go_quote(m.value) + ": invalid regex: " + err);
    }
    FastMatcher f{std::move(*c), {}, false};
    if (m.type == MatchType::kRegexMatch || m.type == MatchType::kRegexNoMatch) {
      f.literal = plain_alternation(m.value, f.literals);
      if (!f.literal) f.literals.clear();
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool all_match(const std::vector<FastMatcher>& ms, const LabelList& labels) {
  for (const FastMatcher& m : ms) {
    if (!m.matches(labels)) return false;
  }
  return true;
}

// "file:14: route.routes[1]" when the config came from a file, "route.routes[1] (line 14)" when
// it has lines only, "route.routes[1]" when built in C++.
std::string where_of(const std::string& source, const std::string& path, int line) {
  if (line <= 0) return path;
  if (!source.empty()) return source + ":" + std::to_string(line) + ": " + path;
  return path + " (line " + std::to_string(line) + ")";
}

}  // namespace

LabelList RouteMatch::group_labels(const LabelList& alert_labels) const {
  LabelList out;
  if (group_by_all) {
    for (const auto& kv : alert_labels) {
      if (!kv.second.empty()) out.push_back(kv);
    }
    return out;
  }
  out.reserve(group_by.size());
  for (const std::string& name : group_by) {
    std::string_view v = find_label(alert_labels, name);
    if (!v.empty()) out.emplace_back(name, std::string(v));
  }
  return out;
}

std::string RouteMatch::group_key(const LabelList& group_labels) const {
  // model.LabelSet.String(): {a="x", b="y"} in name order.
  size_t size = key.size() + 3;
  for (const auto& [n, v] : group_labels) size += n.size() + v.size() + 5;
  std::string out;
  out.reserve(size);
  out += key;
  out += ":{";
  for (size_t i = 0; i < group_labels.size(); ++i) {
    if (i) out += ", ";
    out += group_labels[i].first;
    out += '=';
    append_go_quoted(out, group_labels[i].second);
  }
  out += '}';
  return out;
}

struct Router::Impl {
  struct Node {
    std::vector<FastMatcher> matchers;
    bool continue_matching = false;
    std::vector<size_t> children;  // indexes into nodes
  };
  RoutingConfig config;
  std::vector<RouteMatch> routes;  // depth first, same index as nodes
  std::vector<Node> nodes;

  void build(const Route& r, const RouteMatch* parent, const std::string& path,
             const std::set<std::string>& receivers, size_t index_in_parent) {
    (void)index_in_parent;
    const size_t idx = routes.size();
    RouteMatch m;
    if (parent) m = *parent;
    m.index = idx;
    const std::string where = where_of(config.source, path, r.line);
    if (!r.receiver.empty()) m.receiver = r.receiver;
    if (m.receiver.empty()) throw Error(where + ": root route must specify a default receiver");
    if (!receivers.count(m.receiver)) {
      throw Error(where + ": receiver \"" + m.receiver + "\" is not defined");
    }
    if (r.group_by) {
      m.group_by.clear();
      m.group_by_all = false;
      std::set<std::string> seen;
      for (const std::string& g : *r.group_by) {
        if (g == "...") {
          if (r.group_by->size() != 1) {
            throw Error(where + ": group_by: \"...\" must be the only entry");
          }
          m.group_by_all = true;
          continue;
        }
        if (g.empty()) throw Error(where + ": group_by: empty label name");
        if (!seen.insert(g).second) {
          throw Error(where + ": group_by: duplicated label \"" + g + "\"");
        }
        m.group_by.push_back(g);
      }
      std::sort(m.group_by.begin(), m.group_by.end());
    }
    auto positive = [&](const std::optional<std::chrono::milliseconds>& d, const char* name,
                        std::chrono::milliseconds& out, bool allow_zero) {
      if (!d) return;
      if (*d < std::chrono::milliseconds(0) ||
          (!allow_zero && *d == std::chrono::milliseconds(0))) {
        throw Error(where + ": " + name + " must be " + (allow_zero ? "non-negative" : "positive"));
      }
      if (*d > kMaxDuration) throw Error(where + ": " + name + " must be at most 100y");
      out = *d;
    };
    positive(r.group_wait, "group_wait", m.group_wait, true);
    positive(r.group_interval, "group_interval", m.group_interval, false);
    positive(r.repeat_interval, "repeat_interval", m.repeat_interval, false);
    const std::vector<LabelMatcher> sorted = sorted_matchers(r.matchers);
    m.key = parent ? parent->key + "/" + matchers_string(sorted) : matchers_string(sorted);
    Node node;
    node.matchers = compile_all(r.matchers, where);
    node.continue_matching = r.continue_matching;
    routes.push_back(m);
    nodes.push_back(std::move(node));
    for (size_t i = 0; i < r.routes.size(); ++i) {
      const size_t child = routes.size();
      nodes[idx].children.push_back(child);
      const RouteMatch parent_copy = routes[idx];
      build(r.routes[i], &parent_copy, path + ".routes[" + std::to_string(i) + "]", receivers, i);
    }
  }

  // Alertmanager's Route.Match.
  bool match(size_t idx, const LabelList& labels, std::vector<const RouteMatch*>& out) const {
    const Node& n = nodes[idx];
    if (!all_match(n.matchers, labels)) return false;
    const size_t before = out.size();
    for (size_t c : n.children) {
      const size_t had = out.size();
      const bool matched = match(c, labels, out);
      if (matched && out.size() > had && !nodes[c].continue_matching) break;
    }
    if (out.size() == before) out.push_back(&routes[idx]);
    return true;
  }
};

Router::Router(const RoutingConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
  std::set<std::string> receivers;
  const std::string& src = config.source;
  for (const ReceiverConfig& r : config.receivers) {
    if (r.name.empty())
      throw Error(where_of(src, "receivers", r.line) + ": a receiver needs a name");
    if (!receivers.insert(r.name).second) {
      throw Error(where_of(src, "receivers", r.line) + ": receiver \"" + r.name +
                  "\" is defined twice");
    }
  }
  if (!config.route.matchers.empty()) {
    throw Error(where_of(src, "route", config.route.line) +
                ": root route must not have any matchers");
  }
  if (config.route.continue_matching) {
    throw Error(where_of(src, "route", config.route.line) + ": cannot have continue in root route");
  }
  if (config.global.resolve_timeout < std::chrono::milliseconds(0) ||
      config.global.resolve_timeout > kMaxDuration) {
    throw Error((src.empty() ? std::string() : src + ": ") + "global" +
                ": resolve_timeout must be between 0 and 100y");
  }
  impl_->build(config.route, nullptr, "route", receivers, 0);
}

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

std::vector<const RouteMatch*> Router::match(const LabelList& labels) const {
  std::vector<const RouteMatch*> out;
  out.reserve(4);
  impl_->match(0, labels, out);
  if (out.empty()) out.push_back(&impl_->routes[0]);  // the root matches everything
  return out;
}

const std::vector<RouteMatch>& Router::routes() const noexcept { return impl_->routes; }
const RoutingConfig& Router::config() const noexcept { return impl_->config; }

// ---------------------------------------------------------------------------------------------
// Inhibition

struct Inhibitor::Impl {
  struct Source {
    LabelList labels;
    TimePoint ends_at;
    bool resolved = false;
  };
  struct Rule {
    std::vector<FastMatcher> source, target;
    std::vector<std::string> equal;
    std::unordered_map<uint64_t, Source> cache;  // source alerts by fingerprint
  };
  mutable std::shared_mutex mu;
  std::vector<Rule> rules;
};

Inhibitor::Inhibitor(const std::vector<InhibitRule>& rules) : impl_(std::make_unique<Impl>()) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const InhibitRule& r = rules[i];
    const std::string where = where_of("", "inhibit_rules[" + std::to_string(i) + "]", r.line);
    Impl::Rule rule;
    rule.source = compile_all(r.source_matchers, where + ": source_matchers");
    rule.target = compile_all(r.target_matchers, where + ": target_matchers");
    rule.equal = r.equal;
    impl_->rules.push_back(std::move(rule));
  }
}

Inhibitor::~Inhibitor() = default;
Inhibitor::Inhibitor(Inhibitor&&) noexcept = default;
Inhibitor& Inhibitor::operator=(Inhibitor&&) noexcept = default;

void Inhibitor::update(const NotifiedAlert& alert) {
  std::unique_lock lock(impl_->mu);
  for (Impl::Rule& r : impl_->rules) {
    if (!all_match(r.source, alert.labels)) continue;
    r.cache[alert.fingerprint] = Impl::Source{alert.labels, alert.ends_at, alert.resolved};
  }
}

void Inhibitor::gc(TimePoint now) {
  std::unique_lock lock(impl_->mu);
  for (Impl::Rule& r : impl_->rules) {
    for (auto it = r.cache.begin(); it != r.cache.end();) {
      const bool ended = it->second.resolved
                             ? true
                             : (it->second.ends_at != TimePoint{} && it->second.ends_at <= now);
      it = ended ? r.cache.erase(it) : std::next(it);
    }
  }
}

bool Inhibitor::muted(const LabelList& labels, TimePoint now, size_t* rule_index) const {
  std::shared_lock lock(impl_->mu);
  for (size_t i = 0; i < impl_->rules.size(); ++i) {
    const Impl::Rule& r = impl_->rules[i];
    if (!all_match(r.target, labels)) continue;
    // An alert that is a source of this rule is not muted by a source that is also a target
    // (Alertmanager's excludeTwoSidedMatch).
    const bool exclude_two_sided = all_match(r.source, labels);
    for (const auto& [fp, s] : r.cache) {
      if (s.resolved || (s.ends_at != TimePoint{} && s.ends_at <= now)) continue;
      bool equal = true;
      for (const std::string& n : r.equal) {
        if (find_label(s.labels, n) != find_label(labels, n)) {
          equal = false;
          break;
        }
      }
      if (!equal) continue;
      if (exclude_two_sided && all_match(r.target, s.labels)) continue;
      if (rule_index) *rule_index = i;
      return true;
    }
  }
  return false;
}

}  // namespace vigil::alerting
