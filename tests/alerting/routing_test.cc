// The route tree, inhibition and the routing file (vigil/alerting/routing.h): hand-computed cases
// from Alertmanager 0.25's dispatch/route.go, dispatch/dispatch.go and inhibit/inhibit.go, and
// differential checks against the real `amtool` (Alertmanager 0.25): `amtool config routes test`
// on generated route trees and label sets, `amtool check-config` on valid and invalid files.
// The amtool tests skip when amtool is not installed (CI installs it).
#include "vigil/alerting/routing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "promtool_util.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using std::chrono::milliseconds;
using vigil_test::run_command;
using vigil_test::TempDir;

bool have_amtool() {
  static const bool have = std::system("amtool --version >/dev/null 2>&1") == 0;
  return have;
}

LabelList L(std::initializer_list<std::pair<const char*, const char*>> kv) {
  LabelList out;
  for (const auto& [k, v] : kv) out.emplace_back(k, v);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> receivers_of(const Router& r, const LabelList& labels) {
  std::vector<std::string> out;
  for (const RouteMatch* m : r.match(labels)) out.push_back(m->receiver);
  return out;
}

std::string load_error(const std::string& yaml) {
  auto r = parse_routing_config(yaml, "am.yml");
  EXPECT_FALSE(r) << "accepted:\n" << yaml;
  return r.error;
}

// ---------------------------------------------------------------------------------------------
// Matchers

TEST(ParseMatcher, AlertmanagerSyntax) {
  auto m = parse_matcher("severity=\"critical\"");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "severity");
  EXPECT_EQ(m->type, MatchType::kEqual);
  EXPECT_EQ(m->value, "critical");

  m = parse_matcher("  env =~ prod|staging  ");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MatchType::kRegexMatch);
  EXPECT_EQ(m->value, "prod|staging");

  m = parse_matcher("a!=b");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MatchType::kNotEqual);
  EXPECT_EQ(m->value, "b");

  m = parse_matcher("a!~\"x.*\"");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MatchType::kRegexNoMatch);
  EXPECT_EQ(m->value, "x.*");

  // "a==b" is `a = "=b"` in Alertmanager's grammar.
  m = parse_matcher("a==b");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MatchType::kEqual);
  EXPECT_EQ(m->value, "=b");

  // Escapes: \" and \\ and \n; other escapes keep the backslash.
  m = parse_matcher(R"(msg="say \"hi\"\n\\ \d")");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->value, "say \"hi\"\n\\ \\d");

  m = parse_matcher("job:name=x");  // colons are allowed in names here
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "job:name");

  m = parse_matcher("empty=");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->value, "");

  std::string err;
  EXPECT_FALSE(parse_matcher("1a=b", &err));
  EXPECT_NE(err.find("bad matcher format"), std::string::npos) << err;
  EXPECT_FALSE(parse_matcher("a", &err));
  EXPECT_FALSE(parse_matcher("a=\"b", &err));
  EXPECT_NE(err.find("unescaped double quote"), std::string::npos) << err;
  EXPECT_FALSE(parse_matcher("a=b\"c", &err));
  EXPECT_FALSE(parse_matcher("a=~(", &err));
  EXPECT_NE(err.find("error parsing regexp"), std::string::npos) << err;
  EXPECT_FALSE(parse_matcher("", &err));
}

TEST(ParseMatcher, Lists) {
  auto ms = parse_matchers("{severity=\"critical\", env=~\"prod|staging\"}");
  ASSERT_TRUE(ms);
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[1].name, "env");
  EXPECT_EQ((*ms)[1].value, "prod|staging");

  ms = parse_matchers("a=\"x,y\",b=c,");  // commas inside quotes; a trailing comma is fine
  ASSERT_TRUE(ms);
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[0].value, "x,y");

  ms = parse_matchers("{}");
  ASSERT_TRUE(ms);
  EXPECT_TRUE(ms->empty());

  std::string err;
  EXPECT_FALSE(parse_matchers("a=b,,c=d", &err));
}

// ---------------------------------------------------------------------------------------------
// Router: hand-computed cases

RoutingConfig tree() {
  // route: receiver default, group_by [alertname]
  //   0 {severity="critical"} receiver pager, continue, group_wait 10s
  //       0.0 {team="db"} receiver db-pager, group_by [...]
  //   1 {env=~"prod|staging"} receiver prod, group_by [cluster, alertname], repeat 1h
  //   2 {team="web"} receiver web
  RoutingConfig cfg;
  cfg.route.receiver = "default";
  cfg.route.group_by = std::vector<std::string>{"alertname"};
  Route pager;
  pager.receiver = "pager";
  pager.matchers = {{"severity", MatchType::kEqual, "critical"}};
  pager.continue_matching = true;
  pager.group_wait = milliseconds(10'000);
  Route db;
  db.receiver = "db-pager";
  db.matchers = {{"team", MatchType::kEqual, "db"}};
  db.group_by = std::vector<std::string>{"..."};
  pager.routes.push_back(db);
  Route prod;
  prod.receiver = "prod";
  prod.matchers = {{"env", MatchType::kRegexMatch, "prod|staging"}};
  prod.group_by = std::vector<std::string>{"cluster", "alertname"};
  prod.repeat_interval = milliseconds(3'600'000);
  Route web;
  web.receiver = "web";
  web.matchers = {{"team", MatchType::kEqual, "web"}};
  cfg.route.routes = {pager, prod, web};
  for (const char* n : {"default", "pager", "db-pager", "prod", "web"}) {
    cfg.receivers.push_back({.name = n});
  }
  return cfg;
}

TEST(Router, FirstMatchContinueAndFallback) {
  Router r(tree());
  using V = std::vector<std::string>;
  EXPECT_EQ(receivers_of(r, L({{"alertname", "x"}})), V({"default"}));
  EXPECT_EQ(receivers_of(r, L({{"severity", "critical"}})), V({"pager"}));
  // continue on the pager route: the next sibling that matches takes it too, then stops.
  EXPECT_EQ(receivers_of(r, L({{"severity", "critical"}, {"env", "prod"}, {"team", "web"}})),
            V({"pager", "prod"}));
  EXPECT_EQ(receivers_of(r, L({{"severity", "critical"}, {"team", "web"}})), V({"pager", "web"}));
  // the child of pager matches: pager itself is not returned.
  EXPECT_EQ(receivers_of(r, L({{"severity", "critical"}, {"team", "db"}})), V({"db-pager"}));
  EXPECT_EQ(receivers_of(r, L({{"env", "staging"}, {"team", "web"}})), V({"prod"}));
  EXPECT_EQ(receivers_of(r, L({{"env", "production"}, {"team", "web"}})), V({"web"}));
  EXPECT_EQ(r.routes().size(), 5u);
}

TEST(Router, InheritanceAndKeys) {
  Router r(tree());
  const auto& rs = r.routes();
  // depth-first order: root, pager, db, prod, web
  EXPECT_EQ(rs[0].key, "{}");
  EXPECT_EQ(rs[1].key, "{}/{severity=\"critical\"}");
  EXPECT_EQ(rs[2].key, "{}/{severity=\"critical\"}/{team=\"db\"}");
  EXPECT_EQ(rs[3].key, "{}/{env=~\"prod|staging\"}");
  EXPECT_EQ(rs[0].group_wait, milliseconds(30'000));
  EXPECT_EQ(rs[0].group_interval, milliseconds(300'000));
  EXPECT_EQ(rs[0].repeat_interval, milliseconds(4 * 3'600'000));
  EXPECT_EQ(rs[1].group_wait, milliseconds(10'000));
  EXPECT_EQ(rs[1].group_by, std::vector<std::string>{"alertname"});
  EXPECT_EQ(rs[2].group_wait, milliseconds(10'000));  // from pager
  EXPECT_TRUE(rs[2].group_by_all);
  EXPECT_EQ(rs[3].group_by, (std::vector<std::string>{"alertname", "cluster"}));
  EXPECT_EQ(rs[3].repeat_interval, milliseconds(3'600'000));
  EXPECT_EQ(rs[3].group_wait, milliseconds(30'000));
  EXPECT_EQ(rs[4].group_by, std::vector<std::string>{"alertname"});

  const LabelList alert = L({{"alertname", "DiskFull"},
                             {"cluster", "eu1"},
                             {"env", "prod"},
                             {"instance", "db-1:9100"},
                             {"team", "db"}});
  const LabelList g3 = rs[3].group_labels(alert);
  EXPECT_EQ(g3, L({{"alertname", "DiskFull"}, {"cluster", "eu1"}}));
  EXPECT_EQ(rs[3].group_key(g3),
            "{}/{env=~\"prod|staging\"}:{alertname=\"DiskFull\", cluster=\"eu1\"}");
  EXPECT_EQ(rs[2].group_labels(alert), alert);  // `...`
  // absent group_by labels are left out
  EXPECT_EQ(rs[3].group_labels(L({{"alertname", "A"}})), L({{"alertname", "A"}}));
  EXPECT_EQ(rs[0].group_key({}), "{}:{}");
  // %q in the group labels, openMetricsEscape in the route key
  EXPECT_EQ(rs[0].group_key(L({{"alertname", "a\"b\\c\td"}})),
            "{}:{alertname=\"a\\\"b\\\\c\\td\"}");
}

TEST(Router, MatcherOrderInKeys) {
  RoutingConfig cfg;
  cfg.route.receiver = "r";
  cfg.receivers.push_back({.name = "r"});
  Route c;
  c.matchers = {{"b", MatchType::kEqual, "1"},
                {"a", MatchType::kRegexNoMatch, "x\ny\"z"},
                {"a", MatchType::kEqual, "x\ny\"z"}};
  cfg.route.routes.push_back(c);
  Router r(cfg);
  // sorted by name, value, type; values escaped as openMetricsEscape
  EXPECT_EQ(r.routes()[1].key, "{}/{a=\"x\\ny\\\"z\",a!~\"x\\ny\\\"z\",b=\"1\"}");
  EXPECT_EQ(r.routes()[1].receiver, "r");  // inherited
}

TEST(Router, Validation) {
  auto throws = [](RoutingConfig cfg, const std::string& want) {
    try {
      Router r(cfg);
      ADD_FAILURE() << "accepted, want " << want;
    } catch (const vigil::Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  RoutingConfig ok = tree();
  RoutingConfig c = ok;
  c.route.receiver = "";
  throws(c, "root route must specify a default receiver");
  c = ok;
  c.route.routes[1].receiver = "nobody";
  c.route.routes[1].line = 14;
  throws(c, "route.routes[1] (line 14): receiver \"nobody\" is not defined");
  c.source = "am.yml";
  throws(c, "am.yml:14: route.routes[1]: receiver \"nobody\" is not defined");
  c = ok;
  c.route.matchers = {{"a", MatchType::kEqual, "b"}};
  throws(c, "root route must not have any matchers");
  c = ok;
  c.route.continue_matching = true;
  throws(c, "cannot have continue in root route");
  c = ok;
  c.route.routes[0].routes[0].matchers = {{"a", MatchType::kRegexMatch, "("}};
  throws(c, "route.routes[0].routes[0]: matcher a=~\"(\": invalid regex");
  c = ok;
  c.receivers.push_back({.name = "web"});
  throws(c, "receiver \"web\" is defined twice");
  c = ok;
  c.route.routes[2].group_interval = milliseconds(0);
  throws(c, "group_interval must be positive");
  // Durations added to system_clock time points (nanoseconds) must not overflow them.
  constexpr milliseconds k100y = std::chrono::hours(24 * 365 * 100);
  c = ok;
  c.route.routes[2].group_interval = k100y;
  EXPECT_NO_THROW(Router{c});
  c.route.routes[2].group_interval = k100y + milliseconds(1);
  throws(c, "route.routes[2]: group_interval must be at most 100y");
  c = ok;
  c.route.repeat_interval = milliseconds::max();
  throws(c, "route: repeat_interval must be at most 100y");
  c = ok;
  c.route.routes[0].routes[0].group_wait = std::chrono::hours(24 * 365 * 292);
  throws(c, "route.routes[0].routes[0]: group_wait must be at most 100y");
  c = ok;
  c.global.resolve_timeout = milliseconds::max();
  throws(c, "global: resolve_timeout must be between 0 and 100y");
  c.source = "am.yml";
  throws(c, "am.yml: global: resolve_timeout must be between 0 and 100y");
  c = ok;
  c.route.group_by = std::vector<std::string>{"...", "a"};
  throws(c, "\"...\" must be the only entry");
}

// ---------------------------------------------------------------------------------------------
// Inhibitor (inhibit/inhibit.go)

NotifiedAlert alert(LabelList labels, uint64_t fp, bool resolved = false) {
  NotifiedAlert a;
  a.labels = std::move(labels);
  a.fingerprint = fp;
  a.resolved = resolved;
  return a;
}

TEST(Inhibitor, EqualLabelsAndTwoSidedExclusion) {
  InhibitRule rule;
  rule.source_matchers = {{"severity", MatchType::kEqual, "critical"}};
  rule.target_matchers = {{"severity", MatchType::kRegexMatch, "warning|critical"}};
  rule.equal = {"cluster"};
  Inhibitor inh({rule});
  const TimePoint now = std::chrono::system_clock::now();
  const LabelList warn_eu = L({{"severity", "warning"}, {"cluster", "eu"}});
  const LabelList warn_us = L({{"severity", "warning"}, {"cluster", "us"}});
  const LabelList crit_eu = L({{"severity", "critical"}, {"cluster", "eu"}});
  EXPECT_FALSE(inh.muted(warn_eu, now));
  inh.update(alert(crit_eu, 1));
  size_t idx = 99;
  EXPECT_TRUE(inh.muted(warn_eu, now, &idx));
  EXPECT_EQ(idx, 0u);
  EXPECT_FALSE(inh.muted(warn_us, now));  // cluster differs
  // The critical alert matches both sides: a source that is also a target does not mute it.
  EXPECT_FALSE(inh.muted(crit_eu, now));
  // A label absent on both sides counts as equal (""): rule with equal [zone].
  // Resolved sources do not inhibit.
  inh.update(alert(crit_eu, 1, /*resolved=*/true));
  EXPECT_FALSE(inh.muted(warn_eu, now));
}

TEST(Inhibitor, AbsentEqualLabelsAreEqualAndEndsAt) {
  InhibitRule rule;
  rule.source_matchers = {{"alertname", MatchType::kEqual, "NodeDown"}};
  rule.target_matchers = {{"alertname", MatchType::kNotEqual, "NodeDown"}};
  rule.equal = {"node", "zone"};
  Inhibitor inh({rule});
  const TimePoint now = std::chrono::system_clock::now();
  NotifiedAlert src = alert(L({{"alertname", "NodeDown"}, {"node", "n1"}}), 7);
  src.ends_at = now + std::chrono::minutes(5);
  inh.update(src);
  EXPECT_TRUE(inh.muted(L({{"alertname", "DiskFull"}, {"node", "n1"}}), now));
  EXPECT_FALSE(inh.muted(L({{"alertname", "DiskFull"}, {"node", "n1"}, {"zone", "a"}}), now));
  // Past ends_at the source counts as resolved (types.Alert.Resolved).
  EXPECT_FALSE(
      inh.muted(L({{"alertname", "DiskFull"}, {"node", "n1"}}), now + std::chrono::minutes(6)));
  inh.gc(now + std::chrono::minutes(6));
  EXPECT_FALSE(inh.muted(L({{"alertname", "DiskFull"}, {"node", "n1"}}), now));
}

// ---------------------------------------------------------------------------------------------
// The routing file

const char* kFull = R"(global:
  resolve_timeout: 2m
  smtp_smarthost: 'smtp.example.org:587'
  smtp_from: 'alerts@example.org'
  smtp_auth_username: alerts
  smtp_auth_password: secret
  smtp_require_tls: false
  slack_api_url: 'https://hooks.slack.com/services/T/B/X'
  http_config:
    bearer_token: global-token
templates: ['/etc/am/*.tmpl']
route:
  receiver: team
  group_by: ['alertname', 'service']
  group_wait: 45s
  routes:
    - matchers:
        - severity="critical"
        - env=~"prod|staging"
      receiver: pager
      continue: true
      group_interval: 1m
    - match:
        team: db
      match_re:
        service: ^(mysql|pg)$
      receiver: db
      group_by: ['...']
      repeat_interval: 1h30m
      routes:
        - matchers: ['{instance=~"db-1.*", job!="x"}']
          receiver: mail
receivers:
  - name: team
    slack_configs:
      - channel: '#alerts'
        send_resolved: yes
        title: '{{ .CommonLabels.alertname }}'
  - name: pager
    pagerduty_configs:
      - routing_key: abc123
        severity: critical
        class: disk
        details:
          runbook: http://wiki/runbook
  - name: db
    webhook_configs:
      - url: 'http://127.0.0.1:5001/hook'
        max_alerts: 10
        http_config:
          basic_auth: {username: u, password: p}
          tls_config: {ca_file: /etc/ca.pem, insecure_skip_verify: true}
    opsgenie_configs:
      - api_key: x
  - name: mail
    email_configs:
      - to: 'a@example.org, b@example.org'
        headers: {subject: 'Alert!', x-team: db}
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_match: {severity: warning}
    target_match_re: {env: prod.*}
    equal: [alertname, cluster]
)";

TEST(RoutingFile, LoadsEverySupportedField) {
  auto r = parse_routing_config(kFull, "am.yml");
  ASSERT_TRUE(r) << r.error;
  const RoutingConfig& c = *r.config;
  EXPECT_EQ(c.source, "am.yml");
  EXPECT_EQ(c.global.resolve_timeout, milliseconds(120'000));
  EXPECT_EQ(c.route.receiver, "team");
  EXPECT_EQ(c.route.line, 13);
  EXPECT_EQ(*c.route.group_by, (std::vector<std::string>{"alertname", "service"}));
  EXPECT_EQ(*c.route.group_wait, milliseconds(45'000));
  ASSERT_EQ(c.route.routes.size(), 2u);
  const Route& p = c.route.routes[0];
  EXPECT_EQ(p.line, 17);
  EXPECT_TRUE(p.continue_matching);
  ASSERT_EQ(p.matchers.size(), 2u);
  EXPECT_EQ(p.matchers[1].type, MatchType::kRegexMatch);
  EXPECT_EQ(*p.group_interval, milliseconds(60'000));
  const Route& db = c.route.routes[1];
  EXPECT_EQ(db.matchers.size(), 2u);
  EXPECT_EQ(*db.group_by, std::vector<std::string>{"..."});
  EXPECT_EQ(*db.repeat_interval, milliseconds(5'400'000));
  ASSERT_EQ(db.routes.size(), 1u);
  EXPECT_EQ(db.routes[0].matchers.size(), 2u);

  ASSERT_EQ(c.receivers.size(), 4u);
  const SlackConfig& s = c.receivers[0].slack_configs.at(0);
  EXPECT_EQ(s.api_url, "https://hooks.slack.com/services/T/B/X");  // from global
  EXPECT_EQ(s.channel, "#alerts");
  EXPECT_TRUE(s.send_resolved);
  EXPECT_EQ(s.http.bearer_token, "global-token");  // global http_config
  const PagerDutyConfig& pd = c.receivers[1].pagerduty_configs.at(0);
  EXPECT_EQ(pd.routing_key, "abc123");
  EXPECT_EQ(pd.url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(pd.class_name, "disk");
  EXPECT_EQ(pd.details, L({{"runbook", "http://wiki/runbook"}}));
  EXPECT_TRUE(pd.send_resolved);
  const WebhookConfig& w = c.receivers[2].webhook_configs.at(0);
  EXPECT_EQ(w.max_alerts, 10u);
  EXPECT_EQ(w.http.basic_auth_username, "u");
  EXPECT_EQ(w.http.basic_auth_password, "p");
  EXPECT_EQ(w.http.bearer_token, "");  // its own http_config replaces the global one
  EXPECT_EQ(w.http.ca_file, "/etc/ca.pem");
  EXPECT_FALSE(w.http.verify_tls);
  const EmailConfig& e = c.receivers[3].email_configs.at(0);
  EXPECT_EQ(e.to, (std::vector<std::string>{"a@example.org", "b@example.org"}));
  EXPECT_EQ(e.smarthost, "smtp.example.org:587");
  EXPECT_EQ(e.from, "alerts@example.org");
  EXPECT_EQ(e.auth_username, "alerts");
  EXPECT_EQ(e.auth_password, "secret");
  EXPECT_FALSE(e.require_tls);
  EXPECT_EQ(e.hello, "localhost");
  EXPECT_EQ(e.subject, "Alert!");
  EXPECT_EQ(e.headers, (std::vector<std::pair<std::string, std::string>>{{"X-Team", "db"}}));

  ASSERT_EQ(c.inhibit_rules.size(), 1u);
  EXPECT_EQ(c.inhibit_rules[0].source_matchers.size(), 1u);
  EXPECT_EQ(c.inhibit_rules[0].target_matchers.size(), 2u);
  EXPECT_EQ(c.inhibit_rules[0].equal, (std::vector<std::string>{"alertname", "cluster"}));

  // templates and opsgenie_configs load with warnings naming file and line
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0].rfind("am.yml:11: ", 0), 0u) << r.warnings[0];
  EXPECT_NE(r.warnings[1].find("am.yml:53: receiver \"db\": opsgenie_configs"), std::string::npos)
      << r.warnings[1];

  Router router(c);
  EXPECT_EQ(receivers_of(router, L({{"severity", "critical"},
                                    {"env", "prod"},
                                    {"team", "db"},
                                    {"service", "pg"},
                                    {"instance", "db-10"}})),
            (std::vector<std::string>{"pager", "mail"}));
}

TEST(RoutingFile, ErrorsNameFileLineAndPlace) {
  auto has = [](const std::string& err, const std::string& want) {
    EXPECT_NE(err.find(want), std::string::npos) << "want: " << want << "\ngot: " << err;
  };
  has(load_error("route:\n  receiver: a\n  routes:\n    - receiver: a\n    - receiver: pager\n"
                 "receivers:\n  - name: a\n"),
      "am.yml:5: route.routes[1]: receiver \"pager\" is not defined");
  has(load_error("route:\n  receiver: a\n  group_wait: 5x\nreceivers:\n  - name: a\n"),
      "am.yml:3: route.group_wait: not a valid duration string: \"5x\"");
  has(load_error("route:\n  receiver: a\n  routes:\n    - matchers: ['a=~(']\n"
                 "receivers:\n  - name: a\n"),
      "am.yml:4: route.routes[0].matchers: error parsing regexp");
  has(load_error("route:\n  receiver: a\n  foo: 1\nreceivers:\n  - name: a\n"),
      "am.yml:3: route: field foo not found in type config.Route");
  has(load_error("route:\n  receiver: a\nreceivers:\n  - name: a\n  - name: a\n"),
      "am.yml:5: receiver \"a\": notification config name \"a\" is not unique");
  has(load_error("route:\n  receiver: a\nreceivers:\n  - name: a\n    webhook_configs:\n"
                 "      - send_resolved: true\n"),
      "am.yml:6: receiver \"a\".webhook_configs[0]: missing URL");
  has(load_error("route:\n  receiver: a\nreceivers:\n  - name: a\n    slack_configs:\n"
                 "      - channel: x\n"),
      "no global Slack API URL set");
  has(load_error("route:\n  receiver: a\nreceivers:\n  - name: a\n    email_configs:\n"
                 "      - to: x@y\n"),
      "no global SMTP smarthost set");
  has(load_error("route:\n  receiver: a\n  continue: true\nreceivers:\n  - name: a\n"),
      "cannot have continue in root route");
  has(load_error("receivers:\n  - name: a\n"), "no routes provided");
  has(load_error("route:\n  receiver: a\n  group_interval: 200y\nreceivers:\n  - name: a\n"),
      "group_interval must be at most 100y");
  has(load_error("route:\n  receiver: a\n  group_by: [a, a]\nreceivers:\n  - name: a\n"),
      "duplicated label \"a\" in group_by");
  has(load_error("route:\n  receiver: a\n  continue: maybe\nreceivers:\n  - name: a\n"),
      "cannot unmarshal !!str `maybe` into bool");
  has(load_error("route:\n  receiver: a\n  receiver: b\nreceivers:\n  - name: a\n"),
      "am.yml:3: route: key \"receiver\" already set in map");
  has(load_error("route: [1]\n"), "cannot unmarshal !!seq into config.Route");
  has(load_error("route:\n\treceiver: a\n"), "tabs cannot indent YAML");
}

TEST(RoutingFile, HostileInputNeverThrows) {
  // deep nesting
  std::string deep = "route:\n  receiver: a\n  routes: ";
  for (int i = 0; i < 5000; ++i) deep += "[{routes: ";
  EXPECT_FALSE(parse_routing_config(deep, "deep.yml"));
  std::string deep_routes = "receivers: [{name: a}]\nroute:\n";
  std::string indent = "  ";
  for (int i = 0; i < 150; ++i) {
    deep_routes += indent + "receiver: a\n" + indent + "routes:\n";
    indent += "  ";
    deep_routes += indent + "- match: {a: b}\n";
    indent += "  ";
  }
  auto r = parse_routing_config(deep_routes, "deep.yml");
  EXPECT_FALSE(r);
  EXPECT_NE(r.error.find("nested deeper than"), std::string::npos) << r.error;
  // billion laughs with aliases
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) laughs += std::string(i ? ", *" : "*") + prev;
    laughs += "]\n";
    prev = c;
  }
  laughs += "route:\n  receiver: a\n  group_by: *j\n";
  EXPECT_FALSE(parse_routing_config(laughs, "laughs.yml"));
  EXPECT_FALSE(parse_routing_config(std::string("\xff\xfe", 2), "bin.yml"));
  EXPECT_FALSE(parse_routing_config("", "empty.yml"));
  EXPECT_FALSE(load_routing_file("/nonexistent/am.yml"));
}

// Group keys as the real Alertmanager 0.25 sent them in its webhook payloads (groupKey) for this
// file and these alerts; also `group_by: []` keeps the parent's grouping (here `...`).
TEST(RoutingFile, GroupKeysAsAlertmanagerSendsThem) {
  const char* yaml = R"(route:
  receiver: a
  group_by: [alertname]
  routes:
    - matchers: ['x=~"1|2"', 'a!="b\"c\\d\te"']
      receiver: b
      continue: true
      routes:
        - match: {y: q}
          receiver: a
    - matchers: [x="1"]
      receiver: a
      group_by: ['...']
      routes:
        - matchers: [z="1"]
          receiver: b
          group_by: []
receivers: [{name: a}, {name: b}]
)";
  auto r = parse_routing_config(yaml, "k.yml");
  ASSERT_TRUE(r) << r.error;
  Router router(*r.config);
  auto keys = [&](const LabelList& labels) {
    std::vector<std::string> out;
    for (const RouteMatch* m : router.match(labels)) {
      out.push_back(m->receiver + " " + m->group_key(m->group_labels(labels)));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys(L({{"alertname", "B"}, {"x", "2"}})),
            V({"b {}/{a!=\"b\\\"c\\\\d\\\\te\",x=~\"1|2\"}:{alertname=\"B\"}"}));
  EXPECT_EQ(keys(L({{"alertname", "A\"t\tz"}, {"x", "1"}, {"y", "q"}})),
            V({"a {}/{a!=\"b\\\"c\\\\d\\\\te\",x=~\"1|2\"}/{y=\"q\"}:{alertname=\"A\\\"t\\tz\"}",
               "a {}/{x=\"1\"}:{alertname=\"A\\\"t\\tz\", x=\"1\", y=\"q\"}"}));
  // z="1" under `...` with `group_by: []`: still every label
  const LabelList z = L({{"alertname", "C"}, {"x", "1"}, {"z", "1"}});
  const auto ms = router.match(z);
  ASSERT_EQ(ms.size(), 2u);  // the first route (continue) and the z="1" one
  EXPECT_EQ(ms[1]->key, "{}/{x=\"1\"}/{z=\"1\"}");
  EXPECT_TRUE(ms[1]->group_by_all);
  EXPECT_EQ(ms[1]->group_labels(z), z);
}

// ---------------------------------------------------------------------------------------------
// Differential: amtool config routes test on generated trees

struct Gen {
  std::mt19937 rng;
  explicit Gen(uint32_t seed) : rng(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  bool chance(int percent) { return pick(100) < percent; }

  const std::vector<std::pair<std::string, std::vector<std::string>>> labels = {
      {"severity", {"critical", "warning", "info"}},
      {"env", {"prod", "staging", "dev"}},
      {"team", {"db", "web", "ops"}},
      {"service", {"api", "mysql", "pg", "web"}},
      {"region", {"eu", "us"}}};
  const std::vector<std::string> regexes = {"prod|staging", "w.*",  "(mysql|pg)", ".*",
                                            "crit.+",       "e[u]", "",           "db|ops|web"};

  std::string pick_of(const std::vector<std::string>& v) {
    return v[static_cast<size_t>(pick(static_cast<int>(v.size())))];
  }

  std::string matcher_line() {
    const auto& [name, values] = labels[static_cast<size_t>(pick(5))];
    const int t = pick(4);
    const char* ops[] = {"=", "!=", "=~", "!~"};
    const std::string v = t < 2 ? pick_of(values) : pick_of(regexes);
    // quoted or bare values, as Alertmanager accepts both
    return name + ops[t] + (chance(50) || v.empty() ? vigil_test::yaml_quote(v) : v);
  }

  // A route as JSON (a YAML subset).
  nlohmann::json route(int depth) {
    nlohmann::json r = nlohmann::json::object();
    if (depth == 0 || chance(70)) r["receiver"] = "r" + std::to_string(depth == 0 ? 0 : pick(5));
    if (depth > 0) {
      const int n = pick(3);
      if (n > 0 && chance(50)) {
        r["matchers"] = nlohmann::json::array();
        for (int i = 0; i < n; ++i) r["matchers"].push_back(matcher_line());
      } else if (n > 0) {
        const auto& [name, values] = labels[static_cast<size_t>(pick(5))];
        if (chance(50)) {
          r["match"][name] = pick_of(values);
        } else {
          r["match_re"][name] = pick_of(regexes);
        }
      }
      if (chance(40)) r["continue"] = true;
    }
    if (depth < 3) {
      const int kids = depth == 0 ? 2 + pick(3) : pick(3);
      for (int i = 0; i < kids; ++i) r["routes"].push_back(route(depth + 1));
    }
    return r;
  }

  std::string config() {
    nlohmann::json c;
    c["route"] = route(0);
    for (int i = 0; i < 5; ++i) c["receivers"].push_back({{"name", "r" + std::to_string(i)}});
    return c.dump(2) + "\n";
  }

  LabelList label_set() {
    LabelList out;
    out.emplace_back("alertname", "A" + std::to_string(pick(3)));
    for (const auto& [name, values] : labels) {
      if (chance(75)) {
        out.emplace_back(name, values[static_cast<size_t>(pick(static_cast<int>(values.size())))]);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST(RoutingDifferential, AmtoolRoutesTestAgrees) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  TempDir dir("routing_diff");
  int cases = 0, disagreements = 0;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Gen g(seed);
    const std::string yaml = g.config();
    const std::string path = dir.write("am" + std::to_string(seed) + ".yml", yaml);
    auto loaded = load_routing_file(path);
    ASSERT_TRUE(loaded) << loaded.error << "\n" << yaml;
    Router router(*loaded.config);
    // The 20 label sets of this tree run as 20 concurrent amtool processes (one shell script),
    // each writing its output and exit status to files.
    std::vector<std::string> wants, argss;
    std::string script;
    for (int i = 0; i < 20; ++i) {
      const LabelList labels = g.label_set();
      std::string want;
      for (const std::string& r : receivers_of(router, labels)) {
        want += (want.empty() ? "" : ",") + r;
      }
      std::string args;
      for (const auto& [k, v] : labels) args += " " + k + "=" + v;
      const std::string out = dir.path().string() + "/out" + std::to_string(i);
      // --verify.receivers makes amtool exit non-zero when its answer differs from vigil's.
      script += "(amtool config routes test --config.file='" + path + "' --verify.receivers='" +
                want + "'" + args + " >'" + out + "' 2>/dev/null; echo $? >'" + out + ".rc') &\n";
      wants.push_back(want);
      argss.push_back(args);
    }
    script += "wait\n";
    run_command(script);
    for (int i = 0; i < 20; ++i) {
      const std::string out = dir.path().string() + "/out" + std::to_string(i);
      std::ifstream f(out), frc(out + ".rc");
      std::string got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      int rc = -1;
      frc >> rc;
      while (!got.empty() && (got.back() == '\n' || got.back() == ' ')) got.pop_back();
      ++cases;
      const std::string& want = wants[static_cast<size_t>(i)];
      if (rc != 0 || got != want) {
        ++disagreements;
        ADD_FAILURE() << "seed " << seed << " labels" << argss[static_cast<size_t>(i)]
                      << "\nvigil:  " << want << "\namtool: " << got << " (exit " << rc << ")\n"
                      << yaml;
        if (disagreements > 5) return;
      }
    }
  }
  EXPECT_EQ(cases, 400);
}

// ---------------------------------------------------------------------------------------------
// Differential: amtool check-config accepts and rejects the same files

struct CheckCase {
  const char* name;
  std::string yaml;
  bool ok;
  // vigil deliberately differs from Alertmanager on this one (why in `name`).
  bool differs = false;
};

std::string with_receivers(const std::string& route,
                           const std::string& receivers = "  - name: a\n") {
  return "route:\n" + route + "receivers:\n" + receivers;
}

std::vector<CheckCase> check_cases() {
  const std::string base = "  receiver: a\n";
  return {
      {"minimal", with_receivers(base), true},
      {"full", kFull, true},
      {"no route", "receivers:\n  - name: a\n", false},
      {"no receiver on root", with_receivers("  group_by: [a]\n"), false},
      {"undefined receiver", with_receivers("  receiver: b\n"), false},
      {"undefined child receiver",
       with_receivers(base + "  routes:\n    - receiver: b\n      match: {x: y}\n"), false},
      {"root matchers", with_receivers(base + "  matchers: [a=b]\n"), false},
      {"root match", with_receivers(base + "  match: {a: b}\n"), false},
      {"root continue", with_receivers(base + "  continue: true\n"), false},
      {"continue on a child", with_receivers(base + "  routes:\n    - continue: true\n"), true},
      {"unknown route field", with_receivers(base + "  foo: bar\n"), false},
      {"unknown top-level field", with_receivers(base) + "foo: 1\n", false},
      {"unknown receiver field", with_receivers(base, "  - name: a\n    foo: 1\n"), false},
      {"unknown receiver type", with_receivers(base, "  - name: a\n    bar_configs: []\n"), false},
      {"opsgenie receiver (ignored by vigil)",
       with_receivers(base, "  - name: a\n    opsgenie_configs:\n      - api_key: k\n"), true},
      {"duplicate receiver", with_receivers(base, "  - name: a\n  - name: a\n"), false},
      {"receiver without name", with_receivers(base, "  - name: a\n  - webhook_configs: []\n"),
       false},
      {"bad duration", with_receivers(base + "  group_wait: 10\n"), false},
      {"duration with ms", with_receivers(base + "  group_wait: 1m30s500ms\n"), true},
      {"zero group_wait", with_receivers(base + "  group_wait: 0s\n"), true},
      {"zero group_interval", with_receivers(base + "  group_interval: 0s\n"), false},
      {"zero repeat_interval", with_receivers(base + "  repeat_interval: 0\n"), false},
      {"group_by all", with_receivers(base + "  group_by: ['...']\n"), true},
      {"group_by all and more", with_receivers(base + "  group_by: ['...', a]\n"), false},
      {"group_by duplicate", with_receivers(base + "  group_by: [a, a]\n"), false},
      {"group_by bad name", with_receivers(base + "  group_by: [a-b]\n"), false},
      {"matchers list syntax",
       with_receivers(base + "  routes:\n    - matchers: ['{a=\"1\", b=~\"x|y\"}', 'c!=2']\n"),
       true},
      {"matchers quoted comma", with_receivers(base + "  routes:\n    - matchers: ['a=\"x,y\"']\n"),
       true},
      {"matchers bad regex", with_receivers(base + "  routes:\n    - matchers: ['a=~(']\n"), false},
      {"matchers bad syntax", with_receivers(base + "  routes:\n    - matchers: ['a']\n"), false},
      {"matchers unescaped quote",
       with_receivers(base + "  routes:\n    - matchers: ['a=\"b\"c\"']\n"), false},
      {"matchers not a list", with_receivers(base + "  routes:\n    - matchers: a=b\n"), false},
      {"match bad label name", with_receivers(base + "  routes:\n    - match: {a-b: c}\n"), false},
      {"match_re bad regex", with_receivers(base + "  routes:\n    - match_re: {a: '('}\n"), false},
      {"duplicate key", with_receivers(base + "  receiver: a\n"), false},
      {"yes is a bool in yaml.v2",
       with_receivers(base + "  routes:\n    - continue: yes\n      receiver: a\n"), true},
      {"bool from a string", with_receivers(base + "  routes:\n    - continue: 'true'\n"), false},
      {"webhook",
       with_receivers(base, "  - name: a\n    webhook_configs:\n      - url: http://x:1/h\n"),
       true},
      {"webhook without url",
       with_receivers(base, "  - name: a\n    webhook_configs:\n      - max_alerts: 1\n"), false},
      {"webhook bad scheme",
       with_receivers(base, "  - name: a\n    webhook_configs:\n      - url: ftp://x/\n"), false},
      {"webhook negative max_alerts",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        max_alerts: -1\n"),
       false},
      {"slack without url",
       with_receivers(base, "  - name: a\n    slack_configs:\n      - channel: x\n"), false},
      {"slack with global url",
       "global:\n  slack_api_url: https://h/x\n" +
           with_receivers(base, "  - name: a\n    slack_configs:\n      - channel: x\n"),
       true},
      {"email without to",
       "global:\n  smtp_smarthost: h:25\n  smtp_from: a@b\n" +
           with_receivers(base, "  - name: a\n    email_configs:\n      - html: x\n"),
       false},
      {"email with globals",
       "global:\n  smtp_smarthost: h:25\n  smtp_from: a@b\n" +
           with_receivers(base, "  - name: a\n    email_configs:\n      - to: c@d\n"),
       true},
      {"email without from",
       "global:\n  smtp_smarthost: h:25\n" +
           with_receivers(base, "  - name: a\n    email_configs:\n      - to: c@d\n"),
       false},
      {"smarthost without port",
       with_receivers(base,
                      "  - name: a\n    email_configs:\n      - to: c@d\n        from: a@b\n"
                      "        smarthost: h\n"),
       false},
      {"pagerduty without key",
       with_receivers(base, "  - name: a\n    pagerduty_configs:\n      - severity: x\n"), false},
      {"pagerduty with key",
       with_receivers(base, "  - name: a\n    pagerduty_configs:\n      - routing_key: k\n"), true},
      {"http_config bearer and basic",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        http_config:\n          bearer_token: t\n"
                      "          basic_auth: {username: u}\n"),
       false},
      {"http_config authorization basic",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        http_config:\n          authorization: {type: Basic}\n"),
       false},
      {"http_config unknown field",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        http_config:\n          foo: 1\n"),
       false},
      {"inhibit rule",
       with_receivers(base) + "inhibit_rules:\n  - source_matchers: [a=b]\n"
                              "    target_match_re: {c: 'd|e'}\n    equal: [f]\n",
       true},
      {"inhibit bad equal", with_receivers(base) + "inhibit_rules:\n  - equal: [a-b]\n", false},
      {"inhibit unknown field", with_receivers(base) + "inhibit_rules:\n  - foo: [a]\n", false},
      {"time intervals (ignored by vigil)",
       with_receivers(base + "  routes:\n    - mute_time_intervals: [night]\n") +
           "time_intervals:\n  - name: night\n    time_intervals:\n      - times:\n"
           "        - start_time: '00:00'\n          end_time: '06:00'\n",
       true},
      {"undefined time interval",
       with_receivers(base + "  routes:\n    - mute_time_intervals: [night]\n"), false},
      {"root mute time interval",
       with_receivers(base + "  mute_time_intervals: [night]\n") +
           "time_intervals:\n  - name: night\n",
       false},
      {"unknown global", "global:\n  foo: 1\n" + with_receivers(base), false},
      {"max_alerts float (yaml.v2 truncates)",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        max_alerts: 1.5\n"),
       true},
      {"control character", with_receivers(base + "  group_by: [\"a\x01\"]\n"), false},
      {"tab and CR are fine", with_receivers(base + "  group_by: [a]\t\r\n"), true},
      {"null inhibit rule", with_receivers(base) + "inhibit_rules:\n  -\n", true},
      {"basic_auth password and password_file",
       with_receivers(base,
                      "  - name: a\n    webhook_configs:\n      - url: http://x/\n"
                      "        http_config:\n          basic_auth: {username: u, password: p, "
                      "password_file: f}\n"),
       false},
      {"url with a space in the host",
       with_receivers(base, "  - name: a\n    webhook_configs:\n      - url: 'http://x y/'\n"),
       false},
      {"upper-case scheme",
       with_receivers(base, "  - name: a\n    webhook_configs:\n      - url: 'HTTP://x/'\n"), true},
      {"merge key", "base: &b\n  receiver: a\nroute:\n  <<: *b\nreceivers:\n  - name: a\n", false},
      {"merged route", "route:\n  <<: {receiver: a}\nreceivers:\n  - name: a\n", true},
      {"aliased route",
       with_receivers(base + "  routes:\n    - &c\n      match: {x: y}\n    - *c\n"), true},
      {"quoted duration", with_receivers(base + "  group_wait: '5m'\n"), true},
      {"empty duration", with_receivers(base + "  group_wait: ''\n"), false},
      {"group_by a string", with_receivers(base + "  group_by: a\n"), false},
      {"routes a mapping", with_receivers(base + "  routes: {}\n"), false},
      {"receivers a mapping", "route:\n" + base + "receivers: {}\n", false},
      {"email to a list",
       with_receivers(base,
                      "  - name: a\n    email_configs:\n      - to: [a]\n        from: b\n"
                      "        smarthost: h:1\n"),
       false},
      {"empty file", "", false},
      {"not a mapping", "- a\n", false},
      // vigil does not check the values of fields it ignores (documented in routing_file.cc).
      {"ignored field with a bad value: vigil warns, Alertmanager rejects",
       with_receivers(base, "  - name: a\n    opsgenie_configs:\n      - foo: 1\n"), true, true},
  };
}

TEST(RoutingDifferential, AmtoolCheckConfigAgrees) {
  if (!have_amtool()) GTEST_SKIP() << "amtool (Alertmanager 0.25) not installed";
  TempDir dir("routing_check");
  int i = 0;
  for (const CheckCase& c : check_cases()) {
    const std::string path = dir.write("c" + std::to_string(i++) + ".yml", c.yaml);
    auto loaded = load_routing_file(path);
    EXPECT_EQ(static_cast<bool>(loaded), c.ok) << c.name << "\n" << loaded.error << "\n" << c.yaml;
    const auto p = run_command("amtool check-config '" + path + "'");
    const bool am_ok = p.status == 0;
    EXPECT_EQ(am_ok, c.differs ? !c.ok : c.ok) << c.name << "\n" << p.output << "\n" << c.yaml;
  }
}

}  // namespace
}  // namespace vigil::alerting
