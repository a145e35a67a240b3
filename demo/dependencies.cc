#include "dependencies.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "demo_log.h"
#include "gateway_metrics.h"
#include "vigil/health/resource_checks.h"

namespace vigil::demo {
namespace {

using namespace std::chrono_literals;
using health::CheckResult;

double lognormal(double median, double sigma) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::lognormal_distribution<double> d(std::log(median), sigma);
  return d(rng);
}

double uniform() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string ms_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, seconds < 0.01 ? "%.1f ms" : "%.0f ms", seconds * 1000);
  return buf;
}

// A simulated round trip: sleeps for a fraction of the simulated latency (capped), so checks
// take real time without slowing the demo down.
void simulate_round_trip(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(seconds / 10, 0.05)));
}

}  // namespace

Dependencies::Dependencies(DependencyOptions options)
    : options_(options), started_(std::chrono::steady_clock::now()) {}

Dependencies::~Dependencies() { stop(); }

double Dependencies::elapsed() const noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

bool Dependencies::models_loaded() const noexcept { return elapsed() >= options_.warmup_seconds; }

void Dependencies::register_checks(health::HealthMonitor& monitor,
                                   const health::Heartbeat& dispatch_loop) {
  // Liveness: is the process itself working? Keep it to things a restart would fix.
  monitor.add_liveness_check("dispatch_loop", dispatch_loop.check(),
                             {.component_type = "component", .measurement = "heartbeat"});
  monitor.add_liveness_check("process_memory", health::process_memory_check(),
                             {.component_type = "system", .measurement = "rss", .interval = 5s});

  // Startup: the models are loaded (once). Checked in the background too, so the readiness
  // gauge (vigil_health_status) turns 1 without a probe asking for /health/ready.
  monitor.add_startup_check(
      "models",
      [this]() -> CheckResult {
        const double t = elapsed();
        const int total = static_cast<int>(kModels.size());
        if (t >= options_.warmup_seconds) {
          return CheckResult::pass(std::to_string(total) + " models loaded")
              .observe(total, "models");
        }
        const int loaded = static_cast<int>(total * t / std::max(options_.warmup_seconds, 1e-9));
        return CheckResult::fail("loading models: " + std::to_string(loaded) + " of " +
                                 std::to_string(total))
            .observe(loaded, "models");
      },
      {.interval = 1s});

  // Readiness: the dependencies a request needs. Refreshed in the background, so probes answer
  // at once; hysteresis keeps one bad answer from flapping readiness.
  const std::vector<std::string> deps = {"readiness", "dependencies"};
  monitor.add_check("llm_provider",
                    []() -> CheckResult {
                      const double s = lognormal(0.35, 0.4);
                      simulate_round_trip(s);
                      CheckResult r =
                          s < 1.5 ? CheckResult::pass("GET /v1/models answered in " + ms_text(s))
                                  : CheckResult::warn("slow: GET /v1/models took " + ms_text(s));
                      return std::move(r).observe(std::round(s * 1000), "ms");
                    },
                    {.groups = deps,
                     .timeout = 3s,
                     .component_type = "component",
                     .measurement = "responseTime",
                     .failure_threshold = 3,
                     .interval = 2s});
  monitor.add_check("cache",
                    []() -> CheckResult {
                      const bool slow = uniform() < 0.05;
                      const double s = slow ? lognormal(0.15, 0.3) : lognormal(0.0004, 0.3);
                      simulate_round_trip(s);
                      CheckResult r = slow ? CheckResult::warn("slow: PING took " + ms_text(s))
                                           : CheckResult::pass("PING -> PONG in " + ms_text(s));
                      return std::move(r).observe(std::round(s * 10000) / 10, "ms");
                    },
                    {.groups = deps,
                     .timeout = 1s,
                     .critical = false,  // requests still work without the cache, only slower
                     .component_type = "datastore",
                     .measurement = "responseTime",
                     .interval = 1s});
  monitor.add_check(
      "vector_store",
      [this]() -> CheckResult {
        if (!vector_store_up()) {
          std::string out = "connection refused: vector-store:6333 (simulated outage";
          if (options_.outage_every_seconds > 0) {
            const double t = elapsed();
            const double left =
                options_.outage_every_seconds - std::fmod(t, options_.outage_every_seconds);
            out += ", back in " + std::to_string(static_cast<int>(std::ceil(left))) + " s";
          }
          return CheckResult::fail(out + ")");
        }
        const double s = lognormal(0.012, 0.4);
        simulate_round_trip(s);
        return CheckResult::pass("top-k query answered in " + ms_text(s))
            .observe(std::round(s * 1000), "ms");
      },
      {.groups = deps,
       .timeout = 2s,
       .component_type = "datastore",
       .measurement = "responseTime",
       .failure_threshold = 2,
       .success_threshold = 2,
       .interval = 1s});

  // Resources: worth a look, not a reason to stop traffic.
  monitor.add_check(
      "disk", health::disk_space_check({.path = "/"}),
      {.critical = false, .component_type = "system", .measurement = "free", .interval = 10s});
  monitor.add_check("system_memory", health::system_memory_check(),
                    {.critical = false,
                     .component_type = "system",
                     .measurement = "utilization",
                     .interval = 5s});
  monitor.add_check("file_descriptors", health::file_descriptor_check(),
                    {.critical = false,
                     .component_type = "system",
                     .measurement = "utilization",
                     .interval = 5s});
}

void Dependencies::start() {
  if (options_.outage_every_seconds > 0 && options_.outage_for_seconds > 0) {
    thread_ = std::thread([this] { outage_loop(); });
  }
}

void Dependencies::stop() noexcept {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Down during [k * every + (every - for), (k + 1) * every).
void Dependencies::outage_loop() {
  const double every = options_.outage_every_seconds;
  const double down_for = options_.outage_for_seconds;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const double t = elapsed();
    const double phase = std::fmod(t, every);
    const bool down = phase >= every - down_for;
    if (down == vector_store_up_.load()) {
      vector_store_up_.store(!down);
      if (down) {
        DEMO_LOG(error, "vector_store outage: connection refused for {}s, readiness fails",
                 down_for);
      } else {
        DEMO_LOG(info, "vector_store recovered: connections accepted, readiness passes");
      }
      if (options_.print_transitions) {
        if (down) {
          std::printf(
              "vigil-demo: [t=%.0fs] vector_store is DOWN (simulated outage for %gs): "
              "/health/ready turns 503\n",
              t, down_for);
        } else {
          std::printf("vigil-demo: [t=%.0fs] vector_store is back UP\n", t);
        }
        std::fflush(stdout);
      }
    }
    const double next = down ? every - phase : every - down_for - phase;
    cv_.wait_for(lock, std::chrono::duration<double>(std::max(next, 0.001) + 0.001));
  }
}

}  // namespace vigil::demo
