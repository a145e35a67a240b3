// The admin server's request middleware (ServerOptions::trace_requests, tracer, self_metrics)
// over real HTTP: a request with a traceparent gets a server span whose parent is the caller's
// span, the handler's spans are its children, the request metrics keep their names and carry the
// trace id as an exemplar in the OpenMetrics scrape, and scrapes and probes are not traced by
// default.
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_client.h"
#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/tracer.h"

namespace vigil::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using trace::SpanData;

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParentId[] = "00f067aa0ba902b7";

// GET `url` with extra request header lines ("Name: value").
testing::HttpResponse get(const std::string& url, const std::vector<std::string>& headers) {
  testing::HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "tracing-test/1");
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &testing::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(list);
  return res;
}

std::string attr(const SpanData& s, std::string_view key) {
  const trace::AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? trace::to_string(*v) : std::string("<absent>");
}

struct Fixture {
  std::shared_ptr<trace::InMemorySpanStore> store = std::make_shared<trace::InMemorySpanStore>();
  std::unique_ptr<trace::TracerProvider> provider;
  metrics::Registry registry;
  std::unique_ptr<Server> server;

  explicit Fixture(TraceRequests mode = TraceRequests::kApi) {
    trace::TracerProviderOptions o;
    o.processors.push_back(std::make_unique<trace::SimpleSpanProcessor>(
        std::make_unique<trace::InMemoryExporter>(store)));
    provider = std::make_unique<trace::TracerProvider>(std::move(o));
    trace::Tracer& tracer = provider->tracer("admin_tracing_test");
    server = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0",
                                                    .threads = 2,
                                                    .self_metrics = &registry,
                                                    .trace_requests = mode,
                                                    .tracer = &tracer});
    server->handle("/api/v1/thing", [&tracer](const Request&) {
      trace::Span child = tracer.start_span("load_thing");  // a child of the server span
      return Response{.status = 201, .body = "made\n"};
    });
    server->handle("/api/v1/broken",
                   [](const Request&) -> Response { throw std::runtime_error("no thing"); });
    server->handle("/health/live", [](const Request&) { return Response{.body = "ok\n"}; },
                   {.access = Access::kPublic});
    server->handle("/debug/tracez", [](const Request&) { return Response{.body = "spans\n"}; });
    add_metrics_endpoint(*server, registry);
    server->start();
  }
  std::string url(const std::string& path) const { return server->url() + path; }
  std::string openmetrics() {
    return get(url("/metrics"), {"Accept: application/openmetrics-text; version=1.0.0"}).body;
  }
};

TEST(AdminTracing, RequestWithTraceparentGetsAServerSpanChildOfTheCaller) {
  Fixture f;
  auto r = get(f.url("/api/v1/thing"),
               {std::string("traceparent: 00-") + kTraceId + "-" + kParentId + "-01",
                "tracestate: vendor=abc"});
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 201);

  auto servers = f.store->find("GET /api/v1/thing");
  ASSERT_EQ(servers.size(), 1u);
  const SpanData& s = servers[0];
  EXPECT_EQ(s.kind, trace::SpanKind::kServer);
  EXPECT_EQ(s.context.trace_id.to_hex(), kTraceId);
  EXPECT_EQ(s.parent_span_id.to_hex(), kParentId);
  EXPECT_TRUE(s.parent_remote);
  EXPECT_EQ(s.context.trace_state.get("vendor").value_or(""), "abc");
  EXPECT_EQ(attr(s, "http.request.method"), "GET");
  EXPECT_EQ(attr(s, "http.route"), "/api/v1/thing");
  EXPECT_EQ(attr(s, "url.path"), "/api/v1/thing");
  EXPECT_EQ(attr(s, "url.scheme"), "http");
  EXPECT_EQ(attr(s, "server.address"), "127.0.0.1");
  EXPECT_EQ(attr(s, "server.port"), std::to_string(f.server->port()));
  EXPECT_EQ(attr(s, "client.address"), "127.0.0.1");
  EXPECT_EQ(attr(s, "user_agent.original"), "tracing-test/1");
  EXPECT_EQ(attr(s, "http.response.status_code"), "201");
  EXPECT_EQ(s.status.code, trace::StatusCode::kUnset);

  auto children = f.store->find("load_thing");
  ASSERT_EQ(children.size(), 1u);
  EXPECT_EQ(children[0].parent_span_id, s.context.span_id);
  EXPECT_EQ(children[0].context.trace_id, s.context.trace_id);

  // The metrics keep their names; the duration histogram carries the trace id as an exemplar.
  const std::string om = f.openmetrics();
  EXPECT_THAT(om, HasSubstr("vigil_admin_http_requests_total{method=\"GET\",route=\"/api/v1/"
                            "thing\",code=\"201\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("vigil_admin_http_request_duration_seconds_count{method=\"GET\","
                            "route=\"/api/v1/thing\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("route=\"/api/v1/thing\",le=\""));
  EXPECT_THAT(om, HasSubstr(std::string(" # {trace_id=\"") + kTraceId + "\",span_id=\"" +
                            s.context.span_id.to_hex() + "\"}"));
}

TEST(AdminTracing, WithoutTraceparentANewTraceStarts) {
  Fixture f;
  ASSERT_EQ(get(f.url("/api/v1/thing"), {}).status, 201);
  auto servers = f.store->find("GET /api/v1/thing");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_TRUE(servers[0].context.trace_id.valid());
  EXPECT_FALSE(servers[0].parent_span_id.valid());
  EXPECT_THAT(f.openmetrics(),
              HasSubstr(" # {trace_id=\"" + servers[0].context.trace_id.to_hex() + "\",span_id=\"" +
                        servers[0].context.span_id.to_hex() + "\"}"));
}

TEST(AdminTracing, ScrapesAndProbesAreNotTracedByDefault) {
  Fixture f;
  ASSERT_EQ(get(f.url("/health/live"), {}).status, 200);
  f.openmetrics();
  ASSERT_EQ(get(f.url("/nowhere"), {}).status, 404);
  ASSERT_EQ(get(f.url("/debug/tracez"), {}).status, 200);  // looking at traces makes none
  EXPECT_EQ(f.store->size(), 0u);
  // ...but counted, as before (a scrape sees the scrapes before it).
  const std::string om = f.openmetrics();
  EXPECT_THAT(om, HasSubstr("vigil_admin_http_requests_total{method=\"GET\",route=\"/health/"
                            "live\",code=\"200\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("vigil_admin_http_requests_total{method=\"GET\",route=\"/metrics\","
                            "code=\"200\"} 1\n"));
  EXPECT_THAT(om, Not(HasSubstr("trace_id")));
}

// The dashboard marks its polling requests: counted, not traced (kApi); kAll traces them.
TEST(AdminTracing, TheDashboardsOwnQueriesAreNotTraced) {
  {
    Fixture f;
    ASSERT_EQ(get(f.url("/api/v1/thing"), {"X-Vigil-Dashboard: 1"}).status, 201);
    EXPECT_TRUE(f.store->find("GET /api/v1/thing").empty());  // (the handler's own span stays)
    EXPECT_THAT(f.openmetrics(),
                HasSubstr("vigil_admin_http_requests_total{method=\"GET\",route=\"/api/v1/"
                          "thing\",code=\"201\"} 1\n"));
    ASSERT_EQ(get(f.url("/api/v1/thing"), {}).status, 201);  // the same route, not marked
    EXPECT_EQ(f.store->find("GET /api/v1/thing").size(), 1u);
  }
  {
    Fixture f(TraceRequests::kAll);
    ASSERT_EQ(get(f.url("/api/v1/thing"), {"x-vigil-dashboard: 1"}).status, 201);
    EXPECT_EQ(f.store->find("GET /api/v1/thing").size(), 1u);
  }
}

TEST(AdminTracing, AllTracesProbesAndNoneTracesNothing) {
  {
    Fixture f(TraceRequests::kAll);
    ASSERT_EQ(get(f.url("/health/live"), {}).status, 200);
    EXPECT_EQ(f.store->find("GET /health/live").size(), 1u);
  }
  {
    Fixture f(TraceRequests::kNone);
    ASSERT_EQ(get(f.url("/api/v1/thing"), {}).status, 201);
    EXPECT_EQ(f.store->find("GET /api/v1/thing").size(), 0u);
    EXPECT_EQ(f.store->find("load_thing").size(), 1u);  // the handler's own span, a root
    EXPECT_THAT(f.openmetrics(), HasSubstr("route=\"/api/v1/thing\",code=\"201\"} 1\n"));
  }
}

TEST(AdminTracing, HandlerExceptionIsRecordedOnTheSpan) {
  Fixture f;
  ASSERT_EQ(get(f.url("/api/v1/broken"), {}).status, 500);
  auto spans = f.store->find("GET /api/v1/broken");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status.code, trace::StatusCode::kError);
  EXPECT_EQ(spans[0].status.message, "no thing");
  EXPECT_EQ(attr(spans[0], "error.type"), "std::runtime_error");
  EXPECT_EQ(attr(spans[0], "http.response.status_code"), "500");
  ASSERT_EQ(spans[0].events.size(), 1u);
  EXPECT_EQ(spans[0].events[0].name, "exception");
  EXPECT_THAT(f.openmetrics(), HasSubstr("route=\"/api/v1/broken\",code=\"500\"} 1\n"));
}

TEST(AdminTracing, UnsampledCallerGetsNoSpanButItsContextFlows) {
  Fixture f;
  // flags 00: the caller did not sample; parent-based sampling follows it.
  ASSERT_EQ(get(f.url("/api/v1/thing"),
                {std::string("traceparent: 00-") + kTraceId + "-" + kParentId + "-00"})
                .status,
            201);
  EXPECT_EQ(f.store->size(), 0u);
  EXPECT_THAT(f.openmetrics(), Not(HasSubstr("trace_id")));
}

}  // namespace
}  // namespace vigil::admin
