// BatchLogRecordProcessor: a bounded ring of records, one export thread, OTEL_BLRP_* variables.
#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_log_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

constexpr std::size_t kMaxQueue = std::size_t{1} << 20;

uint64_t now_unix_nanos() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

BatchLogRecordProcessorOptions BatchLogRecordProcessorOptions::from_environment(
    const trace::Environment& env) {
  BatchLogRecordProcessorOptions o;
  const auto positive_millis = [&env](std::string_view name, std::chrono::milliseconds fallback) {
    const std::chrono::milliseconds v = env.get_millis(name, fallback);
    if (v.count() > 0) return v;
    env.warn(std::string(name) + "='0' must be a positive number of milliseconds; using " +
             std::to_string(fallback.count()));
    return fallback;
  };
  o.schedule_delay = positive_millis("OTEL_BLRP_SCHEDULE_DELAY", o.schedule_delay);
  o.export_timeout = positive_millis("OTEL_BLRP_EXPORT_TIMEOUT", o.export_timeout);
  o.max_queue_size = static_cast<std::size_t>(env.get_int(
      "OTEL_BLRP_MAX_QUEUE_SIZE", static_cast<int64_t>(o.max_queue_size), 1, kMaxQueue));
  o.max_export_batch_size = static_cast<std::size_t>(
      env.get_int("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", static_cast<int64_t>(o.max_export_batch_size),
                  1, kMaxQueue));
  if (o.max_export_batch_size > o.max_queue_size) {
    env.warn("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=" + std::to_string(o.max_export_batch_size) +
             " is larger than the queue (OTEL_BLRP_MAX_QUEUE_SIZE=" +
             std::to_string(o.max_queue_size) + "); using " + std::to_string(o.max_queue_size));
    o.max_export_batch_size = o.max_queue_size;
  }
  return o;
}

void BatchLogRecordProcessorOptions::validate() const {
  const std::string who = "BatchLogRecordProcessor: ";
  if (schedule_delay.count() <= 0) throw Error(who + "schedule_delay must be positive");
  if (export_timeout.count() <= 0) throw Error(who + "export_timeout must be positive");
  if (max_queue_size == 0 || max_queue_size > kMaxQueue) {
    throw Error(who + "max_queue_size must be in [1, " + std::to_string(kMaxQueue) + "]");
  }
  if (max_export_batch_size == 0 || max_export_batch_size > max_queue_size) {
    throw Error(who + "max_export_batch_size must be in [1, max_queue_size]");
  }
}

struct BatchLogRecordProcessor::State {
  State(std::unique_ptr<LogRecordExporter> e, BatchLogRecordProcessorOptions o)
      : options(std::move(o)), exporter(std::move(e)), ring(options.max_queue_size) {
    if (options.self_metrics == nullptr) return;
    metrics::Registry& r = *options.self_metrics;
    auto& dropped = r.counter("vigil_log_records_dropped_total",
                              "Log records the batch processor dropped, by reason", {"reason"});
    dropped_queue_full = dropped.labels({"queue_full"});
    dropped_export_failed = dropped.labels({"export_failed"});
    dropped_shutdown = dropped.labels({"shutdown"});
    exported_counter =
        r.counter("vigil_log_records_exported_total", "Log records an exporter accepted").get();
  }

  void run() noexcept;
  // Moves up to a batch out of the ring; under mu.
  void take(std::vector<LogRecord>& batch);

  const BatchLogRecordProcessorOptions options;
  std::unique_ptr<LogRecordExporter> exporter;

  mutable std::mutex mu;
  std::condition_variable work_cv;  // the worker waits on it
  std::condition_variable done_cv;  // flush and shutdown wait on it
  std::vector<LogRecord> ring;
  std::size_t head = 0;   // oldest record
  std::size_t count = 0;  // records in the ring
  uint64_t accepted = 0;  // records ever queued (sequence number of the next one)
  uint64_t finished = 0;  // records whose export call returned (or were dropped by shutdown)
  uint64_t flush_target = 0;
  bool stopping = false;
  bool stopped = false;    // the worker has left its loop
  uint64_t abandoned = 0;  // records still queued when the shutdown deadline passed
  Clock::time_point stop_deadline = Clock::time_point::max();
  BatchLogRecordProcessorStats stats;

  metrics::Counter dropped_queue_full;
  metrics::Counter dropped_export_failed;
  metrics::Counter dropped_shutdown;
  metrics::Counter exported_counter;

  std::mutex shutdown_mu;  // one shutdown at a time
  std::thread worker;      // last: started when the rest is ready
};

void BatchLogRecordProcessor::State::take(std::vector<LogRecord>& batch) {
  const std::size_t n = std::min(count, options.max_export_batch_size);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(ring[head]));
    ring[head] = LogRecord();
    head = (head + 1) % ring.size();
  }
  count -= n;
}

void BatchLogRecordProcessor::State::run() noexcept {
  std::vector<LogRecord> batch;
  try {
    batch.reserve(options.max_export_batch_size);
  } catch (...) {
  }
  Clock::time_point next = Clock::now() + options.schedule_delay;
  std::unique_lock lock(mu);
  for (;;) {
    work_cv.wait_until(lock, next, [this] {
      return stopping || count >= options.max_export_batch_size ||
             (flush_target > finished && count > 0);
    });
    if (count == 0) {
      if (stopping) break;
      if (Clock::now() >= next) next = Clock::now() + options.schedule_delay;
      continue;
    }
    const bool due = stopping || count >= options.max_export_batch_size ||
                     flush_target > finished || Clock::now() >= next;
    if (!due) continue;
    if (stopping && Clock::now() >= stop_deadline) break;
    batch.clear();
    take(batch);
    const Clock::time_point deadline = std::min(
        Clock::now() + options.export_timeout, stopping ? stop_deadline : Clock::time_point::max());
    lock.unlock();
    trace::ExportResult result;
    try {
      result = exporter->export_logs(batch, deadline);
    } catch (const std::exception& e) {
      result = trace::ExportResult::failure(std::string("log exporter threw: ") + e.what());
    } catch (...) {
      result = trace::ExportResult::failure("log exporter threw");
    }
    const uint64_t n = batch.size();
    const uint64_t rejected = result.ok() ? std::min<uint64_t>(result.rejected_spans, n) : n;
    exported_counter.inc(static_cast<double>(n - rejected));
    dropped_export_failed.inc(static_cast<double>(rejected));
    batch.clear();
    lock.lock();
    ++stats.export_calls;
    if (!result.ok()) ++stats.failed_exports;
    stats.exported += n - rejected;
    stats.dropped_export_failed += rejected;
    finished += n;
    done_cv.notify_all();
    next = Clock::now() + options.schedule_delay;
  }
  // Whatever is left (the shutdown deadline passed) is dropped and counted.
  const uint64_t left = count;
  for (std::size_t i = 0; i < count; ++i) ring[(head + i) % ring.size()] = LogRecord();
  count = 0;
  finished += left;
  stats.dropped_shutdown += left;
  abandoned = left;
  dropped_shutdown.inc(static_cast<double>(left));
  stopped = true;
  done_cv.notify_all();
}

BatchLogRecordProcessor::BatchLogRecordProcessor(std::unique_ptr<LogRecordExporter> exporter,
                                                 BatchLogRecordProcessorOptions options) {
  if (!exporter) throw Error("BatchLogRecordProcessor: exporter must not be null");
  options.validate();
  state_ = std::make_unique<State>(std::move(exporter), std::move(options));
  state_->worker = std::thread([s = state_.get()] { s->run(); });
}

BatchLogRecordProcessor::~BatchLogRecordProcessor() {
  shutdown(
      std::min<std::chrono::milliseconds>(state_->options.export_timeout, std::chrono::seconds(5)));
}

bool BatchLogRecordProcessor::emit(LogRecord&& record) noexcept {
  State& s = *state_;
  if (record.observed_unix_nanos == 0) record.observed_unix_nanos = now_unix_nanos();
  bool wake = false;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping) {
      ++s.stats.dropped_shutdown;
      s.dropped_shutdown.inc();
      return false;
    }
    if (s.count == s.ring.size()) {
      ++s.stats.dropped_queue_full;
      s.dropped_queue_full.inc();
      return false;
    }
    s.ring[(s.head + s.count) % s.ring.size()] = std::move(record);
    ++s.count;
    ++s.accepted;
    ++s.stats.queued;
    wake = s.count == s.options.max_export_batch_size;
  }
  if (wake) s.work_cv.notify_one();
  return true;
}

bool BatchLogRecordProcessor::flush(std::chrono::milliseconds timeout) noexcept {
  State& s = *state_;
  std::unique_lock lock(s.mu);
  const uint64_t target = s.accepted;
  if (s.finished >= target) return true;
  s.flush_target = std::max(s.flush_target, target);
  s.work_cv.notify_one();
  return s.done_cv.wait_for(lock, timeout, [&] { return s.finished >= target || s.stopped; }) &&
         s.finished >= target;
}

bool BatchLogRecordProcessor::shutdown(std::chrono::milliseconds timeout) noexcept {
  State& s = *state_;
  std::lock_guard one(s.shutdown_mu);
  if (!s.worker.joinable()) return true;
  const Clock::time_point deadline = Clock::now() + timeout;
  bool in_time = false;
  {
    std::unique_lock lock(s.mu);
    s.stopping = true;
    s.stop_deadline = deadline;
    s.work_cv.notify_one();
    in_time = s.done_cv.wait_until(lock, deadline, [&] { return s.stopped; });
  }
  // Past the deadline: cut an export in flight (the exporter returns within ~100 ms), then wait
  // for the worker to count what is left.
  s.exporter->shutdown(in_time ? timeout : std::chrono::milliseconds(0));
  s.worker.join();
  std::lock_guard lock(s.mu);
  return in_time && s.abandoned == 0;
}

BatchLogRecordProcessorStats BatchLogRecordProcessor::stats() const noexcept {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

const BatchLogRecordProcessorOptions& BatchLogRecordProcessor::options() const noexcept {
  return state_->options;
}

}  // namespace vigil::exporters
