// Internals of vigil::trace: span records, their pools, the thread's current context, ids.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "span_codec.h"
#include "vigil/trace/baggage.h"
#include "vigil/trace/detail/context_stack.h"
#include "vigil/trace/span_data.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace::detail {

// The readable name of a mangled type name (typeid(x).name()); the name itself when it cannot
// be demangled. Allocates.
std::string demangle(const char* name);

struct ProviderState {
  Resource resource;
  std::unique_ptr<Sampler> sampler;
  SamplingShortcut sampling_shortcut;  // decisions without calling `sampler`, when usable
  std::vector<std::unique_ptr<SpanProcessor>> processors;
  std::vector<SpanProcessor*> start_processors;  // those that want on_start
  SpanLimits limits;
  std::atomic<bool> enabled{true};
  uint32_t processor_count = 0;
  // A processor other than BatchSpanProcessor reads SpanData::attributes: spans move their
  // attribute log into the list before on_end.
  bool materialize_attributes = false;
  std::mutex tracers_mutex;
  std::vector<std::unique_ptr<Tracer>> tracers;
  std::atomic<bool> shut_down{false};
};

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

// A pooled span: the data exporters see plus bookkeeping. Only recording spans (and
// non-recording ones that carry a tracestate) have one; other spans keep their context inline.
struct SpanRecord {
  SpanData data;     // attributes: those a processor added at start (the rest are in `log`)
  AttributeLog log;  // attributes set through the Span API, until materialized
  ProviderState* provider = nullptr;
  std::atomic<uint32_t> refs{0};
  SpanRecord* next_free = nullptr;
  bool recording = false;
  bool status_final = false;
  // Exceptions in flight when the span started (std::uncaught_exceptions()): more at its end
  // means an exception is leaving its scope. Set for recording spans only.
  int uncaught_at_start = 0;
  bool exception_recorded = false;  // record_exception was called
  bool ok_on_success = false;       // SpanOptions::ok_on_success
};

// `recording`: the span records data, so the record's SpanData is cleared first; a
// non-recording span only uses its context, which the caller sets.
SpanRecord* acquire_record(bool recording = true) noexcept;
// Returns the record to the calling thread's pool (the record is cleared when reused). Any
// thread.
void recycle_record(SpanRecord* rec) noexcept;
// Drops one reference; recycles on the last. The sole owner (the common case: one processor
// that does not keep the span) skips the atomic read-modify-write.
inline void unref_record(SpanRecord* rec) noexcept {
  if (rec->refs.load(std::memory_order_acquire) == 1 ||
      rec->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    recycle_record(rec);
  }
}

// Random numbers for ids from a per-thread wyrand generator (64-bit state, passes
// BigCrush/PractRand), seeded from std::random_device and reseeded in a forked child. They may
// be zero: the tracer (tracer.cc) turns a zero into a valid id.
struct IdGenerator {
  uint64_t state;
  uint64_t epoch;  // g_fork_epoch when seeded; 0: not seeded yet
};
inline constinit thread_local IdGenerator t_ids{0, 0};
extern std::atomic<uint64_t> g_fork_epoch;  // starts at 1, incremented in a forked child
void reseed_ids() noexcept;

inline uint64_t next_random(IdGenerator& g) noexcept {
  g.state += 0xa0761d6478bd642full;
  __extension__ using u128 = unsigned __int128;
  const u128 m = static_cast<u128>(g.state) * (g.state ^ 0xe7037ed1a0b428dbull);
  return static_cast<uint64_t>(m >> 64) ^ static_cast<uint64_t>(m);
}
inline IdGenerator& id_generator() noexcept {
  IdGenerator& g = t_ids;
  if (g.epoch != g_fork_epoch.load(std::memory_order_relaxed)) [[unlikely]] {
    reseed_ids();
  }
  return g;
}
inline uint64_t random_u64() noexcept { return next_random(id_generator()); }

// Wall-clock nanoseconds since the epoch (CLOCK_REALTIME).
uint64_t now_unix_nanos() noexcept;

}  // namespace vigil::trace::detail
