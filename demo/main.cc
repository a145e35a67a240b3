// vigil-demo: a simulated AI agent gateway instrumented with vigil, serving its metrics.
//
//   vigil-demo                                   # http://127.0.0.1:9464/metrics, until Ctrl-C
//   vigil-demo --listen 127.0.0.1:9500 --duration 60
//   vigil-demo --outage-every 30 --outage-for 10  # /health/ready goes 503 for 10 s of every 30
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 vigil-demo   # traces to a collector
//   vigil-demo --outage-every 20 --outage-for 15 --rules my-alerts.yml  # alerts on the console
//   vigil-demo --bad-release-at 10 --state /tmp/demo.db  # a bad model release, rolled back
//
// main() is the wiring a service writes: vigil::setup() for the telemetry (docs/setup.md), then
// the application (demo/gateway.h) given the telemetry. See docs/demo.md for what it simulates.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway.h"
#include "options.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/exporters/statsd_exporter.h"
#include "vigil/metrics/registry.h"
#include "vigil/setup.h"
#if VIGIL_DEMO_LOGS
#include <spdlog/spdlog.h>

#include "vigil/exporters/spdlog_sink.h"
#endif

#ifndef VIGIL_DEMO_VERSION
#define VIGIL_DEMO_VERSION "unknown"
#endif

namespace {

constexpr std::string_view kProgram = "vigil-demo";

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

// The demo's spdlog records (request failures, outages, alerts: demo/demo_log.h) are for shipping
// as OTLP logs (OTEL_LOGS_EXPORTER=otlp): the console already says the same in its own lines, so
// spdlog's console sink is silenced and only vigil's OTLP sink, when attached, takes them.
void ship_logs_without_console() {
#if VIGIL_DEMO_LOGS
  for (const spdlog::sink_ptr& sink : spdlog::default_logger()->sinks()) {
    if (dynamic_cast<vigil::exporters::OtlpLogSink*>(sink.get()) == nullptr) {
      sink->set_level(spdlog::level::off);
    }
  }
#endif
}

// The start-up banner: what runs and where to look.
void print_banner(const vigil::demo::DemoOptions& options, const vigil::Telemetry& telemetry,
                  const vigil::demo::AgentGateway& gateway) {
  const std::string url = telemetry.url();
  std::cout << kProgram << ": simulating an AI agent gateway (" << options.rate
            << " requests/s on average, " << options.workers << " workers)";
  if (options.duration_seconds) {
    std::cout << " for " << *options.duration_seconds << "s";
  } else {
    std::cout << " until Ctrl-C";
  }
  const std::string& trace_export = telemetry.trace_export_description();
  std::cout << "\n"
            << "  Dashboard:       " << url << "/ (live charts, health, alerts, delivery, traces)\n"
            << "  Prometheus text: " << url << "/metrics\n"
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
            << " (example config: deploy/prometheus/prometheus.yml)\n"
            << gateway.banner(url)
            << "  Push export:     " << telemetry.metric_export_description();
  if (telemetry.metric_export() != nullptr) std::cout << "; " << url << "/api/v1/exporters";
  std::cout << "\n"
            << "  Kubernetes:      probes for these endpoints: deploy/kubernetes/deployment.yaml\n"
            << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  namespace demo = vigil::demo;
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
  if (!options.write_slo_rules.empty()) return demo::write_slo_rules(options.write_slo_rules);
  try {
    vigil::admin::Server check(
        vigil::admin::ServerOptions{.listen = options.listen});  // opens nothing
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": bad --listen '" << options.listen << "': " << e.what() << "\n";
    return 2;
  }

  // SIGINT and SIGTERM are blocked before any thread starts (threads inherit the mask) and taken
  // by wait_for_stop() on this thread. A dead scraper must not kill the process: ignore SIGPIPE.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The telemetry in one call: the resource, tracing from OTEL_* (nothing exported unless
  // configured; spans kept for /debug/tracez), push exporters from VIGIL_* and
  // OTEL_METRICS_EXPORTER, OTLP logs from OTEL_LOGS_EXPORTER, the process metrics, the health
  // monitor, and the admin server with /metrics, /health/*, /debug/tracez and the dashboard.
  // The gateway is declared first: the telemetry's server and health checks call into it, so it
  // must outlive them.
  vigil::metrics::Registry registry;
  std::unique_ptr<demo::AgentGateway> gateway;
  std::optional<vigil::Telemetry> telemetry;
  vigil::exporters::StatsdExporter* dogstatsd = nullptr;  // gets the alerts as events
  try {
    vigil::SetupOptions setup{.service_name = "agent-gateway",
                              .service_version = VIGIL_DEMO_VERSION,
                              .deployment_environment = "demo",
                              .registry = &registry,
                              .tracer_name = std::string(kProgram),
                              .listen = options.listen,
                              .start_server = options.write_dashboards.empty(),
                              .dashboard_title = "agent-gateway (vigil-demo)"};
    setup.health.startup_timeout = std::chrono::seconds(60);
    setup.on_metric_exporter = [&dogstatsd](vigil::exporters::MetricExporter& e) {
      if (e.name() == "dogstatsd") dogstatsd = dynamic_cast<vigil::exporters::StatsdExporter*>(&e);
    };
    telemetry.emplace(vigil::setup(std::move(setup)));
    ship_logs_without_console();
    gateway = std::make_unique<demo::AgentGateway>(options, *telemetry, dogstatsd);
    if (!options.write_dashboards.empty())
      return gateway->write_dashboards(options.write_dashboards);
  } catch (const vigil::Error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }

  gateway->start();
  const auto started = std::chrono::steady_clock::now();
  print_banner(options, *telemetry, *gateway);
  if (const int sig = wait_for_stop(stop_signals, options.duration_seconds); sig != 0) {
    std::cout << kProgram << ": " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << " received, stopping\n"
              << std::flush;
  }
  gateway->stop();  // delivery flushed (5 s at most), threads joined
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  telemetry->shutdown();  // stops the server, pushes the last metrics, flushes spans and logs
  std::cout << gateway->summary_line(seconds) << "\n" << std::flush;
  return 0;
}
