// src/exporters/protobuf_wire.h (private): the protobuf wire-format primitives of vigil's
// hand-written encoders (remote_write_encoding.cc, otlp_metric_encoding.cc). They write at a raw
// pointer into room the caller has made (sizes are computed first, or a small stack buffer is
// used), so that the hot loops stay free of per-byte capacity checks.
//
// Example:
//   char buf[kMaxVarintSize + 8];
//   char* p = put_tag(buf, 1, WireType::kFixed64);
//   p = put_double(p, 0.5);
//   out.append(buf, static_cast<std::size_t>(p - buf));
//
// Thread-safety: pure functions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil::exporters::detail {

// A field's wire type (the low three bits of its tag).
enum class WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

// The most bytes a varint takes (a 64-bit value).
inline constexpr std::size_t kMaxVarintSize = 10;

// A field's tag: (field number << 3) | wire type.
constexpr uint32_t wire_tag(uint32_t field, WireType type) noexcept {
  return (field << 3) | static_cast<uint32_t>(type);
}

// The one-byte tag of a field numbered below 16 (for constants).
constexpr char wire_tag_byte(uint32_t field, WireType type) noexcept {
  return static_cast<char>(wire_tag(field, type));
}

// The number of bytes of `v` as a varint.
constexpr std::size_t varint_size(uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` as a varint at `p`; returns the end.
inline char* put_varint(char* p, uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Writes a tag (a varint) at `p`; returns the end.
inline char* put_tag(char* p, uint32_t field, WireType type) noexcept {
  return put_varint(p, wire_tag(field, type));
}

// Writes `v` as 8 little-endian bytes (fixed64, sfixed64) at `p`; returns the end.
inline char* put_fixed64(char* p, uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) {
    *p++ = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return p;
}

// Writes a double (its IEEE 754 bits as fixed64) at `p`; returns the end.
inline char* put_double(char* p, double v) noexcept {
  return put_fixed64(p, std::bit_cast<uint64_t>(v));
}

// Copies `s` to `p`; returns the end.
inline char* put_bytes(char* p, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// The size of a length-delimited field with a one-byte tag and `n` bytes of content.
constexpr std::size_t field_size(std::size_t n) noexcept { return 1 + varint_size(n) + n; }

// Writes a length-delimited field with the one-byte tag `tag`: tag, length, bytes.
inline char* put_field(char* p, char tag, std::string_view s) noexcept {
  *p++ = tag;
  p = put_varint(p, s.size());
  return put_bytes(p, s);
}

}  // namespace vigil::exporters::detail
