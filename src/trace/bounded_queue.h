// Private to vigil::trace: a bounded lock-free multi-producer multi-consumer queue of small
// trivially copyable values (D. Vyukov's design: one sequence number per slot). The batch span
// processor uses it, with one consumer, for spans that do not fit in their thread's ring.
//
//   BoundedMpmcQueue<SpanRecord*> q(1000);  // capacity rounded up to 1024
//   if (!q.try_push(rec)) drop(rec);        // full
//   SpanRecord* r;
//   while (q.try_pop(r)) use(r);
//
// Thread safety: try_push and try_pop from any number of threads; approx_size() is a snapshot
// that may be stale by the time it returns. Never allocates after construction; never blocks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace vigil::trace::detail {

template <class T>
class BoundedMpmcQueue {
  static_assert(std::is_trivially_copyable_v<T>,
                "BoundedMpmcQueue holds trivially copyable values");

 public:
  // Room for at least `min_capacity` values (at least 1): the next power of two.
  explicit BoundedMpmcQueue(std::size_t min_capacity) {
    std::size_t cap = 1;
    while (cap < min_capacity) cap <<= 1;
    slots_ = std::make_unique<Slot[]>(cap);
    for (std::size_t i = 0; i < cap; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    mask_ = cap - 1;
  }
  BoundedMpmcQueue(const BoundedMpmcQueue&) = delete;
  BoundedMpmcQueue& operator=(const BoundedMpmcQueue&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Appends `value`; false when the queue is full.
  bool try_push(T value) noexcept {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    while (true) {
      Slot& s = slots_[pos & mask_];
      const std::size_t seq = s.seq.load(std::memory_order_acquire);
      const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          s.value = value;
          s.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  // Takes the oldest value into `out`; false (and `out` untouched) when the queue is empty.
  bool try_pop(T& out) noexcept {
    std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    while (true) {
      Slot& s = slots_[pos & mask_];
      const std::size_t seq = s.seq.load(std::memory_order_acquire);
      const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = s.value;
          s.seq.store(pos + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  // How many values are queued, as of some recent moment.
  std::size_t approx_size() const noexcept {
    const std::size_t e = enqueue_pos_.load(std::memory_order_relaxed);
    const std::size_t d = dequeue_pos_.load(std::memory_order_relaxed);
    return e > d ? e - d : 0;
  }

 private:
  struct Slot {
    std::atomic<std::size_t> seq;
    T value;
  };
  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_ = 0;
  alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace vigil::trace::detail
