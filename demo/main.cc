// vigil-demo: a simulated AI agent gateway instrumented with vigil, serving its metrics.
//
//   vigil-demo                                   # http://127.0.0.1:9464/metrics, until Ctrl-C
//   vigil-demo --listen 127.0.0.1:9500 --duration 60
//   vigil-demo --outage-every 30 --outage-for 10  # /health/ready goes 503 for 10 s of every 30
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 vigil-demo   # traces to a collector
//   vigil-demo --outage-every 20 --outage-for 15 --rules my-alerts.yml  # alerts on the console
//   vigil-demo --bad-release-at 10 --state /tmp/demo.db  # a bad model release, rolled back
//
// See docs/demo.md for what it simulates and the metrics it exports.
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting.h"
#include "delivery.h"
#include "dependencies.h"
#include "gateway_metrics.h"
#include "options.h"
#include "simulator.h"
#include "vigil/admin/server.h"
#if __has_include("vigil/admin/alerting_endpoints.h")
#include "vigil/admin/alerting_endpoints.h"
#include "vigil/admin/notification_endpoints.h"
#define VIGIL_DEMO_ALERTING_ENDPOINTS 1
#endif
#ifdef VIGIL_DEMO_GUARDRAIL
#include "guardrail.h"
#include "vigil/admin/guardrail_endpoints.h"
#endif
#include "vigil/core/error.h"
#include "vigil/exporters/statsd_adapters.h"
#include "vigil/exporters/statsd_exporter.h"
#include "vigil/health/heartbeat.h"
#include "vigil/metrics/registry.h"
#include "vigil/ops/grafana.h"
#include "vigil/setup.h"

#ifndef VIGIL_DEMO_VERSION
#define VIGIL_DEMO_VERSION "unknown"
#endif
#ifndef VIGIL_DEMO_RULES_FILE
#define VIGIL_DEMO_RULES_FILE "deploy/prometheus/alert_rules.yml"
#endif
#ifndef VIGIL_DEMO_BUILD_TYPE
#define VIGIL_DEMO_BUILD_TYPE "unknown"
#endif

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

// Waits until `duration` has passed (forever when it is empty) or SIGINT / SIGTERM arrives.
// The signals are blocked in every thread, so they are taken here, synchronously. Returns the
// signal, or 0 when the duration ran out.
int wait_for_stop(const sigset_t& signals, std::optional<double> duration) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  while (true) {
    double wait = 3600;
    if (duration) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      wait = *duration - elapsed;
      if (wait <= 0) return 0;
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(wait);
    ts.tv_nsec = static_cast<long>((wait - std::floor(wait)) * 1e9);
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) return sig;
    // -1 with EAGAIN: the wait timed out; EINTR: interrupted by another signal. Check again.
  }
}

// --write-dashboards DIR: the demo's Grafana dashboards, generated from its registry as a run
// with delivery (--alertmanager, --webhook) fills it: the delivery families are registered here
// (its threads start and stop at once; nothing is sent). The server and the simulation do not
// start. deploy/grafana/dashboards holds the output; tests/ops/dashboards_stale_test.sh checks it.
int write_dashboards(const std::string& dir, vigil::metrics::Registry& registry,
                     vigil::alerting::AlertManager& manager) {
  namespace fs = std::filesystem;
  {
    vigil::demo::DemoDelivery delivery(manager, registry,
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
  for (const vigil::ops::GrafanaDashboard& d : vigil::ops::grafana_dashboards(registry, options)) {
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

std::string summary_line(const vigil::demo::SimulationTotals& t, double seconds) {
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

// The start-up banner: what runs and where to look.
void print_banner(const vigil::demo::DemoOptions& options, const vigil::Telemetry& telemetry,
                  size_t rule_count, const std::vector<std::string>& rule_files,
                  const std::string& delivery, const std::string& guardrail) {
  const std::string url = telemetry.url();
  std::cout << kProgram << ": simulating an AI agent gateway (" << options.rate
            << " requests/s on average, " << options.workers << " workers)";
  if (options.duration_seconds) {
    std::cout << " for " << *options.duration_seconds << "s";
  } else {
    std::cout << " until Ctrl-C";
  }
  std::cout << "\n";
#ifdef VIGIL_DEMO_ALERTING_ENDPOINTS
  std::cout << "  Dashboard:       " << url
            << "/ (live charts, health, alerts, delivery, traces)\n";
#endif
  const std::string& trace_export = telemetry.trace_export_description();
  std::cout << "  Prometheus text: " << url << "/metrics\n"
            << "  OpenMetrics:     " << url << "/metrics?format=openmetrics\n"
            << "  JSON:            " << url << "/metrics?format=json\n"
            << "  Health:          " << url << "/health/live, /health/ready, /health/startup, "
            << "/health, /health/dependencies\n"
            << "  Traces:          " << url << "/debug/tracez (running, latency buckets, "
            << "errors; ?name=llm_call for samples); export: "
            << (trace_export.rfind("none", 0) == 0
                    ? "kept in the tracez view only (set OTEL_EXPORTER_OTLP_ENDPOINT)"
                    : "OTEL_TRACES_EXPORTER=" + trace_export)
            << "\n"
            << "  Exemplars:       curl -s -H 'Accept: application/openmetrics-text' " << url
            << "/metrics | grep trace_id\n"
            << "  Endpoints:       " << url << "/ (the dashboard; paths: docs/admin.md)\n"
            << "  Try:             curl -s " << url
            << "/metrics | grep -E '^(agent_requests|gen_ai_client_cost)'\n"
            << "  Prometheus:      scrape " << url.substr(url.find("://") + 3)
            << " (example config: deploy/prometheus/prometheus.yml)\n";
  if (options.outage_every_seconds > 0) {
    std::cout << "  Outages:         the vector store goes down for " << options.outage_for_seconds
              << "s of every " << options.outage_every_seconds
              << "s (--outage-every, --outage-for): /health/ready turns 503, /health/live "
                 "stays 200\n";
  }
  std::cout << "  Alerts:          " << rule_count << " rules (C++ rules, an SLO";
  for (const std::string& f : rule_files) std::cout << ", " << f;
  std::cout << ") evaluated every " << options.eval_interval_seconds
            << "s; firing and resolved alerts are printed here";
#ifdef VIGIL_DEMO_ALERTING_ENDPOINTS
  std::cout << "; " << url << "/api/v1/alerts, " << url << "/api/v1/rules";
#endif
  std::cout << "\n";
  std::cout << "  Delivery:        " << delivery;
#ifdef VIGIL_DEMO_ALERTING_ENDPOINTS
  std::cout << "; " << url << "/api/v1/notifications";
#endif
  std::cout << "\n";
  if (!guardrail.empty()) {
    std::cout << "  Guardrail:       " << guardrail << "; " << url << "/api/v1/guardrails, " << url
              << "/api/v1/guardrails/decisions\n";
  }
  std::cout << "  Push export:     " << telemetry.metric_export_description();
  if (telemetry.metric_export() != nullptr) std::cout << "; " << url << "/api/v1/exporters";
  std::cout << "\n";
  std::cout << "  Kubernetes:      probes for these endpoints: deploy/kubernetes/deployment.yaml\n"
            << std::flush;
}

// The rule files: deploy/prometheus/alert_rules.yml (unless --no-default-rules), then --rules.
std::vector<std::string> rule_files_of(const vigil::demo::DemoOptions& options) {
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

}  // namespace

int main(int argc, char** argv) {
  namespace admin = vigil::admin;
  namespace demo = vigil::demo;
  namespace metrics = vigil::metrics;

  const std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const demo::ParseResult parsed = demo::parse_args(args);
  if (!parsed.error.empty()) {
    std::cerr << kProgram << ": " << parsed.error << "\n"
              << "Try '" << kProgram << " --help' for more information.\n";
    return 2;
  }
  const demo::DemoOptions& options = parsed.options;
  if (options.help) {
    std::cout << demo::usage(kProgram);
    return 0;
  }
  if (!options.write_slo_rules.empty()) {
    try {
      demo::demo_slo().write_rule_file(options.write_slo_rules);
    } catch (const vigil::Error& e) {
      std::cerr << kProgram << ": " << e.what() << "\n";
      return 1;
    }
    std::cout << kProgram << ": wrote " << options.write_slo_rules << "\n";
    return 0;
  }

  // SIGINT and SIGTERM are blocked before any thread starts (threads inherit the mask) and taken
  // by wait_for_stop() on this thread. A dead scraper must not kill the process: ignore SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    admin::Server check(admin::ServerOptions{.listen = options.listen});  // opens nothing
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": bad --listen '" << options.listen << "': " << e.what() << "\n";
    return 2;
  }

  // Declared first: everything below holds references into it.
  metrics::Registry registry;
  std::unique_ptr<demo::GatewayMetrics> gateway;
  // The simulated dependencies and the dispatch loop's heartbeat, behind the health checks.
  demo::Dependencies dependencies({.outage_every_seconds = options.outage_every_seconds,
                                   .outage_for_seconds = options.outage_for_seconds,
                                   .warmup_seconds = options.warmup_seconds});
  const vigil::health::Heartbeat dispatch_heartbeat(std::chrono::seconds(5));
  // Made after the telemetry (they need its server), destroyed after it (its endpoints refer
  // to them).
  std::unique_ptr<demo::DemoAlerting> alerting;
  std::unique_ptr<demo::DemoDelivery> delivery;
#ifdef VIGIL_DEMO_GUARDRAIL
  std::unique_ptr<demo::DemoGuardrail> guardrail;
#endif
  std::vector<std::string> rule_files;
  const auto demo_started = std::chrono::steady_clock::now();
  const auto elapsed = [demo_started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - demo_started).count();
  };
  vigil::exporters::StatsdExporter* dogstatsd = nullptr;  // gets the alerts as events
  std::optional<vigil::Telemetry> telemetry;
  try {
    registry
        .info("agent_gateway_build", "Build of the simulated agent gateway (always 1)",
              {"version", "compiler", "build_type"})
        .labels(VIGIL_DEMO_VERSION, compiler(),
                std::string_view(VIGIL_DEMO_BUILD_TYPE).empty() ? "none" : VIGIL_DEMO_BUILD_TYPE);
    gateway = std::make_unique<demo::GatewayMetrics>(registry);
    // A callback gauge: computed from other metrics at each scrape.
    demo::GatewayMetrics* g = gateway.get();
    const double workers = options.workers;
    registry.callback_gauge("agent_worker_utilization_ratio",
                            "Share of the worker threads serving a request or pipeline",
                            [g, workers] {
                              return (g->active_requests.value() + g->active_pipelines.value()) /
                                     workers;
                            },
                            {.unit = "ratio"});

    // The telemetry, in one call (docs/setup.md): the resource, tracing from OTEL_* (nothing
    // exported unless configured; spans kept for /debug/tracez), push exporters from VIGIL_* and
    // OTEL_METRICS_EXPORTER, the process metrics, the health monitor, and the admin server with
    // /metrics, /health/*, /debug/tracez, /api/v1/exporters and the dashboard.
    vigil::SetupOptions setup_options{
        .service_name = "agent-gateway",
        .service_version = VIGIL_DEMO_VERSION,
        .deployment_environment = "demo",
        .registry = &registry,
        .tracer_name = std::string(kProgram),
        .listen = options.listen,
        .start_server = options.write_dashboards.empty(),  // --write-dashboards serves nothing
        .dashboard_title = "agent-gateway (vigil-demo)"};
    setup_options.health.startup_timeout = std::chrono::seconds(60);
    setup_options.on_metric_exporter = [&dogstatsd](vigil::exporters::MetricExporter& e) {
      if (e.name() == "dogstatsd") dogstatsd = dynamic_cast<vigil::exporters::StatsdExporter*>(&e);
    };
    telemetry.emplace(vigil::setup(std::move(setup_options)));
    dependencies.register_checks(telemetry->health(), dispatch_heartbeat);

    // Alerting: the rule files, the C++ rules and the SLO, evaluated every --eval-interval.
    rule_files = rule_files_of(options);
    alerting = std::make_unique<demo::DemoAlerting>(
        registry, dependencies,
        demo::DemoAlertingOptions{.eval_interval = std::chrono::milliseconds(
                                      std::llround(options.eval_interval_seconds * 1000)),
                                  .rule_files = rule_files,
                                  .elapsed = elapsed,
                                  .state_path = options.state_path});
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }

#ifdef VIGIL_DEMO_GUARDRAIL
  // The model release and its guardrail: v2 against v1, rolled back when it is worse.
  try {
    guardrail = std::make_unique<demo::DemoGuardrail>(
        registry,
        demo::DemoGuardrailOptions{.bad_release_at_seconds = options.bad_release_at_seconds,
                                   .release_share = options.release_share,
                                   .interval = std::chrono::milliseconds(
                                       std::llround(options.guardrail_interval_seconds * 1000)),
                                   .state_path = options.state_path,
                                   .elapsed = elapsed,
                                   .alerts = &alerting->manager()});
  } catch (const vigil::Error& e) {
    // The rest of the demo does not depend on it: go on without a release and a guardrail.
    std::cerr << kProgram << ": note: the guardrail cannot run (" << e.what()
              << "); no model release\n";
  }
#endif

  if (!options.write_dashboards.empty()) {
    try {
      return write_dashboards(options.write_dashboards, registry, alerting->manager());
    } catch (const vigil::Error& e) {
      std::cerr << kProgram << ": " << e.what() << "\n";
      return 1;
    }
  }
  admin::Server& server = telemetry->server();
  const std::string url = telemetry->url();
  try {
#ifdef VIGIL_DEMO_ALERTING_ENDPOINTS
    admin::add_alerting_endpoints(server, alerting->manager());
#endif
#ifdef VIGIL_DEMO_GUARDRAIL
    if (guardrail) admin::add_guardrail_endpoints(server, {&guardrail->monitor()});
#endif
    // Delivery: where alerts go (--alertmanager, --webhook, --routes, the environment), with
    // links back to this server.
    delivery = std::make_unique<demo::DemoDelivery>(
        alerting->manager(), registry,
        demo::DeliveryFlags{.alertmanagers = options.alertmanagers,
                            .webhooks = options.webhooks,
                            .routes_file = options.routes_file,
                            .state_path = options.state_path},
        url);
#ifdef VIGIL_DEMO_ALERTING_ENDPOINTS
    admin::add_notification_endpoints(
        server, {.dispatcher = delivery->dispatcher(), .alertmanagers = delivery->alertmanagers()});
#endif
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
  const int alert_callback =
      dogstatsd != nullptr ? vigil::exporters::attach_alerts(alerting->manager(), *dogstatsd) : -1;

  demo::SimulatorOptions simulator_options{
      .rate = options.rate,
      .workers = options.workers,
      .on_tick = [&dispatch_heartbeat] { dispatch_heartbeat.beat(); },
      .vector_store_up = [&dependencies] { return dependencies.vector_store_up(); },
      .tracer = &telemetry->tracer()};
#ifdef VIGIL_DEMO_GUARDRAIL
  if (demo::DemoGuardrail* g = guardrail.get()) {
    simulator_options.release_share = [g] { return g->release_share(); };
  }
#endif
  demo::Simulator simulator(*gateway, std::move(simulator_options));
  const auto started = std::chrono::steady_clock::now();
  dependencies.start();
  simulator.start();
  alerting->start();
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail) guardrail->start();
#endif

  print_banner(options, *telemetry, alerting->rule_count(), rule_files, delivery->description(),
#ifdef VIGIL_DEMO_GUARDRAIL
               guardrail ? guardrail->description() : std::string()
#else
               std::string()
#endif
  );

  const int sig = wait_for_stop(stop_signals, options.duration_seconds);
  if (sig != 0) {
    std::cout << kProgram << ": " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << " received, stopping\n"
              << std::flush;
  }
  delivery->shutdown();  // sends what is queued (5 s at most)
#ifdef VIGIL_DEMO_GUARDRAIL
  if (guardrail) guardrail->stop();
#endif
  alerting->stop();
  simulator.stop();
  dependencies.stop();
  if (alert_callback >= 0) alerting->manager().remove_callback(alert_callback);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Stops the server, pushes the last metrics and flushes the spans (5 s at most).
  telemetry->shutdown();
  std::cout << summary_line(simulator.totals(), seconds) << "\n" << std::flush;
  return 0;
}
