// src/exporters/otlp_encoding.h (private): SpanData to OTLP ExportTraceServiceRequest in the
// protobuf and JSON encodings, and the parsing of collector responses. Not installed; no
// protobuf or JSON type appears here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vigil/trace/span_data.h"

namespace vigil::detail {
class JsonWriter;
}  // namespace vigil::detail

namespace vigil::trace {
class Resource;
}  // namespace vigil::trace

namespace vigil::exporters::detail {

// Spans are grouped into one ResourceSpans per distinct resource and one ScopeSpans per
// distinct scope within it, in the order they first appear. Span flags carry the W3C trace
// flags in bits 0-7, bit 8 set (is-remote known) and bit 9 when the parent is remote.

// The protobuf encoding (application/x-protobuf), replacing `out`. False (with `error`) when
// the message cannot be serialised. Never throws except std::bad_alloc.
bool encode_protobuf(std::span<const trace::SpanData* const> spans, std::string& out,
                     std::string& error);

// The OTLP/JSON encoding (application/json): lowerCamelCase field names, trace and span ids as
// lowercase hex, enums as numbers, 64-bit integers as decimal strings, fields with default values
// left out. Invalid UTF-8 in strings is replaced by U+FFFD. Never throws except std::bad_alloc.
std::string encode_json(std::span<const trace::SpanData* const> spans);

// The OTLP/JSON value of a resource, {"attributes":[...]}, written where the writer stands (after
// a key or element()). For every signal's encoder. Never throws except std::bad_alloc.
void write_resource_json(vigil::detail::JsonWriter& w, const trace::Resource& resource);
// A list of attributes as OTLP/JSON: the "attributes" key (or `key`) and its array.
void write_attributes_json(vigil::detail::JsonWriter& w,
                           std::span<const trace::KeyValue> attributes,
                           std::string_view key = "attributes");

// The signal whose Export*ServiceResponse is parsed.
enum class OtlpSignal { kTraces, kMetrics, kLogs };

// An Export{Trace,Metrics,Logs}ServiceResponse's partial_success: rejected_spans,
// rejected_data_points or rejected_log_records.
struct PartialSuccess {
  int64_t rejected_spans = 0;  // (data points for metrics, log records for logs)
  std::string error_message;
};

// Parses a 2xx response body: protobuf, or JSON when `content_type` says JSON. nullopt when the
// body has no partial_success (or is empty, or cannot be parsed: the data was accepted either
// way). Never throws except std::bad_alloc.
std::optional<PartialSuccess> parse_export_response(std::string_view body,
                                                    std::string_view content_type,
                                                    OtlpSignal signal = OtlpSignal::kTraces);

// A short description of an error response body (google.rpc.Status in protobuf or JSON, or
// the start of a text body); "" when there is nothing readable. Never throws except
// std::bad_alloc.
std::string describe_error_body(std::string_view body, std::string_view content_type);

}  // namespace vigil::exporters::detail
