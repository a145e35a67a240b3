// src/metrics/bounded_values.h (internal): the set of values one label may take, capped.
//
//   BoundedValues tools(128);
//   std::string_view v = tools.admit("read_file");  // "read_file", or "other" past the cap
//
// admit() of a known value is lock-free: a hash, a probe of an open-addressing table of
// atomic pointers, a compare. A new value takes a mutex and allocates its copy (once); past the
// cap it is folded into "other" and counted (without the lock once the set is full). Returned
// views live as long as the set.
// Thread-safe; admit() never throws (an allocation failure folds the value).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/counter.h"

namespace vigil::metrics::detail {

class BoundedValues {
 public:
  static constexpr std::string_view kOther = "other";

  // `cap` distinct values (at least 1).
  explicit BoundedValues(size_t cap);
  ~BoundedValues();
  BoundedValues(const BoundedValues&) = delete;
  BoundedValues& operator=(const BoundedValues&) = delete;

  std::string_view admit(std::string_view value) noexcept;
  // Also counts each fold in `counter` (e.g. vigil_label_values_folded_total{label="tool"}).
  // Call before the set is shared.
  void count_folds_in(Counter counter) noexcept { fold_counter_ = std::move(counter); }
  uint64_t folded() const noexcept { return folded_.load(std::memory_order_relaxed); }
  size_t size() const noexcept { return count_.load(std::memory_order_relaxed); }
  size_t cap() const noexcept { return cap_; }

 private:
  static uint64_t hash(std::string_view v) noexcept;
  std::string_view admit_slow(std::string_view value, uint64_t h) noexcept;
  std::string_view fold() noexcept;

  size_t cap_;
  size_t mask_;
  std::unique_ptr<std::atomic<const std::string*>[]> slots_;
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> folded_{0};
  Counter fold_counter_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::string>> storage_;  // under mu_
};

}  // namespace vigil::metrics::detail
