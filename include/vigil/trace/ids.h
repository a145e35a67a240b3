// vigil/trace/ids.h: trace and span ids and the W3C trace flags, as they appear in
// traceparent and OTLP.
//
//   using namespace vigil::trace;
//   TraceId id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
//   std::string hex = id.to_hex();            // "4bf92f35..."
//   bool sampled = TraceFlags{0x01}.sampled();  // true
//
// Thread-safety: plain values; concurrent reads are safe. Nothing here throws except
// std::bad_alloc from the functions that return a std::string.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::trace {

namespace detail {
constexpr uint64_t to_big_endian(uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}
}  // namespace detail
using detail::to_big_endian;

// A 128-bit trace id (16 bytes, big-endian as in W3C traceparent and OTLP). The all-zero id is
// invalid. Cost: copies are two 8-byte moves; to_hex ~10 ns.
class TraceId {
 public:
  static constexpr std::size_t kSize = 16;
  static constexpr std::size_t kHexSize = 32;

  // The invalid all-zero id.
  constexpr TraceId() noexcept = default;
  constexpr explicit TraceId(const std::array<uint8_t, kSize>& bytes) noexcept : bytes_(bytes) {}
  // From two 64-bit halves: `high` holds bytes 0..7, `low` bytes 8..15.
  static constexpr TraceId from_u64(uint64_t high, uint64_t low) noexcept {
    TraceId id;
    if (!std::is_constant_evaluated()) {
      const uint64_t halves[2] = {to_big_endian(high), to_big_endian(low)};
      std::memcpy(id.bytes_.data(), halves, kSize);
      return id;
    }
    for (int i = 0; i < 8; ++i) {
      id.bytes_[static_cast<std::size_t>(i)] = static_cast<uint8_t>(high >> (56 - 8 * i));
      id.bytes_[static_cast<std::size_t>(8 + i)] = static_cast<uint8_t>(low >> (56 - 8 * i));
    }
    return id;
  }
  // Exactly 32 lowercase hex digits (the W3C rule); anything else, upper case included, gives
  // nullopt. The all-zero id parses (check valid()). Never throws.
  static std::optional<TraceId> from_hex(std::string_view hex) noexcept;

  // False for the all-zero id.
  constexpr bool valid() const noexcept { return (load(0) | load(8)) != 0; }
  constexpr const std::array<uint8_t, kSize>& bytes() const noexcept { return bytes_; }
  constexpr uint64_t high() const noexcept { return load(0); }
  constexpr uint64_t low() const noexcept { return load(8); }

  // Writes 32 lowercase hex digits to out[0..31] (no terminator).
  void write_hex(char* out) const noexcept;
  std::string to_hex() const;

  // Two 8-byte compares (a defaulted == calls memcmp, measurable on span hot paths).
  friend constexpr bool operator==(const TraceId& a, const TraceId& b) noexcept {
    return a.load(0) == b.load(0) && a.load(8) == b.load(8);
  }

 private:
  constexpr uint64_t load(std::size_t at) const noexcept {
    if (!std::is_constant_evaluated()) {
      uint64_t raw;
      std::memcpy(&raw, bytes_.data() + at, 8);
      return to_big_endian(raw);  // the byte swap is its own inverse
    }
    uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | bytes_[at + i];
    return v;
  }
  std::array<uint8_t, kSize> bytes_{};
};

// A 64-bit span id (8 bytes, big-endian). The all-zero id is invalid.
class SpanId {
 public:
  static constexpr std::size_t kSize = 8;
  static constexpr std::size_t kHexSize = 16;

  constexpr SpanId() noexcept = default;
  constexpr explicit SpanId(const std::array<uint8_t, kSize>& bytes) noexcept : bytes_(bytes) {}
  static constexpr SpanId from_u64(uint64_t v) noexcept {
    SpanId id;
    if (!std::is_constant_evaluated()) {
      const uint64_t be = to_big_endian(v);
      std::memcpy(id.bytes_.data(), &be, kSize);
      return id;
    }
    for (int i = 0; i < 8; ++i) {
      id.bytes_[static_cast<std::size_t>(i)] = static_cast<uint8_t>(v >> (56 - 8 * i));
    }
    return id;
  }
  // Exactly 16 lowercase hex digits; anything else gives nullopt. Never throws.
  static std::optional<SpanId> from_hex(std::string_view hex) noexcept;

  constexpr bool valid() const noexcept { return to_u64() != 0; }
  constexpr const std::array<uint8_t, kSize>& bytes() const noexcept { return bytes_; }
  constexpr uint64_t to_u64() const noexcept {
    if (!std::is_constant_evaluated()) {
      uint64_t raw;
      std::memcpy(&raw, bytes_.data(), 8);
      return to_big_endian(raw);
    }
    uint64_t v = 0;
    for (uint8_t b : bytes_) v = (v << 8) | b;
    return v;
  }

  // Writes 16 lowercase hex digits to out[0..15] (no terminator).
  void write_hex(char* out) const noexcept;
  std::string to_hex() const;

  friend constexpr bool operator==(const SpanId& a, const SpanId& b) noexcept {
    return a.to_u64() == b.to_u64();
  }

 private:
  std::array<uint8_t, kSize> bytes_{};
};

// W3C trace flags (one byte). Bits other than these are kept as received but have no meaning.
struct TraceFlags {
  static constexpr uint8_t kSampled = 0x01;  // the caller may have recorded this trace
  static constexpr uint8_t kRandom = 0x02;  // level 2: the right 7 bytes of the trace id are random

  uint8_t value = 0;

  constexpr bool sampled() const noexcept { return (value & kSampled) != 0; }
  constexpr bool random() const noexcept { return (value & kRandom) != 0; }
  friend constexpr bool operator==(TraceFlags, TraceFlags) noexcept = default;
};

}  // namespace vigil::trace

template <>
struct std::hash<vigil::trace::TraceId> {
  std::size_t operator()(const vigil::trace::TraceId& id) const noexcept {
    return static_cast<std::size_t>(id.high() ^ (id.low() * 0x9E3779B97F4A7C15ull));
  }
};
template <>
struct std::hash<vigil::trace::SpanId> {
  std::size_t operator()(const vigil::trace::SpanId& id) const noexcept {
    return static_cast<std::size_t>(id.to_u64() * 0x9E3779B97F4A7C15ull);
  }
};
