// The flat span encoding of span_codec.h.
//
// Layout: a fixed Header, then the name, status message and tracestate bytes, then the
// attributes, events and links:
//   attribute: u32 key length, key, u8 type (AttributeValue index, | 0x80 for a replaced value
//              of a span's attribute log, skipped when decoding), value:
//              string: u32 length + bytes; bool: u8; int64/double: 8 bytes;
//              arrays: u32 count + elements (strings as length + bytes, bools as u8)
//   event:     u64 time, u32 dropped attributes, u32 name length, name, u32 count, attributes
//   link:      trace id (16), span id (8), u8 flags, u8 remote, u32 dropped attributes,
//              u32 tracestate length, tracestate, u32 count, attributes
// padded to a multiple of 8. A span's attributes section is its attribute list's entries followed
// by its attribute log as is (the log uses the same entry format). Values are copied with memcpy
// (no alignment needed).
#include "span_codec.h"

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "vigil/trace/span.h"

namespace vigil::trace::detail {
namespace {

struct Header {
  std::array<uint8_t, 16> trace_id;
  std::array<uint8_t, 8> span_id;
  std::array<uint8_t, 8> parent_span_id;
  uint64_t start_unix_nanos;
  uint64_t end_unix_nanos;
  const InstrumentationScope* scope;
  const Resource* resource;
  uint32_t dropped_attributes_count;
  uint32_t dropped_events_count;
  uint32_t dropped_links_count;
  uint32_t name_size;
  uint32_t status_message_size;
  uint32_t trace_state_size;
  uint32_t attribute_count;
  uint32_t event_count;
  uint32_t link_count;
  uint8_t flags;
  uint8_t kind;
  uint8_t status_code;
  uint8_t parent_remote;
  uint8_t remote;
};
static_assert(std::is_trivially_copyable_v<Header>);

constexpr std::size_t kU32 = sizeof(uint32_t);

std::size_t limited(std::size_t n, uint32_t length_limit) noexcept {
  return length_limit != 0 && n > length_limit ? length_limit : n;
}

// Encoded bytes of a value, strings cut to `length_limit` characters (0: unlimited).
std::size_t value_size(const AttributeValue& v, uint32_t length_limit = 0) noexcept {
  switch (v.index()) {
    case 1:
      return kU32 + limited(std::get<1>(v).size(), length_limit);
    case 2:
      return 1;
    case 3:
    case 4:
      return 8;
    case 5: {
      std::size_t n = kU32;
      for (const std::string& s : std::get<5>(v)) n += kU32 + limited(s.size(), length_limit);
      return n;
    }
    case 6:
      return kU32 + std::get<6>(v).size();
    case 7:
      return kU32 + 8 * std::get<7>(v).size();
    case 8:
      return kU32 + 8 * std::get<8>(v).size();
    default:
      return 0;
  }
}

std::size_t attributes_size(const AttributeList& list) noexcept {
  std::size_t n = kU32;  // count
  for (const KeyValue& kv : list) n += kU32 + kv.key.size() + 1 + value_size(kv.value);
  return n;
}

uint8_t arg_type(const AttributeArg& a) noexcept {
  switch (a.type()) {
    case AttributeArg::Type::kString:
      return 1;
    case AttributeArg::Type::kBool:
      return 2;
    case AttributeArg::Type::kInt:
      return 3;
    case AttributeArg::Type::kDouble:
      return 4;
    case AttributeArg::Type::kValue:
      break;
  }
  return static_cast<uint8_t>(a.value().index());
}

std::size_t arg_size(const AttributeArg& a, uint32_t length_limit) noexcept {
  switch (a.type()) {
    case AttributeArg::Type::kString:
      return kU32 + limited(a.string().size(), length_limit);
    case AttributeArg::Type::kBool:
      return 1;
    case AttributeArg::Type::kInt:
    case AttributeArg::Type::kDouble:
      return 8;
    case AttributeArg::Type::kValue:
      break;
  }
  return value_size(a.value(), length_limit);
}

// The first byte after an encoded value of `type`.
const char* skip_value(const char* p, uint8_t type) noexcept {
  uint32_t n = 0;
  switch (type) {
    case 1:
      std::memcpy(&n, p, kU32);
      return p + kU32 + n;
    case 2:
      return p + 1;
    case 3:
    case 4:
      return p + 8;
    case 5:
      std::memcpy(&n, p, kU32);
      p += kU32;
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t len;
        std::memcpy(&len, p, kU32);
        p += kU32 + len;
      }
      return p;
    case 6:
      std::memcpy(&n, p, kU32);
      return p + kU32 + n;
    case 7:
    case 8:
      std::memcpy(&n, p, kU32);
      return p + kU32 + std::size_t{8} * n;
    default:
      return p;
  }
}

class Writer {
 public:
  explicit Writer(char* p) noexcept : p_(p) {}
  template <typename T>
  void put(const T& v) noexcept {
    std::memcpy(p_, &v, sizeof v);
    p_ += sizeof v;
  }
  void bytes(std::string_view s) noexcept {
    copy_short(p_, s.data(), s.size());
    p_ += s.size();
  }
  void string(std::string_view s) noexcept {
    put(static_cast<uint32_t>(s.size()));
    bytes(s);
  }
  // The attributes section: the list's entries, then the log's (dead ones included).
  void attributes(const AttributeList& list, const AttributeLog* log = nullptr) noexcept {
    put(static_cast<uint32_t>(list.size() + (log != nullptr ? log->entries : 0)));
    for (const KeyValue& kv : list) {
      string(kv.key);
      put(static_cast<uint8_t>(kv.value.index()));
      value(kv.value);
    }
    if (log != nullptr && log->size != 0) {
      copy_short(p_, log->data, log->size);
      p_ += log->size;
    }
  }
  char* position() const noexcept { return p_; }
  void arg(const AttributeArg& a, uint32_t length_limit) noexcept {
    switch (a.type()) {
      case AttributeArg::Type::kString:
        string(a.string().substr(0, limited(a.string().size(), length_limit)));
        break;
      case AttributeArg::Type::kBool:
        put(static_cast<uint8_t>(a.boolean()));
        break;
      case AttributeArg::Type::kInt:
        put(a.integer());
        break;
      case AttributeArg::Type::kDouble:
        put(a.number());
        break;
      case AttributeArg::Type::kValue:
        value(a.value(), length_limit);
        break;
    }
  }
  void value(const AttributeValue& v, uint32_t length_limit = 0) noexcept {
    switch (v.index()) {
      case 1:
        string(std::string_view(std::get<1>(v))
                   .substr(0, limited(std::get<1>(v).size(), length_limit)));
        break;
      case 2:
        put(static_cast<uint8_t>(std::get<2>(v)));
        break;
      case 3:
        put(std::get<3>(v));
        break;
      case 4:
        put(std::get<4>(v));
        break;
      case 5:
        put(static_cast<uint32_t>(std::get<5>(v).size()));
        for (const std::string& s : std::get<5>(v)) {
          string(std::string_view(s).substr(0, limited(s.size(), length_limit)));
        }
        break;
      case 6:
        put(static_cast<uint32_t>(std::get<6>(v).size()));
        for (bool b : std::get<6>(v)) put(static_cast<uint8_t>(b));
        break;
      case 7:
        put(static_cast<uint32_t>(std::get<7>(v).size()));
        for (int64_t i : std::get<7>(v)) put(i);
        break;
      case 8:
        put(static_cast<uint32_t>(std::get<8>(v).size()));
        for (double d : std::get<8>(v)) put(d);
        break;
      default:
        break;
    }
  }

 private:
  char* p_;
};

class Reader {
 public:
  explicit Reader(const char* p) noexcept : p_(p) {}
  template <typename T>
  T get() noexcept {
    T v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  std::string_view bytes(std::size_t n) noexcept {
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  std::string_view string() noexcept { return bytes(get<uint32_t>()); }
  void skip(uint8_t type) noexcept { p_ = skip_value(p_, type); }
  void attributes(AttributeList& out) {
    out.clear();
    const uint32_t n = get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) {
      const std::string_view key = string();
      const uint8_t type = get<uint8_t>();
      if ((type & AttributeLog::kDead) != 0) {
        skip(type & ~AttributeLog::kDead);
        continue;
      }
      KeyValue& kv = out.next_slot();
      assign_string(kv.key, key);
      value(type, kv.value);
    }
  }
  void value(uint8_t type, AttributeValue& out) {
    switch (type) {
      case 1:
        assign(out, string());
        break;
      case 2:
        out = get<uint8_t>() != 0;
        break;
      case 3:
        out = get<int64_t>();
        break;
      case 4:
        out = get<double>();
        break;
      case 5: {
        auto& v = out.emplace<5>(get<uint32_t>());
        for (std::string& s : v) s.assign(string());
        break;
      }
      case 6: {
        auto& v = out.emplace<6>(get<uint32_t>());
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = get<uint8_t>() != 0;
        break;
      }
      case 7: {
        auto& v = out.emplace<7>(get<uint32_t>());
        for (int64_t& x : v) x = get<int64_t>();
        break;
      }
      case 8: {
        auto& v = out.emplace<8>(get<uint32_t>());
        for (double& x : v) x = get<double>();
        break;
      }
      default:
        out = std::monostate();
        break;
    }
  }

 private:
  const char* p_;
};

// The tracestate was validated when it entered the process; parse() keeps its canonical text.
void set_trace_state(TraceState& out, std::string_view header) {
  if (header.empty()) {
    out.clear();
  } else {
    out = TraceState::parse(header).value_or(TraceState());
  }
}

}  // namespace

namespace {
bool reserve(AttributeLog& log, std::size_t more) noexcept {
  const std::size_t need = log.size + more;
  if (need <= log.capacity) return true;
  if (need > UINT32_MAX / 2) return false;
  std::size_t cap = log.capacity == 0 ? 256 : log.capacity;
  while (cap < need) cap *= 2;
  char* data = new (std::nothrow) char[cap];
  if (data == nullptr) return false;
  if (log.size != 0) std::memcpy(data, log.data, log.size);
  delete[] log.data;
  log.data = data;
  log.capacity = static_cast<uint32_t>(cap);
  return true;
}
}  // namespace

namespace {
// Drops the dead entries (values replaced by later ones of another size), keeping the order of
// the live ones.
void compact(AttributeLog& log) noexcept {
  char* out = log.data;
  uint64_t bits = 0;
  for (const char* p = log.data; p != log.data + log.size;) {
    uint32_t key_size;
    std::memcpy(&key_size, p, kU32);
    const char* tp = p + kU32 + key_size;
    const auto t = static_cast<uint8_t>(*tp);
    const char* next = skip_value(tp + 1, t & ~AttributeLog::kDead);
    if ((t & AttributeLog::kDead) == 0) {
      const auto n = static_cast<std::size_t>(next - p);
      if (out != p) std::memmove(out, p, n);
      bits |= key_bit(std::string_view(out + kU32, key_size));
      out += n;
    }
    p = next;
  }
  log.size = static_cast<uint32_t>(out - log.data);
  log.entries = log.live;
  log.key_bits = bits;
}
}  // namespace

LogResult log_set_slow(AttributeLog& log, std::string_view key, const AttributeArg& value,
                       uint32_t count_limit, uint32_t length_limit) noexcept {
  // A key set again and again with values of changing size leaves dead entries behind: keep
  // them fewer than the live ones, so the log stays bounded by the attributes it holds.
  if (log.entries - log.live > log.live + 4) compact(log);
  const uint8_t type = arg_type(value);
  const std::size_t size = arg_size(value, length_limit);
  // An earlier value of the key: overwritten in place when the new one has the same encoded
  // size (numbers, bools, equal-length strings), else marked dead and appended anew.
  std::size_t dead_at = SIZE_MAX;
  const uint64_t bit = key_bit(key);
  for (const char* p = log.data; (log.key_bits & bit) != 0 && p != log.data + log.size;) {
    uint32_t key_size;
    std::memcpy(&key_size, p, kU32);
    const std::string_view k(p + kU32, key_size);
    const char* tp = p + kU32 + key_size;
    const auto t = static_cast<uint8_t>(*tp);
    const char* next = skip_value(tp + 1, t & ~AttributeLog::kDead);
    if ((t & AttributeLog::kDead) == 0 && equal_strings(k, key)) {
      if (static_cast<std::size_t>(next - tp - 1) == size) {
        char* at = log.data + (tp - log.data);
        *at = static_cast<char>(type);
        Writer(at + 1).arg(value, length_limit);
        return LogResult::kSet;
      }
      dead_at = static_cast<std::size_t>(tp - log.data);
      break;
    }
    p = next;
  }
  if (dead_at == SIZE_MAX && log.live >= count_limit) return LogResult::kLimit;
  if (!reserve(log, kU32 + key.size() + 1 + size)) return LogResult::kNoMemory;
  if (dead_at != SIZE_MAX) {
    log.data[dead_at] = static_cast<char>(log.data[dead_at] | AttributeLog::kDead);
  } else {
    ++log.live;
  }
  Writer w(log.data + log.size);
  w.string(key);
  w.put(type);
  w.arg(value, length_limit);
  log.size = static_cast<uint32_t>(w.position() - log.data);
  ++log.entries;
  log.key_bits |= bit;
  return LogResult::kSet;
}

uint32_t log_materialize(AttributeLog& log, AttributeList& out) noexcept {
  if (log.entries == 0) return 0;
  Reader r(log.data);
  uint32_t moved = 0;
  std::size_t size_before = out.size();
  try {
    for (uint32_t i = 0; i < log.entries; ++i) {
      const std::string_view key = r.string();
      const uint8_t type = r.get<uint8_t>();
      if ((type & AttributeLog::kDead) != 0) {
        r.skip(type & ~AttributeLog::kDead);
        continue;
      }
      size_before = out.size();
      KeyValue& kv = out.next_slot();
      assign_string(kv.key, key);
      r.value(type, kv.value);
      ++moved;
    }
  } catch (...) {
    // Out of memory: an entry half written is removed; it and the rest are reported lost.
    if (out.size() > size_before) out.pop_back();
  }
  const uint32_t lost = log.live - moved;
  log.clear();
  return lost;
}

std::size_t encoded_size(const SpanData& span, const AttributeLog& log) noexcept {
  std::size_t n = sizeof(Header) + span.name.size() + span.status.message.size() +
                  span.context.trace_state.header().size();
  n += (span.attributes.empty() ? kU32 : attributes_size(span.attributes)) + log.size;
  for (const Event& e : span.events) {
    n += 8 + kU32 + kU32 + e.name.size() + attributes_size(e.attributes);
  }
  for (const Link& l : span.links) {
    n += 16 + 8 + 2 + kU32 + kU32 + l.context.trace_state.header().size() +
         attributes_size(l.attributes);
  }
  // Events and links counts are in the header; the attributes count of the span is counted by
  // attributes_size.
  return (n + 7) & ~std::size_t{7};
}

void encode(const SpanData& span, const AttributeLog& log, char* out) noexcept {
  Header h;
  h.trace_id = span.context.trace_id.bytes();
  h.span_id = span.context.span_id.bytes();
  h.parent_span_id = span.parent_span_id.bytes();
  h.start_unix_nanos = span.start_unix_nanos;
  h.end_unix_nanos = span.end_unix_nanos;
  h.scope = span.scope;
  h.resource = span.resource;
  h.dropped_attributes_count = span.dropped_attributes_count;
  h.dropped_events_count = span.dropped_events_count;
  h.dropped_links_count = span.dropped_links_count;
  h.name_size = static_cast<uint32_t>(span.name.size());
  h.status_message_size = static_cast<uint32_t>(span.status.message.size());
  h.trace_state_size = static_cast<uint32_t>(span.context.trace_state.header().size());
  h.attribute_count = static_cast<uint32_t>(span.attributes.size() + log.entries);
  h.event_count = static_cast<uint32_t>(span.events.size());
  h.link_count = static_cast<uint32_t>(span.links.size());
  h.flags = span.context.flags.value;
  h.kind = static_cast<uint8_t>(span.kind);
  h.status_code = static_cast<uint8_t>(span.status.code);
  h.parent_remote = span.parent_remote ? 1 : 0;
  h.remote = span.context.remote ? 1 : 0;
  Writer w(out);
  w.put(h);
  w.bytes(span.name);
  w.bytes(span.status.message);
  w.bytes(span.context.trace_state.header());
  w.attributes(span.attributes, &log);
  for (const Event& e : span.events) {
    w.put(e.time_unix_nanos);
    w.put(e.dropped_attributes_count);
    w.string(e.name);
    w.attributes(e.attributes);
  }
  for (const Link& l : span.links) {
    w.put(l.context.trace_id.bytes());
    w.put(l.context.span_id.bytes());
    w.put(l.context.flags.value);
    w.put(static_cast<uint8_t>(l.context.remote ? 1 : 0));
    w.put(l.dropped_attributes_count);
    w.string(l.context.trace_state.header());
    w.attributes(l.attributes);
  }
}

void decode(const char* in, SpanData& out) {
  Reader r(in);
  const auto h = r.get<Header>();
  out.context.trace_id = TraceId(h.trace_id);
  out.context.span_id = SpanId(h.span_id);
  out.context.flags.value = h.flags;
  out.context.remote = h.remote != 0;
  out.parent_span_id = SpanId(h.parent_span_id);
  out.parent_remote = h.parent_remote != 0;
  out.kind = static_cast<SpanKind>(h.kind);
  out.start_unix_nanos = h.start_unix_nanos;
  out.end_unix_nanos = h.end_unix_nanos;
  out.scope = h.scope;
  out.resource = h.resource;
  out.dropped_attributes_count = h.dropped_attributes_count;
  out.dropped_events_count = h.dropped_events_count;
  out.dropped_links_count = h.dropped_links_count;
  assign_string(out.name, r.bytes(h.name_size));
  out.status.code = static_cast<StatusCode>(h.status_code);
  out.status.message.assign(r.bytes(h.status_message_size));
  set_trace_state(out.context.trace_state, r.bytes(h.trace_state_size));
  r.attributes(out.attributes);
  out.events.clear();
  for (uint32_t i = 0; i < h.event_count; ++i) {
    Event& e = out.events.next_slot();
    e.time_unix_nanos = r.get<uint64_t>();
    e.dropped_attributes_count = r.get<uint32_t>();
    assign_string(e.name, r.string());
    r.attributes(e.attributes);
  }
  out.links.clear();
  for (uint32_t i = 0; i < h.link_count; ++i) {
    Link& l = out.links.next_slot();
    l.context.trace_id = TraceId(r.get<std::array<uint8_t, 16>>());
    l.context.span_id = SpanId(r.get<std::array<uint8_t, 8>>());
    l.context.flags.value = r.get<uint8_t>();
    l.context.remote = r.get<uint8_t>() != 0;
    l.dropped_attributes_count = r.get<uint32_t>();
    set_trace_state(l.context.trace_state, r.string());
    r.attributes(l.attributes);
  }
}

}  // namespace vigil::trace::detail
