// Prometheus rule files (see vigil/alerting/rule_file.h). The checks follow Prometheus 2.42's
// model/rulefmt (strict YAML decoding into RuleGroups, then RuleGroups.Validate and the template
// parse test) and are compared with `promtool check rules` in tests/alerting/rule_file_test.cc.
#include "vigil/alerting/rule_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "alerting/promql/parser.h"
#include "alerting/template.h"
#include "alerting/yaml_support.h"

namespace vigil::alerting {
namespace {

using yaml_support::go_tag;
using yaml_support::line_of;
using yaml_support::quoted;
using yaml_support::valid_label_name;
using yaml_support::valid_utf8;

// At most this many YAML nodes are looked at: aliases can make a small file look huge.
constexpr std::size_t kMaxNodes = 5'000'000;

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

struct Entry {
  std::string key;
  YAML::Node value;
  int line = 0;
};

class Loader {
 public:
  explicit Loader(std::string name) : name_(std::move(name)) {}

  RuleFileResult run(std::string_view text) {
    RuleFileResult result;
    std::size_t bad = 0;
    if (!valid_utf8(text, bad)) {
      const int line = 1 + static_cast<int>(std::count(
                               text.begin(), text.begin() + static_cast<long>(bad), '\n'));
      error(line, "", "invalid UTF-8 (byte " + std::to_string(bad) + ")");
      return finish(std::move(result));
    }
    YAML::Node root;
    int yaml_line = 0;
    std::string yaml_error;
    if (!yaml_support::load_yaml(text, root, yaml_line, yaml_error)) {
      error(yaml_line, "", yaml_error);
      return finish(std::move(result));
    }
    RuleFile file;
    file.path = name_;
    try {
      load_root(root, file);
    } catch (const YAML::Exception& e) {  // not expected: the loader checks types first
      error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "yaml: " + e.msg);
    }
    if (errors_.empty()) result.file = std::move(file);
    return finish(std::move(result));
  }

 private:
  std::string name_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::size_t nodes_ = 0;

  RuleFileResult finish(RuleFileResult r) {
    r.errors = std::move(errors_);
    r.warnings = std::move(warnings_);
    if (!r.errors.empty()) r.file.reset();
    return r;
  }

  std::string prefix(int line, const std::string& where) const {
    std::string s = name_;
    if (line > 0) s += ":" + std::to_string(line);
    s += ": ";
    if (!where.empty()) s += where + ": ";
    return s;
  }
  void error(int line, const std::string& where, const std::string& msg) {
    errors_.push_back(prefix(line, where) + msg);
  }
  void warning(int line, const std::string& where, const std::string& msg) {
    warnings_.push_back(prefix(line, where) + msg);
  }

  bool budget(const std::string& where, int line) {
    if (++nodes_ > kMaxNodes) {
      if (nodes_ == kMaxNodes + 1) error(line, where, "document too large (excessive aliasing?)");
      return false;
    }
    return true;
  }

  // The entries of a mapping: duplicate keys are errors (as in yaml.v3), merge keys (<<) merged.
  std::vector<Entry> entries(const YAML::Node& map, const std::string& where) {
    std::vector<Entry> out;
    std::map<std::string, int> seen;
    std::vector<YAML::Node> merges;
    for (const auto& kv : map) {
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      if (!budget(where, line_of(k))) break;
      if (!k.IsScalar() && !k.IsNull()) {
        error(line_of(k), where, "cannot use a " + go_tag(k) + " as a mapping key");
        continue;
      }
      const std::string key = k.IsNull() ? "" : k.Scalar();
      const std::string tag = k.Tag();
      if (key == "<<" && tag == "?") {
        merges.push_back(v);
        continue;
      }
      auto [pos, fresh] = seen.emplace(key, line_of(k));
      if (!fresh) {
        error(line_of(k), where,
              "mapping key " + quoted(key) + " already defined at line " +
                  std::to_string(pos->second));
        continue;
      }
      out.push_back(Entry{key, v, line_of(k)});
    }
    for (const YAML::Node& m : merges) {
      std::vector<YAML::Node> maps;
      if (m.IsMap()) {
        maps.push_back(m);
      } else if (m.IsSequence()) {
        for (const YAML::Node& x : m) maps.push_back(x);
      }
      for (const YAML::Node& x : maps) {
        if (!x.IsMap()) {
          error(line_of(x), where, "map merge requires map or sequence of maps as the value");
          continue;
        }
        for (const auto& kv : x) {
          const YAML::Node k = kv.first;
          const YAML::Node v = kv.second;
          if (!budget(where, line_of(k))) break;
          if (!k.IsScalar()) continue;
          const std::string key = k.Scalar();
          if (seen.emplace(key, line_of(k)).second) out.push_back(Entry{key, v, line_of(k)});
        }
      }
    }
    return out;
  }

  // A Go `string` field: any scalar, null is "".
  bool string_of(const YAML::Node& n, const std::string& where, std::string& out) {
    if (n.IsNull()) {
      out.clear();
      return true;
    }
    if (n.IsScalar()) {
      out = n.Scalar();
      return true;
    }
    error(line_of(n), where, "cannot unmarshal " + go_tag(n) + " into string");
    return false;
  }

  // A yaml.Node field read as its scalar value ("" for null, sequences and mappings).
  static std::string node_value(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : ""; }

  bool duration_of(const YAML::Node& n, const std::string& where, const std::string& field,
                   std::chrono::milliseconds& out) {
    std::string s;
    if (!string_of(n, where, s)) return false;
    if (n.IsNull() || s.empty()) {
      if (!n.IsNull()) {
        error(line_of(n), where, field + ": empty duration string");
        return false;
      }
      out = std::chrono::milliseconds(0);
      return true;
    }
    auto d = promql::parse_duration(s);
    if (!d) {
      error(line_of(n), where, field + ": " + d.error);
      return false;
    }
    // Prometheus holds durations in int64 nanoseconds and refuses longer ones (about 292y); the
    // manager compares them with nanosecond time points, where they would overflow.
    if (*d > std::numeric_limits<int64_t>::max() / 1'000'000) {
      error(line_of(n), where, field + ": duration out of range");
      return false;
    }
    out = std::chrono::milliseconds(*d);
    return true;
  }

  bool int_of(const YAML::Node& n, const std::string& where, const std::string& field, int& out) {
    if (n.IsNull()) {
      out = 0;
      return true;
    }
    const std::string tag = go_tag(n);
    if (tag == "!!int") {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(n.Scalar().c_str(), &end, 0);
      if (errno == 0 && v >= INT32_MIN && v <= INT32_MAX) {
        out = static_cast<int>(v);
        return true;
      }
    } else if (tag == "!!float") {
      const double d = std::strtod(n.Scalar().c_str(), nullptr);
      if (std::isfinite(d) && d >= INT32_MIN && d <= INT32_MAX) {
        out = static_cast<int>(d);  // yaml.v3 truncates a float into an int
        return true;
      }
    }
    const std::string shown = n.IsScalar() ? " `" + n.Scalar() + "`" : "";
    error(line_of(n), where, field + ": cannot unmarshal " + tag + shown + " into int");
    return false;
  }

  bool labels_of(const YAML::Node& n, const std::string& where, const std::string& field,
                 std::vector<std::pair<Entry, std::string>>& out) {
    if (n.IsNull()) return true;
    if (!n.IsMap()) {
      error(line_of(n), where,
            field + ": cannot unmarshal " + go_tag(n) + " into map[string]string");
      return false;
    }
    bool ok = true;
    for (Entry& e : entries(n, where)) {
      std::string v;
      if (!string_of(e.value, where + (where.empty() ? "" : ", ") + field + " " + quoted(e.key),
                     v)) {
        ok = false;
        continue;
      }
      out.emplace_back(std::move(e), std::move(v));
    }
    return ok;
  }

  void load_root(const YAML::Node& root, RuleFile& file) {
    if (root.IsNull()) return;  // empty file, comments only, "---": no groups, as promtool
    if (!root.IsMap()) {
      error(line_of(root), "",
            "cannot unmarshal " + go_tag(root) +
                (root.IsScalar() ? " `" + root.Scalar() + "`" : "") +
                " into a rule file (a mapping with `groups:`)");
      return;
    }
    YAML::Node groups;
    for (const Entry& e : entries(root, "")) {
      if (e.key == "groups") {
        groups = e.value;
      } else {
        error(e.line, "", "unknown field " + quoted(e.key) + " (a rule file has only `groups`)");
      }
    }
    if (!groups || groups.IsNull()) return;
    if (!groups.IsSequence()) {
      error(line_of(groups), "",
            "groups: cannot unmarshal " + go_tag(groups) + " into a list of groups");
      return;
    }
    std::map<std::string, int> names;
    for (const YAML::Node& g : groups) {
      if (!budget("", line_of(g))) return;
      if (g.IsNull()) continue;  // yaml.v3 drops null items
      RuleGroupSpec spec;
      if (load_group(g, spec)) {
        auto [it, fresh] = names.emplace(spec.name, spec.line);
        if (!fresh && !spec.name.empty()) {
          error(spec.line, "", "groupname: " + quoted(spec.name) + " is repeated in the same file");
        }
        file.groups.push_back(std::move(spec));
      }
    }
    // promtool's lint: rules with the same name and labels (exit status 0, a warning).
    std::map<std::pair<std::string, LabelList>, int> rules_seen;
    for (const RuleGroupSpec& g : file.groups) {
      for (const RuleSpec& r : g.rules) {
        LabelList labels = r.labels;
        std::sort(labels.begin(), labels.end());
        const std::string name = r.is_alert() ? r.alert : r.record;
        auto [it, fresh] = rules_seen.emplace(std::make_pair(name, std::move(labels)), r.line);
        if (!fresh) {
          warning(r.line, "group " + quoted(g.name) + ", rule " + quoted(name),
                  "duplicate rule: same name and labels as the rule at line " +
                      std::to_string(it->second));
        }
      }
    }
  }

  bool load_group(const YAML::Node& g, RuleGroupSpec& spec) {
    spec.line = line_of(g);
    if (!g.IsMap()) {
      error(line_of(g), "",
            "cannot unmarshal " + go_tag(g) + (g.IsScalar() ? " `" + g.Scalar() + "`" : "") +
                " into a rule group");
      return false;
    }
    const std::vector<Entry> fields = entries(g, "");
    // the name first, for the messages
    int name_line = spec.line;
    for (const Entry& e : fields) {
      if (e.key == "name") {
        string_of(e.value, "", spec.name);
        name_line = line_of(e.value) ? line_of(e.value) : e.line;
      }
    }
    const std::string where = "group " + quoted(spec.name);
    YAML::Node rules;
    for (const Entry& e : fields) {
      if (e.key == "name") continue;
      if (e.key == "interval") {
        duration_of(e.value, where, "interval", spec.interval);
      } else if (e.key == "limit") {
        int_of(e.value, where, "limit", spec.limit);
      } else if (e.key == "rules") {
        rules = e.value;
      } else if (e.key == "labels") {
        std::vector<std::pair<Entry, std::string>> labels;
        if (labels_of(e.value, where, "labels", labels)) {
          for (auto& [le, v] : labels) {
            check_label(le, v, where);
            spec.labels.emplace_back(le.key, v);
          }
        }
        warning(e.line, where,
                "field 'labels' of a group is accepted by vigil (as Prometheus 2.51+ does) but "
                "rejected by Prometheus 2.42");
      } else {
        error(e.line, where,
              "unknown field " + quoted(e.key) +
                  " (a group has name, interval, limit, labels, rules)");
      }
    }
    if (spec.name.empty()) error(name_line, "", "Groupname must not be empty");
    if (rules && !rules.IsNull()) {
      if (!rules.IsSequence()) {
        error(line_of(rules), where,
              "rules: cannot unmarshal " + go_tag(rules) + " into a list of rules");
      } else {
        int index = 0;
        for (const YAML::Node& r : rules) {
          if (!budget(where, line_of(r))) break;
          if (r.IsNull()) continue;
          ++index;
          RuleSpec rule;
          if (load_rule(r, where, index, rule)) spec.rules.push_back(std::move(rule));
        }
      }
    }
    return true;
  }

  void check_label(const Entry& e, const std::string& value, const std::string& where) {
    if (!valid_label_name(e.key) || e.key == "__name__") {
      error(e.line, where, "invalid label name: " + e.key);
    }
    std::size_t bad = 0;
    if (!valid_utf8(value, bad)) error(e.line, where, "invalid label value: " + value);
  }

  bool load_rule(const YAML::Node& r, const std::string& group_where, int index, RuleSpec& rule) {
    rule.line = line_of(r);
    if (!r.IsMap()) {
      error(line_of(r), group_where,
            "cannot unmarshal " + go_tag(r) + (r.IsScalar() ? " `" + r.Scalar() + "`" : "") +
                " into a rule");
      return false;
    }
    const std::vector<Entry> fields = entries(r, group_where + ", rule " + std::to_string(index));
    // A default YAML::Node is a defined null: track which fields are present separately.
    const Entry* record = nullptr;
    const Entry* alert = nullptr;
    const Entry* expr = nullptr;
    const Entry* for_node = nullptr;
    const Entry* kff = nullptr;
    const Entry* labels = nullptr;
    const Entry* annotations = nullptr;
    for (const Entry& e : fields) {
      if (e.key == "record") record = &e;
      if (e.key == "alert") alert = &e;
      if (e.key == "expr") expr = &e;
      if (e.key == "for") for_node = &e;
      if (e.key == "keep_firing_for") kff = &e;
      if (e.key == "labels") labels = &e;
      if (e.key == "annotations") annotations = &e;
    }
    const int record_line = record ? record->line : rule.line;
    rule.record = record ? node_value(record->value) : "";
    rule.alert = alert ? node_value(alert->value) : "";
    const std::string name = !rule.alert.empty() ? rule.alert : rule.record;
    const std::string where =
        group_where + ", rule " + (name.empty() ? std::to_string(index) : quoted(name));
    for (const Entry& e : fields) {
      static const std::set<std::string> known = {"record",          "alert",  "expr",       "for",
                                                  "keep_firing_for", "labels", "annotations"};
      if (!known.count(e.key)) {
        error(e.line, where,
              "unknown field " + quoted(e.key) +
                  " (a rule has record, alert, expr, for, keep_firing_for, labels, annotations)");
      }
    }
    if (!rule.record.empty() && !rule.alert.empty()) {
      error(record_line, where, "only one of 'record' and 'alert' must be set");
    }
    if (rule.record.empty() && rule.alert.empty()) {
      error(rule.line, where, "one of 'record' or 'alert' must be set");
    }
    rule.expr = expr ? node_value(expr->value) : "";
    if (rule.expr.empty()) {
      error(expr ? expr->line : rule.line, where, "field 'expr' must be set in rule");
    } else {
      auto parsed = promql::parse(rule.expr);
      if (!parsed) error(expr->line, where, "expr: " + parsed.error);
    }
    if (for_node) duration_of(for_node->value, where, "for", rule.for_duration);
    if (kff) duration_of(kff->value, where, "keep_firing_for", rule.keep_firing_for);

    std::vector<std::pair<Entry, std::string>> label_list, annotation_list;
    if (labels) labels_of(labels->value, where, "labels", label_list);
    if (annotations) labels_of(annotations->value, where, "annotations", annotation_list);

    if (!rule.record.empty()) {
      if (!annotation_list.empty()) {
        error(record_line, where, "invalid field 'annotations' in recording rule");
      }
      if (rule.for_duration.count() != 0) {
        error(record_line, where, "invalid field 'for' in recording rule");
      }
      if (rule.keep_firing_for.count() != 0) {
        error(record_line, where, "invalid field 'keep_firing_for' in recording rule");
      }
      if (!valid_metric_name(rule.record)) {
        error(record_line, where, "invalid recording rule name: " + rule.record);
      }
    }
    for (auto& [e, v] : label_list) {
      check_label(e, v, where);
      if (!rule.alert.empty()) {
        auto t = tmpl::Template::parse_alert(v, rule.alert);
        if (!t) error(e.line, where, "label " + quoted(e.key) + ": " + t.error);
      }
      rule.labels.emplace_back(e.key, v);
    }
    for (auto& [e, v] : annotation_list) {
      if (!valid_label_name(e.key)) error(e.line, where, "invalid annotation name: " + e.key);
      if (!rule.alert.empty()) {
        auto t = tmpl::Template::parse_alert(v, rule.alert);
        if (!t) error(e.line, where, "annotation " + quoted(e.key) + ": " + t.error);
      }
      rule.annotations.emplace_back(e.key, v);
    }
    return true;
  }
};

}  // namespace

RuleFileResult parse_rule_file(std::string_view yaml, std::string_view name) {
  Loader loader{std::string(name)};
  return loader.run(yaml);
}

RuleFileResult load_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    RuleFileResult r;
    r.errors.push_back(path + ": cannot open: " + std::string(std::strerror(errno)));
    return r;
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxRuleFileBytes) {
      RuleFileResult r;
      r.errors.push_back(path + ": file larger than " + std::to_string(kMaxRuleFileBytes >> 20) +
                         " MiB");
      return r;
    }
  }
  if (in.bad()) {
    RuleFileResult r;
    r.errors.push_back(path + ": read error");
    return r;
  }
  return parse_rule_file(text, path);
}

bool is_not_supported_error(std::string_view error) noexcept {
  return error.find("not supported in-process: ") != std::string_view::npos;
}

}  // namespace vigil::alerting
