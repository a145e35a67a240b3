// PushgatewayExporter: PUT/POST/DELETE of a group on a Prometheus Pushgateway, the body in the
// Prometheus text format written by vigil's TextSink.
#include "vigil/exporters/pushgateway_exporter.h"

#include <errno.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

#include "core/detail/base64.h"
#include "core/detail/http_sender.h"
#include "core/detail/kv_list.h"
#include "core/detail/percent.h"
#include "core/detail/text.h"
#include "http_options.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/names.h"

namespace vigil::exporters {
namespace {

constexpr std::string_view kWho = "Pushgateway exporter";

using Labels = std::vector<std::pair<std::string, std::string>>;

// One path segment pair "/<name>/<value>" or "/<name>@base64/<value>".
void append_group_label(std::string& out, std::string_view name, std::string_view value) {
  out += '/';
  out += name;
  // Empty values, '/' and dot segments (which URL normalisation would remove) need base64.
  if (value.empty() || value.find('/') != std::string_view::npos || value == "." || value == "..") {
    out += "@base64/";
    if (value.empty()) {
      out += '=';  // the Pushgateway README's spelling of an empty value
    } else {
      vigil::detail::append_base64(out, value, vigil::detail::Base64Alphabet::kUrlSafe);
    }
    return;
  }
  out += '/';
  vigil::detail::append_percent_encoded(out, value);
}

// The names a pushed metric must not carry.
bool is_grouping_label(const PushgatewayExporterOptions& o, std::string_view name) {
  if (name == "job") return true;
  return std::any_of(o.grouping_key.begin(), o.grouping_key.end(),
                     [&](const auto& kv) { return kv.first == name; });
}

std::string_view method_name(PushgatewayMethod method) {
  return method == PushgatewayMethod::kPost ? "POST" : "PUT";
}

// A response body cut to a printable line for an error message.
std::string snippet(std::string_view body) {
  std::string out;
  for (const char c : vigil::detail::trim_line(body)) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return out;
}

std::string program_name() {
  const char* name = program_invocation_short_name;
  return (name != nullptr && *name != '\0') ? std::string(name) : std::string("vigil");
}

}  // namespace

std::string_view to_string(PushgatewayMethod method) noexcept {
  return method == PushgatewayMethod::kPost ? "post" : "put";
}

std::string pushgateway_group_path(std::string_view job, const Labels& grouping_key) {
  std::string out = "/metrics";
  append_group_label(out, "job", job);
  for (const auto& [name, value] : grouping_key) append_group_label(out, name, value);
  return out;
}

void PushgatewayExporterOptions::validate() const {
  const std::string w(kWho);
  std::string problem = vigil::detail::check_http_url(url);
  if (problem.empty()) {
    const std::size_t host_at = url.find("://") + 3;
    const std::size_t path_at = std::min(url.find('/', host_at), url.size());
    if (url.find('@', host_at) < path_at) {
      problem = "carries user:password@ (set basic_auth_username and basic_auth_password)";
    } else if (url.find_first_of("?#") != std::string::npos) {
      problem = "has a query or fragment (give the base URL only)";
    }
  }
  if (!problem.empty()) throw Error(w + ": url '" + url + "' " + problem);
  if (job.empty()) throw Error(w + ": job must not be empty");
  if (!metrics::is_valid_utf8(job)) throw Error(w + ": job is not valid UTF-8");
  for (std::size_t i = 0; i < grouping_key.size(); ++i) {
    const auto& [name, value] = grouping_key[i];
    if (!metrics::is_valid_label_name(name)) {
      throw Error(w + ": grouping label '" + name +
                  "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
    }
    if (name == "job") {
      throw Error(w + ": grouping label 'job' is given by the job option, not grouping_key");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (grouping_key[j].first == name) {
        throw Error(w + ": grouping label '" + name + "' appears twice");
      }
    }
    if (!metrics::is_valid_utf8(value)) {
      throw Error(w + ": the value of grouping label '" + name + "' is not valid UTF-8");
    }
  }
  if (!prefix.empty() && !metrics::is_valid_metric_name(prefix)) {
    throw Error(w + ": prefix '" + prefix +
                "' cannot start a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  for (std::size_t i = 0; i < const_labels.size(); ++i) {
    const auto& [name, value] = const_labels[i];
    if (!metrics::is_valid_label_name(name)) {
      throw Error(w + ": constant label '" + name +
                  "' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
    }
    if (is_grouping_label(*this, name)) {
      throw Error(w + ": constant label '" + name +
                  "' is a grouping label (job or grouping_key); the Pushgateway overwrites or "
                  "rejects metrics that carry grouping labels: leave it out of const_labels");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (const_labels[j].first == name) {
        throw Error(w + ": constant label '" + name + "' appears twice");
      }
    }
    if (!metrics::is_valid_utf8(value)) {
      throw Error(w + ": the value of constant label '" + name + "' is not valid UTF-8");
    }
  }
  vigil::detail::validate_headers(headers, kWho);
  if (timeout.count() <= 0) throw Error(w + ": timeout must be positive");
  vigil::detail::validate_retry(retry, kWho);
}

std::optional<PushgatewayExporterOptions> PushgatewayExporterOptions::from_environment(
    const trace::Environment& env) {
  auto url = env.get("VIGIL_PUSHGATEWAY_URL");
  if (!url) return std::nullopt;
  PushgatewayExporterOptions o;
  o.url = std::string(vigil::detail::trim(*url));
  while (o.url.size() > 1 && o.url.back() == '/') o.url.pop_back();

  if (auto job = env.get("VIGIL_PUSHGATEWAY_JOB")) {
    o.job = std::string(vigil::detail::trim(*job));
  } else if (auto service = env.get("OTEL_SERVICE_NAME")) {
    o.job = std::string(vigil::detail::trim(*service));
  }
  if (o.job.empty()) o.job = program_name();

  if (auto grouping = env.get("VIGIL_PUSHGATEWAY_GROUPING")) {
    vigil::detail::KvListOptions kv;
    kv.skip_bad_members = true;
    kv.check_key = [](std::string_view key) -> std::string {
      if (key == "job") return "is the job (set VIGIL_PUSHGATEWAY_JOB)";
      return metrics::is_valid_label_name(key) ? "" : "is not a valid label name";
    };
    kv.check_value = [](std::string_view value) -> std::string {
      return metrics::is_valid_utf8(value) ? "" : "is not valid UTF-8";
    };
    auto parsed = vigil::detail::parse_kv_list(*grouping, kv);
    for (const std::string& e : parsed->skipped) {
      env.warn("VIGIL_PUSHGATEWAY_GROUPING: entry " + e + "; skipped");
    }
    for (vigil::detail::KvPair& pair : parsed->pairs) {
      auto same = std::find_if(o.grouping_key.begin(), o.grouping_key.end(),
                               [&](const auto& kvp) { return kvp.first == pair.key; });
      if (same != o.grouping_key.end()) {
        env.warn("VIGIL_PUSHGATEWAY_GROUPING: label '" + pair.key + "' repeated; the last wins");
        same->second = std::move(pair.value);
      } else {
        o.grouping_key.emplace_back(std::move(pair.key), std::move(pair.value));
      }
    }
  }
  if (auto method = env.get("VIGIL_PUSHGATEWAY_METHOD")) {
    const std::string m = vigil::detail::ascii_lower(vigil::detail::trim(*method));
    if (m == "post") {
      o.method = PushgatewayMethod::kPost;
    } else if (m != "put") {
      env.warn("VIGIL_PUSHGATEWAY_METHOD='" + *method + "' is not put or post; using put");
    }
  }
  o.delete_on_close = env.get_bool("VIGIL_PUSHGATEWAY_DELETE_ON_SHUTDOWN", false);
  if (auto user = env.get("VIGIL_PUSHGATEWAY_USERNAME")) o.basic_auth_username = *user;
  if (auto password = env.get("VIGIL_PUSHGATEWAY_PASSWORD")) o.basic_auth_password = *password;
  if (auto headers = env.get("VIGIL_PUSHGATEWAY_HEADERS")) {
    std::vector<std::string> errors;
    o.headers = parse_otlp_headers(*headers, &errors);
    for (const std::string& e : errors) env.warn("VIGIL_PUSHGATEWAY_HEADERS: " + e + "; skipped");
  }
  o.timeout = env.get_millis("VIGIL_PUSHGATEWAY_TIMEOUT", o.timeout);
  if (o.timeout.count() <= 0) {
    env.warn("VIGIL_PUSHGATEWAY_TIMEOUT must be positive; using 5000");
    o.timeout = std::chrono::milliseconds(5000);
  }
  try {
    o.validate();
  } catch (const Error& e) {
    env.warn(std::string("VIGIL_PUSHGATEWAY_URL set but the Pushgateway exporter is off: ") +
             e.what());
    return std::nullopt;
  }
  return o;
}

PushgatewayBody encode_pushgateway_body(const MetricsSnapshot& snapshot,
                                        const PushgatewayExporterOptions& options) {
  PushgatewayBody body;
  encode_pushgateway_body(snapshot, options, body);
  return body;
}

void encode_pushgateway_body(const MetricsSnapshot& snapshot,
                             const PushgatewayExporterOptions& options, PushgatewayBody& body) {
  body.text.clear();
  body.points = 0;
  body.refused_points = 0;
  body.refused_families = 0;
  body.error.clear();
  metrics::TextSink sink(body.text, metrics::Format::kPrometheusText);
  std::string name;
  std::vector<std::string_view> values;
  const auto refuse = [&](const MetricFamily& family, std::string message) {
    body.refused_points += family.points.size();
    ++body.refused_families;
    if (body.error.empty()) body.error = std::move(message);
  };
  for (const MetricFamily& family : snapshot.families) {
    if (family.points.empty()) continue;
    // Labels the Pushgateway would reject: grouping labels, or one name twice.
    std::string problem;
    for (std::size_t i = 0; i < family.label_names.size() && problem.empty(); ++i) {
      const std::string& label = family.label_names[i];
      if (is_grouping_label(options, label)) {
        problem = "metric '" + options.prefix + family.name + "' carries label '" + label +
                  "', which is in the Pushgateway grouping key (job" +
                  (options.grouping_key.empty() ? std::string() : " or grouping_key") +
                  "); the Pushgateway would overwrite or reject it, so it was not pushed";
      } else if (std::count(family.label_names.begin(), family.label_names.end(), label) > 1 ||
                 std::any_of(options.const_labels.begin(), options.const_labels.end(),
                             [&](const auto& kv) { return kv.first == label; })) {
        problem = "metric '" + options.prefix + family.name + "' has label '" + label +
                  "' twice (its own and a constant label?); it was not pushed";
      }
    }
    if (!problem.empty()) {
      refuse(family, std::move(problem));
      continue;
    }
    name.assign(options.prefix).append(family.name);
    metrics::FamilyDesc desc;
    desc.name = name;
    desc.help = family.help;
    desc.unit = family.unit;
    desc.type = family.type;
    desc.label_names = family.label_names;
    desc.const_labels = options.const_labels;
    sink.begin_family(desc);
    for (const MetricPoint& point : family.points) {
      if (point.label_values.size() != family.label_names.size()) {
        ++body.refused_points;
        if (body.error.empty()) {
          body.error = "metric '" + name + "' has a series whose label values do not match " +
                       "its label names; it was not pushed";
        }
        continue;
      }
      values.assign(point.label_values.begin(), point.label_values.end());
      const metrics::LabelValues labels(values.data(), values.size());
      switch (family.type) {
        case metrics::MetricType::kCounter:
          sink.counter(labels, point.value, 0);
          break;
        case metrics::MetricType::kGauge:
          sink.gauge(labels, point.value);
          break;
        case metrics::MetricType::kInfo:
          sink.info(labels);
          break;
        case metrics::MetricType::kHistogram: {
          metrics::HistogramPoint h;
          h.bounds = family.bounds;
          h.cumulative = point.buckets;
          h.count = point.count;
          h.sum = point.sum;
          sink.histogram(labels, h);
          break;
        }
        case metrics::MetricType::kSummary: {
          metrics::SummaryPoint s;
          s.quantiles = point.quantiles;
          s.count = point.count;
          s.sum = point.sum;
          sink.summary(labels, s);
          break;
        }
      }
      ++body.points;
    }
    sink.end_family();
  }
  sink.finish();
}

// ---------------------------------------------------------------------------------------------

class PushgatewayExporter::Impl {
 public:
  explicit Impl(PushgatewayExporterOptions o) : options(std::move(o)) {
    options.validate();
    std::string base = options.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    url = base + pushgateway_group_path(options.job, options.grouping_key);
    put = make_sender("PUT");
    post = make_sender("");
    del = make_sender("DELETE");
  }

  std::unique_ptr<vigil::detail::HttpSender> make_sender(std::string method) const {
    vigil::detail::HttpConfig c;
    c.url = url;
    c.content_type = std::string(metrics::content_type(metrics::Format::kPrometheusText));
    c.headers = options.headers;
    c.basic_auth_username = options.basic_auth_username;
    c.basic_auth_password = options.basic_auth_password;
    c.certificate_file = options.certificate_file;
    c.client_certificate_file = options.client_certificate_file;
    c.client_key_file = options.client_key_file;
    c.max_response_bytes = 4096;
    c.method = std::move(method);
    c.retry_all_server_errors = true;
    return std::make_unique<vigil::detail::HttpSender>(std::move(c));
  }

  // One request: PUT/POST of `body` (refused points from encoding) or DELETE (body null).
  ExportOutcome send(vigil::detail::HttpSender& sender, std::string_view method,
                     const PushgatewayBody* body, ExportDeadline deadline) {
    std::lock_guard lock(call_mu);
    ExportOutcome out;
    const uint64_t points = body != nullptr ? body->points : 0;
    const uint64_t refused = body != nullptr ? body->refused_points : 0;
    const auto fail = [&](std::string reason, std::string error) {
      out.ok = false;
      out.reason = std::move(reason);
      out.error = std::move(error);
      out.dropped_points = points + refused;
      std::lock_guard s(stats_mu);
      ++stats.failures;
      stats.refused_points += refused;
      stats.retries += out.retries;
      stats.sent_bytes += out.bytes;
      stats.last_error = out.error;
      return out;
    };
    const std::string what = "Pushgateway " + std::string(method) + " " + url;
    if (aborted.load(std::memory_order_acquire)) {
      return fail("shutdown", what + ": the exporter was shut down");
    }
    deadline = std::min(deadline, ExportClock::now() + options.timeout);
    const std::string_view text = body != nullptr ? std::string_view(body->text) : "";
    const vigil::detail::SendReport report = vigil::detail::send_with_retry(
        sender, text, deadline, options.retry,
        [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(random); });
    out.requests = static_cast<uint64_t>(report.attempts);
    out.retries = report.attempts > 0 ? static_cast<uint64_t>(report.attempts - 1) : 0;
    out.bytes = text.size() * out.requests;
    using vigil::detail::SendOutcome;
    switch (report.outcome) {
      case SendOutcome::kDelivered:
        break;
      case SendOutcome::kHttpError: {
        std::string error = what + ": HTTP " + std::to_string(report.last.status);
        const std::string answer = snippet(report.last.body);
        if (!answer.empty()) error += " (" + answer + ")";
        if (!report.detail.empty()) error += "; " + report.detail;
        return fail("http_error", std::move(error));
      }
      case SendOutcome::kTimeout:
        return fail("timeout", what + ": " + report.detail);
      case SendOutcome::kConnection:
        return fail("connection", what + ": " + report.last.error + "; " + report.detail);
      case SendOutcome::kAborted:
        return fail("shutdown", what + ": aborted by shutdown");
    }
    out.points = points;
    out.dropped_points = refused;
    std::lock_guard s(stats_mu);
    (body != nullptr ? stats.pushes : stats.deletes) += 1;
    stats.retries += out.retries;
    stats.sent_bytes += out.bytes;
    if (refused > 0) {
      out.ok = false;
      out.reason = "rejected";
      out.error = body->error;
      ++stats.failures;
      stats.refused_points += refused;
      stats.last_error = out.error;
    }
    return out;
  }

  ExportOutcome push(PushgatewayMethod method, const MetricsSnapshot& snapshot,
                     ExportDeadline deadline) {
    std::lock_guard lock(body_mu);
    encode_pushgateway_body(snapshot, options, last_body);
    return send(method == PushgatewayMethod::kPost ? *post : *put, method_name(method), &last_body,
                deadline);
  }

  PushgatewayExporterOptions options;
  std::string url;
  std::unique_ptr<vigil::detail::HttpSender> put, post, del;
  std::atomic<bool> aborted{false};
  std::atomic<bool> closed{false};
  std::mutex body_mu;         // guards `last_body`, taken before call_mu
  PushgatewayBody last_body;  // the last push's body, its capacity reused
  std::mutex call_mu;         // one call at a time; guards `random`
  std::minstd_rand random{std::random_device{}()};
  mutable std::mutex stats_mu;
  PushgatewayExporterStats stats;
};

PushgatewayExporter::PushgatewayExporter(PushgatewayExporterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PushgatewayExporter::~PushgatewayExporter() = default;

ExportOutcome PushgatewayExporter::export_metrics(const MetricsSnapshot& snapshot,
                                                  ExportDeadline deadline) {
  try {
    return impl_->push(impl_->options.method, snapshot, deadline);
  } catch (const std::exception& e) {
    ExportOutcome out;
    out.ok = false;
    out.reason = "encoding";
    out.error = std::string("Pushgateway exporter: ") + e.what();
    out.dropped_points = snapshot.series();
    return out;
  }
}

ExportOutcome PushgatewayExporter::push(const MetricsSnapshot& snapshot, ExportDeadline deadline) {
  return impl_->push(PushgatewayMethod::kPut, snapshot, deadline);
}

ExportOutcome PushgatewayExporter::push_add(const MetricsSnapshot& snapshot,
                                            ExportDeadline deadline) {
  return impl_->push(PushgatewayMethod::kPost, snapshot, deadline);
}

ExportOutcome PushgatewayExporter::delete_group(ExportDeadline deadline) {
  return impl_->send(*impl_->del, "DELETE", nullptr, deadline);
}

ExportOutcome PushgatewayExporter::push(const metrics::Registry& registry) {
  const auto deadline = ExportClock::now() + impl_->options.timeout;
  return push(collect_snapshot(registry, {.exemplars = false}), deadline);
}

ExportOutcome PushgatewayExporter::push_add(const metrics::Registry& registry) {
  const auto deadline = ExportClock::now() + impl_->options.timeout;
  return push_add(collect_snapshot(registry, {.exemplars = false}), deadline);
}

ExportOutcome PushgatewayExporter::delete_group() {
  return delete_group(ExportClock::now() + impl_->options.timeout);
}

void PushgatewayExporter::abort() noexcept {
  impl_->aborted.store(true, std::memory_order_release);
  impl_->put->abort();
  impl_->post->abort();
  impl_->del->abort();
}

void PushgatewayExporter::close() noexcept {
  if (impl_->closed.exchange(true)) return;
  if (!impl_->options.delete_on_close || impl_->aborted.load(std::memory_order_acquire)) return;
  try {
    (void)delete_group();
  } catch (...) {  // std::bad_alloc: nothing more to do at shutdown
  }
}

const std::string& PushgatewayExporter::group_url() const noexcept { return impl_->url; }

const PushgatewayExporterOptions& PushgatewayExporter::options() const noexcept {
  return impl_->options;
}

PushgatewayExporterStats PushgatewayExporter::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

}  // namespace vigil::exporters
