#include "simulator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string_view>

namespace vigil::demo {
namespace {

using Clock = std::chrono::steady_clock;

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
  std::atomic<uint64_t> requests{0}, succeeded{0}, failed{0}, rejected{0}, llm_calls{0},
      prompt_tokens{0}, completion_tokens{0}, cost_microdollars{0}, tool_calls{0}, tool_failures{0},
      cache_hits{0}, cache_misses{0}, pipeline_runs{0}, pipeline_failures{0};

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
};

// One worker's view of the simulation: its own random generator, shared metrics and totals.
class RequestSimulator {
 public:
  RequestSimulator(GatewayMetrics& m, Simulator::Counters& c, const SimulatorOptions& o,
                   unsigned seed)
      : m_(m), c_(c), options_(o), rng_(seed) {}

  // Serves one chat request; returns its simulated duration in seconds.
  double chat() {
    const size_t mi = model_dist_(rng_);
    const ModelSpec& model = kModels[mi];
    double seconds = lognormal(0.002, 0.3);  // response cache lookup

    std::string_view status = "success";
    uint64_t prompt_total = 0, completion_total = 0;
    if (cache_lookup(kResponseCache, kResponseCacheHitRate)) {
      seconds += lognormal(0.01, 0.5);  // serve the cached answer
    } else {
      // The agent loop: LLM call, tool calls, LLM call again with the results, ...
      const int iterations = 1 + std::min(3, geometric_(rng_));
      double context = lognormal(900, 0.6);  // prompt tokens: system prompt, history, question
      for (int it = 0; it < iterations; ++it) {
        const bool final_answer = it + 1 == iterations;
        const LlmResult r = llm_call(mi, context, final_answer ? 260 : 70);
        seconds += r.seconds;
        prompt_total += r.prompt_tokens;
        completion_total += r.completion_tokens;
        if (r.status != "success") {
          status = r.status;
          break;
        }
        context += static_cast<double>(r.completion_tokens);
        if (!final_answer) {
          const int tools = 1 + (uniform() < 0.3 ? 1 : 0);
          for (int t = 0; t < tools; ++t) {
            seconds += tool_call();
            context += lognormal(400, 0.8);  // the tool's result goes back into the prompt
          }
        }
      }
      if (status == "success") cache_insert(kResponseCache);
    }

    m_.request_latency[provider_index(model.provider)].observe(seconds);
    m_.requests.labels(model.provider, model.model, status).inc();
    if (prompt_total > 0) m_.prompt_tokens_per_request.observe(static_cast<double>(prompt_total));
    if (completion_total > 0) {
      m_.completion_tokens_per_request.observe(static_cast<double>(completion_total));
    }
    Simulator::Counters::add(c_.requests);
    Simulator::Counters::add(status == "success" ? c_.succeeded : c_.failed);
    return seconds;
  }

  // Runs one pipeline; returns its simulated duration in seconds.
  double pipeline() {
    const size_t pi = uniform() < 0.6 ? 0 : 1;
    const PipelineSpec& spec = kPipelines[pi];
    GatewayMetrics::PipelineHandles& h = m_.pipelines[pi];
    // Pipelines use a fixed model: the cheap one for planning, the strong one for writing.
    static const size_t kPlanner = model_index("gpt-4o-mini");
    static const size_t kWriter = model_index("claude-3-5-sonnet");

    double total = 0;
    std::string_view run_status = "completed";
    for (size_t s = 0; s < spec.steps.size(); ++s) {
      const PipelineStepSpec& step = spec.steps[s];
      double seconds = lognormal(step.median_seconds, 0.5);
      bool ok = uniform() >= step.failure_rate;
      if (ok && step.llm) {
        const LlmResult r = llm_call(step.name == "summarize" ? kWriter : kPlanner,
                                     lognormal(2500, 0.5), step.name == "summarize" ? 700 : 150);
        seconds += r.seconds;
        ok = r.status == "success";
      }
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
      m_.caches[cache].hits.inc();
      Simulator::Counters::add(c_.cache_hits);
    } else {
      m_.caches[cache].misses.inc();
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
    m_.caches[cache].evictions.inc();  // full: the oldest entry makes room
  }

  LlmResult llm_call(size_t mi, double prompt_tokens, double completion_median) {
    const ModelSpec& model = kModels[mi];
    GatewayMetrics::ModelHandles& h = m_.models[mi];
    LlmResult r;
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
      h.llm_latency.observe(r.seconds);
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
    h.prompt_tokens.inc(static_cast<double>(r.prompt_tokens));
    h.completion_tokens.inc(static_cast<double>(r.completion_tokens));
    h.cost.inc(cost);  // fractional dollars
    h.llm_latency.observe(r.seconds);
    Simulator::Counters::add(c_.prompt_tokens, r.prompt_tokens);
    Simulator::Counters::add(c_.completion_tokens, r.completion_tokens);
    Simulator::Counters::add(c_.cost_microdollars, static_cast<uint64_t>(std::llround(cost * 1e6)));
    return r;
  }

  // One tool call (through the tool cache for cacheable tools); returns simulated seconds.
  double tool_call() {
    const size_t ti = tool_dist_(rng_);
    const ToolSpec& tool = kTools[ti];
    if (tool.cacheable && cache_lookup(kToolCache, kToolCacheHitRate)) {
      return lognormal(0.001, 0.3);
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
    m_.tools[ti].latency.observe(seconds);
    m_.tool_calls.labels(tool.name, status).inc();
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
          queue_.push_back(Job{.pipeline = unit(rng) < kPipelineShare, .enqueued = now});
        }
        depth = queue_.size();
      }
      m_.queue_depth.set(static_cast<double>(depth));
      if (accepted < n) {
        m_.rejected.inc(static_cast<double>(n - accepted));
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
      job = queue_.front();
      queue_.pop_front();
      depth = queue_.size();
    }
    m_.queue_depth.set(static_cast<double>(depth));
    m_.queue_wait.observe(std::chrono::duration<double>(Clock::now() - job.enqueued).count());

    if (job.pipeline) {
      m_.active_pipelines.inc();
      sleep_simulated(sim.pipeline());
      m_.active_pipelines.dec();
    } else {
      m_.active_requests.inc();
      sleep_simulated(sim.chat());
      m_.active_requests.dec();
    }
  }
}

SimulationTotals Simulator::totals() const noexcept {
  const auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  const Counters& c = *counters_;
  SimulationTotals t;
  t.requests = get(c.requests);
  t.succeeded = get(c.succeeded);
  t.failed = get(c.failed);
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
