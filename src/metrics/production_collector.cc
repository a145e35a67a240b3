#include "vigil/metrics/production_collector.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <new>
#include <string>
#include <utility>

#include "bounded_values.h"
#include "core/detail/json_writer.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/names.h"
#include "vigil/metrics/process_collector.h"

namespace vigil::metrics {
namespace {

constexpr size_t kMaxRequestLabels = 8;

// The buckets gen_ai.client.token.usage's semantic convention advises: 1, 4, 16, ... 4^13.
std::vector<double> token_buckets() { return exponential_buckets(1, 4, 14); }

MetricOptions unit(std::string u) {
  MetricOptions o;
  o.unit = std::move(u);
  return o;
}

double default_clock() { return static_cast<double>(monotonic_nanos()) / 1e9; }

// A sink that ignores everything; readers below override what they need.
struct NullSink : MetricSink {
  void begin_family(const FamilyDesc&) override {}
  void counter(LabelValues, double, double) override {}
  void gauge(LabelValues, double) override {}
  void histogram(LabelValues, const HistogramPoint&) override {}
  void summary(LabelValues, const SummaryPoint&) override {}
  void info(LabelValues) override {}
  void end_family() override {}
  bool wants_exemplars() const override { return false; }
};

// Sums a histogram family's buckets over its series, split by whether the label at
// `split_label` is empty (`match` counts series whose label equals `match_value`).
struct HistogramTotals : NullSink {
  explicit HistogramTotals(int split = -1, std::string_view value = {})
      : split_label(split), match_value(value) {}
  void histogram(LabelValues labels, const HistogramPoint& p) override {
    if (bounds.empty()) {
      bounds.assign(p.bounds.begin(), p.bounds.end());
      cumulative.assign(p.cumulative.size(), 0);
    }
    if (p.cumulative.size() == cumulative.size()) {
      for (size_t i = 0; i < cumulative.size(); ++i) cumulative[i] += p.cumulative[i];
    }
    count += p.count;
    sum += p.sum;
    if (split_label >= 0 && static_cast<size_t>(split_label) < labels.size() &&
        labels[static_cast<size_t>(split_label)] == match_value) {
      matched_count += p.count;
      matched_sum += p.sum;
    }
  }
  void summary(LabelValues, const SummaryPoint& p) override {
    count += p.count;
    sum += p.sum;
  }
  int split_label;
  std::string_view match_value;
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t count = 0, matched_count = 0;
  double sum = 0, matched_sum = 0;
};

// Sums counter or gauge values, and those whose label `split` equals `value`.
struct ValueTotals : NullSink {
  explicit ValueTotals(int split = -1, std::string_view value = {})
      : split_label(split), match_value(value) {}
  void add(LabelValues labels, double v) {
    total += v;
    if (split_label >= 0 && static_cast<size_t>(split_label) < labels.size() &&
        labels[static_cast<size_t>(split_label)] == match_value) {
      matched += v;
    }
  }
  void counter(LabelValues labels, double v, double) override { add(labels, v); }
  void gauge(LabelValues labels, double v) override { add(labels, v); }
  int split_label;
  std::string_view match_value;
  double total = 0, matched = 0;
};

// Picks the few process/system values summary() reports.
struct SystemValues : NullSink {
  explicit SystemValues(ProductionSummary::System& s) : out(s) {}
  void begin_family(const FamilyDesc& f) override { family = f.name; }
  void counter(LabelValues, double v, double) override {
    if (family == "process_cpu_seconds") {
      out.cpu_seconds = v;
      out.available = true;
    }
  }
  void gauge(LabelValues labels, double v) override {
    if (family == "process_resident_memory_bytes") {
      out.resident_memory_bytes = v;
      out.available = true;
    } else if (family == "process_open_fds") {
      out.open_fds = v;
    } else if (family == "process_max_fds") {
      out.max_fds = v;
    } else if (family == "system_disk_free_bytes" && !disk_seen) {
      (void)labels;
      out.disk_free_bytes = v;
      disk_seen = true;
    }
  }
  ProductionSummary::System& out;
  std::string family;
  bool disk_seen = false;
};

double ratio(double part, double whole) { return whole > 0 ? part / whole : 0; }

uint64_t to_count(double v) { return v <= 0 ? 0 : static_cast<uint64_t>(std::llround(v)); }

}  // namespace

double histogram_quantile(double q, std::span<const double> bounds,
                          std::span<const uint64_t> cumulative) noexcept {
  if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (cumulative.size() != bounds.size() + 1 || cumulative.back() == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double observations = static_cast<double>(cumulative.back());
  double rank = q * observations;
  // The first bucket whose cumulative count reaches the rank (Prometheus' sort.Search).
  size_t b = 0;
  while (b < cumulative.size() && static_cast<double>(cumulative[b]) < rank) ++b;
  if (b >= bounds.size())
    return bounds.empty() ? std::numeric_limits<double>::quiet_NaN()
                          : bounds.back();  // the +Inf bucket
  if (b == 0 && bounds[0] <= 0) return bounds[0];
  double start = 0;
  const double end = bounds[b];
  double count = static_cast<double>(cumulative[b]);
  if (b > 0) {
    start = bounds[b - 1];
    count -= static_cast<double>(cumulative[b - 1]);
    rank -= static_cast<double>(cumulative[b - 1]);
  }
  if (count <= 0) return end;
  return start + (end - start) * (rank / count);
}

struct ProductionCollector::Impl {
  Impl(Registry& r, ProductionCollectorOptions o)
      : registry(r),
        options(std::move(o)),
        clock(options.clock ? options.clock : std::function<double()>(default_clock)),
        endpoints(std::make_shared<detail::BoundedValues>(options.caps.endpoints)),
        providers(std::make_shared<detail::BoundedValues>(options.caps.providers)),
        models(std::make_shared<detail::BoundedValues>(options.caps.models)),
        error_types(std::make_shared<detail::BoundedValues>(options.caps.error_types)),
        tools(std::make_shared<detail::BoundedValues>(options.caps.tools)),
        caches(std::make_shared<detail::BoundedValues>(options.caps.caches)) {}

  Registry& registry;
  ProductionCollectorOptions options;
  std::function<double()> clock;
  double start = 0;

  std::shared_ptr<detail::BoundedValues> endpoints, providers, models, error_types, tools, caches;
  // One per declared request label; the "model" one is `models`.
  std::vector<detail::BoundedValues*> request_caps;
  std::vector<std::string> request_label_names;  // as given (matched against LabelSet names)

  Family<Histogram>* requests = nullptr;
  size_t error_label = 0;  // index of error_type in the request family's labels
  Family<Histogram>* tokens = nullptr;
  Family<Counter>* cost = nullptr;
  Family<Counter>* tool_calls = nullptr;
  Family<Histogram>* tool_duration = nullptr;
  Family<Summary>* tool_summary = nullptr;
  Family<Gauge>* tool_active = nullptr;
  Family<Counter>* cache_hits = nullptr;
  Family<Counter>* cache_misses = nullptr;
  Family<Counter>* cache_evictions = nullptr;
  Counter tasks_completed, tasks_failed;
  std::shared_ptr<ProcessCollector> process;
  std::atomic<uint64_t> errors{0};

  struct Folded {
    std::shared_ptr<detail::BoundedValues> values;
    std::string label;
  };
  std::vector<Folded> folded;

  // The request series by the addresses of its interned label values (each value is interned
  // in its BoundedValues, "other" is a static, "" is null), so a resolved series is found with
  // a few multiplies and pointer compares instead of Family::labels' hashing and string
  // compares. Insert-only, at most kSeriesSlots / 2 series (then Family::labels is used).
  static constexpr size_t kSeriesSlots = 2048;
  static constexpr size_t kMaxProbes = 8;
  struct RequestSeries {
    std::array<const char*, kMaxRequestLabels + 3> keys{};
    Histogram histogram;
  };
  std::unique_ptr<std::atomic<RequestSeries*>[]> series_slots =
      std::make_unique<std::atomic<RequestSeries*>[]>(kSeriesSlots);
  std::mutex series_mu;
  std::vector<std::unique_ptr<RequestSeries>> series_storage;  // under series_mu

  static const char* key_of(std::string_view v) noexcept { return v.empty() ? nullptr : v.data(); }

  Histogram* request_series(const std::string_view* values, size_t n) noexcept {
    uint64_t hash = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; ++i) {
      hash = (hash ^ reinterpret_cast<uintptr_t>(key_of(values[i]))) * 0xbf58476d1ce4e5b9ULL;
      hash ^= hash >> 29;
    }
    const auto matches = [&](const RequestSeries& s) {
      for (size_t i = 0; i < n; ++i) {
        if (s.keys[i] != key_of(values[i])) return false;
      }
      return true;
    };
    size_t slot = hash & (kSeriesSlots - 1);
    for (size_t probe = 0; probe < kMaxProbes; ++probe) {
      RequestSeries* s = series_slots[slot].load(std::memory_order_acquire);
      if (s == nullptr) break;
      if (matches(*s)) return &s->histogram;
      slot = (slot + 1) & (kSeriesSlots - 1);
    }
    // Slow path: resolve the series and remember it.
    try {
      std::lock_guard<std::mutex> lock(series_mu);
      if (series_storage.size() >= kSeriesSlots / 2) return nullptr;
      slot = hash & (kSeriesSlots - 1);
      for (size_t probe = 0; probe < kMaxProbes; ++probe) {
        RequestSeries* s = series_slots[slot].load(std::memory_order_relaxed);
        if (s == nullptr) {
          auto entry = std::make_unique<RequestSeries>();
          for (size_t i = 0; i < n; ++i) entry->keys[i] = key_of(values[i]);
          entry->histogram = requests->labels(std::span<const std::string_view>(values, n));
          series_storage.push_back(std::move(entry));
          series_slots[slot].store(series_storage.back().get(), std::memory_order_release);
          return &series_storage.back()->histogram;
        }
        if (matches(*s)) return &s->histogram;
        slot = (slot + 1) & (kSeriesSlots - 1);
      }
    } catch (...) {
      error();
    }
    return nullptr;  // probes exhausted or out of memory: the caller looks the series up
  }

  void error() noexcept { errors.fetch_add(1, std::memory_order_relaxed); }
  uint64_t folded_total() const noexcept {
    uint64_t n = 0;
    for (const Folded& f : folded) n += f.values->folded();
    return n;
  }
};

ProductionCollector::ProductionCollector(Registry& registry, ProductionCollectorOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {
  Impl& m = *impl_;
  const ProductionCollectorOptions& o = m.options;
  if (o.request_labels.size() > kMaxRequestLabels) {
    throw Error("ProductionCollector: at most 8 request labels may be declared, got " +
                std::to_string(o.request_labels.size()));
  }
  std::vector<std::string> request_names = {"http_route", "gen_ai_system"};
  for (const std::string& name : o.request_labels) {
    const std::string prom =
        name == "model" ? std::string("gen_ai_request_model") : prometheus_label_name(name);
    if (prom.empty() || !is_valid_label_name(prom) ||
        std::find(request_names.begin(), request_names.end(), prom) != request_names.end() ||
        prom == "error_type") {
      throw Error("ProductionCollector: request label \"" + name +
                  "\" is empty, invalid or declared twice (Prometheus name \"" + prom + "\")");
    }
    request_names.push_back(prom);
    m.request_label_names.push_back(name);
    if (name == "model") {
      m.request_caps.push_back(m.models.get());
    } else {
      auto values = std::make_shared<detail::BoundedValues>(o.caps.request_labels);
      m.request_caps.push_back(values.get());
      m.folded.push_back({std::move(values), prom});
    }
  }
  m.error_label = request_names.size();
  request_names.push_back("error_type");
  m.folded.insert(m.folded.begin(), {{m.endpoints, "http_route"},
                                     {m.providers, "gen_ai_system"},
                                     {m.models, "gen_ai_request_model"},
                                     {m.error_types, "error_type"},
                                     {m.tools, "tool"},
                                     {m.caches, "cache"}});

  // Nothing half-registered: on an error, the families this constructor added are removed.
  std::vector<std::string> existing;
  for (const Registry::FamilySummary& f : registry.list()) existing.push_back(f.name);
  try {
    m.requests = &registry.histogram(
        "gen_ai_client_operation_duration_seconds",
        "Duration of requests to generative AI providers (OpenTelemetry "
        "gen_ai.client.operation.duration), by route, provider (gen_ai.system), model and "
        "error type (empty on success)",
        request_names, {.buckets = o.latency_buckets}, unit("seconds"));
    m.tokens = &registry.histogram(
        "gen_ai_client_token_usage",
        "Tokens used per operation (OpenTelemetry gen_ai.client.token.usage), by provider, "
        "model and token type (input, output)",
        {"gen_ai_system", "gen_ai_request_model", "gen_ai_token_type"},
        {.buckets = token_buckets()});
    m.cost = &registry.counter("gen_ai_client_cost_dollars_total",
                               "Estimated spend on generative AI providers in US dollars, by "
                               "provider and model",
                               {"gen_ai_system", "gen_ai_request_model"}, unit("dollars"));
    m.tool_calls = &registry.counter(
        "tool_executions_total",
        "Tool executions by tool and outcome (success, error or the error's type)",
        {"tool", "status"});
    if (o.tool_summary) {
      m.tool_summary = &registry.summary("tool_execution_duration_seconds",
                                         "Tool execution latency (quantiles over a sliding window)",
                                         {"tool"}, *o.tool_summary, unit("seconds"));
    } else {
      m.tool_duration =
          &registry.histogram("tool_execution_duration_seconds", "Tool execution latency", {"tool"},
                              {.buckets = o.tool_buckets}, unit("seconds"));
    }
    m.tool_active =
        &registry.gauge("tool_executions_active", "Tool executions running now", {"tool"});
    m.cache_hits =
        &registry.counter("cache_hits_total", "Cache lookups that found an entry", {"cache"});
    m.cache_misses =
        &registry.counter("cache_misses_total", "Cache lookups that found nothing", {"cache"});
    m.cache_evictions = &registry.counter("cache_evictions_total",
                                          "Entries evicted to make room for new ones", {"cache"});
    auto& tasks = registry.counter("tasks_total", "Tasks finished, by status (completed, failed)",
                                   {"status"});
    m.tasks_completed = tasks.labels("completed");
    m.tasks_failed = tasks.labels("failed");

    auto& folded = registry.counter(
        "vigil_label_values_folded_total",
        "Label values recorded as \"other\" because their label had reached its cap of distinct "
        "values",
        {"label"});
    for (const Impl::Folded& f : m.folded) f.values->count_folds_in(folded.labels(f.label));

    ProcessCollectorOptions process;
    m.process = std::make_shared<ProcessCollector>(process);
    if (o.register_process_collector) registry.add_collector(m.process);
  } catch (...) {
    for (const Registry::FamilySummary& f : registry.list()) {
      if (std::find(existing.begin(), existing.end(), f.name) == existing.end()) {
        registry.remove(f.name);
      }
    }
    throw;
  }
  m.start = m.clock();
}

ProductionCollector::~ProductionCollector() = default;

void ProductionCollector::record_request(std::string_view endpoint, std::string_view provider,
                                         bool success, std::chrono::duration<double> latency,
                                         LabelSet labels) noexcept {
  record_request_outcome(endpoint, provider,
                         success ? std::string_view() : std::string_view("error"), latency, labels);
}

void ProductionCollector::record_request_outcome(std::string_view endpoint,
                                                 std::string_view provider,
                                                 std::string_view error_type,
                                                 std::chrono::duration<double> latency,
                                                 LabelSet labels) noexcept {
  Impl& m = *impl_;
  std::array<std::string_view, kMaxRequestLabels + 3> values;
  values[0] = m.endpoints->admit(endpoint);
  values[1] = m.providers->admit(provider);
  const size_t n = m.request_caps.size();
  for (size_t i = 0; i < n; ++i) values[2 + i] = std::string_view();
  size_t matched = 0;
  for (const Label& l : labels) {
    size_t i = 0;
    while (i < n && m.request_label_names[i] != l.name) ++i;
    if (i == n) continue;
    values[2 + i] = m.request_caps[i]->admit(l.value);
    ++matched;
  }
  if (matched != labels.size()) m.error();  // an undeclared label: ignored, counted
  values[m.error_label] =
      error_type.empty() ? std::string_view() : m.error_types->admit(error_type);
  Histogram* h = m.request_series(values.data(), m.error_label + 1);
  if (h != nullptr) {
    h->observe(latency.count());
    return;
  }
  try {  // the series cache is full: the family's own lookup
    m.requests->labels(std::span<const std::string_view>(values.data(), m.error_label + 1))
        .observe(latency.count());
  } catch (...) {
    m.error();
  }
}

void ProductionCollector::record_tool_execution(std::string_view tool, bool success,
                                                std::chrono::duration<double> duration) noexcept {
  finish_tool(impl_->tools->admit(tool), success ? "success" : "error", duration.count());
}

void ProductionCollector::record_tool_execution_outcome(
    std::string_view tool, std::string_view error_type,
    std::chrono::duration<double> duration) noexcept {
  finish_tool(
      impl_->tools->admit(tool),
      error_type.empty() ? std::string_view("success") : impl_->error_types->admit(error_type),
      duration.count());
}

void ProductionCollector::finish_tool(std::string_view tool, std::string_view status,
                                      double seconds) noexcept {
  Impl& m = *impl_;
  try {
    m.tool_calls->labels(tool, status).inc();
    if (m.tool_duration != nullptr) {
      m.tool_duration->labels(tool).observe(seconds);
    } else {
      m.tool_summary->labels(tool).observe(seconds);
    }
  } catch (...) {
    m.error();
  }
}

ToolExecutionScope ProductionCollector::start_tool_execution(std::string_view tool) noexcept {
  Impl& m = *impl_;
  const std::string_view t = m.tools->admit(tool);
  Gauge active;
  try {
    active = m.tool_active->labels(t);
  } catch (...) {
    m.error();
  }
  active.inc();
  return ToolExecutionScope(this, t, std::move(active), m.clock());
}

ToolExecutionScope::ToolExecutionScope(ProductionCollector* owner, std::string_view tool,
                                       Gauge active, double start) noexcept
    : owner_(owner),
      tool_(tool),
      active_(std::move(active)),
      start_(start),
      exceptions_(std::uncaught_exceptions()) {}

ToolExecutionScope::ToolExecutionScope(ToolExecutionScope&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      tool_(other.tool_),
      active_(std::move(other.active_)),
      start_(other.start_),
      exceptions_(other.exceptions_),
      failed_(other.failed_) {}

ToolExecutionScope::~ToolExecutionScope() {
  if (owner_ == nullptr) return;
  active_.dec();
  const bool failed = failed_ || std::uncaught_exceptions() > exceptions_;
  owner_->finish_tool(tool_, failed ? "error" : "success", owner_->impl_->clock() - start_);
}

void ProductionCollector::declare_tool(std::string_view tool) noexcept {
  Impl& m = *impl_;
  const std::string_view t = m.tools->admit(tool);
  try {
    m.tool_active->labels(t);
    m.tool_calls->labels(t, "success");
  } catch (...) {
    m.error();
  }
}

void ProductionCollector::declare_cache(std::string_view cache) noexcept {
  Impl& m = *impl_;
  const std::string_view c = m.caches->admit(cache);
  try {
    m.cache_hits->labels(c);
    m.cache_misses->labels(c);
    m.cache_evictions->labels(c);
  } catch (...) {
    m.error();
  }
}

void ProductionCollector::record_cache_hit(std::string_view cache) noexcept {
  try {
    impl_->cache_hits->labels(impl_->caches->admit(cache)).inc();
  } catch (...) {
    impl_->error();
  }
}

void ProductionCollector::record_cache_miss(std::string_view cache) noexcept {
  try {
    impl_->cache_misses->labels(impl_->caches->admit(cache)).inc();
  } catch (...) {
    impl_->error();
  }
}

void ProductionCollector::record_cache_eviction(std::string_view cache, uint64_t count) noexcept {
  try {
    impl_->cache_evictions->labels(impl_->caches->admit(cache)).inc(static_cast<double>(count));
  } catch (...) {
    impl_->error();
  }
}

void ProductionCollector::record_task_completed() noexcept { impl_->tasks_completed.inc(); }
void ProductionCollector::record_task_failed() noexcept { impl_->tasks_failed.inc(); }

void ProductionCollector::record_cost(std::string_view provider, std::string_view model,
                                      double dollars) noexcept {
  try {
    impl_->cost->labels(impl_->providers->admit(provider), impl_->models->admit(model))
        .inc(dollars);
  } catch (...) {
    impl_->error();
  }
}

void ProductionCollector::record_tokens(std::string_view provider, std::string_view model,
                                        uint64_t input_tokens, uint64_t output_tokens) noexcept {
  Impl& m = *impl_;
  const std::string_view p = m.providers->admit(provider);
  const std::string_view mo = m.models->admit(model);
  try {
    if (input_tokens > 0) {
      m.tokens->labels(p, mo, "input").observe(static_cast<double>(input_tokens));
    }
    if (output_tokens > 0) {
      m.tokens->labels(p, mo, "output").observe(static_cast<double>(output_tokens));
    }
  } catch (...) {
    m.error();
  }
}

ProductionSummary ProductionCollector::summary() const {
  const Impl& m = *impl_;
  ProductionSummary s;
  s.uptime_seconds = m.clock() - m.start;

  HistogramTotals req(static_cast<int>(m.error_label), "");
  m.requests->read(req);
  s.requests.total = req.count;
  s.requests.succeeded = req.matched_count;
  s.requests.failed = req.count - req.matched_count;
  s.requests.success_rate =
      ratio(static_cast<double>(s.requests.succeeded), static_cast<double>(s.requests.total));
  s.requests.error_rate =
      ratio(static_cast<double>(s.requests.failed), static_cast<double>(s.requests.total));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.requests.avg_ms = req.count > 0 ? 1000 * req.sum / static_cast<double>(req.count) : nan;
  const auto pct = [&](double q) {
    return req.count > 0 ? 1000 * histogram_quantile(q, req.bounds, req.cumulative) : nan;
  };
  s.requests.p50_ms = pct(0.5);
  s.requests.p95_ms = pct(0.95);
  s.requests.p99_ms = pct(0.99);

  ValueTotals calls(1, "success");
  m.tool_calls->read(calls);
  s.tools.calls = to_count(calls.total);
  s.tools.errors = to_count(calls.total - calls.matched);
  s.tools.error_rate = ratio(calls.total - calls.matched, calls.total);
  HistogramTotals tool_time;
  if (m.tool_duration != nullptr) {
    m.tool_duration->read(tool_time);
  } else {
    m.tool_summary->read(tool_time);
  }
  s.tools.avg_ms =
      tool_time.count > 0 ? 1000 * tool_time.sum / static_cast<double>(tool_time.count) : 0;
  ValueTotals active;
  m.tool_active->read(active);
  s.tools.active = static_cast<int64_t>(std::llround(active.total));

  ValueTotals hits, misses, evictions;
  m.cache_hits->read(hits);
  m.cache_misses->read(misses);
  m.cache_evictions->read(evictions);
  s.cache.hits = to_count(hits.total);
  s.cache.misses = to_count(misses.total);
  s.cache.evictions = to_count(evictions.total);
  s.cache.hit_rate = ratio(hits.total, hits.total + misses.total);

  s.business.tasks_completed = to_count(m.tasks_completed.value());
  s.business.tasks_failed = to_count(m.tasks_failed.value());
  ValueTotals cost;
  m.cost->read(cost);
  s.business.cost_dollars = cost.total;
  HistogramTotals tokens(2, "input");
  m.tokens->read(tokens);
  s.business.input_tokens = to_count(tokens.matched_sum);
  s.business.output_tokens = to_count(tokens.sum - tokens.matched_sum);
  s.business.total_tokens = s.business.input_tokens + s.business.output_tokens;

  SystemValues system(s.system);
  try {
    m.process->collect(system);
  } catch (...) {
    s.system.available = false;
  }
  s.folded_label_values = m.folded_total();
  s.errors = m.errors.load(std::memory_order_relaxed);
  return s;
}

std::string to_json(const ProductionSummary& s) {
  std::string out;
  vigil::detail::JsonWriter w(out);
  const auto num = [&w](std::string_view k, double v) {
    w.key(k);
    if (std::isfinite(v)) {
      w.dbl(v);
    } else {
      w.null();
    }
  };
  w.open_object();
  num("uptime_seconds", s.uptime_seconds);
  w.key("requests");
  w.open_object();
  w.uint64_member("total", s.requests.total);
  w.uint64_member("succeeded", s.requests.succeeded);
  w.uint64_member("failed", s.requests.failed);
  num("success_rate", s.requests.success_rate);
  num("error_rate", s.requests.error_rate);
  num("avg_ms", s.requests.avg_ms);
  num("p50_ms", s.requests.p50_ms);
  num("p95_ms", s.requests.p95_ms);
  num("p99_ms", s.requests.p99_ms);
  w.close_object();
  w.key("tools");
  w.open_object();
  w.uint64_member("calls", s.tools.calls);
  w.uint64_member("errors", s.tools.errors);
  num("error_rate", s.tools.error_rate);
  num("avg_ms", s.tools.avg_ms);
  w.key("active");
  w.int64(s.tools.active);
  w.close_object();
  w.key("cache");
  w.open_object();
  w.uint64_member("hits", s.cache.hits);
  w.uint64_member("misses", s.cache.misses);
  w.uint64_member("evictions", s.cache.evictions);
  num("hit_rate", s.cache.hit_rate);
  w.close_object();
  w.key("business");
  w.open_object();
  w.uint64_member("tasks_completed", s.business.tasks_completed);
  w.uint64_member("tasks_failed", s.business.tasks_failed);
  num("cost_dollars", s.business.cost_dollars);
  w.uint64_member("input_tokens", s.business.input_tokens);
  w.uint64_member("output_tokens", s.business.output_tokens);
  w.uint64_member("total_tokens", s.business.total_tokens);
  w.close_object();
  w.key("system");
  w.open_object();
  w.key("available");
  w.boolean(s.system.available);
  num("resident_memory_bytes", s.system.resident_memory_bytes);
  num("cpu_seconds", s.system.cpu_seconds);
  num("open_fds", s.system.open_fds);
  num("max_fds", s.system.max_fds);
  num("disk_free_bytes", s.system.disk_free_bytes);
  w.close_object();
  w.uint64_member("folded_label_values", s.folded_label_values);
  w.uint64_member("errors", s.errors);
  w.close_object();
  return out;
}

std::string ProductionCollector::export_prometheus() const {
  return serialize(impl_->registry, Format::kPrometheusText);
}

std::string ProductionCollector::export_json() const {
  return serialize(impl_->registry, Format::kJson);
}

uint64_t ProductionCollector::errors() const noexcept {
  return impl_->errors.load(std::memory_order_relaxed);
}

Registry& ProductionCollector::registry() const noexcept { return impl_->registry; }

std::unique_ptr<ProductionCollector> create_production_collector(
    ProductionCollectorOptions options) {
  return std::make_unique<ProductionCollector>(Registry::global(), std::move(options));
}

}  // namespace vigil::metrics
