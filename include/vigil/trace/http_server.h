// vigil/trace/http_server.h: request middleware for any HTTP server: one call per request
// continues the caller's trace, opens a SERVER span with the OpenTelemetry HTTP semantic-convention
// attributes, and records the RED metrics of vigil::metrics::HttpServerMetrics with the trace id
// as an exemplar (guide 004's MonitoringMiddleware, guide 002's FastAPI instrumentation).
//
//   vigil::trace::HttpServerMiddleware middleware({.registry =
//   &vigil::metrics::Registry::global()});
//
//   // In your framework's request hook (any framework: give it method, route and a header getter):
//   void on_request(const Request& req, Response& res) {
//     auto headers = vigil::trace::header_getter([&](std::string_view name) {
//       return req.header(name);                     // std::optional<std::string_view>
//     });
//     vigil::trace::HttpServerMiddleware::Scope scope(middleware, {
//         .method = req.method, .route = "/users/{id}", .path = req.path, .headers = &headers});
//     handle(req, res);                              // spans started here are children
//     scope.finish(res.status);                      // never finished: recorded as 500
//   }
//
//   // Or around a handler callable (it may take the Scope&; an int or a `.status` it returns is
//   // the status; an exception is recorded on the span, finishes as 500 and is rethrown):
//   Response r = middleware.handle({.method = "GET", .route = "/users/{id}"}, [&] { return
//   get_user(); });
//
// What one request records:
//   span     "METHOD route" (just "METHOD" without a route; "HTTP" for a method outside the
//            standard ones), kind SERVER, parent: the context the propagator extracts from the
//            headers (traceparent/tracestate, baggage; none: a new trace). Attributes
//            http.request.method (+ http.request.method_original for "_OTHER"), http.route,
//            url.path, url.scheme, server.address, server.port, client.address,
//            user_agent.original, http.response.status_code; status error and error.type (the
//            status code) for 5xx and codes outside 100-599 only (4xx is the client's error, as
//            the semantic conventions say for servers); an exception recorded with
//            record_exception() adds an "exception" event and error.type = its type. The
//            extracted baggage is current while the scope lives.
//   metrics  those of HttpServerMetrics (when a registry is given): <prefix>_requests_total
//            {method,route,code}, <prefix>_request_duration_seconds{method,route} with exemplar
//            {trace_id, span_id} (the server span) when it is sampled, <prefix>_active_requests.
//            The method label is the normalized method ("_OTHER" for unknown ones): bounded.
//
// Cost (bench/http_middleware_bench.cc, CPU time on the shared 2-core test machine under load):
// the metrics alone (HttpServerMetrics: two label lookups, two clock reads) ~165 ns; without
// tracing the middleware adds ~20 ns to that; with tracing it adds the propagators' extraction
// (~200 ns for a traceparent) and, for a sampled request, the exemplar (~150 ns) beside the
// span itself: ~400 ns plus an unsampled span, ~730 ns plus a sampled span with its 9
// attributes (over issue 14's 300 ns target: see bench/README.md). No allocation once warm,
// except for routes longer than 256 bytes and a baggage or tracestate header.
//
// Thread-safety: HttpServerMiddleware is thread-safe and shared by every request. A Scope belongs
// to one request and must be finished (or destroyed) on the thread that created it (its span is
// current there). Nothing here throws, except what handle()'s callable throws.
#pragma once

#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vigil/metrics/http_metrics.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/span.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {

// A CarrierReader over a callable `std::optional<std::string_view>(std::string_view name)` that
// returns the (first) value of request header `name` (names are passed in lower case; compare
// case-insensitively). Lives on the stack; no allocation. The views the getter returns must
// stay valid while the request is handled.
template <typename Getter>
class HeaderGetterCarrier final : public CarrierReader {
 public:
  explicit HeaderGetterCarrier(Getter getter) : getter_(std::move(getter)) {}
  void get_all(std::string_view name,
               const std::function<void(std::string_view)>& fn) const override {
    std::optional<std::string_view> v = getter_(name);
    if (v) fn(*v);
  }

 private:
  Getter getter_;
};

template <typename Getter>
HeaderGetterCarrier<std::decay_t<Getter>> header_getter(Getter&& getter) {
  return HeaderGetterCarrier<std::decay_t<Getter>>(std::forward<Getter>(getter));
}

// One incoming request, as views valid until the Scope finishes.
struct HttpServerRequest {
  std::string_view method;  // "GET", ...
  // The route template ("/users/{id}"), never the raw path (cardinality); empty when unknown
  // (Scope::set_route can set it after routing).
  std::string_view route;
  std::string_view path;             // url.path (without the query); empty: not recorded
  std::string_view scheme = "http";  // url.scheme
  std::string_view server_address;   // server.address; empty: not recorded
  int server_port = 0;               // server.port; 0: not recorded
  std::string_view client_address;   // client.address; empty: not recorded
  // user_agent.original; empty: the "user-agent" header of `headers`, if any.
  std::string_view user_agent;
  // The request headers, for the incoming trace context and baggage; null: a new trace.
  const CarrierReader* headers = nullptr;
  bool trace = true;  // false: metrics only (no span, no extraction)
};

struct HttpServerMiddlewareOptions {
  // Null: instrumentation_tracer() (the global provider's, followed when it is set).
  Tracer* tracer = nullptr;
  // Null: default_propagator() (OTEL_PROPAGATORS, default tracecontext,baggage).
  const Propagator* propagator = nullptr;
  // Where HttpServerMetrics registers its families; null: no metrics. Must outlive the
  // middleware.
  metrics::Registry* registry = nullptr;
  metrics::HttpServerMetricsOptions metrics{};  // prefix ("http_server"), buckets
  bool exemplars = true;                        // trace_id exemplars on the duration histogram
};

class HttpServerMiddleware {
 public:
  // Registers the metric families (see HttpServerMetrics). Throws vigil::Error when they clash
  // with other metrics of the registry.
  explicit HttpServerMiddleware(HttpServerMiddlewareOptions options = {});
  HttpServerMiddleware(const HttpServerMiddleware&) = delete;
  HttpServerMiddleware& operator=(const HttpServerMiddleware&) = delete;

  // One request (see the file comment). Not movable: create it where the request is handled.
  class Scope {
   public:
    // Extracts the context, starts the span (current on this thread) and the metrics' clock.
    Scope(HttpServerMiddleware& middleware, const HttpServerRequest& request) noexcept;
    // A scope never finished records status 500.
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    // The server span (a no-op span without tracing): add your own attributes to it.
    Span& span() noexcept { return span_; }
    // Sets the route once routing has found it: the metrics label, http.route and the span name.
    // `route` must stay valid until the scope finishes.
    void set_route(std::string_view route) noexcept;
    // Records `e` on the span ("exception" event, status error, error.type = its type).
    void record_exception(const std::exception& e) noexcept;
    // The same for the exception being handled (call it inside a catch block).
    void record_current_exception() noexcept;
    // Records the response status: span attribute and status, metrics (with the exemplar), and
    // ends the span. Later calls do nothing.
    void finish(int status_code) noexcept;
    bool finished() const noexcept { return finished_; }

   private:
    HttpServerMiddleware& owner_;
    std::optional<metrics::HttpServerMetrics::Scope> metrics_;
    std::optional<ContextScope> baggage_;  // the extracted baggage, current until finish()
    Span span_;
    std::string_view method_;  // normalized
    bool finished_ = false;
    bool error_type_set_ = false;
  };

  // Runs `fn` (which may take the Scope&) as one request: finishes with the status it returns
  // (an integral value, or a `.status` member; otherwise 200). An exception is recorded, the
  // request finishes as 500 and the exception is rethrown unchanged.
  template <typename Fn>
  decltype(auto) handle(const HttpServerRequest& request, Fn&& fn) {
    Scope scope(*this, request);
    auto call = [&]() -> decltype(auto) {
      if constexpr (std::is_invocable_v<Fn&&, Scope&>) {
        return std::invoke(std::forward<Fn>(fn), scope);
      } else {
        return std::invoke(std::forward<Fn>(fn));
      }
    };
    using R = decltype(call());
    try {
      if constexpr (std::is_void_v<R>) {
        call();
        scope.finish(200);
      } else {
        R result = call();
        scope.finish(status_of(result));
        return result;
      }
    } catch (...) {
      scope.record_current_exception();
      scope.finish(500);
      throw;
    }
  }

  // The RED metrics (null without a registry); e.g. to count requests answered before routing.
  metrics::HttpServerMetrics* metrics() noexcept { return metrics_ ? &*metrics_ : nullptr; }

 private:
  template <typename R>
  static int status_of(const R& result) noexcept {
    if constexpr (std::integral<R>) {
      return static_cast<int>(result);
    } else if constexpr (requires { static_cast<int>(result.status); }) {
      return static_cast<int>(result.status);
    } else {
      return 200;
    }
  }

  Tracer* tracer_;
  const Propagator* propagator_;
  std::optional<metrics::HttpServerMetrics> metrics_;
  bool exemplars_;
};

// The semantic-convention form of an HTTP method: one of CONNECT, DELETE, GET, HEAD, OPTIONS,
// PATCH, POST, PUT, TRACE (exact, upper case), or "_OTHER". Never throws.
std::string_view normalize_http_method(std::string_view method) noexcept;

}  // namespace vigil::trace
