// A flat binary form of SpanData, for handing ended spans from the recording thread to the batch
// processor's worker through a byte ring: the recording thread copies its span into a few
// contiguous cache lines and keeps its pooled record, instead of passing the record (and its
// scattered buffers) to the worker's core and back.
//
// The encoding is private to one process (native byte order, raw scope/resource pointers); it
// is never written to a file or the network. decode() trusts its input: only encode() output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "vigil/trace/span.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace::detail {

// The attributes a recording span was given through the Span API, kept in their encoded form:
// setting one appends a few bytes (no std::string or variant to fill), and handing the span to
// the batch processor copies the log as it is. Entries: u32 key length, key, u8 type (the
// AttributeValue index; | kDead when a later value of the same key replaced it), value (see
// span_codec.cc). Not thread-safe; reused by pooled records (clear() keeps the buffer).
struct AttributeLog {
  static constexpr uint8_t kDead = 0x80;

  AttributeLog() = default;
  AttributeLog(const AttributeLog&) = delete;
  AttributeLog& operator=(const AttributeLog&) = delete;
  ~AttributeLog() { delete[] data; }

  void clear() noexcept {
    size = entries = live = 0;
    key_bits = 0;
  }
  bool empty() const noexcept { return entries == 0; }

  char* data = nullptr;
  uint32_t size = 0;      // bytes used
  uint32_t capacity = 0;  // bytes allocated
  uint32_t entries = 0;   // entries, dead ones included
  uint32_t live = 0;      // distinct keys
  uint64_t key_bits = 0;  // key_bit() of every key in the log: a clear bit means "not there"
};

enum class LogResult : uint8_t { kSet, kLimit, kNoMemory };

// Copies n bytes without a call to memcpy for the short strings keys and values mostly are
// (up to 128 bytes).
inline void copy_short(char* to, const char* from, std::size_t n) noexcept {
  if (n >= 8 && n <= 16) {
    std::memcpy(to, from, 8);
    std::memcpy(to + n - 8, from + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(to, from, 4);
    std::memcpy(to + n - 4, from + n - 4, 4);
  } else if (n > 16 && n <= 128) {
    // 16-byte moves, the last one overlapping: an attribute log or a long name, without the
    // call overhead of memcpy.
    std::size_t i = 0;
    for (; i + 16 < n; i += 16) std::memcpy(to + i, from + i, 16);
    std::memcpy(to + n - 16, from + n - 16, 16);
  } else if (n != 0) {
    std::memcpy(to, from, n);
  }
}

inline uint64_t key_bit(std::string_view key) noexcept {
  const std::size_t n = key.size();
  if (n == 0) return 1;
  const auto first = static_cast<unsigned char>(key[0]);
  const auto last = static_cast<unsigned char>(key[n - 1]);
  return uint64_t{1} << ((first * 7u + last * 3u + static_cast<unsigned>(n)) & 63u);
}

// The general case of log_set(): a key that may be there already, array values, limits, growth.
LogResult log_set_slow(AttributeLog& log, std::string_view key, const AttributeArg& value,
                       uint32_t count_limit, uint32_t length_limit) noexcept;

// Sets `key` to `value` in the log, replacing an earlier value of the key. kLimit when the key
// is new and the log already holds `count_limit` keys. Strings longer than `length_limit`
// (0: unlimited) are truncated. The common case (a new key with a scalar or string value and
// room in the buffer) is a few stores.
inline LogResult log_set(AttributeLog& log, std::string_view key, const AttributeArg& value,
                         uint32_t count_limit, uint32_t length_limit) noexcept {
  const uint64_t bit = key_bit(key);
  std::size_t value_size = 0;
  switch (value.type()) {
    case AttributeArg::Type::kString:
      value_size = 4 + value.string().size();
      if (length_limit != 0 && value.string().size() > length_limit) value_size = 0;
      break;
    case AttributeArg::Type::kBool:
      value_size = 1;
      break;
    case AttributeArg::Type::kInt:
    case AttributeArg::Type::kDouble:
      value_size = 8;
      break;
    case AttributeArg::Type::kValue:
      break;
  }
  const std::size_t need = 4 + key.size() + 1 + value_size;
  if ((log.key_bits & bit) != 0 || value_size == 0 || log.live >= count_limit ||
      log.size + need > log.capacity) [[unlikely]] {
    return log_set_slow(log, key, value, count_limit, length_limit);
  }
  char* p = log.data + log.size;
  const auto key_size = static_cast<uint32_t>(key.size());
  std::memcpy(p, &key_size, 4);
  copy_short(p + 4, key.data(), key.size());
  p += 4 + key.size();
  switch (value.type()) {
    case AttributeArg::Type::kString: {
      *p = 1;
      const auto n = static_cast<uint32_t>(value.string().size());
      std::memcpy(p + 1, &n, 4);
      copy_short(p + 5, value.string().data(), n);
      break;
    }
    case AttributeArg::Type::kBool:
      *p = 2;
      p[1] = value.boolean() ? 1 : 0;
      break;
    case AttributeArg::Type::kInt: {
      *p = 3;
      const int64_t v = value.integer();
      std::memcpy(p + 1, &v, 8);
      break;
    }
    case AttributeArg::Type::kDouble: {
      *p = 4;
      const double v = value.number();
      std::memcpy(p + 1, &v, 8);
      break;
    }
    case AttributeArg::Type::kValue:
      break;
  }
  log.size += static_cast<uint32_t>(need);
  ++log.entries;
  ++log.live;
  log.key_bits |= bit;
  return LogResult::kSet;
}
// Appends the log's live entries to `out` and empties the log. Returns how many could not be
// appended (out of memory), for the caller to count as dropped attributes.
uint32_t log_materialize(AttributeLog& log, AttributeList& out) noexcept;

// Bytes encode() writes for `span` and its attribute log (a multiple of 8).
std::size_t encoded_size(const SpanData& span, const AttributeLog& log) noexcept;
// Writes `span` (its attributes list, then the log) to `out` (encoded_size() bytes, 8-byte
// aligned).
void encode(const SpanData& span, const AttributeLog& log, char* out) noexcept;
// Reads a span written by encode() into `out`, reusing its buffers (cleared first). Throws only
// std::bad_alloc.
void decode(const char* in, SpanData& out);

}  // namespace vigil::trace::detail
