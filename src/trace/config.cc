// Configuration from OTEL_* environment variables.
#include "vigil/trace/config.h"

#include "core/detail/text.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/propagation.h"

namespace vigil::trace {
namespace {

// An enum word of an OTEL_* variable: trimmed and lowered ("Always_On " -> "always_on").
std::string word(std::string_view s) { return vigil::detail::ascii_lower(vigil::detail::trim(s)); }

std::unique_ptr<SpanExporter> builtin_exporter(const std::string& name, const Environment& env,
                                               metrics::Registry* self_metrics) {
  if (name == "console") return std::make_unique<ConsoleExporter>();
  if (auto f = exporter_factory(name)) {
    try {
      return f(env, self_metrics);
    } catch (const std::exception& e) {
      env.warn("OTEL_TRACES_EXPORTER: the '" + name + "' exporter failed to start: " + e.what());
    }
  }
  return nullptr;
}

}  // namespace

BatchSpanProcessorOptions batch_options_from_environment(const Environment& env) {
  BatchSpanProcessorOptions o;
  o.schedule_delay = env.get_millis("OTEL_BSP_SCHEDULE_DELAY", o.schedule_delay);
  o.export_timeout = env.get_millis("OTEL_BSP_EXPORT_TIMEOUT", o.export_timeout);
  o.max_queue_size = static_cast<std::size_t>(
      env.get_int("OTEL_BSP_MAX_QUEUE_SIZE", static_cast<int64_t>(o.max_queue_size), 1, 1 << 24));
  o.max_export_batch_size = static_cast<std::size_t>(env.get_int(
      "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", static_cast<int64_t>(o.max_export_batch_size), 1, 1 << 24));
  o.thread_buffer_size = static_cast<std::size_t>(
      env.get_int("VIGIL_BSP_THREAD_BUFFER_SIZE", static_cast<int64_t>(o.thread_buffer_size), 0,
                  int64_t{1} << 30));
  if (o.max_export_batch_size > o.max_queue_size) {
    env.warn("OTEL_BSP_MAX_EXPORT_BATCH_SIZE (" + std::to_string(o.max_export_batch_size) +
             ") exceeds OTEL_BSP_MAX_QUEUE_SIZE (" + std::to_string(o.max_queue_size) +
             "); using the queue size");
    o.max_export_batch_size = o.max_queue_size;
  }
  return o;
}

std::unique_ptr<Sampler> sampler_from_environment(const Environment& env) {
  const std::string name = word(env.get("OTEL_TRACES_SAMPLER").value_or("parentbased_always_on"));
  auto ratio = [&] { return env.get_double("OTEL_TRACES_SAMPLER_ARG", 1.0, 0.0, 1.0); };
  auto rate = [&] { return env.get_double("OTEL_TRACES_SAMPLER_ARG", 100.0, 0.0, 1e9); };
  if (name == "always_on") return always_on();
  if (name == "always_off") return always_off();
  if (name == "traceidratio") return trace_id_ratio(ratio());
  if (name == "parentbased_always_on") return parent_based(always_on());
  if (name == "parentbased_always_off") return parent_based(always_off());
  if (name == "parentbased_traceidratio") return parent_based(trace_id_ratio(ratio()));
  if (name == "ratelimited") return rate_limited(rate());
  if (name == "parentbased_ratelimited") return parent_based(rate_limited(rate()));
  env.warn("OTEL_TRACES_SAMPLER='" + name +
           "' is not a known sampler (always_on, always_off, traceidratio, parentbased_always_on, "
           "parentbased_always_off, parentbased_traceidratio, ratelimited, "
           "parentbased_ratelimited); using parentbased_always_on");
  return parent_based(always_on());
}

std::vector<std::string> trace_exporter_names(const Environment& env,
                                              bool export_only_if_configured) {
  std::optional<std::string> configured = env.get("OTEL_TRACES_EXPORTER");
  if (!configured && export_only_if_configured && !env.get("OTEL_EXPORTER_OTLP_ENDPOINT") &&
      !env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    configured = "none";
  }
  std::vector<std::string> list;
  vigil::detail::for_each_list_member(configured.value_or("otlp"), ',',
                                      [&](std::string_view name) { list.push_back(word(name)); });
  return list;
}

std::string describe_trace_export(const Environment& env, bool export_only_if_configured) {
  std::string out;
  for (const std::string& name : trace_exporter_names(env, export_only_if_configured)) {
    if (name == "none" || name.empty()) continue;
    if (!out.empty()) out += ", ";
    out += name;
    if (name == "otlp") {
      if (auto e = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        out.append(" to ").append(*e);
      } else if (auto b = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        out.append(" to ").append(*b);
      } else {
        out.append(" to http://localhost:4318 (the default)");
      }
    }
  }
  if (out.empty()) return "none (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER)";
  return out;
}

TracerProviderOptions options_from_environment(EnvironmentConfigOptions options,
                                               const Environment& env) {
  TracerProviderOptions o;
  o.enabled = !env.get_bool("OTEL_SDK_DISABLED", false);
  o.resource = Resource::create({.service_name = options.service_name,
                                 .service_version = options.service_version,
                                 .deployment_environment = options.deployment_environment},
                                env);
  if (!o.enabled) return o;
  o.sampler = sampler_from_environment(env);
  o.limits = SpanLimits::from_environment(env);
  o.processors = std::move(options.extra_processors);

  const std::vector<std::string> list =
      trace_exporter_names(env, options.export_only_if_configured);  // wt-setup
  BatchSpanProcessorOptions bsp = batch_options_from_environment(env);
  bsp.self_metrics = options.self_metrics;
  for (const std::string& name : list) {
    if (name == "none") continue;
    std::unique_ptr<SpanExporter> exporter = builtin_exporter(name, env, options.self_metrics);
    if (!exporter) {
      env.warn("OTEL_TRACES_EXPORTER: exporter '" + name + "' is not available" +
               (name == "otlp" ? " (link vigil::exporters and register it)" : "") +
               "; falling back to '" + options.fallback_exporter + "'");
      if (options.fallback_exporter != "none") {
        exporter = builtin_exporter(options.fallback_exporter, env, options.self_metrics);
      }
    }
    if (exporter) {
      if (name == "console" || (!exporter && options.fallback_exporter == "console")) {
        o.processors.push_back(
            std::make_unique<SimpleSpanProcessor>(std::move(exporter), options.self_metrics));
      } else {
        o.processors.push_back(std::make_unique<BatchSpanProcessor>(std::move(exporter), bsp));
      }
    }
  }
  return o;
}

// wt-setup: the propagators part moved into set_propagators_from_environment.
void set_propagators_from_environment(const Environment& env) {
  if (auto names = env.get("OTEL_PROPAGATORS")) {
    std::vector<std::string> unknown;
    auto p = propagator_from_names(*names, &unknown);
    for (const std::string& u : unknown) {
      env.warn("OTEL_PROPAGATORS: unknown propagator '" + u +
               "' ignored (known: tracecontext, baggage, b3, b3multi, none)");
    }
    set_default_propagator(std::move(p));
  }
}

TracerProvider& configure_from_environment(EnvironmentConfigOptions options,
                                           const Environment& env) {
  set_propagators_from_environment(env);
  auto provider =
      std::make_unique<TracerProvider>(options_from_environment(std::move(options), env));
  TracerProvider& ref = *provider;
  set_global_provider(std::move(provider));
  return ref;
}

}  // namespace vigil::trace
