// vigil/trace/exporter.h: the interface every span exporter implements, and the registry of
// exporter factories that OTEL_TRACES_EXPORTER selects from.
//
//   class StdoutNames : public vigil::trace::SpanExporter {
//    public:
//     vigil::trace::ExportResult export_spans(std::span<const vigil::trace::SpanData* const> spans,
//                                             Deadline) override {
//       for (const auto* s : spans) std::cout << s->name << '\n';
//       return vigil::trace::ExportResult::success();
//     }
//   };
//
//   // Make OTEL_TRACES_EXPORTER=mine create one (done by vigil's OTLP exporter for "otlp"):
//   vigil::trace::register_exporter_factory("mine", [](const vigil::trace::Environment&) {
//     return std::make_unique<StdoutNames>();
//   });
//
// Ownership: an exporter never owns the spans it is handed. They are valid only during the
// export_spans call (the processor returns them to their pools right after): copy what you keep.
//
// Threading: a span processor calls export_spans from one thread at a time (the simple processor
// under its lock, the batch processor from its worker thread). force_flush and shutdown may be
// called from any thread, also while an export runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/trace/environment.h"
#include "vigil/trace/span_data.h"

namespace vigil::metrics {
class Registry;
}

namespace vigil::trace {

// The outcome of one export call.
struct ExportResult {
  enum class Code : uint8_t {
    kSuccess,    // delivered (possibly partly: see rejected_spans)
    kFailure,    // not delivered and retrying will not help (e.g. HTTP 400, encoding error)
    kRetryable,  // not delivered but a later attempt may succeed (timeout, 503); the exporter
                 // already retried within its deadline, the processor drops the batch
  };
  Code code = Code::kSuccess;
  std::string message;          // why it failed, or the collector's partial-success message
  uint64_t rejected_spans = 0;  // spans the receiver reported it rejected (OTLP partial success)

  static ExportResult success() { return {}; }
  static ExportResult partial(uint64_t rejected, std::string message) {
    return {Code::kSuccess, std::move(message), rejected};
  }
  static ExportResult failure(std::string message) {
    return {Code::kFailure, std::move(message), 0};
  }
  static ExportResult retryable(std::string message) {
    return {Code::kRetryable, std::move(message), 0};
  }
  bool ok() const noexcept { return code == Code::kSuccess; }
};

class SpanExporter {
 public:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;

  virtual ~SpanExporter() = default;

  // Sends `spans` (never empty). Must return by `deadline` (the processor's export timeout,
  // OTEL_BSP_EXPORT_TIMEOUT): stop retrying and waiting on the network then and return
  // kRetryable. Must not throw; an exception is caught by the processor and counted as a failed
  // export. Called by one thread at a time.
  virtual ExportResult export_spans(std::span<const SpanData* const> spans, Deadline deadline) = 0;

  // Delivers anything the exporter buffers itself. Returns false when `timeout` ran out first.
  virtual bool force_flush(std::chrono::milliseconds timeout) {
    (void)timeout;
    return true;
  }

  // Flushes and releases resources; later export_spans calls return kFailure at once. Returns
  // false when `timeout` ran out first. Idempotent.
  virtual bool shutdown(std::chrono::milliseconds timeout) {
    (void)timeout;
    return true;
  }

  // A short name for logs and metrics labels ("otlp", "console", "memory" ...).
  virtual std::string_view name() const noexcept { return "exporter"; }
};

// Creates an exporter from the environment (OTEL_EXPORTER_* variables read through `env`, which
// also takes warnings). `self_metrics` is where the exporter counts itself
// (EnvironmentConfigOptions::self_metrics; nullptr: nowhere); it outlives the exporter. May throw
// vigil::Error for a configuration it cannot work with; the caller turns that into a warning and
// a fallback.
using ExporterFactory = std::function<std::unique_ptr<SpanExporter>(
    const Environment& env, metrics::Registry* self_metrics)>;

// Registers `factory` under `name` (the OTEL_TRACES_EXPORTER value, e.g. "otlp"), replacing an
// earlier registration of that name. Thread-safe. Built-in names: "console" (ConsoleExporter),
// "none" (no exporter). Throws vigil::Error for an empty name or factory.
void register_exporter_factory(std::string name, ExporterFactory factory);
// The same for a factory that has no metrics of its own (it is not given self_metrics).
void register_exporter_factory(
    std::string name, std::function<std::unique_ptr<SpanExporter>(const Environment& env)> factory);

// Whether a factory is registered under `name`. Thread-safe.
bool has_exporter_factory(std::string_view name);

// The factory registered under `name`, or an empty function. Thread-safe.
ExporterFactory exporter_factory(std::string_view name);

// Names with a registered factory, sorted. Thread-safe.
std::vector<std::string> exporter_factory_names();

}  // namespace vigil::trace
