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

enum Reason : std::size_t {
  kRejected,
  kHttpError,
  kTimeout,
  kConnection,
  kShutdown,
  kEncoding,
  kReasons
};
constexpr std::string_view kReasonNames[kReasons] = {"rejected",   "http_error", "timeout",
                                                     "connection", "shutdown",   "encoding"};

}  // namespace

class OtlpTraceExporter::Impl {
 public:
  explicit Impl(OtlpTraceExporterOptions o)
      : options((o.validate(), std::move(o))),
        sender(detail::otlp_http_config(options)),
        rng(std::random_device{}()) {
    if (options.self_metrics == nullptr) return;  // the handles stay unbound: count nowhere
    metrics::Registry& r = *options.self_metrics;
    exported =
        r.counter("vigil_otlp_exported_spans_total", "Spans the OTLP collector accepted").get();
    auto& dropped_family =
        r.counter("vigil_otlp_spans_dropped_total",
                  "Spans the OTLP exporter did not deliver, by reason", {"reason"});
    auto& failures_family =
        r.counter("vigil_otlp_export_failures_total",
                  "OTLP export calls that delivered nothing, by reason", {"reason"});
    for (std::size_t i = 0; i < kReasons; ++i) {
      dropped[i] = dropped_family.labels({kReasonNames[i]});
      if (i != kRejected) failures[i] = failures_family.labels({kReasonNames[i]});
    }
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

  metrics::Counter exported;
  metrics::Counter dropped[kReasons];
  metrics::Counter failures[kReasons];
  metrics::Counter retries;
  metrics::Counter sent_bytes;
  metrics::Histogram duration;

  mutable std::mutex stats_mu;
  OtlpExporterStats stats;
  bool warned_since_success = false;

  std::atomic<bool> shut_down{false};
  std::mutex export_mu;  // one export at a time
  std::mutex running_mu;
  std::condition_variable running_cv;
  int running = 0;

  std::mt19937_64 rng;  // jitter; used under export_mu
  std::string body;     // encoding buffer, reused; under export_mu
};

trace::ExportResult OtlpTraceExporter::Impl::fail(Reason reason, uint64_t spans,
                                                  trace::ExportResult::Code code,
                                                  std::string message) {
  dropped[reason].inc(static_cast<double>(spans));
  failures[reason].inc();
  bool warn_now = false;
  {
    std::lock_guard lock(stats_mu);
    stats.dropped_spans += spans;
    ++stats.failed_exports;
    stats.last_error = message;
    warn_now = !warned_since_success;
    warned_since_success = true;
  }
  // One warning per run of failures: the counters tell the rest.
  if (warn_now && reason != kShutdown) {
    trace::warn(message + " (" + std::to_string(spans) +
                " spans dropped; further failures are only counted until an export succeeds)");
  }
  trace::ExportResult r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

trace::ExportResult OtlpTraceExporter::Impl::export_spans(
    std::span<const trace::SpanData* const> spans, Deadline deadline) {
  const uint64_t n = spans.size();
  {
    std::lock_guard lock(stats_mu);
    ++stats.export_calls;
  }
  if (n == 0) return trace::ExportResult::success();  // nothing to send: no request
  if (shut_down.load(std::memory_order_acquire)) {
    return fail(kShutdown, n, trace::ExportResult::Code::kFailure,
                "OTLP exporter: export after shutdown");
  }
  {
    std::lock_guard lock(running_mu);
    ++running;
  }
  struct Done {
    Impl* self;
    ~Done() {
      {
        std::lock_guard lock(self->running_mu);
        --self->running;
      }
      self->running_cv.notify_all();
    }
  } done{this};

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
  std::string_view payload = body;
  std::optional<std::string> compressed;
  if (options.compression == OtlpCompression::kGzip) {
    compressed = vigil::detail::gzip_compress(body);
    if (!compressed) {
      return fail(kEncoding, n, trace::ExportResult::Code::kFailure, where + "gzip failed");
    }
    payload = *compressed;
  }

  // Send.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const vigil::detail::SendReport report = vigil::detail::send_with_retry(
      sender, payload, call_deadline, options.retry, [&] { return unit(rng); });
  const auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  duration.observe(elapsed);
  const auto extra_attempts = static_cast<uint64_t>(std::max(0, report.attempts - 1));
  retries.inc(static_cast<double>(extra_attempts));
  const uint64_t bytes_sent = payload.size() * static_cast<uint64_t>(report.attempts);
  sent_bytes.inc(static_cast<double>(bytes_sent));
  {
    std::lock_guard lock(stats_mu);
    stats.retries += extra_attempts;
    stats.sent_bytes += bytes_sent;
  }

  const vigil::detail::HttpResult& last = report.last;
  const std::string attempts =
      " after " + std::to_string(report.attempts) + " attempt" + (report.attempts == 1 ? "" : "s");
  switch (report.outcome) {
    case vigil::detail::SendOutcome::kDelivered: {
      const auto partial = detail::parse_export_response(last.body, last.content_type);
      uint64_t rejected = 0;
      std::string message;
      if (partial) {
        rejected = static_cast<uint64_t>(
            std::clamp<int64_t>(partial->rejected_spans, 0, static_cast<int64_t>(n)));
        message = where + "partial success: " + std::to_string(rejected) + " of " +
                  std::to_string(n) + " spans rejected" +
                  (partial->error_message.empty() ? "" : ": " + partial->error_message);
      }
      exported.inc(static_cast<double>(n - rejected));
      if (rejected > 0) dropped[kRejected].inc(static_cast<double>(rejected));
      bool warn_now = false;
      {
        std::lock_guard lock(stats_mu);
        stats.exported_spans += n - rejected;
        if (partial) {
          ++stats.partial_successes;
          stats.rejected_spans += rejected;
          stats.dropped_spans += rejected;
          stats.last_error = message;
          warn_now = !warned_since_success;
        }
        warned_since_success = partial.has_value();
      }
      if (warn_now) trace::warn(message);
      if (partial) return trace::ExportResult::partial(rejected, std::move(message));
      return trace::ExportResult::success();
    }
    case vigil::detail::SendOutcome::kHttpError: {
      std::string message = where + "HTTP " + std::to_string(last.status);
      const std::string described = detail::describe_error_body(last.body, last.content_type);
      if (!described.empty()) message += " (" + described + ")";
      message += attempts;
      if (!report.detail.empty()) message += "; " + report.detail;
      const bool retryable = vigil::detail::retryable_status(last.status);
      return fail(
          kHttpError, n,
          retryable ? trace::ExportResult::Code::kRetryable : trace::ExportResult::Code::kFailure,
          std::move(message));
    }
    case vigil::detail::SendOutcome::kTimeout:
      return fail(kTimeout, n, trace::ExportResult::Code::kRetryable,
                  where + "deadline of " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         call_deadline - start)
                                         .count()) +
                      " ms exceeded" + attempts + " (" + last.error + ")");
    case vigil::detail::SendOutcome::kConnection:
      return fail(
          kConnection, n, trace::ExportResult::Code::kRetryable,
          where + last.error + attempts + (report.detail.empty() ? "" : "; " + report.detail));
    case vigil::detail::SendOutcome::kAborted:
      return fail(kShutdown, n, trace::ExportResult::Code::kFailure, where + "aborted by shutdown");
  }
  return fail(kHttpError, n, trace::ExportResult::Code::kFailure, where + "unexpected outcome");
}

bool OtlpTraceExporter::Impl::shutdown(std::chrono::milliseconds timeout) {
  shut_down.store(true, std::memory_order_release);
  sender.abort();
  std::unique_lock lock(running_mu);
  return running_cv.wait_for(lock, timeout, [this] { return running == 0; });
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
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
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
