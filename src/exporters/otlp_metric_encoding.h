// src/exporters/otlp_metric_encoding.h (private): a MetricsSnapshot as an OTLP
// ExportMetricsServiceRequest, in the protobuf and the OTLP/JSON encodings. The mapping is
// described in vigil/exporters/otlp_metric_exporter.h. Not installed; no protobuf type here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/resource.h"

namespace vigil::exporters::detail {

struct MetricEncoding {
  const trace::Resource* resource = nullptr;  // nullptr: no resource attributes
  std::string_view scope_name = "vigil";
  std::string_view scope_version;
  std::string_view prefix;
  const std::vector<std::pair<std::string, std::string>>* attributes = nullptr;  // constant
  bool exemplars = true;
  // Delta temporality: counter and histogram families are taken from `deltas` (the
  // DeltaTracker's result for the same cumulative snapshot: same families, same order), their
  // start times being the delta windows'.
  const MetricsSnapshot* deltas = nullptr;
  // Start time (Unix seconds) of cumulative series whose own start is unknown (0).
  double default_start = 0;
};

// The protobuf encoding (application/x-protobuf), replacing `out`. False (with `error`) when
// the message cannot be serialised. Never throws except std::bad_alloc.
bool encode_metrics_protobuf(const MetricsSnapshot& snapshot, const MetricEncoding& how,
                             std::string& out, std::string& error);

// The OTLP/JSON encoding (application/json): lowerCamelCase names, trace and span ids as hex,
// 64-bit integers (times, counts) as decimal strings, enums as numbers, default values left out,
// non-finite doubles as "NaN" / "Infinity" / "-Infinity". Replaces `out`. Never throws except
// std::bad_alloc.
void encode_metrics_json(const MetricsSnapshot& snapshot, const MetricEncoding& how,
                         std::string& out);

// Unix seconds as nanoseconds (0 for negative, NaN or out-of-range values).
uint64_t unix_nanos(double seconds) noexcept;

// A hex id of `n` bytes (2n hex digits, either case) into `out`; false when it is not one.
bool parse_hex_id(std::string_view hex, uint8_t* out, std::size_t n) noexcept;

}  // namespace vigil::exporters::detail
