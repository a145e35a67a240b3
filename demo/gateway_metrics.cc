#include "gateway_metrics.h"

#include <cstddef>
#include <string>
#include <vector>

#include "vigil/metrics/histogram.h"

namespace vigil::demo {
namespace {

metrics::MetricOptions unit(std::string u) {
  metrics::MetricOptions o;
  o.unit = std::move(u);
  return o;
}

// LLM calls, tools and caches through the production collector: LLM latency buckets from 0.1 s
// to 60 s (the call timeout is 30 s), tool latency a summary over the last minute (the alert
// rules read its quantiles).
metrics::ProductionCollectorOptions collector_options() {
  metrics::ProductionCollectorOptions o;
  o.register_process_collector = false;  // main.cc registers one
  o.latency_buckets = {0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60};
  o.tool_summary = metrics::SummaryOptions{
      .quantiles = {0.5, 0.9, 0.99}, .max_age = std::chrono::seconds(60), .age_buckets = 6};
  return o;
}

}  // namespace

GatewayMetrics::GatewayMetrics(metrics::Registry& registry)
    : requests(registry.counter("agent_requests_total",
                                "Agent requests handled by the gateway, by the model that served "
                                "them, their outcome (success, error, timeout, rate_limited) and "
                                "the gateway's model version (v1 stable, v2 a release)",
                                {"provider", "model", "status", "version"})),
      pipeline_runs(registry.counter("pipeline_runs_total",
                                     "Pipeline runs by pipeline and outcome (completed, failed)",
                                     {"pipeline", "status"})),
      pipeline_steps(registry.counter("pipeline_steps_total",
                                      "Pipeline steps executed, by pipeline, step and outcome",
                                      {"pipeline", "step", "status"})),
      collector(registry, collector_options()) {
  auto& request_duration = registry.histogram(
      "agent_request_duration_seconds",
      "End-to-end latency of an agent request (cache, LLM calls and tools), by provider and "
      "model version",
      {"provider", "version"}, {.buckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80}},
      unit("seconds"));
  for (size_t i = 0; i < kProviders.size(); ++i) {
    for (size_t v = 0; v < kVersions.size(); ++v) {
      request_latency[i][v] = request_duration.labels(kProviders[i], kVersions[v]);
    }
  }

  auto& tokens_per_request = registry.histogram(
      "llm_tokens_per_request", "Tokens used by one agent request over all its LLM calls", {"kind"},
      {.buckets = metrics::exponential_buckets(64, 2, 10)});  // 64 .. 32768
  prompt_tokens_per_request = tokens_per_request.labels("prompt");
  completion_tokens_per_request = tokens_per_request.labels("completion");

  queue_wait =
      registry
          .histogram("agent_queue_wait_seconds",
                     "Time a request waited in the gateway queue before a worker took it "
                     "(real time, not simulated)",
                     {}, {.buckets = metrics::exponential_buckets(0.0001, 4, 9)}, unit("seconds"))
          .get();

  // The grade an online evaluator would give each successful answer (0 to 1).
  response_quality =
      registry
          .histogram("agent_response_quality_score",
                     "Simulated quality score (0 to 1) of each successful answer, "
                     "as an online evaluator would grade it",
                     {}, {.buckets = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}})
          .get();

  auto& entries = registry.callback_gauge_family(
      "cache_entries", "Entries held by the cache (read at each scrape)", {"cache"});
  for (const ToolSpec& t : kTools) collector.declare_tool(t.name);
  for (size_t i = 0; i < kCaches.size(); ++i) {
    collector.declare_cache(kCaches[i]);
    std::atomic<int64_t>* count = &cache_entries[i];
    entries.add({std::string(kCaches[i])},
                [count] { return static_cast<double>(count->load(std::memory_order_relaxed)); });
  }

  auto& pipeline_duration = registry.histogram(
      "pipeline_run_duration_seconds", "Duration of a whole pipeline run, by pipeline",
      {"pipeline"}, {.buckets = {0.5, 1, 2, 4, 8, 15, 30, 60}}, unit("seconds"));
  auto& step_duration = registry.histogram(
      "pipeline_step_duration_seconds", "Duration of one pipeline step", {"pipeline", "step"},
      {.buckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16}}, unit("seconds"));
  for (size_t p = 0; p < kPipelines.size(); ++p) {
    pipelines[p].duration = pipeline_duration.labels(kPipelines[p].name);
    for (size_t s = 0; s < kPipelines[p].steps.size(); ++s) {
      pipelines[p].step_latency[s] =
          step_duration.labels(kPipelines[p].name, kPipelines[p].steps[s].name);
    }
  }

  active_requests =
      registry.gauge("agent_active_requests", "Agent requests being served right now").get();
  queue_depth =
      registry.gauge("agent_queue_depth", "Agent requests waiting for a free worker").get();
  active_pipelines =
      registry.gauge("pipeline_runs_in_progress", "Pipeline runs executing right now").get();
  rejected = registry
                 .counter("agent_requests_rejected_total",
                          "Agent requests turned away before they were served", {"reason"})
                 .labels("queue_full");
}

}  // namespace vigil::demo
