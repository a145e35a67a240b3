// What the span processors share (processor_internal.h).
#include "processor_internal.h"

#include <exception>
#include <string>

namespace vigil::trace::detail {

DropCounters::DropCounters(metrics::Registry* self_metrics) {
  if (self_metrics == nullptr) return;
  metrics::Registry& r = *self_metrics;
  auto& dropped = r.counter("vigil_spans_dropped_total",
                            "Spans dropped by vigil span processors, by reason", {"reason"});
  queue_full = dropped.labels("queue_full");
  export_failed = dropped.labels("export_failed");
  shutdown = dropped.labels("shutdown");
  exported = r.counter("vigil_spans_exported_total",
                       "Spans handed to a successful export call by vigil span processors")
                 .get();
}

ExportResult safe_export(SpanExporter& e, std::span<const SpanData* const> spans,
                         SpanExporter::Deadline deadline) noexcept {
  try {
    return e.export_spans(spans, deadline);
  } catch (const std::exception& ex) {
    try {
      return ExportResult::failure(std::string("exporter threw: ") + ex.what());
    } catch (...) {
      return ExportResult{ExportResult::Code::kFailure, {}, 0};
    }
  } catch (...) {
    return ExportResult{ExportResult::Code::kFailure, {}, 0};
  }
}

}  // namespace vigil::trace::detail
