// vigil/trace/config.h: tracing configured from the standard OTEL_* environment variables.
//
//   int main() {
//     vigil::trace::configure_from_environment({.service_name = "gateway"});
//     ...
//     vigil::trace::global_provider().shutdown();   // flush at exit
//   }
//
// Reads OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (always_on, always_off, traceidratio, parentbased_always_on,
// parentbased_always_off, parentbased_traceidratio; vigil adds ratelimited and
// parentbased_ratelimited with the rate per second as argument), OTEL_PROPAGATORS,
// OTEL_TRACES_EXPORTER (a comma-separated list of names registered with
// register_exporter_factory; built in: console, none; "otlp" once vigil::exporters is linked and
// registered), OTEL_BSP_* and OTEL_SPAN_*_LIMIT. Every bad value gives a warning naming the
// variable and the default used. An exporter name without a factory gives a warning
// ("exporter not available") and falls back to `fallback_exporter`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vigil/trace/environment.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {

struct EnvironmentConfigOptions {
  std::string service_name;  // default service.name (the environment wins)
  std::string service_version;
  std::string deployment_environment;
  // Used when OTEL_TRACES_EXPORTER names an exporter that is not available: "console", "none".
  std::string fallback_exporter = "none";
  // OpenTelemetry's default for an unset OTEL_TRACES_EXPORTER is "otlp" to localhost:4318, so
  // a program run without a collector retries a dead endpoint. true: unset OTEL_TRACES_EXPORTER
  // means "otlp" only when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
  // set, and "none" otherwise (no exporter unless one is configured). vigil::setup uses true.
  bool export_only_if_configured = false;
  // Extra processors (e.g. a TracezProcessor) added before the exporting ones.
  std::vector<std::unique_ptr<SpanProcessor>> extra_processors;
  // Where the processors and the exporters made from OTEL_TRACES_EXPORTER count themselves
  // (vigil_spans_*, vigil_otlp_*); nullptr: nowhere, &vigil::metrics::Registry::global() for the
  // global registry. Must outlive the provider.
  metrics::Registry* self_metrics = nullptr;
};

// Builds TracerProviderOptions from `env` (see above). Throws only std::bad_alloc.
TracerProviderOptions options_from_environment(EnvironmentConfigOptions options = {},
                                               const Environment& env = Environment());
// Reads the environment, installs the global provider and the default propagator, and returns
// the provider. Throws vigil::Error when the global provider was already set.
TracerProvider& configure_from_environment(EnvironmentConfigOptions options = {},
                                           const Environment& env = Environment());
// BatchSpanProcessorOptions from OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
// OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE (a batch size over the queue size
// warns and is clamped) and VIGIL_BSP_THREAD_BUFFER_SIZE (bytes per thread, 0 to 1 GiB).
BatchSpanProcessorOptions batch_options_from_environment(const Environment& env = Environment());
// The sampler OTEL_TRACES_SAMPLER / _ARG describe (default parentbased_always_on).
std::unique_ptr<Sampler> sampler_from_environment(const Environment& env = Environment());
// The exporter list OTEL_TRACES_EXPORTER gives (lowercase, trimmed, "none" entries kept),
// applying `export_only_if_configured` as above: {"none"} when it is true and nothing is
// configured. Never throws except std::bad_alloc.
std::vector<std::string> trace_exporter_names(const Environment& env,
                                              bool export_only_if_configured);
// One line saying where spans go, for a start-up banner: "none (set OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_TRACES_EXPORTER)", "otlp to http://collector:4318", "console". Same rule as above.
std::string describe_trace_export(const Environment& env, bool export_only_if_configured);
// Installs the default propagator OTEL_PROPAGATORS names (unknown names warn); nothing when
// it is unset. configure_from_environment calls it. Throws only std::bad_alloc.
void set_propagators_from_environment(const Environment& env = Environment());

}  // namespace vigil::trace
