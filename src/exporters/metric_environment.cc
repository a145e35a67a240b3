// metric_exporters_from_environment (vigil/exporters/metric_environment.h).
#include "vigil/exporters/metric_environment.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "vigil/exporters/datadog_exporter.h"
#include "vigil/exporters/emf_exporter.h"
#include "vigil/exporters/otlp_metric_exporter.h"
#include "vigil/exporters/pushgateway_exporter.h"
#include "vigil/exporters/remote_write_exporter.h"
#include "vigil/exporters/statsd_exporter.h"

namespace vigil::exporters {
namespace {

// Creates the exporter `Exporter` from its options, if the environment turns it on; an exporter
// that cannot be made is a warning, never a failure of the program.
template <typename Exporter, typename Options>
void add_from(const std::optional<Options>& options, const char* what,
              const trace::Environment& env, metrics::Registry* self_metrics,
              std::vector<std::unique_ptr<MetricExporter>>& out) {
  if (!options) return;
  try {
    Options o = *options;
    if constexpr (requires { o.self_metrics; }) {
      if (o.self_metrics == nullptr) o.self_metrics = self_metrics;
    }
    out.push_back(std::make_unique<Exporter>(std::move(o)));
  } catch (const std::exception& e) {
    env.warn(std::string(what) + " exporter left off: " + e.what());
  }
}

// A positive number of seconds (decimal) from VIGIL_*; nullopt when unset or bad (warned).
std::optional<std::chrono::milliseconds> seconds_var(const trace::Environment& env,
                                                     std::string_view name) {
  if (!env.get(name)) return std::nullopt;
  const double s = env.get_double(name, -1, 0.01, 86400.0);
  if (s < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0 + 0.5));
}

std::optional<std::chrono::milliseconds> millis_var(const trace::Environment& env,
                                                    std::string_view name) {
  if (!env.get(name)) return std::nullopt;
  const auto ms = env.get_millis(name, std::chrono::milliseconds(-1));
  if (ms.count() <= 0) {
    if (ms.count() == 0) env.warn(std::string(name) + "=0: must be positive; the default is used");
    return std::nullopt;
  }
  return ms;
}

}  // namespace

MetricExportEnvironment metric_exporters_from_environment(const trace::Environment& env,
                                                          metrics::Registry* self_metrics) {
  MetricExportEnvironment out;
  out.engine.self_metrics = self_metrics;
  if (env.get_bool("OTEL_SDK_DISABLED", false)) return out;

  add_from<StatsdExporter>(StatsdOptions::from_environment(env), "StatsD", env, self_metrics,
                           out.exporters);
  add_from<DatadogExporter>(DatadogExporterOptions::from_environment(env), "Datadog", env,
                            self_metrics, out.exporters);
  add_from<EmfExporter>(EmfExporterOptions::from_environment(env), "CloudWatch EMF", env,
                        self_metrics, out.exporters);
  add_from<PushgatewayExporter>(PushgatewayExporterOptions::from_environment(env), "Pushgateway",
                                env, self_metrics, out.exporters);
  add_from<RemoteWriteExporter>(RemoteWriteOptions::from_environment(env), "remote write", env,
                                self_metrics, out.exporters);
  const std::size_t before_otlp = out.exporters.size();
  add_from<OtlpMetricExporter>(OtlpMetricExporterOptions::from_environment(env), "OTLP metrics",
                               env, self_metrics, out.exporters);
  const bool otlp_only = before_otlp == 0 && out.exporters.size() == 1;

  // The interval: VIGIL_EXPORT_INTERVAL (s), else OTEL_METRIC_EXPORT_INTERVAL (ms), else the
  // default of whoever is exporting.
  auto interval = seconds_var(env, "VIGIL_EXPORT_INTERVAL");
  if (!interval) interval = millis_var(env, "OTEL_METRIC_EXPORT_INTERVAL");
  out.engine.interval = interval.value_or(otlp_only ? std::chrono::milliseconds(60000)
                                                    : std::chrono::milliseconds(10000));
  auto timeout = seconds_var(env, "VIGIL_EXPORT_TIMEOUT");
  if (!timeout) timeout = millis_var(env, "OTEL_METRIC_EXPORT_TIMEOUT");
  out.engine.timeout = std::min(timeout.value_or(otlp_only ? std::chrono::milliseconds(30000)
                                                           : std::chrono::milliseconds(5000)),
                                out.engine.interval);
  return out;
}

std::unique_ptr<PeriodicExporter> start_metric_export_from_environment(
    const metrics::Registry& source, const trace::Environment& env,
    metrics::Registry* self_metrics) {
  MetricExportEnvironment config = metric_exporters_from_environment(env, self_metrics);
  if (config.exporters.empty()) return nullptr;
  auto engine = std::make_unique<PeriodicExporter>(source, config.engine);
  for (auto& e : config.exporters) engine->add(std::move(e));
  engine->start();
  return engine;
}

}  // namespace vigil::exporters
