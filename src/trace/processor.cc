// Simple and batch span processors.
#include "vigil/trace/processor.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "internal.h"
#include "vigil/core/error.h"
#include "vigil/metrics/counter.h"
#include "vigil/metrics/registry.h"

namespace vigil::trace {
namespace {

using Clock = std::chrono::steady_clock;

struct DropCounters {
  metrics::Counter queue_full, export_failed, shutdown, exported;
  explicit DropCounters(metrics::Registry* registry) {
    metrics::Registry& r = registry != nullptr ? *registry : metrics::Registry::global();
    auto& dropped = r.counter("vigil_spans_dropped_total",
                              "Spans dropped by vigil span processors, by reason", {"reason"});
    queue_full = dropped.labels("queue_full");
    export_failed = dropped.labels("export_failed");
    shutdown = dropped.labels("shutdown");
    exported = r.counter("vigil_spans_exported_total",
                         "Spans handed to a successful export call by vigil span processors")
                   .get();
  }
};

ExportResult safe_export(SpanExporter& e, std::span<const SpanData* const> spans,
                         SpanExporter::Deadline deadline) noexcept {
  try {
    return e.export_spans(spans, deadline);
  } catch (const std::exception& ex) {
    try {
      return ExportResult::failure(std::string("exporter threw: ") + ex.what());
    } catch (...) {
      return ExportResult{ExportResult::Code::kFailure, {}, 0};
    }
  } catch (...) {
    return ExportResult{ExportResult::Code::kFailure, {}, 0};
  }
}

}  // namespace

// ---- SimpleSpanProcessor ----

struct SimpleSpanProcessor::State {
  std::mutex mutex;
  std::unique_ptr<SpanExporter> exporter;
  DropCounters counters;
  bool shut_down = false;
  State(std::unique_ptr<SpanExporter> e, metrics::Registry* r)
      : exporter(std::move(e)), counters(r) {}
};

SimpleSpanProcessor::SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                         metrics::Registry* registry) {
  if (!exporter) throw Error("SimpleSpanProcessor: the exporter is null");
  state_ = std::make_unique<State>(std::move(exporter), registry);
}
SimpleSpanProcessor::~SimpleSpanProcessor() { shutdown(std::chrono::milliseconds(5000)); }

void SimpleSpanProcessor::on_end(SpanRef span) noexcept {
  if (!span->context.flags.sampled()) return;
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) {
    state_->counters.shutdown.inc();
    return;
  }
  const SpanData* one = span.get();
  const ExportResult r = safe_export(*state_->exporter, std::span<const SpanData* const>(&one, 1),
                                     Clock::now() + std::chrono::seconds(30));
  if (r.ok() && r.rejected_spans == 0) {
    state_->counters.exported.inc();
  } else {
    state_->counters.export_failed.inc();
  }
}

bool SimpleSpanProcessor::force_flush(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) return true;
  try {
    return state_->exporter->force_flush(timeout);
  } catch (...) {
    return false;
  }
}

bool SimpleSpanProcessor::shutdown(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) return true;
  state_->shut_down = true;
  try {
    return state_->exporter->shutdown(timeout);
  } catch (...) {
    return false;
  }
}

SpanExporter& SimpleSpanProcessor::exporter() noexcept { return *state_->exporter; }

// ---- BatchSpanProcessor ----

struct BatchSpanProcessor::State {
  // Bounded MPMC queue (D. Vyukov's), used with one consumer.
  struct Slot {
    std::atomic<std::size_t> seq;
    detail::SpanRecord* rec;
  };
  std::unique_ptr<Slot[]> slots;
  std::size_t mask = 0;
  alignas(64) std::atomic<std::size_t> enqueue_pos{0};
  alignas(64) std::atomic<std::size_t> dequeue_pos{0};
  alignas(64) std::atomic<bool> wake_pending{false};

  BatchSpanProcessorOptions options;
  std::unique_ptr<SpanExporter> exporter;
  DropCounters counters;

  std::atomic<uint64_t> queued{0}, exported{0}, dropped_queue_full{0}, dropped_export_failed{0},
      dropped_shutdown{0}, export_calls{0}, export_failures{0}, export_timeouts{0};

  std::mutex mutex;
  std::condition_variable wake_cv;  // worker waits here
  std::condition_variable done_cv;  // flushers and shutdown wait here
  uint64_t flush_requested = 0;
  uint64_t flush_done = 0;
  bool stop = false;
  bool worker_done = false;
  std::atomic<bool> accepting{true};
  std::atomic<bool> abandoned{false};
  std::thread thread;

  State(std::unique_ptr<SpanExporter> e, BatchSpanProcessorOptions o)
      : options(o), exporter(std::move(e)), counters(o.registry) {
    std::size_t cap = 1;
    while (cap < options.max_queue_size) cap <<= 1;
    options.max_queue_size = cap;
    slots = std::make_unique<Slot[]>(cap);
    for (std::size_t i = 0; i < cap; ++i) slots[i].seq.store(i, std::memory_order_relaxed);
    mask = cap - 1;
  }

  bool push(detail::SpanRecord* rec) noexcept {
    std::size_t pos = enqueue_pos.load(std::memory_order_relaxed);
    while (true) {
      Slot& s = slots[pos & mask];
      const std::size_t seq = s.seq.load(std::memory_order_acquire);
      const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
      if (diff == 0) {
        if (enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          s.rec = rec;
          s.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full
      } else {
        pos = enqueue_pos.load(std::memory_order_relaxed);
      }
    }
  }

  detail::SpanRecord* pop() noexcept {
    std::size_t pos = dequeue_pos.load(std::memory_order_relaxed);
    while (true) {
      Slot& s = slots[pos & mask];
      const std::size_t seq = s.seq.load(std::memory_order_acquire);
      const intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          detail::SpanRecord* rec = s.rec;
          s.seq.store(pos + mask + 1, std::memory_order_release);
          return rec;
        }
      } else if (diff < 0) {
        return nullptr;  // empty
      } else {
        pos = dequeue_pos.load(std::memory_order_relaxed);
      }
    }
  }

  std::size_t approx_size() const noexcept {
    const std::size_t e = enqueue_pos.load(std::memory_order_relaxed);
    const std::size_t d = dequeue_pos.load(std::memory_order_relaxed);
    return e > d ? e - d : 0;
  }

  void drop_all(std::vector<detail::SpanRecord*>& batch) noexcept {
    for (detail::SpanRecord* r : batch) detail::unref_record(r);
    batch.clear();
  }

  // Exports everything in the queue, in batches. Returns when the queue was seen empty.
  void drain(std::vector<detail::SpanRecord*>& batch, std::vector<const SpanData*>& views) {
    while (true) {
      batch.clear();
      while (batch.size() < options.max_export_batch_size) {
        detail::SpanRecord* r = pop();
        if (r == nullptr) break;
        batch.push_back(r);
      }
      if (batch.empty()) return;
      const uint64_t n = batch.size();
      if (abandoned.load(std::memory_order_relaxed)) {
        dropped_shutdown.fetch_add(n, std::memory_order_relaxed);
        counters.shutdown.inc(static_cast<double>(n));
        drop_all(batch);
        continue;
      }
      views.clear();
      for (detail::SpanRecord* r : batch) views.push_back(&r->data);
      const auto deadline = Clock::now() + options.export_timeout;
      export_calls.fetch_add(1, std::memory_order_relaxed);
      const ExportResult result =
          safe_export(*exporter, std::span<const SpanData* const>(views), deadline);
      if (Clock::now() > deadline) export_timeouts.fetch_add(1, std::memory_order_relaxed);
      uint64_t failed = 0;
      if (!result.ok()) {
        export_failures.fetch_add(1, std::memory_order_relaxed);
        failed = n;
      } else {
        failed = std::min<uint64_t>(result.rejected_spans, n);
      }
      if (failed > 0) {
        dropped_export_failed.fetch_add(failed, std::memory_order_relaxed);
        counters.export_failed.inc(static_cast<double>(failed));
      }
      if (n > failed) {
        exported.fetch_add(n - failed, std::memory_order_relaxed);
        counters.exported.inc(static_cast<double>(n - failed));
      }
      drop_all(batch);
    }
  }

  void run() {
    std::vector<detail::SpanRecord*> batch;
    std::vector<const SpanData*> views;
    batch.reserve(options.max_export_batch_size);
    views.reserve(options.max_export_batch_size);
    std::unique_lock lock(mutex);
    while (true) {
      wake_cv.wait_for(lock, options.schedule_delay, [&] {
        return stop || flush_requested != flush_done ||
               approx_size() >= options.max_export_batch_size;
      });
      wake_pending.store(false, std::memory_order_relaxed);
      const uint64_t flush_target = flush_requested;
      const bool stopping = stop;
      lock.unlock();
      drain(batch, views);
      lock.lock();
      flush_done = flush_target;
      if (stopping) {
        worker_done = true;
        done_cv.notify_all();
        return;
      }
      done_cv.notify_all();
    }
  }
};

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchSpanProcessorOptions options) {
  if (!exporter) throw Error("BatchSpanProcessor: the exporter is null");
  if (options.max_queue_size == 0) throw Error("BatchSpanProcessor: max_queue_size must be > 0");
  if (options.max_export_batch_size == 0) {
    throw Error("BatchSpanProcessor: max_export_batch_size must be > 0");
  }
  if (options.max_export_batch_size > options.max_queue_size) {
    throw Error("BatchSpanProcessor: max_export_batch_size (" +
                std::to_string(options.max_export_batch_size) + ") exceeds max_queue_size (" +
                std::to_string(options.max_queue_size) + ")");
  }
  if (options.schedule_delay.count() <= 0) options.schedule_delay = std::chrono::milliseconds(1);
  state_ = std::make_shared<State>(std::move(exporter), options);
  std::shared_ptr<State> st = state_;
  state_->thread = std::thread([st] { st->run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() { shutdown(state_->options.export_timeout); }

void BatchSpanProcessor::on_end(SpanRef span) noexcept {
  State& s = *state_;
  if (!span->context.flags.sampled()) return;
  if (!s.accepting.load(std::memory_order_relaxed)) [[unlikely]] {
    s.dropped_shutdown.fetch_add(1, std::memory_order_relaxed);
    s.counters.shutdown.inc();
    return;
  }
  detail::SpanRecord* rec = span.release();
  if (!s.push(rec)) [[unlikely]] {
    SpanRef back(rec);
    s.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    s.counters.queue_full.inc();
    return;
  }
  s.queued.fetch_add(1, std::memory_order_relaxed);
  if (s.approx_size() >= s.options.max_export_batch_size &&
      !s.wake_pending.load(std::memory_order_relaxed) &&
      !s.wake_pending.exchange(true, std::memory_order_relaxed)) {
    s.wake_cv.notify_one();
  }
}

bool BatchSpanProcessor::force_flush(std::chrono::milliseconds timeout) noexcept {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.worker_done || s.stop) return s.approx_size() == 0;
  const uint64_t target = ++s.flush_requested;
  s.wake_cv.notify_one();
  return s.done_cv.wait_for(lock, timeout, [&] { return s.flush_done >= target || s.worker_done; });
}

bool BatchSpanProcessor::shutdown(std::chrono::milliseconds timeout) noexcept {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (!s.thread.joinable()) return true;
  s.accepting.store(false, std::memory_order_relaxed);
  s.stop = true;
  s.wake_cv.notify_one();
  const auto deadline = Clock::now() + timeout;
  const bool finished = s.done_cv.wait_until(lock, deadline, [&] { return s.worker_done; });
  lock.unlock();
  if (finished) {
    s.thread.join();
    // Spans pushed while the worker was finishing.
    while (detail::SpanRecord* r = s.pop()) {
      s.dropped_shutdown.fetch_add(1, std::memory_order_relaxed);
      s.counters.shutdown.inc();
      detail::unref_record(r);
    }
    try {
      s.exporter->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(deadline - Clock::now(), Clock::duration::zero())));
    } catch (...) {
    }
    return true;
  }
  // The deadline passed with an export still running: shut the exporter down, which aborts the
  // export in flight (exporters allow shutdown during an export), and give the worker a moment
  // to notice before joining it.
  try {
    s.exporter->shutdown(std::chrono::milliseconds(0));
  } catch (...) {
  }
  lock.lock();
  const bool stopped =
      s.done_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return s.worker_done; });
  lock.unlock();
  if (stopped) {
    s.thread.join();
    while (detail::SpanRecord* r = s.pop()) {
      s.dropped_shutdown.fetch_add(1, std::memory_order_relaxed);
      s.counters.shutdown.inc();
      detail::unref_record(r);
    }
    return false;  // the deadline was missed, but nothing is left running
  }
  // An exporter that ignores shutdown: leave the worker (it owns a reference to the state);
  // what it has not exported yet is counted as dropped when it gets to it.
  s.abandoned.store(true, std::memory_order_relaxed);
  s.thread.detach();
  return false;
}

BatchSpanProcessorStats BatchSpanProcessor::stats() const noexcept {
  const State& s = *state_;
  BatchSpanProcessorStats out;
  out.queued = s.queued.load(std::memory_order_relaxed);
  out.exported = s.exported.load(std::memory_order_relaxed);
  out.dropped_queue_full = s.dropped_queue_full.load(std::memory_order_relaxed);
  out.dropped_export_failed = s.dropped_export_failed.load(std::memory_order_relaxed);
  out.dropped_shutdown = s.dropped_shutdown.load(std::memory_order_relaxed);
  out.export_calls = s.export_calls.load(std::memory_order_relaxed);
  out.export_failures = s.export_failures.load(std::memory_order_relaxed);
  out.export_timeouts = s.export_timeouts.load(std::memory_order_relaxed);
  return out;
}

const BatchSpanProcessorOptions& BatchSpanProcessor::options() const noexcept {
  return state_->options;
}

}  // namespace vigil::trace
