// src/exporters/remote_write_encoding.h (internal): a MetricsSnapshot as Prometheus remote write
// 1.0 requests: prometheus.WriteRequest protobuf (written straight in the protobuf wire format,
// no message objects) compressed with snappy's block format, split into requests of at most
// max_samples_per_send samples, with staleness markers for the series of the previous call
// that are gone. See vigil/exporters/remote_write_exporter.h for the series it writes.
//
//   RemoteWriteEncoder encoder({.external_labels = {{"job", "batch"}}});
//   std::vector<RemoteWriteBatch> batches;
//   const std::size_t n = encoder.encode(snapshot, batches);  // batches[0..n) are this call's
//   for (std::size_t i = 0; i < n; ++i) post(batches[i].body);
//
// The generated classes of proto/prometheus/remote.proto parse what this writes (the tests do).
// Not thread-safe: one encoder per exporter. Never throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"

namespace vigil::exporters::detail {

// The bits of Prometheus' staleness marker (value.StaleNaN).
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

struct RemoteWriteEncoding {
  std::string prefix;
  // Valid label names, non-empty values, no name twice (RemoteWriteOptions::validate checks).
  std::vector<std::pair<std::string, std::string>> external_labels;
  std::size_t max_samples_per_send = 2000;  // >= 1
  bool metadata = true;
  bool exemplars = false;
  bool staleness_markers = true;
  bool compress = true;  // false: bodies are the raw protobuf (tests)
};

// One request.
struct RemoteWriteBatch {
  std::string body;           // snappy-compressed WriteRequest (raw protobuf without compress)
  std::size_t raw_bytes = 0;  // protobuf bytes before compression
  std::size_t series = 0;     // TimeSeries messages
  std::size_t samples = 0;    // samples (one per series), staleness markers included
  std::size_t stale_markers = 0;
};

class RemoteWriteEncoder {
 public:
  explicit RemoteWriteEncoder(RemoteWriteEncoding options);

  // Encodes `snapshot`, then staleness markers for the series of the previous call missing from
  // it, into batches[0..n) and returns n (0 when there is nothing to send). `batches` is reused
  // between calls (grown, never shrunk) so that steady-state calls allocate little.
  std::size_t encode(const MetricsSnapshot& snapshot, std::vector<RemoteWriteBatch>& batches);

  // The timestamp (ms) the last encode() gave its samples: the snapshot's, or 1 ms after the
  // previous call's when the snapshot's is not later.
  int64_t last_timestamp_ms() const noexcept { return last_ms_; }
  // Series remembered for staleness markers.
  std::size_t tracked_series() const noexcept { return previous_.size(); }

  const RemoteWriteEncoding& options() const noexcept { return options_; }

 private:
  struct Tracked {
    uint64_t hash;
    uint32_t offset;  // of its label bytes in raw_ (previous_raw_ after the call)
    uint32_t size;
  };
  class Writer;

  RemoteWriteEncoding options_;
  std::vector<std::string> external_;  // the external labels, encoded as Label fields
  int64_t last_ms_ = INT64_MIN;
  // Every series of the last call (previous_) and of this one (current_), in encoding order: the
  // hash of its label bytes (encoded Label fields, as in a TimeSeries) and where they are.
  std::vector<Tracked> previous_;
  std::vector<Tracked> current_;
  std::vector<Tracked> sorted_previous_;  // by hash, when the series changed
  std::vector<Tracked> sorted_current_;
  std::string raw_;           // this call's WriteRequests, one after the other
  std::string previous_raw_;  // the last call's (staleness markers copy labels from there)
  std::string compressed_;    // snappy's output
  std::string scratch_;       // number formatting
};

}  // namespace vigil::exporters::detail
