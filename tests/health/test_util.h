// Helpers for the vigil::health tests: checks whose result a test controls, a gate a check can
// block on (a hung dependency), and a stopwatch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "vigil/health/result.h"

namespace vigil::health::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A check result the test sets; the check function counts its calls.
class Switch {
 public:
  explicit Switch(Status s = Status::kPass, std::string output = {})
      : status_(s), output_(std::move(output)) {}
  void set(Status s, std::string output = {}) {
    std::lock_guard lock(mu_);
    status_ = s;
    output_ = std::move(output);
  }
  CheckResult operator()() {
    calls_.fetch_add(1);
    std::lock_guard lock(mu_);
    return CheckResult{status_, output_, std::nullopt, {}};
  }
  int calls() const { return calls_.load(); }
  // A callable referring to this switch (which must outlive the monitor).
  auto fn() {
    return [this] { return (*this)(); };
  }

 private:
  std::mutex mu_;
  Status status_;
  std::string output_;
  std::atomic<int> calls_{0};
};

// Blocks callers of wait() until open() (or their own limit); counts who is inside.
class Gate {
 public:
  // Returns whether the gate was opened (false: the limit ran out).
  bool wait(std::chrono::milliseconds limit = 10s) {
    inside_.fetch_add(1);
    std::unique_lock lock(mu_);
    const bool opened = cv_.wait_for(lock, limit, [&] { return open_; });
    inside_.fetch_sub(1);
    return opened;
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int inside() const { return inside_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::atomic<int> inside_{0};
};

class Stopwatch {
 public:
  double ms() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }

 private:
  Clock::time_point start_ = Clock::now();
};

// Polls `pred` every 5 ms until it holds or `limit` passes; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

}  // namespace vigil::health::testing
