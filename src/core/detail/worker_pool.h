// Internal (vigil::core): the elastic thread pool that runs user functions that may hang (health
// checks, alert rule conditions).
//
// Threads are created on demand (when a task is queued and no thread is idle) up to
// max_threads, and retire after idle_timeout without work. Tasks are plain functions; the
// monitor wraps each check run in one. The pool knows nothing about timeouts: the monitor
// decides a run that takes too long, and the pool's only job is to keep a hung function from
// taking anything but its own thread.
//
// Shutdown: stop accepting, drop queued tasks, wait until a deadline for the threads to finish
// their current task, join those that did and detach those that did not (a function stuck in
// user code cannot be interrupted). Every thread holds the shared state it touches, so a
// detached thread never reads freed memory.
//
//   WorkerPool pool(8, std::chrono::seconds(60));
//   pool.submit([] { run_check(); });
//   size_t detached = pool.shutdown(Clock::now() + std::chrono::seconds(2));
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace vigil::detail {

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;

  // max_threads >= 1. No thread starts until the first submit().
  WorkerPool(int max_threads, std::chrono::milliseconds idle_timeout);
  // shutdown(now): threads busy in a task are detached.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task (run on a pool thread, in FIFO order). False after shutdown, or when no
  // thread exists and none can be created. Thread-safe; never throws (bad_alloc -> false).
  bool submit(std::function<void()> task) noexcept;

  // See above. Returns how many threads were detached. Idempotent (later calls return 0).
  // Thread-safe; never throws. Must not be called from a pool thread.
  size_t shutdown(Clock::time_point deadline) noexcept;

  struct Stats {
    size_t threads = 0;
    size_t idle = 0;
    size_t queued = 0;
    size_t peak_threads = 0;
  };
  Stats stats() const noexcept;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace vigil::detail
