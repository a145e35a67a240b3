// demo/guardrail.h: the demo's model release and the guardrail that rolls it back.
//
//   vigil::demo::DemoGuardrail guardrail(registry, {.bad_release_at_seconds = 5,
//                                                   .release_share = 0.3,
//                                                   .interval = 2s,
//                                                   .state_path = "state.db",
//                                                   .elapsed = seconds_since_start,
//                                                   .alerts = &manager});
//   Simulator sim(metrics, {..., .release_share = [&] { return guardrail.release_share(); }});
//   guardrail.start();   // the monitor's thread, and the release at its time
//   ...
//   guardrail.stop();
//
// The simulator labels every chat request with the model version that served it (`version`
// "v1", the stable one, or "v2", the release). A GuardrailMonitor "model-release" reads
// agent_requests_total (outcome label status) and agent_request_duration_seconds per version
// through a LiveSource, and judges v2 against v1 in cohort mode every `interval` (mSPRT on the
// success rate, Mann-Whitney on the latency; vigil/guardrail/monitor.h).
//
// With bad_release_at_seconds: at that time v2 takes `release_share` of the traffic (and it is
// worse: SimulatorOptions::release_extra_failure, release_latency_factor); the comparison
// restarts there. The monitor fails it, triggers, and its action "route-to-stable" sends all the
// traffic back to v1 (release_share() drops to 0). The console shows the release, the decision
// with each condition's reason, and the action's outcome; the comparison then restarts (v2 has no
// traffic: no verdict). Without it, v2 never gets traffic: the monitor watches v1 alone and
// every check is inconclusive ("no verdict"), never a failure.
//
// The audit trail (decisions, actions, events) goes to `state_path` when given (the same SQLite
// file as the alert state), else stays in memory; /api/v1/guardrails shows it (main.cc).
//
// Errors: the constructor throws vigil::Error when the monitor's options are refused.
// Thread-safety: start() and stop() from one thread; release_share() from any thread (the
// simulator's workers call it for every request).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "vigil/guardrail/monitor.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
class AlertManager;
}  // namespace vigil::alerting

namespace vigil::demo {

struct DemoGuardrailOptions {
  // When the release starts, in seconds since the demo started; nullopt: never.
  std::optional<double> bad_release_at_seconds;
  double release_share = 0.3;  // share of the chat requests v2 serves from then on, (0, 1]
  std::chrono::milliseconds interval{2000};  // between the monitor's checks
  std::string state_path;                    // SQLite audit trail ("" = memory only)
  // Seconds since the demo started (the release time and the console lines' "[t=12s]").
  std::function<double()> elapsed;
  // Where lines are printed; null: stdout.
  std::function<void(const std::string&)> print;
  alerting::AlertManager* alerts = nullptr;  // GuardrailTriggered is raised there (not owned)
};

class DemoGuardrail {
 public:
  static constexpr const char* kMonitorName = "model-release";

  DemoGuardrail(metrics::Registry& registry, DemoGuardrailOptions options);
  ~DemoGuardrail();  // stop()
  DemoGuardrail(const DemoGuardrail&) = delete;
  DemoGuardrail& operator=(const DemoGuardrail&) = delete;

  // The share of chat requests to route to v2 now: 0 before the release and after the rollback.
  double release_share() const noexcept { return share_.load(std::memory_order_relaxed); }
  bool rolled_back() const noexcept { return rolled_back_.load(std::memory_order_relaxed); }
  guardrail::GuardrailMonitor& monitor() noexcept { return *monitor_; }

  // Starts the comparison, the monitor's thread and the release timer. Call once.
  void start();
  // Stops the timer and the monitor (waits for a running rollback). Idempotent.
  void stop();

  // One line for the banner: what is watched, when the release comes.
  std::string description() const;

 private:
  void timer_loop();
  void print(const std::string& line) const;
  std::string prefix() const;  // "vigil-demo: [t=12s] "
  void print_decision();

  DemoGuardrailOptions options_;
  std::shared_ptr<guardrail::LiveSource> source_;
  std::unique_ptr<guardrail::GuardrailMonitor> monitor_;
  std::atomic<double> share_{0};
  std::atomic<bool> rolled_back_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace vigil::demo
