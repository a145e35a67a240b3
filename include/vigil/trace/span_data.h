// vigil/trace/span_data.h: SpanData, a finished span as exporters see it, with its kind, status,
// events and links. It includes the rest of the data model, each in its own header: ids
// (ids.h), span contexts and tracestate (span_context.h), attributes (attributes.h).
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

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/trace/attributes.h"
#include "vigil/trace/ids.h"
#include "vigil/trace/span_context.h"

namespace vigil::trace {

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
