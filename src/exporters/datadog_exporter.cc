// DatadogExporter (vigil/exporters/datadog_exporter.h): v2 series JSON, gzip, split requests.
#include "vigil/exporters/datadog_exporter.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/detail/gzip.h"
#include "core/detail/http_sender.h"
#include "core/detail/json_escape.h"
#include "core/detail/json_writer.h"
#include "core/detail/text.h"
#include "export_text.h"
#include "vigil/core/error.h"

namespace vigil::exporters {

namespace {

using detail::has_control;
using detail::utf8_prefix;

constexpr std::size_t kMaxNameChars = 200;
constexpr std::size_t kMaxTagChars = 200;
constexpr std::string_view kSeriesPath = "/api/v2/series";

enum DdType : int { kUnspecified = 0, kCount = 1, kRate = 2, kGauge = 3 };

bool is_http_url(std::string_view s) {
  return vigil::detail::starts_with_icase(s, "http://") ||
         vigil::detail::starts_with_icase(s, "https://");
}

// A domain: labels of [A-Za-z0-9-] separated by dots.
bool is_domain(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

std::string_view datadog_unit(std::string_view unit) {
  if (unit == "seconds") return "second";
  if (unit == "milliseconds") return "millisecond";
  if (unit == "microseconds") return "microsecond";
  if (unit == "bytes") return "byte";
  if (unit == "percent") return "percent";
  if (unit == "ratio") return "fraction";
  return {};
}

// Datadog metric names: [A-Za-z0-9_.], at most 200 characters.
std::string metric_name(std::string_view prefix, std::string_view family, std::string_view suffix) {
  std::string out;
  out.reserve(prefix.size() + family.size() + suffix.size() + 1);
  if (!prefix.empty()) {
    out.append(prefix);
    if (prefix.back() != '.' && prefix.back() != '_') out.push_back('.');
  }
  out.append(family);
  out.append(suffix);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.';
    if (!ok) c = '_';
  }
  if (out.size() > kMaxNameChars) out.resize(kMaxNameChars);
  return out;
}

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Writes the series objects of one snapshot, each as one fragment of `buf` (ends[i] marks the
// end of fragment i).
constexpr std::string_view kBodyOpen = "{\"series\":[";
constexpr std::string_view kBodyClose = "]}";

class SeriesWriter {
 public:
  SeriesWriter(const DatadogExporterOptions& o, double timestamp) : o_(o) {
    ts_ = static_cast<int64_t>(std::floor(timestamp));
    now_ = timestamp;
    // The constant tags and the resources member are the same for every series: rendered once.
    for (const auto& t : o.tags) {
      if (!const_tags_.empty()) const_tags_.push_back(',');
      vigil::detail::append_json_string(const_tags_, utf8_prefix(t, kMaxTagChars));
    }
    if (!o.host.empty()) {
      resources_ = ",\"resources\":[{\"name\":";
      vigil::detail::append_json_string(resources_, o.host);
      resources_ += ",\"type\":\"host\"}]";
    }
  }

  void family(const MetricFamily& f) {
    const bool summary = f.type == metrics::MetricType::kSummary;
    const bool histogram = f.type == metrics::MetricType::kHistogram;
    const bool derived = summary || histogram;
    const std::string name = metric_name(o_.prefix, f.name, "");
    const std::string count_name = derived ? metric_name(o_.prefix, f.name, ".count") : "";
    const std::string sum_name = derived ? metric_name(o_.prefix, f.name, ".sum") : "";
    const std::string bucket_name =
        histogram && o_.histogram_buckets ? metric_name(o_.prefix, f.name, ".bucket") : "";
    const std::string quantile_name = summary ? metric_name(o_.prefix, f.name, ".quantile") : "";
    const std::string_view unit = datadog_unit(f.unit);
    for (const auto& p : f.points) {
      // The series' tags as JSON array elements, built once for its derived series.
      tags_.clear();
      for (std::size_t i = 0; i < f.label_names.size() && i < p.label_values.size(); ++i) {
        if (p.label_values[i].empty()) continue;
        tag_.assign(f.label_names[i]);
        tag_.push_back(':');
        tag_.append(p.label_values[i]);
        if (!tags_.empty()) tags_.push_back(',');
        vigil::detail::append_json_string(tags_, utf8_prefix(tag_, kMaxTagChars));
      }
      const int64_t interval =
          std::max<int64_t>(1, std::llround(p.start_time > 0 ? now_ - p.start_time : 0));
      switch (f.type) {
        case metrics::MetricType::kCounter:
          series(name, kCount, p.value, unit, interval, {});
          break;
        case metrics::MetricType::kGauge:
          series(name, kGauge, p.value, unit, 0, {});
          break;
        case metrics::MetricType::kInfo:
          series(name, kGauge, 1, {}, 0, {});
          break;
        case metrics::MetricType::kHistogram:
        case metrics::MetricType::kSummary: {
          series(count_name, kCount, static_cast<double>(p.count), {}, interval, {});
          series(sum_name, kCount, p.sum, unit, interval, {});
          if (!bucket_name.empty()) {
            for (std::size_t b = 0; b < p.buckets.size(); ++b) {
              const double bound = b < f.bounds.size() ? f.bounds[b] : INFINITY;
              series(bucket_name, kCount, static_cast<double>(p.buckets[b]), {}, interval,
                     "upper_bound:" + format_double(bound));
            }
          }
          for (const auto& [q, v] : p.quantiles) {
            series(quantile_name, kGauge, v, unit, 0, "quantile:" + format_double(q));
          }
          break;
        }
      }
    }
  }

  std::string buf;
  std::vector<std::size_t> ends;

 private:
  void series(const std::string& name, int type, double value, std::string_view unit,
              int64_t interval, std::string_view extra_tag) {
    if (!std::isfinite(value)) value = std::isnan(value) ? 0 : (value > 0 ? 1.7e308 : -1.7e308);
    // buf is the body of one request holding every series: {"series":[s0,s1,...
    buf.append(ends.empty() ? kBodyOpen : std::string_view(","));
    vigil::detail::JsonWriter w(buf);
    w.open_object();
    w.string_member("metric", name);
    w.key("type");
    w.number(type);
    w.key("points");
    w.open_array();
    w.element();
    w.open_object();
    w.key("timestamp");
    w.int64(ts_);
    w.key("value");
    w.dbl(value);
    w.close_object();
    w.close_array();
    if (!tags_.empty() || !const_tags_.empty() || !extra_tag.empty()) {
      w.key("tags");
      w.open_array();
      w.raw(const_tags_);
      if (!tags_.empty()) {
        if (!const_tags_.empty()) w.raw(',');
        w.raw(tags_);
      }
      if (!extra_tag.empty()) {
        if (!const_tags_.empty() || !tags_.empty()) w.raw(',');
        w.string(extra_tag);
      }
      w.close_array();
    }
    if (!unit.empty()) w.string_member("unit", unit);
    if (interval > 0) {
      w.key("interval");
      w.int64(interval);
    }
    w.raw(resources_);
    w.close_object();
    ends.push_back(buf.size());
  }

  const DatadogExporterOptions& o_;
  int64_t ts_ = 0;
  double now_ = 0;
  std::string const_tags_;  // JSON elements, comma-separated
  std::string resources_;   // ,"resources":[...] or ""
  std::string tags_;        // the current series' tags, JSON elements
  std::string tag_;
};

std::size_t fragment_begin(const SeriesWriter& s, std::size_t i) {
  return i == 0 ? kBodyOpen.size() : s.ends[i - 1] + 1;  // after the comma
}

// The whole of buf as one body (the common case: no copy).
bool whole(const SeriesWriter& s, std::size_t first, std::size_t last) {
  return first == 0 && last == s.ends.size();
}

std::string body_of(const SeriesWriter& s, std::size_t first, std::size_t last) {
  std::string body;
  const std::size_t from = fragment_begin(s, first);
  const std::size_t to = s.ends[last - 1];
  body.reserve(kBodyOpen.size() + kBodyClose.size() + (to - from) + (last - first));
  body.append(kBodyOpen);
  for (std::size_t i = first; i < last; ++i) {
    if (i > first) body.push_back(',');
    const std::size_t b = fragment_begin(s, i);
    body.append(s.buf, b, s.ends[i] - b);
  }
  body.append(kBodyClose);
  return body;
}

// Ranges [first, last) of fragments whose body stays within max_body_bytes; fragments that
// alone are larger are skipped and counted in *oversized.
std::vector<std::pair<std::size_t, std::size_t>> pack(const SeriesWriter& s,
                                                      std::size_t max_body_bytes,
                                                      uint64_t& oversized) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  const std::size_t overhead = kBodyOpen.size() + kBodyClose.size();
  std::size_t first = 0;
  std::size_t size = overhead;
  for (std::size_t i = 0; i < s.ends.size(); ++i) {
    const std::size_t len = s.ends[i] - fragment_begin(s, i);
    if (overhead + len > max_body_bytes) {
      if (first < i) ranges.emplace_back(first, i);
      ++oversized;
      first = i + 1;
      size = overhead;
      continue;
    }
    const std::size_t add = len + (i > first ? 1 : 0);
    if (size + add > max_body_bytes) {
      ranges.emplace_back(first, i);
      first = i;
      size = overhead + len;
    } else {
      size += add;
    }
  }
  if (first < s.ends.size()) ranges.emplace_back(first, s.ends.size());
  return ranges;
}

// `reuse`: a previous export's buffer, whose memory is kept (no page faults for a fresh one).
SeriesWriter write_series(const MetricsSnapshot& deltas, const DatadogExporterOptions& o,
                          std::string reuse = {}) {
  SeriesWriter s(o, deltas.timestamp);
  s.buf = std::move(reuse);
  s.buf.clear();
  s.buf.reserve(deltas.series() * 300);
  s.ends.reserve(deltas.series() * 2);
  for (const auto& f : deltas.families) s.family(f);
  return s;
}

void validate_retry(const RetryOptions& r) {
  const bool ok = r.max_attempts >= 1 && r.max_attempts <= 100 && r.initial_backoff.count() >= 0 &&
                  r.max_backoff >= r.initial_backoff && r.multiplier >= 1.0 &&
                  r.multiplier <= 100.0 && r.jitter >= 0.0 && r.jitter <= 1.0;
  if (!ok) {
    throw Error(
        "Datadog exporter: retry options out of range (max_attempts in [1, 100], 0 <= "
        "initial_backoff <= max_backoff, multiplier in [1, 100], jitter in [0, 1])");
  }
}

}  // namespace

namespace detail {

std::vector<std::string> encode_datadog_series(const MetricsSnapshot& deltas,
                                               const DatadogExporterOptions& options,
                                               std::size_t max_body_bytes,
                                               std::vector<uint64_t>& points, uint64_t* oversized) {
  SeriesWriter s = write_series(deltas, options);
  uint64_t too_big = 0;
  std::vector<std::string> bodies;
  points.clear();
  for (const auto& [first, last] : pack(s, max_body_bytes, too_big)) {
    if (whole(s, first, last)) {
      s.buf.append(kBodyClose);
      bodies.push_back(std::move(s.buf));
    } else {
      bodies.push_back(body_of(s, first, last));
    }
    points.push_back(last - first);
  }
  if (oversized != nullptr) *oversized = too_big;
  return bodies;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Options.

std::string DatadogExporterOptions::endpoint() const {
  if (!url.empty()) return url;
  if (is_http_url(site)) {
    std::string_view base = site;
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    return std::string(base) + std::string(kSeriesPath);
  }
  return "https://api." + site + std::string(kSeriesPath);
}

void DatadogExporterOptions::validate() const {
  if (api_key.empty()) throw Error("Datadog exporter: api_key must not be empty");
  if (has_control(api_key)) {
    throw Error("Datadog exporter: api_key must not contain control characters");
  }
  if (!url.empty()) {
    if (!is_http_url(url) || has_control(url)) {
      throw Error("Datadog exporter: url '" + url + "' must be an http:// or https:// URL");
    }
  } else if (!(is_http_url(site) && !has_control(site)) && !is_domain(site)) {
    throw Error("Datadog exporter: site '" + site +
                "' must be a domain (datadoghq.com) or an http(s):// URL");
  }
  for (const auto& t : tags) {
    if (t.empty() || has_control(t)) {
      throw Error("Datadog exporter: tags must be non-empty and free of control characters");
    }
  }
  if (has_control(prefix))
    throw Error("Datadog exporter: prefix must not contain control characters");
  if (has_control(host)) throw Error("Datadog exporter: host must not contain control characters");
  if (max_payload_bytes < 1024) {
    throw Error("Datadog exporter: max_payload_bytes must be at least 1024");
  }
  if (max_uncompressed_bytes < 1024 || (!gzip && max_uncompressed_bytes < max_payload_bytes)) {
    throw Error(
        "Datadog exporter: max_uncompressed_bytes must be at least 1024 (and at least "
        "max_payload_bytes without gzip)");
  }
  if (request_timeout.count() <= 0) {
    throw Error("Datadog exporter: request_timeout must be positive");
  }
  validate_retry(retry);
}

std::optional<DatadogExporterOptions> DatadogExporterOptions::from_environment(
    const trace::Environment& env) {
  auto key = env.get("VIGIL_DATADOG_API_KEY");
  if (!key) key = env.get("DD_API_KEY");
  if (!key) return std::nullopt;
  DatadogExporterOptions o;
  o.api_key = std::move(*key);
  if (has_control(o.api_key)) {
    env.warn(
        "VIGIL_DATADOG_API_KEY / DD_API_KEY contains control characters: Datadog exporter off");
    return std::nullopt;
  }
  const char* site_var = "VIGIL_DATADOG_SITE";
  auto site = env.get(site_var);
  if (!site) site = env.get(site_var = "DD_SITE");
  if (site) {
    if (!is_domain(*site) && !is_http_url(*site)) {
      env.warn(std::string(site_var) + "='" + *site +
               "' is not a domain (datadoghq.eu) or an http(s) URL: Datadog exporter off");
      return std::nullopt;
    }
    o.site = std::move(*site);
  }
  if (auto url = env.get("VIGIL_DATADOG_URL")) {
    if (!is_http_url(*url) || has_control(*url)) {
      env.warn("VIGIL_DATADOG_URL='" + *url + "' is not an http(s) URL: Datadog exporter off");
      return std::nullopt;
    }
    o.url = std::move(*url);
  }
  auto tags = env.get("VIGIL_DATADOG_TAGS");
  if (!tags) tags = env.get("DD_TAGS");
  if (tags) {
    for (char& c : *tags) {
      if (c == ' ' || c == '\t') c = ',';
    }
    vigil::detail::for_each_list_member(*tags, ',', [&](std::string_view t) {
      if (has_control(t)) {
        env.warn("Datadog tag '" + std::string(t) + "' has control characters: skipped");
      } else {
        o.tags.emplace_back(t);
      }
    });
  }
  if (auto prefix = env.get("VIGIL_DATADOG_PREFIX")) {
    if (has_control(*prefix)) {
      env.warn("VIGIL_DATADOG_PREFIX has control characters: ignored");
    } else {
      o.prefix = std::move(*prefix);
    }
  }
  auto host = env.get("VIGIL_DATADOG_HOST");
  if (!host) host = env.get("DD_HOSTNAME");
  if (host) {
    if (has_control(*host)) {
      env.warn("VIGIL_DATADOG_HOST / DD_HOSTNAME has control characters: ignored");
    } else {
      o.host = std::move(*host);
    }
  }
  o.histogram_buckets = env.get_bool("VIGIL_DATADOG_HISTOGRAM_BUCKETS", o.histogram_buckets);
  o.gzip = env.get_bool("VIGIL_DATADOG_GZIP", o.gzip);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The exporter.

struct DatadogExporter::Impl {
  explicit Impl(const DatadogExporterOptions& o)
      : sender(vigil::detail::HttpConfig{
            .url = o.endpoint(),
            .content_type = "application/json",
            .gzip = o.gzip,
            .headers = {{"DD-API-KEY", o.api_key}},
            .certificate_file = o.certificate_file,
            .max_response_bytes = 4096,
            // Datadog asks clients to retry 429 and every 5xx (and nothing else).
            .retry_all_server_errors = true,
        }),
        rng(std::random_device{}()) {}

  vigil::detail::HttpSender sender;
  DeltaTracker tracker;
  MetricsSnapshot deltas;  // the last deltas; kept so that the next ones reuse its memory
  std::mt19937_64 rng;
  std::string buffer;     // the request body's memory, kept between exports
  mutable std::mutex mu;  // stats
  DatadogExporterStats stats;
};

DatadogExporter::DatadogExporter(DatadogExporterOptions options) : options_(std::move(options)) {
  options_.validate();
  impl_ = std::make_unique<Impl>(options_);
}

DatadogExporter::~DatadogExporter() = default;

void DatadogExporter::abort() noexcept { impl_->sender.abort(); }

DatadogExporterStats DatadogExporter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

namespace {

// Removes every occurrence of the API key from a message (a receiver could echo it back).
std::string redact(std::string text, std::string_view key) {
  if (key.empty()) return text;
  for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), "<redacted>");
  }
  return text;
}

// A short description of a Datadog error body ({"errors":["..."]}): the body's first line,
// printable ASCII only, at most 200 characters.
std::string describe_body(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (c == '\n' || out.size() >= 200) break;
    if (c >= 0x20 && c < 0x7f) out.push_back(c);
  }
  return out;
}

}  // namespace

ExportOutcome DatadogExporter::export_metrics(const MetricsSnapshot& snapshot,
                                              ExportDeadline deadline) {
  ExportOutcome out;
  Impl& im = *impl_;
  im.tracker.deltas_into(snapshot, im.deltas);
  SeriesWriter s = write_series(im.deltas, options_, std::move(im.buffer));
  struct KeepBuffer {  // hands the buffer back for the next export, however this one ends
    std::string& to;
    std::string& from;
    ~KeepBuffer() { to = std::move(from); }
  } keep{im.buffer, s.buf};
  if (!s.ends.empty()) s.buf.append(kBodyClose);  // buf is then the body of the whole export
  uint64_t oversized = 0;
  std::vector<std::pair<std::size_t, std::size_t>> todo =
      pack(s, options_.max_uncompressed_bytes, oversized);
  std::reverse(todo.begin(), todo.end());  // a stack: the next range at the back
  const std::string where = "Datadog export to " + im.sender.config().url + ": ";
  if (oversized > 0) {
    out.dropped_points += oversized;
    out.ok = false;
    out.reason = "limit";
    out.error = where + std::to_string(oversized) + " series larger than the payload limit";
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (!todo.empty()) {
    auto [first, last] = todo.back();
    todo.pop_back();
    std::string part;  // a copy only when the export is split
    const std::string_view body =
        whole(s, first, last) ? std::string_view(s.buf) : (part = body_of(s, first, last));
    std::optional<std::string> zipped;
    std::string_view payload = body;
    if (options_.gzip) {
      zipped = vigil::detail::gzip_compress(body);
      if (!zipped) {
        out.dropped_points += last - first;
        out.ok = false;
        out.reason = "encoding";
        out.error = where + "gzip failed";
        continue;
      }
      payload = *zipped;
    }
    if (payload.size() > options_.max_payload_bytes) {
      if (last - first > 1) {
        // Too large once compressed: halve the range and try each half.
        const std::size_t mid = first + (last - first) / 2;
        todo.emplace_back(mid, last);
        todo.emplace_back(first, mid);
      } else {
        out.dropped_points += 1;
        out.ok = false;
        out.reason = "limit";
        out.error = where + "a series exceeds max_payload_bytes";
      }
      continue;
    }
    const auto attempt_deadline = std::min(deadline, ExportClock::now() + options_.request_timeout);
    const vigil::detail::SendReport r = vigil::detail::send_with_retry(
        im.sender, payload, attempt_deadline, options_.retry, [&] { return unit(im.rng); });
    const auto attempts = static_cast<uint64_t>(std::max(1, r.attempts));
    out.retries += attempts - 1;
    out.bytes += payload.size() * attempts;
    if (r.outcome == vigil::detail::SendOutcome::kDelivered) {
      out.points += last - first;
      ++out.requests;
      continue;
    }
    // This request failed: it and every one after it are dropped.
    out.ok = false;
    std::string msg;
    switch (r.outcome) {
      case vigil::detail::SendOutcome::kHttpError:
        out.reason = "http_error";
        msg = "HTTP " + std::to_string(r.last.status);
        if (const std::string d = describe_body(r.last.body); !d.empty()) msg += " (" + d + ")";
        break;
      case vigil::detail::SendOutcome::kTimeout:
        out.reason = "timeout";
        msg = "timed out";
        if (!r.last.error.empty()) msg += " (" + r.last.error + ")";
        break;
      case vigil::detail::SendOutcome::kConnection:
        out.reason = "connection";
        msg = r.last.error.empty() ? "connection failed" : r.last.error;
        break;
      case vigil::detail::SendOutcome::kAborted:
        out.reason = "shutdown";
        msg = "aborted by shutdown";
        break;
      case vigil::detail::SendOutcome::kDelivered:
        break;
    }
    msg += " after " + std::to_string(r.attempts) + " attempt" + (r.attempts == 1 ? "" : "s");
    if (!r.detail.empty()) msg += "; " + r.detail;
    out.error = redact(where + msg, options_.api_key);
    out.dropped_points += last - first;
    for (const auto& [f, l] : todo) out.dropped_points += l - f;
    todo.clear();
  }
  {
    std::lock_guard lock(im.mu);
    DatadogExporterStats& st = im.stats;
    ++st.exports;
    if (!out.ok) {
      ++st.failed_exports;
      st.last_error = out.error;
    }
    st.requests += out.requests;
    st.retries += out.retries;
    st.points += out.points;
    st.dropped_points += out.dropped_points;
    st.bytes += out.bytes;
    if (!out.ok && out.reason != "limit" && out.reason != "encoding") ++st.failed_requests;
  }
  return out;
}

}  // namespace vigil::exporters
