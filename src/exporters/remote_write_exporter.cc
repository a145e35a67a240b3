// RemoteWriteExporter (vigil/exporters/remote_write_exporter.h): options, VIGIL_REMOTE_WRITE_*
// variables, and delivery of the requests remote_write_encoding.cc builds through vigil's one
// HTTP sender.
#include "vigil/exporters/remote_write_exporter.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "core/detail/http_sender.h"
#include "core/detail/kv_list.h"
#include "core/detail/text.h"
#include "remote_write_encoding.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/metrics/names.h"

namespace vigil::exporters {
namespace {

constexpr std::string_view kWhat = "remote write exporter: ";
constexpr std::size_t kDefaultMaxSamples = 2000;

// Headers that the exporter sets itself.
bool reserved_header(std::string_view name) noexcept {
  using vigil::detail::iequals;
  return iequals(name, "content-type") || iequals(name, "content-encoding") ||
         iequals(name, "content-length") || iequals(name, "x-prometheus-remote-write-version");
}

std::string external_label_problem(std::string_view name, std::string_view value) {
  if (!metrics::is_valid_label_name(name)) {
    return "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)";
  }
  if (value.empty()) return "has an empty value";
  if (!metrics::is_valid_utf8(value)) return "has a value that is not UTF-8";
  return {};
}

vigil::detail::HttpConfig http_config(const RemoteWriteOptions& o) {
  vigil::detail::HttpConfig c;
  c.url = o.url;
  c.content_type = "application/x-protobuf";
  c.headers.emplace_back("Content-Encoding", "snappy");
  c.headers.emplace_back("X-Prometheus-Remote-Write-Version", "0.1.0");
  for (const auto& h : o.headers) c.headers.push_back(h);
  c.basic_auth_username = o.basic_auth_username;
  c.basic_auth_password = o.basic_auth_password;
  c.certificate_file = o.certificate_file;
  c.client_certificate_file = o.client_certificate_file;
  c.client_key_file = o.client_key_file;
  c.max_response_bytes = 1024;  // enough for the receiver's error text
  c.user_agent = "vigil-remote-write/0.1";
  // The remote write 1.0 specification: senders MUST retry on 5xx, MAY on 429, MUST NOT on
  // other 4xx.
  c.retry_all_server_errors = true;
  return c;
}

detail::RemoteWriteEncoding encoding(const RemoteWriteOptions& o) {
  detail::RemoteWriteEncoding e;
  e.prefix = o.prefix;
  e.external_labels = o.external_labels;
  e.max_samples_per_send = o.max_samples_per_send;
  e.metadata = o.send_metadata;
  e.exemplars = o.send_exemplars;
  e.staleness_markers = o.staleness_markers;
  return e;
}

// The receiver's answer, short and on one line, for error messages.
std::string response_text(const vigil::detail::HttpResult& r) {
  std::string text(vigil::detail::trim_line(std::string_view(r.body).substr(0, 200)));
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

}  // namespace

void RemoteWriteOptions::validate() const {
  // The URL, header and retry rules are the OTLP exporter's: one implementation of them.
  OtlpTraceExporterOptions http;
  http.endpoint = url;
  http.headers = headers;
  http.retry = retry;
  try {
    http.validate();
  } catch (const Error& e) {
    std::string m = e.what();
    if (m.starts_with("OTLP exporter: ")) m.erase(0, 15);
    if (m.starts_with("endpoint ")) m.replace(0, 8, "url");
    throw Error(std::string(kWhat) + m);
  }
  bool authorization = false;
  for (const auto& [name, value] : headers) {
    if (reserved_header(name)) {
      throw Error(std::string(kWhat) + "header '" + name + "' is set by the exporter");
    }
    if (vigil::detail::iequals(name, "authorization")) authorization = true;
  }
  if (!basic_auth_username.empty() && authorization) {
    throw Error(std::string(kWhat) +
                "basic auth and an Authorization header cannot be used together");
  }
  if (basic_auth_username.empty() && !basic_auth_password.empty()) {
    throw Error(std::string(kWhat) + "a basic auth password needs a username");
  }
  for (std::size_t i = 0; i < external_labels.size(); ++i) {
    const auto& [name, value] = external_labels[i];
    const std::string problem = external_label_problem(name, value);
    if (!problem.empty())
      throw Error(std::string(kWhat) + "external label '" + name + "' " + problem);
    for (std::size_t j = 0; j < i; ++j) {
      if (external_labels[j].first == name) {
        throw Error(std::string(kWhat) + "external label '" + name + "' is given twice");
      }
    }
  }
  if (!prefix.empty() && !metrics::is_valid_metric_name(prefix)) {
    throw Error(std::string(kWhat) + "prefix '" + prefix +
                "' is not a valid metric name start ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  if (max_samples_per_send == 0) {
    throw Error(std::string(kWhat) + "max_samples_per_send must be at least 1");
  }
}

std::optional<RemoteWriteOptions> RemoteWriteOptions::from_environment(
    const vigil::trace::Environment& env) {
  const auto url = env.get("VIGIL_REMOTE_WRITE_URL");
  if (!url) return std::nullopt;
  RemoteWriteOptions o;
  o.url = std::string(vigil::detail::trim(*url));
  {
    RemoteWriteOptions check;
    check.url = o.url;
    try {
      check.validate();
    } catch (const Error& e) {
      env.warn("VIGIL_REMOTE_WRITE_URL: " + std::string(e.what()) +
               "; the remote write exporter stays off");
      return std::nullopt;
    }
  }
  if (auto text = env.get("VIGIL_REMOTE_WRITE_HEADERS")) {
    std::vector<std::string> errors;
    for (auto& [name, value] : parse_otlp_headers(*text, &errors)) {
      if (reserved_header(name)) {
        errors.push_back("header '" + name + "' is set by the exporter");
        continue;
      }
      o.headers.emplace_back(std::move(name), std::move(value));
    }
    for (const std::string& e : errors) env.warn("VIGIL_REMOTE_WRITE_HEADERS: skipped: " + e);
  }
  if (auto auth = env.get("VIGIL_REMOTE_WRITE_BASIC_AUTH")) {
    const std::size_t colon = auth->find(':');
    if (colon == std::string::npos || colon == 0) {
      env.warn("VIGIL_REMOTE_WRITE_BASIC_AUTH is not user:password; no basic auth is sent");
    } else if (std::any_of(o.headers.begin(), o.headers.end(), [](const auto& h) {
                 return vigil::detail::iequals(h.first, "authorization");
               })) {
      env.warn(
          "VIGIL_REMOTE_WRITE_BASIC_AUTH is ignored: VIGIL_REMOTE_WRITE_HEADERS has an "
          "Authorization header");
    } else {
      o.basic_auth_username = auth->substr(0, colon);
      o.basic_auth_password = auth->substr(colon + 1);
    }
  }
  if (auto text = env.get("VIGIL_REMOTE_WRITE_LABELS")) {
    vigil::detail::KvListOptions kv;
    kv.skip_bad_members = true;
    kv.check_key = [](std::string_view name) {
      return metrics::is_valid_label_name(name) ? std::string() : external_label_problem(name, "x");
    };
    auto parsed = vigil::detail::parse_kv_list(*text, kv);
    for (const std::string& e : parsed->skipped)
      env.warn("VIGIL_REMOTE_WRITE_LABELS: skipped " + e);
    for (auto& pair : parsed->pairs) {
      const std::string problem = external_label_problem(pair.key, pair.value);
      if (!problem.empty()) {
        env.warn("VIGIL_REMOTE_WRITE_LABELS: skipped label '" + pair.key + "': " + problem);
        continue;
      }
      const auto same = std::find_if(o.external_labels.begin(), o.external_labels.end(),
                                     [&](const auto& l) { return l.first == pair.key; });
      if (same != o.external_labels.end()) {
        env.warn("VIGIL_REMOTE_WRITE_LABELS: label '" + pair.key +
                 "' is given twice; the last wins");
        same->second = std::move(pair.value);
        continue;
      }
      o.external_labels.emplace_back(std::move(pair.key), std::move(pair.value));
    }
  }
  o.max_samples_per_send = static_cast<std::size_t>(
      env.get_int("VIGIL_REMOTE_WRITE_MAX_SAMPLES", kDefaultMaxSamples, 1, 1000000));
  return o;
}

class RemoteWriteExporter::Impl {
 public:
  explicit Impl(RemoteWriteOptions o)
      : options((o.validate(), std::move(o))),
        encoder(encoding(options)),
        sender(http_config(options)),
        rng(std::random_device{}()) {}

  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline);

  const RemoteWriteOptions options;
  detail::RemoteWriteEncoder encoder;
  vigil::detail::HttpSender sender;
  std::mt19937_64 rng;
  std::vector<detail::RemoteWriteBatch> batches;
  mutable std::mutex stats_mu;
  RemoteWriteStats stats;
};

ExportOutcome RemoteWriteExporter::Impl::export_metrics(const MetricsSnapshot& snapshot,
                                                        ExportDeadline deadline) {
  ExportOutcome out;
  RemoteWriteStats delta;
  delta.exports = 1;
  std::size_t n = 0;
  try {
    n = encoder.encode(snapshot, batches);
  } catch (const std::exception& e) {  // std::bad_alloc
    out.ok = false;
    out.reason = "encoding";
    out.error = std::string(kWhat) + "encoding failed: " + e.what();
    out.dropped_points = snapshot.series();
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto random01 = [&] { return unit(rng); };
  bool rejected = false;
  std::size_t i = 0;
  while (i < n) {
    if (sender.aborted()) {
      out.ok = false;
      out.reason = "shutdown";
      out.error = std::string(kWhat) + "aborted by shutdown";
      break;
    }
    const detail::RemoteWriteBatch& b = batches[i++];
    const vigil::detail::SendReport report =
        vigil::detail::send_with_retry(sender, b.body, deadline, options.retry, random01);
    out.retries += static_cast<uint64_t>(std::max(0, report.attempts - 1));
    if (report.last.status != 0 || report.attempts > 1) {
      out.bytes += b.body.size() * static_cast<uint64_t>(report.attempts);
    }
    if (report.outcome == vigil::detail::SendOutcome::kDelivered) {
      out.points += b.samples;
      ++out.requests;
      delta.samples += b.samples;
      delta.stale_markers += b.stale_markers;
      delta.uncompressed_bytes += b.raw_bytes;
      continue;
    }
    ++delta.failed_requests;
    out.ok = false;
    out.dropped_points += b.samples;
    const long status = report.last.status;
    if (report.outcome == vigil::detail::SendOutcome::kHttpError) {
      out.error =
          std::string(kWhat) + "HTTP " + std::to_string(status) + " (" + report.detail + ")";
      if (const std::string text = response_text(report.last); !text.empty()) {
        out.error += ": " + text;
      }
      if (!vigil::detail::retried_status(sender.config(), status)) {
        // The receiver refused this request's data; the next requests may still be fine.
        rejected = true;
        continue;
      }
      out.reason = "http_error";
      break;
    }
    out.reason = report.outcome == vigil::detail::SendOutcome::kTimeout      ? "timeout"
                 : report.outcome == vigil::detail::SendOutcome::kConnection ? "connection"
                                                                             : "shutdown";
    out.error = std::string(kWhat) + report.detail;
    if (!report.last.error.empty()) out.error += ": " + report.last.error;
    break;
  }
  // The requests not attempted after a failure that ended the export.
  for (; i < n; ++i) {
    out.dropped_points += batches[i].samples;
    ++delta.failed_requests;
  }
  if (out.reason.empty() && rejected) out.reason = "rejected";
  delta.requests = out.requests;
  delta.retries = out.retries;
  delta.bytes = out.bytes;
  delta.dropped_samples = out.dropped_points;
  delta.failed_exports = out.ok ? 0 : 1;
  std::lock_guard lock(stats_mu);
  stats.exports += delta.exports;
  stats.failed_exports += delta.failed_exports;
  stats.requests += delta.requests;
  stats.failed_requests += delta.failed_requests;
  stats.samples += delta.samples;
  stats.dropped_samples += delta.dropped_samples;
  stats.stale_markers += delta.stale_markers;
  stats.retries += delta.retries;
  stats.bytes += delta.bytes;
  stats.uncompressed_bytes += delta.uncompressed_bytes;
  if (!out.ok) stats.last_error = out.error;
  return out;
}

RemoteWriteExporter::RemoteWriteExporter(RemoteWriteOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RemoteWriteExporter::~RemoteWriteExporter() = default;

ExportOutcome RemoteWriteExporter::export_metrics(const MetricsSnapshot& snapshot,
                                                  ExportDeadline deadline) {
  try {
    return impl_->export_metrics(snapshot, deadline);
  } catch (const std::exception& e) {
    ExportOutcome out;
    out.ok = false;
    out.reason = "exception";
    out.error = std::string(kWhat) + e.what();
    out.dropped_points = snapshot.series();
    return out;
  }
}

void RemoteWriteExporter::abort() noexcept { impl_->sender.abort(); }

const RemoteWriteOptions& RemoteWriteExporter::options() const noexcept { return impl_->options; }

RemoteWriteStats RemoteWriteExporter::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

}  // namespace vigil::exporters
