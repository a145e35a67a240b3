#include "vigil/exporters/otlp_trace_exporter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>

#include "core/detail/gzip.h"
#include "core/detail/http_sender.h"
#include "otlp_encoding.h"
#include "otlp_options.h"
#include "otlp_send.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

// Referenced by an INTERFACE link option of vigil::exporters (--undefined), so that a static link
// keeps this object file, and with it the "otlp" factory registration below, even when the
// program names nothing from it and only sets OTEL_TRACES_EXPORTER=otlp.
extern "C" {
extern const int vigil_exporters_otlp_link_anchor;
const int vigil_exporters_otlp_link_anchor = 1;
}

namespace vigil::exporters {
namespace {

using Reason = detail::OtlpDropReason;
using detail::kEncoding;
using detail::kShutdown;

constexpr detail::OtlpBookNames kBookNames = {
    "vigil_otlp_exported_spans_total",  "Spans the OTLP collector accepted",
    "vigil_otlp_spans_dropped_total",   "Spans the OTLP exporter did not deliver, by reason",
    "vigil_otlp_export_failures_total", "OTLP export calls that delivered nothing, by reason"};

}  // namespace

class OtlpTraceExporter::Impl {
 public:
  explicit Impl(OtlpTraceExporterOptions o)
      : options((o.validate(), std::move(o))),
        sender(detail::otlp_http_config(options)),
        book(options.self_metrics, kBookNames),
        rng(std::random_device{}()) {
    if (options.self_metrics == nullptr) return;  // the handles stay unbound: count nowhere
    metrics::Registry& r = *options.self_metrics;
    retries = r.counter("vigil_otlp_export_retries_total",
                        "OTLP export attempts after the first of a call")
                  .get();
    sent_bytes =
        r.counter("vigil_otlp_export_sent_bytes_total",
                  "Request bytes the OTLP exporter sent (after compression)", {}, {.unit = "bytes"})
            .get();
    duration =
        r.histogram("vigil_otlp_export_duration_seconds",
                    "Duration of OTLP export calls, retries included", {},
                    {.buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}},
                    {.unit = "seconds"})
            .get();
  }

  trace::ExportResult export_spans(std::span<const trace::SpanData* const> spans,
                                   Deadline deadline);
  bool shutdown(std::chrono::milliseconds timeout);
  trace::ExportResult fail(Reason reason, uint64_t spans, trace::ExportResult::Code code,
                           std::string message);

  const OtlpTraceExporterOptions options;
  vigil::detail::HttpSender sender;

  detail::OtlpBook book;
  metrics::Counter retries;
  metrics::Counter sent_bytes;
  metrics::Histogram duration;

  detail::OtlpInFlight in_flight;
  std::mutex export_mu;  // one export at a time

  std::mt19937_64 rng;  // jitter; used under export_mu
  std::string body;     // encoding buffer, reused; under export_mu
};

trace::ExportResult OtlpTraceExporter::Impl::fail(Reason reason, uint64_t spans,
                                                  trace::ExportResult::Code code,
                                                  std::string message) {
  return book.fail(reason, spans, code, std::move(message), "spans");
}

trace::ExportResult OtlpTraceExporter::Impl::export_spans(
    std::span<const trace::SpanData* const> spans, Deadline deadline) {
  const uint64_t n = spans.size();
  book.call();
  if (n == 0) return trace::ExportResult::success();  // nothing to send: no request
  if (in_flight.shut_down()) {
    return fail(kShutdown, n, trace::ExportResult::Code::kFailure,
                "OTLP exporter: export after shutdown");
  }
  const detail::OtlpInFlight::Guard guard = in_flight.enter();

  std::lock_guard export_lock(export_mu);
  const auto start = Clock::now();
  const Deadline call_deadline = std::min(deadline, start + options.timeout);
  const std::string where = "OTLP export to " + options.endpoint + ": ";

  // Encode.
  std::string error;
  bool encoded = false;
  if (options.protocol == OtlpProtocol::kHttpJson) {
    body = detail::encode_json(spans);
    encoded = true;
  } else {
    encoded = detail::encode_protobuf(spans, body, error);
  }
  if (!encoded) {
    return fail(kEncoding, n, trace::ExportResult::Code::kFailure, where + error);
  }
  vigil::detail::SendReport report;
  const uint64_t sent_before = book.counts().sent_bytes;
  trace::ExportResult result =
      detail::otlp_post({sender, book, options.retry, rng, options.compression,
                         detail::OtlpSignal::kTraces, "spans", where},
                        body, n, start, call_deadline, &report);
  duration.observe(std::chrono::duration<double>(Clock::now() - start).count());
  if (report.attempts > 0) {
    retries.inc(static_cast<double>(report.attempts - 1));
    sent_bytes.inc(static_cast<double>(book.counts().sent_bytes - sent_before));
  }
  return result;
}

bool OtlpTraceExporter::Impl::shutdown(std::chrono::milliseconds timeout) {
  return in_flight.shutdown(sender, timeout);
}

OtlpTraceExporter::OtlpTraceExporter(OtlpTraceExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

OtlpTraceExporter::~OtlpTraceExporter() {
  if (impl_) impl_->shutdown(std::chrono::milliseconds(1000));
}

trace::ExportResult OtlpTraceExporter::export_spans(std::span<const trace::SpanData* const> spans,
                                                    Deadline deadline) {
  try {
    return impl_->export_spans(spans, deadline);
  } catch (const std::exception& e) {
    return impl_->fail(kEncoding, spans.size(), trace::ExportResult::Code::kFailure,
                       std::string("OTLP export failed: ") + e.what());
  } catch (...) {
    return trace::ExportResult::failure("OTLP export failed: unknown exception");
  }
}

bool OtlpTraceExporter::force_flush(std::chrono::milliseconds /*timeout*/) { return true; }

bool OtlpTraceExporter::shutdown(std::chrono::milliseconds timeout) {
  return impl_->shutdown(timeout);
}

const OtlpTraceExporterOptions& OtlpTraceExporter::options() const noexcept {
  return impl_->options;
}

OtlpExporterStats OtlpTraceExporter::stats() const {
  const detail::OtlpCounts c = impl_->book.counts();
  OtlpExporterStats out;
  out.export_calls = c.export_calls;
  out.exported_spans = c.exported;
  out.dropped_spans = c.dropped;
  out.rejected_spans = c.rejected;
  out.failed_exports = c.failed_exports;
  out.partial_successes = c.partial_successes;
  out.retries = c.retries;
  out.sent_bytes = c.sent_bytes;
  out.last_error = c.last_error;
  return out;
}

void register_otlp_trace_exporter() {
  trace::register_exporter_factory(
      "otlp",
      trace::ExporterFactory([](const trace::Environment& env, metrics::Registry* self_metrics) {
        OtlpTraceExporterOptions options = OtlpTraceExporterOptions::from_environment(env);
        options.self_metrics = self_metrics;
        return std::make_unique<OtlpTraceExporter>(std::move(options));
      }));
}

namespace {
// Registers the factory before main(). An exception must not escape static initialisation.
[[maybe_unused]] const bool kRegistered = [] {
  try {
    register_otlp_trace_exporter();
    return true;
  } catch (...) {
    return false;
  }
}();
}  // namespace

}  // namespace vigil::exporters
