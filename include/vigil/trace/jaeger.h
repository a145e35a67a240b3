// vigil/trace/jaeger.h: spans as the JSON the Jaeger UI opens from a file ("JSON File" on its
// search page), so that a trace can be looked at in Jaeger without a collector.
//
//   auto memory = std::make_shared<vigil::trace::InMemorySpanStore>();  // behind an
//   ...                                                                  // InMemoryExporter
//   std::ofstream("trace.json") << vigil::trace::export_jaeger(*memory, span.trace_id());
//   // or every span the tracez store sampled: export_jaeger(*tracez_store), and over HTTP:
//   // GET /debug/tracez?format=jaeger[&trace_id=<32 hex>] (vigil/admin/tracez_endpoint.h)
//
// The shape is Jaeger's query API model (jaeger model/json): {"data": [trace, ...]}, one trace per
// trace id in order of first appearance:
//   {"traceID", "spans": [{"traceID", "spanID", "flags", "operationName",
//      "references": [{"refType": "CHILD_OF" (the parent) | "FOLLOWS_FROM" (links), "traceID",
//      "spanID"}], "startTime" (µs since the epoch), "duration" (µs), "tags": [{"key", "type":
//      "string" | "bool" | "int64" | "float64", "value"}], "logs": [{"timestamp" (µs), "fields"}],
//      "processID", "warnings": [...]}],
//    "processes": {"p1": {"serviceName", "tags"}}, "warnings": []}
// Mapping, as Jaeger's own OTLP translator does it: attributes -> tags; kind -> span.kind
// (omitted for internal); status -> otel.status_code ("OK"/"ERROR"), otel.status_description,
// and error=true for errors; scope -> otel.scope.name / otel.scope.version; events -> logs with
// an "event" field; arrays -> string tags holding the array as JSON; non-finite doubles -> string
// tags; resource -> the process (service.name as serviceName, the rest as tags); dropped counts ->
// span warnings. Spans of a trace are sorted by start time.
//
// A Jaeger collector (or the all-in-one image) also takes vigil's OTLP directly: point
// OTEL_EXPORTER_OTLP_ENDPOINT at http://jaeger:4318.
//
// Thread-safety: pure functions over copies (the stores are read under their own locks).
// Cost: ~1 µs per span plus the stores' copies. Never throws except std::bad_alloc.
#pragma once

#include <span>
#include <string>

#include "vigil/trace/exporters.h"
#include "vigil/trace/ids.h"
#include "vigil/trace/span_data.h"
#include "vigil/trace/tracez.h"

namespace vigil::trace {

// The Jaeger UI JSON of `spans` (any number of traces); {"data":[]} when empty.
std::string to_jaeger_json(std::span<const SpanData> spans);

// Every span the in-memory store holds, or the spans of one trace.
std::string export_jaeger(const InMemorySpanStore& store);
std::string export_jaeger(const InMemorySpanStore& store, const TraceId& trace_id);

// Every finished span the tracez store keeps as a sample (latency samples of every name and
// recent errors), or those of one trace. Running spans are not included.
std::string export_jaeger(const TracezStore& store);
std::string export_jaeger(const TracezStore& store, const TraceId& trace_id);

}  // namespace vigil::trace
