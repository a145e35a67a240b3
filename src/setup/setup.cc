// vigil::setup: the one-call set-up (vigil/setup.h, docs/setup.md).
#include "vigil/setup.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include "core/detail/percent.h"
#include "vigil/admin/health_endpoints.h"
#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/admin/tracez_endpoint.h"
#include "vigil/core/error.h"
#include "vigil/exporters/metric_environment.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/process_collector.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/config.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/tracez.h"
#ifdef VIGIL_SETUP_DASHBOARD
#include "vigil/admin/dashboard_endpoint.h"
#endif
#include "vigil/admin/exporter_endpoints.h"
#ifdef VIGIL_SETUP_LOGS
#include "vigil/exporters/spdlog_sink.h"
#endif
#ifdef VIGIL_SETUP_SPDLOG
#include <spdlog/spdlog.h>

#include "vigil/trace/spdlog.h"
#endif

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Flushes and stops something within a timeout; true when it finished in time.
using StopFn = std::function<bool(milliseconds timeout)>;

// Starts log export as OTEL_LOGS_EXPORTER and OTEL_BLRP_* say (spdlog's default logger's records
// as OTLP logs, with `env`'s resource, self-metrics in `registry`) and returns what flushes and
// stops it; an empty function when nothing was started. Without spdlog (vigil::exporters_spdlog
// not built) a value other than "none" is a warning and nothing is exported.
StopFn start_log_export_from_environment(const trace::Environment& env,
                                         metrics::Registry& registry) {
#ifdef VIGIL_SETUP_LOGS
  std::shared_ptr<exporters::LogExport> logs =
      exporters::ship_spdlog_logs_from_environment(env, &registry);
  if (!logs) return {};
  return [logs](milliseconds timeout) { return logs->shutdown(timeout); };
#else
  (void)registry;
  if (auto value = env.get("OTEL_LOGS_EXPORTER"); value && *value != "none") {
    env.warn("OTEL_LOGS_EXPORTER='" + *value +
             "': log export needs vigil::exporters_spdlog (spdlog), not in this build; logs are "
             "not exported");
  }
  return {};
#endif
}

// `env`, except that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES say what `resource` holds:
// the exporters that build their own resource from the environment (OTLP metrics, logs) then
// describe the same service as the spans do. Must not outlive `env`.
trace::Environment resource_environment(const trace::Environment& env,
                                        const trace::Resource& resource) {
  std::string attributes;
  for (const trace::KeyValue& kv : resource.attributes()) {
    const auto* text = std::get_if<std::string>(&kv.value);
    if (text == nullptr || kv.key.rfind("telemetry.sdk.", 0) == 0) continue;
    if (!attributes.empty()) attributes += ',';
    vigil::detail::append_percent_encoded(attributes, kv.key);
    attributes += '=';
    vigil::detail::append_percent_encoded(attributes, *text);
  }
  std::string service(resource.service_name());
  return trace::Environment(
      [&env, attributes = std::move(attributes),
       service = std::move(service)](std::string_view name) -> std::optional<std::string> {
        if (name == "OTEL_RESOURCE_ATTRIBUTES") return attributes;
        if (name == "OTEL_SERVICE_NAME") return service;
        return env.get(name);
      },
      [&env](std::string_view message) { env.warn(message); });
}

// What the variables and the options say, resolved once (the environment wins).
struct Resolved {
  bool disabled = false;
  std::string service_version;
  std::string deployment_environment;
  bool log_correlation = true;
  bool process_metrics = true;
  bool admin_server = true;
  std::string listen;
  std::string admin_token;
  milliseconds shutdown_timeout{5000};
};

Resolved resolve(const SetupOptions& options, const trace::Environment& env) {
  if (options.shutdown_timeout.count() < 0) {
    throw Error("vigil::setup: shutdown_timeout must not be negative (got " +
                std::to_string(options.shutdown_timeout.count()) + " ms)");
  }
  Resolved r;
  r.disabled = env.get_bool("OTEL_SDK_DISABLED", false);
  r.service_version = env.get("OTEL_SERVICE_VERSION").value_or(options.service_version);
  r.deployment_environment = env.get("ENVIRONMENT").value_or(options.deployment_environment);
  r.log_correlation = env.get_bool("VIGIL_LOG_CORRELATION", options.log_correlation);
  r.process_metrics = env.get_bool("VIGIL_PROCESS_METRICS", options.process_metrics);
  r.admin_server = options.admin_server;
  r.listen = options.listen;
  if (auto listen = env.get("VIGIL_ADMIN_LISTEN")) {
    if (*listen == "none" || *listen == "off") {
      r.admin_server = false;
    } else {
      try {
        admin::Server check(admin::ServerOptions{.listen = *listen});  // validates, opens nothing
        r.listen = *listen;
      } catch (const Error& e) {
        env.warn("VIGIL_ADMIN_LISTEN='" + *listen + "' ignored (" + e.what() + "); using '" +
                 options.listen + "'");
      }
    }
  }
  r.admin_token = env.get("VIGIL_ADMIN_TOKEN").value_or(options.admin_token);
  const double seconds =
      env.get_double("VIGIL_SHUTDOWN_TIMEOUT",
                     static_cast<double>(options.shutdown_timeout.count()) / 1000.0, 0.0, 300.0);
  r.shutdown_timeout = milliseconds(static_cast<int64_t>(seconds * 1000.0 + 0.5));
  return r;
}

}  // namespace

struct Telemetry::Impl {
  bool enabled = false;
  metrics::Registry* registry = nullptr;
  trace::Resource resource;
  milliseconds shutdown_timeout{5000};
  // The provider: owned, or the global one (never destroyed).
  std::unique_ptr<trace::TracerProvider> owned_provider;
  trace::TracerProvider* provider = nullptr;
  trace::Tracer* tracer = nullptr;
  std::shared_ptr<trace::TracezStore> tracez = std::make_shared<trace::TracezStore>();
  std::unique_ptr<health::HealthMonitor> health;
  StopFn stop_logs;
  std::unique_ptr<exporters::PeriodicExporter> metric_export;
  // Declared last, destroyed first: its endpoints refer to everything above.
  std::unique_ptr<admin::Server> server;
  std::string trace_export_description = "none (OTEL_SDK_DISABLED=true)";
  std::string metric_export_description = "none (OTEL_SDK_DISABLED=true)";
  bool shut_down = false;
  bool shutdown_ok = true;

  bool shutdown() noexcept {
    if (shut_down) return shutdown_ok;
    shut_down = true;
    const Clock::time_point deadline = Clock::now() + shutdown_timeout;
    const auto remaining = [deadline] {
      return std::max(milliseconds(0),
                      std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    };
    bool ok = true;
    if (server) server->stop();  // no request reads the parts below any more
    if (metric_export) ok = metric_export->shutdown(remaining()) && ok;  // the last push
    if (stop_logs) ok = stop_logs(remaining()) && ok;
    if (provider != nullptr) ok = provider->shutdown(remaining()) && ok;  // the last spans
    if (health) health->shutdown(remaining());
    shutdown_ok = ok && Clock::now() <= deadline;
    return shutdown_ok;
  }

  ~Impl() { shutdown(); }
};

Telemetry::Telemetry(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Telemetry::Telemetry(Telemetry&&) noexcept = default;
Telemetry& Telemetry::operator=(Telemetry&&) noexcept = default;
Telemetry::~Telemetry() = default;

bool Telemetry::enabled() const noexcept { return impl_->enabled; }
metrics::Registry& Telemetry::registry() const noexcept { return *impl_->registry; }
trace::Tracer& Telemetry::tracer() const noexcept { return *impl_->tracer; }
trace::TracerProvider& Telemetry::tracer_provider() const noexcept { return *impl_->provider; }
const trace::Resource& Telemetry::resource() const noexcept { return impl_->resource; }
std::shared_ptr<const trace::TracezStore> Telemetry::tracez() const noexcept {
  return impl_->tracez;
}
health::HealthMonitor& Telemetry::health() const noexcept { return *impl_->health; }
admin::Server& Telemetry::server() const noexcept { return *impl_->server; }
std::string Telemetry::url() const { return impl_->server->url(); }
exporters::PeriodicExporter* Telemetry::metric_export() const noexcept {
  return impl_->metric_export.get();
}
const std::string& Telemetry::trace_export_description() const noexcept {
  return impl_->trace_export_description;
}
const std::string& Telemetry::metric_export_description() const noexcept {
  return impl_->metric_export_description;
}
bool Telemetry::shutdown() noexcept { return impl_->shutdown(); }

Telemetry setup() { return setup(SetupOptions{}, trace::Environment()); }

Telemetry setup(SetupOptions options, const trace::Environment& env) {
  const Resolved r = resolve(options, env);
  auto impl = std::make_unique<Telemetry::Impl>();
  impl->registry = options.registry != nullptr ? options.registry : &metrics::Registry::global();
  impl->shutdown_timeout = r.shutdown_timeout;

  // ---- The resource: defaults, the options, then the environment.
  impl->resource = trace::Resource::create({.service_name = options.service_name,
                                            .service_version = r.service_version,
                                            .deployment_environment = r.deployment_environment,
                                            .service_instance_id = options.service_instance_id,
                                            .attributes = options.resource_attributes},
                                           env);
  const std::string service_name(impl->resource.service_name());

  if (r.disabled) {
    // No-op parts, never null: nothing registered, started or served.
    impl->owned_provider = trace::TracerProvider::noop();
    impl->provider = impl->owned_provider.get();
    impl->tracer = &trace::noop_tracer();
    impl->health = std::make_unique<health::HealthMonitor>();
    impl->server = std::make_unique<admin::Server>();
    return Telemetry(std::move(impl));
  }
  impl->enabled = true;
  metrics::Registry& registry = *impl->registry;

  // ---- Metrics of the process.
  if (r.process_metrics) registry.add_collector(std::make_shared<metrics::ProcessCollector>());

  // ---- Health.
  health::HealthMonitorOptions health_options = options.health;
  if (health_options.service_id.empty()) health_options.service_id = service_name;
  if (health_options.version.empty()) health_options.version = r.service_version;
  if (health_options.self_metrics == nullptr) health_options.self_metrics = &registry;
  impl->health = std::make_unique<health::HealthMonitor>(std::move(health_options));

  // ---- Tracing: OTEL_* with "no exporter unless one is configured", plus the tracez view.
  impl->trace_export_description = "none (tracing off)";
  if (options.tracing) {
    auto tracez_processor = std::make_unique<trace::TracezProcessor>(impl->tracez);
    trace::EnvironmentConfigOptions config{.service_name = options.service_name,
                                           .service_version = r.service_version,
                                           .deployment_environment = r.deployment_environment,
                                           .export_only_if_configured = true,
                                           .self_metrics = &registry};
    config.extra_processors.push_back(std::move(tracez_processor));
    for (auto& p : options.span_processors) config.extra_processors.push_back(std::move(p));
    trace::TracerProviderOptions provider_options =
        trace::options_from_environment(std::move(config), env);
    provider_options.resource = impl->resource;
    auto provider = std::make_unique<trace::TracerProvider>(std::move(provider_options));
    trace::TracerProvider* made = provider.get();
    if (options.install_global_tracer_provider) {
      trace::set_global_provider(std::move(provider));  // throws when one is installed
      trace::set_propagators_from_environment(env);
    } else {
      impl->owned_provider = std::move(provider);
    }
    impl->provider = made;
    impl->tracer = &impl->provider->tracer(
        options.tracer_name.empty() ? service_name : options.tracer_name, r.service_version);
    impl->trace_export_description = trace::describe_trace_export(env, true);
  } else {
    impl->owned_provider = trace::TracerProvider::noop();
    impl->provider = impl->owned_provider.get();
    impl->tracer = &trace::noop_tracer();
  }

  // ---- Log correlation: trace and span ids in spdlog's lines.
#ifdef VIGIL_SETUP_SPDLOG
  if (r.log_correlation) {
    spdlog::set_formatter(trace::make_spdlog_formatter(options.log_pattern.empty()
                                                           ? std::string(trace::kSpdlogTracePattern)
                                                           : options.log_pattern));
  }
#endif

  // ---- Logs, with the same resource.
  const trace::Environment with_resource = resource_environment(env, impl->resource);
  impl->stop_logs = start_log_export_from_environment(with_resource, registry);

  // ---- The admin server and its endpoints.
  if (r.admin_server) {
    impl->server = std::make_unique<admin::Server>(admin::ServerOptions{
        .listen = r.listen, .admin_token = r.admin_token, .self_metrics = &registry});
    admin::add_metrics_endpoint(*impl->server, registry);
    admin::add_health_endpoints(*impl->server, *impl->health);
    if (options.tracing) admin::add_tracez_endpoint(*impl->server, impl->tracez);
#ifdef VIGIL_SETUP_DASHBOARD
    if (options.dashboard) {
      admin::add_dashboard_endpoint(
          *impl->server, registry,
          {.title = options.dashboard_title.empty() ? service_name : options.dashboard_title});
    }
#endif
  } else {
    impl->server = std::make_unique<admin::Server>();  // never started
  }

  // ---- Metric push export: the exporters the environment turns on.
  impl->metric_export_description =
      "off (VIGIL_STATSD_ADDRESS, VIGIL_EMF, VIGIL_PUSHGATEWAY_URL, VIGIL_REMOTE_WRITE_URL, "
      "VIGIL_DATADOG_API_KEY or OTEL_METRICS_EXPORTER=otlp turn exporters on: "
      "docs/exporters.md)";
  if (options.metric_export) {
    exporters::MetricExportEnvironment config =
        exporters::metric_exporters_from_environment(with_resource, &registry);
    if (!config.exporters.empty()) {
      impl->metric_export = std::make_unique<exporters::PeriodicExporter>(registry, config.engine);
      std::string names;
      for (auto& e : config.exporters) {
        if (options.on_metric_exporter) options.on_metric_exporter(*e);
        names += (names.empty() ? "" : ", ") + std::string(e->name());
        impl->metric_export->add(std::move(e));
      }
      char every[96];
      std::snprintf(every, sizeof every, " every %gs (timeout %gs)",
                    static_cast<double>(config.engine.interval.count()) / 1000.0,
                    static_cast<double>(config.engine.timeout.count()) / 1000.0);
      impl->metric_export_description = names + every;
      if (r.admin_server) admin::add_exporter_endpoints(*impl->server, *impl->metric_export);
      impl->metric_export->start();
    }
  }

  if (r.admin_server && options.start_server) impl->server->start();
  return Telemetry(std::move(impl));
}

}  // namespace vigil
