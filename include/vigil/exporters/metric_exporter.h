// vigil/exporters/metric_exporter.h: push export of metrics. One engine (PeriodicExporter)
// collects a registry at an interval and hands the snapshot to metric exporters (StatsD,
// DogStatsD, Datadog, CloudWatch EMF, Pushgateway, Prometheus remote write, OTLP metrics), each
// on a thread of its own, so that a slow or dead destination never blocks recording, scrapes or
// the other exporters.
//
//   auto engine = vigil::exporters::PeriodicExporter(vigil::metrics::Registry::global(),
//                                                    {.interval = std::chrono::seconds(10)});
//   engine.add(std::make_unique<vigil::exporters::StatsdExporter>(statsd_options));
//   engine.add(std::make_unique<vigil::exporters::OtlpMetricExporter>(otlp_options));
//   engine.start();
//   ...
//   engine.shutdown(std::chrono::seconds(5));  // the guides' close(): last export, then stop
//
// Exporters always receive cumulative snapshots (what the registry holds); an exporter whose
// protocol wants deltas (StatsD counters, Datadog counts, OTLP delta temporality) keeps a
// DeltaTracker and sends the change since its own previous export. So when an exporter is still
// busy and a newer snapshot replaces the one waiting for it, nothing is lost: the next export
// carries the change over the longer window (counted as a skipped snapshot).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/metrics/collector.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::exporters {

// ---------------------------------------------------------------------------------------------
// The snapshot: an owned copy of what a registry held at one instant.

struct ExemplarValue {
  std::vector<std::pair<std::string, std::string>> labels;  // e.g. trace_id, span_id
  double value = 0;
  double timestamp = 0;  // Unix seconds
};

// One series. Which members are meaningful depends on the family's type.
struct MetricPoint {
  // Label values in the order of MetricFamily::label_names (constant labels first).
  std::vector<std::string> label_values;
  double value = 0;  // counter (cumulative), gauge; 1 for info
  double start_time =
      0;               // Unix seconds the series started (counter, histogram, summary); 0: unknown
  uint64_t count = 0;  // histogram, summary
  double sum = 0;      // histogram, summary
  // Histogram: cumulative bucket counts, MetricFamily::bounds.size() + 1 entries (the last is
  // +Inf and equals count).
  std::vector<uint64_t> buckets;
  std::vector<std::pair<double, double>> quantiles;  // summary: (quantile, value)
  // Counter: its latest exemplar. Histogram: one per bucket (buckets.size() entries, empty
  // optionals where none) or empty when the registry keeps none / exemplars were not asked for.
  std::optional<ExemplarValue> exemplar;
  std::vector<std::optional<ExemplarValue>> bucket_exemplars;
};

struct MetricFamily {
  std::string name;  // as FamilyDesc::name: no _total / _info suffix
  std::string help;
  std::string unit;  // "" when none ("seconds", "bytes", ...)
  metrics::MetricType type = metrics::MetricType::kGauge;
  std::vector<std::string> label_names;  // constant labels first, then the family's own
  std::vector<double> bounds;            // histogram: finite upper bounds, increasing
  std::vector<MetricPoint> points;
};

struct MetricsSnapshot {
  double timestamp = 0;  // Unix seconds at collection
  std::vector<MetricFamily> families;
  // Number of series (points) over all families.
  std::size_t series() const noexcept;
};

struct SnapshotOptions {
  bool exemplars = true;  // copy exemplars (OTLP and remote write can send them)
};

// Collects `registry` into an owned snapshot. Thread-safe (as Registry::collect). Never throws
// except std::bad_alloc. Cost: ~150 ns per series plus allocations.
MetricsSnapshot collect_snapshot(const metrics::Registry& registry, SnapshotOptions options = {});

// ---------------------------------------------------------------------------------------------
// Cumulative to delta, for the protocols that send changes.
//
// deltas(s) returns, for every counter, histogram and summary series of `s`, the change since
// the previous call (matched by family name and label values): counter value, histogram count,
// sum and buckets, summary count and sum. A series seen for the first time contributes its
// whole value (it started in this process, after the previous export). A value below the
// previous one is a reset (Prometheus' rule): the delta is the new value. Gauges, infos and
// summary quantiles are passed through unchanged. In the result, start_time of a tracked series
// is the start of its delta window: the previous call's snapshot timestamp, or the series' own
// start time (the snapshot's timestamp when unknown) the first time it is seen. Series that
// vanished are forgotten (and listed by vanished()). One tracker per exporter; not thread-safe.
//
// Cost (10,000 series, all known, CPU): deltas() ~0.85 ms, mostly the copy of the snapshot;
// deltas_into() into the previous call's output ~0.5 ms. A known series costs a comparison of
// its label values (series found at the previous call's position) or a hash lookup; no key
// string is built.
//
//   vigil::exporters::DeltaTracker tracker;
//   vigil::exporters::MetricsSnapshot deltas;  // kept between exports
//   tracker.deltas_into(cumulative, deltas);
class DeltaTracker {
 public:
  MetricsSnapshot deltas(const MetricsSnapshot& cumulative);
  // As deltas(), writing the result into `out` (its previous contents are replaced; its strings
  // and vectors are reused, so keeping `out` between calls avoids most allocations). `out` may
  // be `cumulative` itself (converted in place).
  void deltas_into(const MetricsSnapshot& cumulative, MetricsSnapshot& out);
  // Families/series present in the previous call's input but absent from the last one:
  // (family name, label values).
  const std::vector<std::pair<std::string, std::vector<std::string>>>& vanished() const noexcept {
    return vanished_;
  }
  // The start of the current delta window for a series ("" key parts are fine): the previous
  // snapshot's timestamp, or the series' start time when first seen. For OTLP delta points.
  double window_start(std::string_view family, const std::vector<std::string>& labels) const;
  std::size_t tracked_series() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::vector<std::pair<std::string, std::vector<std::string>>> vanished_;
};

// ---------------------------------------------------------------------------------------------
// A destination.

using ExportClock = std::chrono::steady_clock;
using ExportDeadline = ExportClock::time_point;

// What one export call did. Every point that did not reach the destination is counted in
// dropped_points with a reason; nothing is dropped silently.
struct ExportOutcome {
  bool ok = true;               // false: the export failed (error says why)
  std::string error;            // "" when ok; never carries secrets (API keys, passwords)
  std::string reason;           // short failure class for metrics: http_error, timeout,
                                // connection, shutdown, encoding, io, rejected, limit
  uint64_t points = 0;          // points (series values) delivered
  uint64_t dropped_points = 0;  // points not delivered
  uint64_t bytes = 0;           // bytes written to the wire (after compression)
  uint64_t requests = 0;        // requests / packets / documents sent
  uint64_t retries = 0;         // attempts after the first
};

class MetricExporter {
 public:
  virtual ~MetricExporter() = default;
  // A short, unique (per engine) name: "statsd", "dogstatsd", "datadog", "emf", "pushgateway",
  // "remote_write", "otlp". The `exporter` label of the engine's metrics.
  virtual std::string_view name() const noexcept = 0;
  // Sends what `snapshot` says (as this protocol wants it), returning by `deadline`. Called on
  // this exporter's own thread, one call at a time; never on a recording thread. Must not throw
  // (the engine still catches, and counts a throw as a failure with reason "exception").
  virtual ExportOutcome export_metrics(const MetricsSnapshot& snapshot,
                                       ExportDeadline deadline) = 0;
  // Makes an export in flight return soon (at shutdown, once its deadline passed). Called from
  // another thread; idempotent; never throws.
  virtual void abort() noexcept {}
  // Called once, after the last export_metrics (on the exporter's thread): release sockets,
  // files; a Pushgateway exporter may delete its group here when asked to.
  virtual void close() noexcept {}
};

// ---------------------------------------------------------------------------------------------
// The engine.

struct PeriodicExporterOptions {
  std::chrono::milliseconds interval{10000};  // between collections (>= 10 ms)
  std::chrono::milliseconds timeout{5000};    // the most one export call may take (> 0)
  SnapshotOptions snapshot;
  // Where the engine counts itself (get-or-create; shared by every engine of the registry);
  // nullptr: nowhere. Families, each with an `exporter` label:
  //   vigil_metric_exports_total{exporter}                 export calls that succeeded
  //   vigil_metric_export_failures_total{exporter,reason}  export calls that failed
  //   vigil_metric_export_retries_total{exporter}          retried attempts
  //   vigil_metric_export_dropped_points_total{exporter}   points not delivered
  //   vigil_metric_export_points_total{exporter}           points delivered
  //   vigil_metric_export_sent_bytes_total{exporter}       bytes on the wire
  //   vigil_metric_export_skipped_total{exporter}          snapshots replaced before the exporter
  //                                                        was free (their changes go with the
  //                                                        next one)
  //   vigil_metric_export_duration_seconds{exporter}       export call durations
  //   vigil_metric_export_last_success_timestamp_seconds{exporter}
  // May be the registry being exported (the figures then travel with the next export).
  metrics::Registry* self_metrics = nullptr;

  // Throws vigil::Error naming the first invalid option.
  void validate() const;
};

// One exporter's outcomes so far (GET /api/v1/exporters shows these).
struct ExporterStatus {
  std::string name;
  uint64_t exports = 0;  // successful export calls
  uint64_t failures = 0;
  uint64_t retries = 0;
  uint64_t points = 0;
  uint64_t dropped_points = 0;
  uint64_t bytes = 0;
  uint64_t skipped = 0;      // snapshots replaced while the exporter was busy
  std::string last_error;    // "" when none yet
  double last_success = 0;   // Unix seconds; 0: never
  double last_attempt = 0;   // Unix seconds; 0: never
  double last_duration = 0;  // seconds, the last export call
  bool busy = false;         // an export call is running now
};

// Collects `source` every interval on a library-owned thread and hands each snapshot to every
// exporter's own thread (a one-slot mailbox: a newer snapshot replaces one not yet taken, which
// is counted as skipped). Recording and scrapes never wait for it: collection is the registry's
// ordinary, lock-light read. Thread-safe: every member may be called from any thread.
class PeriodicExporter {
 public:
  // `source` must outlive the engine. Throws vigil::Error for invalid options.
  explicit PeriodicExporter(const metrics::Registry& source, PeriodicExporterOptions options = {});
  ~PeriodicExporter();  // shutdown(options.timeout) if still running
  PeriodicExporter(const PeriodicExporter&) = delete;
  PeriodicExporter& operator=(const PeriodicExporter&) = delete;

  // Adds an exporter (before or after start()); its thread starts with the engine. Throws
  // vigil::Error when the name is taken, the exporter is null, or after shutdown().
  void add(std::unique_ptr<MetricExporter> exporter);
  // Starts the collection thread (idempotent). The first collection is one interval after.
  void start();
  // Collects now and waits until every exporter has exported that snapshot, or `timeout`.
  // True when all succeeded in time. Also works before start() (exporting on the exporters'
  // threads all the same).
  bool flush(std::chrono::milliseconds timeout);
  // The guides' close(): a last collection handed to every exporter, waits for them until
  // `timeout`, aborts the exports still running (their points counted as dropped, reason
  // shutdown), calls close() on each exporter and joins every thread. True when everything was
  // sent in time. Idempotent; later calls return the first result at once.
  bool shutdown(std::chrono::milliseconds timeout);

  std::vector<ExporterStatus> status() const;
  std::size_t exporter_count() const;
  const PeriodicExporterOptions& options() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::exporters
