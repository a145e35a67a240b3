// CurlInstrumentation (vigil/trace/curl.h) against a local admin server: the traceparent the
// server receives is the client span's, the user's header list is merged without being changed,
// client metrics and exemplars, HTTP and transport errors, and the server span (the admin
// server's middleware) continues the client's trace.
#include "vigil/trace/curl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fake_collector.h"  // RefusingPort
#include "vigil/admin/server.h"
#include "vigil/metrics/exposition.h"
#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/propagation.h"

namespace vigil::trace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string attr(const SpanData& s, std::string_view key) {
  const AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

struct Seen {
  std::string traceparent, tracestate, baggage, custom, method;
};

struct Fixture {
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  metrics::Registry registry;
  std::unique_ptr<CurlInstrumentation> http;
  std::mutex mu;
  std::vector<Seen> seen;
  std::unique_ptr<admin::Server> server;

  explicit Fixture(bool tracing = true) {
    TracerProviderOptions o;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    o.enabled = tracing;
    provider = std::make_unique<TracerProvider>(std::move(o));
    Tracer& tracer = provider->tracer("curl_test");
    http = std::make_unique<CurlInstrumentation>(
        CurlInstrumentationOptions{.tracer = &tracer, .registry = &registry});
    // The receiving end: an admin server traced by the same provider.
    server = std::make_unique<admin::Server>(
        admin::ServerOptions{.listen = "127.0.0.1:0", .threads = 2, .tracer = &tracer});
    server->handle("/api/echo",
                   [this](const admin::Request& req) {
                     std::lock_guard lock(mu);
                     seen.push_back({std::string(req.header("traceparent").value_or("")),
                                     std::string(req.header("tracestate").value_or("")),
                                     std::string(req.header("baggage").value_or("")),
                                     std::string(req.header("X-Custom").value_or("")),
                                     std::string(req.method)});
                     const int status = std::stoi(req.query_param("status").value_or("200"));
                     return admin::Response{.status = status, .body = "ok\n"};
                   },
                   {.methods = {"GET", "POST"}, .access = admin::Access::kPublic});
    server->start();
  }
  std::string url(const std::string& q = "") { return server->url() + "/api/echo" + q; }
  std::string server_label() { return "127.0.0.1:" + std::to_string(server->port()); }
  std::string text() { return metrics::serialize(registry, metrics::Format::kPrometheusText); }
  SpanData client() {
    auto spans = store->spans();
    for (const SpanData& s : spans) {
      if (s.kind == SpanKind::kClient) return s;
    }
    ADD_FAILURE() << "no client span";
    return SpanData();
  }
};

CURL* easy_for(const std::string& url) {
  CURL* e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
  return e;
}

TEST(CurlInstrumentation, InjectsTheClientSpanAndRecordsIt) {
  Fixture f;
  const std::string url = f.url();
  CURL* e = easy_for(url);
  ASSERT_EQ(f.http->perform(e, {.method = "GET", .url = url}), CURLE_OK);
  curl_easy_cleanup(e);

  const SpanData c = f.client();
  EXPECT_EQ(c.name, "GET");
  EXPECT_FALSE(c.parent_span_id.valid());
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].traceparent, format_traceparent(c.context));
  EXPECT_EQ(attr(c, "http.request.method"), "GET");
  EXPECT_EQ(attr(c, "url.full"), url);
  EXPECT_EQ(attr(c, "server.address"), "127.0.0.1");
  EXPECT_EQ(attr(c, "server.port"), std::to_string(f.server->port()));
  EXPECT_EQ(attr(c, "http.response.status_code"), "200");
  EXPECT_EQ(attr(c, "error.type"), "<absent>");
  EXPECT_EQ(c.status.code, StatusCode::kUnset);

  // The admin server's middleware continued the client's trace.
  auto servers = f.store->find("GET /api/echo");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].context.trace_id, c.context.trace_id);
  EXPECT_EQ(servers[0].parent_span_id, c.context.span_id);

  const std::string t = f.text();
  EXPECT_THAT(t, HasSubstr("http_client_requests_total{method=\"GET\",code=\"200\",server=\"" +
                           f.server_label() + "\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("http_client_request_duration_seconds_count{method=\"GET\",server=\"" +
                           f.server_label() + "\"} 1\n"));
  EXPECT_THAT(metrics::serialize(f.registry, metrics::Format::kOpenMetrics),
              HasSubstr("# {trace_id=\"" + c.context.trace_id.to_hex() + "\",span_id=\"" +
                        c.context.span_id.to_hex() + "\"}"));
}

TEST(CurlInstrumentation, MergesTheUsersHeadersWithoutChangingThem) {
  Fixture f;
  curl_slist* mine = curl_slist_append(nullptr, "X-Custom: 1");
  mine = curl_slist_append(mine, "Traceparent: 00-bogus");  // replaced in the copy
  CURL* e = easy_for(f.url());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, mine);
  {
    Span parent = f.provider->tracer("t").start_span("checkout");
    Baggage b;
    b.set("tenant", "acme");
    ContextScope bag(b);
    ASSERT_EQ(f.http->perform(e, {.method = "GET", .url = f.url(), .headers = mine}), CURLE_OK);
  }
  // The user's list is as it was.
  ASSERT_NE(mine, nullptr);
  EXPECT_STREQ(mine->data, "X-Custom: 1");
  ASSERT_NE(mine->next, nullptr);
  EXPECT_STREQ(mine->next->data, "Traceparent: 00-bogus");
  EXPECT_EQ(mine->next->next, nullptr);
  // The handle points at the user's list again: a plain transfer sends it unchanged.
  ASSERT_EQ(curl_easy_perform(e), CURLE_OK);
  curl_easy_cleanup(e);
  curl_slist_free_all(mine);

  ASSERT_EQ(f.seen.size(), 2u);
  const SpanData c = f.client();
  auto parents = f.store->find("checkout");
  ASSERT_EQ(parents.size(), 1u);
  EXPECT_EQ(c.parent_span_id, parents[0].context.span_id);  // the current span is the parent
  EXPECT_EQ(f.seen[0].custom, "1");
  EXPECT_EQ(f.seen[0].traceparent, format_traceparent(c.context));
  EXPECT_EQ(f.seen[0].baggage, "tenant=acme");
  EXPECT_EQ(f.seen[1].custom, "1");
  EXPECT_EQ(f.seen[1].traceparent, "00-bogus");
  EXPECT_EQ(f.seen[1].baggage, "");
}

TEST(CurlInstrumentation, HttpErrorsAreErrorsOfTheClientSpan) {
  Fixture f;
  for (int status : {404, 503}) {
    f.store->clear();
    const std::string url = f.url("?status=" + std::to_string(status));
    CURL* e = easy_for(url);
    ASSERT_EQ(f.http->perform(e, {.method = "GET", .url = url}), CURLE_OK);
    curl_easy_cleanup(e);
    const SpanData c = f.client();
    EXPECT_EQ(c.status.code, StatusCode::kError) << status;
    EXPECT_EQ(attr(c, "error.type"), std::to_string(status));
    EXPECT_EQ(attr(c, "http.response.status_code"), std::to_string(status));
    EXPECT_THAT(f.text(),
                HasSubstr("http_client_requests_total{method=\"GET\",code=\"" +
                          std::to_string(status) + "\",server=\"" + f.server_label() + "\"} 1\n"));
  }
}

TEST(CurlInstrumentation, RefusedConnectionIsATransportError) {
  Fixture f;
  exporters::testing::RefusingPort refusing;
  const std::string url = refusing.endpoint();
  CURL* e = easy_for(url);
  EXPECT_EQ(f.http->perform(e, {.method = "POST", .url = url}), CURLE_COULDNT_CONNECT);
  curl_easy_cleanup(e);
  const SpanData c = f.client();
  EXPECT_EQ(c.name, "POST");
  EXPECT_EQ(c.status.code, StatusCode::kError);
  EXPECT_FALSE(c.status.message.empty());
  EXPECT_EQ(attr(c, "error.type"), "CURLE_COULDNT_CONNECT");
  EXPECT_EQ(attr(c, "http.response.status_code"), "<absent>");
  const std::string server = url.substr(7, url.find('/', 7) - 7);
  EXPECT_THAT(f.text(), HasSubstr("http_client_requests_total{method=\"POST\",code=\"error\","
                                  "server=\"" +
                                  server + "\"} 1\n"));
}

TEST(CurlInstrumentation, MethodAndUrlReadFromTheHandleAfterTheTransfer) {
  Fixture f;
  const std::string url = f.url();
  CURL* e = easy_for(url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
  ASSERT_EQ(f.http->perform(e), CURLE_OK);
  curl_easy_cleanup(e);
  const SpanData c = f.client();
  EXPECT_EQ(c.name, "POST");
  EXPECT_EQ(attr(c, "http.request.method"), "POST");
  EXPECT_EQ(attr(c, "url.full"), url);
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].method, "POST");
  EXPECT_THAT(f.text(), HasSubstr("http_client_requests_total{method=\"POST\",code=\"200\""));
}

TEST(CurlInstrumentation, WithoutTracingTheCurrentContextIsPropagated) {
  Fixture f(false);
  SpanContext incoming =
      *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ContextScope scope(incoming);
  CURL* e = easy_for(f.url());
  ASSERT_EQ(f.http->perform(e, {.method = "GET", .url = f.url()}), CURLE_OK);
  curl_easy_cleanup(e);
  EXPECT_EQ(f.store->size(), 0u);
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_THAT(f.text(), HasSubstr("http_client_requests_total{method=\"GET\",code=\"200\""));
  EXPECT_THAT(metrics::serialize(f.registry, metrics::Format::kOpenMetrics),
              Not(HasSubstr("trace_id")));
}

TEST(CurlInstrumentation, AbandonedCallIsRecordedAndRestoresTheHeaders) {
  Fixture f;
  curl_slist* mine = curl_slist_append(nullptr, "X-Custom: 2");
  CURL* e = easy_for(f.url());
  {
    CurlInstrumentation::Call call(*f.http, e, {.method = "GET", .url = f.url(), .headers = mine});
  }
  const SpanData c = f.client();
  EXPECT_EQ(attr(c, "error.type"), "abandoned");
  EXPECT_EQ(c.status.code, StatusCode::kError);
  ASSERT_EQ(curl_easy_perform(e), CURLE_OK);  // the user's list is set again
  curl_easy_cleanup(e);
  curl_slist_free_all(mine);
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].custom, "2");
  EXPECT_EQ(f.seen[0].traceparent, "");
}

TEST(CurlInstrumentation, UrlCredentialsAreRedacted) {
  ClientUrl u = parse_client_url("http://alice:s3cret@example.com:8080/x?q=1");
  EXPECT_EQ(u.full, "http://REDACTED:REDACTED@example.com:8080/x?q=1");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 8080);
  ClientUrl d = parse_client_url("https://example.com/");
  EXPECT_EQ(d.full, "https://example.com/");
  EXPECT_EQ(d.port, 443);
  EXPECT_EQ(parse_client_url("not a url").full, "");
}

TEST(CurlInstrumentation, ErrorNames) {
  EXPECT_EQ(curl_error_name(CURLE_COULDNT_CONNECT), "CURLE_COULDNT_CONNECT");
  EXPECT_EQ(curl_error_name(CURLE_OPERATION_TIMEDOUT), "CURLE_OPERATION_TIMEDOUT");
  EXPECT_EQ(curl_error_name(static_cast<CURLcode>(CURL_LAST - 1 + 1)),
            "CURLE_" + std::to_string(static_cast<int>(CURL_LAST)));
}

}  // namespace
}  // namespace vigil::trace
