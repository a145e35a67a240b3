// vigil/trace/propagation.h: carrying span context and baggage across process boundaries.
//
//   // Server side: continue the caller's trace.
//   vigil::trace::HeaderMapCarrier in{{"traceparent", req_traceparent}};
//   vigil::trace::Context parent = vigil::trace::default_propagator().extract(in);
//   auto span = tracer.start_span("handle", {.kind = SpanKind::kServer, .parent = &parent.span});
//
//   // Client side: send the current context.
//   vigil::trace::HeaderMapCarrier out;
//   vigil::trace::default_propagator().inject(vigil::trace::Context::current(), out);
//   for (auto& [k, v] : out.headers) curl_add_header(k + ": " + v);
//
// Propagators: W3C Trace Context (traceparent + tracestate, level 2), W3C Baggage, B3 single
// header ("b3") and B3 multi header (X-B3-*), and a composite of several (OTEL_PROPAGATORS,
// default "tracecontext,baggage"). Extraction never throws: malformed input yields an invalid
// (empty) context, which starts a new trace.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/trace/context.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace {

// Read side of a carrier (HTTP request headers, message metadata). Names are compared
// case-insensitively by implementations.
class CarrierReader {
 public:
  virtual ~CarrierReader() = default;
  // Calls fn(value) for every value of header `name`, in order (several header lines give
  // several calls). Must not throw.
  virtual void get_all(std::string_view name,
                       const std::function<void(std::string_view)>& fn) const = 0;
  // The first value, if any.
  std::optional<std::string_view> get(std::string_view name) const;
};

// Write side of a carrier.
class CarrierWriter {
 public:
  virtual ~CarrierWriter() = default;
  // Sets header `name` to `value`, replacing an earlier value.
  virtual void set(std::string_view name, std::string_view value) = 0;
};

// A carrier over a list of (name, value) pairs, names compared case-insensitively; for tests,
// adapters and the admin server's request headers.
struct HeaderMapCarrier : CarrierReader, CarrierWriter {
  std::vector<std::pair<std::string, std::string>> headers;
  HeaderMapCarrier() = default;
  HeaderMapCarrier(std::initializer_list<std::pair<std::string, std::string>> h) : headers(h) {}
  void get_all(std::string_view name,
               const std::function<void(std::string_view)>& fn) const override;
  void set(std::string_view name, std::string_view value) override;
};

class Propagator {
 public:
  virtual ~Propagator() = default;
  // Writes `ctx` into `carrier` (nothing for an invalid span context).
  virtual void inject(const Context& ctx, CarrierWriter& carrier) const = 0;
  // Reads the carrier into `ctx`, keeping what it does not handle (a trace-context propagator
  // leaves the baggage alone and vice versa). Never throws except std::bad_alloc.
  virtual void extract(const CarrierReader& carrier, Context& ctx) const = 0;
  Context extract(const CarrierReader& carrier) const {
    Context ctx;
    extract(carrier, ctx);
    return ctx;
  }
  // Header names it reads and writes.
  virtual std::vector<std::string> fields() const = 0;
};

std::unique_ptr<Propagator> trace_context_propagator();  // W3C traceparent + tracestate
std::unique_ptr<Propagator> baggage_propagator();        // W3C baggage
std::unique_ptr<Propagator> b3_propagator();             // B3 single header "b3"
std::unique_ptr<Propagator> b3_multi_propagator();       // X-B3-TraceId, -SpanId, -Sampled...
// Runs each in order (extract: later ones overwrite what earlier ones found).
std::unique_ptr<Propagator> composite_propagator(std::vector<std::unique_ptr<Propagator>> parts);
// From an OTEL_PROPAGATORS-style list: "tracecontext", "baggage", "b3", "b3multi", "none".
// Unknown names are reported in `unknown` (and skipped).
std::unique_ptr<Propagator> propagator_from_names(std::string_view names,
                                                  std::vector<std::string>* unknown = nullptr);

// The process-wide propagator (default "tracecontext,baggage"; configure_from_environment sets
// it from OTEL_PROPAGATORS). Thread-safe; set it at start.
const Propagator& default_propagator() noexcept;
void set_default_propagator(std::unique_ptr<Propagator> propagator);

// ---- The parsers, for direct use and fuzzing ----

// Parses a traceparent value with every W3C rule (level 2): 2 lowercase hex version digits, ff
// invalid; version 00 exactly 55 characters; higher versions at least 55 with '-' after the
// flags when longer; lowercase hex only; all-zero trace or parent id invalid. Surrounding spaces
// and tabs are ignored. The result is a remote context; nullopt when invalid. Never throws.
std::optional<SpanContext> parse_traceparent(std::string_view value) noexcept;
// "00-<trace id>-<span id>-<flags>" (flags: sampled and random bits only).
std::string format_traceparent(const SpanContext& ctx);
// Parses a single-header B3 value ("{TraceId}-{SpanId}[-{Sampled}[-{ParentSpanId}]]", or "0"
// / "1" / "d" alone). 64-bit trace ids are left-padded. Never throws.
std::optional<SpanContext> parse_b3(std::string_view value) noexcept;

}  // namespace vigil::trace
