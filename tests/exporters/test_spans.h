// tests/exporters/test_spans.h: spans with known ids and every kind of field, shared by the
// exporter tests and the interop driver.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vigil/trace/resource.h"
#include "vigil/trace/span_data.h"

namespace vigil::exporters::testing {

inline constexpr const char* kTraceIdHex = "4bf92f3577b34da6a3ce929d0e0e4736";
inline constexpr const char* kRootSpanIdHex = "00f067aa0ba902b7";
inline constexpr const char* kChildSpanIdHex = "b7ad6b7169203331";
inline constexpr const char* kRemoteParentHex = "53995c3f42cd8ad8";
inline constexpr const char* kLinkTraceIdHex = "0af7651916cd43dd8448eb211c80319c";
inline constexpr const char* kLinkSpanIdHex = "b9c7c989f97918e1";
inline constexpr uint64_t kStart = 1'700'000'000'123'456'789ull;

// Owns the spans, their scope and resource.
struct TestBatch {
  trace::InstrumentationScope scope{"vigil.test", "1.2.3",
                                    "https://opentelemetry.io/schemas/1.21.0"};
  trace::InstrumentationScope other_scope{"vigil.other", "", ""};
  trace::Resource resource;
  std::vector<std::unique_ptr<trace::SpanData>> spans;

  std::vector<const trace::SpanData*> pointers() const {
    std::vector<const trace::SpanData*> out;
    for (const auto& s : spans) out.push_back(s.get());
    return out;
  }
};

inline trace::KeyValue kv(std::string key, trace::AttributeValue value) {
  return trace::KeyValue{std::move(key), std::move(value)};
}

// Three spans: a server root span with every attribute type, an event, a link, status error and
// tracestate; a client child of it; and a consumer span (another scope) with a remote parent.
inline std::unique_ptr<TestBatch> make_test_batch() {
  auto b = std::make_unique<TestBatch>();
  b->resource = trace::Resource({kv("service.name", std::string("checkout")),
                                 kv("service.version", std::string("1.4.2")),
                                 kv("process.pid", int64_t{4242})});
  const trace::TraceId trace_id = *trace::TraceId::from_hex(kTraceIdHex);

  auto root = std::make_unique<trace::SpanData>();
  root->name = "GET /checkout";
  root->context.trace_id = trace_id;
  root->context.span_id = *trace::SpanId::from_hex(kRootSpanIdHex);
  root->context.flags.value = trace::TraceFlags::kSampled;
  root->context.trace_state = *trace::TraceState::parse("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  root->kind = trace::SpanKind::kServer;
  root->start_unix_nanos = kStart;
  root->end_unix_nanos = kStart + 5'000'000;
  root->status = {trace::StatusCode::kError, "payment declined"};
  root->attributes.push_back(kv("http.method", std::string("GET")));
  root->attributes.push_back(kv("http.ok", true));
  root->attributes.push_back(kv("http.status_code", int64_t{-9007199254740993}));
  root->attributes.push_back(kv("cost.usd", 0.125));
  root->attributes.push_back(kv("tags", std::vector<std::string>{"a", "b\"c", "ü"}));
  root->attributes.push_back(kv("flags", std::vector<bool>{true, false}));
  root->attributes.push_back(kv("sizes", std::vector<int64_t>{1, INT64_MAX, INT64_MIN}));
  root->attributes.push_back(kv("ratios", std::vector<double>{0.5, -2.25}));
  root->dropped_attributes_count = 3;
  trace::Event& ev = root->events.next_slot();
  ev.name = "exception";
  ev.time_unix_nanos = kStart + 1000;
  ev.attributes.clear();
  ev.attributes.push_back(kv("exception.type", std::string("std::runtime_error")));
  ev.attributes.push_back(kv("exception.message", std::string("boom")));
  ev.dropped_attributes_count = 1;
  root->dropped_events_count = 2;
  trace::Link& link = root->links.next_slot();
  link.context.trace_id = *trace::TraceId::from_hex(kLinkTraceIdHex);
  link.context.span_id = *trace::SpanId::from_hex(kLinkSpanIdHex);
  link.context.flags.value = trace::TraceFlags::kSampled;
  link.context.trace_state = *trace::TraceState::parse("vendor=abc");
  link.context.remote = true;
  link.attributes.clear();
  link.attributes.push_back(kv("link.reason", std::string("batch")));
  link.dropped_attributes_count = 0;
  root->dropped_links_count = 4;
  root->scope = &b->scope;
  root->resource = &b->resource;

  auto child = std::make_unique<trace::SpanData>();
  child->name = "llm_call";
  child->context.trace_id = trace_id;
  child->context.span_id = *trace::SpanId::from_hex(kChildSpanIdHex);
  child->context.flags.value = trace::TraceFlags::kSampled;
  child->parent_span_id = root->context.span_id;
  child->kind = trace::SpanKind::kClient;
  child->start_unix_nanos = kStart + 100;
  child->end_unix_nanos = kStart + 4'000'000;
  child->status = {trace::StatusCode::kOk, ""};
  child->attributes.push_back(kv("llm.provider", std::string("openai")));
  child->scope = &b->scope;
  child->resource = &b->resource;

  auto consumer = std::make_unique<trace::SpanData>();
  consumer->name = "queue.process";
  consumer->context.trace_id = trace_id;
  consumer->context.span_id = trace::SpanId::from_u64(0x1122334455667788ull);
  consumer->context.flags.value = trace::TraceFlags::kSampled | trace::TraceFlags::kRandom;
  consumer->parent_span_id = *trace::SpanId::from_hex(kRemoteParentHex);
  consumer->parent_remote = true;
  consumer->kind = trace::SpanKind::kConsumer;
  consumer->start_unix_nanos = kStart + 200;
  consumer->end_unix_nanos = kStart + 300;
  consumer->scope = &b->other_scope;
  consumer->resource = &b->resource;

  b->spans.push_back(std::move(root));
  b->spans.push_back(std::move(child));
  b->spans.push_back(std::move(consumer));
  return b;
}

}  // namespace vigil::exporters::testing
