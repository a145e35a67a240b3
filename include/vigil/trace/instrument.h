// vigil/trace/instrument.h: what tracing decorators and context managers do in Python, in C++:
// a span named after the enclosing function, a callable run inside a span that records what it
// throws, and tasks that carry the current context (and a span) onto another thread or executor.
//
//   void Gateway::route(const Request& r) {
//     VIGIL_TRACE_FUNCTION();                 // span "Gateway::route" until the scope ends
//     ...
//   }
//
//   int answer = vigil::trace::in_span(tracer, "llm_call", [&](vigil::trace::Span& span) {
//     span.set_attribute("gen_ai.system", "openai");
//     return call_model();                    // throws? the span records the exception
//   });                                       // (exception.type, .message, status error)
//
//   pool.submit(vigil::trace::wrap_in_span(tracer, "tool_execution", [] { run_tool(); }));
//
//   {
//     VIGIL_SPAN("fetch", vigil::trace::SpanKind::kClient);  // a kind for the macros
//     fetch();                                 // throws? the span ends with status error
//   }
//
// Spans named after functions take their name from std::source_location::function_name()
// without the return type and parameters ("ns::Class::method"), and get the attributes
// code.function.name, code.file.path and code.line.number (OpenTelemetry semantic conventions).
// The macros cache the name in a function-local static: after the first call they cost what
// start_span costs plus three attributes on recording spans.
//
// Thread-safety: everything here may be called from any thread; a Span is used by one thread at
// a time. Nothing here throws, except that in_span() rethrows what the callable throws.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <source_location>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vigil/trace/context.h"
#include "vigil/trace/span.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {

// std::source_location where the standard library provides it; otherwise (clang 14 with
// libstdc++ 12, used for the fuzz build) the same interface from the compiler builtins.
#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
class SourceLocation {
 public:
  static constexpr SourceLocation current(const char* function = __builtin_FUNCTION(),
                                          const char* file = __builtin_FILE(),
                                          int line = __builtin_LINE()) noexcept {
    SourceLocation l;
    l.function_ = function;
    l.file_ = file;
    l.line_ = static_cast<uint_least32_t>(line);
    return l;
  }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr uint_least32_t line() const noexcept { return line_; }

 private:
  const char* function_ = "";
  const char* file_ = "";
  uint_least32_t line_ = 0;
};
#endif

// The tracer the macros and the tracer-less overloads use: scope "vigil.instrument" of the
// global provider, refreshed when the global provider is set. Thread-safe; ~10 ns after the
// first call (an atomic load and a compare).
Tracer& instrumentation_tracer() noexcept;

// The span name for a std::source_location::function_name() text: the qualified function name
// without return type, parameters, qualifiers and GCC's "[with T = ...]" suffix, e.g.
// "int ns::Class::method(int) const" -> "ns::Class::method". A view into `pretty`; never throws.
std::string_view function_span_name(std::string_view pretty) noexcept;

// Where a span was opened in the source: what the macros keep in a static.
struct CodeLocation {
  std::string_view function;  // function_span_name(location.function_name())
  std::string_view file;
  uint32_t line = 0;
  explicit CodeLocation(const SourceLocation& location) noexcept
      : function(function_span_name(location.function_name())),
        file(location.file_name()),
        line(location.line()) {}
};

// Starts a span named `name` (default: the function's name) with the code.* attributes of
// `where`. Never throws.
Span start_code_span(Tracer& tracer, const CodeLocation& where, std::string_view name = {},
                     const SpanOptions& options = {}) noexcept;

// A span named after the calling function (parsing its name on every call: prefer the macro on
// hot paths).
//   vigil::trace::Span span = vigil::trace::function_span(tracer);
//   span.set_attribute("items", n);
inline Span function_span(Tracer& tracer, const SpanOptions& options = {},
                          SourceLocation loc = vigil::trace::SourceLocation::current()) noexcept {
  return start_code_span(tracer, CodeLocation(loc), {}, options);
}
inline Span function_span(const SpanOptions& options = {},
                          SourceLocation loc = vigil::trace::SourceLocation::current()) noexcept {
  return start_code_span(instrumentation_tracer(), CodeLocation(loc), {}, options);
}

// Runs `fn` inside a span named `name`, current on this thread while `fn` runs. `fn` may take a
// `Span&` (to set attributes) or nothing. When `fn` throws, the span records the exception
// (an "exception" event with exception.type and exception.message, status error) and ends, and
// the exception is rethrown unchanged. Returns what `fn` returns.
template <typename Fn>
decltype(auto) in_span(Tracer& tracer, std::string_view name, Fn&& fn,
                       const SpanOptions& options = {}) {
  Span span = tracer.start_span(name, options);
  try {
    if constexpr (std::is_invocable_v<Fn&&, Span&>) {
      return std::invoke(std::forward<Fn>(fn), span);
    } else {
      return std::invoke(std::forward<Fn>(fn));
    }
  } catch (const std::exception& e) {
    span.record_exception(e);
    throw;
  } catch (...) {
    span.record_current_exception();
    throw;
  }
}
// The same with instrumentation_tracer().
template <typename Fn>
decltype(auto) in_span(std::string_view name, Fn&& fn, const SpanOptions& options = {}) {
  return in_span(instrumentation_tracer(), name, std::forward<Fn>(fn), options);
}

// A callable that runs `fn` with `ctx` current (wrap(fn) in context.h takes the context current
// when it is called). Copyable when `fn` is, so it fits std::function-based executors.
template <typename Fn>
auto wrap(Context ctx, Fn fn) {
  return [ctx = std::move(ctx), fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
    ContextScope scope(ctx);
    return fn(std::forward<decltype(args)>(args)...);
  };
}

// A task for another thread or executor: captures the current context now and, when run, runs
// `fn` inside a child span named `name` (in_span: exceptions recorded and rethrown). The span
// measures the run, not the time spent queued (add an event or a separate span for that).
// `name` is copied. Copyable when `fn` is.
template <typename Fn>
auto wrap_in_span(Tracer& tracer, std::string_view name, Fn fn, SpanOptions options = {}) {
  options.parent = nullptr;  // the captured context is the parent
  return [ctx = Context::current(), tracer = &tracer, name = std::string(name), options,
          fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
    ContextScope scope(ctx);
    return in_span(
        *tracer, name,
        [&]() -> decltype(auto) { return fn(std::forward<decltype(args)>(args)...); }, options);
  };
}

namespace detail {
// Opens a span for a macro call site; `tracer` defaults to instrumentation_tracer(), the kind
// to kInternal; a SpanOptions gives the kind and ok_on_success.
inline Span start_site_span(const CodeLocation& where, std::string_view name = {}) noexcept {
  return start_code_span(instrumentation_tracer(), where, name);
}
inline Span start_site_span(Tracer& tracer, const CodeLocation& where,
                            std::string_view name = {}) noexcept {
  return start_code_span(tracer, where, name);
}
inline Span start_site_span(SpanKind kind, const CodeLocation& where,
                            std::string_view name = {}) noexcept {
  return start_code_span(instrumentation_tracer(), where, name, SpanOptions{.kind = kind});
}
inline Span start_site_span(Tracer& tracer, SpanKind kind, const CodeLocation& where,
                            std::string_view name = {}) noexcept {
  return start_code_span(tracer, where, name, SpanOptions{.kind = kind});
}
inline Span start_site_span(const SpanOptions& options, const CodeLocation& where,
                            std::string_view name = {}) noexcept {
  return start_code_span(instrumentation_tracer(), where, name, options);
}
inline Span start_site_span(Tracer& tracer, const SpanOptions& options, const CodeLocation& where,
                            std::string_view name = {}) noexcept {
  return start_code_span(tracer, where, name, options);
}
}  // namespace detail

}  // namespace vigil::trace

#define VIGIL_TRACE_CONCAT_INNER(a, b) a##b
#define VIGIL_TRACE_CONCAT(a, b) VIGIL_TRACE_CONCAT_INNER(a, b)

// The macros' optional arguments, after the name: nothing, a tracer, a SpanKind, a SpanOptions,
// or a tracer then a SpanKind or SpanOptions:
//   VIGIL_TRACE_FUNCTION();                                  // kInternal, instrumentation tracer
//   VIGIL_TRACE_FUNCTION(vigil::trace::SpanKind::kServer);
//   VIGIL_SPAN("llm_call", tracer, vigil::trace::SpanKind::kClient);
//   VIGIL_SPAN("step", (vigil::trace::SpanOptions{.ok_on_success = true}));  // parenthesised
// An exception leaving the scope marks the span as failed (status error and an "exception"
// event, see span.h); with ok_on_success a normal exit sets status ok.

// VIGIL_TRACE_FUNCTION() or VIGIL_TRACE_FUNCTION(tracer): a span named after the enclosing
// function, current until the end of the enclosing scope.
#define VIGIL_TRACE_FUNCTION(...)                                            \
  static const ::vigil::trace::CodeLocation VIGIL_TRACE_CONCAT(              \
      vigil_trace_site_, __LINE__)(vigil::trace::SourceLocation::current()); \
  ::vigil::trace::Span VIGIL_TRACE_CONCAT(vigil_trace_span_, __LINE__) =     \
      ::vigil::trace::detail::start_site_span(__VA_ARGS__ __VA_OPT__(, )     \
                                                  VIGIL_TRACE_CONCAT(vigil_trace_site_, __LINE__))

// VIGIL_SPAN("name") or VIGIL_SPAN("name", tracer): a span with that name (and the code.*
// attributes), current until the end of the enclosing scope. A kind or options may follow.
#define VIGIL_SPAN(name, ...)                                                \
  static const ::vigil::trace::CodeLocation VIGIL_TRACE_CONCAT(              \
      vigil_trace_site_, __LINE__)(vigil::trace::SourceLocation::current()); \
  ::vigil::trace::Span VIGIL_TRACE_CONCAT(vigil_trace_span_, __LINE__) =     \
      ::vigil::trace::detail::start_site_span(                               \
          __VA_ARGS__ __VA_OPT__(, ) VIGIL_TRACE_CONCAT(vigil_trace_site_, __LINE__), (name))
