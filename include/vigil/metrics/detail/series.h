// vigil/metrics/detail/series.h: one series (a label set of a family) and the reference-counted
// pointer that handles hold. Internal: use Counter, Gauge, Histogram, Summary.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <utility>

namespace vigil::metrics::detail {

class SummaryWindow;
class ExemplarStore;

// Family-wide counts of what recording rejected; exported as vigil_invalid_observations_total.
struct RecordStats {
  std::atomic<uint64_t> negative{0};               // counter increments below zero
  std::atomic<uint64_t> nan{0};                    // NaN increments or observations
  std::atomic<uint64_t> bad_exemplar{0};           // exemplars refused (bad or long labels)
  std::atomic<ExemplarStore*> exemplars{nullptr};  // created by the first exemplar
  int64_t exemplar_interval_ns = 0;                // MetricOptions::exemplar_interval
  void reject_negative() noexcept { negative.fetch_add(1, std::memory_order_relaxed); }
  void reject_nan() noexcept { nan.fetch_add(1, std::memory_order_relaxed); }
};

// A series lives in one allocation: this header, then `label_count` end offsets (uint32_t),
// then the label value bytes. It is freed when the last reference (the family index's or a
// handle's) goes away.
struct SeriesNode {
  std::atomic<uint32_t> refs{1};
  uint32_t cell = 0;   // first value cell (counters, histograms, summaries)
  uint64_t hash = 0;   // of the label values
  double created = 0;  // Unix seconds
  // Gauges: the bits of the double value. Summaries: the SummaryWindow*. Unused otherwise.
  std::atomic<uint64_t> word{0};
  uint32_t idle_since = 0;  // seconds on the family's clock when last seen in use
  uint16_t cell_count = 0;
  uint16_t label_count = 0;
  std::atomic<bool> touched{false};     // looked up since the last idle sweep
  bool owns_window = false;             // `word` holds a SummaryWindow* to delete
  std::atomic<uint32_t> cache_refs{0};  // references held by per-thread lookup caches

  const uint32_t* label_ends() const noexcept {
    return reinterpret_cast<const uint32_t*>(this + 1);
  }
  SummaryWindow* window() const noexcept {
    return reinterpret_cast<SummaryWindow*>(word.load(std::memory_order_relaxed));
  }
  std::string_view label(size_t i) const noexcept {
    const char* base = reinterpret_cast<const char*>(label_ends() + label_count);
    const uint32_t begin = i == 0 ? 0 : label_ends()[i - 1];
    return {base + begin, label_ends()[i] - begin};
  }
};

// Frees the node and its cells. Called when the reference count reaches zero.
void destroy_series(SeriesNode* node) noexcept;

// An owning, reference-counted pointer to a series. Copy adds a reference (one atomic add).
class SeriesRef {
 public:
  SeriesRef() noexcept = default;
  // Adopts a reference the caller already added.
  explicit SeriesRef(SeriesNode* node) noexcept : node_(node) {}
  SeriesRef(const SeriesRef& other) noexcept : node_(other.node_) {
    if (node_ != nullptr) node_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  SeriesRef(SeriesRef&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  SeriesRef& operator=(SeriesRef other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~SeriesRef() {
    if (node_ != nullptr && node_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      destroy_series(node_);
    }
  }
  SeriesNode* get() const noexcept { return node_; }
  explicit operator bool() const noexcept { return node_ != nullptr; }

 private:
  SeriesNode* node_ = nullptr;
};

}  // namespace vigil::metrics::detail
