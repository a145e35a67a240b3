// vigil/trace/span.h: a span, one timed operation of a trace, as a movable RAII value.
//
//   {
//     vigil::trace::Span span = tracer.start_span("llm_call", {.kind = SpanKind::kClient});
//     span.set_attribute("gen_ai.system", "openai");
//     span.set_attribute("gen_ai.usage.input_tokens", 812);
//     span.add_event("retry", {{"attempt", 2}});
//     if (failed) span.set_status(StatusCode::kError, "rate limited");
//   }  // ends here, unless end() was called before
//
// A recording Span holds a pointer to a pooled record: no shared_ptr, no allocation per span once
// the pool is warm; a non-recording span keeps its ids inline and costs a few nanoseconds. A
// default-constructed Span, a span from a disabled tracer and a span the sampler dropped accept
// every call and cost nearly nothing (recording() is false; an unsampled span still has a context,
// so it propagates). While a span is *current* (the default when started), spans started on the
// same thread become its children; ending it restores the previous current span. End a current span
// on the thread that started it.
//
// Thread-safety: a Span is not thread-safe; use it from one thread at a time (it may be moved to
// and ended on another thread). Every member is noexcept; recording never blocks and never throws.
// Limits (attributes, events, links; OTEL_SPAN_*_LIMIT) drop what exceeds them and count the
// drops on the span.
//
// Exceptions: a recording span that ends while an exception is leaving its scope (it is
// destroyed during stack unwinding: std::uncaught_exceptions() is higher than when it started)
// gets status error "an exception left the span's scope" and an "exception" event
// (exception.type "unknown", exception.message, exception.escaped true), unless
// record_exception() was called on it already. Standard C++ cannot reach the exception object
// during unwinding: for its type and message use in_span() or instrument_operation(), which
// catch, record and rethrow. With SpanOptions::ok_on_success, a span that ends otherwise with
// its status unset gets status ok. Cost: one std::uncaught_exceptions() call (a thread-local
// read) at start and end of recording spans; nothing for the others.
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vigil/trace/detail/context_stack.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace {

namespace detail {
struct SpanRecord;
}  // namespace detail

// An attribute value passed to the API: a view, so passing one never allocates.
class AttributeArg {
 public:
  enum class Type : uint8_t { kString, kBool, kInt, kDouble, kValue };
  AttributeArg(std::string_view v) noexcept : type_(Type::kString), s_(v) {}    // NOLINT
  AttributeArg(const char* v) noexcept : type_(Type::kString), s_(v) {}         // NOLINT
  AttributeArg(const std::string& v) noexcept : type_(Type::kString), s_(v) {}  // NOLINT
  AttributeArg(bool v) noexcept : type_(Type::kBool), b_(v) {}                  // NOLINT
  template <std::integral T>
  requires(!std::same_as<T, bool>) AttributeArg(T v)
  noexcept : type_(Type::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  template <std::floating_point T>
  AttributeArg(T v) noexcept : type_(Type::kDouble), d_(static_cast<double>(v)) {}  // NOLINT
  AttributeArg(const AttributeValue& v) noexcept : type_(Type::kValue), v_(&v) {}   // NOLINT

  Type type() const noexcept { return type_; }
  // The value; only the accessor of type() may be called.
  std::string_view string() const noexcept { return s_; }
  bool boolean() const noexcept { return b_; }
  int64_t integer() const noexcept { return i_; }
  double number() const noexcept { return d_; }
  const AttributeValue& value() const noexcept { return *v_; }
  // Writes this value into `out`, reusing its buffers.
  void assign_to(AttributeValue& out) const;

 private:
  Type type_;
  union {  // one member set, by the constructor of type_
    std::string_view s_;
    bool b_;
    int64_t i_;
    double d_;
    const AttributeValue* v_;
  };
};

struct Attribute {
  std::string_view key;
  AttributeArg value;
};

class Tracer;

class Span {
 public:
  // A no-op span.
  Span() noexcept = default;
  Span(Span&& other) noexcept
      : rec_(std::exchange(other.rec_, nullptr)),
        trace_id_(other.trace_id_),
        span_id_(other.span_id_),
        frame_serial_(std::exchange(other.frame_serial_, 0)),
        frame_index_(other.frame_index_),
        flags_(other.flags_),
        live_(std::exchange(other.live_, false)) {}
  // Ends the span this one held, then takes over `other`'s.
  Span& operator=(Span&& other) noexcept {
    if (this != &other) {
      end();
      rec_ = std::exchange(other.rec_, nullptr);
      trace_id_ = other.trace_id_;
      span_id_ = other.span_id_;
      frame_serial_ = std::exchange(other.frame_serial_, 0);
      frame_index_ = other.frame_index_;
      flags_ = other.flags_;
      live_ = std::exchange(other.live_, false);
    }
    return *this;
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  // True when the span records (it was sampled or the sampler chose record-only) and has not
  // ended.
  bool recording() const noexcept;
  // The span's context (invalid for a no-op or ended span). Copies the tracestate.
  SpanContext context() const;
  TraceId trace_id() const noexcept { return live_ ? trace_id_ : TraceId(); }
  SpanId span_id() const noexcept { return live_ ? span_id_ : SpanId(); }
  // Not ended and not a no-op span (false after end()).
  explicit operator bool() const noexcept { return live_; }

  // Sets an attribute (replacing the value of the same key). Cost ~5-10 ns; allocates only when
  // a pooled buffer must grow.
  Span& set_attribute(std::string_view key, AttributeArg value) noexcept {
    if (rec_ != nullptr) set_attribute_slow(key, value);
    return *this;
  }
  // Sets an array attribute.
  Span& set_attribute(std::string_view key, std::vector<std::string> value) noexcept {
    return set_value(key, AttributeValue(std::move(value)));
  }
  Span& set_attribute(std::string_view key, std::vector<int64_t> value) noexcept {
    return set_value(key, AttributeValue(std::move(value)));
  }
  Span& set_attribute(std::string_view key, std::vector<double> value) noexcept {
    return set_value(key, AttributeValue(std::move(value)));
  }
  Span& set_attribute(std::string_view key, std::vector<bool> value) noexcept {
    return set_value(key, AttributeValue(std::move(value)));
  }
  // Sets any AttributeValue.
  Span& set_value(std::string_view key, AttributeValue value) noexcept;
  // Adds an event at `time_unix_nanos` (0: now).
  Span& add_event(std::string_view name, std::initializer_list<Attribute> attributes = {},
                  uint64_t time_unix_nanos = 0) noexcept;
  // Adds a link to another span's context (ignored when the context is invalid).
  Span& add_link(const SpanContext& context,
                 std::initializer_list<Attribute> attributes = {}) noexcept;
  // Sets the status. kOk is final (later kError is ignored, as in OpenTelemetry); kUnset is
  // ignored; the message is kept only with kError.
  Span& set_status(StatusCode code, std::string_view message = {}) noexcept;
  // Adds an "exception" event with exception.type and exception.message and sets the status to
  // error with the message. The type is the demangled dynamic type of `e`.
  Span& record_exception(const std::exception& e) noexcept;
  Span& record_exception(std::string_view type, std::string_view message) noexcept;
  // Records the in-flight exception (call inside a catch block); "unknown" for non-std ones.
  Span& record_current_exception() noexcept;
  Span& update_name(std::string_view name) noexcept;

  // Ends the span at `end_unix_nanos` (0: now) and hands it to the processors. Later calls do
  // nothing. Cost: a clock read and the hand-off (an encode into the thread's buffer for the
  // batch processor).
  void end(uint64_t end_unix_nanos = 0) noexcept {
    if (!live_) return;
    if (rec_ == nullptr) {
      // No record (unsampled): pop the context, inline.
      live_ = false;
      if (frame_serial_ != 0) {
        detail::pop_context(frame_index_, frame_serial_);
        frame_serial_ = 0;
      }
      return;
    }
    end_slow(end_unix_nanos);
  }

 private:
  friend class Tracer;
  void end_slow(uint64_t end_unix_nanos) noexcept;
  void finish_status() noexcept;
  void end_record(uint64_t end_unix_nanos) noexcept;
  void set_attribute_slow(std::string_view key, const AttributeArg& value) noexcept;

  // A recording span's data (and a non-recording span's, when it carries a tracestate); null
  // for other spans, whose context is the inline fields below.
  detail::SpanRecord* rec_ = nullptr;
  TraceId trace_id_;
  SpanId span_id_;
  uint64_t frame_serial_ = 0;  // != 0: the span pushed itself on its thread's context stack
  uint32_t frame_index_ = 0;
  TraceFlags flags_;
  bool live_ = false;
};

}  // namespace vigil::trace
