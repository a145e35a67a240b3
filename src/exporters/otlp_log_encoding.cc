#include "otlp_log_encoding.h"

#include <google/protobuf/arena.h>

#include <string_view>
#include <vector>

#include "core/detail/json_writer.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "otlp_encoding.h"
#include "otlp_encoding_pb.h"

namespace vigil::exporters::detail {
namespace {

namespace pb_collector = opentelemetry::proto::collector::logs::v1;
namespace pb_logs = opentelemetry::proto::logs::v1;
using vigil::detail::JsonWriter;

// Records of one scope, in order. Linear search: a batch has a handful of loggers.
struct ScopeGroup {
  std::string_view name;
  std::string_view version;
  std::vector<const LogRecord*> records;
};

std::vector<ScopeGroup> group(std::span<const LogRecord> records) {
  std::vector<ScopeGroup> groups;
  for (const LogRecord& r : records) {
    ScopeGroup* g = nullptr;
    for (ScopeGroup& candidate : groups) {
      if (candidate.name == r.scope_name && candidate.version == r.scope_version) {
        g = &candidate;
        break;
      }
    }
    if (g == nullptr) g = &groups.emplace_back(ScopeGroup{r.scope_name, r.scope_version, {}});
    g->records.push_back(&r);
  }
  return groups;
}

void to_proto(const LogRecord& r, pb_logs::LogRecord* p) {
  p->set_time_unix_nano(r.time_unix_nanos);
  p->set_observed_time_unix_nano(r.observed_unix_nanos);
  if (r.severity_number >= 1 && r.severity_number <= 24) {
    p->set_severity_number(static_cast<pb_logs::SeverityNumber>(r.severity_number));
  }
  if (!r.severity_text.empty()) p->set_severity_text(r.severity_text);
  p->mutable_body()->set_string_value(r.body);
  attributes_to_proto(r.attributes, p->mutable_attributes());
  if (r.trace_id.valid()) {
    const auto& tid = r.trace_id.bytes();
    p->set_trace_id(tid.data(), tid.size());
    p->set_flags(r.trace_flags.value);
  }
  if (r.span_id.valid()) {
    const auto& sid = r.span_id.bytes();
    p->set_span_id(sid.data(), sid.size());
  }
}

void write_record(JsonWriter& w, const LogRecord& r) {
  w.open_object();
  if (r.time_unix_nanos != 0) {
    w.key("timeUnixNano");
    w.uint_string(r.time_unix_nanos);
  }
  if (r.observed_unix_nanos != 0) {
    w.key("observedTimeUnixNano");
    w.uint_string(r.observed_unix_nanos);
  }
  if (r.severity_number >= 1 && r.severity_number <= 24) {
    w.key("severityNumber");
    w.number(static_cast<uint32_t>(r.severity_number));
  }
  if (!r.severity_text.empty()) {
    w.key("severityText");
    w.string(r.severity_text);
  }
  w.key("body");
  w.open_object();
  w.key("stringValue");
  w.string(r.body);
  w.close_object();
  if (!r.attributes.empty()) write_attributes_json(w, r.attributes);
  if (r.trace_id.valid()) {
    w.key("flags");
    w.number(static_cast<uint32_t>(r.trace_flags.value));
    w.key("traceId");
    w.hex(r.trace_id.bytes().data(), trace::TraceId::kSize);
  }
  if (r.span_id.valid()) {
    w.key("spanId");
    w.hex(r.span_id.bytes().data(), trace::SpanId::kSize);
  }
  w.close_object();
}

}  // namespace

bool encode_logs_protobuf(std::span<const LogRecord> records, const trace::Resource& resource,
                          std::string& out, std::string& error) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<pb_collector::ExportLogsServiceRequest>(&arena);
  pb_logs::ResourceLogs* rl = request->add_resource_logs();
  resource_to_proto(resource, rl->mutable_resource());
  if (!resource.schema_url().empty()) rl->set_schema_url(resource.schema_url());
  for (const ScopeGroup& g : group(records)) {
    pb_logs::ScopeLogs* sl = rl->add_scope_logs();
    if (!g.name.empty()) sl->mutable_scope()->set_name(std::string(g.name));
    if (!g.version.empty()) sl->mutable_scope()->set_version(std::string(g.version));
    sl->mutable_log_records()->Reserve(static_cast<int>(g.records.size()));
    for (const LogRecord* r : g.records) to_proto(*r, sl->add_log_records());
  }
  out.clear();
  if (!request->SerializeToString(&out)) {
    error = "protobuf serialisation failed (request over 2 GiB?)";
    return false;
  }
  return true;
}

std::string encode_logs_json(std::span<const LogRecord> records, const trace::Resource& resource) {
  std::string out;
  out.reserve(128 + records.size() * 300);
  JsonWriter w(out);
  w.open_object();
  w.key("resourceLogs");
  w.open_array();
  w.element();
  w.open_object();
  w.key("resource");
  write_resource_json(w, resource);
  w.key("scopeLogs");
  w.open_array();
  for (const ScopeGroup& g : group(records)) {
    w.element();
    w.open_object();
    w.key("scope");
    w.open_object();
    if (!g.name.empty()) {
      w.key("name");
      w.string(g.name);
    }
    if (!g.version.empty()) {
      w.key("version");
      w.string(g.version);
    }
    w.close_object();
    w.key("logRecords");
    w.open_array();
    for (const LogRecord* r : g.records) {
      w.element();
      write_record(w, *r);
    }
    w.close_array();
    w.close_object();
  }
  w.close_array();
  if (!resource.schema_url().empty()) {
    w.key("schemaUrl");
    w.string(resource.schema_url());
  }
  w.close_object();
  w.close_array();
  w.close_object();
  return out;
}

}  // namespace vigil::exporters::detail
