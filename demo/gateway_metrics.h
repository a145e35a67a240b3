// demo/gateway_metrics.h: every metric of the simulated agent gateway, declared once.
//
//   vigil::metrics::Registry registry;
//   vigil::demo::GatewayMetrics m(registry);
//   m.queue_wait.observe(0.002);                                      // fixed labels: a handle
//   m.requests.labels("openai", "gpt-4o", "rate_limited", "v1").inc();  // varying labels: lookup
//
// LLM calls, tool executions and the caches are recorded through `collector`
// (vigil::metrics::ProductionCollector, guide 004, docs/collectors.md):
// gen_ai_client_operation_duration_seconds{http_route,gen_ai_system,gen_ai_request_model,
// error_type} (each LLM call), gen_ai_client_token_usage{...,gen_ai_token_type},
// gen_ai_client_cost_dollars_total, tool_executions_total{tool,status},
// tool_execution_duration_seconds{tool} (a summary over the last minute),
// tool_executions_active{tool}, cache_{hits,misses,evictions}_total{cache}.
//
// The pattern vigil is built for: families are registered at start-up, and every series whose
// labels are known up front (one per model, per tool, per pipeline step, per cache) is resolved
// into a handle here, so recording is a plain handle call. Series whose labels depend on what
// happens (a request's status, a tool's outcome) are looked up by label values when recorded;
// the lookup does not allocate once the series exists.
//
// Thread-safety: built on one thread; afterwards every handle and family may be used from any
// thread. The registry must outlive this object.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "vigil/metrics/production_collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::demo {

// A model the gateway routes to, with its price and speed.
struct ModelSpec {
  std::string_view provider;
  std::string_view model;
  double weight;                   // share of the traffic
  double prompt_dollars_per_mtok;  // price per million prompt tokens
  double completion_dollars_per_mtok;
  double first_token_seconds;  // typical time to first token
  double tokens_per_second;    // completion speed
  double error_rate;           // chance of a failed call (split into error kinds)
};

inline constexpr std::array<ModelSpec, 6> kModels = {{
    {"openai", "gpt-4o", 0.22, 2.50, 10.00, 0.45, 80, 0.020},
    {"openai", "gpt-4o-mini", 0.28, 0.15, 0.60, 0.30, 120, 0.015},
    {"anthropic", "claude-3-5-sonnet", 0.18, 3.00, 15.00, 0.60, 65, 0.020},
    {"anthropic", "claude-3-haiku", 0.10, 0.25, 1.25, 0.25, 150, 0.015},
    {"local", "llama-3.1-8b", 0.16, 0.0, 0.0, 0.15, 45, 0.040},
    {"local", "mistral-7b", 0.06, 0.0, 0.0, 0.12, 55, 0.040},
}};

inline constexpr std::array<std::string_view, 3> kProviders = {"openai", "anthropic", "local"};

// A tool the agent may call.
struct ToolSpec {
  std::string_view name;
  double median_seconds;
  double failure_rate;
  bool cacheable;  // results go through the tool cache
};

inline constexpr std::array<ToolSpec, 6> kTools = {{
    {"search", 0.35, 0.03, true},
    {"calculator", 0.002, 0.01, false},
    {"code_exec", 1.20, 0.08, false},
    {"web_fetch", 0.60, 0.06, true},
    {"db_query", 0.05, 0.02, true},
    {"file_read", 0.01, 0.01, false},
}};

// A pipeline and its steps (steps marked llm call a model).
struct PipelineStepSpec {
  std::string_view name;
  double median_seconds;
  double failure_rate;
  bool llm;
};
struct PipelineSpec {
  std::string_view name;
  std::array<PipelineStepSpec, 4> steps;
};

inline constexpr std::array<PipelineSpec, 2> kPipelines = {{
    {"document_ingest",
     {{{"load", 0.20, 0.005, false},
       {"chunk", 0.05, 0.002, false},
       {"embed", 0.80, 0.010, false},
       {"index", 0.15, 0.005, false}}}},
    {"research_report",
     {{{"plan", 1.0, 0.010, true},
       {"gather", 1.5, 0.030, false},
       {"summarize", 3.0, 0.015, true},
       {"review", 1.2, 0.010, true}}}},
}};

inline constexpr std::array<std::string_view, 2> kCaches = {"response", "tool"};

// The versions of the gateway's model (the `version` label of agent_requests_total and
// agent_request_duration_seconds): the stable one, and the release that --bad-release-at rolls
// out to a share of the traffic (demo/guardrail.h).
inline constexpr std::array<std::string_view, 2> kVersions = {"v1", "v2"};
inline constexpr size_t kStableVersion = 0;
inline constexpr size_t kReleaseVersion = 1;

struct GatewayMetrics {
  explicit GatewayMetrics(metrics::Registry& registry);

  struct PipelineHandles {
    metrics::Histogram duration;                     // pipeline_run_duration_seconds{pipeline}
    std::array<metrics::Histogram, 4> step_latency;  // pipeline_step_duration_seconds
  };

  // Families looked up per event (labels vary with the outcome).
  // agent_requests_total{provider,model,status,version}
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Counter>& pipeline_runs;   // pipeline_runs_total{pipeline,status}
  metrics::Family<metrics::Counter>& pipeline_steps;  // pipeline_steps_total{pipeline,step,status}

  // Resolved handles.
  // agent_request_duration_seconds{provider,version}: [provider][version]
  std::array<std::array<metrics::Histogram, kVersions.size()>, kProviders.size()> request_latency;
  metrics::Histogram prompt_tokens_per_request;      // llm_tokens_per_request{kind="prompt"}
  metrics::Histogram completion_tokens_per_request;  // llm_tokens_per_request{kind="completion"}
  metrics::Histogram queue_wait;                     // agent_queue_wait_seconds
  metrics::Histogram response_quality;               // agent_response_quality_score
  std::array<PipelineHandles, kPipelines.size()> pipelines;
  metrics::Gauge active_requests;   // agent_active_requests
  metrics::Gauge queue_depth;       // agent_queue_depth
  metrics::Gauge active_pipelines;  // pipeline_runs_in_progress
  metrics::Counter rejected;        // agent_requests_rejected_total{reason="queue_full"}

  // LLM calls, tools and caches (see above); the process collector is main.cc's.
  metrics::ProductionCollector collector;

  // Entries in each simulated cache, read by the cache_entries callback gauge at each scrape.
  std::array<std::atomic<int64_t>, kCaches.size()> cache_entries{};
};

}  // namespace vigil::demo
