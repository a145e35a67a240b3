// Spans as Jaeger UI JSON (vigil/trace/jaeger.h).
#include "vigil/trace/jaeger.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/detail/json_writer.h"
#include "vigil/trace/resource.h"

namespace vigil::trace {
namespace {

using vigil::detail::JsonWriter;

uint64_t micros(uint64_t nanos) noexcept { return nanos / 1000; }

void tag(JsonWriter& w, std::string_view key, std::string_view type) {
  w.open_object();
  w.string_member("key", key);
  w.string_member("type", type);
  w.key("value");
}

void string_tag(JsonWriter& w, std::string_view key, std::string_view value) {
  tag(w, key, "string");
  w.string(value);
  w.close_object();
}

// An array attribute as the JSON text of its elements.
template <typename T>
std::string array_text(const std::vector<T>& values) {
  std::string text;
  JsonWriter a(text);
  a.open_array();
  for (const auto& v : values) {
    a.element();
    if constexpr (std::is_same_v<T, std::string>) {
      a.string(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      a.boolean(static_cast<bool>(v));
    } else if constexpr (std::is_same_v<T, int64_t>) {
      a.int64(v);
    } else {
      a.dbl(v);
    }
  }
  a.close_array();
  return text;
}

void attribute_tag(JsonWriter& w, const KeyValue& kv) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          string_tag(w, kv.key, "");
        } else if constexpr (std::is_same_v<T, std::string>) {
          string_tag(w, kv.key, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          tag(w, kv.key, "bool");
          w.boolean(v);
          w.close_object();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          tag(w, kv.key, "int64");
          w.int64(v);
          w.close_object();
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            tag(w, kv.key, "float64");
            w.dbl(v);
            w.close_object();
          } else {
            string_tag(w, kv.key, std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
          }
        } else {
          string_tag(w, kv.key, array_text(v));
        }
      },
      kv.value);
}

template <typename List>
void attribute_tags(JsonWriter& w, const List& attributes) {
  for (const KeyValue& kv : attributes) {
    w.element();
    attribute_tag(w, kv);
  }
}

void reference(JsonWriter& w, std::string_view type, const TraceId& trace, const SpanId& span) {
  w.element();
  w.open_object();
  w.string_member("refType", type);
  w.key("traceID");
  w.hex(trace.bytes().data(), TraceId::kSize);
  w.key("spanID");
  w.hex(span.bytes().data(), SpanId::kSize);
  w.close_object();
}

void write_span(JsonWriter& w, const SpanData& s, std::string_view process_id) {
  w.open_object();
  w.key("traceID");
  w.hex(s.context.trace_id.bytes().data(), TraceId::kSize);
  w.key("spanID");
  w.hex(s.context.span_id.bytes().data(), SpanId::kSize);
  w.key("flags");
  w.number(static_cast<uint32_t>(s.context.flags.value));
  w.string_member("operationName", s.name);
  w.key("references");
  w.open_array();
  if (s.parent_span_id.valid()) reference(w, "CHILD_OF", s.context.trace_id, s.parent_span_id);
  for (const Link& l : s.links) {
    reference(w, "FOLLOWS_FROM", l.context.trace_id, l.context.span_id);
  }
  w.close_array();
  w.uint64_member("startTime", micros(s.start_unix_nanos));
  w.uint64_member("duration", micros(s.duration_nanos()));

  w.key("tags");
  w.open_array();
  attribute_tags(w, s.attributes);
  if (s.kind != SpanKind::kInternal) {  // Jaeger's translator leaves internal out
    w.element();
    string_tag(w, "span.kind", to_string(s.kind));
  }
  if (s.status.code != StatusCode::kUnset) {
    w.element();
    string_tag(w, "otel.status_code", s.status.code == StatusCode::kError ? "ERROR" : "OK");
    if (!s.status.message.empty()) {
      w.element();
      string_tag(w, "otel.status_description", s.status.message);
    }
    if (s.status.code == StatusCode::kError) {
      w.element();
      tag(w, "error", "bool");
      w.boolean(true);
      w.close_object();
    }
  }
  if (s.scope != nullptr && !s.scope->name.empty()) {
    w.element();
    string_tag(w, "otel.scope.name", s.scope->name);
    if (!s.scope->version.empty()) {
      w.element();
      string_tag(w, "otel.scope.version", s.scope->version);
    }
  }
  w.close_array();

  w.key("logs");
  w.open_array();
  for (const Event& e : s.events) {
    w.element();
    w.open_object();
    w.uint64_member("timestamp", micros(e.time_unix_nanos));
    w.key("fields");
    w.open_array();
    w.element();
    string_tag(w, "event", e.name);
    attribute_tags(w, e.attributes);
    w.close_array();
    w.close_object();
  }
  w.close_array();
  w.string_member("processID", process_id);
  w.key("warnings");
  w.open_array();
  const auto dropped = [&w](uint32_t n, std::string_view what) {
    if (n == 0) return;
    w.element();
    w.string(std::to_string(n) + " " + std::string(what) + " dropped by the tracer's limits");
  };
  dropped(s.dropped_attributes_count, "attributes");
  dropped(s.dropped_events_count, "events");
  dropped(s.dropped_links_count, "links");
  w.close_array();
  w.close_object();
}

void write_process(JsonWriter& w, const Resource* resource) {
  w.open_object();
  std::string_view service = resource != nullptr ? resource->service_name() : std::string_view();
  w.string_member("serviceName", service.empty() ? "unknown_service" : service);
  w.key("tags");
  w.open_array();
  if (resource != nullptr) {
    for (const KeyValue& kv : resource->attributes()) {
      if (kv.key == "service.name") continue;
      w.element();
      attribute_tag(w, kv);
    }
  }
  w.close_array();
  w.close_object();
}

struct TraceGroup {
  TraceId id;
  std::vector<const SpanData*> spans;
};

}  // namespace

std::string to_jaeger_json(std::span<const SpanData> spans) {
  std::vector<TraceGroup> traces;
  for (const SpanData& s : spans) {
    auto it = std::find_if(traces.begin(), traces.end(),
                           [&](const TraceGroup& g) { return g.id == s.context.trace_id; });
    if (it == traces.end()) it = traces.insert(traces.end(), TraceGroup{s.context.trace_id, {}});
    it->spans.push_back(&s);
  }
  std::string out;
  out.reserve(64 + spans.size() * 500);
  JsonWriter w(out);
  w.open_object();
  w.key("data");
  w.open_array();
  for (TraceGroup& g : traces) {
    std::stable_sort(g.spans.begin(), g.spans.end(), [](const SpanData* a, const SpanData* b) {
      return a->start_unix_nanos < b->start_unix_nanos;
    });
    // One process per distinct resource, "p1", "p2", ... in order of first appearance.
    std::vector<const Resource*> processes;
    const auto process_of = [&processes](const Resource* r) {
      auto it = std::find(processes.begin(), processes.end(), r);
      if (it == processes.end()) it = processes.insert(processes.end(), r);
      return "p" + std::to_string(it - processes.begin() + 1);
    };
    w.element();
    w.open_object();
    w.key("traceID");
    w.hex(g.id.bytes().data(), TraceId::kSize);
    w.key("spans");
    w.open_array();
    for (const SpanData* s : g.spans) {
      w.element();
      write_span(w, *s, process_of(s->resource));
    }
    w.close_array();
    w.key("processes");
    w.open_object();
    for (std::size_t i = 0; i < processes.size(); ++i) {
      w.key("p" + std::to_string(i + 1));
      write_process(w, processes[i]);
    }
    w.close_object();
    w.key("warnings");
    w.open_array();
    w.close_array();
    w.close_object();
  }
  w.close_array();
  w.close_object();
  return out;
}

std::string export_jaeger(const InMemorySpanStore& store) { return to_jaeger_json(store.spans()); }

std::string export_jaeger(const InMemorySpanStore& store, const TraceId& trace_id) {
  return to_jaeger_json(store.trace(trace_id));
}

namespace {

// The finished spans the tracez store keeps, optionally of one trace, each once.
std::vector<SpanData> tracez_spans(const TracezStore& store, const std::optional<TraceId>& only) {
  std::vector<SpanData> out;
  const auto keep = [&out, &only](std::vector<SpanData>& from) {
    for (SpanData& s : from) {
      if (only && s.context.trace_id != *only) continue;
      const bool seen = std::any_of(out.begin(), out.end(), [&s](const SpanData& o) {
        return o.context.span_id == s.context.span_id && o.context.trace_id == s.context.trace_id;
      });
      if (!seen) out.push_back(std::move(s));
    }
  };
  TracezQuery names_only;
  names_only.max_running = 0;
  TracezSnapshot all = store.snapshot(names_only);
  keep(all.recent_errors);
  for (const TracezNameSummary& n : all.names) {
    TracezQuery q;
    q.name = n.name;
    q.max_running = 0;
    q.max_recent_errors = 0;
    TracezSnapshot one = store.snapshot(q);
    for (TracezNameSummary& m : one.names) {
      if (m.name != n.name) continue;
      for (auto& bucket : m.latency_samples) keep(bucket);
      keep(m.error_samples);
    }
  }
  return out;
}

}  // namespace

std::string export_jaeger(const TracezStore& store) {
  return to_jaeger_json(tracez_spans(store, std::nullopt));
}

std::string export_jaeger(const TracezStore& store, const TraceId& trace_id) {
  return to_jaeger_json(tracez_spans(store, trace_id));
}

}  // namespace vigil::trace
