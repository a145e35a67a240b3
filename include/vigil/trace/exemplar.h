// vigil/trace/exemplar.h: exemplar labels from a span, so a latency bucket or an error counter
// links to the trace that made the observation.
//
//   vigil::trace::Span span = tracer.start_span("request");
//   ...
//   // The current span's trace_id and span_id as the exemplar (a plain observe without one):
//   vigil::trace::observe_with_trace(latency, 0.43);
//   vigil::trace::inc_with_trace(errors);
//
//   // Or the labels themselves, for any recording call that takes ExemplarLabels:
//   const vigil::trace::ExemplarIds ids(span);
//   if (ids) latency.observe(0.43, {{"trace_id", ids.trace_id()}, {"span_id", ids.span_id()}});
//
// Only a sampled span gives exemplar labels: an exemplar pointing at a trace that was never
// exported is a dead link. The label names are OpenMetrics' usual "trace_id" and "span_id"
// (what Grafana and Prometheus look for), values lowercase hex (32 and 16 digits: 64 of the 128
// characters an exemplar may carry).
//
// Thread-safety: ExemplarIds is a plain value; the current span is the calling thread's.
// Cost: ExemplarIds ~20 ns (two hex conversions); recording with an exemplar takes the short lock
// metrics/exemplar.h describes (~50-100 ns). Nothing here allocates or throws.
#pragma once

#include <string_view>

#include "vigil/metrics/counter.h"
#include "vigil/metrics/histogram.h"
#include "vigil/trace/context.h"
#include "vigil/trace/ids.h"
#include "vigil/trace/span.h"
#include "vigil/trace/span_context.h"

namespace vigil::trace {

inline constexpr std::string_view kExemplarTraceIdLabel = "trace_id";
inline constexpr std::string_view kExemplarSpanIdLabel = "span_id";

// The trace and span ids of a sampled span as hex text; empty (false) otherwise.
class ExemplarIds {
 public:
  // The calling thread's current span.
  ExemplarIds() noexcept : ExemplarIds(current_span_context()) {}
  explicit ExemplarIds(const SpanContext& context) noexcept {
    if (context.valid() && context.sampled()) set(context.trace_id, context.span_id);
  }
  explicit ExemplarIds(const Span& span) noexcept {
    if (span.recording() && span.span_id().valid()) set(span.trace_id(), span.span_id());
  }

  explicit operator bool() const noexcept { return valid_; }
  bool valid() const noexcept { return valid_; }
  // 32 and 16 lowercase hex digits; empty when !valid().
  std::string_view trace_id() const noexcept {
    return valid_ ? std::string_view(trace_id_, sizeof trace_id_) : std::string_view();
  }
  std::string_view span_id() const noexcept {
    return valid_ ? std::string_view(span_id_, sizeof span_id_) : std::string_view();
  }

 private:
  void set(const TraceId& trace, const SpanId& span) noexcept {
    trace.write_hex(trace_id_);
    span.write_hex(span_id_);
    valid_ = true;
  }
  char trace_id_[TraceId::kHexSize] = {};
  char span_id_[SpanId::kHexSize] = {};
  bool valid_ = false;
};

// histogram.observe(v) with `ids` as the exemplar when valid.
inline void observe_with_trace(metrics::Histogram& histogram, double v,
                               const ExemplarIds& ids = ExemplarIds()) noexcept {
  if (ids) {
    histogram.observe(
        v, {{kExemplarTraceIdLabel, ids.trace_id()}, {kExemplarSpanIdLabel, ids.span_id()}});
  } else {
    histogram.observe(v);
  }
}

// counter.inc(v) with `ids` as the exemplar when valid.
inline void inc_with_trace(metrics::Counter& counter, double v = 1,
                           const ExemplarIds& ids = ExemplarIds()) noexcept {
  if (ids) {
    counter.inc(v,
                {{kExemplarTraceIdLabel, ids.trace_id()}, {kExemplarSpanIdLabel, ids.span_id()}});
  } else {
    counter.inc(v);
  }
}

}  // namespace vigil::trace
