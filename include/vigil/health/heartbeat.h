// vigil/health/heartbeat.h: a watchdog for a loop that must keep running (a liveness check).
//
// The loop calls beat() on every iteration; the check fails when no beat came within the
// deadline, so a stuck or dead loop makes liveness fail and Kubernetes restarts the process.
//
//   vigil::health::Heartbeat heartbeat(std::chrono::seconds(10));
//   monitor.add_liveness_check("dispatch_loop", heartbeat.check());
//   while (running) {
//     heartbeat.beat();  // ~5 ns: one relaxed atomic store of a coarse clock
//     dispatch();
//   }
//
// The deadline counts from construction until the first beat, so a loop that never starts
// fails too. Heartbeat is a handle to shared state: copies beat the same heartbeat, and the
// check keeps the state alive, so the Heartbeat object may be destroyed before the monitor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "vigil/health/result.h"

namespace vigil::health {

class Heartbeat {
 public:
  // Throws vigil::Error unless deadline > 0. Cost: one allocation.
  explicit Heartbeat(std::chrono::milliseconds deadline);

  // Records a beat now. Thread-safe (any thread may beat); noexcept; ~5 ns, no allocation.
  void beat() const noexcept;

  // Seconds since the last beat (or since construction). Resolution: the kernel tick (1-4 ms).
  // Thread-safe; noexcept.
  double seconds_since_last_beat() const noexcept;

  // The deadline given at construction. Thread-safe; noexcept.
  std::chrono::milliseconds deadline() const noexcept;

  // The check: pass "last beat 0.2 s ago (deadline 10 s)" while the last beat is within the
  // deadline, fail "no beat for 14.1 s (deadline 10 s)" after; observed value: seconds since
  // the last beat. The returned function holds the shared state. Thread-safe; cost: allocation.
  std::function<CheckResult()> check() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace vigil::health
