// LiveSource while other threads record and query: exact totals, windows that add up, no data
// race (also built into guardrail_tsan_test for ThreadSanitizer).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "vigil/guardrail/source.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {
namespace {

TEST(LiveSourceConcurrency, SamplingWhileRecordingCountsEveryRequestOnce) {
  metrics::Registry r;
  auto& requests = r.counter("agent_requests_total", "Requests", {"version", "status"});
  auto& latency = r.histogram("agent_request_duration_seconds", "Latency", {"version"},
                              {.buckets = {0.1, 0.5, 1.0}});
  LiveSource source({.registry = &r,
                     .requests = "agent_requests_total",
                     .outcome_label = "status",
                     .latency = "agent_request_duration_seconds",
                     .cohort_label = "version"});
  const char* versions[] = {"v1", "v2"};
  for (const char* v : versions) {
    requests.labels(v, "success");
    requests.labels(v, "error");
    latency.labels(v);
  }
  const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));
  ASSERT_TRUE(source.sample(t0));

  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const char* version = versions[t % 2];
      auto ok = requests.labels(version, "success");
      auto failed = requests.labels(version, "error");
      auto h = latency.labels(version);
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 10 == 0) {
          failed.inc();
        } else {
          ok.inc();
        }
        h.observe(i % 3 == 0 ? 0.05 : 0.3);
      }
      running.fetch_sub(1);
    });
  }
  // A reader querying while samples are taken.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      for (const char* v : versions) {
        if (auto w = source.last(v, std::chrono::seconds(60))) {
          EXPECT_LE(w->successes + w->errors, w->requests);
        }
      }
      (void)source.cohorts();
    }
  });
  int samples = 1;
  TimePoint now = t0;
  std::string error;
  // Fewer samples than max_samples (4096), so the ring still holds t0 at the end.
  while (running.load() > 0 && samples < 4'000) {
    now += std::chrono::milliseconds(100);
    ASSERT_TRUE(source.sample(now, &error)) << error;
    ++samples;
  }
  for (auto& w : writers) w.join();
  now += std::chrono::milliseconds(100);
  ASSERT_TRUE(source.sample(now));
  stop.store(true);
  reader.join();

  for (const char* v : versions) {
    auto total = source.since(v, t0);
    ASSERT_TRUE(total) << v;
    EXPECT_EQ(total->requests, uint64_t{2} * kPerThread) << v;
    EXPECT_EQ(total->errors, uint64_t{2} * kPerThread / 10) << v;
    EXPECT_EQ(total->successes, total->requests - total->errors) << v;
    EXPECT_EQ(total->latency_count(), uint64_t{2} * kPerThread) << v;
    EXPECT_EQ(total->start, t0);
    EXPECT_EQ(total->end, now);
  }
}

}  // namespace
}  // namespace vigil::guardrail
