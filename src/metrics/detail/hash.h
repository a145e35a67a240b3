// src/metrics/detail/hash.h (internal, not installed): the fast hash of a sequence of strings
// that the series index (family.cc) and the by-name cache (by_name.cc) key their tables with.
// Pure, thread-safe, noexcept; a few nanoseconds per 16 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace vigil::metrics::detail {

inline uint64_t mix(uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t load64(const char* p) noexcept {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint64_t load32(const char* p) noexcept {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// The bytes of one string folded into 64 bits without a call to memcpy for the tail:
// overlapping fixed-size loads, as in wyhash and friends.
inline uint64_t fold_bytes(const char* p, size_t n, uint64_t h) noexcept {
  while (n > 16) {
    h = (h ^ load64(p)) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ load64(p + 8)) * 0xC2B2AE3D27D4EB4FULL;
    p += 16;
    n -= 16;
  }
  uint64_t a, b;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
        (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) | static_cast<uint8_t>(p[n - 1]);
    b = 0;
  } else {
    a = b = 0;
  }
  h = (h ^ a) * 0x9E3779B97F4A7C15ULL;
  h = (h ^ b ^ n) * 0xC2B2AE3D27D4EB4FULL;
  return h ^ (h >> 31);
}

// A fast hash of a sequence of strings (length-aware, so ("ab","c") != ("a","bc")).
// The same, fed one string at a time (for strings that are not in one array): `count` strings.
class ValuesHasher {
 public:
  explicit ValuesHasher(size_t count) noexcept : h_(0x9E3779B97F4A7C15ULL ^ count) {}
  void add(std::string_view v) noexcept { h_ = fold_bytes(v.data(), v.size(), h_); }
  uint64_t done() const noexcept { return mix(h_); }

 private:
  uint64_t h_;
};

inline uint64_t hash_values(std::span<const std::string_view> values) noexcept {
  ValuesHasher h(values.size());
  for (std::string_view v : values) h.add(v);
  return h.done();
}

}  // namespace vigil::metrics::detail
