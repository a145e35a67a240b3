// A reader-writer lock for family indexes: readers (lookups of existing series) pay one atomic
// add and one atomic subtract; writers (creating or removing a series) are rare and exclusive.
// Writers announce themselves first, so a stream of readers cannot starve them.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

namespace vigil::metrics::detail {

class RwSpinLock {
 public:
  void lock_shared() noexcept {
    for (;;) {
      if (state_.fetch_add(1, std::memory_order_acquire) < kWriter) return;
      state_.fetch_sub(1, std::memory_order_relaxed);
      while (state_.load(std::memory_order_relaxed) >= kWriter) std::this_thread::yield();
    }
  }
  void unlock_shared() noexcept { state_.fetch_sub(1, std::memory_order_release); }

  void lock() {
    writers_.lock();
    state_.fetch_add(kWriter, std::memory_order_acquire);
    while (state_.load(std::memory_order_acquire) != kWriter) std::this_thread::yield();
  }
  void unlock() noexcept {
    state_.fetch_sub(kWriter, std::memory_order_release);
    writers_.unlock();
  }

 private:
  static constexpr int64_t kWriter = int64_t{1} << 40;
  std::atomic<int64_t> state_{0};
  std::mutex writers_;
};

}  // namespace vigil::metrics::detail
