// HttpServerMiddleware (http_server.h): the generic request middleware, unit tests with hand-made
// requests. The admin server's use of it, over real HTTP, is in tests/admin/tracing_test.cc.
#include "vigil/trace/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "vigil/metrics/exposition.h"
#include "vigil/trace/exporters.h"

namespace vigil::trace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

struct Fixture {
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  metrics::Registry registry;
  std::unique_ptr<HttpServerMiddleware> middleware;
  explicit Fixture(bool tracing = true) {
    TracerProviderOptions o;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    o.enabled = tracing;
    provider = std::make_unique<TracerProvider>(std::move(o));
    middleware = std::make_unique<HttpServerMiddleware>(HttpServerMiddlewareOptions{
        .tracer = &provider->tracer("http_server_test"), .registry = &registry});
  }
  std::string text() { return metrics::serialize(registry, metrics::Format::kPrometheusText); }
  std::string openmetrics() { return metrics::serialize(registry, metrics::Format::kOpenMetrics); }
  SpanData only() {
    auto spans = store->spans();
    EXPECT_EQ(spans.size(), 1u);
    return spans.empty() ? SpanData() : spans.front();
  }
};

std::string attr(const SpanData& s, std::string_view key) {
  const AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

// Request headers as a framework would hand them: a case-insensitive map.
struct Headers {
  std::map<std::string, std::string> values;  // lower-case names
  std::optional<std::string_view> operator()(std::string_view name) const {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

TEST(HttpServerMiddleware, ContinuesTheIncomingTraceWithSemanticConventionAttributes) {
  Fixture f;
  Headers h{{{"traceparent", std::string(kTraceparent)}, {"user-agent", "curl/8.0"}}};
  auto carrier = header_getter(std::cref(h));
  SpanContext inside;
  {
    HttpServerMiddleware::Scope scope(*f.middleware, {.method = "GET",
                                                      .route = "/users/{id}",
                                                      .path = "/users/42",
                                                      .server_address = "api.local",
                                                      .server_port = 8080,
                                                      .client_address = "10.0.0.7",
                                                      .headers = &carrier});
    inside = current_span_context();  // the server span is current during the handler
    Span child = f.provider->tracer("t").start_span("db");
    child.end();
    scope.finish(200);
  }
  auto spans = f.store->spans();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& child = spans[0];
  const SpanData& s = spans[1];
  EXPECT_EQ(s.name, "GET /users/{id}");
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.context.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s.parent_span_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(s.parent_remote);
  EXPECT_EQ(inside.span_id, s.context.span_id);
  EXPECT_EQ(child.parent_span_id, s.context.span_id);
  EXPECT_EQ(attr(s, "http.request.method"), "GET");
  EXPECT_EQ(attr(s, "http.route"), "/users/{id}");
  EXPECT_EQ(attr(s, "url.path"), "/users/42");
  EXPECT_EQ(attr(s, "url.scheme"), "http");
  EXPECT_EQ(attr(s, "server.address"), "api.local");
  EXPECT_EQ(attr(s, "server.port"), "8080");
  EXPECT_EQ(attr(s, "client.address"), "10.0.0.7");
  EXPECT_EQ(attr(s, "user_agent.original"), "curl/8.0");
  EXPECT_EQ(attr(s, "http.response.status_code"), "200");
  EXPECT_EQ(attr(s, "error.type"), "<absent>");
  EXPECT_EQ(s.status.code, StatusCode::kUnset);

  const std::string t = f.text();
  EXPECT_THAT(t, HasSubstr("http_server_requests_total{method=\"GET\",route=\"/users/{id}\","
                           "code=\"200\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("http_server_request_duration_seconds_count{method=\"GET\","
                           "route=\"/users/{id}\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("http_server_active_requests 0\n"));
  // The trace id as an exemplar on the duration histogram (OpenMetrics only).
  EXPECT_THAT(f.openmetrics(),
              HasSubstr("# {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\""));
}

TEST(HttpServerMiddleware, StatusMappingForServers) {
  struct Case {
    int code;
    StatusCode status;
    std::string error_type;
  };
  const Case cases[] = {
      {200, StatusCode::kUnset, "<absent>"}, {302, StatusCode::kUnset, "<absent>"},
      {404, StatusCode::kUnset, "<absent>"},  // the client's error
      {429, StatusCode::kUnset, "<absent>"}, {500, StatusCode::kError, "500"},
      {503, StatusCode::kError, "503"},      {42, StatusCode::kError, "_OTHER"},
      {700, StatusCode::kError, "_OTHER"}};
  for (const Case& c : cases) {
    Fixture f;
    HttpServerMiddleware::Scope scope(*f.middleware, {.method = "POST", .route = "/x"});
    scope.finish(c.code);
    scope.finish(200);  // later calls do nothing
    SpanData s = f.only();
    EXPECT_EQ(s.status.code, c.status) << c.code;
    EXPECT_EQ(s.status.message, "") << c.code;
    EXPECT_EQ(attr(s, "error.type"), c.error_type) << c.code;
    EXPECT_EQ(attr(s, "http.response.status_code"), std::to_string(c.code));
    const std::string label = c.code >= 100 && c.code <= 599 ? std::to_string(c.code) : "other";
    EXPECT_THAT(f.text(),
                HasSubstr("http_server_requests_total{method=\"POST\",route=\"/x\",code=\"" +
                          label + "\"} 1\n"))
        << c.code;
  }
}

TEST(HttpServerMiddleware, NeverFinishedScopeRecords500AndEndsTheSpan) {
  Fixture f;
  {
    HttpServerMiddleware::Scope scope(*f.middleware, {.method = "GET", .route = "/slow"});
    EXPECT_THAT(f.text(), HasSubstr("http_server_active_requests 1\n"));
  }
  SpanData s = f.only();
  EXPECT_EQ(s.name, "GET /slow");
  EXPECT_EQ(attr(s, "http.response.status_code"), "500");
  EXPECT_EQ(s.status.code, StatusCode::kError);
  EXPECT_GT(s.end_unix_nanos, 0u);
  EXPECT_THAT(f.text(), HasSubstr("http_server_requests_total{method=\"GET\",route=\"/slow\","
                                  "code=\"500\"} 1\n"));
  EXPECT_THAT(f.text(), HasSubstr("http_server_active_requests 0\n"));
  EXPECT_FALSE(current_span_context().valid());
}

TEST(HttpServerMiddleware, HandleRecordsAnExceptionFinishesAs500AndRethrows) {
  Fixture f;
  EXPECT_THROW(f.middleware->handle({.method = "GET", .route = "/boom"},
                                    []() -> int { throw std::runtime_error("db down"); }),
               std::runtime_error);
  SpanData s = f.only();
  EXPECT_EQ(s.status.code, StatusCode::kError);
  EXPECT_EQ(s.status.message, "db down");
  EXPECT_EQ(attr(s, "error.type"), "std::runtime_error");
  EXPECT_EQ(attr(s, "http.response.status_code"), "500");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_THAT(f.text(), HasSubstr("http_server_requests_total{method=\"GET\",route=\"/boom\","
                                  "code=\"500\"} 1\n"));
}

TEST(HttpServerMiddleware, HandleTakesTheStatusFromWhatTheHandlerReturns) {
  Fixture f;
  struct Reply {
    int status;
    std::string body;
  };
  EXPECT_EQ(f.middleware->handle({.method = "GET", .route = "/a"}, [] { return 201; }), 201);
  Reply r = f.middleware->handle({.method = "GET", .route = "/b"},
                                 [](HttpServerMiddleware::Scope& scope) {
                                   scope.span().set_attribute("app.user", "u1");
                                   return Reply{404, "none"};
                                 });
  EXPECT_EQ(r.body, "none");
  f.middleware->handle({.method = "GET", .route = "/c"}, [] {});
  const std::string t = f.text();
  EXPECT_THAT(t, HasSubstr("route=\"/a\",code=\"201\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("route=\"/b\",code=\"404\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("route=\"/c\",code=\"200\"} 1\n"));
  auto b = f.store->find("GET /b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(attr(b[0], "app.user"), "u1");
}

TEST(HttpServerMiddleware, UnsampledRequestHasMetricsButNoSpanOrExemplar) {
  Fixture f;
  Headers h{{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}}};
  auto carrier = header_getter(std::cref(h));
  {
    HttpServerMiddleware::Scope scope(*f.middleware,
                                      {.method = "GET", .route = "/u", .headers = &carrier});
    // Not recording, but the context continues the caller's trace (so it propagates).
    EXPECT_EQ(current_span_context().trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    scope.finish(200);
  }
  EXPECT_EQ(f.store->size(), 0u);
  EXPECT_THAT(f.text(), HasSubstr("route=\"/u\",code=\"200\"} 1\n"));
  EXPECT_THAT(f.openmetrics(), Not(HasSubstr("trace_id")));
}

TEST(HttpServerMiddleware, WithoutTracingOnlyMetrics) {
  Fixture disabled(false);
  disabled.middleware->handle({.method = "GET", .route = "/d"}, [] { return 200; });
  EXPECT_EQ(disabled.store->size(), 0u);
  EXPECT_THAT(disabled.text(), HasSubstr("route=\"/d\",code=\"200\"} 1\n"));

  Fixture f;
  f.middleware->handle({.method = "GET", .route = "/e", .trace = false}, [] { return 200; });
  EXPECT_EQ(f.store->size(), 0u);
  EXPECT_THAT(f.text(), HasSubstr("route=\"/e\",code=\"200\"} 1\n"));
}

TEST(HttpServerMiddleware, MalformedTraceparentStartsANewTrace) {
  Fixture f;
  Headers h{{{"traceparent", "00-XYZ-not-a-context"}, {"tracestate", "\x01\xff"}}};
  auto carrier = header_getter(std::cref(h));
  HttpServerMiddleware::Scope(*f.middleware, {.method = "GET", .route = "/m", .headers = &carrier})
      .finish(200);
  SpanData s = f.only();
  EXPECT_TRUE(s.context.trace_id.valid());
  EXPECT_FALSE(s.parent_span_id.valid());
}

TEST(HttpServerMiddleware, BaggageIsCurrentDuringTheRequest) {
  Fixture f;
  Headers h{{{"baggage", "tenant=acme,request.id=r-1"}}};
  auto carrier = header_getter(std::cref(h));
  {
    HttpServerMiddleware::Scope scope(*f.middleware,
                                      {.method = "GET", .route = "/b", .headers = &carrier});
    EXPECT_EQ(current_baggage().get("tenant").value_or(""), "acme");
    scope.finish(200);
    EXPECT_FALSE(current_baggage().get("tenant").has_value());
  }
}

TEST(HttpServerMiddleware, OtherMethodsAreBoundedAndRouteMaySetLater) {
  Fixture f;
  {
    HttpServerMiddleware::Scope scope(*f.middleware, {.method = "BREW", .path = "/pot/1"});
    scope.set_route("/pot/{id}");
    scope.finish(418);
  }
  SpanData s = f.only();
  EXPECT_EQ(s.name, "HTTP /pot/{id}");
  EXPECT_EQ(attr(s, "http.request.method"), "_OTHER");
  EXPECT_EQ(attr(s, "http.request.method_original"), "BREW");
  EXPECT_EQ(attr(s, "http.route"), "/pot/{id}");
  EXPECT_THAT(f.text(),
              HasSubstr("http_server_requests_total{method=\"_OTHER\",route=\"/pot/{id}\","
                        "code=\"418\"} 1\n"));
  EXPECT_EQ(normalize_http_method("get"), "_OTHER");
  EXPECT_EQ(normalize_http_method("PATCH"), "PATCH");
}

TEST(HttpServerMiddleware, LongRouteNamesTheSpan) {
  Fixture f;
  const std::string route = "/" + std::string(300, 'r');
  f.middleware->handle({.method = "GET", .route = route}, [] { return 200; });
  EXPECT_EQ(f.only().name, "GET " + route);
}

TEST(HttpServerMiddleware, NoRegistryNoMetrics) {
  ContextScope clean{Context()};
  HttpServerMiddleware plain;  // the global (no-op) provider, no registry
  EXPECT_EQ(plain.metrics(), nullptr);
  EXPECT_EQ(plain.handle({.method = "GET", .route = "/"}, [] { return 7; }), 7);
}

}  // namespace
}  // namespace vigil::trace
