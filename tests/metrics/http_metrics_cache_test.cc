// HttpServerMetrics' per-thread handle cache (src/metrics/http_metrics.cc): every request still
// lands in the exported series after code and route evictions, remove(), clear(), a second
// registry, a reused route buffer, the overflow series, and from several threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_sink.h"
#include "vigil/metrics/http_metrics.h"

namespace vigil::metrics {
namespace {

Family<Counter>& requests_family(Registry& r, const MetricOptions& o = {}) {
  return r.counter("http_server_requests_total", "HTTP requests handled",
                   {"method", "route", "code"}, o);
}

Family<Histogram>& duration_family(Registry& r, const MetricOptions& o = {}) {
  return r.histogram("http_server_request_duration_seconds", "HTTP request handling time",
                     {"method", "route"}, {.buckets = HttpServerMetricsOptions{}.buckets}, o);
}

double requests(Registry& r, std::string_view method, std::string_view route, std::string_view code,
                const MetricOptions& o = {}) {
  return requests_family(r, o).labels(method, route, code).value();
}

uint64_t observations(Registry& r, const std::string& method, const std::string& route) {
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* f = sink.family("http_server_request_duration_seconds");
  if (f == nullptr) return 0;
  const auto* s = f->find({method, route});
  return s == nullptr ? 0 : static_cast<uint64_t>(s->value);
}

TEST(HttpServerMetricsCache, MoreCodesThanAnEntryHoldsAreAllCounted) {
  Registry r;
  HttpServerMetrics http(r);
  // 6 codes through one entry of 4 code slots, twice: replaced slots are looked up again.
  for (int round = 0; round < 2; ++round) {
    for (int code : {200, 201, 202, 203, 204, 200}) http.start("GET", "/a").finish(code);
  }
  EXPECT_EQ(requests(r, "GET", "/a", "200"), 4);
  for (const char* code : {"201", "202", "203", "204"})
    EXPECT_EQ(requests(r, "GET", "/a", code), 2);
  EXPECT_EQ(observations(r, "GET", "/a"), 12u);
}

TEST(HttpServerMetricsCache, MoreRoutesThanTheCacheHoldsAreAllCounted) {
  Registry r;
  HttpServerMetrics http(r);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string route = "/route/" + std::to_string(i);
      http.start(i % 2 == 0 ? "GET" : "POST", route).finish(200);
    }
  }
  for (int i = 0; i < 40; ++i) {
    const std::string route = "/route/" + std::to_string(i);
    const char* method = i % 2 == 0 ? "GET" : "POST";
    EXPECT_EQ(requests(r, method, route, "200"), 3) << route;
    EXPECT_EQ(observations(r, method, route), 3u) << route;
  }
}

TEST(HttpServerMetricsCache, ARemovedOrClearedSeriesIsLookedUpAgain) {
  Registry r;
  HttpServerMetrics http(r);
  http.start("GET", "/a").finish(200);
  http.start("GET", "/a").finish(200);
  ASSERT_TRUE(requests_family(r).remove("GET", "/a", "200"));
  http.start("GET", "/a").finish(200);  // the cached handle is of the removed series
  EXPECT_EQ(requests(r, "GET", "/a", "200"), 1);
  EXPECT_EQ(observations(r, "GET", "/a"), 3u);

  duration_family(r).clear();
  requests_family(r).clear();
  http.start("GET", "/a").finish(200);
  EXPECT_EQ(requests(r, "GET", "/a", "200"), 1);
  EXPECT_EQ(observations(r, "GET", "/a"), 1u);
}

TEST(HttpServerMetricsCache, TwoRegistriesAndANewMiddlewareKeepTheirOwnSeries) {
  Registry r1, r2;
  {
    HttpServerMetrics a(r1), b(r2);
    for (int i = 0; i < 3; ++i) a.start("GET", "/x").finish(200);
    for (int i = 0; i < 5; ++i) b.start("GET", "/x").finish(200);
    EXPECT_EQ(requests(r1, "GET", "/x", "200"), 3);
    EXPECT_EQ(requests(r2, "GET", "/x", "200"), 5);
  }
  Registry r3;
  HttpServerMetrics c(r3);  // may reuse an address: the cache is keyed by a never reused id
  c.start("GET", "/x").finish(200);
  EXPECT_EQ(requests(r3, "GET", "/x", "200"), 1);
  EXPECT_EQ(requests(r1, "GET", "/x", "200"), 3);
  EXPECT_EQ(requests(r2, "GET", "/x", "200"), 5);
}

TEST(HttpServerMetricsCache, AReusedRouteBufferIsComparedByContent) {
  Registry r;
  HttpServerMetrics http(r);
  char buf[32];
  for (const char* route : {"/users/{id}", "/items/{id}", "/users/{id}", "/users/{ix}"}) {
    std::strcpy(buf, route);  // same pointer, same length, other text
    http.start("GET", std::string_view(buf, std::strlen(route))).finish(200);
  }
  EXPECT_EQ(requests(r, "GET", "/users/{id}", "200"), 2);
  EXPECT_EQ(requests(r, "GET", "/items/{id}", "200"), 1);
  EXPECT_EQ(requests(r, "GET", "/users/{ix}", "200"), 1);
}

TEST(HttpServerMetricsCache, OverflowFoldsStayCountedPerRequest) {
  Registry r;
  const MetricOptions o{.cardinality_limit = 2};
  HttpServerMetrics http(r, {.metric_options = o});
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) http.start("GET", "/r" + std::to_string(i)).finish(200);
  }
  // /r0 and /r1 have series; /r2../r4 fold into the overflow series on every request.
  EXPECT_EQ(requests(r, "GET", "/r0", "200", o), 2);
  EXPECT_EQ(requests_family(r, o).overflow_count(), 6u);
  EXPECT_EQ(duration_family(r, o).overflow_count(), 6u);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* overflow =
      sink.family("http_server_requests")->find({"__overflow__", "__overflow__", "__overflow__"});
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(overflow->value, 6);
}

TEST(HttpServerMetricsCache, IdleExpiryTurnsTheCacheOffAndCountsStayRight) {
  Registry r;
  const MetricOptions o{.idle_expiry = std::chrono::seconds(60)};
  HttpServerMetrics http(r, {.metric_options = o});
  for (int i = 0; i < 3; ++i) http.start("GET", "/a").finish(404);
  EXPECT_EQ(requests(r, "GET", "/a", "404", o), 3);
}

TEST(HttpServerMetricsCache, ConcurrentRequestsAreAllCounted) {
  Registry r;
  HttpServerMetrics http(r);
  constexpr int kThreads = 4, kPerThread = 5000, kRoutes = 24;  // more routes than slots
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&http, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string route = "/r" + std::to_string((i + t) % kRoutes);
        http.start("GET", route).finish(i % 3 == 0 ? 500 : 200);
      }
    });
  }
  for (auto& th : threads) th.join();
  double total = 0;
  for (int i = 0; i < kRoutes; ++i) {
    const std::string route = "/r" + std::to_string(i);
    total += requests(r, "GET", route, "200") + requests(r, "GET", route, "500");
  }
  EXPECT_EQ(total, kThreads * kPerThread);
}

TEST(HttpServerMetricsCache, ConcurrentRemovalNeverLosesLaterRequests) {
  Registry r;
  HttpServerMetrics http(r);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&http, &stop] {
      for (int i = 0; i < 20000 && !stop.load(); ++i) {
        http.start("GET", i % 2 == 0 ? "/a" : "/b").finish(200);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    requests_family(r).remove("GET", "/a", "200");
    if (i % 10 == 0) duration_family(r).clear();
  }
  stop = true;
  for (auto& th : threads) th.join();
  // After the removals, every request is exported again, from every thread.
  requests_family(r).clear();
  duration_family(r).clear();
  threads.clear();
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&http] {
      for (int i = 0; i < 10; ++i) http.start("GET", "/a").finish(200);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(requests(r, "GET", "/a", "200"), 30);
  EXPECT_EQ(observations(r, "GET", "/a"), 30u);
}

}  // namespace
}  // namespace vigil::metrics
