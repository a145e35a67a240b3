// `vigil rules test`: Prometheus' rule unit tests run with vigil's engine (see
// rule_test_runner.h). The file format and the order of work follow Prometheus 2.42's
// cmd/promtool/unittest.go; the code is vigil's own.
#include "alerting/rule_test_runner.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"
#include "alerting/template.h"
#include "core/detail/text.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule_file.h"

// After the headers above: a vigil::alerting::detail namespace (declared by rule.h) would hide
// vigil::detail for their unqualified detail::ParseResult.
#include "alerting/manager_access.h"

namespace vigil::alerting {

namespace pq = promql;
using vigil::detail::ParseResult;

// ---- the expanding notation ------------------------------------------------------------------

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A number at the start of `s` (decimal with optional fraction and exponent, or Inf / NaN),
// without a sign. Returns the length read (0: none).
size_t scan_unsigned(std::string_view s, double& out) {
  if (s.size() >= 3 && iequal(s.substr(0, 3), "inf")) {
    out = std::numeric_limits<double>::infinity();
    return 3;
  }
  if (s.size() >= 3 && iequal(s.substr(0, 3), "nan")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return 3;
  }
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i == 0 || (i == 1 && s[0] == '.')) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && is_digit(s[j])) {
      while (j < s.size() && is_digit(s[j])) ++j;
      i = j;
    }
  }
  const std::string text(s.substr(0, i));
  out = std::strtod(text.c_str(), nullptr);
  return i;
}

// A signed number at the start of `s`.
size_t scan_signed(std::string_view s, double& out) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    const size_t n = scan_unsigned(s.substr(1), out);
    if (n == 0) return 0;
    if (s[0] == '-') out = -out;
    return n + 1;
  }
  return scan_unsigned(s, out);
}

// "xN" at the start of `s`: N (a non-negative integer).
bool scan_times(std::string_view s, uint64_t& n) {
  if (s.size() < 2 || s[0] != 'x') return false;
  s.remove_prefix(1);
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && p == s.data() + s.size();
}

constexpr uint64_t kMaxInputValues = 10'000'000;

}  // namespace

ParseResult<std::vector<std::optional<double>>> parse_input_values(std::string_view text) {
  using Out = ParseResult<std::vector<std::optional<double>>>;
  std::vector<std::optional<double>> out;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n')) {
      ++pos;
    }
    if (pos >= text.size()) break;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n') {
      ++end;
    }
    const std::string_view tok = text.substr(pos, end - pos);
    const std::string where = "series values: \"" + std::string(tok) + "\"";
    pos = end;
    uint64_t n = 0;
    if (tok == "_") {
      out.emplace_back(std::nullopt);
      continue;
    }
    if (tok.substr(0, 1) == "_") {
      if (!scan_times(tok.substr(1), n)) return Out::fail("unexpected " + where);
      if (out.size() + n > kMaxInputValues) return Out::fail("too many values in " + where);
      out.insert(out.end(), n, std::nullopt);
      continue;
    }
    if (tok == "stale") {
      out.emplace_back(pq::stale_nan());
      continue;
    }
    double start = 0;
    const size_t a = scan_signed(tok, start);
    if (a == 0) return Out::fail("unexpected " + where + ", expected number or \"stale\"");
    std::string_view rest = tok.substr(a);
    if (rest.empty()) {
      out.emplace_back(start);
      continue;
    }
    double step = 0;
    if (rest[0] == '+' || rest[0] == '-') {
      const bool minus = rest[0] == '-';
      const size_t b = scan_unsigned(rest.substr(1), step);
      if (b == 0) return Out::fail("unexpected " + where);
      if (minus) step = -step;
      rest.remove_prefix(b + 1);
    }
    if (!scan_times(rest, n)) return Out::fail("bad number syntax in " + where);
    if (out.size() + n + 1 > kMaxInputValues) return Out::fail("too many values in " + where);
    // As Prometheus: the value accumulates (start, start+step, start+step+step, ...).
    double v = start;
    for (uint64_t i = 0; i <= n; ++i) {
      out.emplace_back(v);
      v += step;
    }
  }
  return Out::ok(std::move(out));
}

ParseResult<pq::Labels> parse_series_labels(std::string_view text) {
  using Out = ParseResult<pq::Labels>;
  std::string_view t = text;
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  if (t.empty() || t == "{}") return Out::ok({});
  auto parsed = pq::parse(t);
  if (!parsed) return Out::fail(parsed.error);
  const pq::Expr& e = **parsed;
  if (e.kind != pq::ExprKind::kVectorSelector || e.offset_ms != 0) {
    return Out::fail("\"" + std::string(text) + "\" is not a series (metric{label=\"value\"})");
  }
  pq::Labels labels;
  std::set<std::string> names;
  for (const pq::Matcher& m : e.matchers) {
    if (m.op != pq::MatchOp::kEqual) {
      return Out::fail("\"" + std::string(text) + "\": only = matchers describe a series");
    }
    if (!names.insert(m.name).second) {
      return Out::fail("\"" + std::string(text) + "\": label \"" + m.name + "\" repeated");
    }
    if (!m.value.empty()) labels.emplace_back(m.name, m.value);
  }
  pq::sort_labels(labels);
  return Out::ok(std::move(labels));
}

// ---- Go's formatting ---------------------------------------------------------------------

namespace {

std::string go_quote(std::string_view s) { return vigil::detail::go_quoted(s); }

std::string format_label_list(const LabelList& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].first;
    out += '=';
    out += go_quote(labels[i].second);
  }
  out += '}';
  return out;
}

}  // namespace

std::string format_series_labels(const pq::Labels& labels) { return format_label_list(labels); }

std::string format_float_e(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string out(buf, ec == std::errc() ? p : buf);
  for (char& c : out) {
    if (c == 'e') c = 'E';
  }
  return out;
}

std::string format_go_duration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const int64_t h = ms / 3'600'000;
  const int64_t m = ms / 60'000 % 60;
  const int64_t s = ms / 1000 % 60;
  const int64_t frac = ms % 1000;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  out += "s";
  return out;
}

// ---- the test file -----------------------------------------------------------------------

namespace {

struct InputSeries {
  std::string series;
  std::string values;
};

struct ExpAlert {
  LabelList labels;
  LabelList annotations;
};

struct AlertTest {
  int64_t eval_time = 0;
  std::string eval_time_text;
  std::string alertname;
  std::vector<ExpAlert> exp_alerts;
};

struct ExpSample {
  std::string labels;
  double value = 0;
};

struct ExprTest {
  std::string expr;
  int64_t eval_time = 0;
  std::string eval_time_text;
  std::vector<ExpSample> exp_samples;
};

struct TestGroup {
  int64_t interval = 0;
  std::vector<InputSeries> input_series;
  std::vector<AlertTest> alert_tests;
  std::vector<ExprTest> expr_tests;
  LabelList external_labels;
  std::string external_url;
  std::string name;
};

struct TestFile {
  std::vector<std::string> rule_files;
  int64_t evaluation_interval = 60'000;
  std::vector<std::string> group_eval_order;
  std::vector<TestGroup> tests;
};

// Decoding errors (yaml.UnmarshalStrict's role): thrown inside the decoder only.
struct DecodeError {
  std::string message;
};

std::string where_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? "line " + std::to_string(m.line + 1) + ": " : "";
}

void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                std::string_view type) {
  if (!map.IsMap()) {
    throw DecodeError{where_of(map) + "cannot unmarshal into " + std::string(type) +
                      " (not a mapping)"};
  }
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw DecodeError{where_of(kv.first) + "field " + key + " not found in type " +
                        std::string(type)};
    }
  }
}

std::string scalar(const YAML::Node& n, std::string_view field) {
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) {
    throw DecodeError{where_of(n) + "cannot unmarshal " + std::string(field) + " into string"};
  }
  return n.Scalar();
}

int64_t duration(const YAML::Node& n, std::string_view field, std::string* text = nullptr) {
  const std::string s = scalar(n, field);
  if (text != nullptr) *text = s;
  if (s.empty()) return 0;
  auto d = pq::parse_duration(s);
  if (!d) {
    throw DecodeError{where_of(n) + "not a valid duration string: \"" + s + "\""};
  }
  if (text != nullptr) *text = pq::format_duration(*d);
  return *d;
}

// A YAML float as yaml.v2 decodes one into a float64.
double yaml_float(const YAML::Node& n) {
  const std::string s = scalar(n, "value");
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const size_t k = scan_signed(s, v);
  const bool letters = s.find_first_of("nNiI") != std::string::npos;  // Inf/NaN: strings
  if (s.empty() || letters || k != s.size()) {
    throw DecodeError{where_of(n) + "cannot unmarshal !!str `" + s + "` into float64"};
  }
  return v;
}

LabelList string_map(const YAML::Node& n, std::string_view field) {
  LabelList out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) throw DecodeError{where_of(n) + std::string(field) + " must be a mapping"};
  for (const auto& kv : n) out.emplace_back(kv.first.as<std::string>(), scalar(kv.second, field));
  std::sort(out.begin(), out.end());
  return out;
}

template <class F>
void each(const YAML::Node& n, std::string_view field, F&& fn) {
  if (!n || n.IsNull()) return;
  if (!n.IsSequence()) throw DecodeError{where_of(n) + std::string(field) + " must be a list"};
  for (const YAML::Node& x : n) fn(x);
}

TestFile decode(const YAML::Node& root) {
  TestFile f;
  if (root.IsNull()) return f;
  check_keys(root, {"rule_files", "evaluation_interval", "group_eval_order", "tests"},
             "main.unitTestFile");
  each(root["rule_files"], "rule_files",
       [&](const YAML::Node& x) { f.rule_files.push_back(scalar(x, "rule_files")); });
  if (root["evaluation_interval"]) {
    f.evaluation_interval = duration(root["evaluation_interval"], "evaluation_interval");
    if (f.evaluation_interval == 0) f.evaluation_interval = 60'000;
  }
  each(root["group_eval_order"], "group_eval_order",
       [&](const YAML::Node& x) { f.group_eval_order.push_back(scalar(x, "group_eval_order")); });
  each(root["tests"], "tests", [&](const YAML::Node& t) {
    check_keys(t,
               {"interval", "input_series", "alert_rule_test", "promql_expr_test",
                "external_labels", "external_url", "name"},
               "main.testGroup");
    TestGroup g;
    if (t["interval"]) g.interval = duration(t["interval"], "interval");
    each(t["input_series"], "input_series", [&](const YAML::Node& s) {
      check_keys(s, {"series", "values"}, "main.series");
      g.input_series.push_back({scalar(s["series"], "series"), scalar(s["values"], "values")});
    });
    each(t["alert_rule_test"], "alert_rule_test", [&](const YAML::Node& a) {
      check_keys(a, {"eval_time", "alertname", "exp_alerts"}, "main.alertTestCase");
      AlertTest at;
      at.eval_time_text = "0s";
      if (a["eval_time"]) at.eval_time = duration(a["eval_time"], "eval_time", &at.eval_time_text);
      at.alertname = scalar(a["alertname"], "alertname");
      each(a["exp_alerts"], "exp_alerts", [&](const YAML::Node& e) {
        check_keys(e, {"exp_labels", "exp_annotations"}, "main.alert");
        at.exp_alerts.push_back({string_map(e["exp_labels"], "exp_labels"),
                                 string_map(e["exp_annotations"], "exp_annotations")});
      });
      g.alert_tests.push_back(std::move(at));
    });
    each(t["promql_expr_test"], "promql_expr_test", [&](const YAML::Node& p) {
      check_keys(p, {"expr", "eval_time", "exp_samples"}, "main.promqlTestCase");
      ExprTest et;
      et.eval_time_text = "0s";
      et.expr = scalar(p["expr"], "expr");
      if (p["eval_time"]) et.eval_time = duration(p["eval_time"], "eval_time", &et.eval_time_text);
      each(p["exp_samples"], "exp_samples", [&](const YAML::Node& s) {
        check_keys(s, {"labels", "value"}, "main.sample");
        ExpSample es;
        es.labels = scalar(s["labels"], "labels");
        if (s["value"]) es.value = yaml_float(s["value"]);
        et.exp_samples.push_back(std::move(es));
      });
      g.expr_tests.push_back(std::move(et));
    });
    g.external_labels = string_map(t["external_labels"], "external_labels");
    if (t["external_url"]) g.external_url = scalar(t["external_url"], "external_url");
    if (t["name"]) g.name = scalar(t["name"], "name");
    f.tests.push_back(std::move(g));
  });
  return f;
}

// promtool's labelsAndAnnotations.String() and its indentLines.
std::string indent_lines(const std::string& lines, const std::string& indent) {
  std::string out;
  size_t start = 0;
  bool first = true;
  for (;;) {
    const size_t nl = lines.find('\n', start);
    if (!first) out += indent;
    first = false;
    out += lines.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
  }
  return out;
}

std::string alerts_string(const std::vector<ExpAlert>& alerts) {
  if (alerts.empty()) return "[]";
  std::string s = "[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    const std::string one = "Labels:" + format_label_list(alerts[i].labels) +
                            "\nAnnotations:" + format_label_list(alerts[i].annotations);
    s += (i == 0 ? "\n" : ",\n") + std::to_string(i) + ":" + indent_lines("\n" + one, "  ");
  }
  s += "\n]";
  return s;
}

bool alert_less(const ExpAlert& a, const ExpAlert& b) {
  if (a.labels != b.labels) return a.labels < b.labels;
  return a.annotations < b.annotations;
}

struct GotSample {
  pq::Labels labels;
  double value = 0;
};

std::string samples_string(const std::vector<GotSample>& samples) {
  if (samples.empty()) return "nil";
  std::string s;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0) s += ", ";
    s += format_series_labels(samples[i].labels) + " " + format_float_e(samples[i].value);
  }
  return s;
}

std::string go_q(std::string_view s) { return go_quote(s); }

// What a loaded rule file group contributes to a test.
struct LoadedGroup {
  RuleGroupSpec spec;
  std::string key;  // unique among the files: "path;name" (Prometheus' group key)
};

struct Ctx {
  std::vector<LoadedGroup> groups;  // in evaluation order
  int64_t evaluation_interval = 60'000;
};

std::string expand_alert_template(const std::string& text, const std::string& alertname,
                                  const tmpl::TemplateData& data) {
  auto t = tmpl::Template::parse_alert(text, alertname);
  if (!t) return "<error expanding template: " + t.error + ">";
  auto out = t->execute(data);
  if (!out) return "<error expanding template: " + out.error + ">";
  return *out;
}

std::vector<std::string> run_group(const Ctx& ctx, const TestGroup& tg) {
  std::vector<std::string> errs;
  const std::string test_name = tg.name.empty() ? "" : "    name: " + tg.name + ",\n";

  // Input series, parsed up front (as promtool's loader does: errors end the group).
  struct Input {
    pq::Labels labels;
    std::vector<pq::Sample> samples;
    size_t next = 0;
  };
  std::vector<Input> inputs;
  for (const InputSeries& s : tg.input_series) {
    auto labels = parse_series_labels(s.series);
    if (!labels) return {"    series \"" + s.series + "\": " + labels.error};
    auto values = parse_input_values(s.values);
    if (!values) return {"    series \"" + s.series + "\": " + values.error};
    Input in;
    in.labels = std::move(*labels);
    for (size_t i = 0; i < values->size(); ++i) {
      if ((*values)[i]) {
        in.samples.push_back({static_cast<int64_t>(i) * tg.interval, *(*values)[i]});
      }
    }
    inputs.push_back(std::move(in));
  }
  pq::MemoryStorage storage;
  int64_t loaded_till = -1;
  auto load_till = [&](int64_t t) {
    for (Input& in : inputs) {
      while (in.next < in.samples.size() && in.samples[in.next].t <= t) {
        storage.append(in.labels, in.samples[in.next].t, in.samples[in.next].v);
        ++in.next;
      }
    }
    loaded_till = t;
  };

  // The rules, on a manager whose clock is the test's time.
  int64_t now_ms = 0;
  AlertManagerOptions options;
  options.evaluation_interval =
      std::chrono::milliseconds(std::max<int64_t>(100, ctx.evaluation_interval));
  options.clock = [&now_ms] { return TimePoint(std::chrono::milliseconds(now_ms)); };
  options.condition_threads = 1;
  AlertManager manager(options);
  vigil::detail::ManagerAccess::use_storage(manager, &storage);
  std::map<std::pair<std::string, std::string>, const RuleSpec*> alert_specs;
  try {
    for (const LoadedGroup& g : ctx.groups) {
      RuleFile one;
      one.path = g.key;
      one.groups.push_back(g.spec);
      one.groups.back().name = g.key;
      one.groups.back().interval = std::chrono::milliseconds(0);
      manager.add_rule_file(one);
      for (const RuleSpec& r : g.spec.rules) {
        if (r.is_alert()) alert_specs[{g.key, r.alert}] = &r;
      }
    }
  } catch (const std::exception& e) {
    vigil::detail::ManagerAccess::use_storage(manager, nullptr);
    return {e.what()};
  }

  // Alert tests by eval_time.
  std::map<int64_t, std::vector<const AlertTest*>> alert_tests;
  for (const AlertTest& a : tg.alert_tests) {
    if (a.alertname.empty()) {
      std::string in_group = tg.name.empty() ? "" : " (in TestGroup " + tg.name + ")";
      vigil::detail::ManagerAccess::use_storage(manager, nullptr);
      return {"an item under alert_rule_test misses required attribute alertname at eval_time " +
              a.eval_time_text + in_group};
    }
    alert_tests[a.eval_time].push_back(&a);
  }
  int64_t maxt = 0;
  for (const AlertTest& a : tg.alert_tests) maxt = std::max(maxt, a.eval_time);
  for (const ExprTest& e : tg.expr_tests) maxt = std::max(maxt, e.eval_time);

  tmpl::TemplateData base_data;
  for (const auto& [k, v] : tg.external_labels) base_data.external_labels[k] = v;
  base_data.external_url = tg.external_url;

  auto next_check = alert_tests.begin();
  const int64_t step = ctx.evaluation_interval;
  for (int64_t ts = 0; ts <= maxt; ts += step) {
    load_till(ts);
    now_ms = ts;
    manager.evaluate();
    std::vector<std::string> eval_errs;
    for (const RuleStatus& s : manager.rule_status()) {
      if (s.health == RuleHealth::kError) {
        eval_errs.push_back("    rule: " + s.name + ", time: " + format_go_duration(ts) +
                            ", err: " + s.last_error);
      }
    }
    if (!eval_errs.empty()) {
      errs.insert(errs.end(), eval_errs.begin(), eval_errs.end());
      vigil::detail::ManagerAccess::use_storage(manager, nullptr);
      return errs;
    }
    while (next_check != alert_tests.end() && ts <= next_check->first &&
           next_check->first < ts + step) {
      std::set<std::string> names;
      for (const AlertTest* a : next_check->second) names.insert(a->alertname);
      std::map<std::string, std::vector<ExpAlert>> got;
      for (const Alert& a : manager.active_alerts()) {
        if (a.state != AlertState::kFiring || names.count(a.name) == 0) continue;
        auto spec_it = alert_specs.find({a.group, a.name});
        ExpAlert g;
        g.labels = a.labels;
        if (spec_it != alert_specs.end()) {
          const RuleSpec& spec = *spec_it->second;
          // The series' labels as the templates see them: the alert's without alertname and
          // without what the rule's labels set.
          tmpl::TemplateData data = base_data;
          for (const auto& [k, v] : a.labels) {
            bool from_rule = k == "alertname";
            for (const auto& rl : spec.labels) from_rule = from_rule || rl.first == k;
            if (!from_rule) data.labels[k] = v;
          }
          data.value = a.value;
          for (const auto& label : spec.labels) {
            // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
            const std::string& k = label.first;
            const std::string& v = label.second;
            if (v.find("{{") == std::string::npos) continue;
            const std::string ex = expand_alert_template(v, a.name, data);
            auto it = std::find_if(g.labels.begin(), g.labels.end(),
                                   [&](const auto& kv) { return kv.first == k; });
            if (ex.empty()) {
              if (it != g.labels.end()) g.labels.erase(it);
            } else if (it != g.labels.end()) {
              it->second = ex;
            } else {
              g.labels.emplace_back(k, ex);
            }
          }
          std::sort(g.labels.begin(), g.labels.end());
          for (const auto& [k, v] : spec.annotations) {
            g.annotations.emplace_back(k, expand_alert_template(v, a.name, data));
          }
          std::sort(g.annotations.begin(), g.annotations.end());
        } else {
          g.annotations = a.annotations;
          std::sort(g.annotations.begin(), g.annotations.end());
        }
        got[a.name].push_back(std::move(g));
      }
      for (const AlertTest* t : next_check->second) {
        std::vector<ExpAlert> got_alerts = got[t->alertname];
        std::vector<ExpAlert> exp;
        for (const ExpAlert& e : t->exp_alerts) {
          ExpAlert x = e;
          auto it = std::find_if(x.labels.begin(), x.labels.end(),
                                 [](const auto& kv) { return kv.first == "alertname"; });
          if (it != x.labels.end()) {
            it->second = t->alertname;
          } else {
            x.labels.emplace_back("alertname", t->alertname);
          }
          std::sort(x.labels.begin(), x.labels.end());
          exp.push_back(std::move(x));
        }
        std::sort(got_alerts.begin(), got_alerts.end(), alert_less);
        std::sort(exp.begin(), exp.end(), alert_less);
        bool same = got_alerts.size() == exp.size();
        for (size_t i = 0; same && i < exp.size(); ++i) {
          same = exp[i].labels == got_alerts[i].labels &&
                 exp[i].annotations == got_alerts[i].annotations;
        }
        if (!same) {
          const std::string indent(12, ' ');
          errs.push_back(test_name + "    alertname: " + t->alertname +
                         ", time: " + t->eval_time_text +
                         ", \n        exp:" + indent_lines(alerts_string(exp), indent) +
                         ", \n        got:" + indent_lines(alerts_string(got_alerts), indent));
        }
      }
      ++next_check;
    }
  }
  vigil::detail::ManagerAccess::use_storage(manager, nullptr);
  (void)loaded_till;

  // PromQL expressions, over what the last step saw plus the rules' outputs.
  for (const ExprTest& t : tg.expr_tests) {
    const std::string head = "    expr: " + go_q(t.expr) + ", time: " + t.eval_time_text;
    auto parsed = pq::parse(t.expr);
    if (!parsed) {
      errs.push_back(head + ", err: " + parsed.error);
      continue;
    }
    pq::EvalResult r = pq::evaluate(**parsed, storage, t.eval_time);
    if (!r.ok()) {
      errs.push_back(head + ", err: " + r.error);
      continue;
    }
    std::vector<GotSample> got;
    if (r.type == pq::ValueType::kScalar) {
      got.push_back({{}, r.scalar});
    } else if (r.type == pq::ValueType::kVector) {
      for (pq::VectorSample& s : r.vector) got.push_back({std::move(s.labels), s.v});
    } else {
      errs.push_back(head + ", err: rule result is not a vector or scalar");
      continue;
    }
    std::vector<GotSample> exp;
    bool bad = false;
    for (const ExpSample& s : t.exp_samples) {
      auto labels = parse_series_labels(s.labels);
      if (!labels) {
        errs.push_back(head + ", err: labels " + go_q(s.labels) + ": " + labels.error);
        bad = true;
        break;
      }
      exp.push_back({std::move(*labels), s.value});
    }
    if (bad) continue;
    auto by_labels = [](const GotSample& a, const GotSample& b) { return a.labels < b.labels; };
    std::stable_sort(got.begin(), got.end(), by_labels);
    std::stable_sort(exp.begin(), exp.end(), by_labels);
    bool same = got.size() == exp.size();
    for (size_t i = 0; same && i < got.size(); ++i) {
      same = got[i].labels == exp[i].labels && got[i].value == exp[i].value;  // NaN != NaN
    }
    if (!same) {
      errs.push_back(head + ",\n        exp: " + samples_string(exp) +
                     "\n        got: " + samples_string(got));
    }
  }
  return errs;
}

}  // namespace

std::vector<std::string> run_rule_test_file(const std::string& path,
                                            std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {"open " + path + ": no such file or directory"};
  std::stringstream buf;
  buf << in.rdbuf();
  TestFile file;
  try {
    file = decode(YAML::Load(buf.str()));
  } catch (const DecodeError& e) {
    return {"yaml: unmarshal errors:\n  " + e.message};
  } catch (const YAML::Exception& e) {
    return {"yaml: " + std::string(e.what())};
  }

  // rule_files: relative to the test file's directory, globbed.
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::vector<std::string> rule_files;
  for (const std::string& pattern : file.rule_files) {
    std::string p = pattern;
    if (!p.empty() && std::filesystem::path(p).is_relative()) {
      p = (dir / p).lexically_normal().string();
    }
    glob_t g{};
    const int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) rule_files.emplace_back(g.gl_pathv[i]);
    } else if (warnings != nullptr) {
      warnings->push_back("  WARNING: no file match pattern " + p);
    }
    ::globfree(&g);
  }

  std::map<std::string, int> order;
  for (size_t i = 0; i < file.group_eval_order.size(); ++i) {
    if (!order.emplace(file.group_eval_order[i], static_cast<int>(i)).second) {
      return {"group name repeated in evaluation order: " + file.group_eval_order[i]};
    }
  }

  Ctx ctx;
  ctx.evaluation_interval = file.evaluation_interval;
  std::vector<std::string> errs;
  for (const std::string& rf : rule_files) {
    RuleFileResult r = load_rule_file(rf);
    if (!r) {
      errs.insert(errs.end(), r.errors.begin(), r.errors.end());
      continue;
    }
    for (RuleGroupSpec& g : r.file->groups) {
      LoadedGroup lg;
      lg.key = rf + ";" + g.name;
      lg.spec = std::move(g);
      ctx.groups.push_back(std::move(lg));
    }
  }
  if (!errs.empty()) return errs;
  std::stable_sort(
      ctx.groups.begin(), ctx.groups.end(), [&](const LoadedGroup& a, const LoadedGroup& b) {
        auto ia = order.find(a.spec.name);
        auto ib = order.find(b.spec.name);
        return (ia == order.end() ? 0 : ia->second) < (ib == order.end() ? 0 : ib->second);
      });
  for (const TestGroup& tg : file.tests) {
    std::vector<std::string> e = run_group(ctx, tg);
    errs.insert(errs.end(), e.begin(), e.end());
  }
  return errs;
}

int run_rule_tests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  bool failed = false;
  for (const std::string& f : files) {
    out << "Unit Testing:  " << f << "\n";
    std::vector<std::string> warnings;
    const std::vector<std::string> errs = run_rule_test_file(f, &warnings);
    if (!warnings.empty()) {
      out.flush();
      for (const std::string& w : warnings) err << w << "\n";
    }
    if (errs.empty()) {
      out << "  SUCCESS\n";
    } else {
      failed = true;
      out.flush();
      err << "  FAILED:\n";
      for (const std::string& e : errs) err << e << "\n\n";
      err.flush();
    }
    out << "\n";
  }
  out.flush();
  return failed ? 1 : 0;
}

}  // namespace vigil::alerting
