// vigil/trace/context.h: the current span and baggage of a thread, and carrying them elsewhere.
//
//   // Carry the current context onto another thread (async tracing):
//   pool.submit(vigil::trace::wrap([&] { auto s = tracer.start_span("work"); ... }));
//
//   // Or by hand:
//   vigil::trace::Context ctx = vigil::trace::Context::current();
//   std::thread t([ctx] {
//     vigil::trace::ContextScope scope(ctx);   // spans started here are children of ctx's span
//     ...
//   });
//
// Thread-safety: the current context is thread-local; a Context is a plain value.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "vigil/trace/baggage.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace {

// The current span context of this thread (invalid when there is none). Never throws. The
// reference stays readable while the thread lives, but what it shows may change as spans start
// and end on the thread: copy it to keep it.
const SpanContext& current_span_context() noexcept;
// The current baggage of this thread.
const Baggage& current_baggage() noexcept;

struct Context {
  SpanContext span;
  Baggage baggage;
  // A copy of this thread's current span context and baggage. Allocates for a tracestate or
  // baggage longer than the small-string buffer.
  static Context current();
};

// Makes `ctx` current on this thread until destroyed, then restores what was current. Create and
// destroy on the same thread, in LIFO order (a scope destroyed while spans or scopes started
// after it are still current is popped together with them).
class ContextScope {
 public:
  explicit ContextScope(const Context& ctx);
  // Only the span context; the baggage stays.
  explicit ContextScope(const SpanContext& span);
  // Only the baggage; the span context stays.
  explicit ContextScope(const Baggage& baggage);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  Baggage saved_baggage_;
  uint64_t frame_serial_ = 0;  // != 0: a frame was pushed on the thread's context stack
  uint32_t frame_index_ = 0;
  bool baggage_set_ = false;
};

// A callable that runs `fn` with the context current at the time wrap() was called.
template <typename Fn>
auto wrap(Fn fn) {
  return [ctx = Context::current(), fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
    ContextScope scope(ctx);
    return fn(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace vigil::trace
