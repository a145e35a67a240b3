// vigil/trace/operation.h: one line to instrument an operation with a span, an outcome counter,
// a duration histogram and optionally the resident-memory delta (guide 002's
// `@instrument_causal_operation(operation_type, record_duration, record_memory)`).
//
//   // Around a callable (the exception, if any, is recorded with its type and message, then
//   // rethrown unchanged); `fn` may take a vigil::trace::Span&:
//   Graph g = vigil::trace::instrument_operation("intervention", "do_intervention", [&] {
//     return engine.do_intervention(query);
//   }, {.record_memory = true, .metric_prefix = "causal."});
//
//   // Or around a scope:
//   void Engine::estimate() {
//     vigil::trace::OperationScope op("estimation");   // function: "Engine::estimate"
//     op.span().set_attribute("graph.node_count", nodes_.size());
//     ...                                               // an exception leaving = error
//   }
//
// What one operation records (metric names through vigil::metrics::NamedMetrics, so dotted
// names become Prometheus names; `P` is OperationOptions::metric_prefix, e.g. "causal."):
//   span      "<operation_type>.<function>" (kind OperationOptions::kind) with attributes
//             operation.type, code.function.name, and vigil.memory.delta_bytes when
//             record_memory; status ok on success, error with an "exception" event on failure
//   counter   P"operations"  -> <p>operations_total{operation_type,function,outcome}
//             outcome "success" or "error" (an exception, or OperationScope::fail())
//   histogram P"operation.duration" -> <p>operation_duration_seconds{operation_type,function}
//             (when record_duration; buckets: the NamedMetrics' timer buckets)
//   gauge     P"operation.memory.delta.bytes" -> <p>operation_memory_delta_bytes{operation_type}
//             the resident set size after minus before, added up (guide 002's up-down counter;
//             when record_memory; Linux /proc/self/stat, nothing elsewhere)
// The span is recorded only if tracing is set up (a no-op tracer costs nearly nothing).
//
// Cost (bench/instrument_bench.cc): without memory, the span's start and end plus ~280 ns (two
// clock reads, two by-name records of 3 and 2 labels); record_memory adds two reads of
// /proc/self/stat (~10 us each): use it for operations of milliseconds, not for hot loops.
// Never throws (instrument_operation rethrows what `fn` throws); no allocation once warm, except
// for names longer than 200 bytes.
//
// Thread-safety: OperationScope is used by one thread (the span is current on it); any number of
// operations may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vigil/metrics/by_name.h"
#include "vigil/trace/instrument.h"
#include "vigil/trace/span.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {

struct OperationOptions {
  bool record_duration = true;  // the duration histogram
  bool record_memory = false;   // the resident-memory delta (reads /proc twice)
  // Prepended to the metric names, e.g. "causal." -> causal_operations_total. Must outlive the
  // operation (a literal does).
  std::string_view metric_prefix;
  SpanKind kind = SpanKind::kInternal;
  Tracer* tracer = nullptr;                  // null: instrumentation_tracer()
  metrics::NamedMetrics* metrics = nullptr;  // null: NamedMetrics::global()
};

class OperationScope {
 public:
  // Starts the operation: the span (current on this thread), the clock, and with
  // record_memory the resident set size. `function` defaults to the calling function's name.
  // The views must stay valid until the scope ends. Never throws.
  explicit OperationScope(std::string_view operation_type, std::string_view function = {},
                          OperationOptions options = {},
                          SourceLocation loc = SourceLocation::current()) noexcept;
  // Records the outcome: "error" when an exception is leaving the scope or fail() was called,
  // otherwise "success" (and span status ok). Never throws.
  ~OperationScope();
  OperationScope(const OperationScope&) = delete;
  OperationScope& operator=(const OperationScope&) = delete;

  Span& span() noexcept { return span_; }
  // Marks the operation as failed without an exception (outcome "error", span status error
  // with `message`).
  void fail(std::string_view message = {}) noexcept;
  // Seconds since the operation started.
  double elapsed() const noexcept;

 private:
  std::string_view type_;
  std::string_view function_;
  OperationOptions options_;
  Span span_;
  std::chrono::steady_clock::time_point start_;
  int64_t rss_before_ = -1;  // bytes; -1: not read
  int uncaught_ = 0;
  bool failed_ = false;
};

// Runs `fn` as operation `operation_type` / `function` (see above): returns what `fn`
// returns; an exception is recorded on the span (type, message), counted as outcome "error"
// and rethrown unchanged. `fn` may take a Span&.
// `function` empty: the calling function's name.
template <typename Fn>
decltype(auto) instrument_operation(std::string_view operation_type, std::string_view function,
                                    Fn&& fn, const OperationOptions& options = {},
                                    SourceLocation loc = SourceLocation::current()) {
  OperationScope op(operation_type, function, options, loc);
  try {
    if constexpr (std::is_invocable_v<Fn&&, Span&>) {
      return std::invoke(std::forward<Fn>(fn), op.span());
    } else {
      return std::invoke(std::forward<Fn>(fn));
    }
  } catch (const std::exception& e) {
    op.span().record_exception(e);
    throw;
  } catch (...) {
    op.span().record_current_exception();
    throw;
  }
}

}  // namespace vigil::trace
