// SimpleSpanProcessor: exports each ended span at once, on the thread that ended it.
#include <chrono>
#include <memory>
#include <mutex>
#include <span>

#include "processor_internal.h"
#include "vigil/core/error.h"
#include "vigil/trace/processor.h"

namespace vigil::trace {

using detail::DropCounters;
using detail::safe_export;
using Clock = std::chrono::steady_clock;

struct SimpleSpanProcessor::State {
  std::mutex mutex;
  std::unique_ptr<SpanExporter> exporter;
  DropCounters counters;
  bool shut_down = false;
  State(std::unique_ptr<SpanExporter> e, metrics::Registry* r)
      : exporter(std::move(e)), counters(r) {}
};

SimpleSpanProcessor::SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                         metrics::Registry* self_metrics) {
  if (!exporter) throw Error("SimpleSpanProcessor: the exporter is null");
  state_ = std::make_unique<State>(std::move(exporter), self_metrics);
}
SimpleSpanProcessor::~SimpleSpanProcessor() { shutdown(std::chrono::milliseconds(5000)); }

void SimpleSpanProcessor::on_end(SpanRef span) noexcept {
  if (!span->context.flags.sampled()) return;
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) {
    state_->counters.shutdown.inc();
    return;
  }
  const SpanData* one = span.get();
  const ExportResult r = safe_export(*state_->exporter, std::span<const SpanData* const>(&one, 1),
                                     Clock::now() + std::chrono::seconds(30));
  if (r.ok() && r.rejected_spans == 0) {
    state_->counters.exported.inc();
  } else {
    state_->counters.export_failed.inc();
  }
}

bool SimpleSpanProcessor::force_flush(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) return true;
  try {
    return state_->exporter->force_flush(timeout);
  } catch (...) {
    return false;
  }
}

bool SimpleSpanProcessor::shutdown(std::chrono::milliseconds timeout) noexcept {
  std::lock_guard lock(state_->mutex);
  if (state_->shut_down) return true;
  state_->shut_down = true;
  try {
    return state_->exporter->shutdown(timeout);
  } catch (...) {
    return false;
  }
}

SpanExporter& SimpleSpanProcessor::exporter() noexcept { return *state_->exporter; }

}  // namespace vigil::trace
