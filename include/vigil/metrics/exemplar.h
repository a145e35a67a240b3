// vigil/metrics/exemplar.h: exemplars, observations that carry the id of the trace that made
// them, so that a latency bucket or an error counter links to a concrete request.
//
//   histogram.observe(0.43, {{"trace_id", span.trace_id_hex()}, {"span_id", span.span_id_hex()}});
//   errors.inc(1, {{"trace_id", trace_id}});
//
// Each counter series keeps its latest exemplar and each histogram bucket keeps the latest
// exemplar that fell into it; OpenMetrics exposition writes them after the sample
// (`... 3 # {trace_id="4bf9..."} 0.43 1700000000.123`) and the JSON export includes them; the
// Prometheus text format has no exemplars. Rules (OpenMetrics): valid label names, UTF-8
// values, at most 128 characters for all names and values together; an exemplar that breaks
// them is dropped and counted in vigil_invalid_observations_total{reason="invalid_exemplar"},
// the observation itself is still recorded.
//
// Cost: recording with an exemplar takes a short lock (~50-100 ns); record exemplars for
// sampled requests, and use the exemplar-free overloads on hot paths.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "vigil/metrics/detail/series.h"

namespace vigil::metrics {

using ExemplarLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

namespace detail {
// Stores an exemplar for slot `slot` (of `slots`) of `node`. Never throws.
void record_exemplar(RecordStats* stats, const SeriesNode* node, uint32_t slot, uint32_t slots,
                     double value, ExemplarLabels labels) noexcept;
}  // namespace detail

}  // namespace vigil::metrics
