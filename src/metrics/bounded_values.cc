#include "bounded_values.h"

#include <algorithm>
#include <new>

namespace vigil::metrics::detail {

BoundedValues::BoundedValues(size_t cap) : cap_(std::max<size_t>(cap, 1)) {
  size_t slots = 8;
  while (slots < cap_ * 2) slots *= 2;  // load factor at most 1/2: short probes
  mask_ = slots - 1;
  slots_ = std::make_unique<std::atomic<const std::string*>[]>(slots);
  for (size_t i = 0; i < slots; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  storage_.reserve(cap_);
}

BoundedValues::~BoundedValues() = default;

uint64_t BoundedValues::hash(std::string_view v) noexcept {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, 64-bit
  for (const char c : v) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string_view BoundedValues::admit(std::string_view value) noexcept {
  const uint64_t h = hash(value);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const std::string* s = slots_[i].load(std::memory_order_acquire);
    if (s == nullptr) break;
    if (*s == value) return *s;
  }
  if (count_.load(std::memory_order_relaxed) >= cap_) return fold();  // full: no lock
  return admit_slow(value, h);
}

std::string_view BoundedValues::fold() noexcept {
  folded_.fetch_add(1, std::memory_order_relaxed);
  fold_counter_.inc();
  return kOther;
}

std::string_view BoundedValues::admit_slow(std::string_view value, uint64_t h) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    const std::string* s = slots_[i].load(std::memory_order_relaxed);
    if (s == nullptr) break;
    if (*s == value) return *s;  // inserted by another thread meanwhile
  }
  if (storage_.size() >= cap_) return fold();
  try {
    storage_.push_back(std::make_unique<std::string>(value));
  } catch (const std::bad_alloc&) {
    return fold();
  }
  const std::string* s = storage_.back().get();
  slots_[i].store(s, std::memory_order_release);
  count_.store(storage_.size(), std::memory_order_relaxed);
  return *s;
}

}  // namespace vigil::metrics::detail
