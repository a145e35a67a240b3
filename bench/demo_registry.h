// bench/demo_registry.h: the demo's registry (demo/gateway_metrics.h, the build info, the
// worker-utilization callback gauge and the process collector) with each series the simulator
// creates recorded once, for benchmarks that serve or query "the demo's registry" without
// running the simulator (admin_server_bench, dashboard_bench).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "gateway_metrics.h"  // demo/
#include "vigil/metrics/process_collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::bench {

struct DemoRegistry {
  vigil::metrics::Registry registry;
  std::unique_ptr<vigil::demo::GatewayMetrics> gateway;

  DemoRegistry() {
    using vigil::demo::kModels;
    using vigil::demo::kPipelines;
    using vigil::demo::kTools;
    registry
        .info("agent_gateway_build", "Build of the simulated agent gateway (always 1)",
              {"version", "compiler", "build_type"})
        .labels("0.1.0", "gcc-12.2.0", "Release");
    gateway = std::make_unique<vigil::demo::GatewayMetrics>(registry);
    vigil::demo::GatewayMetrics* g = gateway.get();
    registry.callback_gauge(
        "agent_worker_utilization_ratio",
        "Share of the worker threads serving a request or pipeline",
        [g] { return (g->active_requests.value() + g->active_pipelines.value()) / 8.0; },
        {.unit = "ratio"});
    registry.add_collector(std::make_shared<vigil::metrics::ProcessCollector>());

    const char* statuses[] = {"success", "error", "timeout", "rate_limited"};
    for (size_t i = 0; i < kModels.size(); ++i) {
      const auto& m = kModels[i];
      g->collector.record_tokens(m.provider, m.model, 812, 230);
      g->collector.record_cost(m.provider, m.model, 0.0123);
      for (double s : {0.3, 0.7, 1.9, 6.0}) {
        g->collector.record_request("/v1/chat/completions", m.provider, true,
                                    std::chrono::duration<double>(s), {{"model", m.model}});
      }
      for (const char* st : statuses)
        g->requests.labels(kModels[i].provider, kModels[i].model, st, "v1").inc();
    }
    // Without a release only v1 serves (the v2 latency series exist, empty).
    for (auto& h : g->request_latency) h[vigil::demo::kStableVersion].observe(1.2);
    g->prompt_tokens_per_request.observe(900);
    g->completion_tokens_per_request.observe(250);
    g->queue_wait.observe(0.0003);
    for (size_t i = 0; i < kTools.size(); ++i) {
      // One success, one error and one timeout per tool, 0.01 s, 0.2 s and 0.5 s.
      g->collector.record_tool_execution(kTools[i].name, true, std::chrono::milliseconds(10));
      g->collector.record_tool_execution(kTools[i].name, false, std::chrono::milliseconds(200));
      g->collector.record_tool_execution_outcome(kTools[i].name, "timeout",
                                                 std::chrono::milliseconds(500));
    }
    for (std::string_view c : vigil::demo::kCaches) {
      for (int i = 0; i < 10; ++i) g->collector.record_cache_hit(c);
      for (int i = 0; i < 3; ++i) g->collector.record_cache_miss(c);
      g->collector.record_cache_eviction(c);
    }
    for (size_t p = 0; p < kPipelines.size(); ++p) {
      g->pipelines[p].duration.observe(3.0);
      for (size_t s = 0; s < kPipelines[p].steps.size(); ++s) {
        g->pipelines[p].step_latency[s].observe(0.2);
        for (const char* st : {"success", "error"}) {
          g->pipeline_steps.labels(kPipelines[p].name, kPipelines[p].steps[s].name, st).inc();
        }
      }
      for (const char* st : {"completed", "failed"})
        g->pipeline_runs.labels(kPipelines[p].name, st).inc();
    }
    g->active_requests.set(3);
    g->queue_depth.set(1);
    g->active_pipelines.set(1);
    g->rejected.inc();
  }
};

}  // namespace vigil::bench
