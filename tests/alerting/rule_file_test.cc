// Tests of the rule-file loader (vigil/alerting/rule_file.h). Every case's verdict (and rule
// count) is re-checked with the real `promtool check rules` (Prometheus 2.42) in PromtoolAgrees;
// the few intentional differences are marked and checked the other way round.
#include "vigil/alerting/rule_file.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "promtool_util.h"

namespace {

using vigil::alerting::parse_rule_file;
using vigil::alerting::RuleFileResult;

enum class Promtool { kSame, kAcceptsVigilRejects, kRejectsVigilAccepts };

struct FileCase {
  std::string name;
  std::string yaml;
  bool ok;
  std::string error;  // a substring of the first error (bad files)
  int rules = -1;     // good files: the number of rules
  Promtool promtool = Promtool::kSame;
};

std::string rule(const std::string& body) { return "groups:\n- name: g\n  rules:\n  - " + body; }

const std::vector<FileCase>& cases() {
  static const std::vector<FileCase> c = {
      // ---- good files
      {"full",
       "groups:\n"
       "- name: api\n"
       "  interval: 30s\n"
       "  limit: 10\n"
       "  rules:\n"
       "  - record: job:http_requests:rate5m\n"
       "    expr: sum by (job) (rate(http_requests_total[5m]))\n"
       "    labels:\n"
       "      team: web\n"
       "  - alert: HighErrorRate\n"
       "    expr: |\n"
       "      sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (job)\n"
       "        / sum(rate(http_requests_total[5m])) by (job) > 0.05\n"
       "    for: 10m\n"
       "    keep_firing_for: 5m\n"
       "    labels:\n"
       "      severity: page\n"
       "      instance: '{{ $labels.job }}-x'\n"
       "    annotations:\n"
       "      summary: \"{{ $labels.job }} errors at {{ $value | humanizePercentage }}\"\n"
       "      description: >-\n"
       "        {{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}\n"
       "- name: other\n"
       "  rules:\n"
       "  - alert: Down\n"
       "    expr: up == 0\n",
       true, "", 3},
      {"empty", "", true, "", 0},
      {"comments only", "# just a comment\n", true, "", 0},
      {"document marker", "---\n", true, "", 0},
      {"null groups", "groups:\n", true, "", 0},
      {"group without rules", "groups:\n- name: g\n", true, "", 0},
      {"null rules", "groups:\n- name: g\n  interval: 30s\n  limit: 10\n  rules: null\n", true, "",
       0},
      {"null group item", "groups:\n- null\n", true, "", 0},
      {"null rule item", "groups:\n- name: g\n  rules:\n  - null\n", true, "", 0},
      {"numeric group name", "groups:\n- name: 123\n  rules: []\n", true, "", 0},
      {"negative limit", "groups:\n- name: g\n  limit: -1\n  rules: []\n", true, "", 0},
      {"float limit", "groups:\n- name: g\n  limit: 1.5\n  rules: []\n", true, "", 0},
      {"zero interval", "groups:\n- name: g\n  interval: 0\n  rules: []\n", true, "", 0},
      {"null interval", "groups:\n- name: g\n  interval:\n  rules: []\n", true, "", 0},
      {"for zero on record", rule("record: a\n    expr: up\n    for: 0s\n"), true, "", 1},
      {"keep_firing_for zero on record", rule("record: a\n    expr: up\n    keep_firing_for: 0s\n"),
       true, "", 1},
      {"keep_firing_for on alert", rule("alert: a\n    expr: up\n    keep_firing_for: 5m\n"), true,
       "", 1},
      {"empty annotations on record", rule("record: a\n    expr: up\n    annotations: {}\n"), true,
       "", 1},
      {"record labels are not templates",
       rule("record: a\n    expr: up\n    labels: {a: \"{{ nosuch }}\"}\n"), true, "", 1},
      {"colons in record", rule("record: \"job:a:rate5m\"\n    expr: up\n"), true, "", 1},
      {"numeric alert name", rule("alert: 5\n    expr: up\n"), true, "", 1},
      {"numeric expr", rule("record: a\n    expr: 5\n"), true, "", 1},
      {"scalar label values",
       rule("alert: a\n    expr: up\n    labels: {a: 5, b: true, c: null}\n"), true, "", 1},
      {"numeric annotation", rule("alert: a\n    expr: up\n    annotations: {a: 5}\n"), true, "",
       1},
      {"null labels", rule("alert: a\n    expr: up\n    labels: null\n    annotations: null\n"),
       true, "", 1},
      {"null for", rule("alert: a\n    expr: up\n    for:\n"), true, "", 1},
      {"json",
       "{\"groups\": [{\"name\": \"g\", \"rules\": [{\"alert\": \"a\", \"expr\": \"up\"}]}]}", true,
       "", 1},
      {"second document ignored", "groups: []\n---\nfoo: bar\n", true, "", 0},
      {"merge key", "groups:\n- &g\n  name: g\n  rules: []\n- <<: *g\n  name: h\n", true, "", 0},
      {"unicode label value",
       rule("alert: a\n    expr: up\n    labels: {a: \"\xC3\xA9\xE2\x82\xAC\"}\n"), true, "", 1},
      {"same alert twice", rule("alert: a\n    expr: up\n  - alert: a\n    expr: up\n"), true, "",
       2},

      // ---- bad files (the error names the file, the line, the group and the rule)
      {"not yaml", "groups: [\n", false, "t.yml:", -1},
      {"tabs", "groups:\n\t- name: g\n", false, "t.yml:", -1},
      {"scalar document", "hello\n", false, "t.yml:1: cannot unmarshal !!str `hello`", -1},
      {"sequence document", "- a\n- b\n", false, "t.yml:1: cannot unmarshal !!seq", -1},
      {"unknown top-level field", "groups: []\nfoo: 1\n", false, "t.yml:2: unknown field \"foo\"",
       -1},
      {"anchor in unknown field", "x: &a 1\ngroups: []\n", false, "t.yml:1: unknown field \"x\"",
       -1},
      {"groups is a mapping", "groups: {a: b}\n", false, "t.yml:1: groups: cannot unmarshal !!map",
       -1},
      {"groups is a tagged string", "groups: !!str x\n", false, "cannot unmarshal !!str", -1},
      {"duplicate key", "groups:\n- name: g\n  name: h\n  rules: []\n", false,
       "t.yml:3: mapping key \"name\" already defined at line 2", -1},
      {"duplicate rule key",
       rule("alert: a\n    expr: up\n    annotations: {a: x}\n"
            "    annotations: {b: x}\n"),
       false, "t.yml:7: group \"g\", rule 1: mapping key \"annotations\" already defined at line 6",
       -1},
      {"duplicate label", rule("alert: a\n    expr: up\n    labels: {a: b, a: c}\n"), false,
       "mapping key \"a\" already defined", -1},
      {"duplicate group name", "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n", false,
       "t.yml:4: groupname: \"g\" is repeated in the same file", -1},
      {"group without name", "groups:\n- rules: []\n", false,
       "t.yml:2: Groupname must not be empty", -1},
      {"empty group name", "groups:\n- name: \"\"\n  rules: []\n", false,
       "t.yml:2: Groupname must not be empty", -1},
      {"sequence group name", "groups:\n- name: [a]\n  rules: []\n", false,
       "cannot unmarshal !!seq into string", -1},
      {"quoted limit", "groups:\n- name: g\n  limit: \"5\"\n  rules: []\n", false,
       "t.yml:3: group \"g\": limit: cannot unmarshal !!str `5` into int", -1},
      {"bad interval", "groups:\n- name: g\n  interval: 5\n  rules: []\n", false,
       "t.yml:3: group \"g\": interval: not a valid duration string: \"5\"", -1},
      {"unknown group field", "groups:\n- name: g\n  query_offset: 1m\n  rules: []\n", false,
       "t.yml:3: group \"g\": unknown field \"query_offset\"", -1},
      {"rules is a scalar item", "groups:\n- name: g\n  rules:\n  - hello\n", false,
       "t.yml:4: group \"g\": cannot unmarshal !!str `hello` into a rule", -1},
      {"unknown rule field", rule("alert: a\n    expr: up\n    foo: 1\n"), false,
       "t.yml:6: group \"g\", rule \"a\": unknown field \"foo\"", -1},
      {"record and alert", rule("record: a\n    alert: b\n    expr: up\n"), false,
       "t.yml:4: group \"g\", rule \"b\": only one of 'record' and 'alert' must be set", -1},
      {"neither record nor alert", rule("expr: up\n"), false,
       "t.yml:4: group \"g\", rule 1: one of 'record' or 'alert' must be set", -1},
      {"empty record and alert", rule("record: \"\"\n    alert: \"\"\n    expr: up\n"), false,
       "one of 'record' or 'alert' must be set", -1},
      {"sequence alert", rule("alert: [a]\n    expr: up\n"), false,
       "one of 'record' or 'alert' must be set", -1},
      {"no expr", rule("alert: a\n"), false,
       "t.yml:4: group \"g\", rule \"a\": field 'expr' must be set in rule", -1},
      {"empty expr", rule("alert: a\n    expr: \"\"\n"), false,
       "t.yml:5: group \"g\", rule \"a\": field 'expr' must be set in rule", -1},
      {"sequence expr", rule("alert: a\n    expr: [up]\n"), false,
       "field 'expr' must be set in rule", -1},
      {"bad expr", rule("alert: a\n    expr: rate(up)\n"), false,
       "t.yml:5: group \"g\", rule \"a\": expr: 1:", -1},
      {"unbalanced expr", rule("alert: a\n    expr: sum(up\n"), false,
       "t.yml:5: group \"g\", rule \"a\": expr: ", -1},
      {"bad record name", rule("record: \"a-b\"\n    expr: up\n"), false,
       "t.yml:4: group \"g\", rule \"a-b\": invalid recording rule name: a-b", -1},
      {"for on record", rule("record: a\n    expr: up\n    for: 5m\n"), false,
       "invalid field 'for' in recording rule", -1},
      {"keep_firing_for on record", rule("record: a\n    expr: up\n    keep_firing_for: 5m\n"),
       false, "invalid field 'keep_firing_for' in recording rule", -1},
      {"annotations on record", rule("record: a\n    expr: up\n    annotations: {a: b}\n"), false,
       "invalid field 'annotations' in recording rule", -1},
      {"bad label name", rule("alert: a\n    expr: up\n    labels: {\"a-b\": c}\n"), false,
       "t.yml:6: group \"g\", rule \"a\": invalid label name: a-b", -1},
      {"__name__ label", rule("alert: a\n    expr: up\n    labels: {__name__: c}\n"), false,
       "invalid label name: __name__", -1},
      {"empty label name", rule("alert: a\n    expr: up\n    labels: {\"\": x}\n"), false,
       "invalid label name: ", -1},
      {"sequence label value", rule("alert: a\n    expr: up\n    labels: {a: [1]}\n"), false,
       "cannot unmarshal !!seq into string", -1},
      {"bad annotation name", rule("alert: a\n    expr: up\n    annotations: {\"a b\": c}\n"),
       false, "invalid annotation name: a b", -1},
      {"bad for", rule("alert: a\n    expr: up\n    for: 5\n"), false,
       "t.yml:6: group \"g\", rule \"a\": for: not a valid duration string: \"5\"", -1},
      {"negative for", rule("alert: a\n    expr: up\n    for: -5m\n"), false,
       "not a valid duration string", -1},
      {"repeated unit in for", rule("alert: a\n    expr: up\n    for: 5m5m\n"), false,
       "not a valid duration string", -1},
      {"bad annotation template",
       rule("alert: a\n    expr: up\n    annotations:\n      s: \"{{ nosuch }}\"\n"), false,
       "t.yml:7: group \"g\", rule \"a\": annotation \"s\": template: __alert_a:1: function "
       "\"nosuch\" not defined",
       -1},
      {"bad label template", rule("alert: a\n    expr: up\n    labels:\n      l: \"{{ if }}\"\n"),
       false, "label \"l\": template: __alert_a:1: missing value for if", -1},
      {"invalid utf-8", rule("alert: a\n    expr: up\n    labels: {a: \"\xff\"}\n"), false,
       "invalid UTF-8", -1},

      // ---- intentional differences with Prometheus 2.42
      {"group labels", "groups:\n- name: g\n  labels: {team: web}\n  rules: []\n", true, "", 0,
       Promtool::kRejectsVigilAccepts},
      {"subquery", rule("alert: a\n    expr: max_over_time(up[5m:1m]) > 0\n"), false,
       "not supported in-process: subquery", -1, Promtool::kAcceptsVigilRejects},
      {"query in template",
       rule("alert: a\n    expr: up\n    annotations: {a: '{{ query \"up\" }}'}\n"), false,
       "not supported in-process: query", -1, Promtool::kAcceptsVigilRejects},
  };
  return c;
}

int count_rules(const RuleFileResult& r) {
  int n = 0;
  for (const auto& g : r.file->groups) n += static_cast<int>(g.rules.size());
  return n;
}

TEST(RuleFile, Cases) {
  for (const FileCase& c : cases()) {
    const RuleFileResult r = parse_rule_file(c.yaml, "t.yml");
    if (c.ok) {
      ASSERT_TRUE(r) << c.name << ": " << (r.errors.empty() ? "" : r.errors[0]);
      EXPECT_TRUE(r.errors.empty()) << c.name;
      EXPECT_EQ(count_rules(r), c.rules) << c.name;
    } else {
      ASSERT_FALSE(r) << c.name;
      ASSERT_FALSE(r.errors.empty()) << c.name;
      EXPECT_NE(r.errors[0].find(c.error), std::string::npos)
          << c.name << ": " << r.errors[0] << "\nwant: " << c.error;
      EXPECT_EQ(vigil::alerting::is_not_supported_error(r.errors[0]),
                c.promtool == Promtool::kAcceptsVigilRejects)
          << c.name;
    }
  }
}

TEST(RuleFile, PromtoolAgrees) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  vigil_test::TempDir dir("rule_file");
  int i = 0;
  for (const FileCase& c : cases()) {
    const std::string path = dir.write("f" + std::to_string(i++) + ".yml", c.yaml);
    const auto p = vigil_test::run_command("promtool check rules '" + path + "'");
    const bool promtool_ok = p.status == 0;
    bool want = c.ok;
    if (c.promtool == Promtool::kRejectsVigilAccepts) want = false;
    if (c.promtool == Promtool::kAcceptsVigilRejects) want = true;
    EXPECT_EQ(promtool_ok, want) << c.name << "\n" << p.output;
    if (promtool_ok && c.ok && p.output.find("lint error") == std::string::npos) {
      EXPECT_NE(p.output.find("SUCCESS: " + std::to_string(c.rules) + " rules found"),
                std::string::npos)
          << c.name << "\n"
          << p.output;
    }
    // promtool's duplicate-rule lint is a warning in vigil
    if (c.ok) {
      const auto r = parse_rule_file(c.yaml, "t.yml");
      const bool dup = p.output.find("duplicate rule(s) found") != std::string::npos;
      bool warned = false;
      for (const auto& w : r.warnings) warned |= w.find("duplicate rule") != std::string::npos;
      EXPECT_EQ(warned, dup) << c.name;
    }
  }
}

TEST(RuleFile, Contents) {
  const RuleFileResult r = parse_rule_file(cases()[0].yaml, "deploy/alerts.yml");
  ASSERT_TRUE(r) << r.errors[0];
  const auto& f = *r.file;
  EXPECT_EQ(f.path, "deploy/alerts.yml");
  ASSERT_EQ(f.groups.size(), 2u);
  const auto& g = f.groups[0];
  EXPECT_EQ(g.name, "api");
  EXPECT_EQ(g.line, 2);
  EXPECT_EQ(g.interval, std::chrono::seconds(30));
  EXPECT_EQ(g.limit, 10);
  ASSERT_EQ(g.rules.size(), 2u);
  const auto& rec = g.rules[0];
  EXPECT_EQ(rec.record, "job:http_requests:rate5m");
  EXPECT_FALSE(rec.is_alert());
  EXPECT_EQ(rec.expr, "sum by (job) (rate(http_requests_total[5m]))");
  EXPECT_EQ(rec.line, 6);
  ASSERT_EQ(rec.labels.size(), 1u);
  EXPECT_EQ(rec.labels[0], (std::pair<std::string, std::string>("team", "web")));
  const auto& alert = g.rules[1];
  EXPECT_TRUE(alert.is_alert());
  EXPECT_EQ(alert.alert, "HighErrorRate");
  EXPECT_EQ(alert.line, 10);
  EXPECT_EQ(alert.expr,
            "sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (job)\n  / "
            "sum(rate(http_requests_total[5m])) by (job) > 0.05\n");
  EXPECT_EQ(alert.for_duration, std::chrono::minutes(10));
  EXPECT_EQ(alert.keep_firing_for, std::chrono::minutes(5));
  ASSERT_EQ(alert.labels.size(), 2u);
  EXPECT_EQ(alert.labels[0].first, "severity");  // file order
  EXPECT_EQ(alert.labels[1].first, "instance");
  EXPECT_EQ(alert.labels[1].second, "{{ $labels.job }}-x");
  ASSERT_EQ(alert.annotations.size(), 2u);
  EXPECT_EQ(alert.annotations[0].first, "summary");
  EXPECT_EQ(alert.annotations[1].second,
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}");
  EXPECT_EQ(f.groups[1].name, "other");
  EXPECT_EQ(f.groups[1].interval, std::chrono::milliseconds(0));
  EXPECT_TRUE(r.warnings.empty());
}

TEST(RuleFile, CollectsAllErrors) {
  const std::string yaml =
      "groups:\n"
      "- name: g\n"
      "  rules:\n"
      "  - alert: A\n"
      "    expr: up\n"
      "    for: 5\n"
      "    foo: 1\n"
      "  - record: \"bad-name\"\n"
      "    expr: up\n"
      "- name: g\n"
      "  rules: []\n";
  const RuleFileResult r = parse_rule_file(yaml, "f.yml");
  EXPECT_FALSE(r);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0],
            "f.yml:7: group \"g\", rule \"A\": unknown field \"foo\" (a rule has "
            "record, alert, expr, for, keep_firing_for, labels, annotations)");
  EXPECT_EQ(r.errors[1],
            "f.yml:6: group \"g\", rule \"A\": for: not a valid duration string: \"5\"");
  EXPECT_EQ(r.errors[2],
            "f.yml:8: group \"g\", rule \"bad-name\": invalid recording rule name: bad-name");
  EXPECT_EQ(r.errors[3], "f.yml:10: groupname: \"g\" is repeated in the same file");
}

TEST(RuleFile, GroupLabelsWarn) {
  const RuleFileResult r =
      parse_rule_file("groups:\n- name: g\n  labels: {team: web}\n  rules: []\n", "f.yml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].rfind("f.yml:3: group \"g\": field 'labels'", 0), 0u) << r.warnings[0];
  ASSERT_EQ(r.file->groups[0].labels.size(), 1u);
  EXPECT_EQ(r.file->groups[0].labels[0].second, "web");
  // group labels are checked like rule labels
  EXPECT_FALSE(parse_rule_file("groups:\n- name: g\n  labels: {a-b: web}\n  rules: []\n"));
}

TEST(RuleFile, LoadFromDisk) {
  vigil_test::TempDir dir("rule_file_disk");
  const std::string good = dir.write("good.yml", cases()[0].yaml);
  const auto r = vigil::alerting::load_rule_file(good);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.file->path, good);
  const auto missing = vigil::alerting::load_rule_file((dir.path() / "nope.yml").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.errors[0].find("cannot open"), std::string::npos);
}

TEST(RuleFile, HugeAndHostileInput) {
  // many rules: loads, linear
  std::string big = "groups:\n- name: g\n  rules:\n";
  for (int i = 0; i < 5000; ++i) {
    big +=
        "  - record: r" + std::to_string(i) + "\n    expr: up{i=\"" + std::to_string(i) + "\"}\n";
  }
  const auto r = parse_rule_file(big);
  ASSERT_TRUE(r) << r.errors[0];
  EXPECT_EQ(r.file->groups[0].rules.size(), 5000u);
  // deep nesting: an error, not a stack overflow
  const std::string deep = "groups: " + std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(parse_rule_file(deep));
  // aliases that would multiply: bounded work
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'i'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int k = 0; k < 10; ++k) laughs += std::string(k ? ", " : "") + "*" + prev;
    laughs += "]\n";
    prev = c;
  }
  laughs += "groups:\n- name: g\n  rules: *i\n";
  EXPECT_FALSE(parse_rule_file(laughs));
  // arbitrary bytes never crash
  unsigned seed = 7;
  const std::string alphabet = "groups:- name rules alert expr{}[]&*!|>\"'\n \t:#%@`\x01\xc3";
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    for (int k = 0; k < 40; ++k) {
      seed = seed * 1103515245u + 12345u;
      s.push_back(alphabet[(seed >> 16) % alphabet.size()]);
    }
    const auto x = parse_rule_file(s);
    EXPECT_EQ(x.file.has_value(), x.errors.empty());
  }
}

}  // namespace

// Differential test: mutations of a good file (lines deleted, duplicated, replaced by snippets
// of valid and invalid YAML / PromQL / templates) get the same verdict from vigil and from
// promtool, except where vigil says "not supported in-process".
TEST(RuleFile, PromtoolMutationDifferential) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  std::vector<std::string> base;
  {
    const std::string& full = cases()[0].yaml;
    std::size_t start = 0;
    while (start < full.size()) {
      const std::size_t nl = full.find('\n', start);
      base.push_back(full.substr(start, nl - start));
      start = nl == std::string::npos ? full.size() : nl + 1;
    }
  }
  static const char* snippets[] = {"    for: 5m",
                                   "    for: 5",
                                   "  limit: 3",
                                   "  interval: 1m",
                                   "    labels: {a: b}",
                                   "    annotations: {x: \"{{ $value }}\"}",
                                   "  - record: x:y",
                                   "  - alert: Z",
                                   "    expr: up",
                                   "    expr: rate(x[5m])",
                                   "    expr: \"sum(x\"",
                                   "- name: api",
                                   "- name: other2",
                                   "  rules:",
                                   "    keep_firing_for: 1h",
                                   "      foo: bar",
                                   "    bogus: 1",
                                   "",
                                   "#c",
                                   "  - null",
                                   "---",
                                   "    expr: |",
                                   "      up == 1",
                                   "  name: q",
                                   "    labels:",
                                   "      \"a-b\": c",
                                   "      x: \"{{ if }}\"",
                                   "    record: rr",
                                   "\tx: 1",
                                   "    annotations:",
                                   "      summary: \"{{ .Labels.job }}\"",
                                   "    expr: 1 + ",
                                   "    for: 1h30m",
                                   "    expr: x offset 5m",
                                   "    expr: topk(3, up)",
                                   "    expr: label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
                                   "    expr: x[5m]",
                                   "    expr: \"1 > bool 2\"",
                                   "    expr: up unless on(job) down",
                                   "  labels: {t: v}"};
  unsigned seed = 99;
  auto rnd = [&](std::size_t n) {
    seed = seed * 1103515245u + 12345u;
    return static_cast<std::size_t>((seed >> 8) % n);
  };
  vigil_test::TempDir dir("rule_file_mut");
  std::vector<std::string> paths, texts;
  std::string args;
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> lines = base;
    const std::size_t ops = 1 + rnd(4);
    for (std::size_t o = 0; o < ops; ++o) {
      const std::size_t k = rnd(lines.size());
      switch (rnd(4)) {
        case 0:
          if (lines.size() > 1) lines.erase(lines.begin() + static_cast<long>(k));
          break;
        case 1:
          lines.insert(lines.begin() + static_cast<long>(k), snippets[rnd(std::size(snippets))]);
          break;
        case 2:
          lines[k] = snippets[rnd(std::size(snippets))];
          break;
        default: {
          const std::string copy = lines[rnd(lines.size())];
          lines.insert(lines.begin() + static_cast<long>(k), copy);
        }
      }
    }
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    const std::string path = dir.write("m" + std::to_string(i) + ".yml", text);
    paths.push_back(path);
    texts.push_back(text);
    args += " '" + path + "'";
  }
  const auto p =
      vigil_test::run_command("promtool check rules --lint=none" + args + " 2>/dev/null");
  int compared = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::size_t at = p.output.find("Checking " + paths[i] + "\n");
    ASSERT_NE(at, std::string::npos) << paths[i];
    const std::size_t line_end = p.output.find('\n', at);
    const bool promtool_ok = p.output.compare(line_end + 1, 11, "  SUCCESS: ") == 0;
    const auto r = parse_rule_file(texts[i], paths[i]);
    bool unsupported = false;
    for (const auto& e : r.errors) unsupported |= vigil::alerting::is_not_supported_error(e);
    bool group_labels = false;
    for (const auto& w : r.warnings) group_labels |= w.find("field 'labels'") != std::string::npos;
    if (unsupported || group_labels) continue;
    ++compared;
    EXPECT_EQ(r.file.has_value(), promtool_ok)
        << texts[i] << "\nvigil: " << (r.errors.empty() ? "ok" : r.errors[0]);
  }
  EXPECT_GT(compared, 200);
}
