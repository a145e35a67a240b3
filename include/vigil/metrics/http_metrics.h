// vigil/metrics/http_metrics.h: request metrics for an HTTP (or RPC) server, what a web
// framework's "monitoring middleware" records, with the standard names.
//
//   vigil::metrics::HttpServerMetrics http(registry);         // registers the families once
//   void handle(const Request& req, Response& res) {
//     auto scope = http.start(req.method, route_of(req));     // active requests +1, clock starts
//     ...
//     scope.finish(res.status);                               // counts and times the request
//   }                                                         // (or code 500 if never finished)
//
// Families: http_server_requests_total{method,route,code},
// http_server_request_duration_seconds{method,route} (histogram),
// http_server_active_requests (gauge). Use the route template ("/users/{id}"), never the raw
// path, as the route label: raw paths make unbounded cardinality (the family limit still
// applies). Thread-safe.
//
// Cost: each thread keeps the series handles of its 16 most recent (metrics, method, route)
// triples (up to 4 status codes each) in a small direct-mapped cache, so a request of a route
// seen before costs two clock reads, the active-requests gauge, a hash and compare of the route
// and the recordings instead of two label lookups (start + finish: 464 instructions, ~130 ns on
// the 2-core CI machine, was 832 / ~170 ns; bench/http_middleware_bench.cc). The cache holds at
// most 16 entries per thread, is checked against each family's generation (a removed or cleared
// series is looked up again), and is off when the families have an idle expiry (a cached handle
// would keep its series from ever expiring); a lookup that folds into the overflow series is
// not cached (so every folded request stays counted).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "vigil/metrics/exemplar.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {

struct HttpServerMetricsOptions {
  std::string prefix = "http_server";
  std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
  // Exemplars (trace ids of sampled requests) on the duration histogram are sampled: at most
  // one per bucket, route and thread every 100 ms (see MetricOptions::exemplar_interval).
  MetricOptions metric_options{.exemplar_interval = std::chrono::milliseconds(100)};
};

class HttpServerMetrics {
 public:
  // Registers (or finds) the families. Throws vigil::Error on a clash with other metrics.
  explicit HttpServerMetrics(Registry& registry, HttpServerMetricsOptions options = {});

  class Scope {
   public:
    Scope(Scope&& other) noexcept;
    Scope& operator=(Scope&&) = delete;
    ~Scope();  // a scope never finished counts as code 500
    // Records the request with this status code (100-599; others are recorded as "other").
    void finish(int status_code) noexcept { finish(status_code, {}); }
    // The same, with an exemplar on the duration histogram's bucket (e.g. {{"trace_id", hex}}
    // of a sampled request; see exemplar.h, ~50-100 ns more). An empty list records none.
    void finish(int status_code, ExemplarLabels exemplar) noexcept;
    // Sets the route label when it is known only after the request started (routing).
    void set_route(std::string_view route) noexcept { route_ = route; }

   private:
    friend class HttpServerMetrics;
    Scope(HttpServerMetrics* owner, std::string_view method, std::string_view route) noexcept;
    HttpServerMetrics* owner_;
    std::string_view method_, route_;  // must outlive the scope (request data, literals)
    int64_t start_ns_;                 // vigil::fast_monotonic_nanos() at the start
    bool finished_ = false;
  };

  // Starts timing a request. `method` and `route` must stay valid until the scope finishes.
  Scope start(std::string_view method, std::string_view route) noexcept;

 private:
  friend struct HttpMetricsCache;  // the per-thread handle cache, in http_metrics.cc
  Family<Counter>* requests_;
  Family<Histogram>* duration_;
  Gauge active_;
  uint64_t id_;                // unique for the process, never reused (the cache's key)
  bool cache_enabled_ = true;  // false when the families have an idle expiry
};

}  // namespace vigil::metrics
