// vigil/trace/sampler.h: which new spans are recorded and exported.
//
//   auto s = vigil::trace::parent_based(vigil::trace::trace_id_ratio(0.1));  // 10% of new traces
//   auto limited = vigil::trace::rate_limited(100);   // at most 100 new traces per second
//
// Samplers as in OpenTelemetry (always_on, always_off, traceidratio, parentbased(...)) plus a
// rate-limited one. The trace-id ratio decision depends only on the trace id (the lower 56 bits,
// random per W3C level 2), so every process of a trace agrees.
//
// Thread-safety: should_sample is called concurrently from every thread that starts spans and
// must be thread-safe, noexcept and cheap (a few ns).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/trace/span_data.h"

namespace vigil::trace {

enum class SamplingDecision : uint8_t {
  kDrop,             // not recorded; the context propagates unsampled
  kRecordOnly,       // recorded (visible to processors such as tracez) but not sampled/exported
  kRecordAndSample,  // recorded and exported
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // `parent` is the parent's context, or nullptr for a root span.
  virtual SamplingDecision should_sample(const SpanContext* parent, const TraceId& trace_id,
                                         std::string_view name, SpanKind kind) noexcept = 0;
  // e.g. "ParentBased{root=TraceIdRatioBased{0.100000}}".
  virtual std::string description() const = 0;
  // The decision of a sampler whose answer never depends on its arguments (always_on,
  // always_off), which lets the tracer skip the call; nullopt for the others.
  virtual std::optional<SamplingDecision> constant_decision() const noexcept {
    return std::nullopt;
  }
};

namespace detail {
// Decisions the tracer can take without calling the sampler: usable when the sampler is
// constant, or parent-based with constant delegates (the default parent_based(always_on())).
struct SamplingShortcut {
  bool usable = false;
  SamplingDecision root = SamplingDecision::kDrop;
  SamplingDecision remote_sampled = SamplingDecision::kDrop;
  SamplingDecision remote_not_sampled = SamplingDecision::kDrop;
  SamplingDecision local_sampled = SamplingDecision::kDrop;
  SamplingDecision local_not_sampled = SamplingDecision::kDrop;

  SamplingDecision decide(const SpanContext* parent) const noexcept {
    if (parent == nullptr) return root;
    if (parent->remote) return parent->sampled() ? remote_sampled : remote_not_sampled;
    return parent->sampled() ? local_sampled : local_not_sampled;
  }
};
SamplingShortcut shortcut_of(const Sampler& sampler) noexcept;
}  // namespace detail

std::unique_ptr<Sampler> always_on();
std::unique_ptr<Sampler> always_off();
// Samples a fraction `ratio` (clamped to [0, 1]) of trace ids.
std::unique_ptr<Sampler> trace_id_ratio(double ratio);
// Samples at most `per_second` new traces per second (a token bucket with a burst of one
// second's worth). Throws vigil::Error for a negative or NaN rate.
std::unique_ptr<Sampler> rate_limited(double per_second);

struct ParentBasedOptions {
  std::unique_ptr<Sampler> remote_parent_sampled;      // default always_on
  std::unique_ptr<Sampler> remote_parent_not_sampled;  // default always_off
  std::unique_ptr<Sampler> local_parent_sampled;       // default always_on
  std::unique_ptr<Sampler> local_parent_not_sampled;   // default always_off
};
// Follows the parent's sampled flag; `root` decides for spans without a parent.
std::unique_ptr<Sampler> parent_based(std::unique_ptr<Sampler> root,
                                      ParentBasedOptions options = {});

}  // namespace vigil::trace
