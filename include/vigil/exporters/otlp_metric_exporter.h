// vigil/exporters/otlp_metric_exporter.h: sends metric snapshots to an OpenTelemetry Collector
// (or any OTLP/HTTP receiver: Prometheus' OTLP receiver, Grafana Mimir, Datadog agent ...) at
// /v1/metrics, in protobuf or JSON, optionally gzipped, over vigil's one HTTP sender.
//
//   // From the standard variables: OTEL_METRICS_EXPORTER=otlp turns it on,
//   // OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT etc. configure it (see from_environment).
//   vigil::trace::Environment env;
//   if (auto o = vigil::exporters::OtlpMetricExporterOptions::from_environment(env)) {
//     vigil::exporters::PeriodicExporter engine(vigil::metrics::Registry::global(),
//                                               {.interval = o->export_interval,
//                                                .timeout = o->export_timeout});
//     engine.add(std::make_unique<vigil::exporters::OtlpMetricExporter>(*o));
//     engine.start();
//   }
//
//   // Or in code:
//   vigil::exporters::OtlpMetricExporterOptions o;
//   o.endpoint = "http://otel-collector:4318/v1/metrics";
//   o.protocol = vigil::exporters::OtlpProtocol::kHttpJson;
//   o.compression = vigil::exporters::OtlpCompression::kGzip;
//   o.temporality = vigil::exporters::OtlpTemporality::kDelta;
//   engine.add(std::make_unique<vigil::exporters::OtlpMetricExporter>(o));
//
// The mapping (one ResourceMetrics with the resource, one ScopeMetrics with scope "vigil"):
//   counter    Sum, is_monotonic, as_double; CUMULATIVE with start_time_unix_nano = the series'
//              creation time, or DELTA (temporality kDelta/kLowMemory) with the start of the
//              delta window; the latest exemplar attached
//   gauge      Gauge, as_double, no start time
//   histogram  Histogram: explicit_bounds = the family's finite bounds, bucket_counts per bucket
//              (NOT cumulative; bounds + 1 entries, the last for (last bound, +Inf)), count, sum;
//              min and max absent (vigil does not track them); CUMULATIVE or DELTA as counters;
//              the buckets' exemplars attached
//   summary    Summary: count, sum, quantile_values; always cumulative (OTLP summaries have no
//              temporality), start time = creation time
//   info       a non-monotonic CUMULATIVE Sum named <name>_info with as_int 1 and the info
//              labels as attributes (the OpenTelemetry Prometheus-compatibility rule for
//              OpenMetrics info metrics)
// Names are the family name (no _total suffix) after `prefix`; description = help; unit = the
// family unit in UCUM ("seconds" -> "s", "bytes" -> "By", see otlp_unit()). Labels (constant
// labels included) become string attributes, after `attributes`. Exemplar labels trace_id and
// span_id (hex) become the exemplar's trace_id / span_id bytes; the other exemplar labels its
// filtered_attributes. Timestamps: time_unix_nano = the snapshot's collection time.
//
// Delivery: one POST per export (the whole snapshot), retried on 429, 502, 503, 504 and on
// connection errors with backoff, honouring Retry-After, never on 400 or other 4xx, all within the
// earlier of the engine's deadline and `timeout`. A partial success (rejected_data_points) counts
// those points as dropped (reason "rejected"); the call still succeeds. With delta temporality
// the window of a failed export is not sent again (its points are counted as dropped): the next
// export carries the changes after it.
//
// Threading: export_metrics is called by the engine on this exporter's thread, one call at a
// time; abort() may be called from any thread; stats() too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/retry.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/trace/environment.h"
#include "vigil/trace/resource.h"

namespace vigil::exporters {

// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (the OpenTelemetry SDK specification).
enum class OtlpTemporality : uint8_t {
  kCumulative,  // "cumulative": everything cumulative (the default)
  kDelta,       // "delta": counters and histograms as deltas (up-down counters, which vigil
                //          calls gauges, stay as they are)
  kLowMemory,   // "lowmemory": synchronous counters and histograms as deltas; vigil's counters
                //              and histograms are all synchronous, so this equals kDelta
};
// "cumulative", "delta" or "lowmemory".
std::string_view to_string(OtlpTemporality temporality) noexcept;

struct OtlpMetricExporterOptions {
  // The full URL metrics are POSTed to, used as is (http:// or https://).
  std::string endpoint = "http://localhost:4318/v1/metrics";
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  OtlpCompression compression = OtlpCompression::kNone;
  // Sent with every request (names are HTTP tokens; values without CR, LF, NUL).
  // Content-Type and Content-Encoding are the exporter's.
  std::vector<std::pair<std::string, std::string>> headers;
  // The most one export call may take, retries included (OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT).
  // The engine's deadline, when earlier, wins.
  std::chrono::milliseconds timeout{10000};
  RetryOptions retry;
  // TLS: CA bundle (empty: the system's), client certificate and key (PEM) for mutual TLS.
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;
  // Responses larger than this are cut (a partial-success message is then lost, not points).
  std::size_t max_response_bytes = std::size_t{64} << 10;

  OtlpTemporality temporality = OtlpTemporality::kCumulative;
  // The resource sent with every export; empty (no attributes): Resource::create(), i.e. what
  // the tracer provider uses by default (service.name from OTEL_SERVICE_NAME, ...,
  // OTEL_RESOURCE_ATTRIBUTES), resolved by the constructor.
  trace::Resource resource;
  std::string scope_name = "vigil";  // InstrumentationScope.name (not empty)
  std::string scope_version;         // InstrumentationScope.version ("" : left out)
  // Prepended to every metric name, e.g. "myapp_" (itself a valid metric name:
  // [a-zA-Z_:][a-zA-Z0-9_:]*).
  std::string prefix;
  // Constant attributes added to every data point (before the series' labels); keys are
  // non-empty and unique.
  std::vector<std::pair<std::string, std::string>> attributes;
  bool exemplars = true;  // attach the snapshot's exemplars

  // Not used by the exporter: the intervals OpenTelemetry's variables ask of the engine
  // (PeriodicExporterOptions::interval / timeout), OTEL_METRIC_EXPORT_INTERVAL (default 60000
  // ms) and OTEL_METRIC_EXPORT_TIMEOUT (default 30000 ms).
  std::chrono::milliseconds export_interval{60000};
  std::chrono::milliseconds export_timeout{30000};

  // The options from OpenTelemetry's variables, read through `env` (the process environment by
  // default); nullopt unless OTEL_METRICS_EXPORTER lists "otlp" (a comma-separated list, e.g.
  // "otlp,prometheus"). Then, signal-specific variables winning over the generic ones:
  //   OTEL_EXPORTER_OTLP_METRICS_ENDPOINT  used as is
  //   OTEL_EXPORTER_OTLP_ENDPOINT          base URL; "v1/metrics" appended ("/v1/metrics" when it
  //                                        does not end with '/')
  //   OTEL_EXPORTER_OTLP_[METRICS_]HEADERS      "k1=v1,k2=v2", percent-decoded, merged per key
  //   OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL     http/protobuf | http/json (grpc: warning)
  //   OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION  gzip | none
  //   OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT      milliseconds
  //   OTEL_EXPORTER_OTLP_[METRICS_]CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY  file paths
  //   OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE  cumulative | delta | lowmemory
  //                                        (case-insensitive)
  //   OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT  milliseconds (> 0), into
  //                                        export_interval / export_timeout
  // The resource is Resource::create({}, env) (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
  // The same parsing as OtlpTraceExporterOptions::from_environment. A bad value is reported
  // through env.warn (variable, value, rule) and the default used. Never throws (except
  // std::bad_alloc).
  static std::optional<OtlpMetricExporterOptions> from_environment(
      const trace::Environment& env = trace::Environment());

  // Throws vigil::Error naming the first invalid option (endpoint, headers, timeout, retry,
  // empty scope_name, prefix, attribute keys, export_interval/export_timeout <= 0).
  void validate() const;
};

// A family unit in UCUM, as OTLP wants it: seconds "s", milliseconds "ms", microseconds "us",
// nanoseconds "ns", bytes "By", kilobytes "kBy", megabytes "MBy", bits "bit", ratio "1",
// percent "%", celsius "Cel", meters "m", grams "g", volts "V", amperes "A", joules "J",
// watts "W", hertz "Hz"; anything else as it is ("" stays "").
std::string otlp_unit(std::string_view unit);

// What one exporter has done since it was created. Counters only grow.
struct OtlpMetricExporterStats {
  uint64_t export_calls = 0;       // export_metrics calls
  uint64_t exported_points = 0;    // data points the collector accepted
  uint64_t dropped_points = 0;     // not delivered (failed calls and rejected points)
  uint64_t rejected_points = 0;    // of those, rejected by the collector (partial success)
  uint64_t failed_exports = 0;     // export calls that delivered nothing
  uint64_t partial_successes = 0;  // responses carrying a partial_success
  uint64_t retries = 0;            // attempts after the first
  uint64_t sent_bytes = 0;         // request bytes sent (after compression)
  std::string last_error;          // the last failure or partial-success message
};

class OtlpMetricExporter final : public MetricExporter {
 public:
  // Validates `options` (throws vigil::Error) and resolves an empty resource. Opens no
  // connection: the first export does.
  explicit OtlpMetricExporter(OtlpMetricExporterOptions options = {});
  ~OtlpMetricExporter() override;
  OtlpMetricExporter(const OtlpMetricExporter&) = delete;
  OtlpMetricExporter& operator=(const OtlpMetricExporter&) = delete;

  std::string_view name() const noexcept override { return "otlp"; }
  // Encodes `snapshot` (deltas first, for delta temporality) into one
  // ExportMetricsServiceRequest and POSTs it as described above. An empty snapshot sends
  // nothing. Never throws. Cost: encoding ~0.3 µs per series (protobuf) plus the round trip.
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;
  // Aborts an export in flight (its points are counted as dropped, reason shutdown) and makes
  // later exports fail at once. Idempotent; thread-safe.
  void abort() noexcept override;

  const OtlpMetricExporterOptions& options() const noexcept;
  // A snapshot of the counters. Thread-safe.
  OtlpMetricExporterStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::exporters
