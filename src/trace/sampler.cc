// Samplers.
#include "vigil/trace/sampler.h"

#include <atomic>
#include <cmath>
#include <cstdio>

#include "internal.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"

namespace vigil::trace {
namespace {

class AlwaysOn final : public Sampler {
 public:
  SamplingDecision should_sample(const SpanContext*, const TraceId&, std::string_view,
                                 SpanKind) noexcept override {
    return SamplingDecision::kRecordAndSample;
  }
  std::string description() const override { return "AlwaysOnSampler"; }
  std::optional<SamplingDecision> constant_decision() const noexcept override {
    return SamplingDecision::kRecordAndSample;
  }
};

class AlwaysOff final : public Sampler {
 public:
  SamplingDecision should_sample(const SpanContext*, const TraceId&, std::string_view,
                                 SpanKind) noexcept override {
    return SamplingDecision::kDrop;
  }
  std::string description() const override { return "AlwaysOffSampler"; }
  std::optional<SamplingDecision> constant_decision() const noexcept override {
    return SamplingDecision::kDrop;
  }
};

class TraceIdRatio final : public Sampler {
 public:
  explicit TraceIdRatio(double ratio) : ratio_(ratio) {
    if (!(ratio > 0)) {
      ratio_ = 0;
      threshold_ = 0;
    } else if (ratio >= 1) {
      ratio_ = 1;
      threshold_ = uint64_t{1} << 56;
    } else {
      threshold_ = static_cast<uint64_t>(ratio * 72057594037927936.0);  // 2^56
    }
  }
  SamplingDecision should_sample(const SpanContext*, const TraceId& trace_id, std::string_view,
                                 SpanKind) noexcept override {
    // The lower 56 bits: random in W3C level 2 ids.
    const uint64_t r = trace_id.low() & ((uint64_t{1} << 56) - 1);
    return r < threshold_ ? SamplingDecision::kRecordAndSample : SamplingDecision::kDrop;
  }
  std::string description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "TraceIdRatioBased{%f}", ratio_);
    return buf;
  }

 private:
  double ratio_;
  uint64_t threshold_ = 0;
};

// Generic cell rate algorithm: a token bucket of one second's worth.
class RateLimited final : public Sampler {
 public:
  explicit RateLimited(double per_second) : per_second_(per_second) {
    interval_ = per_second > 0 ? static_cast<int64_t>(1e9 / per_second) : 0;
    burst_ = 1000000000;
  }
  SamplingDecision should_sample(const SpanContext*, const TraceId&, std::string_view,
                                 SpanKind) noexcept override {
    if (interval_ <= 0) return SamplingDecision::kDrop;
    const int64_t now = monotonic_nanos();
    int64_t tat = tat_.load(std::memory_order_relaxed);
    while (true) {
      const int64_t base = tat > now ? tat : now;
      if (base - now > burst_ - interval_) return SamplingDecision::kDrop;
      if (tat_.compare_exchange_weak(tat, base + interval_, std::memory_order_relaxed)) {
        return SamplingDecision::kRecordAndSample;
      }
    }
  }
  std::string description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "RateLimitingSampler{%g}", per_second_);
    return buf;
  }

 private:
  double per_second_;
  int64_t interval_;
  int64_t burst_;
  std::atomic<int64_t> tat_{0};
};

class ParentBased final : public Sampler {
 public:
  ParentBased(std::unique_ptr<Sampler> root, ParentBasedOptions o)
      : root_(std::move(root)),
        remote_sampled_(o.remote_parent_sampled ? std::move(o.remote_parent_sampled) : always_on()),
        remote_not_sampled_(o.remote_parent_not_sampled ? std::move(o.remote_parent_not_sampled)
                                                        : always_off()),
        local_sampled_(o.local_parent_sampled ? std::move(o.local_parent_sampled) : always_on()),
        local_not_sampled_(o.local_parent_not_sampled ? std::move(o.local_parent_not_sampled)
                                                      : always_off()) {}
  SamplingDecision should_sample(const SpanContext* parent, const TraceId& trace_id,
                                 std::string_view name, SpanKind kind) noexcept override {
    Sampler* s;
    if (parent == nullptr) {
      s = root_.get();
    } else if (parent->remote) {
      s = parent->sampled() ? remote_sampled_.get() : remote_not_sampled_.get();
    } else {
      s = parent->sampled() ? local_sampled_.get() : local_not_sampled_.get();
    }
    return s->should_sample(parent, trace_id, name, kind);
  }
  std::string description() const override {
    return "ParentBased{root=" + root_->description() + "}";
  }
  detail::SamplingShortcut shortcut() const noexcept {
    detail::SamplingShortcut s;
    const auto root = root_->constant_decision();
    const auto rs = remote_sampled_->constant_decision();
    const auto rns = remote_not_sampled_->constant_decision();
    const auto ls = local_sampled_->constant_decision();
    const auto lns = local_not_sampled_->constant_decision();
    if (!root || !rs || !rns || !ls || !lns) return s;
    s.usable = true;
    s.root = *root;
    s.remote_sampled = *rs;
    s.remote_not_sampled = *rns;
    s.local_sampled = *ls;
    s.local_not_sampled = *lns;
    return s;
  }

 private:
  std::unique_ptr<Sampler> root_, remote_sampled_, remote_not_sampled_, local_sampled_,
      local_not_sampled_;
};

}  // namespace

detail::SamplingShortcut detail::shortcut_of(const Sampler& sampler) noexcept {
  if (const auto* pb = dynamic_cast<const ParentBased*>(&sampler)) return pb->shortcut();
  SamplingShortcut s;
  if (const auto d = sampler.constant_decision()) {
    s.usable = true;
    s.root = s.remote_sampled = s.remote_not_sampled = s.local_sampled = s.local_not_sampled = *d;
  }
  return s;
}

std::unique_ptr<Sampler> always_on() { return std::make_unique<AlwaysOn>(); }
std::unique_ptr<Sampler> always_off() { return std::make_unique<AlwaysOff>(); }
std::unique_ptr<Sampler> trace_id_ratio(double ratio) {
  return std::make_unique<TraceIdRatio>(std::isnan(ratio) ? 0 : ratio);
}
std::unique_ptr<Sampler> rate_limited(double per_second) {
  if (!(per_second >= 0)) {
    throw Error("rate_limited sampler: the rate must be a number >= 0 (traces per second)");
  }
  return std::make_unique<RateLimited>(per_second);
}
std::unique_ptr<Sampler> parent_based(std::unique_ptr<Sampler> root, ParentBasedOptions options) {
  if (!root) throw Error("parent_based sampler: the root sampler is null");
  return std::make_unique<ParentBased>(std::move(root), std::move(options));
}

}  // namespace vigil::trace
