// Notification templates (alerting/notify/notification_template.h): Alertmanager 0.25's data
// model, methods, functions and default templates, hand-computed; error messages; bounds; and
// a differential test against the real `amtool template render` (Alertmanager 0.25).
#include "alerting/notify/notification_template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "promtool_util.h"

namespace {

using vigil::alerting::NotificationGroup;
using vigil::alerting::NotifiedAlert;
using vigil::alerting::parse_notification_template;
using vigil::alerting::render_notification;
using vigil::alerting::TimePoint;

// 2026-11-30T06:15:27Z + ns
TimePoint at(int64_t unix_seconds, int64_t ns = 0) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(unix_seconds) + std::chrono::nanoseconds(ns)));
}
constexpr int64_t kT0 = 1796019327;  // 2026-11-30 06:15:27 UTC

NotificationGroup fixture() {
  NotificationGroup g;
  g.receiver = "team-x.y";
  g.group_key = "{}:{alertname=\"HighLatency\"}";
  g.group_labels = {{"alertname", "HighLatency"}};
  g.external_url = "http://am:9093";
  NotifiedAlert a;
  a.labels = {{"ab", "1"},
              {"alertname", "HighLatency"},
              {"instance", "a:1"},
              {"job", "api"},
              {"severity", "page"}};
  a.annotations = {{"summary", "p99 > 1s"}, {"description", "hello <b> & 'x'+1"}};
  a.starts_at = at(kT0, 123456789);
  a.ends_at = TimePoint{};  // unknown: Go's zero time
  a.generator_url = "http://vigil/graph?g0.expr=rate(x[5m])&g0.tab=1";
  a.fingerprint = 0x0123456789abcdefULL;
  NotifiedAlert b;
  b.labels = {{"ab", "1"},
              {"alertname", "HighLatency"},
              {"instance", "b:1"},
              {"job", "api"},
              {"severity", "page"}};
  b.annotations = {{"summary", "p99 > 1s"}};
  b.starts_at = at(kT0 - 327);
  b.ends_at = at(kT0 - 87, 500'000'000);
  b.fingerprint = 0xfedcba9876543210ULL;
  b.resolved = true;
  g.alerts = {a, b};
  g.compute_common();
  return g;
}

std::string render(std::string_view text, const NotificationGroup& g = fixture()) {
  auto t = parse_notification_template(text, "t");
  if (!t) return "PARSE: " + t.error;
  auto out = render_notification(*t, g);
  if (!out) return "EXEC: " + out.error;
  return *out;
}

TEST(NotificationTemplate, DataModel) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ .Receiver }}", "team-x\\.y"},
      {"{{ .Status }}", "firing"},
      {"{{ .ExternalURL }}", "http://am:9093"},
      {"{{ len .Alerts }} {{ len .Alerts.Firing }} {{ .Alerts.Resolved | len }}", "2 1 1"},
      {"{{ range .Alerts }}{{ .Status }} {{ .Fingerprint }};{{ end }}",
       "firing 0123456789abcdef;resolved fedcba9876543210;"},
      {"{{ range $i, $a := .Alerts.Firing }}{{ $i }}={{ $a.Labels.instance }}{{ end }}", "0=a:1"},
      {"{{ (index .Alerts 1).Labels.instance }}", "b:1"},
      {"{{ (index .Alerts 0).StartsAt }}", "2026-11-30 06:15:27.123456789 +0000 UTC"},
      {"{{ (index .Alerts 0).EndsAt }}", "0001-01-01 00:00:00 +0000 UTC"},
      {"{{ (index .Alerts 1).EndsAt }}", "2026-11-30 06:14:00.5 +0000 UTC"},
      {"{{ (index .Alerts 1).StartsAt }}", "2026-11-30 06:10:00 +0000 UTC"},
      {"{{ .GroupLabels }}", "map[alertname:HighLatency]"},
      {"{{ .CommonAnnotations.summary }}|{{ .CommonAnnotations.description }}|", "p99 > 1s||"},
      {"{{ .CommonLabels.Names }}", "[alertname ab job severity]"},
      // SortedPairs: alertname first, then by name
      {"{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }},{{ end }}",
       "alertname=HighLatency,ab=1,job=api,severity=page,"},
      {"{{ .CommonLabels.SortedPairs }}",
       "[{alertname HighLatency} {ab 1} {job api} {severity page}]"},
      {"{{ .CommonLabels.SortedPairs.Names }} {{ .CommonLabels.SortedPairs.Values }}",
       "[alertname ab job severity] [HighLatency 1 api page]"},
      {"{{ .CommonLabels.Values }}", "[HighLatency 1 api page]"},
      {"{{ (.CommonLabels.Remove .GroupLabels.Names).Names }}", "[ab job severity]"},
      {"{{ with .CommonLabels.Remove (stringSlice \"job\" \"ab\") }}{{ . }}{{ end }}",
       "map[alertname:HighLatency severity:page]"},
      {"{{ .CommonLabels.Remove (stringSlice) | len }}", "4"},
      {"{{ .Alerts.Firing }}",
       "[{firing map[ab:1 alertname:HighLatency instance:a:1 job:api severity:page] "
       "map[description:hello <b> & 'x'+1 summary:p99 > 1s] 2026-11-30 06:15:27.123456789 +0000 "
       "UTC 0001-01-01 00:00:00 +0000 UTC http://vigil/graph?g0.expr=rate(x[5m])&g0.tab=1 "
       "0123456789abcdef}]"},
      {"{{ . }}",
       "&{team-x\\.y firing [{firing map[ab:1 alertname:HighLatency instance:a:1 job:api "
       "severity:page] map[description:hello <b> & 'x'+1 summary:p99 > 1s] 2026-11-30 "
       "06:15:27.123456789 +0000 UTC 0001-01-01 00:00:00 +0000 UTC "
       "http://vigil/graph?g0.expr=rate(x[5m])&g0.tab=1 0123456789abcdef} {resolved map[ab:1 "
       "alertname:HighLatency instance:b:1 job:api severity:page] map[summary:p99 > 1s] "
       "2026-11-30 06:10:00 +0000 UTC 2026-11-30 06:14:00.5 +0000 UTC  fedcba9876543210}] "
       "map[alertname:HighLatency] map[ab:1 alertname:HighLatency job:api severity:page] "
       "map[summary:p99 > 1s] http://am:9093}"},
      {"{{ if .Alerts.Resolved }}yes{{ end }}{{ if .Alerts.Resolved.Foo }}{{ end }}",
       "EXEC: template: t:1:50: executing \"t\" at <.Alerts.Resolved.Foo>: can't evaluate field "
       "Foo in type []template.Alert"},
      {"{{ slice .Alerts 1 | len }}{{ (slice .Alerts 1).Firing | len }}", "10"},
      {"{{ printf \"%v|%s|%d\" .GroupLabels.Names (stringSlice \"a\" \"b\") (len .Alerts) }}",
       "[alertname]|[a b]|2"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(render(in), want) << in;
}

TEST(NotificationTemplate, TimeMethods) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ $t := (index .Alerts 0).StartsAt }}{{ $t.Unix }} {{ $t.UnixMilli }} {{ $t.IsZero }}",
       "1796019327 1796019327123 false"},
      {"{{ (index .Alerts 0).EndsAt.IsZero }} {{ (index .Alerts 0).EndsAt.Year }}", "true 1"},
      {"{{ (index .Alerts 0).StartsAt.Format \"2006-01-02T15:04:05.000Z07:00\" }}",
       "2026-11-30T06:15:27.123Z"},
      {"{{ (index .Alerts 0).StartsAt.Format \"Mon Jan _2 3:04:05.999999 PM MST 06 002\" }}",
       "Mon Nov 30 6:15:27.123456 AM UTC 26 334"},
      {"{{ (index .Alerts 1).EndsAt.Format \"Monday, 02-January-2006 15h04 -0700 .999\" }}",
       "Monday, 30-November-2026 06h14 +0000 .5"},
      {"{{ (index .Alerts 0).StartsAt.UTC }}", "2026-11-30 06:15:27.123456789 +0000 UTC"},
      {"{{ (index .Alerts 0).StartsAt.Format }}",
       "EXEC: template: t:1:18: executing \"t\" at <0>: wrong number of args for Format: want 1 "
       "got 0"},
      {"{{ $t := (index .Alerts 0).StartsAt }}{{ $t.Format }}",
       "EXEC: template: t:1:43: executing \"t\" at <$t.Format>: wrong number of args for Format: "
       "want 1 got 0"},
      {"{{ (index .Alerts 0).StartsAt.Format 1 }}",
       "EXEC: template: t:1:37: executing \"t\" at <1>: expected string; found 1"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(render(in), want) << in;
}

TEST(NotificationTemplate, Functions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ toUpper \"héllo ß\" }} {{ toLower \"ÀB Ω\" }}", "HÉLLO ß àb ω"},
      {"{{ title \"hELLO wORLD foo_bar it's a-b a.b 1abc ÉCOLE\" }}",
       "Hello World Foo_bar It's A-B A.b 1Abc École"},
      {"{{ join \", \" (stringSlice \"a\" \"b\" \"c\") }}", "a, b, c"},
      {"{{ .GroupLabels.Values | join \"+\" }}", "HighLatency"},
      {"{{ match \"^High\" .CommonLabels.alertname }} {{ match \"x\" \"y\" }}", "true false"},
      {"{{ reReplaceAll \"(a+)b\" \"<$1>\" \"aab ab\" }}", "<aa> <a>"},
      {"{{ safeHtml \"<b>\" }}", "<b>"},
      {"{{ stringSlice }}{{ stringSlice \"x\" | len }}", "[]1"},
      {"{{ .Receiver | urlquery }} {{ html \"<a&b>\" }}", "team-x%5C.y &lt;a&amp;b&gt;"},
      {"{{ index .CommonLabels \"job\" }}{{ index (stringSlice \"p\" \"q\") 1 }}", "apiq"},
      {"{{ eq .Status \"firing\" }} {{ gt (len .CommonLabels) (len .GroupLabels) }}", "true true"},
      // html/template's escapers, used by the default HTML body
      {"{{ \"<a href='x'>\\\"+&\" | _html_template_htmlescaper }}",
       "&lt;a href=&#39;x&#39;&gt;&#34;&#43;&amp;"},
      {"{{ \"javascript:alert(1)\" | _html_template_urlfilter }} "
       "{{ \"HTTP://a/b c%zz%4A\" | _html_template_urlfilter | _html_template_urlnormalizer }}",
       "#ZgotmplZ HTTP://a/b%20c%25zz%4A"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(render(in), want) << in;
}

TEST(NotificationTemplate, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ .Foo }}",
       "EXEC: template: t:1:3: executing \"t\" at <.Foo>: can't evaluate field Foo in type "
       "*template.Data"},
      {"{{ range .Alerts }}{{ .Foo }}{{ end }}",
       "EXEC: template: t:1:22: executing \"t\" at <.Foo>: can't evaluate field Foo in type "
       "template.Alert"},
      {"{{ .CommonLabels.Remove }}",
       "EXEC: template: t:1:16: executing \"t\" at <.CommonLabels.Remove>: wrong number of args "
       "for Remove: want 1 got 0"},
      {"{{ .CommonLabels.Remove \"a\" }}",
       "EXEC: template: t:1:24: executing \"t\" at <\"a\">: can't handle \"a\" for arg of type "
       "[]string"},
      {"{{ .CommonLabels.Remove .Status }}",
       "EXEC: template: t:1:24: executing \"t\" at <.Status>: wrong type for value; expected "
       "[]string; got string"},
      {"{{ .Alerts.Firing \"x\" }}",
       "EXEC: template: t:1:10: executing \"t\" at <.Alerts.Firing>: wrong number of args for "
       "Firing: want 0 got 1"},
      {"{{ .Receiver \"x\" }}",
       "EXEC: template: t:1:3: executing \"t\" at <.Receiver>: Receiver has arguments but "
       "cannot be invoked as function"},
      {"{{ .GroupLabels.alertname \"x\" }}",
       "EXEC: template: t:1:15: executing \"t\" at <.GroupLabels.alertname>: alertname is not a "
       "method but has arguments"},
      {"{{ join \",\" .Status }}",
       "EXEC: template: t:1:12: executing \"t\" at <.Status>: wrong type for value; expected "
       "[]string; got string"},
      {"{{ index .Alerts 5 }}",
       "EXEC: template: t:1:3: executing \"t\" at <index .Alerts 5>: error calling index: index "
       "out of range: 5"},
      {"{{ safeHtml \"x\" | toUpper }}",
       "EXEC: template: t:1:18: executing \"t\" at <toUpper>: wrong type for value; expected "
       "string; got template.HTML"},
      // Prometheus-only functions are not Alertmanager's
      {"{{ humanize 1 }}", "PARSE: template: t:1: function \"humanize\" not defined"},
      {"{{ date \"x\" }}", "PARSE: template: t:1: function \"date\" not defined"},
      // parse errors name the template and the line
      {"a\nb\n{{ if }}", "PARSE: template: t:3: missing value for if"},
      {"x\n{{ range .Alerts }}", "PARSE: template: t:2: unexpected EOF"},
      {"{{ .Alerts | }}{{ if }}", "PARSE: template: t:1: missing value for if"},
      {"{{ trimSpace \" x \" }}", "PARSE: template: t:1: function \"trimSpace\" not defined"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(render(in), want) << in;
  auto t = parse_notification_template("\n\n{{ end }}", "slack.title");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error, "template: slack.title:3: unexpected {{end}}");
}

TEST(NotificationTemplate, Bounded) {
  NotificationGroup g = fixture();
  for (int i = 0; i < 200; ++i) g.alerts.push_back(g.alerts[0]);
  // 202^3 iterations: stops at the step bound
  const std::string nested =
      "{{ range .Alerts }}{{ range $.Alerts }}{{ range $.Alerts }}{{ end }}{{ end }}{{ end }}";
  EXPECT_EQ(render(nested, g), "EXEC: template: t: template execution exceeded " +
                                   std::to_string(vigil::alerting::tmpl::kMaxSteps) + " steps");
  // output bound
  const std::string big = "{{ range .Alerts }}{{ range $.Alerts }}{{ $.Alerts }}{{ end }}{{ end }}";
  EXPECT_EQ(render(big, g), "EXEC: template: t: template output exceeds " +
                                std::to_string(vigil::alerting::tmpl::kMaxOutput) + " bytes");
  // nesting depth is bounded at parse time
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{{ with .Alerts }}";
  EXPECT_NE(render(deep, g).find("nested too deeply"), std::string::npos);
}

// ---- the default templates

NotificationGroup one_firing() {
  NotificationGroup g = fixture();
  g.alerts.resize(1);
  g.compute_common();
  return g;
}

TEST(NotificationTemplate, DefaultTitles) {
  using vigil::alerting::kDefaultEmailSubject;
  using vigil::alerting::kDefaultPagerDutyDescription;
  using vigil::alerting::kDefaultSlackText;
  using vigil::alerting::kDefaultSlackTitle;
  using vigil::alerting::kDefaultSlackTitleLink;
  NotificationGroup g = fixture();
  EXPECT_EQ(render(kDefaultSlackTitle, g), "[FIRING:1] HighLatency (1 api page)");
  EXPECT_EQ(render(kDefaultEmailSubject, g), "[FIRING:1] HighLatency (1 api page)");
  EXPECT_EQ(render(kDefaultPagerDutyDescription, g), "[FIRING:1] HighLatency (1 api page)");
  EXPECT_EQ(render(kDefaultSlackTitleLink, g), "http://am:9093/#/alerts?receiver=team-x%5C.y");
  EXPECT_EQ(render(kDefaultSlackText, g), "");
  for (auto& a : g.alerts) a.resolved = true;
  EXPECT_EQ(render(kDefaultSlackTitle, g), "[RESOLVED] HighLatency (1 api page)");
  // group labels equal to the common labels: no parenthesis
  g.group_labels = g.common_labels;
  EXPECT_EQ(render(kDefaultSlackTitle, g), "[RESOLVED] HighLatency 1 api page ");
}

TEST(NotificationTemplate, DefaultEmailText) {
  EXPECT_EQ(render(vigil::alerting::kDefaultEmailText),
            "[FIRING:1] HighLatency (1 api page)\n"
            "p99 > 1s\n"
            "Alerts Firing:\n"
            "Labels:\n"
            " - alertname = HighLatency\n"
            " - ab = 1\n"
            " - instance = a:1\n"
            " - job = api\n"
            " - severity = page\n"
            "Annotations:\n"
            " - description = hello <b> & 'x'+1\n"
            " - summary = p99 > 1s\n"
            "Source: http://vigil/graph?g0.expr=rate(x[5m])&g0.tab=1\n"
            "\n"
            "Alerts Resolved:\n"
            "Labels:\n"
            " - alertname = HighLatency\n"
            " - ab = 1\n"
            " - instance = b:1\n"
            " - job = api\n"
            " - severity = page\n"
            "Annotations:\n"
            " - summary = p99 > 1s\n"
            "Source: \n"
            "\n"
            "AlertmanagerUrl:\n"
            "http://am:9093/#/alerts?receiver=team-x%5C.y");
}

TEST(NotificationTemplate, DefaultEmailHtml) {
  EXPECT_EQ(render(vigil::alerting::kDefaultEmailHtml, one_firing()),
            "<!DOCTYPE html>\n"
            "<html>\n"
            "<head>\n"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\n"
            "<title>[FIRING:1] HighLatency (1 a:1 api page)</title>\n"
            "</head>\n"
            "<body>\n"
            "<h2>1 alert for alertname=HighLatency </h2>\n"
            "<p><a href=\"http://am:9093/#/alerts?receiver=team-x%5C.y\">View in "
            "Alertmanager</a></p>\n"
            "<h3>[1] Firing</h3>\n"
            "<p>\n"
            "<strong>Labels</strong><br>\n"
            "alertname = HighLatency<br>\n"
            "ab = 1<br>\n"
            "instance = a:1<br>\n"
            "job = api<br>\n"
            "severity = page<br>\n"
            "<strong>Annotations</strong><br>\n"
            "description = hello &lt;b&gt; &amp; &#39;x&#39;&#43;1<br>\n"
            "summary = p99 &gt; 1s<br>\n"
            "<a href=\"http://vigil/graph?g0.expr=rate%28x[5m]%29&amp;g0.tab=1\">Source</a>\n"
            "</p>\n"
            "<p><a href=\"http://am:9093\">Sent by Alertmanager</a></p>\n"
            "</body>\n"
            "</html>\n");
}

// ---- differential: the same templates and data through the real amtool 0.25

bool have_amtool() {
  static const bool have = std::system("amtool template render --help >/dev/null 2>&1") == 0;
  return have;
}

std::string go_time_json(TimePoint t) {
  if (t.time_since_epoch().count() == 0) return "0001-01-01T00:00:00Z";
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ns % 1'000'000'000 != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(ns % 1'000'000'000));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

// template.Data as JSON, from vigil's own data model (so the receiver is already quoted).
std::string data_json(const NotificationGroup& g) {
  const auto d = vigil::alerting::notification_data(g);
  nlohmann::json j;
  j["receiver"] = d.receiver;
  j["status"] = d.status;
  j["alerts"] = nlohmann::json::array();
  for (std::size_t i = 0; i < d.alerts.size(); ++i) {
    const auto& a = d.alerts[i];
    j["alerts"].push_back(
        {{"status", a.status},
         {"labels", a.labels},
         {"annotations", a.annotations},
         {"startsAt", go_time_json(g.alerts[i].starts_at)},
         // Firing alerts reach templates with a zero EndsAt.
         {"endsAt", go_time_json(g.alerts[i].resolved ? g.alerts[i].ends_at : TimePoint{})},
         {"generatorURL", a.generator_url},
         {"fingerprint", a.fingerprint}});
  }
  j["groupLabels"] = d.group_labels;
  j["commonLabels"] = d.common_labels;
  j["commonAnnotations"] = d.common_annotations;
  j["externalURL"] = d.external_url;
  return j.dump();
}

// Renders `text` with amtool (as a defined template, so that no quoting of the text is
// needed); html: with html/template.
vigil_test::CommandResult amtool_render(const vigil_test::TempDir& dir, std::string_view text,
                                        const NotificationGroup& g, bool html) {
  const std::string tmpl =
      dir.write("t.tmpl", "{{ define \"vigil_t\" }}" + std::string(text) + "{{ end }}");
  const std::string data = dir.write("data.json", data_json(g));
  return vigil_test::run_command("amtool --no-version-check template render --template.glob='" +
                                 tmpl + "' --template.data='" + data +
                                 "' --template.type=" + (html ? "html" : "text") +
                                 " --template.text='{{ template \"vigil_t\" . }}' 2>/dev/null");
}

TEST(NotificationTemplate, DifferentialAmtool) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  vigil_test::TempDir dir("amtool");
  NotificationGroup resolved = fixture();
  for (auto& a : resolved.alerts) a.resolved = true;
  NotificationGroup odd = fixture();
  odd.receiver = "a (b) + c";
  odd.group_labels = {};
  odd.external_url = "javascript:x";
  odd.alerts[0].labels.emplace_back("zz", "\"quoted\" <tag> ü\t");
  odd.alerts[0].generator_url = "http://h/p?q=a b&c=d%41";
  odd.compute_common();
  const std::vector<NotificationGroup> groups = {fixture(), resolved, one_firing(), odd};
  const std::vector<std::string_view> texts = {
      vigil::alerting::kDefaultSlackTitle,
      vigil::alerting::kDefaultSlackTitleLink,
      vigil::alerting::kDefaultEmailSubject,
      vigil::alerting::kDefaultPagerDutyDescription,
      vigil::alerting::kDefaultEmailText,
      "{{ .Alerts }}|{{ .Alerts.Firing }}|{{ .CommonLabels.SortedPairs }}|{{ .GroupLabels }}",
      "{{ range .Alerts }}{{ .StartsAt }}|{{ .EndsAt }}|{{ .StartsAt.Unix }}|"
      "{{ .EndsAt.Format \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM\" }}{{ end }}",
      "{{ title \"hELLO wORLD foo_bar it's a-b a.b 1abc ÉCOLE\" }}|{{ toUpper \"héllo\" }}|"
      "{{ html \"  x  \" }}|{{ .CommonLabels.Remove .GroupLabels.Names }}",
      "{{ printf \"%v %s %q %d\" .GroupLabels.Names .Receiver .Status (len .Alerts) }}",
      "{{ reReplaceAll \"(a+)\" \"[$1]\" .Receiver }} {{ match \"^a\" .Receiver }}",
  };
  int compared = 0;
  for (const auto& g : groups) {
    for (std::string_view text : texts) {
      auto want = amtool_render(dir, text, g, false);
      ASSERT_EQ(want.status, 0) << text << "\n" << want.output;
      EXPECT_EQ(render(text, g), want.output) << text << "\ndata: " << data_json(g);
      ++compared;
    }
    // the HTML body: amtool escapes the plain template by context; vigil's default has the
    // escapers written out
    const std::string plain = std::regex_replace(std::string(vigil::alerting::kDefaultEmailHtml),
                                                 std::regex(" \\| _html_template_\\w+"), "");
    auto want = amtool_render(dir, plain, g, true);
    ASSERT_EQ(want.status, 0) << want.output;
    EXPECT_EQ(render(vigil::alerting::kDefaultEmailHtml, g), want.output)
        << "data: " << data_json(g);
    ++compared;
  }
  EXPECT_EQ(compared, 44);
}

}  // namespace

namespace {

TEST(NotificationTemplate, NamedTemplates) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ define \"x\" }}[{{ .Status }}]{{ end }}a{{ template \"x\" . }}b", "a[firing]b"},
      {"{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" .Receiver }}|{{ template \"x\" }}",
       "team-x\\.y|<no value>"},
      // $ inside a template is its dot; variables of the caller are not visible
      {"{{ define \"x\" }}{{ $.Status }}{{ end }}{{ range .Alerts }}{{ template \"x\" . }}"
       "{{ end }}",
       "firingresolved"},
      {"{{ block \"b\" .GroupLabels }}{{ .alertname }}{{ end }}", "HighLatency"},
      // a later definition replaces the library's
      {"{{ define \"__alertmanager\" }}Vigil{{ end }}{{ template \"slack.default.username\" . }}",
       "Vigil"},
      {"{{ template \"slack.default.title\" . }}", "[FIRING:1] HighLatency (1 api page)"},
      {"{{ template \"slack.default.fallback\" . }}",
       "[FIRING:1] HighLatency (1 api page) | http://am:9093/#/alerts?receiver=team-x%5C.y"},
      {"{{ template \"pagerduty.default.instances\" .Alerts.Resolved }}",
       "Labels:\n - alertname = HighLatency\n - ab = 1\n - instance = b:1\n - job = api\n"
       " - severity = page\nAnnotations:\n - summary = p99 > 1s\nSource: \n"},
      // errors
      {"{{ template \"nope\" . }}",
       "EXEC: template: t:1:12: executing \"t\" at <{{template \"nope\" .}}>: template \"nope\" "
       "not defined"},
      {"{{ define \"x\" }}\n{{ .Foo }}{{ end }}{{ template \"x\" . }}",
       "EXEC: template: t:2:3: executing \"x\" at <.Foo>: can't evaluate field Foo in type "
       "*template.Data"},
      {"{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
       "EXEC: template: t:1:28: executing \"r\" at <{{template \"r\" .}}>: exceeded maximum "
       "template depth (100)"},
      {"{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}",
       "PARSE: template: t:1: unexpected <define> in command"},
      {"{{ define x }}{{ end }}", "PARSE: template: t:1: unexpected \"x\" in define clause"},
      {"{{ define \"x\" }}{{ else }}{{ end }}",
       "PARSE: template: t:1: unexpected {{else}} in define clause"},
      {"{{ template \"x\" . . }}",
       "EXEC: template: t:1:12: executing \"t\" at <{{template \"x\" . .}}>: template \"x\" not "
       "defined"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(render(in), want) << in;
}

// Alertmanager's own named templates (default.tmpl), called by name, against amtool.
TEST(NotificationTemplate, DifferentialAmtoolNamedTemplates) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  const std::string default_tmpl = "/usr/share/prometheus/alertmanager/default.tmpl";
  if (!std::filesystem::exists(default_tmpl)) GTEST_SKIP() << default_tmpl << " not installed";
  vigil_test::TempDir dir("amtool_named");
  NotificationGroup resolved = fixture();
  for (auto& a : resolved.alerts) a.resolved = true;
  const std::vector<std::string> names = {"__subject",
                                          "__alertmanagerURL",
                                          "slack.default.title",
                                          "slack.default.username",
                                          "slack.default.fallback",
                                          "slack.default.titlelink",
                                          "slack.default.text",
                                          "slack.default.pretext",
                                          "pagerduty.default.description",
                                          "pagerduty.default.client",
                                          "pagerduty.default.clientURL",
                                          "wechat.default.message"};
  for (const auto& g : {fixture(), resolved, one_firing()}) {
    const std::string data = dir.write("data.json", data_json(g));
    for (const std::string& name : names) {
      const std::string text = "{{ template \"" + name + "\" . }}";
      auto want = vigil_test::run_command(
          "amtool --no-version-check template render --template.glob='" + default_tmpl +
          "' --template.data='" + data + "' --template.text='{{ template \"" + name +
          "\" . }}' 2>/dev/null");
      ASSERT_EQ(want.status, 0) << name << "\n" << want.output;
      EXPECT_EQ(render(text, g), want.output) << name << "\ndata: " << data_json(g);
    }
  }
}

}  // namespace

namespace {

// Execution errors and printing, against amtool: the text is defined as "vigil_t" in a file
// t.tmpl and called from the command line, so both name the same file and template. amtool
// passes the data as a value where Alertmanager's notifiers (and vigil) pass a pointer: vigil's
// "*template.Data" / "&{" read as amtool's "template.Data" / "{" here.
TEST(NotificationTemplate, DifferentialAmtoolErrors) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  vigil_test::TempDir dir("amtool_err");
  const NotificationGroup g = fixture();
  const std::vector<std::string> texts = {
      "{{ .Foo }}",
      "x\n{{ range .Alerts }}\n{{ .Nope }}{{ end }}",
      "{{ .CommonLabels.Remove }}",
      "{{ .CommonLabels.Remove \"a\" }}",
      "{{ .CommonLabels.Remove .Status }}",
      "{{ .Alerts.Firing \"x\" }}",
      "{{ .Receiver \"x\" }}",
      "{{ .GroupLabels.alertname \"x\" }}",
      "{{ safeHtml \"x\" | toUpper }}",
      "{{ join \",\" .Status }}",
      "{{ join \",\" \"a\" }}",
      "{{ index .Alerts 5 }}",
      "{{ index .Alerts \"a\" }}",
      "{{ (index .Alerts 0).StartsAt.Format }}",
      "{{ (index .Alerts 0).StartsAt.Format 1 }}",
      "{{ (index .Alerts 0).Labels.SortedPairs.Foo }}",
      "{{ range .Alerts.Firing.Firing }}{{ end }}",
      "{{ len .Alerts.Firing.x }}",
      "{{ range .Receiver }}{{ end }}",
      "{{ reReplaceAll \"(\" \"\" .Receiver }}",
      "{{ template \"nope\" . }}",
      "{{ . }}",
      "{{ printf \"%v|%d|%s\" . .Alerts .CommonLabels }}",
      "{{ slice .Alerts 2 1 }}",
      "{{ (slice .Alerts 0 1 2).Firing }}",
  };
  const std::string data = dir.write("data.json", data_json(g));
  for (const std::string& text : texts) {
    const std::string file = dir.write("t.tmpl", "{{ define \"vigil_t\" }}" + text + "{{ end }}");
    auto want = vigil_test::run_command(
        "amtool --no-version-check template render --template.glob='" + file +
        "' --template.data='" + data + "' --template.text='{{ template \"vigil_t\" . }}'");
    std::string expected = want.output;
    const std::string prefix = "amtool: error: ";
    if (expected.rfind(prefix, 0) == 0) {
      expected = expected.substr(prefix.size());
      while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    }
    // vigil: the same file as a library, called the same way
    auto lib = vigil::alerting::tmpl::Template::parse(
        "{{ define \"vigil_t\" }}" + text + "{{ end }}", "t.tmpl",
        vigil::alerting::tmpl::Dialect::kAlertmanager);
    ASSERT_TRUE(lib) << lib.error;
    auto main = vigil::alerting::tmpl::Template::parse(
        "{{ template \"vigil_t\" . }}", "", vigil::alerting::tmpl::Dialect::kAlertmanager, &*lib);
    ASSERT_TRUE(main) << main.error;
    auto got = main->execute_notification(vigil::alerting::notification_data(g));
    std::string actual = got ? *got : got.error;
    actual = std::regex_replace(actual, std::regex("\\*template\\.Data"), "template.Data");
    if (actual.rfind("&{", 0) == 0) actual.erase(0, 1);
    actual = std::regex_replace(actual, std::regex("\\|&\\{"), "|{");
    EXPECT_EQ(actual, expected) << text;
  }
}

}  // namespace

namespace {

// Parse errors, against amtool: the same text as a template file t.tmpl.
TEST(NotificationTemplate, DifferentialAmtoolParseErrors) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  vigil_test::TempDir dir("amtool_parse");
  const std::vector<std::string> texts = {
      "a\nb\n{{ if }}",
      "x\n{{ range .Alerts }}",
      "{{ end }}",
      "\n{{ else }}",
      "{{ humanize 1 }}",
      "{{ trimSpace .Status }}",
      "{{ define x }}{{ end }}",
      "{{ define \"x\" }}{{ else }}{{ end }}",
      "{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}",
      "{{ template }}",
      "{{ template \"x\" | }}",
      "{{ block \"b\" }}{{ end }}",
      "{{ .Status | 1 }}",
      "{{ $x }}",
      "{{ .Alerts.\n}}",
      "{{ \"unterminated }}",
      "{{ (.Status }}",
  };
  const std::string data = dir.write("data.json", data_json(fixture()));
  for (const std::string& text : texts) {
    const std::string file = dir.write("t.tmpl", text);
    auto want =
        vigil_test::run_command("amtool --no-version-check template render --template.glob='" +
                                file + "' --template.data='" + data + "' --template.text='x'");
    std::string expected = want.output;
    const std::string prefix = "amtool: error: ";
    ASSERT_EQ(expected.rfind(prefix, 0), 0u) << text << "\n" << expected;
    expected = expected.substr(prefix.size());
    while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    auto t = vigil::alerting::tmpl::Template::parse(text, "t.tmpl",
                                                    vigil::alerting::tmpl::Dialect::kAlertmanager);
    ASSERT_FALSE(t) << text;
    EXPECT_EQ(t.error, expected) << text;
  }
}

}  // namespace

namespace {

// Generated templates (a fixed seed) over the data model, the methods and the functions, each
// rendered by amtool and by vigil: output or error, byte for byte (pointer vs value as above).
class Gen {
 public:
  explicit Gen(uint64_t seed) : s_(seed) {}
  std::string expr(int depth) {
    static const char* const kAtoms[] = {".Receiver",
                                         ".Status",
                                         ".ExternalURL",
                                         ".Alerts",
                                         ".Alerts.Firing",
                                         ".Alerts.Resolved",
                                         ".CommonLabels",
                                         ".GroupLabels",
                                         ".CommonAnnotations",
                                         ".CommonLabels.SortedPairs",
                                         ".CommonLabels.Names",
                                         ".GroupLabels.Values",
                                         "(index .Alerts 0)",
                                         "(index .Alerts 0).StartsAt",
                                         "(index .Alerts 1).EndsAt",
                                         "(index .Alerts 0).Labels",
                                         "(index .Alerts 1).Annotations.SortedPairs",
                                         "\"a.b-c d\"",
                                         "\"hELLO wORLD ÉTÉ\"",
                                         "1",
                                         "(stringSlice \"x\" \"y\")",
                                         "$"};
    static const char* const kUnary[] = {"toUpper",
                                         "toLower",
                                         "title",
                                         "len",
                                         "html",
                                         "urlquery",
                                         "printf \"%v\"",
                                         "printf \"%s|%d|%q\"",
                                         "join \",\"",
                                         ".CommonLabels.Remove",
                                         "not",
                                         "print 1",
                                         "match \"^[a-h]\"",
                                         "reReplaceAll \"[a-e]\" \"<$0>\"",
                                         "safeHtml",
                                         "stringSlice \"z\""};
    if (depth <= 0 || pick(3) == 0) return kAtoms[pick(std::size(kAtoms))];
    switch (pick(6)) {
      case 0:
        return "(index " + expr(depth - 1) + " " + (pick(2) ? "0" : "\"job\"") + ")";
      case 1:
        return "(slice " + expr(depth - 1) + " 1)";
      case 2:
        return "(eq " + expr(depth - 1) + " " + expr(depth - 1) + ")";
      default:
        return "(" + std::string(kUnary[pick(std::size(kUnary))]) + " " + expr(depth - 1) + ")";
    }
  }
  std::string statement() {
    const std::string e = expr(3);
    switch (pick(6)) {
      case 0:
        return "{{ range " + e + " }}[{{ . }}]{{ else }}empty{{ end }}";
      case 1:
        return "{{ with " + e + " }}<{{ . }}>{{ else }}none{{ end }}";
      case 2:
        return "{{ if " + e + " }}y{{ else }}n{{ end }}";
      case 3:
        return "{{ range $i, $x := " + e + " }}{{ $i }}={{ $x }};{{ end }}";
      default:
        return "{{ " + e + " }}";
    }
  }

 private:
  uint64_t s_;
  std::size_t pick(std::size_t n) {
    s_ = s_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((s_ >> 33) % n);
  }
};

TEST(NotificationTemplate, DifferentialAmtoolGenerated) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  vigil_test::TempDir dir("amtool_gen");
  const NotificationGroup g = fixture();
  const std::string data = dir.write("data.json", data_json(g));
  Gen gen(20261130);
  int errors = 0;
  constexpr int kTemplates = 150;
  for (int i = 0; i < kTemplates; ++i) {
    const std::string text = gen.statement() + "|" + gen.statement();
    const std::string file = dir.write("t.tmpl", "{{ define \"vigil_t\" }}" + text + "{{ end }}");
    auto want = vigil_test::run_command(
        "amtool --no-version-check template render --template.glob='" + file +
        "' --template.data='" + data + "' --template.text='{{ template \"vigil_t\" . }}'");
    std::string expected = want.output;
    const std::string prefix = "amtool: error: ";
    if (expected.rfind(prefix, 0) == 0) {
      ++errors;
      expected = expected.substr(prefix.size());
      while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    }
    auto lib = vigil::alerting::tmpl::Template::parse(
        "{{ define \"vigil_t\" }}" + text + "{{ end }}", "t.tmpl",
        vigil::alerting::tmpl::Dialect::kAlertmanager);
    ASSERT_TRUE(lib) << lib.error;
    auto main = vigil::alerting::tmpl::Template::parse(
        "{{ template \"vigil_t\" . }}", "", vigil::alerting::tmpl::Dialect::kAlertmanager, &*lib);
    ASSERT_TRUE(main) << main.error;
    auto got = main->execute_notification(vigil::alerting::notification_data(g));
    std::string actual = got ? *got : got.error;
    actual = std::regex_replace(actual, std::regex("\\*template\\.Data"), "template.Data");
    actual = std::regex_replace(actual, std::regex("&\\{team"), "{team");
    EXPECT_EQ(actual, expected) << text;
  }
  // both outcomes are exercised
  EXPECT_GT(errors, 10);
  EXPECT_LT(errors, kTemplates - 10);
}

}  // namespace
