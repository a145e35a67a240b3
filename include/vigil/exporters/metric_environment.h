// vigil/exporters/metric_environment.h: push exporters turned on by environment variables, the
// way OTEL_TRACES_EXPORTER turns on trace export. Nothing is exported unless a variable says so.
//
//   // VIGIL_STATSD_ADDRESS=127.0.0.1:8125 VIGIL_EXPORT_INTERVAL=5 ./service
//   auto exporting = vigil::exporters::start_metric_export_from_environment(
//       vigil::metrics::Registry::global());
//   if (exporting) vigil::admin::add_exporter_endpoints(server, *exporting);
//   ...
//   if (exporting) exporting->shutdown(std::chrono::seconds(5));  // last export, then stop
//
// Variables (each exporter's header documents its own in full):
//   VIGIL_STATSD_ADDRESS        HOST:PORT, unix:PATH, unixstream:PATH   StatsD / DogStatsD
//                               (VIGIL_STATSD_FLAVOR=statsd|dogstatsd, _PREFIX, _TAGS, ...)
//   VIGIL_DATADOG_API_KEY       (or DD_API_KEY) the Datadog HTTP API (DD_SITE, ...)
//   VIGIL_EMF                   stdout | FILE | tcp://HOST:PORT | udp://HOST:PORT   CloudWatch
//                               Embedded Metric Format (VIGIL_EMF_NAMESPACE, _DIMENSIONS)
//   VIGIL_PUSHGATEWAY_URL       a Prometheus Pushgateway (VIGIL_PUSHGATEWAY_JOB, _GROUPING, ...)
//   VIGIL_REMOTE_WRITE_URL      Prometheus remote write 1.0 (VIGIL_REMOTE_WRITE_HEADERS, ...)
//   OTEL_METRICS_EXPORTER=otlp  OTLP/HTTP metrics (OTEL_EXPORTER_OTLP_[METRICS_]*)
// One engine exports them all, every
//   VIGIL_EXPORT_INTERVAL       seconds (decimal) when set; otherwise
//   OTEL_METRIC_EXPORT_INTERVAL milliseconds when set; otherwise 60 s when OTLP is the only
//                               exporter (OpenTelemetry's default) and 10 s else;
// each export bounded by VIGIL_EXPORT_TIMEOUT (seconds) or OTEL_METRIC_EXPORT_TIMEOUT (ms),
// default 5 s (30 s when OTLP is the only exporter), and never longer than the interval.
// OTEL_SDK_DISABLED=true turns all of it off. A bad value is a warning (through env.warn) naming
// the variable, and that exporter stays off or the default is used: configuration from the
// environment never stops the program. Exporters that need different intervals are built in C++
// with one PeriodicExporter each.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters {

struct MetricExportEnvironment {
  // In the order of the table above; empty when no variable turns an exporter on.
  std::vector<std::unique_ptr<MetricExporter>> exporters;
  PeriodicExporterOptions engine;
};

// Reads the variables above. `self_metrics` becomes engine.self_metrics (and the exporters'
// where they count themselves). Never throws except std::bad_alloc: an exporter whose options
// are invalid or that cannot be created is left out with a warning.
MetricExportEnvironment metric_exporters_from_environment(
    const trace::Environment& env = trace::Environment(),
    metrics::Registry* self_metrics = nullptr);

// The engine for metric_exporters_from_environment, started, exporting `source`; nullptr when no
// exporter is turned on (or OTEL_SDK_DISABLED=true). `source` (and `self_metrics`) must outlive
// it.
std::unique_ptr<PeriodicExporter> start_metric_export_from_environment(
    const metrics::Registry& source, const trace::Environment& env = trace::Environment(),
    metrics::Registry* self_metrics = nullptr);

}  // namespace vigil::exporters
