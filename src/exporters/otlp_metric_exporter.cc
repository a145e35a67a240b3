// OtlpMetricExporter and its options (vigil/exporters/otlp_metric_exporter.h).
#include "vigil/exporters/otlp_metric_exporter.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <random>

#include "core/detail/gzip.h"
#include "core/detail/http_sender.h"
#include "core/detail/text.h"
#include "otlp_encoding.h"
#include "otlp_metric_encoding.h"
#include "otlp_options.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::exporters {
namespace {

constexpr std::string_view kWho = "OTLP metric exporter";

}  // namespace

std::string_view to_string(OtlpTemporality temporality) noexcept {
  switch (temporality) {
    case OtlpTemporality::kDelta:
      return "delta";
    case OtlpTemporality::kLowMemory:
      return "lowmemory";
    case OtlpTemporality::kCumulative:
      break;
  }
  return "cumulative";
}

std::string otlp_unit(std::string_view unit) {
  static constexpr std::pair<std::string_view, std::string_view> kUcum[] = {
      {"seconds", "s"}, {"milliseconds", "ms"}, {"microseconds", "us"}, {"nanoseconds", "ns"},
      {"bytes", "By"},  {"kilobytes", "kBy"},   {"megabytes", "MBy"},   {"bits", "bit"},
      {"ratio", "1"},   {"percent", "%"},       {"celsius", "Cel"},     {"meters", "m"},
      {"grams", "g"},   {"volts", "V"},         {"amperes", "A"},       {"joules", "J"},
      {"watts", "W"},   {"hertz", "Hz"}};
  for (const auto& [name, ucum] : kUcum) {
    if (unit == name) return std::string(ucum);
  }
  return std::string(unit);
}

void OtlpMetricExporterOptions::validate() const {
  detail::validate_otlp_settings(kWho, endpoint, headers, timeout, retry);
  const std::string w(kWho);
  if (scope_name.empty()) throw Error(w + ": scope_name must not be empty");
  if (!prefix.empty() && !metrics::is_valid_metric_name(prefix)) {
    throw Error(w + ": prefix '" + prefix +
                "' must be a valid metric name start ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    const std::string& key = attributes[i].first;
    if (key.empty()) throw Error(w + ": attribute keys must not be empty");
    for (std::size_t j = 0; j < i; ++j) {
      if (attributes[j].first == key) {
        throw Error(w + ": attribute '" + key + "' is given twice");
      }
    }
  }
  if (export_interval.count() <= 0) throw Error(w + ": export_interval must be positive");
  if (export_timeout.count() <= 0) throw Error(w + ": export_timeout must be positive");
}

std::optional<OtlpMetricExporterOptions> OtlpMetricExporterOptions::from_environment(
    const trace::Environment& env) {
  const std::optional<std::string> exporters = env.get("OTEL_METRICS_EXPORTER");
  if (!exporters) return std::nullopt;
  bool otlp = false;
  vigil::detail::for_each_list_member(*exporters, ',', [&otlp](std::string_view member) {
    if (vigil::detail::iequals(member, "otlp")) otlp = true;
  });
  if (!otlp) return std::nullopt;

  OtlpMetricExporterOptions o;
  detail::read_otlp_environment(env, "METRICS", "v1/metrics", detail::settings_of(o));
  if (auto v = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")) {
    const std::string t = vigil::detail::ascii_lower(vigil::detail::trim(*v));
    if (t == "cumulative") {
      o.temporality = OtlpTemporality::kCumulative;
    } else if (t == "delta") {
      o.temporality = OtlpTemporality::kDelta;
    } else if (t == "lowmemory") {
      o.temporality = OtlpTemporality::kLowMemory;
    } else {
      env.warn("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE='" + *v +
               "' must be cumulative, delta or lowmemory; using cumulative");
    }
  }
  constexpr int64_t kMaxMillis = int64_t{1} << 40;
  o.export_interval = std::chrono::milliseconds(
      env.get_int("OTEL_METRIC_EXPORT_INTERVAL", o.export_interval.count(), 1, kMaxMillis));
  o.export_timeout = std::chrono::milliseconds(
      env.get_int("OTEL_METRIC_EXPORT_TIMEOUT", o.export_timeout.count(), 1, kMaxMillis));
  o.resource = trace::Resource::create({}, env);
  return o;
}

// ---------------------------------------------------------------------------------------------

class OtlpMetricExporter::Impl {
 public:
  explicit Impl(OtlpMetricExporterOptions o)
      : options((o.validate(), resolve(std::move(o)))),
        sender(detail::otlp_http_config(options)),
        created(unix_time_seconds()),
        rng(std::random_device{}()) {}

  static OtlpMetricExporterOptions resolve(OtlpMetricExporterOptions o) {
    if (o.resource.attributes().empty()) o.resource = trace::Resource::create();
    return o;
  }

  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline);
  ExportOutcome fail(ExportOutcome out, std::string_view reason, std::string message);

  const OtlpMetricExporterOptions options;
  vigil::detail::HttpSender sender;
  const double created;  // start time of series whose own is unknown
  DeltaTracker tracker;
  MetricsSnapshot deltas;  // the last deltas; kept so that the next ones reuse its memory

  mutable std::mutex stats_mu;
  OtlpMetricExporterStats stats;
  std::atomic<bool> aborted{false};
  std::mt19937_64 rng;  // jitter
  std::string body;     // encoding buffer, reused
};

ExportOutcome OtlpMetricExporter::Impl::fail(ExportOutcome out, std::string_view reason,
                                             std::string message) {
  out.ok = false;
  out.reason = std::string(reason);
  out.error = message;
  out.dropped_points += out.points;
  out.points = 0;
  std::lock_guard lock(stats_mu);
  stats.dropped_points += out.dropped_points;
  ++stats.failed_exports;
  stats.last_error = std::move(message);
  return out;
}

ExportOutcome OtlpMetricExporter::Impl::export_metrics(const MetricsSnapshot& snapshot,
                                                       ExportDeadline deadline) {
  {
    std::lock_guard lock(stats_mu);
    ++stats.export_calls;
  }
  ExportOutcome out;
  // Deltas are taken even when nothing is sent, so that the next window starts here.
  const bool delta = options.temporality != OtlpTemporality::kCumulative;
  if (delta) tracker.deltas_into(snapshot, deltas);
  const uint64_t n = snapshot.series();
  out.points = n;
  if (n == 0) return out;  // nothing to send: no request
  const std::string where = "OTLP metric export to " + options.endpoint + ": ";
  if (aborted.load(std::memory_order_acquire)) {
    return fail(out, "shutdown", where + "export after abort");
  }
  const auto start = ExportClock::now();
  const ExportDeadline call_deadline = std::min(deadline, start + options.timeout);

  detail::MetricEncoding how;
  how.resource = &options.resource;
  how.scope_name = options.scope_name;
  how.scope_version = options.scope_version;
  how.prefix = options.prefix;
  how.attributes = &options.attributes;
  how.exemplars = options.exemplars;
  how.deltas = delta ? &deltas : nullptr;
  how.default_start = created;
  std::string error;
  if (options.protocol == OtlpProtocol::kHttpJson) {
    detail::encode_metrics_json(snapshot, how, body);
  } else if (!detail::encode_metrics_protobuf(snapshot, how, body, error)) {
    return fail(out, "encoding", where + error);
  }
  std::string_view payload = body;
  std::optional<std::string> compressed;
  if (options.compression == OtlpCompression::kGzip) {
    compressed = vigil::detail::gzip_compress(body);
    if (!compressed) return fail(out, "encoding", where + "gzip failed");
    payload = *compressed;
  }

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const vigil::detail::SendReport report = vigil::detail::send_with_retry(
      sender, payload, call_deadline, options.retry, [&] { return unit(rng); });
  out.requests = static_cast<uint64_t>(std::max(0, report.attempts));
  out.retries = static_cast<uint64_t>(std::max(0, report.attempts - 1));
  out.bytes = payload.size() * out.requests;
  {
    std::lock_guard lock(stats_mu);
    stats.retries += out.retries;
    stats.sent_bytes += out.bytes;
  }

  const vigil::detail::HttpResult& last = report.last;
  const std::string attempts =
      " after " + std::to_string(report.attempts) + " attempt" + (report.attempts == 1 ? "" : "s");
  switch (report.outcome) {
    case vigil::detail::SendOutcome::kDelivered: {
      const auto partial =
          detail::parse_export_response(last.body, last.content_type, detail::OtlpSignal::kMetrics);
      std::lock_guard lock(stats_mu);
      if (partial) {
        const auto rejected = static_cast<uint64_t>(
            std::clamp<int64_t>(partial->rejected_spans, 0, static_cast<int64_t>(n)));
        out.points = n - rejected;
        out.dropped_points = rejected;
        if (rejected > 0) out.reason = "rejected";
        ++stats.partial_successes;
        stats.rejected_points += rejected;
        stats.dropped_points += rejected;
        stats.last_error = where + "partial success: " + std::to_string(rejected) + " of " +
                           std::to_string(n) + " data points rejected" +
                           (partial->error_message.empty() ? "" : ": " + partial->error_message);
      }
      stats.exported_points += out.points;
      return out;
    }
    case vigil::detail::SendOutcome::kHttpError: {
      std::string message = where + "HTTP " + std::to_string(last.status);
      const std::string described = detail::describe_error_body(last.body, last.content_type);
      if (!described.empty()) message += " (" + described + ")";
      message += attempts;
      if (!report.detail.empty()) message += "; " + report.detail;
      return fail(out, "http_error", std::move(message));
    }
    case vigil::detail::SendOutcome::kTimeout:
      return fail(out, "timeout",
                  where + "deadline of " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         call_deadline - start)
                                         .count()) +
                      " ms exceeded" + attempts + " (" + last.error + ")");
    case vigil::detail::SendOutcome::kConnection:
      return fail(
          out, "connection",
          where + last.error + attempts + (report.detail.empty() ? "" : "; " + report.detail));
    case vigil::detail::SendOutcome::kAborted:
      return fail(out, "shutdown", where + "aborted");
  }
  return fail(out, "http_error", where + "unexpected outcome");
}

OtlpMetricExporter::OtlpMetricExporter(OtlpMetricExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

OtlpMetricExporter::~OtlpMetricExporter() = default;

ExportOutcome OtlpMetricExporter::export_metrics(const MetricsSnapshot& snapshot,
                                                 ExportDeadline deadline) {
  try {
    return impl_->export_metrics(snapshot, deadline);
  } catch (const std::exception& e) {
    ExportOutcome out;
    out.points = snapshot.series();
    return impl_->fail(out, "encoding", std::string("OTLP metric export failed: ") + e.what());
  } catch (...) {
    ExportOutcome out;
    out.ok = false;
    out.reason = "encoding";
    out.error = "OTLP metric export failed: unknown exception";
    out.dropped_points = snapshot.series();
    return out;
  }
}

void OtlpMetricExporter::abort() noexcept {
  impl_->aborted.store(true, std::memory_order_release);
  impl_->sender.abort();
}

const OtlpMetricExporterOptions& OtlpMetricExporter::options() const noexcept {
  return impl_->options;
}

OtlpMetricExporterStats OtlpMetricExporter::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

}  // namespace vigil::exporters
