// In-memory, JSON-lines and console exporters.
#include "vigil/trace/exporters.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "core/detail/json_escape.h"
#include "internal.h"
#include "vigil/core/error.h"
#include "vigil/trace/resource.h"

namespace vigil::trace {

// ---- InMemorySpanStore ----

InMemorySpanStore::InMemorySpanStore(std::size_t max_spans)
    : max_(max_spans == 0 ? 1 : max_spans) {}

void InMemorySpanStore::add(const SpanData& span) {
  SpanData copy = span.clone();
  std::lock_guard lock(mutex_);
  if (spans_.size() >= max_) {
    spans_.pop_front();
    ++dropped_;
  }
  spans_.push_back(std::move(copy));
}

std::vector<SpanData> InMemorySpanStore::spans() const {
  std::lock_guard lock(mutex_);
  std::vector<SpanData> out;
  for (const SpanData& s : spans_) out.push_back(s.clone());
  return out;
}

std::vector<SpanData> InMemorySpanStore::trace(const TraceId& trace_id) const {
  std::lock_guard lock(mutex_);
  std::vector<SpanData> out;
  for (const SpanData& s : spans_) {
    if (s.context.trace_id == trace_id) out.push_back(s.clone());
  }
  return out;
}

std::vector<SpanData> InMemorySpanStore::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  std::vector<SpanData> out;
  for (const SpanData& s : spans_) {
    if (s.name == name) out.push_back(s.clone());
  }
  return out;
}

std::size_t InMemorySpanStore::size() const {
  std::lock_guard lock(mutex_);
  return spans_.size();
}
uint64_t InMemorySpanStore::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}
void InMemorySpanStore::clear() {
  std::lock_guard lock(mutex_);
  spans_.clear();
}

InMemoryExporter::InMemoryExporter(std::shared_ptr<InMemorySpanStore> store)
    : store_(store ? std::move(store) : std::make_shared<InMemorySpanStore>()) {}

ExportResult InMemoryExporter::export_spans(std::span<const SpanData* const> spans, Deadline) {
  for (const SpanData* s : spans) store_->add(*s);
  return ExportResult::success();
}

// ---- JSON ----

namespace {

void json_string(std::string& out, std::string_view s) {
  vigil::detail::append_json_string(out, s);
}

void json_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    json_string(out, std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void json_value(std::string& out, const AttributeValue& v) {
  struct Visitor {
    std::string& out;
    void operator()(std::monostate) const { out += "null"; }
    void operator()(const std::string& s) const { json_string(out, s); }
    void operator()(bool b) const { out += b ? "true" : "false"; }
    void operator()(int64_t i) const { out += std::to_string(i); }
    void operator()(double d) const { json_double(out, d); }
    void operator()(const std::vector<std::string>& a) const {
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        json_string(out, a[i]);
      }
      out += ']';
    }
    void operator()(const std::vector<bool>& a) const {
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        out += a[i] ? "true" : "false";
      }
      out += ']';
    }
    void operator()(const std::vector<int64_t>& a) const {
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(a[i]);
      }
      out += ']';
    }
    void operator()(const std::vector<double>& a) const {
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        json_double(out, a[i]);
      }
      out += ']';
    }
  };
  std::visit(Visitor{out}, v);
}

void json_attributes(std::string& out, const AttributeList& attrs) {
  out += '{';
  bool first = true;
  for (const KeyValue& kv : attrs) {
    if (!first) out += ',';
    first = false;
    json_string(out, kv.key);
    out += ':';
    json_value(out, kv.value);
  }
  out += '}';
}

void hex_field(std::string& out, const char* name, const char* hex, std::size_t n) {
  out += '"';
  out += name;
  out += "\":\"";
  out.append(hex, n);
  out += '"';
}

}  // namespace

void append_span_json(std::string& out, const SpanData& s) {
  char tid[32], sid[16], pid[16];
  s.context.trace_id.write_hex(tid);
  s.context.span_id.write_hex(sid);
  out += "{\"name\":";
  json_string(out, s.name);
  out += ',';
  hex_field(out, "trace_id", tid, 32);
  out += ',';
  hex_field(out, "span_id", sid, 16);
  if (s.parent_span_id.valid()) {
    s.parent_span_id.write_hex(pid);
    out += ',';
    hex_field(out, "parent_span_id", pid, 16);
  }
  if (!s.context.trace_state.empty()) {
    out += ",\"trace_state\":";
    json_string(out, s.context.trace_state.header());
  }
  out += ",\"kind\":\"";
  out += to_string(s.kind);
  out += "\",\"start_unix_nanos\":" + std::to_string(s.start_unix_nanos);
  out += ",\"end_unix_nanos\":" + std::to_string(s.end_unix_nanos);
  out += ",\"duration_ns\":" + std::to_string(s.duration_nanos());
  out += ",\"status\":{\"code\":\"";
  out += to_string(s.status.code);
  out += '"';
  if (!s.status.message.empty()) {
    out += ",\"message\":";
    json_string(out, s.status.message);
  }
  out += "},\"attributes\":";
  json_attributes(out, s.attributes);
  out += ",\"events\":[";
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    const Event& e = s.events[i];
    if (i) out += ',';
    out += "{\"name\":";
    json_string(out, e.name);
    out += ",\"time_unix_nanos\":" + std::to_string(e.time_unix_nanos);
    out += ",\"attributes\":";
    json_attributes(out, e.attributes);
    out += '}';
  }
  out += "],\"links\":[";
  for (std::size_t i = 0; i < s.links.size(); ++i) {
    const Link& l = s.links[i];
    if (i) out += ',';
    l.context.trace_id.write_hex(tid);
    l.context.span_id.write_hex(sid);
    out += '{';
    hex_field(out, "trace_id", tid, 32);
    out += ',';
    hex_field(out, "span_id", sid, 16);
    out += ",\"attributes\":";
    json_attributes(out, l.attributes);
    out += '}';
  }
  out += "],\"dropped\":{\"attributes\":" + std::to_string(s.dropped_attributes_count) +
         ",\"events\":" + std::to_string(s.dropped_events_count) +
         ",\"links\":" + std::to_string(s.dropped_links_count) + '}';
  if (s.scope != nullptr) {
    out += ",\"scope\":{\"name\":";
    json_string(out, s.scope->name);
    out += ",\"version\":";
    json_string(out, s.scope->version);
    out += '}';
  }
  if (s.resource != nullptr) {
    out += ",\"service.name\":";
    json_string(out, s.resource->service_name());
  }
  out += '}';
}

JsonLinesExporter::JsonLinesExporter(std::ostream& out) : out_(&out) {}

JsonLinesExporter::JsonLinesExporter(const std::string& path) {
  auto f = std::make_unique<std::ofstream>(path, std::ios::app | std::ios::binary);
  if (!*f) throw Error("JsonLinesExporter: cannot open '" + path + "' for appending");
  out_ = f.get();
  owned_ = std::move(f);
}

JsonLinesExporter::~JsonLinesExporter() = default;

ExportResult JsonLinesExporter::export_spans(std::span<const SpanData* const> spans, Deadline) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return ExportResult::failure("exporter is shut down");
  buffer_.clear();
  for (const SpanData* s : spans) {
    append_span_json(buffer_, *s);
    buffer_ += '\n';
  }
  out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  if (!*out_) {
    out_->clear();
    return ExportResult::failure("JsonLinesExporter: write failed");
  }
  return ExportResult::success();
}

bool JsonLinesExporter::force_flush(std::chrono::milliseconds) {
  std::lock_guard lock(mutex_);
  out_->flush();
  return static_cast<bool>(*out_);
}

bool JsonLinesExporter::shutdown(std::chrono::milliseconds) {
  std::lock_guard lock(mutex_);
  if (!shut_down_) out_->flush();
  shut_down_ = true;
  return true;
}

// ---- Console ----

ConsoleExporter::ConsoleExporter() : out_(&std::cout) {}
ConsoleExporter::ConsoleExporter(std::ostream& out) : out_(&out) {}

ExportResult ConsoleExporter::export_spans(std::span<const SpanData* const> spans, Deadline) {
  std::string line;
  std::lock_guard lock(mutex_);
  for (const SpanData* s : spans) {
    line.clear();
    const time_t secs = static_cast<time_t>(s->start_unix_nanos / 1000000000ull);
    tm t{};
    gmtime_r(&secs, &t);
    char ts[96];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                  static_cast<unsigned>(s->start_unix_nanos % 1000000000ull / 1000));
    line += ts;
    line += ' ';
    line += s->context.trace_id.to_hex();
    line += '/';
    line += s->context.span_id.to_hex();
    line += ' ';
    line += s->name;
    line += ' ';
    line += to_string(s->kind);
    char dur[32];
    std::snprintf(dur, sizeof dur, " %.3fms ", static_cast<double>(s->duration_nanos()) / 1e6);
    line += dur;
    line += to_string(s->status.code);
    if (!s->status.message.empty()) line += "(" + s->status.message + ")";
    for (const KeyValue& kv : s->attributes) {
      line += ' ';
      line += kv.key;
      line += '=';
      line += to_string(kv.value);
    }
    for (const Event& e : s->events) line += " event:" + e.name;
    line += '\n';
    *out_ << line;
  }
  out_->flush();
  return ExportResult::success();
}

}  // namespace vigil::trace
