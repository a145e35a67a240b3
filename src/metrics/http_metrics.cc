#include "vigil/metrics/http_metrics.h"

#include <array>
#include <atomic>
#include <cstring>
#include <string>

#include "vigil/core/clock.h"

namespace vigil::metrics {
namespace {

// "100" ... "599" without allocating per request.
const std::array<std::string, 500>& status_strings() {
  static const auto* table = [] {
    auto* t = new std::array<std::string, 500>;
    for (int i = 0; i < 500; ++i) (*t)[static_cast<size_t>(i)] = std::to_string(100 + i);
    return t;
  }();
  return *table;
}

std::string_view status_label(int code) noexcept {
  if (code < 100 || code > 599) return "other";
  return status_strings()[static_cast<size_t>(code - 100)];
}

std::atomic<uint64_t> g_next_http_metrics_id{1};

uint64_t load_bytes(const char* p, size_t n) noexcept {
  uint64_t v = 0;
  std::memcpy(&v, p, n < 8 ? n : 8);
  return v;
}

// A cheap hash of (metrics id, method, route): their sizes, the first and last 8 bytes of the
// route and the first bytes of the method. Collisions only cost a miss (entries compare in full).
size_t cache_slot(uint64_t id, std::string_view method, std::string_view route,
                  size_t slots) noexcept {
  uint64_t h = id * 0x9E3779B97F4A7C15ULL;
  h ^= load_bytes(method.data(), method.size()) + method.size();
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= load_bytes(route.data(), route.size()) + (route.size() << 56);
  h *= 0x9E3779B97F4A7C15ULL;
  if (route.size() > 8) h ^= load_bytes(route.data() + route.size() - 8, 8);
  h *= 0xD6E8FEB86659FD93ULL;
  return static_cast<size_t>(h >> 32) & (slots - 1);
}

}  // namespace

// The handles of recent (metrics, method, route) series on this thread. Each entry holds
// references to its series; it is valid while both families' generations are the ones it was
// filled with (a series that left the family is looked up again).
struct HttpMetricsCache {
  static constexpr size_t kSlots = 16;
  static constexpr size_t kCodes = 4;
  struct Entry {
    uint64_t owner = 0;  // 0: empty
    uint64_t requests_generation = 0;
    uint64_t duration_generation = 0;
    std::string method, route;
    Histogram duration;
    std::array<int, kCodes> codes{};  // 0: empty
    std::array<Counter, kCodes> requests;
    uint32_t next_code = 0;  // round-robin replacement of codes
  };
  std::array<Entry, kSlots> entries;

  // Counts the request and observes its duration through this thread's cached handles,
  // looking them up (and caching them) on a miss. Throws only std::bad_alloc / vigil::Error.
  static void record(HttpServerMetrics& owner, std::string_view method, std::string_view route,
                     int status_code, double seconds, ExemplarLabels exemplar);
};

namespace {
thread_local HttpMetricsCache tls_http_cache;

void observe(Histogram& h, double seconds, ExemplarLabels exemplar) noexcept {
  if (exemplar.size() == 0) {
    h.observe(seconds);
  } else {
    h.observe(seconds, exemplar);
  }
}
}  // namespace

void HttpMetricsCache::record(HttpServerMetrics& owner, std::string_view method,
                              std::string_view route, int status_code, double seconds,
                              ExemplarLabels exemplar) {
  const std::string_view label = status_label(status_code);
  if (!owner.cache_enabled_) {
    owner.requests_->labels(method, route, label).inc();
    Histogram h = owner.duration_->labels(method, route);
    observe(h, seconds, exemplar);
    return;
  }
  // Generations first: a series removed after this read changes them (the next request
  // refills); one removed before it is not what the lookups below return.
  const uint64_t rg = owner.requests_->generation();
  const uint64_t dg = owner.duration_->generation();
  Entry& e = tls_http_cache.entries[cache_slot(owner.id_, method, route, kSlots)];
  if (e.owner != owner.id_ || e.requests_generation != rg || e.duration_generation != dg ||
      e.route != route || e.method != method) [[unlikely]] {
    e.owner = 0;  // invalid until filled (a throw below leaves it empty)
    e.codes.fill(0);
    for (Counter& c : e.requests) c = Counter();
    e.method.assign(method);
    e.route.assign(route);
    const uint64_t folded = owner.duration_->overflow_count();
    e.duration = owner.duration_->labels(method, route);
    if (owner.duration_->overflow_count() != folded) {
      // The overflow series: not cached, so that every folded request stays counted.
      Histogram h = std::exchange(e.duration, Histogram());
      observe(h, seconds, exemplar);
      owner.requests_->labels(method, route, label).inc();
      return;
    }
    e.requests_generation = rg;
    e.duration_generation = dg;
    e.next_code = 0;
    e.owner = owner.id_;
  }
  observe(e.duration, seconds, exemplar);
  const int code = status_code >= 100 && status_code <= 599 ? status_code : -1;
  for (size_t i = 0; i < kCodes; ++i) {
    if (e.codes[i] == code) {
      e.requests[i].inc();
      return;
    }
  }
  const uint64_t folded = owner.requests_->overflow_count();
  Counter c = owner.requests_->labels(method, route, label);
  c.inc();
  if (owner.requests_->overflow_count() != folded) return;  // not cached (see above)
  const size_t i = e.next_code++ % kCodes;
  e.requests[i] = std::move(c);
  e.codes[i] = code;
}

HttpServerMetrics::HttpServerMetrics(Registry& registry, HttpServerMetricsOptions options)
    : requests_(&registry.counter(options.prefix + "_requests_total", "HTTP requests handled",
                                  {"method", "route", "code"}, options.metric_options)),
      duration_(&registry.histogram(options.prefix + "_request_duration_seconds",
                                    "HTTP request handling time", {"method", "route"},
                                    {.buckets = options.buckets}, options.metric_options)),
      active_(registry
                  .gauge(options.prefix + "_active_requests", "HTTP requests being handled", {},
                         options.metric_options)
                  .get()),
      id_(g_next_http_metrics_id.fetch_add(1, std::memory_order_relaxed)),
      cache_enabled_(requests_->options().idle_expiry.count() == 0 &&
                     duration_->options().idle_expiry.count() == 0) {
  status_strings();
}

HttpServerMetrics::Scope HttpServerMetrics::start(std::string_view method,
                                                  std::string_view route) noexcept {
  return Scope(this, method, route);
}

HttpServerMetrics::Scope::Scope(HttpServerMetrics* owner, std::string_view method,
                                std::string_view route) noexcept
    : owner_(owner), method_(method), route_(route), start_ns_(fast_monotonic_nanos()) {
  owner_->active_.inc();
}

HttpServerMetrics::Scope::Scope(Scope&& other) noexcept
    : owner_(other.owner_),
      method_(other.method_),
      route_(other.route_),
      start_ns_(other.start_ns_),
      finished_(other.finished_) {
  other.finished_ = true;
}

HttpServerMetrics::Scope::~Scope() {
  if (!finished_) finish(500);
}

void HttpServerMetrics::Scope::finish(int status_code, ExemplarLabels exemplar) noexcept {
  if (finished_) return;
  finished_ = true;
  // (the time-stamp-counter clock: two reads per request at ~13 ns instead of ~33 ns; a scope
  // finished on another thread than it started on may see a few microseconds of skew: clamped)
  const int64_t elapsed = fast_monotonic_nanos() - start_ns_;
  const double seconds = elapsed > 0 ? static_cast<double>(elapsed) * 1e-9 : 0.0;
  owner_->active_.dec();
  try {
    HttpMetricsCache::record(*owner_, method_, route_, status_code, seconds, exemplar);
  } catch (...) {
    // Only allocation failure can get here; metrics must never fail a request.
  }
}

}  // namespace vigil::metrics
