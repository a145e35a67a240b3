// BatchSpanProcessor: ended spans go into the ending thread's ring (span_ring.h) or, when it is
// full, a shared bounded queue (bounded_queue.h); a worker thread drains both into batches and
// exports them when a batch is full, on the schedule delay, on flush and at shutdown.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "bounded_queue.h"
#include "internal.h"
#include "processor_internal.h"
#include "span_codec.h"
#include "span_ring.h"
#include "vigil/core/error.h"
#include "vigil/trace/processor.h"

namespace vigil::trace {
namespace {

using detail::DropCounters;
using detail::safe_export;
using detail::SpanRing;
using Clock = std::chrono::steady_clock;

std::atomic<uint64_t> g_next_processor_id{1};

// The calling thread's rings, one per batch processor it ended spans on.
struct ThreadRings {
  struct Link {
    uint64_t owner;
    std::shared_ptr<SpanRing> ring;
  };
  std::vector<Link> links;
  ~ThreadRings();
};
struct RingCache {
  uint64_t owner;
  SpanRing* ring;
};
constinit thread_local RingCache t_ring_cache{0, nullptr};
constinit thread_local bool t_rings_gone = false;
thread_local ThreadRings t_rings;

ThreadRings::~ThreadRings() {
  t_rings_gone = true;
  t_ring_cache = RingCache{0, nullptr};
  for (Link& l : links) {
    l.ring->producer_gone.store(true, std::memory_order_release);
    l.ring->owner_version->fetch_add(1, std::memory_order_release);
  }
}

}  // namespace

struct BatchSpanProcessor::State {
  // A thread's first ring; it doubles, up to thread_buffer_size, each time it overflows, so
  // threads that end few spans keep a small one.
  static constexpr std::size_t kInitialRingBytes = 16 * 1024;

  // Spans that do not fit in their thread's ring (bounded_queue.h), with one consumer: the
  // worker.
  detail::BoundedMpmcQueue<detail::SpanRecord*> queue;
  alignas(64) std::atomic<bool> wake_pending{false};
  // Spans the worker holds in its unfinished batch (written once per drain, read by producers
  // to wake it when their spans complete a batch).
  std::atomic<std::size_t> worker_pending{0};

  const uint64_t id = g_next_processor_id.fetch_add(1, std::memory_order_relaxed);
  BatchSpanProcessorOptions options;
  std::size_t ring_bytes = 0;          // the largest thread ring; 0: no thread rings
  std::size_t initial_ring_bytes = 0;  // a thread's first ring
  std::unique_ptr<SpanExporter> exporter;
  DropCounters counters;

  std::atomic<uint64_t> shared_queued{0}, exported{0}, dropped_queue_full{0},
      dropped_export_failed{0}, dropped_shutdown{0}, export_calls{0}, export_failures{0},
      export_timeouts{0};

  // Every thread ring, for the worker and stats().
  std::mutex rings_mutex;
  std::vector<std::shared_ptr<SpanRing>> rings;
  uint64_t retired_published = 0;  // spans of rings removed after their thread exited
  // Bumped when a ring is added or its thread exits (shared with the rings, which may outlive
  // this state).
  std::shared_ptr<std::atomic<uint64_t>> rings_version = std::make_shared<std::atomic<uint64_t>>(0);

  std::mutex mutex;
  std::condition_variable wake_cv;  // worker waits here
  std::condition_variable done_cv;  // flushers and shutdown wait here
  uint64_t flush_requested = 0;
  uint64_t flush_done = 0;
  bool stop = false;
  bool worker_done = false;
  bool joined = false;  // the worker thread was joined (under `mutex`)
  std::atomic<bool> accepting{true};
  std::atomic<bool> abandoned{false};
  std::thread thread;

  State(std::unique_ptr<SpanExporter> e, BatchSpanProcessorOptions o)
      : queue(o.max_queue_size), options(o), exporter(std::move(e)), counters(o.self_metrics) {
    options.max_queue_size = queue.capacity();
    if (options.thread_buffer_size != 0) {
      ring_bytes = 4096;
      while (ring_bytes < options.thread_buffer_size) ring_bytes <<= 1;
      options.thread_buffer_size = ring_bytes;
      initial_ring_bytes = std::min<std::size_t>(ring_bytes, kInitialRingBytes);
    }
  }

  ~State() {
    std::lock_guard lock(rings_mutex);
    for (const auto& r : rings) r->owner_gone.store(true, std::memory_order_release);
  }

  // ---- producer side ----

  SpanRing* thread_ring() noexcept {
    if (t_ring_cache.owner == id) [[likely]] {
      return t_ring_cache.ring;
    }
    return thread_ring_slow();
  }

  SpanRing* thread_ring_slow() noexcept {
    if (ring_bytes == 0 || t_rings_gone) return nullptr;
    try {
      auto& links = t_rings.links;
      SpanRing* found = nullptr;
      for (std::size_t i = 0; i < links.size();) {
        if (links[i].ring->owner_gone.load(std::memory_order_acquire)) {
          links[i] = std::move(links.back());  // a destroyed processor's ring
          links.pop_back();
          continue;
        }
        if (links[i].owner == id) found = links[i].ring.get();
        ++i;
      }
      if (found == nullptr) {
        links.reserve(links.size() + 1);  // so that the push below cannot throw
        auto ring = new_ring(initial_ring_bytes);
        found = ring.get();
        links.push_back({id, std::move(ring)});
      }
      t_ring_cache = RingCache{id, found};
      return found;
    } catch (...) {
      return nullptr;  // out of memory: the shared queue takes the span
    }
  }

  std::shared_ptr<SpanRing> new_ring(std::size_t bytes) {
    auto ring = std::make_shared<SpanRing>(bytes, rings_version);
    std::lock_guard lock(rings_mutex);
    rings.push_back(ring);
    rings_version->fetch_add(1, std::memory_order_release);
    return ring;
  }

  // The thread's ring `full` overflowed: replaces it with one twice its size, up to
  // thread_buffer_size (nullptr at the limit or out of memory). The old ring is handed to the
  // worker as if its thread had exited: drained, then freed.
  SpanRing* grow_thread_ring(SpanRing* full) noexcept {
    if (full->capacity >= ring_bytes || t_rings_gone) return nullptr;
    try {
      for (auto& link : t_rings.links) {
        if (link.ring.get() != full) continue;
        link.ring = new_ring(full->capacity * 2);
        full->producer_gone.store(true, std::memory_order_release);
        full->owner_version->fetch_add(1, std::memory_order_release);
        t_ring_cache = RingCache{id, link.ring.get()};
        return link.ring.get();
      }
    } catch (...) {
    }
    return nullptr;
  }

  void wake() noexcept {
    if (!wake_pending.load(std::memory_order_relaxed) &&
        !wake_pending.exchange(true, std::memory_order_relaxed)) {
      { std::lock_guard lock(mutex); }  // the worker is waiting or will see wake_pending
      wake_cv.notify_one();
    }
  }

  bool push(detail::SpanRecord* rec) noexcept { return queue.try_push(rec); }

  // ---- consumer side ----

  detail::SpanRecord* pop() noexcept {
    detail::SpanRecord* rec = nullptr;
    return queue.try_pop(rec) ? rec : nullptr;
  }

  std::size_t approx_size() const noexcept { return queue.approx_size(); }

  // The worker's view of the rings; retires rings whose thread exited once they are empty.
  void refresh_rings(std::vector<std::shared_ptr<SpanRing>>& view, uint64_t& version) {
    std::lock_guard lock(rings_mutex);
    for (std::size_t i = 0; i < rings.size();) {
      SpanRing& r = *rings[i];
      if (r.producer_gone.load(std::memory_order_acquire) && r.empty()) {
        retired_published += r.published.load(std::memory_order_acquire);
        rings[i] = std::move(rings.back());
        rings.pop_back();
        continue;
      }
      ++i;
    }
    view = rings;
    version = rings_version->load(std::memory_order_acquire);
  }

  // The worker's state: the rings it knows and the batch it is filling. A batch is exported
  // when it is full, when the schedule delay has passed since the last export, on flush and at
  // shutdown; between exports the worker keeps draining the rings into it (producers wake it
  // every quarter ring), so that they do not overflow while a stream of spans flows.
  struct Worker {
    std::vector<std::shared_ptr<SpanRing>> view;
    uint64_t version = ~uint64_t{0};
    std::vector<SpanData> decoded;  // [0, n_decoded) pending
    std::size_t n_decoded = 0;
    std::vector<detail::SpanRecord*> records;  // pending, from the shared queue
    std::vector<const SpanData*> views;
    Clock::time_point last_export = Clock::now();
    std::size_t next_ring = 0;  // where the next fill starts (round robin)
    std::size_t pending() const noexcept { return n_decoded + records.size(); }
  };

  // Moves spans from the rings and the shared queue into the batch, up to its size. Returns
  // how many it took.
  std::size_t fill(Worker& w) {
    if (w.version != rings_version->load(std::memory_order_acquire)) {
      refresh_rings(w.view, w.version);
    }
    const std::size_t batch = options.max_export_batch_size;
    const std::size_t before = w.pending();
    uint64_t lost = 0;
    // Fair shares: up to half a batch from the shared queue first, then the rings starting
    // with a different one each time, then the shared queue again.
    while (w.pending() < batch && w.records.size() < batch / 2) {
      detail::SpanRecord* rec = pop();
      if (rec == nullptr) break;
      w.records.push_back(rec);
    }
    const std::size_t n_rings = w.view.size();
    for (std::size_t i = 0; i < n_rings && w.pending() < batch; ++i) {
      SpanRing& r = *w.view[(w.next_ring + i) % n_rings];
      w.n_decoded += r.read(w.decoded, w.n_decoded, batch - w.pending(), lost);
    }
    if (n_rings != 0) w.next_ring = (w.next_ring + 1) % n_rings;
    if (lost > 0) [[unlikely]] {
      dropped_export_failed.fetch_add(lost, std::memory_order_relaxed);
      counters.export_failed.inc(static_cast<double>(lost));
    }
    while (w.pending() < batch) {
      detail::SpanRecord* rec = pop();
      if (rec == nullptr) break;
      w.records.push_back(rec);
    }
    const std::size_t took = w.pending() - before;
    if (took == 0) {
      // Rings whose thread exited are drained now: retire them.
      for (const auto& r : w.view) {
        if (r->producer_gone.load(std::memory_order_acquire)) {
          refresh_rings(w.view, w.version);
          break;
        }
      }
    }
    return took + lost;
  }

  // Exports the pending batch and empties it.
  void export_batch(Worker& w) {
    const uint64_t n = w.pending();
    w.last_export = Clock::now();
    if (n == 0) return;
    if (abandoned.load(std::memory_order_relaxed)) {
      dropped_shutdown.fetch_add(n, std::memory_order_relaxed);
      counters.shutdown.inc(static_cast<double>(n));
    } else {
      w.views.clear();
      for (std::size_t i = 0; i < w.n_decoded; ++i) w.views.push_back(&w.decoded[i]);
      for (detail::SpanRecord* r : w.records) w.views.push_back(&r->data);
      const auto deadline = w.last_export + options.export_timeout;
      export_calls.fetch_add(1, std::memory_order_relaxed);
      const ExportResult result =
          safe_export(*exporter, std::span<const SpanData* const>(w.views), deadline);
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
    }
    w.n_decoded = 0;
    release(w.records);
  }

  // Drains what is queued into batches: full batches are exported; a partial one is exported
  // when `force` (flush, shutdown) or the schedule delay has passed since the last export, and
  // otherwise kept for the next round.
  void drain(Worker& w, bool force) {
    while (true) {
      const std::size_t took = fill(w);
      if (w.pending() >= options.max_export_batch_size) {
        export_batch(w);
        continue;
      }
      if (took != 0) continue;  // room left in the batch: look again
      if (w.pending() != 0 && (force || Clock::now() - w.last_export >= options.schedule_delay)) {
        export_batch(w);
      }
      return;
    }
  }

  static void release(std::vector<detail::SpanRecord*>& records) noexcept {
    for (detail::SpanRecord* r : records) detail::unref_record(r);
    records.clear();
  }

  // sweep() once the worker no longer reads the rings (joined, or finished after a shutdown
  // that left it behind).
  void sweep_if_stopped() noexcept {
    {
      std::lock_guard lock(mutex);
      if (!joined && !(worker_done && abandoned.load(std::memory_order_relaxed))) return;
    }
    sweep();
  }

  // After the worker stopped: counts what is still queued as dropped at shutdown. Also called
  // later (stats(), destruction) for spans a thread published while shutdown was sweeping.
  void sweep() noexcept {
    uint64_t n = 0;
    {
      std::lock_guard lock(rings_mutex);
      for (const auto& r : rings) n += r->discard();
    }
    while (detail::SpanRecord* r = pop()) {
      ++n;
      detail::unref_record(r);
    }
    if (n > 0) {
      dropped_shutdown.fetch_add(n, std::memory_order_relaxed);
      counters.shutdown.inc(static_cast<double>(n));
    }
  }

  void run() {
    Worker w;
    w.records.reserve(options.max_export_batch_size);
    w.views.reserve(options.max_export_batch_size);
    std::unique_lock lock(mutex);
    while (true) {
      const auto wake = [&] {
        return stop || flush_requested != flush_done ||
               wake_pending.load(std::memory_order_relaxed) ||
               approx_size() >= options.max_export_batch_size;
      };
      if (w.pending() != 0) {
        wake_cv.wait_until(lock, w.last_export + options.schedule_delay, wake);
      } else {
        wake_cv.wait_for(lock, options.schedule_delay, wake);
      }
      wake_pending.store(false, std::memory_order_relaxed);
      const uint64_t flush_target = flush_requested;
      const bool stopping = stop;
      const bool force = stopping || flush_target != flush_done;
      lock.unlock();
      try {
        drain(w, force);
      } catch (...) {
        // std::bad_alloc growing the worker's vectors: what is pending stays for the next round.
      }
      worker_pending.store(w.pending(), std::memory_order_relaxed);
      lock.lock();
      flush_done = flush_target;
      if (stopping) {
        worker_done = true;
        done_cv.notify_all();
        lock.unlock();
        // Left behind by a shutdown that timed out: count what threads queued meanwhile.
        if (abandoned.load(std::memory_order_relaxed)) sweep();
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
  if (options.thread_buffer_size > (std::size_t{1} << 30)) {
    throw Error("BatchSpanProcessor: thread_buffer_size (" +
                std::to_string(options.thread_buffer_size) + ") exceeds 1 GiB");
  }
  if (options.schedule_delay.count() <= 0) options.schedule_delay = std::chrono::milliseconds(1);
  state_ = std::make_shared<State>(std::move(exporter), options);
  std::shared_ptr<State> st = state_;
  state_->thread = std::thread([st] { st->run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() {
  shutdown(state_->options.export_timeout);
  state_->sweep_if_stopped();
}

void BatchSpanProcessor::on_end(SpanRef span) noexcept {
  State& s = *state_;
  if (!span->context.flags.sampled()) return;
  if (!s.accepting.load(std::memory_order_relaxed)) [[unlikely]] {
    s.dropped_shutdown.fetch_add(1, std::memory_order_relaxed);
    s.counters.shutdown.inc();
    return;
  }
  detail::SpanRecord* rec = span.record();
  if (SpanRing* ring = s.thread_ring(); ring != nullptr) [[likely]] {
    if (!ring->try_write(*rec)) [[unlikely]] {
      s.wake();  // the ring is full (or the span too large for it): a bigger one, if allowed
      ring = s.grow_thread_ring(ring);
      if (ring == nullptr || !ring->try_write(*rec)) ring = nullptr;
    }
    if (ring != nullptr) [[likely]] {
      if (ring->unsignalled >= ring->capacity / 4 ||
          ring->unsignalled_spans + s.worker_pending.load(std::memory_order_relaxed) >=
              s.options.max_export_batch_size) [[unlikely]] {
        ring->unsignalled = 0;
        ring->unsignalled_spans = 0;
        s.wake();
      }
      return;  // `span` goes back to this thread's pool
    }
  }
  // The shared queue hands the record itself to the worker, which reads SpanData::attributes.
  // Other processors of this span run on this thread after this one returns, so moving the
  // log into the list here races with nobody.
  if (!rec->log.empty()) {
    rec->data.dropped_attributes_count += detail::log_materialize(rec->log, rec->data.attributes);
  }
  span.release();
  if (!s.push(rec)) [[unlikely]] {
    SpanRef back(rec);
    s.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
    s.counters.queue_full.inc();
    s.wake();
    return;
  }
  s.shared_queued.fetch_add(1, std::memory_order_relaxed);
  if (s.approx_size() >= s.options.max_export_batch_size) s.wake();
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
  if (s.stop) return true;  // shut down (or being shut down) already
  s.accepting.store(false, std::memory_order_relaxed);
  s.stop = true;
  s.wake_cv.notify_one();
  const auto deadline = Clock::now() + timeout;
  const bool finished = s.done_cv.wait_until(lock, deadline, [&] { return s.worker_done; });
  lock.unlock();
  if (finished) {
    s.thread.join();
    {
      std::lock_guard joined_lock(s.mutex);
      s.joined = true;
    }
    s.sweep();  // spans ended while the worker was finishing
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
  s.abandoned.store(true, std::memory_order_relaxed);  // what the worker still takes is dropped
  lock.lock();
  const bool stopped =
      s.done_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return s.worker_done; });
  lock.unlock();
  if (stopped) {
    s.thread.join();
    {
      std::lock_guard joined_lock(s.mutex);
      s.joined = true;
    }
    s.abandoned.store(false, std::memory_order_relaxed);
    s.sweep();
    return false;  // the deadline was missed, but nothing is left running
  }
  // An exporter that ignores shutdown: leave the worker (it owns a reference to the state);
  // what it has not exported yet is counted as dropped when it gets to it.
  s.thread.detach();
  return false;
}

BatchSpanProcessorStats BatchSpanProcessor::stats() const noexcept {
  State& s = *state_;
  {
    // After shutdown, spans a thread published while the final sweep ran are counted now.
    s.sweep_if_stopped();
  }
  BatchSpanProcessorStats out;
  uint64_t ring_published = 0;
  {
    std::lock_guard lock(s.rings_mutex);
    ring_published = s.retired_published;
    for (const auto& r : s.rings) ring_published += r->published.load(std::memory_order_acquire);
    out.thread_buffers = s.rings.size();
  }
  out.queued_shared = s.shared_queued.load(std::memory_order_relaxed);
  out.queued = out.queued_shared + ring_published;
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
