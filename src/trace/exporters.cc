// In-memory, JSON-lines and console exporters.
#include "vigil/trace/exporters.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <type_traits>
#include <variant>

#include "core/detail/json_writer.h"
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

using vigil::detail::JsonWriter;  // core/detail/json_writer.h

void write_scalar(JsonWriter& w, const std::string& v) { w.string(v); }
void write_scalar(JsonWriter& w, bool v) { w.boolean(v); }
void write_scalar(JsonWriter& w, int64_t v) { w.int64(v); }
void write_scalar(JsonWriter& w, double v) { w.dbl(v); }

// Scalars as JSON values (non-finite doubles as "NaN", "Infinity", "-Infinity"), arrays as
// arrays, the empty value as null.
void write_value(JsonWriter& w, const AttributeValue& v) {
  std::visit(
      [&w](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          w.null();
        } else if constexpr (requires { typename T::value_type; } &&
                             !std::is_same_v<T, std::string>) {
          w.open_array();
          for (const auto& item : x) {
            w.element();
            // (std::vector<bool> yields proxies: converted to bool here.)
            write_scalar(w, static_cast<const typename T::value_type&>(item));
          }
          w.close_array();
        } else {
          write_scalar(w, x);
        }
      },
      v);
}

// "attributes":{"key":value,...}
void write_attributes(JsonWriter& w, const AttributeList& attrs) {
  w.key("attributes");
  w.open_object();
  for (const KeyValue& kv : attrs) {
    w.escaped_key(kv.key);
    write_value(w, kv.value);
  }
  w.close_object();
}

template <std::size_t N>
void hex_member(JsonWriter& w, std::string_view name, const char (&hex)[N]) {
  w.string_member(name, std::string_view(hex, N));
}

}  // namespace

void append_span_json(std::string& out, const SpanData& s) {
  char tid[32], sid[16], pid[16];
  s.context.trace_id.write_hex(tid);
  s.context.span_id.write_hex(sid);
  JsonWriter w(out);
  w.open_object();
  w.string_member("name", s.name);
  hex_member(w, "trace_id", tid);
  hex_member(w, "span_id", sid);
  if (s.parent_span_id.valid()) {
    s.parent_span_id.write_hex(pid);
    hex_member(w, "parent_span_id", pid);
  }
  if (!s.context.trace_state.empty()) {
    w.string_member("trace_state", s.context.trace_state.header());
  }
  w.string_member("kind", to_string(s.kind));
  w.uint64_member("start_unix_nanos", s.start_unix_nanos);
  w.uint64_member("end_unix_nanos", s.end_unix_nanos);
  w.uint64_member("duration_ns", s.duration_nanos());
  w.key("status");
  w.open_object();
  w.string_member("code", to_string(s.status.code));
  if (!s.status.message.empty()) {
    w.string_member("message", s.status.message);
  }
  w.close_object();
  write_attributes(w, s.attributes);
  w.key("events");
  w.open_array();
  for (const Event& e : s.events) {
    w.element();
    w.open_object();
    w.string_member("name", e.name);
    w.uint64_member("time_unix_nanos", e.time_unix_nanos);
    write_attributes(w, e.attributes);
    w.close_object();
  }
  w.close_array();
  w.key("links");
  w.open_array();
  for (const Link& l : s.links) {
    l.context.trace_id.write_hex(tid);
    l.context.span_id.write_hex(sid);
    w.element();
    w.open_object();
    hex_member(w, "trace_id", tid);
    hex_member(w, "span_id", sid);
    write_attributes(w, l.attributes);
    w.close_object();
  }
  w.close_array();
  w.key("dropped");
  w.open_object();
  w.uint64_member("attributes", s.dropped_attributes_count);
  w.uint64_member("events", s.dropped_events_count);
  w.uint64_member("links", s.dropped_links_count);
  w.close_object();
  if (s.scope != nullptr) {
    w.key("scope");
    w.open_object();
    w.string_member("name", s.scope->name);
    w.string_member("version", s.scope->version);
    w.close_object();
  }
  if (s.resource != nullptr) {
    w.string_member("service.name", s.resource->service_name());
  }
  w.close_object();
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
