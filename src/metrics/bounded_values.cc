#include "bounded_values.h"

#include <algorithm>
#include <cstring>
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
  // Eight bytes per step, each mixed by a multiply and a shift: a few instructions per word
  // (label values are short), good enough for a table at most half full. The tail is read with
  // overlapping loads, not copied byte by byte (which stalls the load that follows).
  const char* p = v.data();
  const size_t size = v.size();
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ size;
  const auto mix = [&h](uint64_t w) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  };
  uint64_t w = 0;
  if (size >= 8) {
    size_t i = 0;
    for (; i + 8 < size; i += 8) {
      std::memcpy(&w, p + i, 8);
      mix(w);
    }
    std::memcpy(&w, p + size - 8, 8);  // the last 8 bytes, overlapping the previous word
  } else if (size >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + size - 4, 4);
    w = (uint64_t{a} << 32) | b;
  } else if (size > 0) {
    w = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
        (uint64_t{static_cast<unsigned char>(p[size / 2])} << 8) |
        static_cast<unsigned char>(p[size - 1]);
  }
  mix(w);
  return h ^ (h >> 29);
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
