// vigil/trace/processor.h: what happens to spans when they start and end.
//
//   auto exporter = std::make_unique<vigil::trace::InMemoryExporter>();
//   vigil::trace::TracerProviderOptions opts;
//   opts.processors.push_back(
//       std::make_unique<vigil::trace::BatchSpanProcessor>(std::move(exporter)));
//
// SimpleSpanProcessor exports every span as it ends, on the ending thread (for tests and the
// console). BatchSpanProcessor exports spans in batches from a thread it owns: an ended span is
// copied into a buffer of the ending thread (a single-producer ring the worker drains; the
// span's record stays with its thread) or, when that is full, queued in a bounded lock-free
// shared queue. Recording never blocks; when both are full the span is dropped and counted. Every
// drop is counted in the processor's stats and in the metric vigil_spans_dropped_total{reason}
// (reasons: queue_full, export_failed, shutdown), exported spans in vigil_spans_exported_total.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "vigil/trace/exporter.h"
#include "vigil/trace/span_data.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::trace {

namespace detail {
struct SpanRecord;
}  // namespace detail

// An owning reference to an ended span, handed to SpanProcessor::on_end. The span goes back to
// its pool when the last processor's reference is destroyed or reset(). Move-only; usable from
// any thread.
class SpanRef {
 public:
  SpanRef() noexcept = default;
  explicit SpanRef(detail::SpanRecord* rec) noexcept : rec_(rec) {}
  SpanRef(SpanRef&& o) noexcept : rec_(o.rec_) { o.rec_ = nullptr; }
  SpanRef& operator=(SpanRef&& o) noexcept {
    if (this != &o) {
      reset();
      rec_ = o.rec_;
      o.rec_ = nullptr;
    }
    return *this;
  }
  SpanRef(const SpanRef&) = delete;
  SpanRef& operator=(const SpanRef&) = delete;
  ~SpanRef() { reset(); }

  const SpanData& operator*() const noexcept;
  const SpanData* operator->() const noexcept { return &**this; }
  const SpanData* get() const noexcept { return rec_ ? &**this : nullptr; }
  explicit operator bool() const noexcept { return rec_ != nullptr; }
  // Drops this reference (the span returns to its pool if it was the last one).
  void reset() noexcept;
  // Gives up ownership without dropping the reference: pair with SpanRef(ptr) later.
  detail::SpanRecord* release() noexcept {
    detail::SpanRecord* r = rec_;
    rec_ = nullptr;
    return r;
  }

 private:
  friend class BatchSpanProcessor;  // copies the record into its rings (record())
  detail::SpanRecord* record() const noexcept { return rec_; }

  detail::SpanRecord* rec_ = nullptr;
};

class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  // Whether on_start should be called (it costs a virtual call per span).
  virtual bool wants_on_start() const noexcept { return false; }
  // A recording span started. `span` stays valid until the span ends; its name, ids, kind and
  // start time are set. Called on the starting thread; must be thread-safe and must not block.
  virtual void on_start(const SpanData& span) noexcept { (void)span; }
  // A recording span ended. Keep `span` as long as needed (it holds the span); must be
  // thread-safe and must not block (except the simple processor, by design).
  virtual void on_end(SpanRef span) noexcept = 0;
  // Exports everything queued so far. False when `timeout` ran out first.
  virtual bool force_flush(std::chrono::milliseconds timeout) noexcept = 0;
  // Flushes, then stops; returns by the deadline (false when it ran out; what was left is
  // counted as dropped). Later spans are dropped and counted. Idempotent.
  virtual bool shutdown(std::chrono::milliseconds timeout) noexcept = 0;
};

// Exports each span on the thread that ends it, one at a time (a mutex serializes exports).
class SimpleSpanProcessor : public SpanProcessor {
 public:
  // `self_metrics`: where vigil_spans_dropped_total / vigil_spans_exported_total are counted;
  // nullptr: nowhere (pass &vigil::metrics::Registry::global() for the global registry). Must
  // outlive the processor.
  explicit SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                               metrics::Registry* self_metrics = nullptr);
  ~SimpleSpanProcessor() override;
  void on_end(SpanRef span) noexcept override;
  bool force_flush(std::chrono::milliseconds timeout) noexcept override;
  bool shutdown(std::chrono::milliseconds timeout) noexcept override;
  SpanExporter& exporter() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct BatchSpanProcessorOptions {
  std::size_t max_queue_size = 2048;  // OTEL_BSP_MAX_QUEUE_SIZE (rounded up to a power of 2)
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT
  std::size_t max_export_batch_size = 512;  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE (<= queue size)
  // The largest buffer a thread that ends spans gets (rounded up to a power of 2, at least
  // 4 KiB; 0: none, every span goes through the shared queue). Ended spans are copied into the
  // ending thread's buffer, which the worker drains; a buffer starts at 16 KiB and doubles when
  // it overflows, up to this size. Spans that still do not fit (buffer full at its largest, or
  // a span larger than a quarter of it) take the shared queue of max_queue_size spans. Memory:
  // at most about twice this per thread while outgrown buffers wait to be drained.
  std::size_t thread_buffer_size = 256 * 1024;
  // Where vigil_spans_dropped_total / vigil_spans_exported_total are counted; nullptr: nowhere
  // (stats() still counts), &vigil::metrics::Registry::global() for the global registry. Must
  // outlive the processor.
  metrics::Registry* self_metrics = nullptr;
};

// Counters of one BatchSpanProcessor (monotonic).
struct BatchSpanProcessorStats {
  uint64_t queued = 0;                 // accepted (into a thread's buffer or the shared queue)
  uint64_t queued_shared = 0;          // of those, through the shared queue (buffer full/too small)
  uint64_t exported = 0;               // handed to a successful export call
  uint64_t dropped_queue_full = 0;     // thread buffer and shared queue full at on_end
  uint64_t dropped_export_failed = 0;  // in a failed export call (or rejected by the receiver)
  uint64_t dropped_shutdown = 0;       // ended after shutdown, or still queued at its deadline
  uint64_t export_calls = 0;
  uint64_t export_failures = 0;
  uint64_t export_timeouts = 0;  // export calls that returned after their deadline
  // Thread buffers allocated now (one per thread that ended spans; a buffer is freed once its
  // thread has exited and the worker has drained it). Not monotonic.
  uint64_t thread_buffers = 0;
  uint64_t dropped() const noexcept {
    return dropped_queue_full + dropped_export_failed + dropped_shutdown;
  }
};

class BatchSpanProcessor : public SpanProcessor {
 public:
  // Starts the export thread. Throws vigil::Error for a zero queue or batch size, or a batch size
  // over the queue size.
  explicit BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                              BatchSpanProcessorOptions options = {});
  // shutdown(export_timeout).
  ~BatchSpanProcessor() override;

  // Copies the span into the thread's buffer (~20-40 ns for a typical span), else pushes it
  // into the shared queue (lock-free), else drops and counts it.
  void on_end(SpanRef span) noexcept override;
  bool force_flush(std::chrono::milliseconds timeout) noexcept override;
  bool shutdown(std::chrono::milliseconds timeout) noexcept override;

  BatchSpanProcessorStats stats() const noexcept;
  const BatchSpanProcessorOptions& options() const noexcept;

  struct State;  // internal

 private:
  std::shared_ptr<State> state_;
};

}  // namespace vigil::trace
