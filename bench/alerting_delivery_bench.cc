// Alert delivery (issue 10): the cost of routing and grouping alerts as the dispatcher does for
// each alert it receives.
//
//   build/release/bench/alerting_delivery_bench
//
// BM_RouteAndGroup10k   10,000 alerts with realistic label sets (alertname, severity, service,
//                       env, instance, team, cluster; 7-8 labels) through a 20-route tree
//                       (team routes with severity children, regex matchers, one `continue`):
//                       Router::match, RouteMatch::group_labels and group_key for each match,
//                       into a hash map of groups (cleared each iteration).
//                       Target: <= 20 ms for the 10,000.
// BM_RouteOnly10k       Router::match alone for the same 10,000 alerts.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "vigil/alerting/routing.h"

namespace {

using vigil::alerting::LabelList;
using vigil::alerting::MatchType;
using vigil::alerting::Route;
using vigil::alerting::RoutingConfig;

const char* const kTeams[] = {"payments", "search", "storage", "frontend", "platform"};

// root (group_by alertname, cluster)
//   {severity="critical"} receiver pager, continue
//   per team (5): {team="T"} receiver T, group_by [alertname, service]
//       {severity="critical", env="prod"} receiver T-pager
//       {service=~"T-(db|cache)"} receiver T-data
//   {env=~"dev|staging"} receiver sink
//   {alertname=~"Watchdog|InfoInhibitor"} receiver null
//   {cluster!="eu1", severity!="info"} receiver ops
//   ... 20 routes in all (the root included)
RoutingConfig tree() {
  RoutingConfig cfg;
  cfg.route.receiver = "default";
  cfg.route.group_by = std::vector<std::string>{"alertname", "cluster"};
  cfg.receivers.push_back({.name = "default"});
  Route pager;
  pager.receiver = "pager";
  pager.matchers = {{"severity", MatchType::kEqual, "critical"}};
  pager.continue_matching = true;
  cfg.route.routes.push_back(pager);
  cfg.receivers.push_back({.name = "pager"});
  Route null;
  null.receiver = "null";
  null.matchers = {{"alertname", MatchType::kRegexMatch, "Watchdog|InfoInhibitor"}};
  cfg.route.routes.push_back(null);
  cfg.receivers.push_back({.name = "null"});
  for (const char* t : kTeams) {
    const std::string team = t;
    Route r;
    r.receiver = team;
    r.matchers = {{"team", MatchType::kEqual, team}};
    r.group_by = std::vector<std::string>{"alertname", "service"};
    Route crit;
    crit.receiver = team + "-pager";
    crit.matchers = {{"severity", MatchType::kEqual, "critical"},
                     {"env", MatchType::kEqual, "prod"}};
    Route data;
    data.receiver = team + "-data";
    data.matchers = {{"service", MatchType::kRegexMatch, team + "-(db|cache)"}};
    r.routes = {crit, data};
    cfg.route.routes.push_back(r);
    for (const std::string& n : {team, team + "-pager", team + "-data"}) {
      cfg.receivers.push_back({.name = n});
    }
  }
  Route sink;
  sink.receiver = "sink";
  sink.matchers = {{"env", MatchType::kRegexMatch, "dev|staging"}};
  cfg.route.routes.push_back(sink);
  cfg.receivers.push_back({.name = "sink"});
  Route ops;
  ops.receiver = "ops";
  ops.matchers = {{"cluster", MatchType::kNotEqual, "eu1"},
                  {"severity", MatchType::kNotEqual, "info"}};
  cfg.route.routes.push_back(ops);
  cfg.receivers.push_back({.name = "ops"});
  return cfg;
}

std::vector<LabelList> alerts(size_t n) {
  std::mt19937 rng(42);
  auto pick = [&](size_t k) { return std::uniform_int_distribution<size_t>(0, k - 1)(rng); };
  const char* const severities[] = {"critical", "warning", "info"};
  const char* const envs[] = {"prod", "staging", "dev"};
  const char* const kinds[] = {"api", "db", "cache", "worker", "web", "queue", "auth", "batch"};
  const char* const clusters[] = {"eu1", "eu2", "us1", "ap1"};
  std::vector<LabelList> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string team = kTeams[pick(5)];
    LabelList l = {{"alertname", i % 500 == 0 ? "Watchdog" : "Alert" + std::to_string(pick(50))},
                   {"severity", severities[pick(3)]},
                   {"service", team + "-" + kinds[pick(8)]},
                   {"env", envs[pick(3)]},
                   {"instance", "host-" + std::to_string(pick(500)) + ":9100"},
                   {"team", team},
                   {"cluster", clusters[pick(4)]}};
    if (pick(2)) l.emplace_back("job", "node");
    std::sort(l.begin(), l.end());
    out.push_back(std::move(l));
  }
  return out;
}

void BM_RouteAndGroup10k(benchmark::State& state) {
  const vigil::alerting::Router router(tree());
  const std::vector<LabelList> in = alerts(10'000);
  std::unordered_map<std::string, std::vector<size_t>> groups;
  size_t matches = 0;
  for (auto _ : state) {
    groups.clear();
    matches = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      for (const auto* m : router.match(in[i])) {
        groups[m->group_key(m->group_labels(in[i]))].push_back(i);
        ++matches;
      }
    }
    benchmark::DoNotOptimize(groups.size());
  }
  state.counters["routes"] = static_cast<double>(router.routes().size());
  state.counters["groups"] = static_cast<double>(groups.size());
  state.counters["matches"] = static_cast<double>(matches);
}
BENCHMARK(BM_RouteAndGroup10k)->Unit(benchmark::kMillisecond);

void BM_RouteOnly10k(benchmark::State& state) {
  const vigil::alerting::Router router(tree());
  const std::vector<LabelList> in = alerts(10'000);
  for (auto _ : state) {
    size_t n = 0;
    for (const LabelList& l : in) n += router.match(l).size();
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_RouteOnly10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
