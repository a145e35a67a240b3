// vigil/trace/tracer.h: TracerProvider (configuration, pipeline) and Tracer (starts spans).
//
//   // At start (or vigil::trace::configure_from_environment(), see config.h):
//   vigil::trace::TracerProviderOptions opts;
//   opts.resource = vigil::trace::Resource::create({.service_name = "gateway"});
//   opts.processors.push_back(std::make_unique<vigil::trace::BatchSpanProcessor>(
//       std::make_unique<vigil::trace::JsonLinesExporter>("spans.jsonl")));
//   vigil::trace::set_global_provider(
//       std::make_unique<vigil::trace::TracerProvider>(std::move(opts)));
//
//   // Anywhere:
//   vigil::trace::Tracer& tracer = vigil::trace::get_tracer("gateway", "1.0");
//   vigil::trace::Span span = tracer.start_span("handle_request", {.kind = SpanKind::kServer});
//
// Before set_global_provider (or with OTEL_SDK_DISABLED=true) the global provider is a no-op
// provider that is never null: its tracers start no-op spans at ~1 ns. Take tracers after
// configuring: a tracer keeps the provider it came from.
//
// Lifetime: a provider must outlive its tracers and spans. The global provider is never
// destroyed (call shutdown() at exit to flush it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/trace/environment.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/sampler.h"
#include "vigil/trace/span.h"

namespace vigil::trace {

// OpenTelemetry span limits (defaults 128; OTEL_SPAN_*_LIMIT).
struct SpanLimits {
  uint32_t attribute_count = 128;        // OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT
  uint32_t event_count = 128;            // OTEL_SPAN_EVENT_COUNT_LIMIT
  uint32_t link_count = 128;             // OTEL_SPAN_LINK_COUNT_LIMIT
  uint32_t event_attribute_count = 128;  // OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT
  uint32_t link_attribute_count = 128;   // OTEL_LINK_ATTRIBUTE_COUNT_LIMIT
  uint32_t attribute_value_length = 0;   // OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT; 0: unlimited

  // Reads the OTEL_* limits (OTEL_ATTRIBUTE_COUNT_LIMIT and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT as
  // fallbacks); bad values warn and keep the default.
  static SpanLimits from_environment(const Environment& env = Environment());
};

struct TracerProviderOptions {
  Resource resource;                 // empty: Resource::create()
  std::unique_ptr<Sampler> sampler;  // nullptr: parent_based(always_on())
  std::vector<std::unique_ptr<SpanProcessor>> processors;
  SpanLimits limits;
  bool enabled = true;  // false: a no-op provider
};

// How a span starts.
struct SpanOptions {
  SpanKind kind = SpanKind::kInternal;
  // Explicit parent (local or remote, e.g. from a propagator's extract). nullptr: the current
  // span of the thread (unless `root`). An invalid context means "no parent".
  const SpanContext* parent = nullptr;
  bool root = false;              // ignore the current span: start a new trace
  uint64_t start_unix_nanos = 0;  // 0: now
  bool make_current = true;       // become the thread's current span until it ends
  // Set the status to ok when the span ends with its status unset and no exception leaving
  // its scope (the guides' `span.set_status(Status(StatusCode.OK))` on success).
  bool ok_on_success = false;
};

class TracerProvider;
namespace detail {
struct ProviderState;
}  // namespace detail

// Starts spans. Obtained from a TracerProvider; lives as long as it. Thread-safe.
class Tracer {
 public:
  // Starts a span. With a disabled provider: a no-op span (~1 ns). Sampled out: a non-recording
  // span with a context and no record (~9 ns with its end). Otherwise ~30-40 ns. Never throws,
  // never blocks.
  Span start_span(std::string_view name, const SpanOptions& options = {}) noexcept {
    if (!enabled_->load(std::memory_order_relaxed)) [[unlikely]] {
      return Span();
    }
    return start_span_slow(name, options);
  }
  // Whether spans from this tracer can record (provider enabled).
  bool enabled() const noexcept { return enabled_->load(std::memory_order_relaxed); }
  const InstrumentationScope& scope() const noexcept { return scope_; }

 private:
  friend class TracerProvider;  // makes the tracers (TracerProvider::tracer)
  Tracer(detail::ProviderState* state, InstrumentationScope scope);

  Span start_span_slow(std::string_view name, const SpanOptions& options) noexcept;
  void start_record(Span& span, const SpanContext* parent, bool recording, std::string_view name,
                    const SpanOptions& options) noexcept;
  detail::ProviderState* state_;
  const std::atomic<bool>* enabled_;
  InstrumentationScope scope_;
};

class TracerProvider {
 public:
  // Throws vigil::Error when a processor is null.
  explicit TracerProvider(TracerProviderOptions options = {});
  // A disabled (no-op) provider.
  static std::unique_ptr<TracerProvider> noop();
  // shutdown(5s) when not already shut down.
  ~TracerProvider();
  TracerProvider(const TracerProvider&) = delete;
  TracerProvider& operator=(const TracerProvider&) = delete;

  // The tracer for (name, version), created on first use. Thread-safe; the reference stays
  // valid as long as the provider.
  Tracer& tracer(std::string_view name, std::string_view version = {});
  const Resource& resource() const noexcept;
  const SpanLimits& limits() const noexcept;
  const Sampler& sampler() const noexcept;
  bool enabled() const noexcept;

  // Flushes every processor; false when the timeout ran out.
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) noexcept;
  // Shuts every processor down within `timeout` (shared among them). Later spans are no-ops.
  // Idempotent.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) noexcept;

 private:
  std::unique_ptr<detail::ProviderState> state_;
};

// The global provider: a no-op provider until set_global_provider. Never null. Thread-safe.
TracerProvider& global_provider() noexcept;
// Installs `provider` as the global provider. May be done once (a second call throws
// vigil::Error); the provider is never destroyed. Thread-safe.
void set_global_provider(std::unique_ptr<TracerProvider> provider);
// global_provider().tracer(name, version).
Tracer& get_tracer(std::string_view name, std::string_view version = {});

// A tracer whose spans are no-ops (~1 ns, nothing recorded), for code that takes a Tracer& and
// has none to give (a component built without tracing, a test): never null, never destroyed,
// independent of the global provider. Thread-safe; never throws.
Tracer& noop_tracer() noexcept;

}  // namespace vigil::trace
