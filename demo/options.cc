#include "options.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "core/detail/text.h"

namespace vigil::demo {
namespace {

std::string quote(std::string_view s) { return vigil::detail::quoted(s, '\''); }

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  out = v;
  return true;
}

// HOST:PORT with PORT in 0..65535. The admin server checks the host part when it is created.
std::string check_listen(std::string_view value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string_view::npos) {
    return "--listen " + quote(value) + ": expected HOST:PORT, e.g. 127.0.0.1:9464";
  }
  const std::string_view port = value.substr(colon + 1);
  int p = -1;
  if (!parse_int(port, p) || p < 0 || p > 65535) {
    return "--listen " + quote(value) + ": the port must be a number from 0 to 65535";
  }
  return {};
}

}  // namespace

ParseResult parse_args(std::span<const std::string_view> args) {
  ParseResult r;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    if (name == "--help" || name == "-h" || name == "--no-default-rules") {
      if (inline_value) {
        r.error = std::string(name) + " takes no value";
        return r;
      }
      if (name == "--no-default-rules") {
        r.options.no_default_rules = true;
      } else {
        r.options.help = true;
      }
      continue;
    }
    if (name != "--listen" && name != "--duration" && name != "--rate" && name != "--workers" &&
        name != "--outage-every" && name != "--outage-for" && name != "--warmup" &&
        name != "--eval-interval" && name != "--rules" && name != "--write-slo-rules" &&
        name != "--write-dashboards" && name != "--alertmanager" && name != "--webhook" &&
        name != "--routes" && name != "--state" && name != "--bad-release-at" &&
        name != "--release-share" && name != "--guardrail-interval") {
      r.error = "unknown argument " + quote(arg);
      return r;
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      r.error = std::string(name) + " needs a value";
      return r;
    }

    if (name == "--listen") {
      r.error = check_listen(value);
      if (!r.error.empty()) return r;
      r.options.listen = std::string(value);
    } else if (name == "--duration") {
      double d = 0;
      if (!parse_double(value, d) || d <= 0) {
        r.error = "--duration " + quote(value) + ": expected a number of seconds greater than 0";
        return r;
      }
      r.options.duration_seconds = d;
    } else if (name == "--rules") {
      if (value.empty()) {
        r.error = "--rules needs a file name";
        return r;
      }
      r.options.rule_files.emplace_back(value);
    } else if (name == "--alertmanager" || name == "--webhook") {
      if (!value.starts_with("http://") && !value.starts_with("https://")) {
        r.error = std::string(name) + " " + quote(value) + ": expected an http:// or https:// URL";
        return r;
      }
      (name == "--alertmanager" ? r.options.alertmanagers : r.options.webhooks).emplace_back(value);
    } else if (name == "--routes" || name == "--state") {
      if (value.empty()) {
        r.error = std::string(name) + " needs a file name";
        return r;
      }
      (name == "--routes" ? r.options.routes_file : r.options.state_path) = std::string(value);
    } else if (name == "--write-slo-rules") {
      if (value.empty()) {
        r.error = "--write-slo-rules needs a file name";
        return r;
      }
      r.options.write_slo_rules = std::string(value);
    } else if (name == "--write-dashboards") {
      if (value.empty()) {
        r.error = "--write-dashboards needs a directory";
        return r;
      }
      r.options.write_dashboards = std::string(value);
    } else if (name == "--eval-interval") {
      double d = 0;
      if (!parse_double(value, d) || d < 0.1 || d > 3600) {
        r.error = "--eval-interval " + quote(value) + ": expected seconds from 0.1 to 3600";
        return r;
      }
      r.options.eval_interval_seconds = d;
    } else if (name == "--bad-release-at") {
      double d = 0;
      if (!parse_double(value, d) || d < 0 || d > 1e6) {
        r.error = "--bad-release-at " + quote(value) +
                  ": expected seconds since the start, from 0 up to 1000000";
        return r;
      }
      r.options.bad_release_at_seconds = d;
    } else if (name == "--release-share") {
      double d = 0;
      if (!parse_double(value, d) || d <= 0 || d > 1) {
        r.error = "--release-share " + quote(value) + ": expected a fraction in (0, 1], e.g. 0.3";
        return r;
      }
      r.options.release_share = d;
    } else if (name == "--guardrail-interval") {
      double d = 0;
      if (!parse_double(value, d) || d < 0.05 || d > 3600) {
        r.error = "--guardrail-interval " + quote(value) + ": expected seconds from 0.05 to 3600";
        return r;
      }
      r.options.guardrail_interval_seconds = d;
    } else if (name == "--rate") {
      double rate = 0;
      if (!parse_double(value, rate) || rate <= 0 || rate > 100'000) {
        r.error = "--rate " + quote(value) + ": expected requests per second in (0, 100000]";
        return r;
      }
      r.options.rate = rate;
    } else if (name == "--outage-every" || name == "--outage-for" || name == "--warmup") {
      double d = 0;
      const bool zero_ok = name != "--outage-for";
      if (!parse_double(value, d) || d < 0 || (!zero_ok && d == 0) || d > 1e6) {
        r.error = std::string(name) + " " + quote(value) + ": expected a number of seconds " +
                  (zero_ok ? "from 0" : "greater than 0") + " up to 1000000";
        return r;
      }
      if (name == "--outage-every") {
        r.options.outage_every_seconds = d;
      } else if (name == "--outage-for") {
        r.options.outage_for_seconds = d;
      } else {
        r.options.warmup_seconds = d;
      }
    } else {  // --workers
      int w = 0;
      if (!parse_int(value, w) || w < 1 || w > 256) {
        r.error = "--workers " + quote(value) + ": expected a whole number from 1 to 256";
        return r;
      }
      r.options.workers = w;
    }
  }
  if (r.options.outage_every_seconds > 0 &&
      r.options.outage_for_seconds >= r.options.outage_every_seconds) {
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  "--outage-for must be shorter than --outage-every (got %g and %g seconds)",
                  r.options.outage_for_seconds, r.options.outage_every_seconds);
    r.error = buf;
  }
  return r;
}

std::string usage(std::string_view program) {
  std::string u = "usage: ";
  u += program;
  u += R"( [--listen HOST:PORT] [--duration SECONDS] [--rate N] [--workers N]
       [--outage-every SECONDS] [--outage-for SECONDS] [--warmup SECONDS]
       [--eval-interval SECONDS] [--rules FILE]... [--no-default-rules]
       [--write-slo-rules FILE] [--write-dashboards DIR] [--alertmanager URL]...
       [--webhook URL]... [--routes FILE] [--state FILE] [--bad-release-at SECONDS]
       [--release-share FRACTION] [--guardrail-interval SECONDS] [--help]

Simulates an AI agent gateway (LLM calls to openai, anthropic and local models, tool
executions, caches, pipelines) instrumented with vigil, and serves its metrics and its
health probes (/health/live, /health/ready, /health/startup, /health). Alert rules
(deploy/prometheus/alert_rules.yml, C++ rules, an SLO) are evaluated in-process; alerts that
fire or resolve are printed. A guardrail compares the model release v2 with the stable v1
and rolls it back (/api/v1/guardrails).

  --listen HOST:PORT   admin server address (default 127.0.0.1:9464; port 0 picks a free port)
  --duration SECONDS   stop after this long (default: run until Ctrl-C / SIGTERM)
  --rate N             simulated requests per second on average (default 250)
  --workers N          worker threads serving the requests, 1 to 256 (default 24)
  --outage-every SECONDS
                       the vector store goes down once per this period (default 60;
                       0: never), so /health/ready turns 503 and back
  --outage-for SECONDS how long each outage lasts, less than --outage-every (default 20)
  --warmup SECONDS     simulated model loading: /health/startup fails this long (default 3)
  --eval-interval SECONDS
                       how often the alert rules are evaluated (default 2; at least 0.1)
  --rules FILE         also load this Prometheus rule file (repeatable)
  --no-default-rules   do not load deploy/prometheus/alert_rules.yml
  --write-slo-rules FILE
                       write the Prometheus rule file of the demo's SLO and exit
  --write-dashboards DIR
                       write the demo's Grafana dashboards (JSON) into DIR and exit
                       (the checked-in ones: deploy/grafana/dashboards)
  --alertmanager URL   post alerts to this Alertmanager (base URL, e.g.
                       http://127.0.0.1:9093; repeatable), as Prometheus does
  --webhook URL        deliver alerts to this URL as Alertmanager's webhook payload
                       (repeatable; grouped by alertname, group_wait 2s)
  --routes FILE        route and deliver with this alertmanager.yml-style file instead
  --state FILE         keep alert state, silences, history, the notification log and the
                       guardrail's audit trail in this SQLite file (survives a crash or
                       restart)
  --bad-release-at SECONDS
                       a model release: from this time on, version v2 serves
                       --release-share of the requests, fails more and is slower; the
                       guardrail judges it against v1 and rolls it back (default: no release)
  --release-share FRACTION
                       the share of the requests v2 takes, in (0, 1] (default 0.3)
  --guardrail-interval SECONDS
                       how often the guardrail judges v2 against v1 (default 2; at least 0.05)
  --help               print this text and exit

Slack, email and PagerDuty are configured from the environment (secrets stay out of the
command line): VIGIL_SLACK_WEBHOOK_URL [VIGIL_SLACK_CHANNEL]; VIGIL_SMTP_SMARTHOST
(host:port) and VIGIL_EMAIL_TO [VIGIL_SMTP_FROM, VIGIL_SMTP_USERNAME, VIGIL_SMTP_PASSWORD,
VIGIL_SMTP_REQUIRE_TLS=false]; VIGIL_PAGERDUTY_ROUTING_KEY.

Exit status: 0 on a clean stop, 1 when the server cannot start (e.g. port in use) or a
rule file does not load, 2 for bad arguments.
)";
  return u;
}

}  // namespace vigil::demo
