// vigil/exporters/emf_exporter.h: writes metrics in the CloudWatch Embedded Metric Format
// (EMF): one JSON document per line, which CloudWatch Logs turns into CloudWatch metrics. To
// stdout (AWS Lambda, ECS/EKS with a log driver), to a file (appended, flushed after every
// export) or to the CloudWatch agent's EMF listener over TCP or UDP (port 25888).
//
//   vigil::exporters::EmfExporterOptions o;
//   o.destination = "tcp://127.0.0.1:25888";   // or "stdout", "/var/log/app/metrics.emf", udp://
//   o.namespace_ = "MyApplication";
//   o.dimensions = {"service", "method"};      // labels that become dimensions
//   engine.add(std::make_unique<vigil::exporters::EmfExporter>(o));
//
//   // Or from VIGIL_EMF, VIGIL_EMF_NAMESPACE, VIGIL_EMF_DIMENSIONS (see from_environment).
//
// A document ("_aws" metadata, dimension values and metric values at the root):
//   {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"MyApplication",
//    "Dimensions":[["method"]],"Metrics":[{"Name":"http_requests","Unit":"Count"}]}]},
//    "method":"GET","http_requests":12}
//
// Mapping, per series of the cumulative snapshot:
//   - Dimensions: the labels named in `dimensions` (all labels, constant ones included, when
//     all_labels_as_dimensions), in that order, at most 30 (the rest are not dimensions). Series
//     whose dimension values are equal share documents; a label with an empty value is left out
//     of that series' dimension set. Other labels are not written: series that differ only by
//     them are combined (counters and histograms added, gauge values listed in an array).
//     Dimension names are cut at 255 characters, values at 1024 (UTF-8 safe).
//   - Metric names: prefix + family name, cut at 255 characters; a name that collides with a
//     dimension key or "_aws" gets a trailing '_'.
//   - counter: the change since the previous export (DeltaTracker), unit Count unless the
//     family has a unit. gauge: the value. info: 1.
//   - histogram: {"Values":[...],"Counts":[...],"Count":n,"Sum":s,"Min":a,"Max":b} over the
//     observations since the previous export (Counts and Count as integers). Values are bucket
//     midpoints: (lower + upper) / 2 for a bucket (lower, upper]; the first bucket's lower edge
//     is 0 when its bound is positive (else the bucket is represented by its bound); the +Inf
//     bucket by the highest finite bound. Only non-empty buckets are listed; more than 100 are
//     merged pairwise (count-weighted mean values) until 100 remain. Min and Max are the
//     lowest and highest of Values (the exact ones are not known from buckets). A histogram
//     with no new observation is not written in that export. (The object form is the
//     CloudWatch agent's and the OpenTelemetry Collector's; the specification's JSON schema
//     lists only numbers and arrays.)
//   - summary: NAME_count and NAME_sum (changes since the previous export), and NAME with an
//     extra dimension "quantile" ("0.99") per quantile (the current values).
//   - Units: seconds -> Seconds, milliseconds -> Milliseconds, microseconds -> Microseconds,
//     bytes -> Bytes, bits -> Bits, percent -> Percent, count -> Count (counters and summary
//     counts default to Count); others (ratio included: CloudWatch's Percent is 0..100) None.
// Limits (EMF): at most 100 metrics per document and 100 values per metric (more values go to
// further documents with the same dimensions), 30 dimension keys per dimension set; Timestamp
// is the snapshot time in milliseconds. StorageResolution 1 on every metric with
// high_resolution, otherwise omitted (60).
//
// Transports: "stdout", a file path (opened for append at the first export, reopened after a
// write error), "tcp://HOST:PORT" (one connection kept and reconnected after errors; lines sent
// with a deadline), "udp://HOST:PORT" (one datagram per document; a document over 65,000 bytes
// is dropped and counted). A destination that cannot be reached fails the export: its points
// are counted as dropped (reason connection or io); nothing blocks past the export deadline.
//
// Cost: about 3 ms of CPU for 10,000 series (bench/README.md); the exporter keeps its encoder's
// memory and its last export's documents (about 1 MB for 10,000 series) for the next export.
//
// Thread-safety: export_metrics is called by one thread at a time (the engine's); abort(),
// close() and stats() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters {

struct EmfExporterOptions {
  // "stdout", a file path, "tcp://HOST:PORT" or "udp://HOST:PORT" (HOST an IPv4 address, a name
  // or [IPv6]; PORT defaults to 25888 when omitted: "tcp://127.0.0.1").
  std::string destination = "stdout";
  // The CloudWatch namespace: 1 to 255 characters, no control characters, not starting with ':'
  // (CloudWatch's rule), not "AWS/..." (reserved).
  std::string namespace_ = "vigil";
  // Label names that become dimensions, in order (at most 30).
  std::vector<std::string> dimensions;
  // When true (the default), every label of a series is a dimension (the first 30) and
  // `dimensions` is ignored.
  bool all_labels_as_dimensions = true;
  // Prepended to every metric name as is; printable ASCII (CloudWatch metric names are ASCII).
  std::string prefix;
  // StorageResolution 1 (high-resolution metrics) on every metric.
  bool high_resolution = false;

  // Throws vigil::Error naming the first invalid option: a destination that is none of the
  // forms above (or a bad port), a bad namespace, more than 30 dimensions, an empty or
  // duplicate dimension name, a prefix that is not printable ASCII.
  void validate() const;

  // Options from the environment; nullopt when VIGIL_EMF is unset (the exporter is off):
  //   VIGIL_EMF             stdout | FILE-PATH | tcp://HOST:PORT | udp://HOST:PORT
  //   VIGIL_EMF_NAMESPACE   the namespace (default: OTEL_SERVICE_NAME, else "vigil")
  //   VIGIL_EMF_DIMENSIONS  comma-separated label names that become dimensions (default: every
  //                         label); "none" for no dimensions
  //   VIGIL_EMF_PREFIX      metric name prefix
  //   VIGIL_EMF_HIGH_RESOLUTION  true|false
  // A bad value warns through env.warn and keeps the default; a bad VIGIL_EMF warns and gives
  // nullopt. Never throws except std::bad_alloc.
  static std::optional<EmfExporterOptions> from_environment(
      const trace::Environment& env = trace::Environment());
};

struct EmfExporterStats {
  uint64_t exports = 0;
  uint64_t failed_exports = 0;
  uint64_t documents = 0;       // documents written
  uint64_t points = 0;          // series values written
  uint64_t dropped_points = 0;  // not written (destination down, document too large)
  uint64_t bytes = 0;
  std::string last_error;
};

class EmfExporter final : public MetricExporter {
 public:
  // Throws vigil::Error for invalid options. Opens nothing: the destination is opened (or
  // connected) at the first export.
  explicit EmfExporter(EmfExporterOptions options);
  ~EmfExporter() override;
  EmfExporter(const EmfExporter&) = delete;
  EmfExporter& operator=(const EmfExporter&) = delete;

  std::string_view name() const noexcept override { return "emf"; }
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;
  void abort() noexcept override;
  void close() noexcept override;
  EmfExporterStats stats() const;
  const EmfExporterOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  EmfExporterOptions options_;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// One EMF document (a JSON object, no newline) and the number of series values it carries.
struct EmfDocument {
  std::string json;
  uint64_t points = 0;
};
// The documents of one export in one buffer, each followed by '\n' (JSON lines as written).
struct EmfBatch {
  struct Document {
    std::size_t offset = 0;  // in text
    std::size_t size = 0;    // without the '\n'
    uint64_t points = 0;     // series values it carries
  };
  std::string text;
  std::vector<Document> documents;
  uint64_t skipped = 0;  // non-finite values left out
  // Document i without / with its '\n'.
  std::string_view json(std::size_t i) const {
    return std::string_view(text).substr(documents[i].offset, documents[i].size);
  }
  std::string_view line(std::size_t i) const {
    return std::string_view(text).substr(documents[i].offset, documents[i].size + 1);
  }
};
// The exporter's encoder: keeps its memory (groups, prepared names, bucket values) between
// calls, so that an export allocates nothing once the buffers have grown. Not thread-safe.
class EmfEncoder {
 public:
  explicit EmfEncoder(const EmfExporterOptions& options);
  ~EmfEncoder();
  EmfEncoder(const EmfEncoder&) = delete;
  EmfEncoder& operator=(const EmfEncoder&) = delete;
  // Replaces the contents of `out` by the documents for `deltas` (a DeltaTracker's output),
  // reusing its memory. Throws only std::bad_alloc.
  void encode(const MetricsSnapshot& deltas, EmfBatch& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
// The documents for `deltas` (a DeltaTracker's output), by a new EmfEncoder: for tests.
std::vector<EmfDocument> encode_emf(const MetricsSnapshot& deltas,
                                    const EmfExporterOptions& options);
// The CloudWatch unit for a vigil unit ("seconds" -> "Seconds", ...; "" -> "None").
std::string_view emf_unit(std::string_view unit, bool is_count) noexcept;
}  // namespace detail

}  // namespace vigil::exporters
