// PeriodicExporter (vigil/exporters/metric_exporter.h): the collection thread, one thread per
// exporter with a one-slot mailbox, flush and shutdown, and the engine's own metrics.
//
// Locks: Core::mu guards every mailbox and status; it is never held while collecting the
// registry, while an exporter runs, or while the registry is asked for a family (get-or-create
// happens before it is taken), so the registry being exported may be the self-metrics one.
// collect_mu_ only orders collections (a snapshot posted later is never older than one posted
// before); it is held around Registry::collect and the posting, never by exporter threads.
//
// A worker's state lives in a shared_ptr the worker thread holds too: when an exporter ignores
// abort() past the shutdown deadline its thread is detached, finishes on its own (calling
// close() once its export returns) and touches neither the engine nor the self-metrics registry
// again.
#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {

namespace {

// Failure reasons every exporter's failures_total starts with (value 0), so a dashboard shows
// rows before anything failed. Other reasons an exporter reports are added when they happen.
constexpr std::array<std::string_view, 9> kKnownReasons = {"connection", "encoding", "exception",
                                                           "http_error", "io",       "limit",
                                                           "rejected",   "shutdown", "timeout"};

// After the shutdown deadline, how long aborted exports get to return before their threads are
// left to finish on their own.
constexpr auto kAbortGrace = std::chrono::milliseconds(100);

using Snapshot = std::shared_ptr<const MetricsSnapshot>;

// The self-metric families (get-or-create in options.self_metrics).
struct SelfFamilies {
  metrics::Family<metrics::Counter>* exports = nullptr;
  metrics::Family<metrics::Counter>* failures = nullptr;
  metrics::Family<metrics::Counter>* retries = nullptr;
  metrics::Family<metrics::Counter>* dropped = nullptr;
  metrics::Family<metrics::Counter>* points = nullptr;
  metrics::Family<metrics::Counter>* bytes = nullptr;
  metrics::Family<metrics::Counter>* skipped = nullptr;
  metrics::Family<metrics::Histogram>* duration = nullptr;
  metrics::Family<metrics::Gauge>* last_success = nullptr;

  explicit SelfFamilies(metrics::Registry* r) {
    if (r == nullptr) return;
    exports = &r->counter("vigil_metric_exports_total",
                          "Metric export calls that succeeded, per exporter", {"exporter"});
    failures = &r->counter("vigil_metric_export_failures_total",
                           "Metric export calls that failed, per exporter and reason",
                           {"exporter", "reason"});
    retries =
        &r->counter("vigil_metric_export_retries_total",
                    "Metric export attempts after the first (retries), per exporter", {"exporter"});
    dropped =
        &r->counter("vigil_metric_export_dropped_points_total",
                    "Metric points that did not reach the destination, per exporter", {"exporter"});
    points = &r->counter("vigil_metric_export_points_total",
                         "Metric points delivered, per exporter", {"exporter"});
    bytes =
        &r->counter("vigil_metric_export_sent_bytes_total",
                    "Bytes metric exporters wrote to the wire (after compression)", {"exporter"});
    skipped = &r->counter("vigil_metric_export_skipped_total",
                          "Snapshots replaced by a newer one before the exporter was free (their "
                          "changes go with the next export)",
                          {"exporter"});
    duration = &r->histogram(
        "vigil_metric_export_duration_seconds", "Duration of metric export calls, per exporter",
        {"exporter"},
        {.buckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}},
        {.unit = "seconds"});
    last_success = &r->gauge("vigil_metric_export_last_success_timestamp_seconds",
                             "Unix time of the exporter's last successful export, 0 when none yet",
                             {"exporter"});
  }
};

// One exporter's handles, resolved when it is added (unbound handles count nowhere).
struct SelfHandles {
  metrics::Counter exports, retries, dropped, points, bytes, skipped;
  metrics::Histogram duration;
  metrics::Gauge last_success;
  metrics::Family<metrics::Counter>* failure_family = nullptr;
  std::vector<std::pair<std::string, metrics::Counter>> failures;  // by reason

  SelfHandles() = default;
  SelfHandles(const SelfFamilies& f, std::string_view name) {
    if (f.exports == nullptr) return;
    exports = f.exports->labels(name);
    retries = f.retries->labels(name);
    dropped = f.dropped->labels(name);
    points = f.points->labels(name);
    bytes = f.bytes->labels(name);
    skipped = f.skipped->labels(name);
    duration = f.duration->labels(name);
    last_success = f.last_success->labels(name);
    failure_family = f.failures;
    for (std::string_view reason : kKnownReasons) {
      failures.emplace_back(std::string(reason), f.failures->labels(name, reason));
    }
  }

  // The failure counter for `reason` (created on first use for a reason not known in advance).
  metrics::Counter failure(std::string_view exporter, std::string_view reason) {
    for (auto& [r, c] : failures) {
      if (r == reason) return c;
    }
    if (failure_family == nullptr) return {};
    try {
      metrics::Counter c = failure_family->labels(exporter, reason);
      failures.emplace_back(std::string(reason), c);
      return c;
    } catch (...) {
      return {};
    }
  }
};

struct Core;

// One exporter, its mailbox and its outcomes. Guarded by Core::mu except where noted.
struct Worker {
  std::unique_ptr<MetricExporter> exporter;  // used by the worker thread only (and abort())
  std::string name;
  SelfHandles self;  // recorded by the worker thread, and by shutdown after the thread ended
  std::thread thread;
  std::condition_variable cv;  // mailbox changes, stop

  Snapshot pending;  // the one-slot mailbox
  uint64_t pending_seq = 0;
  Snapshot in_flight;     // the snapshot being exported (busy)
  uint64_t done_seq = 0;  // the newest snapshot whose export finished
  bool last_ok = true;    // that export's outcome
  bool started = false;
  bool stopping = false;  // exit once the mailbox is empty
  bool discard = false;   // past the shutdown deadline: take nothing more
  bool aborted = false;   // abort() was called on the export in flight
  bool detached = false;  // the engine gave up on this thread: record nothing more
  bool finished = false;  // the thread returned from its loop (close() done)

  ExporterStatus status;
};

// State shared by the engine and its worker threads.
struct Core {
  std::mutex mu;
  std::condition_variable progress;  // a worker finished an export or its loop
  // Export deadlines are capped by this once shutdown started (ExportDeadline::max() before).
  ExportDeadline final_deadline = ExportDeadline::max();
  std::chrono::milliseconds timeout{0};
};

// `from + d`, with d capped at a year so that "wait forever" (milliseconds::max()) neither
// overflows the clock nor meets condition-variable implementations that mishandle max().
ExportDeadline deadline_after(ExportClock::time_point from, std::chrono::milliseconds d) {
  constexpr std::chrono::milliseconds kLongest = std::chrono::hours(24 * 365);
  return from + std::min(d, kLongest);
}

double seconds_between(ExportClock::time_point a, ExportClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Records one finished export: status and self metrics. Core::mu held.
void record_outcome(Worker& w, const ExportOutcome& o, const MetricsSnapshot& snapshot,
                    double duration, double finished_at) {
  ExporterStatus& s = w.status;
  s.last_duration = duration;
  s.retries += o.retries;
  s.points += o.points;
  s.bytes += o.bytes;
  uint64_t dropped = o.dropped_points;
  std::string reason = o.reason;
  if (!o.ok) {
    if (w.aborted) reason = "shutdown";
    if (reason.empty()) reason = "error";
    // Nothing delivered and nothing counted: the whole snapshot was lost.
    if (o.points == 0 && dropped == 0) dropped = snapshot.series();
  }
  s.dropped_points += dropped;
  if (o.ok) {
    ++s.exports;
    s.last_success = finished_at;
  } else {
    ++s.failures;
    s.last_error = o.error.empty() ? reason : o.error;
  }
  w.self.duration.observe(duration);
  if (o.retries > 0) w.self.retries.inc(static_cast<double>(o.retries));
  if (o.points > 0) w.self.points.inc(static_cast<double>(o.points));
  if (o.bytes > 0) w.self.bytes.inc(static_cast<double>(o.bytes));
  if (dropped > 0) w.self.dropped.inc(static_cast<double>(dropped));
  if (o.ok) {
    w.self.exports.inc();
    w.self.last_success.set(finished_at);
  } else {
    w.self.failure(w.name, reason).inc();
  }
}

// A worker thread: takes the mailbox's snapshot, exports it, records, until stopped.
void run_worker(std::shared_ptr<Core> core, std::shared_ptr<Worker> worker) {
  Worker& w = *worker;
  std::unique_lock lock(core->mu);
  for (;;) {
    w.cv.wait(lock, [&] { return (w.pending && !w.discard) || w.stopping || w.discard; });
    if (w.discard || !w.pending) break;
    Snapshot snap = std::move(w.pending);
    const uint64_t seq = w.pending_seq;
    w.pending.reset();
    w.in_flight = snap;
    w.status.busy = true;
    w.status.last_attempt = unix_time_seconds();
    const auto start = ExportClock::now();
    const ExportDeadline deadline =
        std::min(deadline_after(start, core->timeout), core->final_deadline);
    lock.unlock();

    ExportOutcome outcome;
    try {
      outcome = w.exporter->export_metrics(*snap, deadline);
    } catch (const std::exception& e) {
      outcome = ExportOutcome{.ok = false, .error = e.what(), .reason = "exception"};
    } catch (...) {
      outcome = ExportOutcome{.ok = false, .error = "unknown exception", .reason = "exception"};
    }
    if (!outcome.ok && outcome.reason.empty() && outcome.error.empty()) {
      outcome.error = "export failed";
    }
    const auto end = ExportClock::now();
    const double finished_at = unix_time_seconds();

    lock.lock();
    if (outcome.reason == "exception") {
      outcome.error = w.name + ": exporter threw: " + outcome.error;
    }
    // A detached worker's export was counted as dropped at the shutdown deadline already.
    if (!w.detached) record_outcome(w, outcome, *snap, seconds_between(start, end), finished_at);
    w.status.busy = false;
    w.in_flight.reset();
    w.aborted = false;
    w.done_seq = std::max(w.done_seq, seq);
    w.last_ok = outcome.ok;
    core->progress.notify_all();
  }
  lock.unlock();
  w.exporter->close();
  lock.lock();
  w.finished = true;
  core->progress.notify_all();
}

}  // namespace

void PeriodicExporterOptions::validate() const {
  if (interval < std::chrono::milliseconds(10)) {
    throw Error("PeriodicExporterOptions: interval must be at least 10 ms (got " +
                std::to_string(interval.count()) + " ms)");
  }
  if (timeout <= std::chrono::milliseconds(0)) {
    throw Error("PeriodicExporterOptions: timeout must be greater than 0 (got " +
                std::to_string(timeout.count()) + " ms)");
  }
}

class PeriodicExporter::Impl {
 public:
  Impl(const metrics::Registry& source, PeriodicExporterOptions options)
      : source_(source), options_(std::move(options)), families_(options_.self_metrics) {
    core_->timeout = options_.timeout;
  }

  void add(std::unique_ptr<MetricExporter> exporter) {
    if (exporter == nullptr) throw Error("PeriodicExporter::add: the exporter is null");
    std::string name(exporter->name());
    if (name.empty()) throw Error("PeriodicExporter::add: the exporter's name() is empty");
    {
      std::lock_guard lock(core_->mu);
      check_addable(name);
    }
    // Self-metric series before taking the lock (the registry may be collecting us).
    auto w = std::make_shared<Worker>();
    w->self = SelfHandles(families_, name);
    w->name = name;
    w->status.name = name;
    w->exporter = std::move(exporter);
    std::lock_guard lock(core_->mu);
    check_addable(name);  // again: another add or shutdown may have come in between
    workers_.push_back(w);
    if (workers_started_) start_worker(w);
  }

  void start() {
    std::lock_guard lock(core_->mu);
    if (shutting_down_ || collector_.joinable()) return;
    start_workers_locked();
    collector_ = std::thread([this] { collection_loop(); });
  }

  bool flush(std::chrono::milliseconds timeout) {
    const auto deadline = deadline_after(ExportClock::now(), timeout);
    {
      std::lock_guard lock(core_->mu);
      if (shutting_down_) return false;
      if (workers_.empty()) return true;
      start_workers_locked();
    }
    const auto [seq, targets] = collect_and_post();
    return wait_for(seq, targets, deadline);
  }

  bool shutdown(std::chrono::milliseconds timeout) {
    std::lock_guard once(shutdown_mu_);
    if (shutdown_done_) return shutdown_result_;
    const auto deadline = deadline_after(ExportClock::now(), timeout);
    std::thread collector;
    {
      std::lock_guard lock(core_->mu);
      shutting_down_ = true;
      collector = std::move(collector_);
      core_->final_deadline = deadline;
      if (!workers_.empty()) start_workers_locked();
    }
    interval_cv_.notify_all();
    if (collector.joinable()) collector.join();

    bool ok = true;
    std::vector<std::shared_ptr<Worker>> targets;
    uint64_t seq = 0;
    {
      std::lock_guard lock(core_->mu);
      targets = workers_;
    }
    if (!targets.empty()) {
      std::tie(seq, targets) = collect_and_post();
      ok = wait_for(seq, targets, deadline);
    }

    std::unique_lock lock(core_->mu);
    for (auto& w : workers_) {
      w->stopping = true;
      w->cv.notify_all();
    }
    core_->progress.wait_until(lock, deadline, [&] { return all_finished_locked(); });
    if (!all_finished_locked()) {
      ok = false;
      // Past the deadline: what waits is dropped, what runs is aborted.
      std::vector<MetricExporter*> to_abort;
      for (auto& w : workers_) {
        if (w->finished) continue;
        w->discard = true;
        if (w->pending) {
          count_shutdown_drop(*w, w->pending->series(), false);
          w->pending.reset();
        }
        if (w->status.busy) {
          w->aborted = true;
          to_abort.push_back(w->exporter.get());
        }
        w->cv.notify_all();
      }
      // Outside the lock: an exporter's abort() may wait for its own locks.
      lock.unlock();
      for (MetricExporter* e : to_abort) e->abort();
      lock.lock();
      core_->progress.wait_until(lock, ExportClock::now() + kAbortGrace,
                                 [&] { return all_finished_locked(); });
    }
    std::vector<std::thread> joinable;
    for (auto& w : workers_) {
      if (!w->thread.joinable()) continue;
      if (w->finished) {
        joinable.push_back(std::move(w->thread));
        continue;
      }
      // Still in an export that ignored abort(): its points are lost; the thread finishes on
      // its own, without touching the engine or the registry again.
      if (w->in_flight) count_shutdown_drop(*w, w->in_flight->series(), true);
      w->detached = true;
      w->self = SelfHandles();  // handles must not outlive the registry, the thread may
      w->thread.detach();
    }
    lock.unlock();
    for (auto& t : joinable) t.join();
    lock.lock();
    shutdown_result_ = ok;
    shutdown_done_ = true;
    return ok;
  }

  std::vector<ExporterStatus> status() const {
    std::lock_guard lock(core_->mu);
    std::vector<ExporterStatus> out;
    out.reserve(workers_.size());
    for (const auto& w : workers_) out.push_back(w->status);
    return out;
  }

  std::size_t exporter_count() const {
    std::lock_guard lock(core_->mu);
    return workers_.size();
  }

  const PeriodicExporterOptions& options() const noexcept { return options_; }

 private:
  void check_addable(const std::string& name) const {
    if (shutting_down_) {
      throw Error("PeriodicExporter::add: exporter \"" + name +
                  "\" added after shutdown(); add exporters before shutting down");
    }
    for (const auto& w : workers_) {
      if (w->name == name) {
        throw Error("PeriodicExporter::add: an exporter named \"" + name +
                    "\" is already added; names must be unique per engine");
      }
    }
  }

  void start_worker(const std::shared_ptr<Worker>& w) {
    if (w->started) return;
    w->started = true;
    w->thread = std::thread(run_worker, core_, w);
  }

  void start_workers_locked() {
    workers_started_ = true;
    for (auto& w : workers_) start_worker(w);
  }

  bool all_finished_locked() const {
    for (const auto& w : workers_) {
      if (w->started && !w->finished) return false;
    }
    return true;
  }

  // Points lost at shutdown: counted as dropped, with one failure of reason shutdown when an
  // export was cut short. Core::mu held.
  void count_shutdown_drop(Worker& w, std::size_t points, bool failed_export) {
    w.status.dropped_points += points;
    if (failed_export) {
      ++w.status.failures;
      w.status.last_error = w.name + ": export still running at the shutdown deadline";
      w.status.busy = false;
    }
    if (points > 0) w.self.dropped.inc(static_cast<double>(points));
    if (failed_export) w.self.failure(w.name, "shutdown").inc();
  }

  // Collects the registry and puts the snapshot in every mailbox. Returns its sequence number
  // and the workers it went to.
  std::pair<uint64_t, std::vector<std::shared_ptr<Worker>>> collect_and_post() {
    std::lock_guard order(collect_mu_);
    Snapshot snap =
        std::make_shared<const MetricsSnapshot>(collect_snapshot(source_, options_.snapshot));
    std::lock_guard lock(core_->mu);
    const uint64_t seq = ++seq_;
    for (auto& w : workers_) {
      if (w->discard) continue;
      if (w->pending) {
        ++w->status.skipped;
        w->self.skipped.inc();
      }
      w->pending = snap;
      w->pending_seq = seq;
      w->cv.notify_all();
    }
    return {seq, workers_};
  }

  // Waits until every one of `targets` exported snapshot `seq` (or a newer one), or `deadline`.
  // True when all did and their last export succeeded.
  bool wait_for(uint64_t seq, const std::vector<std::shared_ptr<Worker>>& targets,
                ExportDeadline deadline) {
    std::unique_lock lock(core_->mu);
    auto done = [&] {
      for (const auto& w : targets) {
        if (w->done_seq < seq && !w->finished) return false;
      }
      return true;
    };
    if (!core_->progress.wait_until(lock, deadline, done)) return false;
    for (const auto& w : targets) {
      if (w->done_seq < seq || !w->last_ok) return false;
    }
    return true;
  }

  void collection_loop() {
    std::unique_lock lock(core_->mu);
    auto next = ExportClock::now() + options_.interval;
    for (;;) {
      if (interval_cv_.wait_until(lock, next, [&] { return shutting_down_; })) return;
      lock.unlock();
      try {
        collect_and_post();
      } catch (...) {
        // Out of memory while copying the registry: this collection is skipped; the next
        // one carries its changes.
      }
      lock.lock();
      next += options_.interval;
      const auto now = ExportClock::now();
      if (next <= now) next = now + options_.interval;  // fell behind: no burst of collections
    }
  }

  const metrics::Registry& source_;
  const PeriodicExporterOptions options_;
  const SelfFamilies families_;
  std::shared_ptr<Core> core_ = std::make_shared<Core>();
  std::vector<std::shared_ptr<Worker>> workers_;  // Core::mu
  bool workers_started_ = false;                  // Core::mu
  bool shutting_down_ = false;                    // Core::mu
  uint64_t seq_ = 0;                              // Core::mu
  std::thread collector_;                         // Core::mu
  std::condition_variable interval_cv_;           // waits with Core::mu
  std::mutex collect_mu_;
  std::mutex shutdown_mu_;
  bool shutdown_done_ = false;    // shutdown_mu_
  bool shutdown_result_ = false;  // shutdown_mu_
};

PeriodicExporter::PeriodicExporter(const metrics::Registry& source,
                                   PeriodicExporterOptions options) {
  options.validate();
  impl_ = std::make_unique<Impl>(source, std::move(options));
}

PeriodicExporter::~PeriodicExporter() {
  if (impl_) impl_->shutdown(impl_->options().timeout);
}

void PeriodicExporter::add(std::unique_ptr<MetricExporter> exporter) {
  impl_->add(std::move(exporter));
}
void PeriodicExporter::start() { impl_->start(); }
bool PeriodicExporter::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
bool PeriodicExporter::shutdown(std::chrono::milliseconds timeout) {
  return impl_->shutdown(timeout);
}
std::vector<ExporterStatus> PeriodicExporter::status() const { return impl_->status(); }
std::size_t PeriodicExporter::exporter_count() const { return impl_->exporter_count(); }
const PeriodicExporterOptions& PeriodicExporter::options() const noexcept {
  return impl_->options();
}

}  // namespace vigil::exporters
