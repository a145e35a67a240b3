// src/alerting/notify/delivery_queue.h (internal): a receiver's bounded queue of notifications,
// with the waits of its delivery thread (for work, and between retries) that end at once on stop.
//
//   DeliveryQueue<Job> q(1024);
//   if (!q.try_push(job)) count_drop();     // never blocks
//   while (auto j = q.pop()) deliver(*j);   // delivery thread; null once stopped
//   q.sleep_for(backoff);                   // false when stopped meanwhile
//
// Thread-safety: every member is safe from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace vigil::alerting::dispatch {

template <typename T>
class DeliveryQueue {
 public:
  explicit DeliveryQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // False when full or stopped (the item is not taken).
  bool try_push(std::shared_ptr<T> item) {
    {
      std::lock_guard lock(mu_);
      if (stopped_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    cv_.notify_all();
    return true;
  }
  // Adds even beyond capacity (redelivery at start-up); false when stopped.
  bool push_unbounded(std::shared_ptr<T> item) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return false;
      items_.push_back(std::move(item));
    }
    cv_.notify_all();
    return true;
  }
  // The next item; null once stopped.
  std::shared_ptr<T> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopped_ || !items_.empty(); });
    if (stopped_) return nullptr;
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  // Sleeps `d` unless stopped first; false when stopped.
  bool sleep_for(std::chrono::steady_clock::duration d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopped_; });
  }
  // Stops: pop() returns null, sleeps end; returns what was left queued.
  std::deque<std::shared_ptr<T>> stop() {
    std::deque<std::shared_ptr<T>> left;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      left.swap(items_);
    }
    cv_.notify_all();
    return left;
  }
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Room left before try_push() refuses.
  size_t free_slots() const {
    std::lock_guard lock(mu_);
    return stopped_ ? 0 : capacity_ - std::min(capacity_, items_.size());
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<T>> items_;
  bool stopped_ = false;
};

}  // namespace vigil::alerting::dispatch
