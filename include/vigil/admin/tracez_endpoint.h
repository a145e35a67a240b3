// vigil/admin/tracez_endpoint.h: the tracez view (OpenCensus zPages style) as JSON on the admin
// server: running spans, recent spans per name in latency buckets, recent errors.
//
//   auto tracez = std::make_unique<vigil::trace::TracezProcessor>();
//   std::shared_ptr<vigil::trace::TracezStore> store = tracez->store();
//   ... add `tracez` to the provider's processors (EnvironmentConfigOptions::extra_processors) ...
//   vigil::admin::add_tracez_endpoint(server, store);   // GET /debug/tracez
//   // curl 'http://127.0.0.1:9464/debug/tracez?name=llm_call'
//
// GET <path> answers application/json:
//   {"time_unix_nanos": ..., "latency_buckets": ["[0,10us)", ..., "[100s,inf)"],
//    "limits": {"max_span_names": 128, "samples_per_bucket": 4, "errors_per_name": 8,
//               "max_running": 1024},
//    "running": [{"name","trace_id","span_id","parent_span_id","kind","start_unix_nanos",
//                 "elapsed_ns"}, ...],                               // oldest first
//    "running_untracked": 0, "spans_untracked": 0,
//    "spans": [{"name": "llm_call", "running": 2, "latency": [0, 0, 3, ...], "errors": 1,
//               "samples": {"[1ms,10ms)": [span...], ...}, "error_samples": [span...]}, ...],
//    "recent_errors": [span...]}                                     // newest first
// where a span is {"name","trace_id","span_id","parent_span_id","kind","start_unix_nanos",
// "end_unix_nanos","duration_ns","status":{"code","message"},"attributes":{...},
// "events":[{"name","time_unix_nanos","attributes"}]}. "samples" and "error_samples" appear only
// for the span name given as ?name=<span name>. Query parameters: name, running (at most this
// many running spans, default 100, max 10000), errors (recent errors, default 20, max 1000); a
// malformed number gets 400.
//
// ?format=jaeger answers the spans the store keeps as samples in the JSON the Jaeger UI opens
// from a file (vigil/trace/jaeger.h), as a download (Content-Disposition: attachment);
// &trace_id=<32 hex digits> keeps one trace (400 when malformed). Any other format is 400.
//
// `store` is shared: the endpoint keeps it alive. Thread-safe like Server::handle; each request
// takes a snapshot (see TracezStore::snapshot). Throws vigil::Error when `path` is invalid or
// already registered.
#pragma once

#include <memory>
#include <string>

#include "vigil/admin/server.h"

namespace vigil::trace {
class TracezStore;
}  // namespace vigil::trace

namespace vigil::admin {

void add_tracez_endpoint(Server& server, std::shared_ptr<const trace::TracezStore> store,
                         std::string path = "/debug/tracez");

}  // namespace vigil::admin
