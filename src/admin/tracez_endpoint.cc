#include "vigil/admin/tracez_endpoint.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "vigil/trace/jaeger.h"
#include "vigil/trace/tracez.h"

namespace vigil::admin {
namespace {

using nlohmann::json;

json value_json(const trace::AttributeValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          json a = json::array();
          for (bool b : x) a.push_back(b);
          return a;
        } else {
          return x;
        }
      },
      v);
}

json attributes_json(const trace::AttributeList& attributes) {
  json out = json::object();
  for (const trace::KeyValue& kv : attributes) out[kv.key] = value_json(kv.value);
  return out;
}

json span_json(const trace::SpanData& s) {
  json j;
  j["name"] = s.name;
  j["trace_id"] = s.context.trace_id.to_hex();
  j["span_id"] = s.context.span_id.to_hex();
  j["parent_span_id"] = s.parent_span_id.valid() ? s.parent_span_id.to_hex() : std::string();
  j["kind"] = trace::to_string(s.kind);
  j["start_unix_nanos"] = s.start_unix_nanos;
  j["end_unix_nanos"] = s.end_unix_nanos;
  j["duration_ns"] = s.duration_nanos();
  j["status"] = {{"code", trace::to_string(s.status.code)}, {"message", s.status.message}};
  j["attributes"] = attributes_json(s.attributes);
  json events = json::array();
  for (const trace::Event& e : s.events) {
    events.push_back({{"name", e.name},
                      {"time_unix_nanos", e.time_unix_nanos},
                      {"attributes", attributes_json(e.attributes)}});
  }
  j["events"] = std::move(events);
  return j;
}

// A non-negative integer query parameter in [0, max]; nullopt (400) when malformed.
std::optional<std::size_t> count_param(const Request& req, std::string_view name,
                                       std::size_t fallback, std::size_t max) {
  std::optional<std::string> text = req.query_param(name);
  if (!text) return fallback;
  std::size_t v = 0;
  const char* end = text->data() + text->size();
  auto [p, ec] = std::from_chars(text->data(), end, v);
  if (ec != std::errc() || p != end || text->empty()) return std::nullopt;
  return v < max ? v : max;
}

// ?format=jaeger[&trace_id=...]: the samples as Jaeger UI JSON.
Response tracez_jaeger(const trace::TracezStore& store, const Request& req) {
  Response response;
  std::optional<trace::TraceId> id;
  if (std::optional<std::string> text = req.query_param("trace_id")) {
    id = trace::TraceId::from_hex(*text);
    if (!id || !id->valid()) {
      response.status = 400;
      response.body = "400 Bad Request: trace_id must be 32 lowercase hex digits, not all zero\n";
      return response;
    }
  }
  response.content_type = "application/json";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Content-Disposition",
                                "attachment; filename=\"" +
                                    (id ? "trace-" + id->to_hex() : std::string("traces")) +
                                    ".json\"");
  response.body = id ? trace::export_jaeger(store, *id) : trace::export_jaeger(store);
  response.body.push_back('\n');
  return response;
}

Response tracez(const trace::TracezStore& store, const Request& req) {
  if (std::optional<std::string> format = req.query_param("format")) {
    if (*format == "jaeger") return tracez_jaeger(store, req);
    Response bad;
    bad.status = 400;
    bad.body = "400 Bad Request: format must be jaeger (or absent for the tracez JSON)\n";
    return bad;
  }
  Response response;
  trace::TracezQuery query;
  std::optional<std::size_t> running = count_param(req, "running", 100, 10000);
  std::optional<std::size_t> errors = count_param(req, "errors", 20, 1000);
  if (!running || !errors) {
    response.status = 400;
    response.body = "400 Bad Request: running and errors must be non-negative integers\n";
    return response;
  }
  query.max_running = *running;
  query.max_recent_errors = *errors;
  query.name = req.query_param("name").value_or("");
  const trace::TracezSnapshot snap = store.snapshot(query);

  json j;
  j["time_unix_nanos"] = snap.time_unix_nanos;
  json buckets = json::array();
  for (std::size_t b = 0; b < trace::kTracezBuckets; ++b) {
    buckets.push_back(trace::tracez_bucket_label(b));
  }
  j["latency_buckets"] = std::move(buckets);
  j["limits"] = {{"max_span_names", snap.options.max_span_names},
                 {"samples_per_bucket", snap.options.samples_per_bucket},
                 {"errors_per_name", snap.options.errors_per_name},
                 {"max_running", snap.options.max_running}};
  json run = json::array();
  for (const trace::TracezRunningSpan& r : snap.running) {
    run.push_back(
        {{"name", r.name},
         {"trace_id", r.trace_id.to_hex()},
         {"span_id", r.span_id.to_hex()},
         {"parent_span_id", r.parent_span_id.valid() ? r.parent_span_id.to_hex() : std::string()},
         {"kind", trace::to_string(r.kind)},
         {"start_unix_nanos", r.start_unix_nanos},
         {"elapsed_ns", snap.time_unix_nanos > r.start_unix_nanos
                            ? snap.time_unix_nanos - r.start_unix_nanos
                            : 0}});
  }
  j["running"] = std::move(run);
  j["running_untracked"] = snap.running_untracked;
  j["spans_untracked"] = snap.spans_untracked;
  json spans = json::array();
  for (const trace::TracezNameSummary& n : snap.names) {
    json s;
    s["name"] = n.name;
    s["running"] = n.running;
    s["latency"] = n.latency_counts;
    s["errors"] = n.error_count;
    if (!query.name.empty() && n.name == query.name) {
      json samples = json::object();
      for (std::size_t b = 0; b < trace::kTracezBuckets; ++b) {
        json list = json::array();
        for (const trace::SpanData& d : n.latency_samples[b]) list.push_back(span_json(d));
        samples[std::string(trace::tracez_bucket_label(b))] = std::move(list);
      }
      s["samples"] = std::move(samples);
      json errs = json::array();
      for (const trace::SpanData& d : n.error_samples) errs.push_back(span_json(d));
      s["error_samples"] = std::move(errs);
    }
    spans.push_back(std::move(s));
  }
  j["spans"] = std::move(spans);
  json recent = json::array();
  for (const trace::SpanData& d : snap.recent_errors) recent.push_back(span_json(d));
  j["recent_errors"] = std::move(recent);

  response.content_type = "application/json";
  response.headers.emplace_back("Cache-Control", "no-store");
  // Invalid UTF-8 in span names or attributes is replaced, never thrown.
  response.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  response.body.push_back('\n');
  return response;
}

}  // namespace

void add_tracez_endpoint(Server& server, std::shared_ptr<const trace::TracezStore> store,
                         std::string path) {
  HandleOptions options;
  options.methods = {"GET"};
  options.description = "tracez: running spans, latency buckets per span name, recent errors";
  server.handle(
      std::move(path),
      [store = std::move(store)](const Request& request) { return tracez(*store, request); },
      std::move(options));
}

}  // namespace vigil::admin
