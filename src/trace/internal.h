// Internals of vigil::trace: span records, their pools, the thread's current context, ids.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/trace/baggage.h"
#include "vigil/trace/span_data.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace::detail {

struct ProviderState {
  Resource resource;
  std::unique_ptr<Sampler> sampler;
  std::vector<std::unique_ptr<SpanProcessor>> processors;
  std::vector<SpanProcessor*> start_processors;  // those that want on_start
  SpanLimits limits;
  std::atomic<bool> enabled{true};
  uint32_t processor_count = 0;
  std::mutex tracers_mutex;
  std::vector<std::unique_ptr<Tracer>> tracers;
  std::atomic<bool> shut_down{false};
};

// A pooled span: the data exporters see plus bookkeeping.
// Copies a span context without touching the trace state's string when both sides have none
// (the common case): a SpanContext copy or move costs ~50 instructions otherwise, a large share
// of an unsampled span.
inline void copy_context(SpanContext& to, const SpanContext& from) {
  to.trace_id = from.trace_id;
  to.span_id = from.span_id;
  to.flags = from.flags;
  to.remote = from.remote;
  if (!to.trace_state.empty() || !from.trace_state.empty()) to.trace_state = from.trace_state;
}
inline void move_context(SpanContext& to, SpanContext& from) noexcept {
  to.trace_id = from.trace_id;
  to.span_id = from.span_id;
  to.flags = from.flags;
  to.remote = from.remote;
  if (!to.trace_state.empty() || !from.trace_state.empty()) {
    to.trace_state = std::move(from.trace_state);
  }
}

// Appends `s` as a JSON string (quotes and escapes). Defined in span_data.cc.
void append_json_string(std::string& out, std::string_view s);

struct SpanRecord {
  SpanData data;
  ProviderState* provider = nullptr;
  SpanContext saved_current;  // the thread's current context before this span became current
  std::atomic<uint32_t> refs{0};
  SpanRecord* next_free = nullptr;
  bool recording = false;
  bool activated = false;
  bool status_final = false;
};

// `recording`: the span records data, so the record's SpanData is cleared first; a
// non-recording span only uses its context, which the caller sets.
SpanRecord* acquire_record(bool recording = true) noexcept;
// Clears the record and returns it to a pool. Any thread.
void recycle_record(SpanRecord* rec) noexcept;
// Drops one reference; recycles on the last.
inline void unref_record(SpanRecord* rec) noexcept {
  if (rec->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) recycle_record(rec);
}

// The thread's current context.
struct ThreadContext {
  SpanContext span;
  Baggage baggage;
};
ThreadContext& thread_context() noexcept;

// Random ids from a per-thread xoshiro256++ generator, reseeded after fork. Never zero.
uint64_t random_u64() noexcept;
TraceId new_trace_id() noexcept;
SpanId new_span_id() noexcept;

// Wall-clock nanoseconds since the epoch (CLOCK_REALTIME).
uint64_t now_unix_nanos() noexcept;

}  // namespace vigil::trace::detail
