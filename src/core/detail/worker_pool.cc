#include "core/detail/worker_pool.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace vigil::detail {

struct WorkerPool::Shared {
  explicit Shared(int max, std::chrono::milliseconds idle_for)
      : max_threads(static_cast<size_t>(max < 1 ? 1 : max)), idle_timeout(idle_for) {}

  const size_t max_threads;
  const std::chrono::milliseconds idle_timeout;

  mutable std::mutex mu;
  std::condition_variable work_cv;  // a task was queued, or stopping
  std::condition_variable exit_cv;  // a thread finished
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  size_t alive = 0;    // threads started and not yet marked exited
  size_t idle = 0;     // threads waiting for work
  size_t wakeups = 0;  // idle threads already woken for a queued task
  size_t peak = 0;
  uint64_t next_id = 0;
  std::map<uint64_t, std::thread> threads;  // every thread not yet joined or detached
  std::vector<uint64_t> exited;             // ids of threads that have returned (joinable)

  // Joins the threads that have exited. Called with `mu` held; joining an exited thread only
  // waits for its last few instructions.
  void reap_locked() noexcept {
    for (uint64_t id : exited) {
      auto it = threads.find(id);
      if (it != threads.end()) {
        if (it->second.joinable()) it->second.join();
        threads.erase(it);
      }
    }
    exited.clear();
  }

  static void loop(const std::shared_ptr<Shared>& self, uint64_t id) noexcept {
    std::unique_lock lock(self->mu);
    while (!self->stopping) {
      if (self->queue.empty()) {
        ++self->idle;
        const bool woke = self->work_cv.wait_for(
            lock, self->idle_timeout, [&] { return self->stopping || self->wakeups > 0; });
        --self->idle;
        if (self->wakeups > 0) --self->wakeups;  // this thread answers one submit()
        if (!woke) break;                        // idle for too long: retire
        continue;
      }
      std::function<void()> task = std::move(self->queue.front());
      self->queue.pop_front();
      lock.unlock();
      try {
        task();
      } catch (...) {
        // Tasks catch their own exceptions; nothing may escape a pool thread.
      }
      task = nullptr;  // destroy the task's captures outside the lock
      lock.lock();
    }
    --self->alive;
    self->exited.push_back(id);
    self->exit_cv.notify_all();
  }
};

WorkerPool::WorkerPool(int max_threads, std::chrono::milliseconds idle_timeout)
    : shared_(std::make_shared<Shared>(max_threads, idle_timeout)) {}

WorkerPool::~WorkerPool() { shutdown(Clock::now()); }

bool WorkerPool::submit(std::function<void()> task) noexcept {
  Shared& s = *shared_;
  std::lock_guard lock(s.mu);
  if (s.stopping) return false;
  s.reap_locked();
  try {
    s.queue.push_back(std::move(task));
  } catch (...) {
    return false;
  }
  // Wake an idle thread that no earlier submit() has claimed; otherwise start one, up to the
  // limit; otherwise the task waits for a busy thread.
  if (s.idle > s.wakeups) {
    ++s.wakeups;
    s.work_cv.notify_one();
    return true;
  }
  if (s.alive < s.max_threads) {
    const uint64_t id = s.next_id++;
    try {
      std::thread t(&Shared::loop, shared_, id);
      s.threads.emplace(id, std::move(t));
      ++s.alive;
      if (s.alive > s.peak) s.peak = s.alive;
    } catch (...) {
      // std::system_error (no more threads) or bad_alloc: run on the threads there are.
      if (s.alive == 0) {
        s.queue.pop_back();
        return false;
      }
    }
  }
  return true;
}

size_t WorkerPool::shutdown(Clock::time_point deadline) noexcept {
  Shared& s = *shared_;
  std::deque<std::function<void()>> dropped;
  std::map<uint64_t, std::thread> leftover;
  {
    std::unique_lock lock(s.mu);
    if (s.stopping && s.threads.empty()) return 0;
    s.stopping = true;
    dropped.swap(s.queue);
    s.work_cv.notify_all();
    s.exit_cv.wait_until(lock, deadline, [&] { return s.alive == 0; });
    s.reap_locked();
    leftover.swap(s.threads);
  }
  dropped.clear();  // outside the lock: captures may be heavy
  size_t detached = 0;
  for (auto& [id, t] : leftover) {
    if (t.joinable()) {
      t.detach();  // still inside a task after the deadline; holds `shared_` itself
      ++detached;
    }
  }
  return detached;
}

WorkerPool::Stats WorkerPool::stats() const noexcept {
  const Shared& s = *shared_;
  std::lock_guard lock(s.mu);
  return Stats{s.alive, s.idle, s.queue.size(), s.peak};
}

}  // namespace vigil::detail
