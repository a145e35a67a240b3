// Private to vigil::trace: what the simple and batch span processors share (simple_processor.cc,
// batch_processor.cc): their own metrics and an export call that never throws.
#pragma once

#include <span>

#include "vigil/metrics/counter.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/exporter.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace::detail {

// vigil_spans_dropped_total{reason} and vigil_spans_exported_total, shared by every processor
// that reports to the same registry.
struct DropCounters {
  metrics::Counter queue_full, export_failed, shutdown, exported;
  // nullptr: the handles stay unbound and count nowhere.
  explicit DropCounters(metrics::Registry* self_metrics);
};

// e.export_spans(spans, deadline), with an exception turned into a failure result.
ExportResult safe_export(SpanExporter& e, std::span<const SpanData* const> spans,
                         SpanExporter::Deadline deadline) noexcept;

}  // namespace vigil::trace::detail
