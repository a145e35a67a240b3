#include "otlp_encoding.h"

#include <google/protobuf/arena.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/detail/json_writer.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp_encoding_pb.h"
#include "vigil/trace/resource.h"

namespace vigil::exporters::detail {
namespace {

namespace pb_collector = opentelemetry::proto::collector::trace::v1;
namespace pb_metrics_collector = opentelemetry::proto::collector::metrics::v1;
namespace pb_logs_collector = opentelemetry::proto::collector::logs::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
namespace pb_common = opentelemetry::proto::common::v1;
using nlohmann::json;

constexpr uint32_t kFlagHasIsRemote = 0x100;
constexpr uint32_t kFlagIsRemote = 0x200;

uint32_t span_flags(trace::TraceFlags flags, bool remote) noexcept {
  return flags.value | kFlagHasIsRemote | (remote ? kFlagIsRemote : 0u);
}

// Spans of one scope of one resource, in order of first appearance.
struct ScopeGroup {
  const trace::InstrumentationScope* scope;
  std::vector<const trace::SpanData*> spans;
};
struct ResourceGroup {
  const trace::Resource* resource;
  std::vector<ScopeGroup> scopes;
};

// Linear searches: a batch almost always has one resource and a handful of scopes.
std::vector<ResourceGroup> group(std::span<const trace::SpanData* const> spans) {
  std::vector<ResourceGroup> groups;
  for (const trace::SpanData* s : spans) {
    if (s == nullptr) continue;
    ResourceGroup* rg = nullptr;
    for (ResourceGroup& g : groups) {
      if (g.resource == s->resource) {
        rg = &g;
        break;
      }
    }
    if (rg == nullptr) rg = &groups.emplace_back(ResourceGroup{s->resource, {}});
    ScopeGroup* sg = nullptr;
    for (ScopeGroup& g : rg->scopes) {
      if (g.scope == s->scope) {
        sg = &g;
        break;
      }
    }
    if (sg == nullptr) sg = &rg->scopes.emplace_back(ScopeGroup{s->scope, {}});
    sg->spans.push_back(s);
  }
  return groups;
}

// ---- protobuf ----------------------------------------------------------------------------------

void to_proto(const trace::AttributeValue& value, pb_common::AnyValue* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          // an empty AnyValue
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_string_value(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->set_bool_value(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out->set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_double_value(v);
        } else {
          auto* values = out->mutable_array_value()->mutable_values();
          values->Reserve(static_cast<int>(v.size()));
          for (const auto& item : v) {
            pb_common::AnyValue* element = values->Add();
            using E = std::decay_t<decltype(item)>;
            if constexpr (std::is_same_v<E, std::string>) {
              element->set_string_value(item);
            } else if constexpr (std::is_same_v<E, int64_t>) {
              element->set_int_value(item);
            } else if constexpr (std::is_same_v<E, double>) {
              element->set_double_value(item);
            } else {
              element->set_bool_value(static_cast<bool>(item));  // vector<bool> proxies
            }
          }
        }
      },
      value);
}

template <typename List>
void to_proto(const List& attributes,
              google::protobuf::RepeatedPtrField<pb_common::KeyValue>* out) {
  out->Reserve(static_cast<int>(attributes.size()));
  for (const trace::KeyValue& kv : attributes) {
    pb_common::KeyValue* p = out->Add();
    p->set_key(kv.key);
    to_proto(kv.value, p->mutable_value());
  }
}

void to_proto(const trace::SpanData& s, pb_trace::Span* p) {
  const auto& tid = s.context.trace_id.bytes();
  const auto& sid = s.context.span_id.bytes();
  p->set_trace_id(tid.data(), tid.size());
  p->set_span_id(sid.data(), sid.size());
  if (!s.context.trace_state.empty()) p->set_trace_state(s.context.trace_state.header());
  if (s.parent_span_id.valid()) {
    const auto& parent = s.parent_span_id.bytes();
    p->set_parent_span_id(parent.data(), parent.size());
  }
  p->set_flags(span_flags(s.context.flags, s.parent_remote));
  p->set_name(s.name);
  p->set_kind(static_cast<pb_trace::Span::SpanKind>(static_cast<int>(s.kind)));
  p->set_start_time_unix_nano(s.start_unix_nanos);
  p->set_end_time_unix_nano(s.end_unix_nanos);
  to_proto(s.attributes, p->mutable_attributes());
  p->set_dropped_attributes_count(s.dropped_attributes_count);
  p->mutable_events()->Reserve(static_cast<int>(s.events.size()));
  for (const trace::Event& e : s.events) {
    pb_trace::Span::Event* pe = p->add_events();
    pe->set_time_unix_nano(e.time_unix_nanos);
    pe->set_name(e.name);
    to_proto(e.attributes, pe->mutable_attributes());
    pe->set_dropped_attributes_count(e.dropped_attributes_count);
  }
  p->set_dropped_events_count(s.dropped_events_count);
  p->mutable_links()->Reserve(static_cast<int>(s.links.size()));
  for (const trace::Link& l : s.links) {
    pb_trace::Span::Link* pl = p->add_links();
    const auto& ltid = l.context.trace_id.bytes();
    const auto& lsid = l.context.span_id.bytes();
    pl->set_trace_id(ltid.data(), ltid.size());
    pl->set_span_id(lsid.data(), lsid.size());
    if (!l.context.trace_state.empty()) pl->set_trace_state(l.context.trace_state.header());
    to_proto(l.attributes, pl->mutable_attributes());
    pl->set_dropped_attributes_count(l.dropped_attributes_count);
    pl->set_flags(span_flags(l.context.flags, l.context.remote));
  }
  p->set_dropped_links_count(s.dropped_links_count);
  if (s.status.code != trace::StatusCode::kUnset || !s.status.message.empty()) {
    pb_trace::Status* st = p->mutable_status();
    st->set_code(static_cast<pb_trace::Status::StatusCode>(static_cast<int>(s.status.code)));
    st->set_message(s.status.message);
  }
}

// ---- JSON --------------------------------------------------------------------------------------

using vigil::detail::JsonWriter;  // core/detail/json_writer.h

void write_value(JsonWriter& w, const trace::AttributeValue& value) {
  w.open_object();
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          // an empty AnyValue: {}
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.key("stringValue");
          w.string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          w.key("boolValue");
          w.boolean(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w.key("intValue");
          w.int_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          w.key("doubleValue");
          w.dbl(v);
        } else {
          w.key("arrayValue");
          w.open_object();
          w.key("values");
          w.open_array();
          for (const auto& item : v) {
            w.element();
            w.open_object();
            using E = std::decay_t<decltype(item)>;
            if constexpr (std::is_same_v<E, std::string>) {
              w.key("stringValue");
              w.string(item);
            } else if constexpr (std::is_same_v<E, int64_t>) {
              w.key("intValue");
              w.int_string(item);
            } else if constexpr (std::is_same_v<E, double>) {
              w.key("doubleValue");
              w.dbl(item);
            } else {
              w.key("boolValue");
              w.boolean(static_cast<bool>(item));
            }
            w.close_object();
          }
          w.close_array();
          w.close_object();
        }
      },
      value);
  w.close_object();
}

template <typename List>
void write_attributes(JsonWriter& w, const List& attributes, std::string_view key = "attributes") {
  w.key(key);
  w.open_array();
  for (const trace::KeyValue& kv : attributes) {
    w.element();
    w.open_object();
    w.key("key");
    w.string(kv.key);
    w.key("value");
    write_value(w, kv.value);
    w.close_object();
  }
  w.close_array();
}

void write_span(JsonWriter& w, const trace::SpanData& s) {
  w.open_object();
  w.key("traceId");
  w.hex(s.context.trace_id.bytes().data(), trace::TraceId::kSize);
  w.key("spanId");
  w.hex(s.context.span_id.bytes().data(), trace::SpanId::kSize);
  if (!s.context.trace_state.empty()) {
    w.key("traceState");
    w.string(s.context.trace_state.header());
  }
  if (s.parent_span_id.valid()) {
    w.key("parentSpanId");
    w.hex(s.parent_span_id.bytes().data(), trace::SpanId::kSize);
  }
  w.key("flags");
  w.number(span_flags(s.context.flags, s.parent_remote));
  w.key("name");
  w.string(s.name);
  w.key("kind");
  w.number(static_cast<int>(s.kind));
  w.key("startTimeUnixNano");
  w.uint_string(s.start_unix_nanos);
  w.key("endTimeUnixNano");
  w.uint_string(s.end_unix_nanos);
  if (!s.attributes.empty()) write_attributes(w, s.attributes);
  if (s.dropped_attributes_count != 0) {
    w.key("droppedAttributesCount");
    w.number(s.dropped_attributes_count);
  }
  if (!s.events.empty()) {
    w.key("events");
    w.open_array();
    for (const trace::Event& e : s.events) {
      w.element();
      w.open_object();
      w.key("timeUnixNano");
      w.uint_string(e.time_unix_nanos);
      w.key("name");
      w.string(e.name);
      if (!e.attributes.empty()) write_attributes(w, e.attributes);
      if (e.dropped_attributes_count != 0) {
        w.key("droppedAttributesCount");
        w.number(e.dropped_attributes_count);
      }
      w.close_object();
    }
    w.close_array();
  }
  if (s.dropped_events_count != 0) {
    w.key("droppedEventsCount");
    w.number(s.dropped_events_count);
  }
  if (!s.links.empty()) {
    w.key("links");
    w.open_array();
    for (const trace::Link& l : s.links) {
      w.element();
      w.open_object();
      w.key("traceId");
      w.hex(l.context.trace_id.bytes().data(), trace::TraceId::kSize);
      w.key("spanId");
      w.hex(l.context.span_id.bytes().data(), trace::SpanId::kSize);
      if (!l.context.trace_state.empty()) {
        w.key("traceState");
        w.string(l.context.trace_state.header());
      }
      if (!l.attributes.empty()) write_attributes(w, l.attributes);
      if (l.dropped_attributes_count != 0) {
        w.key("droppedAttributesCount");
        w.number(l.dropped_attributes_count);
      }
      w.key("flags");
      w.number(span_flags(l.context.flags, l.context.remote));
      w.close_object();
    }
    w.close_array();
  }
  if (s.dropped_links_count != 0) {
    w.key("droppedLinksCount");
    w.number(s.dropped_links_count);
  }
  if (s.status.code != trace::StatusCode::kUnset || !s.status.message.empty()) {
    w.key("status");
    w.open_object();
    if (!s.status.message.empty()) {
      w.key("message");
      w.string(s.status.message);
    }
    if (s.status.code != trace::StatusCode::kUnset) {
      w.key("code");
      w.number(static_cast<int>(s.status.code));
    }
    w.close_object();
  }
  w.close_object();
}

// Reads an int64 that proto3 JSON may give as a number or a decimal string.
std::optional<int64_t> json_int64(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end != s.c_str() && *end == '\0') return static_cast<int64_t>(n);
  }
  return std::nullopt;
}

const json* member(const json& object, const char* camel, const char* snake) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(camel);
  if (it == object.end()) it = object.find(snake);
  return it == object.end() ? nullptr : &*it;
}

bool is_json(std::string_view content_type) {
  return content_type.find("json") != std::string_view::npos;
}

std::string printable_prefix(std::string_view body, std::size_t max) {
  std::string out;
  for (char c : body.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : ' ');
  }
  if (body.size() > max) out += "...";
  return out;
}

}  // namespace

void write_resource_json(JsonWriter& w, const trace::Resource& resource) {
  w.open_object();
  write_attributes(w, resource.attributes());
  w.close_object();
}

void write_attributes_json(JsonWriter& w, std::span<const trace::KeyValue> attributes,
                           std::string_view key) {
  write_attributes(w, attributes, key);
}

void resource_to_proto(const trace::Resource& resource,
                       opentelemetry::proto::resource::v1::Resource* out) {
  to_proto(resource.attributes(), out->mutable_attributes());
}

void attributes_to_proto(
    std::span<const trace::KeyValue> attributes,
    google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* out) {
  to_proto(attributes, out);
}

bool encode_protobuf(std::span<const trace::SpanData* const> spans, std::string& out,
                     std::string& error) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<pb_collector::ExportTraceServiceRequest>(&arena);
  for (const ResourceGroup& rg : group(spans)) {
    pb_trace::ResourceSpans* rs = request->add_resource_spans();
    if (rg.resource != nullptr) {
      to_proto(rg.resource->attributes(), rs->mutable_resource()->mutable_attributes());
      if (!rg.resource->schema_url().empty()) rs->set_schema_url(rg.resource->schema_url());
    }
    for (const ScopeGroup& sg : rg.scopes) {
      pb_trace::ScopeSpans* ss = rs->add_scope_spans();
      if (sg.scope != nullptr) {
        ss->mutable_scope()->set_name(sg.scope->name);
        if (!sg.scope->version.empty()) ss->mutable_scope()->set_version(sg.scope->version);
        if (!sg.scope->schema_url.empty()) ss->set_schema_url(sg.scope->schema_url);
      }
      ss->mutable_spans()->Reserve(static_cast<int>(sg.spans.size()));
      for (const trace::SpanData* s : sg.spans) to_proto(*s, ss->add_spans());
    }
  }
  out.clear();
  if (!request->SerializeToString(&out)) {
    error = "protobuf serialisation failed (request over 2 GiB?)";
    return false;
  }
  return true;
}

std::string encode_json(std::span<const trace::SpanData* const> spans) {
  std::string out;
  out.reserve(64 + spans.size() * 600);
  JsonWriter w(out);
  w.open_object();
  w.key("resourceSpans");
  w.open_array();
  for (const ResourceGroup& rg : group(spans)) {
    w.element();
    w.open_object();
    w.key("resource");
    w.open_object();
    if (rg.resource != nullptr) write_attributes(w, rg.resource->attributes());
    w.close_object();
    w.key("scopeSpans");
    w.open_array();
    for (const ScopeGroup& sg : rg.scopes) {
      w.element();
      w.open_object();
      if (sg.scope != nullptr) {
        w.key("scope");
        w.open_object();
        w.key("name");
        w.string(sg.scope->name);
        if (!sg.scope->version.empty()) {
          w.key("version");
          w.string(sg.scope->version);
        }
        w.close_object();
      }
      w.key("spans");
      w.open_array();
      for (const trace::SpanData* s : sg.spans) {
        w.element();
        write_span(w, *s);
      }
      w.close_array();
      if (sg.scope != nullptr && !sg.scope->schema_url.empty()) {
        w.key("schemaUrl");
        w.string(sg.scope->schema_url);
      }
      w.close_object();
    }
    w.close_array();
    if (rg.resource != nullptr && !rg.resource->schema_url().empty()) {
      w.key("schemaUrl");
      w.string(rg.resource->schema_url());
    }
    w.close_object();
  }
  w.close_array();
  w.close_object();
  return out;
}

std::optional<PartialSuccess> parse_export_response(std::string_view body,
                                                    std::string_view content_type,
                                                    OtlpSignal signal) {
  const bool metrics = signal == OtlpSignal::kMetrics;
  const bool logs = signal == OtlpSignal::kLogs;
  if (body.empty()) return std::nullopt;
  if (is_json(content_type)) {
    const json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    const json* ps = member(j, "partialSuccess", "partial_success");
    if (ps == nullptr || !ps->is_object()) return std::nullopt;
    PartialSuccess out;
    const json* r = metrics ? member(*ps, "rejectedDataPoints", "rejected_data_points")
                    : logs  ? member(*ps, "rejectedLogRecords", "rejected_log_records")
                            : member(*ps, "rejectedSpans", "rejected_spans");
    if (r != nullptr) {
      out.rejected_spans = json_int64(*r).value_or(0);
    }
    if (const json* m = member(*ps, "errorMessage", "error_message"); m && m->is_string()) {
      out.error_message = m->get<std::string>();
    }
    if (out.rejected_spans == 0 && out.error_message.empty()) return std::nullopt;
    return out;
  }
  if (body.size() > static_cast<std::size_t>(INT32_MAX)) return std::nullopt;
  PartialSuccess out;
  if (metrics) {
    pb_metrics_collector::ExportMetricsServiceResponse response;
    if (!response.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
        !response.has_partial_success()) {
      return std::nullopt;
    }
    out = {response.partial_success().rejected_data_points(),
           response.partial_success().error_message()};
  } else if (logs) {
    pb_logs_collector::ExportLogsServiceResponse response;
    if (!response.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
        !response.has_partial_success()) {
      return std::nullopt;
    }
    out = {response.partial_success().rejected_log_records(),
           response.partial_success().error_message()};
  } else {
    pb_collector::ExportTraceServiceResponse response;
    if (!response.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
        !response.has_partial_success()) {
      return std::nullopt;
    }
    out = {response.partial_success().rejected_spans(), response.partial_success().error_message()};
  }
  if (out.rejected_spans == 0 && out.error_message.empty()) return std::nullopt;
  return out;
}

std::string describe_error_body(std::string_view body, std::string_view content_type) {
  if (body.empty()) return {};
  if (is_json(content_type)) {
    const json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      if (const json* m = member(j, "message", "message"); m && m->is_string()) {
        return printable_prefix(m->get<std::string>(), 300);
      }
    }
  } else if (content_type.find("protobuf") != std::string_view::npos) {
    google::rpc::Status status;
    if (body.size() <= static_cast<std::size_t>(INT32_MAX) &&
        status.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return printable_prefix(status.message(), 300);
    }
    return {};
  }
  return printable_prefix(body, 300);
}

}  // namespace vigil::exporters::detail
