// vigil/trace/span_data.h: the data model of tracing: ids, span contexts, attributes, events,
// links and SpanData, a finished span as exporters see it.
//
//   vigil::trace::TraceId id =
//   *vigil::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"); std::string hex =
//   id.to_hex();                       // "4bf92f35..."
//
//   void MyExporter::export_spans(std::span<const SpanData* const> spans, ...) {
//     for (const SpanData* s : spans) {
//       out << s->name << ' ' << s->context.trace_id.to_hex() << ' '
//           << (s->end_unix_nanos - s->start_unix_nanos) << "ns\n";
//       for (const KeyValue& kv : s->attributes) out << kv.key << '=' << to_string(kv.value);
//     }
//   }
//
// Ownership and reuse. The recording side keeps finished spans in per-thread pools and reuses
// them: SpanData::clear() empties a span but keeps every buffer it grew (strings, attribute,
// event and link storage), so a steady stream of spans allocates nothing. For that, the lists in
// a SpanData are `ReuseList`s, whose clear() keeps the elements around to be overwritten. An
// exporter receives `const SpanData*` that are valid only during the export call and must copy
// what it keeps; it never owns or frees them.
//
// Thread-safety: these are plain values. Concurrent reads are safe; writes need external
// synchronisation. Nothing here throws except std::bad_alloc from growing a container.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace vigil::trace {

// ---- Identifiers ---------------------------------------------------------------------------

namespace detail {
// a == b for short strings without a call to memcmp (attribute keys and span names are mostly
// 4 to 16 characters; a memcmp call costs more than the compare).
[[gnu::always_inline]] inline bool equal_strings(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  const auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  const auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return load8(x) == load8(y) && load8(x + n - 8) == load8(y + n - 8);
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}
// s = v, skipping the copy when s already holds v (pooled spans mostly see the same names and
// keys again, and a compare is cheaper than std::string::assign).
[[gnu::always_inline]] inline void assign_string(std::string& s, std::string_view v) {
  if (!equal_strings(s, v)) [[unlikely]] {
    s.assign(v);
  }
}
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

// ---- Trace state -----------------------------------------------------------------------------

// W3C tracestate: an ordered list of at most 32 vendor entries "key=value", kept as its
// (validated) header text so that copying and propagating it is one string copy. Build one with
// parse() (propagation) or with(); an empty TraceState costs nothing.
class TraceState {
 public:
  static constexpr std::size_t kMaxMembers = 32;
  static constexpr std::size_t kMaxHeaderSize = 512;

  TraceState() = default;

  // Parses a tracestate header value (several header lines joined with ',' first). Follows the
  // W3C rules: key and value grammar, at most 32 list members, optional whitespace (spaces and
  // horizontal tabs) around members ignored, empty members (",,", "") ignored. A key that occurs
  // again keeps its first (left-most, most recent) entry: the later ones are dropped, as the
  // W3C test suite allows ("foo=1,foo=2" gives "foo=1"). On any other violation returns
  // nullopt: the whole tracestate is discarded. Never throws (except std::bad_alloc).
  static std::optional<TraceState> parse(std::string_view header);

  // Whether `key` / `value` follow the W3C grammar. Keys: a simple key of 1 to 256 characters,
  // `[a-z0-9][a-z0-9_\-*/]*`, or a multi-tenant key `tenant@system` (tenant as a simple key of
  // at most 241 characters, system `[a-z][a-z0-9_\-*/]*` of at most 14). Values: 1 to 256
  // characters 0x20-0x7e except ',' and '=', not ending in a space.
  static bool valid_key(std::string_view key) noexcept;
  static bool valid_value(std::string_view value) noexcept;

  // The value of `key`, if present. Cost: linear in the header length.
  std::optional<std::string_view> get(std::string_view key) const noexcept;
  // A copy with `key=value` at the front (an existing entry of `key` is removed first), as a
  // vendor does when it updates its entry. Throws vigil::Error when key or value is invalid; the
  // last entries are dropped when the result would exceed 32 members.
  TraceState with(std::string_view key, std::string_view value) const;
  // A copy without `key`.
  TraceState without(std::string_view key) const;

  // The header text to send, e.g. "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".
  const std::string& header() const noexcept { return header_; }
  bool empty() const noexcept { return header_.empty(); }
  std::size_t size() const noexcept;  // number of members
  // Calls fn(key, value) for every member, in order.
  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) const;
  // Serialization limited to `max_size` characters by dropping whole entries (W3C: entries
  // longer than 128 characters first, then from the end).
  std::string header_truncated(std::size_t max_size = kMaxHeaderSize) const;

  void clear() noexcept { header_.clear(); }
  friend bool operator==(const TraceState&, const TraceState&) = default;

 private:
  std::string header_;
};

// The part of a span that travels between processes: ids, flags and tracestate.
struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  TraceFlags flags;
  TraceState trace_state;
  bool remote = false;  // extracted from a carrier, not created in this process

  // Both ids valid.
  bool valid() const noexcept { return trace_id.valid() && span_id.valid(); }
  bool sampled() const noexcept { return flags.sampled(); }
  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

// ---- Kinds and status ------------------------------------------------------------------------

// Values equal OTLP's SpanKind numbers.
enum class SpanKind : uint8_t {
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};
// "internal", "server", "client", "producer", "consumer".
std::string_view to_string(SpanKind kind) noexcept;

// Values equal OTLP's StatusCode numbers.
enum class StatusCode : uint8_t {
  kUnset = 0,
  kOk = 1,
  kError = 2,
};
// "unset", "ok", "error".
std::string_view to_string(StatusCode code) noexcept;

struct Status {
  StatusCode code = StatusCode::kUnset;
  std::string message;  // only meaningful with kError
};

// ---- Attributes ------------------------------------------------------------------------------

// A typed attribute value: string, bool, int64, double or a homogeneous array of one of them.
// std::monostate is the empty value (never set by the API).
using AttributeValue =
    std::variant<std::monostate, std::string, bool, int64_t, double, std::vector<std::string>,
                 std::vector<bool>, std::vector<int64_t>, std::vector<double>>;

// Text form of a value: strings as is, bools true/false, numbers in shortest round-trip form,
// arrays as JSON arrays. Allocates.
std::string to_string(const AttributeValue& value);

struct KeyValue {
  std::string key;
  AttributeValue value;
};

// A vector whose clear() keeps its elements (and their buffers) to be overwritten by the next
// push: what pooled spans use for attributes, events and links. Iteration covers only the live
// elements [0, size()). Not thread-safe.
template <typename T>
class ReuseList {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T* begin() noexcept { return items_.data(); }
  T* end() noexcept { return items_.data() + size_; }
  const T* begin() const noexcept { return items_.data(); }
  const T* end() const noexcept { return items_.data() + size_; }
  std::span<const T> view() const noexcept { return {items_.data(), size_}; }
  T& back() noexcept { return items_[size_ - 1]; }

  // A slot at the end holding whatever a previous use left in it: the caller overwrites every
  // field. Allocates only when the list grows past its previous peak.
  T& next_slot() {
    if (size_ == items_.size()) items_.emplace_back();
    return items_[size_++];
  }
  void push_back(T value) { next_slot() = std::move(value); }
  // Removes the last element (kept for reuse).
  void pop_back() noexcept { --size_; }
  // Empties the list; the elements stay allocated for reuse.
  void clear() noexcept { size_ = 0; }
  // Frees everything.
  void release() noexcept {
    items_.clear();
    items_.shrink_to_fit();
    size_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t size_ = 0;
};

// Attributes of a span, event, link or resource. set() replaces a value of the same key.
class AttributeList : public ReuseList<KeyValue> {
 public:
  // The value of `key`, or nullptr. Linear in size().
  const AttributeValue* find(std::string_view key) const noexcept {
    for (const KeyValue& kv : *this) {
      if (detail::equal_strings(kv.key, key)) return &kv.value;
    }
    return nullptr;
  }
  // The slot for `key`: its existing value or a new entry (the key written, the value left as
  // a previous use had it). Returns nullptr when `key` is new and the list already holds `limit`
  // entries (the caller counts the drop). Reuses buffers; allocates only to grow.
  AttributeValue* slot(std::string_view key, std::size_t limit) {
    for (KeyValue& kv : *this) {
      if (detail::equal_strings(kv.key, key)) return &kv.value;
    }
    if (size() >= limit) return nullptr;
    KeyValue& kv = next_slot();
    detail::assign_string(kv.key, key);
    return &kv.value;
  }
};

// Assigns into an existing AttributeValue, reusing its string/vector buffer when it already holds
// the same alternative.
void assign(AttributeValue& out, std::string_view v);
inline void assign(AttributeValue& out, const char* v) { assign(out, std::string_view(v)); }
inline void assign(AttributeValue& out, const std::string& v) { assign(out, std::string_view(v)); }
inline void assign(AttributeValue& out, bool v) noexcept { out = v; }
inline void assign(AttributeValue& out, int64_t v) noexcept { out = v; }
inline void assign(AttributeValue& out, double v) noexcept { out = v; }
void assign(AttributeValue& out, const AttributeValue& v);

// ---- Events, links, scope --------------------------------------------------------------------

struct Event {
  std::string name;
  uint64_t time_unix_nanos = 0;
  AttributeList attributes;
  uint32_t dropped_attributes_count = 0;
};

struct Link {
  SpanContext context;
  AttributeList attributes;
  uint32_t dropped_attributes_count = 0;
};

// The library that produced a span: the name and version a Tracer was obtained with.
struct InstrumentationScope {
  std::string name;
  std::string version;
  std::string schema_url;
};

class Resource;  // vigil/trace/resource.h

// ---- SpanData --------------------------------------------------------------------------------

// A finished span. Exporters read it; the recording side owns and reuses it.
struct SpanData {
  std::string name;
  SpanContext context;         // this span's trace id, span id, flags and tracestate
  SpanId parent_span_id;       // invalid (all zero) for a root span
  bool parent_remote = false;  // the parent came from another process
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nanos = 0;
  uint64_t end_unix_nanos = 0;
  Status status;
  AttributeList attributes;
  ReuseList<Event> events;
  ReuseList<Link> links;
  uint32_t dropped_attributes_count = 0;
  uint32_t dropped_events_count = 0;
  uint32_t dropped_links_count = 0;
  // The tracer's scope and the provider's resource. Never null in spans handed to exporters;
  // they outlive every span of their provider.
  const InstrumentationScope* scope = nullptr;
  const Resource* resource = nullptr;

  // Duration in nanoseconds (0 when end precedes start).
  uint64_t duration_nanos() const noexcept {
    return end_unix_nanos > start_unix_nanos ? end_unix_nanos - start_unix_nanos : 0;
  }
  // Resets every field to its default, keeping every buffer for reuse. Never allocates.
  void clear() noexcept;
  // A deep copy whose lists hold only the live elements (for exporters that keep spans, such
  // as the in-memory exporter). Allocates.
  SpanData clone() const;
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
