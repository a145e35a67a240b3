// Tests of vigil::ops' dashboard generator: the lint rules (of grafana/dashboard-linter's kind)
// over the checked-in demo dashboards and over dashboards generated here, the panels found for
// the standard names, stable ids and uids, and the exposition parser.
#include "vigil/ops/grafana.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alerting/promql/parser.h"
#include "vigil/core/error.h"
#include "vigil/metrics/http_metrics.h"
#include "vigil/metrics/process_collector.h"
#include "vigil/metrics/registry.h"

namespace {

using json = nlohmann::json;
namespace ops = vigil::ops;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// The lint rules; each failure names the dashboard, the panel and the rule.
std::vector<std::string> lint(const json& d) {
  std::vector<std::string> errors;
  const std::string where = d.value("title", "?") + ": ";
  auto fail = [&](const std::string& e) { errors.push_back(where + e); };

  // Template variables: a datasource variable of type datasource for Prometheus, job and
  // instance query variables using it; no __inputs.
  if (d.contains("__inputs")) fail("has __inputs (use the datasource variable)");
  std::map<std::string, json> vars;
  for (const json& v : d["templating"]["list"]) vars[v["name"]] = v;
  if (!vars.count("datasource") || vars["datasource"]["type"] != "datasource" ||
      vars["datasource"]["query"] != "prometheus") {
    fail("no datasource variable of type datasource (query prometheus)");
  }
  for (const char* name : {"job", "instance"}) {
    if (!vars.count(name) || vars[name]["type"] != "query" ||
        vars[name]["datasource"]["uid"] != "${datasource}") {
      fail(std::string("no ") + name + " query variable using ${datasource}");
    }
  }
  if (d["schemaVersion"] != 39) fail("schemaVersion is not 39");
  const std::string uid = d["uid"];
  if (uid.empty() || uid.size() > 40 || !std::regex_match(uid, std::regex("[a-z0-9-]+"))) {
    fail("bad uid '" + uid + "'");
  }

  std::set<int> ids;
  std::set<std::string> titles;
  for (const json& p : d["panels"]) {
    const int id = p["id"];
    const std::string title = p.value("title", "");
    const std::string at = "panel " + std::to_string(id) + " \"" + title + "\": ";
    if (!ids.insert(id).second) fail(at + "duplicate id");
    if (title.empty()) fail(at + "no title");
    if (!titles.insert(title).second) fail(at + "duplicate title");
    const json& g = p["gridPos"];
    if (g["x"].get<int>() < 0 || g["x"].get<int>() + g["w"].get<int>() > 24) fail(at + "off grid");
    if (p["type"] == "row") continue;
    if (p["datasource"]["uid"] != "${datasource}") fail(at + "datasource is not ${datasource}");
    const std::string unit = p["fieldConfig"]["defaults"].value("unit", "");
    if (unit.empty()) fail(at + "no unit");
    if (p["targets"].empty()) fail(at + "no targets");
    for (const json& t : p["targets"]) {
      const std::string expr = t["expr"];
      if (t["datasource"]["uid"] != "${datasource}") fail(at + "target datasource");
      // Prometheus' own ALERTS series carry each alert's labels, not the scrape's job.
      const bool alerts = expr.find("ALERTS{") != std::string::npos;
      if (!alerts && (expr.find(R"(job=~"$job")") == std::string::npos ||
                      expr.find(R"(instance=~"$instance")") == std::string::npos)) {
        fail(at + "query does not filter on $job and $instance: " + expr);
      }
      // Every selector in the query filters (no bare metric{...} without the variables).
      const std::size_t selectors = std::count(expr.begin(), expr.end(), '{');
      const std::size_t filtered = alerts ? selectors : [&] {
        std::size_t n = 0;
        for (std::size_t pos = 0;
             (pos = expr.find(R"({job=~"$job", instance=~"$instance")", pos)) != std::string::npos;
             ++pos) {
          ++n;
        }
        return n;
      }();
      if (filtered != selectors) fail(at + "a selector without the variables: " + expr);
      for (const char* fn : {"rate(", "increase("}) {
        for (std::size_t pos = 0; (pos = expr.find(fn, pos)) != std::string::npos; ++pos) {
          const std::size_t close = expr.find(']', pos);
          if (close == std::string::npos ||
              expr.compare(close - 17, 17, "[$__rate_interval") != 0) {
            fail(at + fn + ") without $__rate_interval: " + expr);
          }
        }
      }
      // The query parses with vigil's PromQL parser once the variables are substituted.
      std::string q = replace_all(expr, "$__rate_interval", "1m");
      q = replace_all(replace_all(q, "$job", ".*"), "$instance", ".*");
      const auto parsed = vigil::alerting::promql::parse(q);
      if (!parsed) fail(at + "PromQL does not parse: " + parsed.error + " in " + q);
    }
  }
  return errors;
}

std::vector<std::string> panel_titles(const json& d) {
  std::vector<std::string> out;
  for (const json& p : d["panels"]) out.push_back(p["title"]);
  return out;
}

bool has_title(const json& d, const std::string& t) {
  const auto titles = panel_titles(d);
  return std::find(titles.begin(), titles.end(), t) != titles.end();
}

json kind(const std::vector<ops::GrafanaDashboard>& ds, const std::string& k) {
  for (const auto& d : ds) {
    if (d.kind == k) return json::parse(d.json);
  }
  return json();
}

TEST(GrafanaDashboards, CheckedInDemoDashboardsPassTheLintRules) {
  std::size_t n = 0;
  std::set<std::string> uids;
  for (const auto& e : std::filesystem::directory_iterator(VIGIL_DASHBOARDS_DIR)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    const json d = json::parse(in);
    for (const std::string& err : lint(d)) ADD_FAILURE() << e.path().filename() << ": " << err;
    EXPECT_TRUE(uids.insert(d["uid"]).second) << "duplicate uid " << d["uid"];
    ++n;
  }
  EXPECT_EQ(n, 4u);
}

// The guides' panels, on the demo's metric names (deploy/grafana/dashboards).
TEST(GrafanaDashboards, DemoDashboardsHaveTheGuidesPanels) {
  std::map<std::string, json> by_kind;
  for (const auto& e : std::filesystem::directory_iterator(VIGIL_DASHBOARDS_DIR)) {
    std::ifstream in(e.path());
    json d = json::parse(in);
    const std::string title = d["title"];
    by_kind[title] = std::move(d);
  }
  const json& overview = by_kind["vigil demo / Overview"];
  const json& llm = by_kind["vigil demo / LLM and agents"];
  const json& system = by_kind["vigil demo / System and process"];
  for (const char* t : {"Agent request rate", "Agent error ratio", "Agent active requests",
                        "Uptime", "Latency p50 / p95 / p99", "Error rate by type", "Cost per hour",
                        "Cache hit ratio", "Tool calls per second"}) {
    EXPECT_TRUE(has_title(overview, t)) << t;
  }
  for (const char* t :
       {"Tokens per second by kind", "Cost per hour by provider", "LLM latency p95 by provider",
        "LLM API calls per second by provider", "Tool error ratio by tool",
        "Cache hit ratio by cache", "Pipeline execution rate", "Pipeline success rate",
        "Pipeline runs active", "Pipeline duration p95", "Pipeline step duration p95 by step",
        "Pipeline throughput: steps completed per second"}) {
    EXPECT_TRUE(has_title(llm, t)) << t;
  }
  for (const char* t : {"CPU usage (100% = one core)", "Memory usage", "Host memory used"}) {
    EXPECT_TRUE(has_title(system, t)) << t;
  }
  // The guardrail row (vigil_guardrail_*): state, checks by result, triggers, actions.
  const json& health = by_kind["vigil demo / Health and alerts"];
  for (const char* t : {"Guardrails triggered", "Guardrail state by monitor (1 = current)",
                        "Guardrail checks per second by result", "Guardrail triggers per second",
                        "Rollback action duration p95", "Rollback action failures per second"}) {
    EXPECT_TRUE(has_title(health, t)) << t;
  }
  for (const json& p : health["panels"]) {
    if (p["title"] == "Guardrail checks per second by result") {
      EXPECT_EQ(p["fieldConfig"]["defaults"]["unit"], "ops");
      EXPECT_EQ(p["targets"][0]["expr"],
                R"(sum by (monitor, result) (rate(vigil_guardrail_checks_total{job=~"$job", )"
                R"(instance=~"$instance"}[$__rate_interval])))");
    }
    if (p["title"] == "Rollback action duration p95") {
      EXPECT_EQ(p["fieldConfig"]["defaults"]["unit"], "s");
    }
  }
  // 002's operations-rate stat has thresholds; the error-ratio stat turns red above 5 %.
  for (const json& p : overview["panels"]) {
    if (p["title"] == "Agent error ratio") {
      const json& steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"];
      ASSERT_EQ(steps.size(), 3u);
      EXPECT_EQ(steps[2]["value"], 0.05);
      EXPECT_EQ(steps[2]["color"], "red");
      EXPECT_EQ(p["targets"][0]["expr"],
                R"(sum(rate(agent_requests_total{job=~"$job", instance=~"$instance", )"
                R"(status!~"success|ok|completed|pass"}[$__rate_interval])) / )"
                R"(sum(rate(agent_requests_total{job=~"$job", instance=~"$instance"})"
                R"([$__rate_interval])))");
    }
  }
}

// A service with the HTTP middleware's families, the process collector and LLM families.
TEST(GrafanaDashboards, BuildsPanelsForTheStandardNames) {
  vigil::metrics::Registry r;
  vigil::metrics::HttpServerMetrics http(r);
  r.add_collector(std::make_shared<vigil::metrics::ProcessCollector>());
  r.counter("llm_tokens_total", "Tokens", {"provider", "kind"});
  r.counter("llm_cost_dollars_total", "Spend", {"provider"}, {.unit = "dollars"});
  r.counter("cache_hits_total", "Hits", {});
  r.counter("cache_misses_total", "Misses", {});
  r.gauge("orders_open", "Open orders", {"shop"});

  const auto ds = ops::grafana_dashboards(r, {.title = "shop"});
  ASSERT_EQ(ds.size(), 4u);
  for (const auto& d : ds) {
    for (const std::string& err : lint(json::parse(d.json))) ADD_FAILURE() << err;
  }
  const json overview = kind(ds, "overview");
  EXPECT_EQ(overview["title"], "shop / Overview");
  EXPECT_EQ(overview["uid"], "shop-overview");
  EXPECT_TRUE(has_title(overview, "Http server request rate"));
  EXPECT_TRUE(has_title(overview, "Request rate by route"));
  EXPECT_TRUE(has_title(overview, "orders_open"));  // no recipe: the generic panel
  for (const json& p : overview["panels"]) {
    if (p["title"] == "Http server error ratio") {
      EXPECT_NE(p["targets"][0]["expr"].get<std::string>().find(R"(code=~"5..")"),
                std::string::npos);
    }
  }
  const json llm = kind(ds, "llm");
  EXPECT_TRUE(has_title(llm, "Cost per hour"));
  for (const json& p : llm["panels"]) {
    if (p["title"] == "Cost per hour by provider") {
      EXPECT_EQ(p["fieldConfig"]["defaults"]["unit"], "currencyUSD");
      EXPECT_EQ(p["targets"][0]["expr"],
                R"(sum by (provider) (rate(llm_cost_dollars_total{job=~"$job", )"
                R"(instance=~"$instance"}[$__rate_interval])) * 3600)");
    }
  }
  EXPECT_TRUE(has_title(kind(ds, "system"), "Memory usage"));

  // Same families, same output; the uid depends on the title only.
  const auto again = ops::grafana_dashboards(r, {.title = "shop"});
  for (std::size_t i = 0; i < ds.size(); ++i) EXPECT_EQ(ds[i].json, again[i].json);
  EXPECT_EQ(json::parse(ops::grafana_dashboard(r, {.title = "shop"}, "system")),
            kind(ds, "system"));
}

TEST(GrafanaDashboards, EmptyKindsAreLeftOutAndBadOptionsThrow) {
  vigil::metrics::Registry r;
  r.gauge("temperature_celsius", "Temperature", {"room"});
  const auto ds = ops::grafana_dashboards(r);
  ASSERT_EQ(ds.size(), 2u);  // overview (the generic panel) and health (Prometheus' ALERTS)
  EXPECT_EQ(ds[0].kind, "overview");
  EXPECT_EQ(ds[1].kind, "health");
  EXPECT_EQ(ops::grafana_dashboard(r, {}, "llm"), "");
  EXPECT_THROW(ops::grafana_dashboard(r, {}, "nope"), vigil::Error);
  EXPECT_THROW(ops::grafana_dashboards(r, {.title = "--"}), vigil::Error);
  EXPECT_THROW(ops::grafana_dashboards(r, {.title = "x", .uid_prefix = "Bad Prefix"}),
               vigil::Error);
}

TEST(ExpositionFamilies, LearnsTypesUnitsHelpAndLabelNames) {
  const auto r = ops::parse_exposition_families(
      "# HELP http_requests_total Requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{code=\"200\",path=\"/a}b\\\"\"} 3\n"
      "# TYPE lat_seconds histogram\n"
      "# UNIT lat_seconds seconds\n"
      "lat_seconds_bucket{le=\"0.1\",op=\"get\"} 1\n"
      "lat_seconds_count{op=\"get\"} 1\n"
      "build_info{version=\"1\"} 1\n"
      "# EOF\n");
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r.families->size(), 3u);
  const ops::FamilyInfo& req = (*r.families)[0];
  EXPECT_EQ(req.name, "http_requests");
  EXPECT_EQ(req.type, vigil::metrics::MetricType::kCounter);
  EXPECT_EQ(req.help, "Requests.");
  EXPECT_EQ(req.label_names, (std::vector<std::string>{"code", "path"}));
  const ops::FamilyInfo& lat = (*r.families)[1];
  EXPECT_EQ(lat.type, vigil::metrics::MetricType::kHistogram);
  EXPECT_EQ(lat.unit, "seconds");
  EXPECT_EQ(lat.label_names, std::vector<std::string>{"op"});  // le left out
  EXPECT_EQ((*r.families)[2].name, "build_info");              // untyped: a gauge
  EXPECT_EQ((*r.families)[2].type, vigil::metrics::MetricType::kGauge);
}

TEST(ExpositionFamilies, MalformedInputIsAnErrorWithTheLine) {
  EXPECT_EQ(ops::parse_exposition_families("a 1\n# TYPE b flux\n").error,
            "line 2: # TYPE b needs one of counter, gauge, histogram, summary, info, untyped");
  EXPECT_EQ(ops::parse_exposition_families("x{a=\"1\" 2\n").error,
            "line 1: unterminated label set of x");
  EXPECT_EQ(ops::parse_exposition_families("x{a=1} 2\n").error,
            "line 1: x: expected '\"' after a=");
  EXPECT_EQ(ops::parse_exposition_families("{a=\"1\"} 2\n").error,
            "line 1: a sample must start with a metric name");
  EXPECT_TRUE(ops::parse_exposition_families(""));
}

// Found by fuzz_exposition_families: help text that is not UTF-8 must not make the JSON throw.
TEST(ExpositionFamilies, InvalidUtf8HelpIsReplacedInTheDashboard) {
  const auto r = ops::parse_exposition_families("# HELP x_bytes bad \xff\x9f help\nx_bytes 1\n");
  ASSERT_TRUE(r) << r.error;
  const auto ds = ops::grafana_dashboards(*r.families);
  ASSERT_FALSE(ds.empty());
  EXPECT_NE(json::parse(ds[0].json).dump().find("bad \xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
