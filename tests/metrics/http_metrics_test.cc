#include "vigil/metrics/http_metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "test_sink.h"
#include "vigil/core/error.h"

namespace vigil::metrics {
namespace {

TEST(HttpServerMetrics, CountsTimesAndTracksActiveRequests) {
  Registry r;
  HttpServerMetrics http(r);
  {
    auto a = http.start("GET", "/users/{id}");
    auto b = http.start("POST", "/users");
    EXPECT_EQ(r.gauge("http_server_active_requests", "HTTP requests being handled").get().value(),
              2);
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    a.finish(200);
    b.finish(201);
    a.finish(404);  // a second finish is ignored
  }
  { auto c = http.start("GET", "/users/{id}"); }  // never finished: 500
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* requests = sink.family("http_server_requests");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->find({"GET", "/users/{id}", "200"})->value, 1);
  EXPECT_EQ(requests->find({"POST", "/users", "201"})->value, 1);
  EXPECT_EQ(requests->find({"GET", "/users/{id}", "500"})->value, 1);
  EXPECT_EQ(requests->find({"GET", "/users/{id}", "404"}), nullptr);
  const auto* duration = sink.family("http_server_request_duration_seconds");
  const auto* get = duration->find({"GET", "/users/{id}"});
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->value, 2);
  EXPECT_GE(get->sum, 0.003);
  EXPECT_EQ(sink.family("http_server_active_requests")->series[0].value, 0);
}

TEST(HttpServerMetrics, OddStatusCodesAndClashes) {
  Registry r;
  HttpServerMetrics http(r);
  http.start("GET", "/").finish(999);
  auto& requests =
      r.counter("http_server_requests_total", "HTTP requests handled", {"method", "route", "code"});
  EXPECT_EQ(requests.labels("GET", "/", "other").value(), 1);
  HttpServerMetrics again(r);  // get-or-create: the same families
  again.start("GET", "/").finish(200);
  EXPECT_EQ(requests.labels("GET", "/", "200").value(), 1);
  r.gauge("api_requests_total", "a clash");
  EXPECT_THROW(HttpServerMetrics(r, {.prefix = "api"}), Error);
}

}  // namespace
}  // namespace vigil::metrics
