// vigil/setup.h: one call that sets up a service's telemetry (guide 002's setup_telemetry):
// the resource, tracing, metric push export, log correlation, health, and the admin server with
// /metrics, /health/*, /debug/tracez and the dashboard.
//
//   #include "vigil/setup.h"
//
//   int main() {
//     vigil::Telemetry telemetry = vigil::setup({.service_name = "checkout",
//                                                .service_version = "1.4.2"});
//     vigil::trace::Tracer& tracer = telemetry.tracer();
//     auto& orders = telemetry.registry().counter("orders_total", "Orders placed");
//     telemetry.health().add_readiness_check("db", [&] { return db.ping(); });
//     ...  // serve; the admin server is at telemetry.url()
//   }    // the handle's destructor flushes and stops everything within shutdown_timeout
//
//   // Or from the environment alone (OTEL_SERVICE_NAME=checkout ./service):
//   vigil::Telemetry telemetry = vigil::setup();
//
// What it sets up, and the variables that change it. The environment wins over SetupOptions
// (OpenTelemetry's rule for the resource, applied to everything, so an operator can change a
// deployed service without rebuilding it). Unset or empty variables count as unset.
//
//   OTEL_SDK_DISABLED        false   true: nothing at all is set up; the handle's parts are no-ops
//                                    (a no-op tracer, a registry and a health monitor that nothing
//                                    serves, a server that is not started), never null.
//   Resource (vigil/trace/resource.h), shared by traces and OTLP metrics:
//   OTEL_SERVICE_NAME        SetupOptions::service_name, else "unknown_service:<executable>"
//   OTEL_SERVICE_VERSION     SetupOptions::service_version, else none   (service.version)
//   ENVIRONMENT              SetupOptions::deployment_environment, else none
//                            (deployment.environment; guide 002's variable)
//   OTEL_RESOURCE_ATTRIBUTES none; "k=v,k2=v2" wins over all the above, e.g.
//                            service.instance.id=pod-7 (default: a random UUID per process)
//   Tracing (vigil/trace/config.h): OTEL_TRACES_EXPORTER, OTEL_TRACES_SAMPLER[_ARG],
//   OTEL_PROPAGATORS, OTEL_BSP_*, OTEL_SPAN_*_LIMIT, OTEL_EXPORTER_OTLP_[TRACES_]*, with one
//   difference from OpenTelemetry's defaults: without OTEL_TRACES_EXPORTER and without an OTLP
//   endpoint nothing is exported (spans stay in /debug/tracez) instead of "otlp" to
//   localhost:4318 (EnvironmentConfigOptions::export_only_if_configured).
//   Metric push export (vigil/exporters/metric_environment.h): VIGIL_STATSD_ADDRESS, VIGIL_EMF,
//   VIGIL_PUSHGATEWAY_URL, VIGIL_REMOTE_WRITE_URL, VIGIL_DATADOG_API_KEY / DD_API_KEY,
//   OTEL_METRICS_EXPORTER=otlp, VIGIL_EXPORT_INTERVAL, ...: off unless one is set.
//   OTEL_LOGS_EXPORTER       none    otlp|console: spdlog's default logger shipped as OTLP logs
//                                    (when vigil is built with spdlog; OTEL_BLRP_* batch them).
//   VIGIL_LOG_CORRELATION    SetupOptions::log_correlation (true): spdlog's default pattern
//                            gains trace_id= and span_id= (vigil/trace/spdlog.h; only when vigil
//                            is built with spdlog).
//   VIGIL_PROCESS_METRICS    SetupOptions::process_metrics (true): process_* metrics
//                            (vigil/metrics/process_collector.h).
//   VIGIL_ADMIN_LISTEN       SetupOptions::listen ("127.0.0.1:9464"): the admin server's
//                            address; "none" (or SetupOptions::admin_server = false): no server.
//   VIGIL_ADMIN_TOKEN        SetupOptions::admin_token (none): the admin bearer token.
//   VIGIL_SHUTDOWN_TIMEOUT   SetupOptions::shutdown_timeout (5 s): seconds (decimal, 0 to 300)
//                            the handle's destruction may take at most.
//
// Errors: a bad environment value is a warning through the Environment's warn hook (by default
// vigil::trace::warn, i.e. stderr) naming the variable, and its default is used: the
// environment never stops the program. A mistake in SetupOptions (a malformed listen address, a
// negative timeout, a name clash in the registry) and a tracer provider already installed
// globally throw vigil::Error, as does a server that cannot listen (address in use); nothing is
// left running then.
//
// Thread-safety: setup() may run on any thread; call it once per process with
// install_global_tracer_provider (the default). The handle's accessors are thread-safe (they
// return the parts, each of which states its own rules); shutdown() and the destructor must not
// run concurrently with each other.
// Cost: setup() takes a few milliseconds (threads start: the server's, the health monitor's on
// demand, the span processor's, the export engine's). Destruction takes at most
// shutdown_timeout, usually about a millisecond plus the last exports.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/health/monitor.h"
#include "vigil/trace/attributes.h"
#include "vigil/trace/environment.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/tracer.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics
namespace vigil::admin {
class Server;
}  // namespace vigil::admin
namespace vigil::exporters {
class MetricExporter;
class PeriodicExporter;
}  // namespace vigil::exporters
namespace vigil::trace {
class TracezStore;
}  // namespace vigil::trace

namespace vigil {

struct SetupOptions {
  // ---- The resource (see the table above for the variables that win over these).
  std::string service_name;
  std::string service_version;
  std::string deployment_environment;
  std::string service_instance_id;                   // empty: a random UUID
  std::vector<trace::KeyValue> resource_attributes;  // anything else

  // ---- Metrics. Where everything is registered (and served at /metrics, and exported);
  // nullptr: vigil::metrics::Registry::global(). Must outlive the handle.
  metrics::Registry* registry = nullptr;
  bool process_metrics = true;  // VIGIL_PROCESS_METRICS
  bool metric_export = true;    // false: ignore the push exporters' variables
  // Called with each push exporter the environment turns on, before the engine starts it (e.g.
  // to keep a StatsdExporter* for vigil::exporters::attach_alerts). The exporter lives until
  // the handle shuts down.
  std::function<void(exporters::MetricExporter&)> on_metric_exporter;

  // ---- Tracing.
  bool tracing = true;  // false: telemetry.tracer() is a no-op tracer
  // true: the provider becomes vigil::trace::global_provider() (and OTEL_PROPAGATORS the default
  // propagator), so get_tracer() anywhere uses it; setup() throws vigil::Error when a global
  // provider is already installed. false: the handle owns its provider (tests, libraries).
  bool install_global_tracer_provider = true;
  // Extra span processors, before the exporting ones (a TracezProcessor is added already).
  std::vector<std::unique_ptr<trace::SpanProcessor>> span_processors;
  // The instrumentation scope of telemetry.tracer(); empty: the service name.
  std::string tracer_name;

  // ---- Logs.
  bool log_correlation = true;  // VIGIL_LOG_CORRELATION
  // spdlog pattern with the trace flags (%* trace id, %~ span id); empty: kSpdlogTracePattern.
  std::string log_pattern;

  // ---- The admin server.
  bool admin_server = true;
  std::string listen = "127.0.0.1:9464";  // VIGIL_ADMIN_LISTEN; port 0 picks a free port
  std::string admin_token;                // VIGIL_ADMIN_TOKEN
  // false: the server is built and its endpoints registered, but it does not listen until
  // telemetry.server().start() (a program that only writes files, a test).
  bool start_server = true;
  bool dashboard = true;        // the live dashboard at / (when vigil is built with alerting)
  std::string dashboard_title;  // empty: the service name

  // ---- Shutdown: the most the handle's destruction (or shutdown()) may take.
  std::chrono::milliseconds shutdown_timeout{5000};  // VIGIL_SHUTDOWN_TIMEOUT

  // ---- Health: the monitor behind /health/*. service_id and version default to the
  // resource's service.name and service.version; self_metrics to the registry. (Last: GCC 12
  // warns of a maybe-uninitialized string in designated initializers that skip a member
  // followed by others.)
  health::HealthMonitorOptions health;
};

// What setup() made. Move-only; the destructor calls shutdown(). Every accessor works also when
// OTEL_SDK_DISABLED=true (no-op parts) and after shutdown().
class Telemetry {
 public:
  Telemetry(Telemetry&&) noexcept;
  Telemetry& operator=(Telemetry&&) noexcept;
  ~Telemetry();

  // False when OTEL_SDK_DISABLED=true turned everything off.
  bool enabled() const noexcept;

  metrics::Registry& registry() const noexcept;
  // The tracer named SetupOptions::tracer_name (or the service name) of the handle's provider;
  // a no-op tracer when tracing is off.
  trace::Tracer& tracer() const noexcept;
  trace::TracerProvider& tracer_provider() const noexcept;
  const trace::Resource& resource() const noexcept;
  // The spans /debug/tracez shows (never null; empty when tracing is off).
  std::shared_ptr<const trace::TracezStore> tracez() const noexcept;
  health::HealthMonitor& health() const noexcept;
  // The admin server: add endpoints to it (they are served at once). Not running when the
  // server is off or not started.
  admin::Server& server() const noexcept;
  // server().url() while it runs ("http://127.0.0.1:9464"); empty otherwise.
  std::string url() const;
  // The push export engine; nullptr when no exporter is configured.
  exporters::PeriodicExporter* metric_export() const noexcept;

  // One line each, for a start-up banner: where spans go ("none (set ...)", "otlp to URL"),
  // which push exporters run ("statsd every 10s (timeout 5s)", or "none (...)").
  const std::string& trace_export_description() const noexcept;
  const std::string& metric_export_description() const noexcept;

  // Stops the server, pushes the last metrics, flushes the spans (and logs) and stops every
  // thread, within SetupOptions::shutdown_timeout shared by all of them. True when all of it
  // finished in time. Idempotent; never throws.
  bool shutdown() noexcept;

  struct Impl;

 private:
  friend Telemetry setup(SetupOptions options, const trace::Environment& env);
  explicit Telemetry(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

// Sets everything up from `options` and `env` (see the table above). Throws vigil::Error for a
// mistake in `options` (nothing keeps running then); never for a bad environment value.
Telemetry setup(SetupOptions options, const trace::Environment& env = trace::Environment());
// From the environment alone: setup({}, Environment()).
Telemetry setup();

}  // namespace vigil
