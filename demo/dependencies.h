// demo/dependencies.h: the simulated dependencies of the agent gateway (an LLM provider, a
// response cache, a vector store), their health checks, and a scheduled outage.
//
//   vigil::demo::Dependencies deps({.outage_every_seconds = 60, .outage_for_seconds = 20});
//   deps.register_checks(monitor, heartbeat);   // liveness, readiness, startup, "dependencies"
//   deps.start();                               // the outage clock starts now
//   bool up = deps.vector_store_up();           // read by the simulator's search tool
//   deps.stop();
//
// The vector store goes down for the last `outage_for` seconds of every `outage_every` seconds
// (e.g. 40-60 s, 100-120 s, ...): its readiness check fails, so /health/ready answers 503 while
// /health/live stays 200, and the simulator's "search" tool fails fast. A thread prints each
// transition. The LLM provider and the cache answer with simulated latencies; the cache
// sometimes answers slowly (a warn). The models "load" for `warmup_seconds` at start: the
// startup probe fails until then.
//
// Thread-safety: start() and stop() from one thread; everything else from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "vigil/health/heartbeat.h"
#include "vigil/health/monitor.h"

namespace vigil::demo {

struct DependencyOptions {
  double outage_every_seconds = 60;  // 0: no outage
  double outage_for_seconds = 20;
  double warmup_seconds = 3;
  bool print_transitions = true;
};

class Dependencies {
 public:
  explicit Dependencies(DependencyOptions options);
  ~Dependencies();  // stop()
  Dependencies(const Dependencies&) = delete;
  Dependencies& operator=(const Dependencies&) = delete;

  // Registers the gateway's health checks. Throws vigil::Error if a name is taken.
  void register_checks(health::HealthMonitor& monitor, const health::Heartbeat& dispatch_loop);

  // Starts the outage clock (and the thread that drives it). Call once.
  void start();
  void stop() noexcept;

  bool vector_store_up() const noexcept { return vector_store_up_.load(std::memory_order_relaxed); }
  bool models_loaded() const noexcept;

 private:
  void outage_loop();
  double elapsed() const noexcept;

  DependencyOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> vector_store_up_{true};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vigil::demo
