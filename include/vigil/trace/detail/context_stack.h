// vigil/trace/detail/context_stack.h: internal. The thread's stack of current span contexts,
// in a header so that ending a span that has no record (unsampled) inlines into the caller.
// Not an API: use vigil/trace/context.h.
#pragma once

#include <cstdint>

#include "vigil/trace/span_data.h"

namespace vigil::trace::detail {

// One entry of a thread's stack of current contexts. frames[0] is the empty context; a span
// made current or a ContextScope pushes a frame and pops it when it ends. A frame whose owner
// ends while other frames are above it (an out-of-order end) is marked ended and popped
// together with the frames above it.
struct ContextFrame {
  SpanContext span;
  uint64_t serial = 0;  // unique per push in the process (thread number in the top 20 bits)
  bool ended = false;
};

// The thread's stack of current contexts. Constant-initialised (no guard on access); the
// frames are allocated at the first push and freed when the thread exits.
struct ThreadContext {
  ContextFrame* frames;
  uint32_t top;
  uint32_t capacity;
  uint64_t next_serial;
  bool gone;  // the thread is exiting: nothing more is pushed
};
inline constinit thread_local ThreadContext t_context{nullptr, 0, 0, 0, false};
// The invalid context: what is current when nothing is.
const SpanContext& no_context() noexcept;

// Makes room for frames[t_context.top + 1]; false when out of memory or the thread is exiting.
bool grow_context_stack() noexcept;

inline const SpanContext& current_context() noexcept {
  const ThreadContext& tc = t_context;
  return tc.frames != nullptr ? tc.frames[tc.top].span : no_context();
}

// Pushes a frame holding these ids and flags (no tracestate); returns its serial, or 0 when the
// stack could not grow (the context is then not made current). `index` receives its position.
inline uint64_t push_context(const TraceId& trace_id, const SpanId& span_id, TraceFlags flags,
                             uint32_t& index) noexcept {
  ThreadContext& tc = t_context;
  const uint32_t i = tc.top + 1;
  if (i >= tc.capacity) [[unlikely]] {
    if (!grow_context_stack()) return 0;
  }
  ContextFrame& f = tc.frames[i];
  f.span.trace_id = trace_id;
  f.span.span_id = span_id;
  f.span.flags = flags;
  f.span.remote = false;
  if (!f.span.trace_state.empty()) [[unlikely]] {
    f.span.trace_state.clear();
  }
  f.serial = ++tc.next_serial;
  f.ended = false;
  tc.top = i;
  index = i;
  return f.serial;
}
// The same with a copy of `ctx` (tracestate and remote flag included; `ctx` may be a frame).
uint64_t push_context(const SpanContext& ctx, uint32_t& index) noexcept;

// Pops the frame pushed with (index, serial), or marks it ended when frames are above it.
// Nothing happens when that frame is gone already (or belongs to another thread).
inline void pop_context(uint32_t index, uint64_t serial) noexcept {
  ThreadContext& tc = t_context;
  if (index > tc.top || tc.frames[index].serial != serial) return;
  if (index < tc.top) {
    tc.frames[index].ended = true;
    return;
  }
  uint32_t t = index - 1;
  while (t > 0 && tc.frames[t].ended) --t;
  tc.top = t;
}

}  // namespace vigil::trace::detail
