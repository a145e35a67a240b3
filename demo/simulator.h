// demo/simulator.h: traffic of a simulated AI agent gateway, recorded into GatewayMetrics.
//
//   vigil::demo::Simulator sim(metrics, {.rate = 250, .workers = 16});
//   sim.start();
//   ...
//   sim.stop();
//   vigil::demo::SimulationTotals t = sim.totals();
//
// A dispatcher thread enqueues requests at `rate` per second on average (Poisson arrivals, the
// rate swinging +-30% over a minute); `workers` threads take them from a bounded queue. A chat
// request goes through the response cache, then an agent loop of LLM calls and tool executions;
// one request in ten is a pipeline run instead. Latencies, tokens and prices are drawn from
// per-model and per-tool distributions. Workers sleep for 1/100 of each simulated duration, so
// the gauges (active requests, queue depth) behave like a real gateway's while the CPU cost
// stays small (a few microseconds of work per request). While the vector store is down
// (SimulatorOptions::vector_store_up), the "search" tool fails fast with status "error". Chat
// requests are served by the model version "v1", or by the release "v2" for the share
// SimulatorOptions::release_share says (worse: more failures, slower).
//
// Tracing: every request is a trace. The dispatcher starts the "request" span (kind server; a
// "pipeline_run" span for pipelines) when the request arrives and queues it with the job; the
// worker that takes the job makes that span's context current (an explicit parent context
// across the queue) and adds "llm_call" (kind client) and "tool_execution" spans, with
// OpenTelemetry GenAI attributes (gen_ai.system, gen_ai.request.model,
// gen_ai.usage.input_tokens, ...). Spans carry the *simulated* times (explicit start and end
// timestamps), so their durations match the metrics. Failures set status error, error.type and
// an exception event. The request latency histogram and the requests counter record exemplars
// with the request span's trace_id and span_id.
//
// Thread-safety: start() and stop() from one controlling thread; totals() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway_metrics.h"
#include "vigil/trace/span.h"
#include "vigil/trace/tracer.h"

namespace vigil::demo {

struct SimulatorOptions {
  double rate = 250;  // requests per second, on average
  int workers = 24;
  // Called by the dispatcher thread on every tick (10 ms), e.g. to beat a liveness heartbeat.
  std::function<void()> on_tick;
  // Whether the vector store answers; while it returns false, the "search" tool (retrieval)
  // fails fast. Empty: always up.
  std::function<bool()> vector_store_up;
  // Where the request spans go; nullptr: no tracing (a no-op tracer).
  vigil::trace::Tracer* tracer = nullptr;
  // The model release (demo/guardrail.h): the share of chat requests, in [0, 1], that the
  // release "v2" serves, read for every request (empty: always 0, every request is "v1"). A v2
  // request fails (status "error": the new model's answer is rejected) with the extra chance
  // `release_extra_failure` and takes `release_latency_factor` times as long.
  std::function<double()> release_share;
  double release_extra_failure = 0.15;
  double release_latency_factor = 1.8;
};

// What the simulation did so far.
struct SimulationTotals {
  uint64_t requests = 0;  // chat requests served (any status)
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t release_requests = 0;  // of them, served by the release "v2"
  uint64_t release_failed = 0;
  uint64_t rejected = 0;  // turned away: queue full
  uint64_t llm_calls = 0;
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  double cost_dollars = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_failures = 0;
  uint64_t cache_hits = 0;  // response and tool caches
  uint64_t cache_misses = 0;
  uint64_t pipeline_runs = 0;
  uint64_t pipeline_failures = 0;
};

class Simulator {
 public:
  Simulator(GatewayMetrics& metrics, SimulatorOptions options);
  // Stops the threads if still running.
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Starts the dispatcher and the workers. Call once.
  void start();
  // Stops generating, drops queued requests, joins every thread (each finishes the request it
  // is serving: at most a few hundred milliseconds). Idempotent.
  void stop() noexcept;

  SimulationTotals totals() const noexcept;

  struct Counters;  // internal: the atomics behind totals(), shared with the request logic

 private:
  struct Job {
    bool pipeline = false;
    std::chrono::steady_clock::time_point enqueued;
    vigil::trace::Span span;  // "request" or "pipeline_run", started on arrival, not current
  };
  void dispatch_loop();
  void worker_loop(unsigned seed);

  GatewayMetrics& m_;
  SimulatorOptions options_;
  std::unique_ptr<Counters> counters_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<bool> stop_dispatch_{false};

  std::thread dispatcher_;
  std::vector<std::thread> workers_;
};

}  // namespace vigil::demo
