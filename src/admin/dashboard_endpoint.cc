// The live dashboard and its query API (see vigil/admin/dashboard_endpoint.h). Shapes follow
// Prometheus 2.42's web/api/v1 (query, query_range, series, labels, label values, metadata,
// buildinfo); the queries run on vigil's PromQL engine over a ring of registry samples.
#include "vigil/admin/dashboard_endpoint.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admin/dashboard_assets.h"
#include "alerting/promql/ast.h"
#include "alerting/promql/eval.h"
#include "alerting/promql/eval_internal.h"
#include "alerting/promql/parser.h"
#include "alerting/registry_sampler.h"
#include "core/detail/json_writer.h"
#include "core/detail/percent.h"
#include "core/detail/rfc3339.h"
#include "routes.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

namespace pq = alerting::promql;
using vigil::detail::JsonWriter;

// No inline script or style: every script and style sheet is a file under /dashboard/.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void add_page_headers(Response& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

// ---- Prometheus' response shapes ----

Response api_json(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  add_page_headers(r);
  return r;
}

Response api_error(int status, std::string_view type, std::string_view message) {
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.string_member("status", "error");
  w.string_member("errorType", type);
  w.string_member("error", message);
  w.close_object();
  return api_json(status, std::move(out));
}

Response bad_data(std::string_view message) { return api_error(400, "bad_data", message); }

// strconv.FormatFloat(v, 'f', -1, 64), as Prometheus writes sample values.
void append_value(std::string& out, double v) {
  out.push_back('"');
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[400];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.append(buf, r.ptr);
  }
  out.push_back('"');
}

// Unix seconds with milliseconds, as Prometheus marshals timestamps (1435781451.781).
void append_time(std::string& out, int64_t ms) {
  const bool negative = ms < 0;
  const uint64_t a = negative ? uint64_t(0) - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (negative) out.push_back('-');
  out.append(std::to_string(a / 1000));
  if (const uint64_t frac = a % 1000; frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03u", static_cast<unsigned>(frac));
    std::string_view f(buf);
    while (f.back() == '0') f.remove_suffix(1);
    out.append(f);
  }
}

void write_labels(JsonWriter& w, const pq::Labels& labels) {
  w.open_object();
  for (const auto& [n, v] : labels) {
    w.escaped_key(n);
    w.string(v);
  }
  w.close_object();
}

// ---- request parameters (query string, or a form body for POST) ----

struct Params {
  std::multimap<std::string, std::string> values;

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [a, b] = values.equal_range(name); a != b; ++a) out.push_back(a->second);
    return out;
  }
};

bool parse_form(std::string_view text, Params& out, std::string& error) {
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // a key without '=' is not a parameter
    auto k = vigil::detail::percent_decode(pair.substr(0, eq), {.plus_is_space = true});
    auto v = vigil::detail::percent_decode(pair.substr(eq + 1), {.plus_is_space = true});
    if (!k || !v) {
      error = "malformed query string: " + (k ? v.error : k.error);
      return false;
    }
    out.values.emplace(std::move(*k), std::move(*v));
  }
  return true;
}

std::optional<Params> request_params(const Request& req, std::string& error) {
  Params p;
  if (!parse_form(req.query, p, error)) return std::nullopt;
  if (req.method == "POST" && !parse_form(req.body, p, error)) return std::nullopt;
  return p;
}

// A time parameter: Unix seconds (fractions allowed) or RFC 3339. Milliseconds.
std::optional<int64_t> parse_time(std::string_view text) {
  double secs = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, secs);
  if (ec == std::errc() && p == end && std::isfinite(secs)) {
    if (std::fabs(secs) > 9.2e15) return std::nullopt;
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  if (auto t = vigil::detail::parse_rfc3339(text)) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  }
  return std::nullopt;
}

// A step or duration parameter: seconds (fractions allowed) or a Prometheus duration ("15s").
std::optional<int64_t> parse_step(std::string_view text) {
  double secs = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, secs);
  if (ec == std::errc() && p == end && std::isfinite(secs)) {
    if (std::fabs(secs) > 9.2e15) return std::nullopt;
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  auto d = pq::parse_duration(text);
  if (!d) return std::nullopt;
  return *d;
}

// ---- the ring of samples ----

class Ring {
 public:
  Ring(const metrics::Registry& registry, DashboardOptions options)
      : registry_(registry),
        options_(std::move(options)),
        sampler_({.max_series = options_.max_series}) {}

  ~Ring() { stop(); }

  int64_t now_ms() const {
    const auto t = options_.clock ? options_.clock() : std::chrono::system_clock::now();
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  const DashboardOptions& options() const { return options_; }

  void start() {
    if (!options_.sample_thread) return;
    thread_ = std::thread([this] { run(); });
  }

  void stop() noexcept {
    {
      std::lock_guard lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Samples now unless the last sample is less than an interval old (lazy mode).
  void sample_if_due() {
    if (options_.sample_thread) return;
    const int64_t t = now_ms();
    {
      std::shared_lock lock(mu_);
      if (last_sample_ms_ != kNever && t - last_sample_ms_ < options_.sample_interval.count()) {
        return;
      }
    }
    sample(t);
  }

  void sample(int64_t t) {
    std::unique_lock lock(mu_);
    if (last_sample_ms_ != kNever && t <= last_sample_ms_) return;
    sampler_.sample(registry_, t, storage_);
    storage_.trim_before(t - options_.retention.count());
    last_sample_ms_ = t;
  }

  // Runs `f(storage, families)` under the read lock.
  template <typename F>
  auto read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(static_cast<const pq::MemoryStorage&>(storage_), sampler_.families());
  }
  // The registry's families as they are now (not as at the last sample: a page loaded right
  // after start sees the families created since). One collect without storing samples.
  std::vector<alerting::SampledFamily> current_families() const {
    alerting::RegistrySampler families_only(
        {.wanted = [](const std::string&) { return false; }, .record_families = true});
    pq::MemoryStorage none;
    families_only.sample(registry_, 0, none);
    return families_only.families();
  }

  // The time of the last sample; call only inside read() (under the lock).
  int64_t last_sample_locked() const noexcept { return last_sample_ms_; }

  // Range-query points already computed, per query and step: a point at time t reads only
  // samples at or before t, and every later sample is newer than the last one, so a point at or
  // before the last sample never changes (trimming only drops samples: the cached value is the
  // one computed while they were there). A poll then evaluates only the newest step or two.
  // At most kCacheEntries queries, each at most max_points points and kCacheSeries series.
  struct RangeCache {
    std::mutex mu;
    std::vector<pq::Labels> series;
    std::unordered_map<std::string, uint32_t> index;
    std::map<int64_t, std::vector<std::pair<uint32_t, double>>> points;
    uint64_t used = 0;
  };
  static constexpr size_t kCacheEntries = 32;
  static constexpr size_t kCacheSeries = 1000;

  std::shared_ptr<RangeCache> range_cache(const std::string& query, int64_t step) {
    std::string key = query;
    key.push_back('\0');
    key += std::to_string(step);
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      if (cache_.size() >= kCacheEntries) {
        auto oldest = cache_.begin();
        for (auto c = cache_.begin(); c != cache_.end(); ++c) {
          if (c->second->used < oldest->second->used) oldest = c;
        }
        cache_.erase(oldest);
      }
      it = cache_.emplace(std::move(key), std::make_shared<RangeCache>()).first;
    }
    it->second->used = ++cache_clock_;
    return it->second;
  }

  struct Stats {
    size_t series = 0;
    size_t samples = 0;
    size_t bytes = 0;
    size_t dropped_series = 0;
  };
  Stats stats() const {
    std::shared_lock lock(mu_);
    return {storage_.series_count(), storage_.sample_count(), storage_.memory_bytes(),
            sampler_.dropped_series()};
  }

 private:
  static constexpr int64_t kNever = INT64_MIN;

  void run() {
    std::unique_lock lock(stop_mu_);
    while (!stopping_) {
      lock.unlock();
      try {
        sample(now_ms());
      } catch (...) {
        // std::bad_alloc: skip this round.
      }
      lock.lock();
      stop_cv_.wait_for(lock, options_.sample_interval, [this] { return stopping_; });
    }
  }

  const metrics::Registry& registry_;
  const DashboardOptions options_;
  mutable std::shared_mutex mu_;
  pq::MemoryStorage storage_;
  alerting::RegistrySampler sampler_;
  int64_t last_sample_ms_ = kNever;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<RangeCache>> cache_;
  uint64_t cache_clock_ = 0;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// ---- /api/v1/query and /api/v1/query_range ----

void write_result(std::string& out, const pq::EvalResult& r, int64_t t) {
  JsonWriter w(out);
  w.open_object();
  w.string_member("status", "success");
  w.key("data");
  w.open_object();
  w.string_member("resultType", pq::to_string(r.type));
  w.key("result");
  switch (r.type) {
    case pq::ValueType::kScalar:
    case pq::ValueType::kString:
      out.push_back('[');
      append_time(out, t);
      out.push_back(',');
      if (r.type == pq::ValueType::kScalar) {
        append_value(out, r.scalar);
      } else {
        vigil::detail::append_json_string(out, r.string);
      }
      out.push_back(']');
      break;
    case pq::ValueType::kVector:
      w.open_array();
      for (const pq::VectorSample& s : r.vector) {
        w.element();
        w.open_object();
        w.key("metric");
        write_labels(w, s.labels);
        w.key("value");
        out.push_back('[');
        append_time(out, t);
        out.push_back(',');
        append_value(out, s.v);
        out.push_back(']');
        w.close_object();
      }
      w.close_array();
      break;
    case pq::ValueType::kMatrix:
      w.open_array();
      for (const pq::Series& s : r.matrix) {
        w.element();
        w.open_object();
        w.key("metric");
        write_labels(w, s.labels);
        w.key("values");
        out.push_back('[');
        bool first = true;
        for (const pq::Sample& p : s.samples) {
          if (pq::is_stale_nan(p.v)) continue;
          if (!first) out.push_back(',');
          first = false;
          out.push_back('[');
          append_time(out, p.t);
          out.push_back(',');
          append_value(out, p.v);
          out.push_back(']');
        }
        out.push_back(']');
        w.close_object();
      }
      w.close_array();
      break;
  }
  w.close_object();
  w.close_object();
  out.push_back('\n');
}

std::optional<pq::ExprPtr> parse_query(const Params& p, Response& error) {
  std::optional<std::string> q = p.get("query");
  if (!q || q->empty()) {
    error = bad_data("invalid parameter \"query\": empty query");
    return std::nullopt;
  }
  auto parsed = pq::parse(*q);
  if (!parsed) {
    error = bad_data("invalid parameter \"query\": " + parsed.error);
    return std::nullopt;
  }
  return std::move(*parsed);
}

Response query_handler(Ring& ring, const Request& req) {
  std::string perr;
  std::optional<Params> p = request_params(req, perr);
  if (!p) return bad_data(perr);
  int64_t t = ring.now_ms();
  if (auto text = p->get("time")) {
    std::optional<int64_t> parsed = parse_time(*text);
    if (!parsed) return bad_data("invalid parameter \"time\": cannot parse \"" + *text + "\"");
    t = *parsed;
  }
  Response error;
  std::optional<pq::ExprPtr> expr = parse_query(*p, error);
  if (!expr) return error;
  ring.sample_if_due();
  pq::EvalResult r = ring.read(
      [&](const pq::MemoryStorage& s, const auto&) { return pq::evaluate(**expr, s, t); });
  if (!r.ok()) return api_error(422, "execution", r.error);
  std::string out;
  write_result(out, r, t);
  return api_json(200, std::move(out));
}

// Labels in one string, for grouping the points of a range query by series.
std::string series_key(const pq::Labels& labels) {
  std::string k;
  pq::eval_detail::labels_key(labels, k);
  return k;
}

Response query_range_handler(Ring& ring, const Request& req) {
  std::string perr;
  std::optional<Params> p = request_params(req, perr);
  if (!p) return bad_data(perr);
  std::optional<int64_t> start, end, step;
  for (auto [name, out] : {std::pair{"start", &start}, std::pair{"end", &end}}) {
    std::optional<std::string> text = p->get(name);
    if (!text) return bad_data(std::string("invalid parameter \"") + name + "\": missing");
    *out = parse_time(*text);
    if (!*out) {
      return bad_data(std::string("invalid parameter \"") + name + "\": cannot parse \"" + *text +
                      "\" to a valid timestamp");
    }
  }
  if (*end < *start) {
    return bad_data("end timestamp must not be before start time");
  }
  std::optional<std::string> step_text = p->get("step");
  if (!step_text) return bad_data("invalid parameter \"step\": missing");
  step = parse_step(*step_text);
  if (!step) {
    return bad_data("invalid parameter \"step\": cannot parse \"" + *step_text +
                    "\" to a valid duration");
  }
  if (*step <= 0) {
    return bad_data(
        "zero or negative query resolution step widths are not accepted. Try a positive "
        "integer");
  }
  const size_t max_points = ring.options().max_points;
  if (static_cast<uint64_t>(*end - *start) / static_cast<uint64_t>(*step) >= max_points) {
    return bad_data("exceeded maximum resolution of " + std::to_string(max_points) +
                    " points per timeseries. Try decreasing the query resolution (?step=XX)");
  }
  Response error;
  std::optional<pq::ExprPtr> expr = parse_query(*p, error);
  if (!expr) return error;
  const pq::ValueType type = (**expr).type;
  if (type != pq::ValueType::kScalar && type != pq::ValueType::kVector) {
    // Prometheus names the type as its documentation does (parser.DocumentedType).
    return bad_data("invalid parameter \"query\": invalid expression type \"" +
                    std::string(type == pq::ValueType::kMatrix ? "range vector" : "string") +
                    "\" for range query, must be Scalar or instant Vector");
  }
  ring.sample_if_due();

  pq::EvalResult result;
  result.type = pq::ValueType::kMatrix;
  std::string eval_error;
  // A negative offset reads samples after t: such a point is final only once the last sample is
  // that far past it.
  int64_t lead_ms = 0;
  pq::for_each_selector(
      **expr, [&](const pq::Expr& sel) { lead_ms = std::max<int64_t>(lead_ms, -sel.offset_ms); });
  std::shared_ptr<Ring::RangeCache> cache = ring.range_cache(*p->get("query"), *step);
  std::lock_guard cache_lock(cache->mu);
  ring.read([&](const pq::MemoryStorage& s, const auto&) {
    const int64_t last_sample = ring.last_sample_locked();
    // Result series by cache series index.
    std::vector<int64_t> slot(cache->series.size(), -1);
    const auto add = [&](uint32_t series, int64_t t, double v) {
      if (series >= slot.size()) slot.resize(series + 1, -1);
      if (slot[series] < 0) {
        slot[series] = static_cast<int64_t>(result.matrix.size());
        result.matrix.push_back({cache->series[series], {}});
      }
      result.matrix[static_cast<size_t>(slot[series])].samples.push_back({t, v});
    };
    std::vector<std::pair<uint32_t, double>> point;
    for (int64_t t = *start; t <= *end; t += *step) {
      if (auto hit = cache->points.find(t); hit != cache->points.end()) {
        for (const auto& [series, v] : hit->second) add(series, t, v);
        continue;
      }
      pq::EvalResult r = pq::evaluate(**expr, s, t);
      if (!r.ok()) {
        eval_error = std::move(r.error);
        return 0;
      }
      if (r.type == pq::ValueType::kScalar) {
        r.vector.push_back({{}, r.scalar});
      }
      point.clear();
      for (pq::VectorSample& v : r.vector) {
        std::string k = series_key(v.labels);
        auto it = cache->index.find(k);
        if (it == cache->index.end()) {
          it =
              cache->index.emplace(std::move(k), static_cast<uint32_t>(cache->series.size())).first;
          cache->series.push_back(std::move(v.labels));
        }
        point.emplace_back(it->second, v.v);
        add(it->second, t, v.v);
      }
      if (t + lead_ms <= last_sample && cache->series.size() <= Ring::kCacheSeries) {
        cache->points.emplace(t, point);
      }
    }
    return 0;
  });
  // Bounds: points older than the ring's retention, beyond max_points, or a query with too many
  // series are dropped.
  const int64_t oldest = *end - ring.options().retention.count() - *step;
  while (!cache->points.empty() && (cache->points.begin()->first < oldest ||
                                    cache->points.size() > ring.options().max_points)) {
    cache->points.erase(cache->points.begin());
  }
  if (cache->series.size() > Ring::kCacheSeries) {
    cache->points.clear();
    cache->series.clear();
    cache->index.clear();
  }
  if (!eval_error.empty()) return api_error(422, "execution", eval_error);
  std::sort(result.matrix.begin(), result.matrix.end(),
            [](const pq::Series& a, const pq::Series& b) { return a.labels < b.labels; });
  std::string out;
  write_result(out, result, *end);
  return api_json(200, std::move(out));
}

// ---- /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values ----

// The selectors of match[] parameters; every series when there are none and `required` is false.
std::optional<std::vector<std::vector<pq::Matcher>>> parse_matches(const Params& p, bool required,
                                                                   Response& error) {
  std::vector<std::vector<pq::Matcher>> sets;
  for (const std::string& m : p.all("match[]")) {
    auto parsed = pq::parse(m);
    if (!parsed) {
      error = bad_data("invalid parameter \"match[]\": " + parsed.error);
      return std::nullopt;
    }
    if ((**parsed).kind != pq::ExprKind::kVectorSelector) {
      error = bad_data("invalid parameter \"match[]\": \"" + m + "\" is not a series selector");
      return std::nullopt;
    }
    sets.push_back((**parsed).matchers);
  }
  if (sets.empty()) {
    if (required) {
      error = bad_data("no match[] parameter provided");
      return std::nullopt;
    }
    pq::Matcher any;
    std::string err;
    pq::make_matcher("__name__", pq::MatchOp::kRegexMatch, ".+", any, err);
    sets.push_back({std::move(any)});
  }
  return sets;
}

// The window of start/end. Default: the last two sample intervals (the series present now;
// reading the whole ring would copy every sample kept).
bool parse_window(const Ring& ring, const Params& p, int64_t& mint, int64_t& maxt,
                  Response& error) {
  maxt = ring.now_ms();
  mint = maxt - 2 * ring.options().sample_interval.count();
  for (auto [name, out] : {std::pair{"start", &mint}, std::pair{"end", &maxt}}) {
    if (std::optional<std::string> text = p.get(name)) {
      std::optional<int64_t> t = parse_time(*text);
      if (!t) {
        error = bad_data(std::string("invalid parameter \"") + name + "\": cannot parse \"" +
                         *text + "\" to a valid timestamp");
        return false;
      }
      *out = *t;
    }
  }
  return true;
}

enum class SeriesQuery { kSeries, kLabelNames, kLabelValues };

Response series_handler(Ring& ring, const Request& req, SeriesQuery what,
                        std::string_view label = {}) {
  std::string perr;
  std::optional<Params> p = request_params(req, perr);
  if (!p) return bad_data(perr);
  Response error;
  auto sets = parse_matches(*p, what == SeriesQuery::kSeries, error);
  if (!sets) return error;
  int64_t mint = 0, maxt = 0;
  if (!parse_window(ring, *p, mint, maxt, error)) return error;
  ring.sample_if_due();
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.string_member("status", "success");
  w.key("data");
  w.open_array();
  ring.read([&](const pq::MemoryStorage& s, const auto&) {
    std::set<pq::Labels> series;
    std::set<std::string> strings;
    pq::Matrix m;
    for (const auto& set : *sets) {
      m.clear();
      s.select(set, mint, maxt, m);
      for (pq::Series& x : m) {
        if (what == SeriesQuery::kSeries) {
          series.insert(std::move(x.labels));
        } else if (what == SeriesQuery::kLabelNames) {
          for (auto& kv : x.labels) strings.insert(kv.first);
        } else if (std::string_view v = pq::label_value(x.labels, label); !v.empty()) {
          strings.insert(std::string(v));
        }
      }
    }
    for (const pq::Labels& l : series) {
      w.element();
      write_labels(w, l);
    }
    for (const std::string& v : strings) {
      w.element();
      w.string(v);
    }
    return 0;
  });
  w.close_array();
  w.close_object();
  out.push_back('\n');
  return api_json(200, std::move(out));
}

Response label_values_handler(Ring& ring, const Request& req) {
  // /api/v1/label/<name>/values
  constexpr std::string_view prefix = "/api/v1/label/";
  constexpr std::string_view suffix = "/values";
  std::string_view path = req.path;
  if (!path.starts_with(prefix) || !path.ends_with(suffix) ||
      path.size() <= prefix.size() + suffix.size()) {
    return api_error(404, "not_found", "unknown path; use /api/v1/label/<name>/values");
  }
  const std::string_view name =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_');
  }
  if (!valid) return bad_data("invalid label name: \"" + std::string(name) + "\"");
  return series_handler(ring, req, SeriesQuery::kLabelValues, name);
}

// ---- /api/v1/metadata, /api/v1/status/buildinfo ----

std::string_view type_name(metrics::MetricType t) {
  switch (t) {
    case metrics::MetricType::kCounter:
      return "counter";
    case metrics::MetricType::kGauge:
      return "gauge";
    case metrics::MetricType::kHistogram:
      return "histogram";
    case metrics::MetricType::kSummary:
      return "summary";
    case metrics::MetricType::kInfo:
      return "info";
  }
  return "unknown";
}

Response metadata_handler(Ring& ring, const Request& req) {
  std::optional<std::string> metric = req.query_param("metric");
  size_t limit = SIZE_MAX;
  if (std::optional<std::string> l = req.query_param("limit"); l && !l->empty()) {
    long long v = 0;
    auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
    if (ec != std::errc() || ptr != l->data() + l->size()) {
      return bad_data("invalid parameter \"limit\": must be an integer");
    }
    if (v >= 0) limit = static_cast<size_t>(v);
  }
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.string_member("status", "success");
  w.key("data");
  w.open_object();
  {
    const std::vector<alerting::SampledFamily> families = ring.current_families();
    std::vector<const alerting::SampledFamily*> sorted;
    for (const auto& f : families) {
      if (!metric || metric->empty() || f.name == *metric) sorted.push_back(&f);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->name < b->name; });
    size_t n = 0;
    for (const alerting::SampledFamily* f : sorted) {
      if (n++ >= limit) break;
      w.escaped_key(f->name);
      w.open_array();
      w.element();
      w.open_object();
      w.string_member("type", type_name(f->type));
      w.string_member("help", f->help);
      w.string_member("unit", f->unit);
      // vigil's own: the family's label names, for the page's "by" choice.
      w.key("labels");
      w.open_array();
      for (const std::string& l : f->label_names) {
        w.element();
        w.string(l);
      }
      w.close_array();
      w.close_object();
      w.close_array();
    }
  }
  w.close_object();
  w.close_object();
  out.push_back('\n');
  return api_json(200, std::move(out));
}

Response buildinfo_handler() {
  // The Prometheus version whose API and PromQL semantics vigil follows; Grafana reads it to
  // decide which features the data source has.
  return api_json(200,
                  "{\"status\":\"success\",\"data\":{\"version\":\"2.42.0\",\"revision\":\"vigil\","
                  "\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}}\n");
}

// ---- the page ----

Response config_handler(const Ring& ring) {
  const DashboardOptions& o = ring.options();
  const Ring::Stats st = ring.stats();
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.string_member("title", o.title);
  w.key("pollIntervalMs");
  w.int64(o.poll_interval.count());
  w.key("stepMs");
  w.int64(o.sample_interval.count());
  w.key("retentionMs");
  w.int64(o.retention.count());
  w.key("charts");
  w.boolean(detail::dashboard_has_charts());
  w.key("paths");
  w.open_object();
  w.string_member("health", o.health_path);
  w.string_member("tracez", o.tracez_path);
  w.string_member("alerts", o.alerts_path);
  w.string_member("alertHistory", o.alert_history_path);
  w.string_member("silences", o.silences_path);
  w.string_member("notifications", o.notifications_path);
  w.string_member("guardrails", o.guardrails_path);
  w.close_object();
  w.key("ring");
  w.open_object();
  w.uint64_member("series", st.series);
  w.uint64_member("samples", st.samples);
  w.uint64_member("bytes", st.bytes);
  w.uint64_member("droppedSeries", st.dropped_series);
  w.uint64_member("maxSeries", o.max_series);
  w.close_object();
  w.close_object();
  out.push_back('\n');
  return api_json(200, std::move(out));
}

Response asset_response(const detail::DashboardAsset& a) {
  Response r;
  r.content_type = std::string(a.content_type);
  r.body.assign(a.body.begin(), a.body.end());
  // The page itself is revalidated; its files are named by the build and cached for an hour.
  r.headers.emplace_back("Cache-Control", a.content_type.starts_with("text/html")
                                              ? "no-cache"
                                              : "public, max-age=3600");
  add_page_headers(r);
  return r;
}

using Route = detail::RouteSpec;

void validate(const DashboardOptions& o) {
  using std::chrono::milliseconds;
  if (o.sample_interval < milliseconds(100) || o.sample_interval > milliseconds(3'600'000)) {
    throw Error("dashboard: sample_interval must be from 100 ms to 1 h");
  }
  if (o.retention < 2 * o.sample_interval || o.retention > milliseconds(86'400'000)) {
    throw Error("dashboard: retention must be at least 2 sample intervals and at most 24 h");
  }
  if (o.max_series < 1 || o.max_series > 1'000'000) {
    throw Error("dashboard: max_series must be from 1 to 1,000,000");
  }
  if (o.max_points < 2 || o.max_points > 1'000'000) {
    throw Error("dashboard: max_points must be from 2 to 1,000,000");
  }
  if (o.poll_interval < milliseconds(100)) {
    throw Error("dashboard: poll_interval must be at least 100 ms");
  }
}

}  // namespace

void add_dashboard_endpoint(Server& server, const metrics::Registry& registry,
                            DashboardOptions options) {
  validate(options);
  const bool serve_root = options.serve_root;
  auto ring = std::make_shared<Ring>(registry, std::move(options));
  std::vector<Route> routes;
  const detail::DashboardAsset* page = nullptr;
  for (const detail::DashboardAsset& a : detail::dashboard_assets()) {
    if (a.path == "/dashboard") page = &a;
    routes.push_back({std::string(a.path),
                      false,
                      {"GET"},
                      [&a](const Request&) { return asset_response(a); },
                      a.path == "/dashboard" ? "the live dashboard (charts, health, alerts, traces)"
                                             : "a file of the dashboard"});
  }
  if (serve_root && page != nullptr) {
    routes.push_back(
        {"/", false, {"GET"}, [page](const Request&) { return asset_response(*page); }, ""});
  }
  routes.push_back({"/dashboard/config.json",
                    false,
                    {"GET"},
                    [ring](const Request&) { return config_handler(*ring); },
                    "the dashboard's settings and ring size"});
  routes.push_back({"/api/v1/query",
                    false,
                    {"GET", "POST"},
                    [ring](const Request& r) { return query_handler(*ring, r); },
                    "PromQL instant query over the dashboard's ring (Prometheus API)"});
  routes.push_back({"/api/v1/query_range",
                    false,
                    {"GET", "POST"},
                    [ring](const Request& r) { return query_range_handler(*ring, r); },
                    "PromQL range query over the dashboard's ring (Prometheus API)"});
  routes.push_back(
      {"/api/v1/series",
       false,
       {"GET"},
       [ring](const Request& r) { return series_handler(*ring, r, SeriesQuery::kSeries); },
       "series matching match[] (Prometheus API)"});
  routes.push_back(
      {"/api/v1/labels",
       false,
       {"GET"},
       [ring](const Request& r) { return series_handler(*ring, r, SeriesQuery::kLabelNames); },
       "label names (Prometheus API)"});
  routes.push_back({"/api/v1/label/",
                    true,
                    {"GET"},
                    [ring](const Request& r) { return label_values_handler(*ring, r); },
                    "label values: /api/v1/label/<name>/values (Prometheus API)"});
  routes.push_back({"/api/v1/metadata",
                    false,
                    {"GET"},
                    [ring](const Request& r) { return metadata_handler(*ring, r); },
                    "metric families: type, help, unit (Prometheus API)"});
  routes.push_back({"/api/v1/status/buildinfo",
                    false,
                    {"GET"},
                    [](const Request&) { return buildinfo_handler(); },
                    "the Prometheus API version the query API follows"});
  detail::add_routes(server, std::move(routes));
  ring->start();
}

}  // namespace vigil::admin
