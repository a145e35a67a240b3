// demo/options.h: the command line of vigil-demo.
//
//   vigil-demo [--listen HOST:PORT] [--duration SECONDS] [--rate N] [--workers N]
//              [--outage-every SECONDS] [--outage-for SECONDS] [--warmup SECONDS]
//              [--eval-interval SECONDS] [--rules FILE]... [--no-default-rules]
//              [--write-slo-rules FILE] [--write-dashboards DIR] [--alertmanager URL]...
//              [--webhook URL]... [--routes FILE] [--state FILE] [--bad-release-at SECONDS]
//              [--release-share FRACTION] [--guardrail-interval SECONDS] [--help]
//
//   std::vector<std::string_view> args(argv + 1, argv + argc);
//   vigil::demo::ParseResult r = vigil::demo::parse_args(args);
//   if (!r.error.empty()) { std::cerr << r.error << "\n" << vigil::demo::usage("vigil-demo"); }
//
// Parsing never throws (except std::bad_alloc): a bad argument is reported in ParseResult::error.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::demo {

struct DemoOptions {
  // Address of the admin server.
  std::string listen = "127.0.0.1:9464";
  // Stop after this many seconds; nullopt runs until SIGINT or SIGTERM.
  std::optional<double> duration_seconds;
  // Simulated requests per second (average; the load swings +-30% over a minute).
  double rate = 250;
  // Worker threads serving the simulated requests.
  int workers = 24;
  // The vector store goes down for the last `outage_for` seconds of every `outage_every`
  // seconds (readiness turns 503 and back). 0 for outage_every: no outage.
  double outage_every_seconds = 60;
  double outage_for_seconds = 20;
  // Simulated model loading at start: the startup probe fails for this long.
  double warmup_seconds = 3;
  // How often the AlertManager evaluates the rules (>= 0.1).
  double eval_interval_seconds = 2;
  // Rule files given with --rules (repeatable), loaded after deploy/prometheus/alert_rules.yml.
  std::vector<std::string> rule_files;
  // --no-default-rules: do not load deploy/prometheus/alert_rules.yml.
  bool no_default_rules = false;
  // --write-slo-rules FILE: write the demo SLO's Prometheus rule file and exit.
  std::string write_slo_rules;
  // --write-dashboards DIR: write the demo's Grafana dashboards (docs/dashboards.md) and exit.
  std::string write_dashboards;
  // Where alerts are delivered (demo/delivery.h): Alertmanager base URLs, webhook URLs, an
  // alertmanager.yml-style routing file.
  std::vector<std::string> alertmanagers;
  std::vector<std::string> webhooks;
  std::string routes_file;
  // --state FILE: SQLite database of alert state, silences, history, the notification log and
  // the guardrail's audit trail.
  std::string state_path;
  // --bad-release-at SECONDS: the model release v2 takes --release-share of the traffic then
  // (demo/guardrail.h); nullopt: no release.
  std::optional<double> bad_release_at_seconds;
  double release_share = 0.3;
  // How often the guardrail judges v2 against v1 (>= 0.05).
  double guardrail_interval_seconds = 2;
  // --help was given: print usage and exit 0.
  bool help = false;
};

struct ParseResult {
  DemoOptions options;
  std::string error;  // empty on success, otherwise one line naming the bad argument
};

// Parses the arguments after the program name. Accepts "--name value" and "--name=value".
ParseResult parse_args(std::span<const std::string_view> args);

// The usage text, ending with a newline.
std::string usage(std::string_view program);

}  // namespace vigil::demo
