// Tests of the Go-template engine (src/alerting/template.h). Every expected output is what
// Prometheus 2.42 produces; PromtoolAgrees re-checks the tables with the real promtool (a rule
// unit test whose exp_annotations are our expectations), so a wrong expectation fails there.
#include "alerting/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "promtool_util.h"

namespace {

namespace t = vigil::alerting::tmpl;

struct Case {
  std::string tmpl;
  std::string want;
};

struct DataSet {
  std::string name;                           // alert name
  std::map<std::string, std::string> labels;  // series labels (no __name__)
  double value = 0;
  std::string series_value;  // the value in promtool's series notation
  std::vector<Case> cases;
};

const std::map<std::string, std::string> kExternalLabels = {{"cluster", "eu1"}};
const std::string kExternalURL = "https://prom.example.com/prom";

const std::vector<DataSet>& datasets() {
  static const std::vector<DataSet> sets = {
      {"Main",
       {{"job", "api"}, {"instance", "host-1.example.com:9090"}, {"severity", "page"}},
       0.1234,
       "0.1234",
       {
           // data access
           {"{{ $labels.job }}", "api"},
           {"{{ .Labels.job }}", "api"},
           {"{{ index $labels \"job\" }}", "api"},
           {"{{ $labels.missing }}", ""},
           {"{{ index $labels \"missing\" }}", ""},
           {"{{ $labels }}", "map[instance:host-1.example.com:9090 job:api severity:page]"},
           {"{{ $value }}", "0.1234"},
           {"{{ .Value }}", "0.1234"},
           {"{{ $externalLabels.cluster }}", "eu1"},
           {"{{ .ExternalLabels.cluster }}", "eu1"},
           {"{{ $externalURL }}", "https://prom.example.com/prom"},
           {"{{ $.Labels.job }}", "api"},
           {"{{ len $labels }}", "3"},
           {"{{ len \"h\xC3\xA9llo\" }}", "6"},
           // humanize family
           {"{{ $value | humanizePercentage }}", "12.34%"},
           {"{{ humanize 1234567 }}", "1.235M"},
           {"{{ humanize 0.001234 }}", "1.234m"},
           {"{{ humanize 0 }}", "0"},
           {"{{ humanize 999.99 }}", "1000"},
           {"{{ humanize 1e30 }}", "1e+06Y"},
           {"{{ humanize -1500 }}", "-1.5k"},
           {"{{ humanize \"2048\" }}", "2.048k"},
           {"{{ humanize1024 2048 }}", "2ki"},
           {"{{ humanize1024 1 }}", "1"},
           {"{{ humanize1024 1536.5 }}", "1.5ki"},
           {"{{ humanize1024 1073741824 }}", "1Gi"},
           {"{{ humanizeDuration 90 }}", "1m 30s"},
           {"{{ humanizeDuration 0 }}", "0s"},
           {"{{ humanizeDuration 3661 }}", "1h 1m 1s"},
           {"{{ humanizeDuration 90061.5 }}", "1d 1h 1m 1s"},
           {"{{ humanizeDuration 1.5 }}", "1.5s"},
           {"{{ humanizeDuration 0.0015 }}", "1.5ms"},
           {"{{ humanizeDuration -90 }}", "-1m 30s"},
           {"{{ humanizeDuration \"120\" }}", "2m 0s"},
           {"{{ humanizePercentage 0.5 }}", "50%"},
           {"{{ humanizePercentage \"0.12345\" }}", "12.35%"},
           {"{{ humanizeTimestamp 1435065584.128 }}", "2015-06-23 13:19:44.128 +0000 UTC"},
           {"{{ humanizeTimestamp 0 }}", "1970-01-01 00:00:00 +0000 UTC"},
           {"{{ humanizeTimestamp 1.5 }}", "1970-01-01 00:00:01.5 +0000 UTC"},
           {"{{ toTime 1435065584 }}", "2015-06-23 13:19:44 +0000 UTC"},
           // printf and print
           {"{{ printf \"%.2f\" $value }}", "0.12"},
           {"{{ printf \"%d items\" 3 }}", "3 items"},
           {"{{ printf \"%5.1f|%-5s|%05d\" 3.14159 \"ab\" 42 }}", "  3.1|ab   |00042"},
           {"{{ printf \"%q\" \"a\\\"b\" }}", "\"a\\\"b\""},
           {"{{ printf \"%x %X\" 255 \"hi\" }}", "ff 6869"},
           {"{{ printf \"%v %g\" 1e6 0.00001 }}", "1e+06 1e-05"},
           {"{{ printf \"%s\" 5 }}", "%!s(int=5)"},
           {"{{ printf \"%d\" }}", "%!d(MISSING)"},
           {"{{ printf \"%d\" 1 2 }}", "1%!(EXTRA int=2)"},
           {"{{ printf \"100%%\" }}", "100%"},
           {"{{ printf \"%.3e\" 123456.789 }}", "1.235e+05"},
           {"{{ printf \"%8.3f|%-8.2e|%+d\" 3.14159 1234.56 5 }}", "   3.142|1.23e+03|+5"},
           {"{{ printf \"%s\" $value }}", "%!s(float64=0.1234)"},
           {"{{ printf \"%d\" $value }}", "%!d(float64=0.1234)"},
           {"{{ printf \"%.1f%%\" 99.95 }}", "100.0%"},
           {"{{ printf \"%6.2f\" -1.0 }}", " -1.00"},
           {"{{ printf \"%g|%g|%v\" 100000000.0 123456.0 1234567.0 }}",
            "1e+08|123456|1.234567e+06"},
           {"{{ printf \"%.2g\" 0.000123 }}", "0.00012"},
           {"{{ printf \"%c%c\" 65 'b' }}", "Ab"},
           {"{{ printf \"%t\" true }}", "true"},
           {"{{ printf \"%v\" $labels }}",
            "map[instance:host-1.example.com:9090 job:api severity:page]"},
           {"{{ printf \"%10.4v|\" 3.14159265 }}", "     3.142|"},
           {"{{ print 1 2 \"a\" 3 }}", "1 2a3"},
           {"{{ println \"a\" 1 }}", "a 1\n"},
           // string functions
           {"{{ toUpper \"abc\" }}", "ABC"},
           {"{{ toLower \"ABC\" }}", "abc"},
           {"{{ title \"hello world-foo bar_baz\" }}", "Hello World-Foo Bar_baz"},
           {"{{ match \"^a.c$\" \"abc\" }}", "true"},
           {"{{ match \"b\" \"abc\" }}", "true"},
           {"{{ match \"^b\" \"abc\" }}", "false"},
           {"{{ reReplaceAll `(\\w+):(\\d+)` \"$2/$1\" \"host:80\" }}", "80/host"},
           {"{{ reReplaceAll \"a\" \"$1x\" \"aaa\" }}", ""},
           {"{{ reReplaceAll \"a\" \"${1}x\" \"aaa\" }}", "xxx"},
           {"{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}", "-b-c-"},
           {"{{ reReplaceAll \"(?P<port>\\\\d+)\" \"[$port]\" \"h:80\" }}", "h:[80]"},
           {"{{ reReplaceAll \"x\" \"$$\" \"axb\" }}", "a$b"},
           {"{{ $labels.instance | reReplaceAll \":.*\" \"\" }}", "host-1.example.com"},
           {"{{ stripPort \"host:9090\" }}", "host"},
           {"{{ stripPort \"[::1]:80\" }}", "::1"},
           {"{{ stripPort \"host\" }}", "host"},
           {"{{ stripPort \"a:b:c\" }}", "a:b:c"},
           {"{{ stripDomain \"host-1.example.com:9090\" }}", "host-1:9090"},
           {"{{ stripDomain \"10.0.0.1:80\" }}", "10.0.0.1:80"},
           {"{{ stripDomain \"a.b.c\" }}", "a"},
           {"{{ html \"<a&'b'>\" }}", "&lt;a&amp;&#39;b&#39;&gt;"},
           {"{{ urlquery \"a b&c/d\" }}", "a+b%26c%2Fd"},
           {"{{ safeHtml \"<b>\" }}", "<b>"},
           {"{{ graphLink \"up == 0\" }}", "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"},
           {"{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"},
           {"{{ parseDuration \"1h30m\" }}", "5400"},
           {"{{ parseDuration \"500ms\" }}", "0.5"},
           {"{{ slice \"abcdef\" 1 3 }}", "bc"},
           {"{{ args 1 \"x\" }}", "map[arg0:1 arg1:x]"},
           {"{{ (args 1).arg5 }}", "<no value>"},
           {"{{ (args 1 2).arg1 }}", "2"},
           // control structures
           {"{{ if eq $labels.severity \"page\" }}P{{ else if eq $labels.severity \"ticket\" }}T"
            "{{ else }}N{{ end }}",
            "P"},
           {"{{ if eq .Labels.severity \"x\" }}P{{ else if eq $labels.job \"api\" }}T"
            "{{ else }}N{{ end }}",
            "T"},
           {"{{ if gt $value 0.5 }}high{{ else }}low{{ end }}", "low"},
           {"{{ if and (ge $value 0.1) (lt $value 0.2) }}in{{ end }}", "in"},
           {"{{ if not (eq $labels.job \"api\") }}x{{ else }}y{{ end }}", "y"},
           {"{{ if $labels.nope }}x{{ end }}", ""},
           {"{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            "instance=host-1.example.com:9090;job=api;severity=page;"},
           {"{{ range $labels }}{{ . }},{{ end }}", "host-1.example.com:9090,api,page,"},
           {"{{ range $v := $externalLabels }}{{ $v }}{{ end }}", "eu1"},
           {"{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ break }}{{ end }}{{ $v }};"
            "{{ end }}",
            "host-1.example.com:9090;"},
           {"{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ continue }}{{ end }}{{ $k }};"
            "{{ end }}",
            "instance;severity;"},
           {"{{ range (args).x }}a{{ else }}empty{{ end }}", "empty"},
           {"{{ with $labels.job }}job={{ . }}{{ end }}", "job=api"},
           {"{{ with $labels.nope }}x{{ else }}none{{ end }}", "none"},
           {"{{ with $x := $labels.job }}{{ $x }}{{ end }}", "api"},
           // whitespace, comments, variables, literals
           {"a  {{- 1 -}}  b", "a1b"},
           {"a {{- /* c */ -}} b", "ab"},
           {"a{{/* c */}}b", "ab"},
           {"a\n  {{- $labels.job }}\n", "aapi\n"},
           {"{{ $x := 5 }}{{ $x }}{{ $x = 6 }}{{ $x }}", "56"},
           {"{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"},
           {"{{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ \"s\" }} {{ true }} {{ -7 }}",
            "1.5 1000 16 97 s true -7"},
           {"{{ `raw\\n` }}", "raw\\n"},
           {"{{ \"tab\\there\" }}", "tab\there"},
           {"{{ and 1 0 }}|{{ or \"\" \"b\" }}|{{ not true }}|{{ and 1 2 }}|{{ or 0 \"\" }}",
            "0|b|false|2|"},
           {"{{ eq 1 1 2 }}|{{ eq \"a\" \"b\" \"c\" }}|{{ ne 1 2 }}", "true|false|true"},
           {"{{ lt \"a\" \"b\" }}|{{ le 2 2 }}|{{ gt 1.5 2.5 }}|{{ ge 3 2 }}",
            "true|true|false|true"},
           {"{{ (printf \"%s-%s\" \"a\" \"b\") | toUpper }}", "A-B"},
           {"{{ \"abc\" | printf \"%s-%s\" \"x\" }}", "x-abc"},
           {"{{ $labels.job | printf \"%s!\" | toUpper }}", "API!"},
           {"line1\nline2 {{ $labels.job }}", "line1\nline2 api"},
           {"no actions at all", "no actions at all"},
           {"{{ humanize 1234567 | printf \"%s bytes\" }}", "1.235M bytes"},
       }},
      {"Tenth",
       {{"a", "b"}},
       0.1,
       "0.1",
       {{"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|"
         "{{ humanizeDuration $value }}",
         "0.1|100m|0.10|100ms"}}},
      {"Million",
       {{"a", "b"}},
       1e6,
       "1000000",
       {{"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|"
         "{{ humanizeDuration $value }}",
         "1e+06|1M|1000000.00|11d 13h 46m 40s"}}},
      {"Big",
       {{"a", "b"}},
       123456789,
       "123456789",
       {{"{{ $value }}|{{ humanize $value }}|{{ humanizeDuration $value }}",
         "1.23456789e+08|123.5M|1428d 21h 33m 9s"}}},
      {"Huge", {{"a", "b"}}, 1e21, "1e21", {{"{{ $value }}|{{ humanize $value }}", "1e+21|1Z"}}},
      {"Hundredk",
       {{"a", "b"}},
       100000,
       "100000",
       {{"{{ $value }}|{{ humanize $value }}|{{ humanizeDuration $value }}",
         "100000|100k|1d 3h 46m 40s"}}},
      {"Small",
       {{"a", "b"}},
       -0.00001,
       "-0.00001",
       {{"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|"
         "{{ humanizeDuration $value }}",
         "-1e-05|-10u|-0.00|-10us"}}},
      {"TenK",
       {{"a", "b"}},
       0.0001,
       "0.0001",
       {{"{{ $value }}|{{ humanize $value }}|{{ humanizeDuration $value }}", "0.0001|100u|100us"}}},
      {"NotANumber",
       {{"a", "b"}},
       std::numeric_limits<double>::quiet_NaN(),
       "NaN",
       {{"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|"
         "{{ humanizeDuration $value }}|{{ humanizePercentage $value }}",
         "NaN|NaN|NaN|NaN|NaN%"}}},
      {"Infinite",
       {{"a", "b"}},
       std::numeric_limits<double>::infinity(),
       "Inf",
       {{"{{ $value }}|{{ humanize $value }}|{{ printf \"%.2f\" $value }}|"
         "{{ humanize1024 $value }}|{{ humanizeTimestamp $value }}",
         "+Inf|+Inf|+Inf|+Inf|+Inf"}}},
      {"Zero",
       {{"a", "b"}},
       0,
       "0",
       {{"{{ $value }}|{{ humanize $value }}|{{ humanizeDuration $value }}|{{ if $value }}t"
         "{{ else }}f{{ end }}",
         "0|0|0s|f"}}},
      {"Integral",
       {{"a", "b"}},
       42,
       "42",
       {{"{{ $value }}|{{ printf \"%v|%.0f|%g\" $value $value $value }}", "42|42|42|42"}}},
  };
  return sets;
}

t::TemplateData data_of(const DataSet& ds) {
  t::TemplateData d;
  d.labels = ds.labels;
  d.external_labels = kExternalLabels;
  d.external_url = kExternalURL;
  d.value = ds.value;
  return d;
}

TEST(Template, TableMatchesPrometheus) {
  for (const DataSet& ds : datasets()) {
    for (const Case& c : ds.cases) {
      auto parsed = t::Template::parse_alert(c.tmpl, ds.name);
      ASSERT_TRUE(parsed) << c.tmpl << ": " << parsed.error;
      auto out = parsed->execute(data_of(ds));
      ASSERT_TRUE(out) << c.tmpl << ": " << out.error;
      EXPECT_EQ(*out, c.want) << ds.name << ": " << c.tmpl;
    }
  }
}

// Writes the tables as a promtool rule unit test: one alert per data set, one annotation per
// case, our expected outputs as exp_annotations. promtool fails when Prometheus disagrees.
TEST(Template, PromtoolAgrees) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  using vigil_test::yaml_quote;
  std::string rules = "groups:\n- name: templates\n  rules:\n";
  std::string series, alerts;
  int i = 0;
  for (const DataSet& ds : datasets()) {
    const std::string metric = "vigil_template_" + std::to_string(i++);
    rules += "  - alert: " + ds.name + "\n    expr: " + metric + " * 1\n    annotations:\n";
    std::string labels = "{";
    std::string exp_labels = "{";
    for (const auto& [k, v] : ds.labels) {
      if (labels.size() > 1) labels += ",";
      if (exp_labels.size() > 1) exp_labels += ", ";
      labels += k + "=" + yaml_quote(v);
      exp_labels += k + ": " + yaml_quote(v);
    }
    labels += "}";
    exp_labels += "}";
    series += "  - series: " + yaml_quote(metric + labels) +
              "\n    values: " + yaml_quote(ds.series_value) + "\n";
    alerts += "  - eval_time: 0m\n    alertname: " + ds.name +
              "\n    exp_alerts:\n    - exp_labels: " + exp_labels + "\n      exp_annotations:\n";
    int j = 0;
    for (const Case& c : ds.cases) {
      const std::string key = "c" + std::to_string(j++);
      rules += "      " + key + ": " + yaml_quote("[" + c.tmpl + "]") + "\n";
      alerts += "        " + key + ": " + yaml_quote("[" + c.want + "]") + "\n";
    }
  }
  std::string test = "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n";
  test += "  external_labels: {cluster: eu1}\n  external_url: " + kExternalURL + "\n";
  test += "  input_series:\n" + series + "  alert_rule_test:\n" + alerts;
  vigil_test::TempDir dir("template");
  dir.write("rules.yml", rules);
  const std::string test_path = dir.write("test.yml", test);
  const auto r =
      vigil_test::run_command("cd '" + dir.path().string() + "' && promtool test rules test.yml");
  EXPECT_EQ(r.status, 0) << r.output;
}

// ---- parse errors: the message Go's text/template gives, checked with `promtool check rules`.
struct ErrorCase {
  std::string tmpl;
  std::string want;  // the error after "template: __alert_A:"
};

const std::vector<ErrorCase>& parse_errors() {
  static const std::vector<ErrorCase> cases = {
      {"{{ nosuchfn }}", "1: function \"nosuchfn\" not defined"},
      {"{{ $foo }}", "1: undefined variable \"$foo\""},
      {"{{ .Labels.job | nosuch }}", "1: function \"nosuch\" not defined"},
      {"{{ if }}", "1: missing value for if"},
      {"{{ end }}", "1: unexpected {{end}}"},
      {"{{ else }}", "1: unexpected {{else}}"},
      {"{{ /* x */ }}", "1: unexpected \"/\" in command"},
      {"{{ range $k, $v := $labels }}", "1: unexpected EOF"},
      {"{{ if true }}a", "1: unexpected EOF"},
      {"{{ $labels.job", "1: unclosed action"},
      {"{{ }}", "1: missing value for command"},
      {"{{ \"abc }}", "1: unterminated quoted string"},
      {"{{/* abc", "1: unclosed comment"},
      {"{{/* abc */ }}", "1: comment ends before closing delimiter"},
      {"line\n{{ nosuch }}", "2: function \"nosuch\" not defined"},
      {"{{ break }}", "1: {{break}} outside {{range}}"},
      {"{{ $x := 1 }}{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}", "1: undefined variable \"$y\""},
      {"{{ 1 | 2 }}", "1: non executable command in pipeline stage 2"},
      {"{{ (1 }}", "1: unclosed left paren"},
      {"{{ 1) }}", "1: unexpected \")\" in command"},
  };
  return cases;
}

TEST(Template, ParseErrors) {
  for (const ErrorCase& c : parse_errors()) {
    auto r = t::Template::parse_alert(c.tmpl, "A");
    ASSERT_FALSE(r) << c.tmpl;
    EXPECT_EQ(r.error, "template: __alert_A:" + c.want) << c.tmpl;
  }
}

TEST(Template, PromtoolParseErrorsAgree) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  vigil_test::TempDir dir("template_err");
  int i = 0;
  for (const ErrorCase& c : parse_errors()) {
    const std::string rules =
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n"
        "    annotations:\n      a: " +
        vigil_test::yaml_quote(c.tmpl) + "\n";
    const std::string path = dir.write("r" + std::to_string(i++) + ".yml", rules);
    const auto r = vigil_test::run_command("promtool check rules '" + path + "'");
    EXPECT_NE(r.status, 0) << c.tmpl;
    EXPECT_NE(r.output.find("annotation \"a\": template: __alert_A:" + c.want), std::string::npos)
        << c.tmpl << "\n"
        << r.output;
  }
}

TEST(Template, NotSupportedInProcess) {
  for (const char* s :
       {"{{ query \"up\" }}", "{{ with query \"up\" }}{{ . | first | value }}{{ end }}",
        "{{ define \"x\" }}{{ end }}", "{{ template \"x\" }}"}) {
    auto r = t::Template::parse_alert(s, "A");
    ASSERT_FALSE(r) << s;
    EXPECT_NE(r.error.find("not supported in-process: "), std::string::npos) << r.error;
  }
  auto r = t::Template::parse_alert("{{ query \"up\" }}", "A");
  EXPECT_EQ(r.error, "template: __alert_A:1: not supported in-process: query");
}

// ---- execution errors never crash; a few are checked against Prometheus' messages.
TEST(Template, ExecutionErrors) {
  t::TemplateData d;
  d.labels = {{"job", "api"}};
  struct E {
    const char* tmpl;
    const char* want;
  };
  for (const E& e : std::vector<E>{
           {"{{ .Nope }}", "can't evaluate field Nope in type struct"},
           {"{{ humanize \"abc\" }}",
            "error calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax"},
           {"{{ humanize $labels }}", "can't convert map[string]string to float"},
           {"{{ index $value 1 }}", "can't index item of type float64"},
           {"{{ len $value }}", "len of type float64"},
           {"{{ eq $value 1 }}", "incompatible types for comparison"},
           {"{{ lt true false }}", "invalid type for comparison"},
           {"{{ $labels.job.x }}", "can't evaluate field x in type string"},
           {"{{ range $value }}{{ end }}", "range can't iterate over 0"},
           {"{{ title 1 }}", "expected string; found 1"},
           {"{{ title $value }}", "wrong type for value; expected string; got float64"},
           {"{{ humanize }}", "wrong number of args for humanize: want 1 got 0"},
           {"{{ reReplaceAll \"(\" \"\" \"x\" }}", "error calling reReplaceAll"},
           {"{{ match \"(\" \"x\" }}", "error calling match"},
           {"{{ parseDuration \"5\" }}", "not a valid duration string: \"5\""},
           {"{{ humanizeTimestamp 1e300 }}", "overflows int64"},
       }) {
    auto p = t::Template::parse_alert(e.tmpl, "A");
    ASSERT_TRUE(p) << e.tmpl << ": " << p.error;
    auto out = p->execute(d);
    ASSERT_FALSE(out) << e.tmpl << " gave " << *out;
    EXPECT_NE(out.error.find(e.want), std::string::npos) << e.tmpl << ": " << out.error;
    EXPECT_EQ(out.error.rfind("template: __alert_A:1:", 0), 0u) << out.error;
  }
}

// Execution errors exactly as Go reports them (Prometheus shows them in the annotation as
// "<error expanding template: error executing template NAME: ...>"). The header of
// parse_alert is 112 bytes long, so the first action of the user's text is at column 115.
const std::vector<Case>& exec_errors() {
  static const std::vector<Case> cases = {
      {"{{ humanize \"abc\" }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <humanize \"abc\">: error "
       "calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax"},
      {"{{ .Nope }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <.Nope>: can't evaluate field "
       "Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; "
       "ExternalURL string; Value float64 }"},
      {"{{ eq $value 1 }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <eq $value 1>: error calling "
       "eq: incompatible types for comparison"},
      {"{{ $labels.job.x }}",
       "template: __alert_Err:1:122: executing \"__alert_Err\" at <$labels.job.x>: can't "
       "evaluate field x in type string"},
      {"{{ title 1 }}",
       "template: __alert_Err:1:121: executing \"__alert_Err\" at <1>: expected string; found 1"},
      {"{{ humanize }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <humanize>: wrong number of "
       "args for humanize: want 1 got 0"},
      {"{{ index $value 1 }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <index $value 1>: error "
       "calling index: can't index item of type float64"},
      {"{{ reReplaceAll \"(\" \"\" \"x\" }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <reReplaceAll \"(\" \"\" "
       "\"x\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing "
       "closing ): `(`"},
      {"{{ range $value }}{{ end }}",
       "template: __alert_Err:1:121: executing \"__alert_Err\" at <$value>: range can't iterate "
       "over 0.1234"},
      {"x\n {{ len $value }}",
       "template: __alert_Err:2:4: executing \"__alert_Err\" at <len $value>: error calling len: "
       "len of type float64"},
      {"{{ humanize $labels }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <humanize $labels>: error "
       "calling humanize: can't convert map[string]string to float"},
      {"{{ lt true false }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <lt true false>: error calling "
       "lt: invalid type for comparison"},
      {"{{ parseDuration \"5\" }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <parseDuration \"5\">: error "
       "calling parseDuration: not a valid duration string: \"5\""},
      {"{{ humanizeTimestamp 1e300 }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <humanizeTimestamp 1e300>: "
       "error calling humanizeTimestamp: 1e+300 cannot be represented as a nanoseconds "
       "timestamp since it overflows int64"},
      {"{{ match \"(\" \"x\" }}",
       "template: __alert_Err:1:115: executing \"__alert_Err\" at <match \"(\" \"x\">: error "
       "calling match: error parsing regexp: missing closing ): `(`"},
      {"{{ .Labels.job \"x\" }}",
       "template: __alert_Err:1:122: executing \"__alert_Err\" at <.Labels.job>: job is not a "
       "method but has arguments"},
      {"{{ $nope = 1 }}",
       "template: __alert_Err:1:123: executing \"__alert_Err\" at <1>: undefined variable: "
       "$nope"},
      {"{{ $value | printf \"%d\" | humanize }}",
       "template: __alert_Err:1:138: executing \"__alert_Err\" at <humanize>: error calling "
       "humanize: strconv.ParseFloat: parsing \"%!d(float64=0.1234)\": invalid syntax"},
  };
  return cases;
}

TEST(Template, ExecutionErrorsExact) {
  t::TemplateData d;
  d.labels = {{"job", "api"}};
  d.value = 0.1234;
  for (const Case& c : exec_errors()) {
    auto p = t::Template::parse_alert(c.tmpl, "Err");
    ASSERT_TRUE(p) << c.tmpl << ": " << p.error;
    auto out = p->execute(d);
    ASSERT_FALSE(out) << c.tmpl << " gave " << *out;
    EXPECT_EQ(out.error, c.want) << c.tmpl;
  }
}

TEST(Template, PromtoolExecutionErrorsAgree) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  using vigil_test::yaml_quote;
  std::string rules =
      "groups:\n- name: g\n  rules:\n  - alert: Err\n    expr: e * 1\n"
      "    annotations:\n";
  std::string exp;
  int j = 0;
  for (const Case& c : exec_errors()) {
    const std::string key = "e" + std::to_string(j++);
    rules += "      " + key + ": " + yaml_quote(c.tmpl) + "\n";
    exp += "        " + key + ": " +
           yaml_quote("<error expanding template: error executing template __alert_Err: " + c.want +
                      ">") +
           "\n";
  }
  const std::string test =
      "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n"
      "  input_series:\n  - series: 'e{job=\"api\"}'\n    values: '0.1234'\n"
      "  alert_rule_test:\n  - eval_time: 0m\n    alertname: Err\n    exp_alerts:\n"
      "    - exp_labels: {job: api}\n      exp_annotations:\n" +
      exp;
  vigil_test::TempDir dir("template_exec");
  dir.write("rules.yml", rules);
  dir.write("test.yml", test);
  const auto r =
      vigil_test::run_command("cd '" + dir.path().string() + "' && promtool test rules test.yml");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Template, BoundedExecution) {
  t::TemplateData d;
  for (int i = 0; i < 100; ++i) d.labels["l" + std::to_string(i)] = std::string(100, 'x');
  // 100^3 iterations: stopped by the step bound, not a hang.
  auto p = t::Template::parse_alert(
      "{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ end }}{{ end }}{{ end }}", "A");
  ASSERT_TRUE(p) << p.error;
  auto out = p->execute(d);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error.find("exceeded"), std::string::npos) << out.error;
  // output bound
  auto q = t::Template::parse_alert(
      "{{ range $labels }}{{ range $labels }}{{ . }}{{ end }}{{ end }}", "A");
  ASSERT_TRUE(q);
  auto big = q->execute(d);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error.find("output exceeds"), std::string::npos) << big.error;
  // deep nesting is a parse error, not a stack overflow
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "{{ if true }}";
  EXPECT_FALSE(t::Template::parse_alert(deep, "A"));
  std::string parens = "{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}";
  EXPECT_FALSE(t::Template::parse_alert(parens, "A"));
}

TEST(Template, ArbitraryBytesNeverCrash) {
  const std::string pieces[] = {
      "{{", "}}", "{{-", "-}}", " ",     "$x",   ":=",       "|",       "(",
      ")",  "\"", "if",  "end", "range", "else", ".",        "$labels", "printf",
      "/*", "*/", "'",   "`",   "\xff",  "1e9",  "humanize", "with",    ","};
  t::TemplateData d;
  d.labels = {{"a", "b"}};
  unsigned seed = 1;
  for (int n = 0; n < 3000; ++n) {
    std::string s;
    for (int k = 0; k < 12; ++k) {
      seed = seed * 1103515245u + 12345u;
      s += pieces[(seed >> 16) % std::size(pieces)];
    }
    auto p = t::Template::parse(s, "f");
    if (p) (void)p->execute(d);
  }
}

TEST(Template, FormatHelpers) {
  EXPECT_EQ(t::format_float_v(0.1), "0.1");
  EXPECT_EQ(t::format_float_v(1e6), "1e+06");
  EXPECT_EQ(t::format_float_v(123456), "123456");
  EXPECT_EQ(t::format_float_v(1e-5), "1e-05");
  EXPECT_EQ(t::format_float_v(0.0001), "0.0001");
  EXPECT_EQ(t::format_float_v(-2.5), "-2.5");
  EXPECT_EQ(t::format_float_v(std::nan("")), "NaN");
  EXPECT_EQ(t::format_float_v(-INFINITY), "-Inf");
  EXPECT_EQ(t::format_float_v(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(t::format_float("%.2f", 3.14159), "3.14");
  EXPECT_EQ(t::humanize(1234567), "1.235M");
  EXPECT_EQ(t::humanize(0.001234), "1.234m");
  EXPECT_EQ(t::humanize_duration(90), "1m 30s");
  EXPECT_EQ(t::humanize_percentage(0.1234), "12.34%");
  EXPECT_EQ(t::humanize1024(2048), "2ki");
  EXPECT_EQ(*t::humanize_timestamp(-1.5), "1969-12-31 23:59:58.5 +0000 UTC");
}

TEST(Template, Braces) {
  const std::map<std::string, std::string> labels = {{"name", "x"}, {"job", "api"}};
  EXPECT_EQ(t::expand_braces("{name} at {value}", labels, 0.5), "x at 0.5");
  EXPECT_EQ(t::expand_braces("{labels.job}: {value:.2f}", labels, 3.14159), "api: 3.14");
  EXPECT_EQ(t::expand_braces("{value:5.1f}|", labels, 2.25), "  2.2|");
  EXPECT_EQ(t::expand_braces("{unknown} {value:zz} {", labels, 1), "{unknown} {value:zz} {");
  EXPECT_EQ(t::expand_braces("{value}", labels, 1e6), "1e+06");
  EXPECT_EQ(t::expand_braces("no braces", labels, 1), "no braces");
}

}  // namespace

// Differential test of the parser: random templates from Go-template pieces must be accepted or
// rejected exactly as Prometheus does (one rule file, one alert per template, promtool's errors
// per rule).
namespace {
std::vector<std::string> random_templates(int n, unsigned seed) {
  static const char* pieces[] = {
      "{{",      "}}",       "{{- ",       " -}}",        " ",        "$labels",     "$value",
      ".Labels", ".job",     "$x",         " := ",        " = ",      "|",           "(",
      ")",       "\"s\"",    "1",          "1.5",         "if ",      "else ",       "end",
      "range ",  "with ",    "printf ",    "humanize ",   "eq ",      "and ",        "not ",
      "index ",  "len ",     "$k, $v := ", ".",           "toUpper ", "text",        "/* c */",
      "break",   "continue", "nil",        "true",        "'a'",      "`r`",         ",",
      "$",       "-1",       "0x1F",       "{{/* c */}}", "nosuch ",  "$labels.job", "\n"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    const int len = 2 + static_cast<int>(seed % 9);
    for (int k = 0; k < len; ++k) {
      seed = seed * 1103515245u + 12345u;
      s += pieces[(seed >> 16) % std::size(pieces)];
    }
    out.push_back(s);
  }
  return out;
}
}  // namespace

TEST(Template, PromtoolParseDifferential) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  const auto templates = random_templates(3000, 987654);
  std::string rules = "groups:\n- name: g\n  rules:\n";
  for (std::size_t i = 0; i < templates.size(); ++i) {
    rules += "  - alert: A" + std::to_string(i) +
             "\n    expr: up\n    annotations:\n      a: " + vigil_test::yaml_quote(templates[i]) +
             "\n";
  }
  vigil_test::TempDir dir("template_diff");
  const std::string path = dir.write("r.yml", rules);
  const auto r = vigil_test::run_command("promtool check rules '" + path + "'");
  int mismatches = 0, message_diffs = 0;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    const std::string name = "A" + std::to_string(i);
    const std::string marker = "\"" + name + "\": annotation \"a\": ";
    const std::size_t at = r.output.find(marker);
    const bool promtool_ok = at == std::string::npos;
    auto ours = t::Template::parse_alert(templates[i], name);
    if (ours.has_value() != promtool_ok) {
      ++mismatches;
      ADD_FAILURE() << "verdict differs for " << testing::PrintToString(templates[i])
                    << "\nvigil: " << (ours ? "ok" : ours.error) << "\npromtool: "
                    << (promtool_ok ? "ok" : r.output.substr(at, r.output.find('\n', at) - at));
    } else if (!promtool_ok) {
      const std::string theirs =
          r.output.substr(at + marker.size(), r.output.find('\n', at) - at - marker.size());
      if (theirs != ours.error) {
        ++message_diffs;
        ADD_FAILURE() << "message differs for " << testing::PrintToString(templates[i])
                      << "\n  vigil:    " << ours.error << "\n  promtool: " << theirs;
      }
    }
  }
  std::cerr << templates.size() << " templates, " << mismatches << " verdict mismatches, "
            << message_diffs << " message differences\n";
}

// Differential test of execution: random well-formed templates (numbers, strings, printf
// verbs, humanize*, control structures) expanded by vigil; promtool's rule unit test expects
// exactly vigil's outputs (one alert per template, so a failure names the template).
namespace {
class TemplateGen {
 public:
  explicit TemplateGen(unsigned seed) : seed_(seed) {}
  std::string templ() {
    switch (pick(6)) {
      case 0:
        return "{{ " + str(2) + " }}";
      case 1:
        return "{{ " + num(2) + " }}";
      case 2:
        return "{{ if " + cond() + " }}T{{ else }}F{{ end }}";
      case 3:
        return "{{ range $k, $v := $labels }}{{ $k }}=" + wrap(str(1)) + ";{{ end }}";
      case 4:
        return "{{ with " + str(1) + " }}[{{ . }}]{{ else }}none{{ end }}";
      default:
        return "{{ printf " + fmt() + " " + num(1) + " }}";
    }
  }

 private:
  unsigned seed_;
  unsigned pick(unsigned n) {
    seed_ = seed_ * 1103515245u + 12345u;
    return (seed_ >> 16) % n;
  }
  static std::string wrap(const std::string& s) { return "{{ " + s + " }}"; }
  std::string num(int depth) {
    static const char* leaves[] = {
        "$value",  "1",      "1.5", "-3",       "1e3",        "0.001234", "123456789", "0", "1e-7",
        "86399.5", "3.5e15", "0.1", "-0.00042", "1073741824", "100",      "999.95",    "60"};
    if (depth <= 0 || pick(3) == 0) return leaves[pick(std::size(leaves))];
    switch (pick(3)) {
      case 0:
        return "(len " + (pick(2) ? std::string("$labels") : str(depth - 1)) + ")";
      case 1:
        return "(parseDuration \"" + std::string(pick(2) ? "1m30s" : "1d2h") + "\")";
      default:
        return leaves[pick(std::size(leaves))];
    }
  }
  std::string fmt() {
    static const char* fmts[] = {"\"%d\"",     "\"%.3f\"",   "\"%8.2e\"", "\"%-6v|\"",  "\"%+.1g\"",
                                 "\"%x\"",     "\"%q\"",     "\"%s\"",    "\"%05.1f\"", "\"%v\"",
                                 "\"%10s|\"",  "\"%t\"",     "\"%g\"",    "\"%.0f\"",   "\"%E\"",
                                 "\"%6.3g|\"", "\"%.2f%%\"", "\"%o\"",    "\"% d\"",    "\"%#v\""};
    return fmts[pick(std::size(fmts))];
  }
  std::string str(int depth) {
    static const char* leaves[] = {"$labels.job",
                                   "$labels.instance",
                                   "\"abc def\"",
                                   "$labels.missing",
                                   "$externalLabels.cluster",
                                   "\"\"",
                                   "\"host.example.com:80\"",
                                   "\"a_b-c d\"",
                                   "$labels.num"};
    if (depth <= 0 || pick(3) == 0) return leaves[pick(std::size(leaves))];
    const std::string n = num(depth - 1);
    const std::string s = str(depth - 1);
    switch (pick(14)) {
      case 0:
        return "(humanize " + n + ")";
      case 1:
        return "(humanize1024 " + n + ")";
      case 2:
        return "(humanizeDuration " + n + ")";
      case 3:
        return "(humanizePercentage " + n + ")";
      case 4:
        return "(humanizeTimestamp " + n + ")";
      case 5:
        return "(toUpper " + s + ")";
      case 6:
        return "(title " + s + ")";
      case 7:
        return "(printf " + fmt() + " " + n + ")";
      case 8:
        return "(reReplaceAll \"[aeiou]\" \"<$0>\" " + s + ")";
      case 9:
        return "(stripPort " + s + ")";
      case 10:
        return "(print " + n + " " + s + " " + n + ")";
      case 11:
        return "(" + s + " | printf \"%s!\")";
      case 12:
        return "(stripDomain " + s + ")";
      default:
        return "(humanize " + s + ")";
    }
  }
  std::string cond() {
    switch (pick(5)) {
      case 0:
        return "eq " + str(1) + " " + str(0);
      case 1:
        return "gt $value " + std::string(pick(2) ? "0.5" : "-1.0");
      case 2:
        return "and " + str(0) + " " + str(0);
      case 3:
        return "not " + str(0);
      default:
        return "match \"^[a-h]\" " + str(1);
    }
  }
};
}  // namespace

TEST(Template, PromtoolExecDifferential) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  using vigil_test::yaml_quote;
  t::TemplateData d;
  d.labels = {{"job", "api"}, {"instance", "host-1.example.com:9090"}, {"num", "42"}};
  d.external_labels = kExternalLabels;
  d.external_url = kExternalURL;
  d.value = 1234.5678;
  TemplateGen gen(2024);
  std::string rules = "groups:\n- name: g\n  rules:\n";
  std::string alerts;
  std::vector<std::string> templates, outputs;
  for (int i = 0; i < 1000; ++i) {
    const std::string tpl = gen.templ();
    auto p = t::Template::parse_alert(tpl, "A" + std::to_string(i));
    ASSERT_TRUE(p) << tpl << ": " << p.error;
    auto out = p->execute(d);
    const std::string name = "A" + std::to_string(i);
    const std::string want = out ? "[" + *out + "]"
                                 : "<error expanding template: error executing template __alert_" +
                                       name + ": " + out.error + ">";
    templates.push_back(tpl);
    outputs.push_back(want);
    rules += "  - alert: " + name + "\n    expr: v * 1\n    annotations:\n      a: " +
             yaml_quote(out ? "[" + tpl + "]" : tpl) + "\n";
    alerts +=
        "  - eval_time: 0m\n    alertname: " + name +
        "\n    exp_alerts:\n    - exp_labels: {job: api, instance: \"host-1.example.com:9090\", "
        "num: \"42\"}\n      exp_annotations:\n        a: " +
        yaml_quote(want) + "\n";
  }
  const std::string test =
      "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n"
      "  external_labels: {cluster: eu1}\n  external_url: " +
      kExternalURL +
      "\n  input_series:\n  - series: 'v{job=\"api\",instance=\"host-1.example.com:9090\","
      "num=\"42\"}'\n    values: '1234.5678'\n  alert_rule_test:\n" +
      alerts;
  vigil_test::TempDir dir("template_exec_diff");
  dir.write("rules.yml", rules);
  dir.write("test.yml", test);
  const auto r =
      vigil_test::run_command("cd '" + dir.path().string() + "' && promtool test rules test.yml");
  int failures = 0;
  for (std::size_t i = 0; i < templates.size(); ++i) {
    const std::string marker = "alertname: A" + std::to_string(i) + ",";
    const std::size_t at = r.output.find(marker);
    if (at == std::string::npos) continue;
    ++failures;
    const std::size_t got = r.output.find("got:", at);
    const std::size_t ann = r.output.find("Annotations:", got);
    ADD_FAILURE() << "output differs for " << templates[i] << "\n  vigil:    " << outputs[i]
                  << "\n  promtool: " << r.output.substr(ann, r.output.find('\n', ann) - ann);
  }
  if (failures == 0) {
    EXPECT_EQ(r.status, 0) << r.output.substr(0, 4000);
  }
}
