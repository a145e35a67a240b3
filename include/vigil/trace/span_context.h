// vigil/trace/span_context.h: the part of a span that travels between processes: its ids, trace
// flags and W3C tracestate.
//
//   using namespace vigil::trace;
//   std::optional<TraceState> ts = TraceState::parse("rojo=1,congo=2");
//   SpanContext ctx{.trace_id = tid, .span_id = sid, .trace_state = *ts};
//   if (ctx.valid() && ctx.sampled()) forward(ctx);
//
// Thread-safety: plain values; concurrent reads are safe, writes need external
// synchronisation. Nothing here throws except std::bad_alloc and TraceState::with (invalid
// entries).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/trace/ids.h"

namespace vigil::trace {

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

}  // namespace vigil::trace
