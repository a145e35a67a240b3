#include "simulator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string_view>

#include "demo_log.h"
#include "vigil/trace/context.h"
#include "vigil/trace/exemplar.h"

namespace vigil::demo {
namespace {

using Clock = std::chrono::steady_clock;
using trace::Span;
using trace::SpanKind;
using trace::StatusCode;

constexpr double kTimeScale = 0.01;  // real sleep per simulated second
constexpr double kMaxRealSleepSeconds = 0.25;
constexpr size_t kQueueCapacity = 2000;
constexpr double kPipelineShare = 0.10;  // arrivals that are pipeline runs
constexpr double kResponseCacheHitRate = 0.22;
constexpr double kToolCacheHitRate = 0.40;
constexpr std::array<int64_t, kCaches.size()> kCacheCapacity = {5000, 2000};
constexpr size_t kResponseCache = 0;
constexpr size_t kToolCache = 1;
constexpr double kLlmTimeoutSeconds = 30;
constexpr double kToolTimeoutSeconds = 10;
constexpr std::string_view kLlmRoute = "/v1/chat/completions";  // the providers' chat API

uint64_t unix_nanos_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t to_nanos(double seconds) { return static_cast<uint64_t>(std::llround(seconds * 1e9)); }

// The exception type an LLM failure is recorded as.
std::string_view llm_error_type(std::string_view status) {
  if (status == "rate_limited") return "RateLimitError";
  if (status == "timeout") return "TimeoutError";
  return "ProviderError";
}

size_t provider_index(std::string_view provider) {
  for (size_t i = 0; i < kProviders.size(); ++i) {
    if (kProviders[i] == provider) return i;
  }
  return 0;
}

size_t model_index(std::string_view model) {
  for (size_t i = 0; i < kModels.size(); ++i) {
    if (kModels[i].model == model) return i;
  }
  return 0;
}

}  // namespace

struct Simulator::Counters {
  std::atomic<uint64_t> requests{0}, succeeded{0}, failed{0}, release_requests{0},
      release_failed{0}, rejected{0}, llm_calls{0}, prompt_tokens{0}, completion_tokens{0},
      cost_microdollars{0}, tool_calls{0}, tool_failures{0}, cache_hits{0}, cache_misses{0},
      pipeline_runs{0}, pipeline_failures{0};

  static void add(std::atomic<uint64_t>& a, uint64_t v = 1) noexcept {
    a.fetch_add(v, std::memory_order_relaxed);
  }
};

namespace {

// The outcome of one simulated LLM call.
struct LlmResult {
  std::string_view status;  // success, error, timeout, rate_limited
  double seconds = 0;
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  double cost = 0;  // dollars
};

// One worker's view of the simulation: its own random generator, shared metrics and totals.
class RequestSimulator {
 public:
  RequestSimulator(GatewayMetrics& m, Simulator::Counters& c, const SimulatorOptions& o,
                   unsigned seed)
      : m_(m),
        c_(c),
        options_(o),
        tracer_(o.tracer != nullptr ? *o.tracer : trace::noop_tracer()),
        rng_(seed) {}

  // Serves one chat request, starting at `start_ns` (simulated timeline, unix nanoseconds);
  // `request` is its span, current on this thread. Returns the simulated duration in seconds.
  double chat(Span& request, uint64_t start_ns) {
    const size_t mi = model_dist_(rng_);
    const ModelSpec& model = kModels[mi];
    const double share = options_.release_share ? options_.release_share() : 0.0;
    const size_t version = share > 0 && uniform() < share ? kReleaseVersion : kStableVersion;
    double seconds = lognormal(0.002, 0.3);  // response cache lookup
    request.set_attribute("gen_ai.system", model.provider)
        .set_attribute("gen_ai.request.model", model.model)
        .set_attribute("agent.model_version", kVersions[version]);

    std::string_view status = "success";
    uint64_t prompt_total = 0, completion_total = 0;
    double cost_total = 0;
    int iterations_done = 0;
    const bool cache_hit = cache_lookup(kResponseCache, kResponseCacheHitRate);
    request.set_attribute("agent.cache_hit", cache_hit);
    if (cache_hit) {
      seconds += lognormal(0.01, 0.5);  // serve the cached answer
    } else {
      // The agent loop: LLM call, tool calls, LLM call again with the results, ...
      const int iterations = 1 + std::min(3, geometric_(rng_));
      double context = lognormal(900, 0.6);  // prompt tokens: system prompt, history, question
      for (int it = 0; it < iterations; ++it) {
        const bool final_answer = it + 1 == iterations;
        const uint64_t llm_start = start_ns + to_nanos(seconds);
        Span llm = tracer_.start_span("llm_call",
                                      {.kind = SpanKind::kClient, .start_unix_nanos = llm_start});
        const LlmResult r = llm_call(mi, context, final_answer ? 260 : 70, &llm);
        ++iterations_done;
        seconds += r.seconds;
        const uint64_t llm_end = llm_start + to_nanos(r.seconds);
        prompt_total += r.prompt_tokens;
        completion_total += r.completion_tokens;
        cost_total += r.cost;
        if (r.status != "success") {
          status = r.status;
          llm.end(llm_end);
          break;
        }
        context += static_cast<double>(r.completion_tokens);
        if (!final_answer) {
          // The model asked for tools: their spans are children of this llm_call (they start
          // when it has answered).
          const int tools = 1 + (uniform() < 0.3 ? 1 : 0);
          llm.set_attribute("gen_ai.response.finish_reasons",
                            std::vector<std::string>{"tool_calls"});
          for (int t = 0; t < tools; ++t) {
            seconds += tool_call(start_ns + to_nanos(seconds));
            context += lognormal(400, 0.8);  // the tool's result goes back into the prompt
          }
        } else {
          llm.set_attribute("gen_ai.response.finish_reasons", std::vector<std::string>{"stop"});
        }
        llm.end(llm_end);
      }
      if (status == "success") cache_insert(kResponseCache);
    }
    if (version == kReleaseVersion) {
      // The release is worse: slower, and some of its answers are rejected.
      seconds *= options_.release_latency_factor;
      if (status == "success" && uniform() < options_.release_extra_failure) status = "error";
    }

    request.set_attribute("agent.status", status)
        .set_attribute("agent.iterations", iterations_done)
        .set_attribute("gen_ai.usage.input_tokens", static_cast<int64_t>(prompt_total))
        .set_attribute("gen_ai.usage.output_tokens", static_cast<int64_t>(completion_total))
        .set_attribute("agent.cost_usd", cost_total);
    if (status != "success") {
      request.set_attribute("error.type", status);
      request.set_status(StatusCode::kError, std::string("llm_call failed: ").append(status));
      // One line per 5 s at most (the metrics count every failure), with the request's ids.
      static LogLimiter limiter(std::chrono::seconds(5));
      if (uint64_t skipped = 0; limiter.allow(skipped)) {
        DEMO_LOG(warn, "request failed: {} {} {} ({} more failed requests since the last line)",
                 status, model.provider, model.model, skipped);
      }
    }
    const trace::ExemplarIds ids(request);
    metrics::Histogram& latency = m_.request_latency[provider_index(model.provider)][version];
    if (ids) {
      latency.observe(seconds, {{"trace_id", ids.trace_id()}, {"span_id", ids.span_id()}});
      m_.requests.labels(model.provider, model.model, status, kVersions[version])
          .inc(1, {{"trace_id", ids.trace_id()}, {"span_id", ids.span_id()}});
    } else {
      latency.observe(seconds);
      m_.requests.labels(model.provider, model.model, status, kVersions[version]).inc();
    }
    if (prompt_total > 0) m_.prompt_tokens_per_request.observe(static_cast<double>(prompt_total));
    if (completion_total > 0) {
      m_.completion_tokens_per_request.observe(static_cast<double>(completion_total));
    }
    if (status == "success") {
      // Answers grade 0.75-0.95; without retrieval (vector store down) fresh answers lose 0.35.
      double quality = 0.75 + 0.2 * uniform();
      if (!cache_hit && options_.vector_store_up && !options_.vector_store_up()) quality -= 0.35;
      m_.response_quality.observe(quality);
    }
    Simulator::Counters::add(c_.requests);
    Simulator::Counters::add(status == "success" ? c_.succeeded : c_.failed);
    if (version == kReleaseVersion) {
      Simulator::Counters::add(c_.release_requests);
      if (status != "success") Simulator::Counters::add(c_.release_failed);
    }
    return seconds;
  }

  // Runs one pipeline starting at `start_ns`; `run` is its span, current on this thread. Returns
  // its simulated duration in seconds.
  double pipeline(Span& run, uint64_t start_ns) {
    const size_t pi = uniform() < 0.6 ? 0 : 1;
    const PipelineSpec& spec = kPipelines[pi];
    GatewayMetrics::PipelineHandles& h = m_.pipelines[pi];
    // Pipelines use a fixed model: the cheap one for planning, the strong one for writing.
    static const size_t kPlanner = model_index("gpt-4o-mini");
    static const size_t kWriter = model_index("claude-3-5-sonnet");

    run.set_attribute("pipeline.name", spec.name);
    double total = 0;
    std::string_view run_status = "completed";
    for (size_t s = 0; s < spec.steps.size(); ++s) {
      const PipelineStepSpec& step = spec.steps[s];
      const uint64_t step_start = start_ns + to_nanos(total);
      Span step_span = tracer_.start_span("pipeline_step", {.start_unix_nanos = step_start});
      step_span.set_attribute("pipeline.name", spec.name).set_attribute("pipeline.step", step.name);
      double seconds = lognormal(step.median_seconds, 0.5);
      bool ok = uniform() >= step.failure_rate;
      if (!ok) step_span.record_exception("StepError", std::string(step.name).append(" failed"));
      if (ok && step.llm) {
        Span llm = tracer_.start_span(
            "llm_call",
            {.kind = SpanKind::kClient, .start_unix_nanos = step_start + to_nanos(seconds)});
        const LlmResult r =
            llm_call(step.name == "summarize" ? kWriter : kPlanner, lognormal(2500, 0.5),
                     step.name == "summarize" ? 700 : 150, &llm);
        llm.end(step_start + to_nanos(seconds + r.seconds));
        seconds += r.seconds;
        ok = r.status == "success";
        if (!ok) {
          step_span.set_status(StatusCode::kError,
                               std::string("llm_call failed: ").append(r.status));
        }
      }
      step_span.end(step_start + to_nanos(seconds));
      total += seconds;
      h.step_latency[s].observe(seconds);
      m_.pipeline_steps.labels(spec.name, step.name, ok ? "success" : "error").inc();
      if (!ok) {
        run_status = "failed";
        break;
      }
    }
    h.duration.observe(total);
    m_.pipeline_runs.labels(spec.name, run_status).inc();
    run.set_attribute("pipeline.status", run_status);
    if (run_status != "completed") {
      run.set_status(StatusCode::kError, "pipeline step failed");
      static LogLimiter limiter(std::chrono::seconds(10));
      if (uint64_t skipped = 0; limiter.allow(skipped)) {
        DEMO_LOG(error, "pipeline {} failed ({} more failed runs since the last line)", spec.name,
                 skipped);
      }
    }
    Simulator::Counters::add(c_.pipeline_runs);
    if (run_status != "completed") Simulator::Counters::add(c_.pipeline_failures);
    return total;
  }

 private:
  double uniform() { return unit_(rng_); }
  double lognormal(double median, double sigma) {
    std::lognormal_distribution<double> d(std::log(median), sigma);
    return d(rng_);
  }

  bool cache_lookup(size_t cache, double hit_rate) {
    const bool hit = uniform() < hit_rate;
    if (hit) {
      m_.collector.record_cache_hit(kCaches[cache]);
      Simulator::Counters::add(c_.cache_hits);
    } else {
      m_.collector.record_cache_miss(kCaches[cache]);
      Simulator::Counters::add(c_.cache_misses);
    }
    return hit;
  }

  void cache_insert(size_t cache) {
    std::atomic<int64_t>& entries = m_.cache_entries[cache];
    int64_t n = entries.load(std::memory_order_relaxed);
    while (n < kCacheCapacity[cache]) {
      if (entries.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return;
    }
    m_.collector.record_cache_eviction(kCaches[cache]);  // full: the oldest entry makes room
  }

  // One LLM call; `span` (its llm_call span) gets the GenAI attributes and any error.
  LlmResult llm_call(size_t mi, double prompt_tokens, double completion_median, Span* span) {
    const ModelSpec& model = kModels[mi];
    LlmResult r;
    span->set_attribute("gen_ai.operation.name", "chat")
        .set_attribute("gen_ai.system", model.provider)
        .set_attribute("gen_ai.request.model", model.model)
        .set_attribute("server.address",
                       model.provider == "local" ? std::string_view("localhost") : model.provider);
    Simulator::Counters::add(c_.llm_calls);
    const double u = uniform();
    if (u < model.error_rate) {
      // Failures: half are rate limits (fast 429s), a quarter time out, a quarter are 5xx.
      const double kind = u / model.error_rate;
      if (kind < 0.5 && model.provider != "local") {
        r.status = "rate_limited";
        r.seconds = lognormal(0.08, 0.4);
      } else if (kind < 0.75) {
        r.status = "timeout";
        r.seconds = kLlmTimeoutSeconds;
      } else {
        r.status = "error";
        r.seconds = lognormal(0.4, 0.6);
      }
      m_.collector.record_request_outcome(kLlmRoute, model.provider, r.status,
                                          std::chrono::duration<double>(r.seconds),
                                          {{"model", model.model}});
      span->set_attribute("error.type", r.status);
      span->record_exception(llm_error_type(r.status),
                             std::string(model.provider).append(" ").append(r.status));
      return r;
    }
    r.status = "success";
    r.prompt_tokens = static_cast<uint64_t>(std::max(1.0, prompt_tokens));
    r.completion_tokens = static_cast<uint64_t>(std::max(1.0, lognormal(completion_median, 0.6)));
    r.seconds = lognormal(model.first_token_seconds, 0.35) +
                static_cast<double>(r.completion_tokens) / model.tokens_per_second;
    r.seconds = std::min(r.seconds, kLlmTimeoutSeconds);
    const double cost =
        (static_cast<double>(r.prompt_tokens) * model.prompt_dollars_per_mtok +
         static_cast<double>(r.completion_tokens) * model.completion_dollars_per_mtok) /
        1e6;
    m_.collector.record_tokens(model.provider, model.model, r.prompt_tokens, r.completion_tokens);
    m_.collector.record_cost(model.provider, model.model, cost);  // fractional dollars
    r.cost = cost;
    span->set_attribute("gen_ai.response.model", model.model)
        .set_attribute("gen_ai.usage.input_tokens", static_cast<int64_t>(r.prompt_tokens))
        .set_attribute("gen_ai.usage.output_tokens", static_cast<int64_t>(r.completion_tokens))
        .set_attribute("gen_ai.usage.cost_usd", cost);
    m_.collector.record_request(kLlmRoute, model.provider, true,
                                std::chrono::duration<double>(r.seconds), {{"model", model.model}});
    Simulator::Counters::add(c_.prompt_tokens, r.prompt_tokens);
    Simulator::Counters::add(c_.completion_tokens, r.completion_tokens);
    Simulator::Counters::add(c_.cost_microdollars, static_cast<uint64_t>(std::llround(cost * 1e6)));
    return r;
  }

  // One tool call (through the tool cache for cacheable tools) starting at `start_ns`, as a
  // tool_execution span under the current span; returns simulated seconds.
  double tool_call(uint64_t start_ns) {
    const size_t ti = tool_dist_(rng_);
    const ToolSpec& tool = kTools[ti];
    Span span = tracer_.start_span("tool_execution", {.start_unix_nanos = start_ns});
    span.set_attribute("gen_ai.operation.name", "execute_tool")
        .set_attribute("gen_ai.tool.name", tool.name);
    if (tool.cacheable && cache_lookup(kToolCache, kToolCacheHitRate)) {
      const double seconds = lognormal(0.001, 0.3);
      span.set_attribute("agent.tool.cached", true);
      span.end(start_ns + to_nanos(seconds));
      return seconds;
    }
    double seconds = lognormal(tool.median_seconds, 0.6);
    std::string_view status = "success";
    if (tool.name == "search" && options_.vector_store_up && !options_.vector_store_up()) {
      status = "error";  // retrieval needs the vector store: connection refused, at once
      seconds = lognormal(0.004, 0.3);
    } else if (uniform() < tool.failure_rate) {
      // Slow tools fail by timing out half of the time.
      if (tool.median_seconds >= 0.5 && uniform() < 0.5) {
        status = "timeout";
        seconds = kToolTimeoutSeconds;
      } else {
        status = "error";
      }
    }
    m_.collector.record_tool_execution_outcome(tool.name,
                                               status == "success" ? std::string_view() : status,
                                               std::chrono::duration<double>(seconds));
    span.set_attribute("agent.tool.cached", false);
    if (status != "success") {
      span.set_attribute("error.type", status);
      span.record_exception(status == "timeout" ? "TimeoutError" : "ToolError",
                            std::string(tool.name).append(" ").append(status));
    }
    span.end(start_ns + to_nanos(seconds));
    Simulator::Counters::add(c_.tool_calls);
    if (status != "success") {
      Simulator::Counters::add(c_.tool_failures);
    } else if (tool.cacheable) {
      cache_insert(kToolCache);
    }
    return seconds;
  }

  static std::discrete_distribution<size_t> make_model_dist() {
    std::vector<double> w;
    for (const ModelSpec& m : kModels) w.push_back(m.weight);
    return std::discrete_distribution<size_t>(w.begin(), w.end());
  }

  GatewayMetrics& m_;
  Simulator::Counters& c_;
  const SimulatorOptions& options_;
  trace::Tracer& tracer_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::discrete_distribution<size_t> model_dist_ = make_model_dist();
  std::uniform_int_distribution<size_t> tool_dist_{0, kTools.size() - 1};
  std::geometric_distribution<int> geometric_{0.45};
};

void sleep_simulated(double simulated_seconds) {
  const double real = std::min(simulated_seconds * kTimeScale, kMaxRealSleepSeconds);
  std::this_thread::sleep_for(std::chrono::duration<double>(real));
}

}  // namespace

Simulator::Simulator(GatewayMetrics& metrics, SimulatorOptions options)
    : m_(metrics), options_(options), counters_(std::make_unique<Counters>()) {}

Simulator::~Simulator() { stop(); }

void Simulator::start() {
  std::random_device rd;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this, seed = rd() + static_cast<unsigned>(i)] { worker_loop(seed); });
  }
  dispatcher_ = std::thread([this] { dispatch_loop(); });
}

void Simulator::stop() noexcept {
  stop_dispatch_.store(true, std::memory_order_relaxed);
  if (dispatcher_.joinable()) dispatcher_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  m_.queue_depth.set(0);
}

void Simulator::dispatch_loop() {
  constexpr auto kTick = std::chrono::milliseconds(10);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  trace::Tracer& tracer = options_.tracer != nullptr ? *options_.tracer : trace::noop_tracer();
  const Clock::time_point start = Clock::now();
  Clock::time_point next = start;
  while (!stop_dispatch_.load(std::memory_order_relaxed)) {
    if (options_.on_tick) options_.on_tick();
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = options_.rate * (1.0 + 0.3 * std::sin(2 * std::numbers::pi * t / 60.0));
    const double tick_seconds = std::chrono::duration<double>(kTick).count();
    std::poisson_distribution<int> arrivals(std::max(rate * tick_seconds, 1e-9));
    const int n = arrivals(rng);
    if (n > 0) {
      const Clock::time_point now = Clock::now();
      int accepted = 0;
      size_t depth = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n && queue_.size() < kQueueCapacity; ++i, ++accepted) {
          const bool pipeline = unit(rng) < kPipelineShare;
          // The request's span starts on arrival and travels with the job; it is not current
          // here (the worker ends it).
          queue_.push_back(
              Job{.pipeline = pipeline,
                  .enqueued = now,
                  .span = tracer.start_span(
                      pipeline ? "pipeline_run" : "request",
                      {.kind = SpanKind::kServer, .root = true, .make_current = false})});
        }
        depth = queue_.size();
      }
      m_.queue_depth.set(static_cast<double>(depth));
      for (int i = accepted; i < n; ++i) {
        // Turned away: a short error trace, linked from the rejection counter's exemplar.
        Span rejected = tracer.start_span("request", {.kind = SpanKind::kServer, .root = true});
        rejected.set_attribute("error.type", "queue_full");
        rejected.set_status(StatusCode::kError, "rejected: queue full");
        static LogLimiter limiter(std::chrono::seconds(5));
        if (uint64_t skipped = 0; limiter.allow(skipped)) {
          DEMO_LOG(warn, "request rejected: queue full ({} more rejections since the last line)",
                   skipped);
        }
        const trace::ExemplarIds ids(rejected);
        if (ids) {
          m_.rejected.inc(1, {{"trace_id", ids.trace_id()}, {"span_id", ids.span_id()}});
        } else {
          m_.rejected.inc();
        }
      }
      if (accepted < n) {
        Counters::add(counters_->rejected, static_cast<uint64_t>(n - accepted));
      }
      if (accepted == 1) {
        cv_.notify_one();
      } else if (accepted > 1) {
        cv_.notify_all();
      }
    }
    next += kTick;
    const Clock::time_point now = Clock::now();
    if (next < now) next = now;  // fell behind (e.g. the machine was busy): do not burst
    std::this_thread::sleep_until(next);
  }
}

void Simulator::worker_loop(unsigned seed) {
  RequestSimulator sim(m_, *counters_, options_, seed);
  while (true) {
    Job job;
    size_t depth = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      depth = queue_.size();
    }
    m_.queue_depth.set(static_cast<double>(depth));
    m_.queue_wait.observe(std::chrono::duration<double>(Clock::now() - job.enqueued).count());

    // Carry the request's context across the queue: spans started on this thread while
    // `scope` lives are children of the request span (an explicit parent context).
    const uint64_t start_ns = unix_nanos_now();
    job.span.add_event("dequeued", {}, start_ns);
    const trace::ContextScope scope(job.span.context());
    double seconds = 0;
    if (job.pipeline) {
      m_.active_pipelines.inc();
      seconds = sim.pipeline(job.span, start_ns);
      sleep_simulated(seconds);
      m_.active_pipelines.dec();
    } else {
      m_.active_requests.inc();
      seconds = sim.chat(job.span, start_ns);
      sleep_simulated(seconds);
      m_.active_requests.dec();
    }
    job.span.end(start_ns + to_nanos(seconds));
  }
}

SimulationTotals Simulator::totals() const noexcept {
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  const Counters& c = *counters_;
  SimulationTotals t;
  t.requests = get(c.requests);
  t.succeeded = get(c.succeeded);
  t.failed = get(c.failed);
  t.release_requests = get(c.release_requests);
  t.release_failed = get(c.release_failed);
  t.rejected = get(c.rejected);
  t.llm_calls = get(c.llm_calls);
  t.prompt_tokens = get(c.prompt_tokens);
  t.completion_tokens = get(c.completion_tokens);
  t.cost_dollars = static_cast<double>(get(c.cost_microdollars)) / 1e6;
  t.tool_calls = get(c.tool_calls);
  t.tool_failures = get(c.tool_failures);
  t.cache_hits = get(c.cache_hits);
  t.cache_misses = get(c.cache_misses);
  t.pipeline_runs = get(c.pipeline_runs);
  t.pipeline_failures = get(c.pipeline_failures);
  return t;
}

}  // namespace vigil::demo
