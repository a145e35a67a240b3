#include "vigil/metrics/business_metrics.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "core/detail/json_writer.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"

namespace vigil::metrics {

static_assert(BusinessMetrics::kBytesPerRecord == 48, "docs state 48 bytes per result");

struct BusinessMetrics::Impl {
  explicit Impl(BusinessMetricsOptions o)
      : options(std::move(o)),
        clock(options.clock ? options.clock : std::function<double()>(unix_time_seconds)),
        capacity(options.max_history_bytes / kBytesPerRecord) {}

  BusinessMetricsOptions options;
  std::function<double()> clock;
  size_t capacity;

  mutable std::mutex mu;
  std::vector<BusinessResult> ring;  // grows to `capacity`, then overwritten from `head`
  size_t head = 0;                   // the oldest result once the ring is full
  std::atomic<uint64_t> dropped{0}, rejected{0};

  Gauge accuracy;
  Histogram prediction;
  Counter interventions;
  Counter dropped_counter;

  // Appends under mu; drops the oldest when full (or when growing fails).
  void push(const BusinessResult& r) noexcept {
    if (ring.size() < capacity) {
      try {
        if (ring.size() == ring.capacity()) {
          ring.reserve(std::min(capacity, std::max<size_t>(16, ring.capacity() * 2)));
        }
        ring.push_back(r);
        return;
      } catch (const std::bad_alloc&) {
        if (ring.empty()) {
          dropped.fetch_add(1, std::memory_order_relaxed);
          dropped_counter.inc();
          return;
        }
        capacity = ring.size();  // cannot grow: keep what fits, from now on a ring
      }
    }
    ring[head] = r;
    head = (head + 1) % ring.size();
    dropped.fetch_add(1, std::memory_order_relaxed);
    dropped_counter.inc();
  }
};

BusinessMetrics::BusinessMetrics(BusinessMetricsOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& m = *impl_;
  if (m.capacity == 0) {
    throw Error("BusinessMetrics: max_history_bytes " +
                std::to_string(m.options.max_history_bytes) + " holds no result (one takes " +
                std::to_string(kBytesPerRecord) + " bytes)");
  }
  if (Registry* r = m.options.registry) {
    m.accuracy = r->gauge("causal_accuracy_score", "Accuracy score of the last causal inference",
                          {"model_type"})
                     .labels("inference");
    m.prediction = r->histogram("model_prediction_accuracy", "Accuracy of causal model predictions",
                                {"model_type"}, {.buckets = linear_buckets(0.1, 0.1, 10)})
                       .labels("causal");
    m.interventions =
        r->counter("causal_interventions_total", "Interventions performed by causal inferences")
            .get();
    m.dropped_counter = r->counter("vigil_business_history_dropped_total",
                                   "Business results dropped from the bounded history to make "
                                   "room for newer ones")
                            .get();
  }
}

BusinessMetrics::~BusinessMetrics() = default;

void BusinessMetrics::record_causal_inference_result(double accuracy, int64_t intervention_count,
                                                     double prediction_accuracy,
                                                     double computation_seconds,
                                                     int64_t memory_bytes) noexcept {
  record({.accuracy = accuracy,
          .intervention_count = intervention_count,
          .prediction_accuracy = prediction_accuracy,
          .computation_seconds = computation_seconds,
          .memory_bytes = memory_bytes,
          .timestamp = impl_->clock()});
}

void BusinessMetrics::record(const BusinessResult& r) noexcept {
  Impl& m = *impl_;
  if (!std::isfinite(r.accuracy) || !std::isfinite(r.prediction_accuracy) ||
      !std::isfinite(r.computation_seconds) || !std::isfinite(r.timestamp) ||
      r.intervention_count < 0 || r.memory_bytes < 0) {
    m.rejected.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.push(r);
  }
  m.accuracy.set(r.accuracy);
  m.prediction.observe(r.prediction_accuracy);
  m.interventions.inc(static_cast<double>(r.intervention_count));
}

PerformanceSummary BusinessMetrics::performance_summary(double hours) const {
  if (!std::isfinite(hours) || hours <= 0) {
    throw Error(
        "BusinessMetrics::performance_summary: hours must be a positive finite number, "
        "got " +
        std::to_string(hours));
  }
  const Impl& m = *impl_;
  const double cutoff = m.clock() - hours * 3600;
  PerformanceSummary s;
  s.hours = hours;
  double accuracy = 0, prediction = 0, computation = 0;
  std::lock_guard<std::mutex> lock(m.mu);
  for (const BusinessResult& r : m.ring) {
    if (!(r.timestamp > cutoff)) continue;
    ++s.operation_count;
    accuracy += r.accuracy;
    prediction += r.prediction_accuracy;
    computation += r.computation_seconds;
    s.total_interventions += r.intervention_count;
    s.peak_memory_bytes = std::max(s.peak_memory_bytes, r.memory_bytes);
  }
  if (s.operation_count == 0) return s;
  const double n = static_cast<double>(s.operation_count);
  s.has_data = true;
  s.avg_accuracy = accuracy / n;
  s.avg_prediction_accuracy = prediction / n;
  s.avg_computation_seconds = computation / n;
  return s;
}

std::vector<BusinessResult> BusinessMetrics::history() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  std::vector<BusinessResult> out;
  out.reserve(m.ring.size());
  out.insert(out.end(), m.ring.begin() + static_cast<std::ptrdiff_t>(m.head), m.ring.end());
  out.insert(out.end(), m.ring.begin(), m.ring.begin() + static_cast<std::ptrdiff_t>(m.head));
  return out;
}

size_t BusinessMetrics::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ring.size();
}

size_t BusinessMetrics::capacity() const noexcept {
  return impl_->options.max_history_bytes / kBytesPerRecord;
}

uint64_t BusinessMetrics::dropped() const noexcept {
  return impl_->dropped.load(std::memory_order_relaxed);
}

uint64_t BusinessMetrics::rejected() const noexcept {
  return impl_->rejected.load(std::memory_order_relaxed);
}

std::string to_json(const PerformanceSummary& s) {
  std::string out;
  vigil::detail::JsonWriter w(out);
  w.open_object();
  if (!s.has_data) {
    w.string_member("status", "no_data");
    w.key("hours");
    w.dbl(s.hours);
    w.close_object();
    return out;
  }
  w.key("avg_accuracy");
  w.dbl(s.avg_accuracy);
  w.key("total_interventions");
  w.int64(s.total_interventions);
  w.key("avg_prediction_accuracy");
  w.dbl(s.avg_prediction_accuracy);
  w.key("avg_computation_time");
  w.dbl(s.avg_computation_seconds);
  w.key("peak_memory_usage");
  w.int64(s.peak_memory_bytes);
  w.uint64_member("operation_count", s.operation_count);
  w.key("time_period_hours");
  w.dbl(s.hours);
  w.close_object();
  return out;
}

}  // namespace vigil::metrics
