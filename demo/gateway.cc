// demo/gateway.cc: the simulated agent gateway's parts, wired together (demo/gateway.h).
#include "gateway.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include "alerting.h"
#include "delivery.h"
#include "dependencies.h"
#include "gateway_metrics.h"
#include "vigil/admin/alerting_endpoints.h"
#include "vigil/admin/notification_endpoints.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/exporters/statsd_adapters.h"
#include "vigil/exporters/statsd_exporter.h"
#include "vigil/metrics/registry.h"
#include "vigil/ops/grafana.h"
#ifdef VIGIL_DEMO_GUARDRAIL
#include "guardrail.h"
#include "vigil/admin/guardrail_endpoints.h"
#else
namespace vigil::demo {
class DemoGuardrail {};  // built without vigil::guardrail: no release
}  // namespace vigil::demo
#endif

#ifndef VIGIL_DEMO_VERSION
#define VIGIL_DEMO_VERSION "unknown"
#endif
#ifndef VIGIL_DEMO_RULES_FILE
#define VIGIL_DEMO_RULES_FILE "deploy/prometheus/alert_rules.yml"
#endif
#ifndef VIGIL_DEMO_BUILD_TYPE
#define VIGIL_DEMO_BUILD_TYPE "unknown"
#endif

namespace vigil::demo {
namespace {

constexpr std::string_view kProgram = "vigil-demo";

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

// The rule files: deploy/prometheus/alert_rules.yml (unless --no-default-rules), then --rules.
std::vector<std::string> rule_files_of(const DemoOptions& options) {
  std::vector<std::string> files;
  if (!options.no_default_rules) {
    if (std::FILE* f = std::fopen(VIGIL_DEMO_RULES_FILE, "r")) {
      std::fclose(f);
      files.emplace_back(VIGIL_DEMO_RULES_FILE);
    } else {
      std::cerr << kProgram << ": note: " << VIGIL_DEMO_RULES_FILE
                << " not found; running the C++ rules and the SLO only\n";
    }
  }
  files.insert(files.end(), options.rule_files.begin(), options.rule_files.end());
  return files;
}

std::string human(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

std::string totals_line(const SimulationTotals& t, double seconds) {
  const uint64_t lookups = t.cache_hits + t.cache_misses;
  const double hit_rate =
      lookups == 0 ? 0 : 100.0 * static_cast<double>(t.cache_hits) / static_cast<double>(lookups);
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "vigil-demo: simulated %llu agent requests in %.1fs (%.0f/s; %llu ok, %llu failed, "
      "%llu rejected), %llu LLM calls, %s tokens, $%.2f, %llu tool calls (%llu failed), "
      "cache hit rate %.1f%%, %llu pipeline runs (%llu failed)",
      static_cast<unsigned long long>(t.requests), seconds,
      seconds > 0 ? static_cast<double>(t.requests) / seconds : 0.0,
      static_cast<unsigned long long>(t.succeeded), static_cast<unsigned long long>(t.failed),
      static_cast<unsigned long long>(t.rejected), static_cast<unsigned long long>(t.llm_calls),
      human(static_cast<double>(t.prompt_tokens + t.completion_tokens)).c_str(), t.cost_dollars,
      static_cast<unsigned long long>(t.tool_calls),
      static_cast<unsigned long long>(t.tool_failures), hit_rate,
      static_cast<unsigned long long>(t.pipeline_runs),
      static_cast<unsigned long long>(t.pipeline_failures));
  std::string line = buf;
  if (t.release_requests > 0) {
    std::snprintf(buf, sizeof buf, "; the release v2 served %llu requests (%llu failed)",
                  static_cast<unsigned long long>(t.release_requests),
                  static_cast<unsigned long long>(t.release_failed));
    line += buf;
  }
  return line;
}

}  // namespace

AgentGateway::AgentGateway(const DemoOptions& options, Telemetry& telemetry,
                           exporters::StatsdExporter* dogstatsd)
    : options_(options),
      telemetry_(telemetry),
      rule_files_(rule_files_of(options)),
      dispatch_heartbeat_(std::chrono::seconds(5)),
      dogstatsd_(dogstatsd) {
  metrics::Registry& registry = telemetry.registry();
  registry
      .info("agent_gateway_build", "Build of the simulated agent gateway (always 1)",
            {"version", "compiler", "build_type"})
      .labels(VIGIL_DEMO_VERSION, compiler(),
              std::string_view(VIGIL_DEMO_BUILD_TYPE).empty() ? "none" : VIGIL_DEMO_BUILD_TYPE);
  metrics_ = std::make_unique<GatewayMetrics>(registry);
  // A callback gauge: computed from other metrics at each scrape.
  GatewayMetrics* g = metrics_.get();
  const double workers = options.workers;
  registry.callback_gauge(
      "agent_worker_utilization_ratio", "Share of the worker threads serving a request or pipeline",
      [g, workers] { return (g->active_requests.value() + g->active_pipelines.value()) / workers; },
      {.unit = "ratio"});

  // The simulated dependencies and the dispatch loop's heartbeat, behind the health checks.
  dependencies_ = std::make_unique<Dependencies>(
      DependencyOptions{.outage_every_seconds = options.outage_every_seconds,
                        .outage_for_seconds = options.outage_for_seconds,
                        .warmup_seconds = options.warmup_seconds});
  dependencies_->register_checks(telemetry.health(), dispatch_heartbeat_);

  // Alerting: the rule files, the C++ rules and the SLO, evaluated every --eval-interval.
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  alerting_ = std::make_unique<DemoAlerting>(
      registry, *dependencies_,
      DemoAlertingOptions{.eval_interval = millis(options.eval_interval_seconds),
                          .rule_files = rule_files_,
                          .elapsed = elapsed,
                          .state_path = options.state_path});

#ifdef VIGIL_DEMO_GUARDRAIL
  // The model release and its guardrail: v2 against v1, rolled back when it is worse.
  try {
    guardrail_ = std::make_unique<DemoGuardrail>(
        registry, DemoGuardrailOptions{.bad_release_at_seconds = options.bad_release_at_seconds,
                                       .release_share = options.release_share,
                                       .interval = millis(options.guardrail_interval_seconds),
                                       .state_path = options.state_path,
                                       .elapsed = elapsed,
                                       .alerts = &alerting_->manager()});
  } catch (const vigil::Error& e) {
    // The rest of the demo does not depend on it: go on without a release and a guardrail.
    std::cerr << kProgram << ": note: the guardrail cannot run (" << e.what()
              << "); no model release\n";
  }
#endif

  SimulatorOptions simulator_options{
      .rate = options.rate,
      .workers = options.workers,
      .on_tick = [this] { dispatch_heartbeat_.beat(); },
      .vector_store_up = [this] { return dependencies_->vector_store_up(); },
      .tracer = &telemetry.tracer()};
#ifdef VIGIL_DEMO_GUARDRAIL
  if (DemoGuardrail* guardrail = guardrail_.get()) {
    simulator_options.release_share = [guardrail] { return guardrail->release_share(); };
  }
#endif
  simulator_ = std::make_unique<Simulator>(*metrics_, std::move(simulator_options));

  if (!telemetry.server().running()) return;  // --write-dashboards: nothing served or sent
  admin::Server& server = telemetry.server();
  admin::add_alerting_endpoints(server, alerting_->manager());
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail_) admin::add_guardrail_endpoints(server, {&guardrail_->monitor()});
#endif
  // Delivery: where alerts go (--alertmanager, --webhook, --routes, the environment), with links
  // back to this server.
  delivery_ = std::make_unique<DemoDelivery>(alerting_->manager(), registry,
                                             DeliveryFlags{.alertmanagers = options.alertmanagers,
                                                           .webhooks = options.webhooks,
                                                           .routes_file = options.routes_file,
                                                           .state_path = options.state_path},
                                             telemetry.url());
  admin::add_notification_endpoints(
      server, {.dispatcher = delivery_->dispatcher(), .alertmanagers = delivery_->alertmanagers()});
  if (dogstatsd_ != nullptr) {
    alert_callback_ = exporters::attach_alerts(alerting_->manager(), *dogstatsd_);
  }
}

AgentGateway::~AgentGateway() { stop(); }

void AgentGateway::start() {
  if (started_) return;
  started_ = true;
  dependencies_->start();
  simulator_->start();
  alerting_->start();
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail_) guardrail_->start();
#endif
}

void AgentGateway::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (delivery_) delivery_->shutdown();  // sends what is queued (5 s at most)
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail_) guardrail_->stop();
#endif
  alerting_->stop();
  simulator_->stop();
  dependencies_->stop();
  if (alert_callback_ >= 0) alerting_->manager().remove_callback(alert_callback_);
  alert_callback_ = -1;
}

// With delivery (--alertmanager, --webhook) the registry holds the delivery families: they are
// registered here (the threads start and stop at once; nothing is sent). deploy/grafana/dashboards
// holds the output; tests/ops/dashboards_stale_test.sh checks it.
int AgentGateway::write_dashboards(const std::string& dir) {
  namespace fs = std::filesystem;
  {
    DemoDelivery delivery(alerting_->manager(), telemetry_.registry(),
                          {.alertmanagers = {"http://127.0.0.1:9093"},
                           .webhooks = {"http://127.0.0.1:9/"},
                           .routes_file = "",
                           .state_path = ""},
                          "http://127.0.0.1:9464");
    delivery.shutdown();
  }
  vigil::ops::GrafanaOptions options;
  options.title = "vigil demo";
  options.uid_prefix = "";
  options.tags = {"vigil", "vigil-demo"};
  options.job = "vigil-demo";  // deploy/prometheus/prometheus.yml's job
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << kProgram << ": cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  for (const vigil::ops::GrafanaDashboard& d :
       vigil::ops::grafana_dashboards(telemetry_.registry(), options)) {
    const fs::path path = fs::path(dir) / d.file_name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << d.json;
    out.close();
    if (!out) {
      std::cerr << kProgram << ": cannot write " << path.string() << "\n";
      return 1;
    }
    std::cout << kProgram << ": wrote " << path.string() << " (" << d.title << ")\n";
  }
  return 0;
}

std::string AgentGateway::banner(const std::string& url) const {
  std::ostringstream out;
  if (options_.outage_every_seconds > 0) {
    out << "  Outages:         the vector store goes down for " << options_.outage_for_seconds
        << "s of every " << options_.outage_every_seconds
        << "s (--outage-every, --outage-for): /health/ready turns 503, /health/live stays 200\n";
  }
  out << "  Alerts:          " << alerting_->rule_count() << " rules (C++ rules, an SLO";
  for (const std::string& f : rule_files_) out << ", " << f;
  out << ") evaluated every " << options_.eval_interval_seconds
      << "s; firing and resolved alerts are printed here; " << url << "/api/v1/alerts, " << url
      << "/api/v1/rules\n";
  if (delivery_) {
    out << "  Delivery:        " << delivery_->description() << "; " << url
        << "/api/v1/notifications\n";
  }
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail_) {
    out << "  Guardrail:       " << guardrail_->description() << "; " << url
        << "/api/v1/guardrails, " << url << "/api/v1/guardrails/decisions\n";
  }
#endif
  return out.str();
}

int write_slo_rules(const std::string& path) {
  try {
    demo_slo().write_rule_file(path);
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << kProgram << ": wrote " << path << "\n";
  return 0;
}

std::string AgentGateway::summary_line(double seconds) const {
  return totals_line(simulator_->totals(), seconds);
}

}  // namespace vigil::demo
