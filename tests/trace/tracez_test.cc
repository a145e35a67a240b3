#include "vigil/trace/tracez.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "vigil/trace/context.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {
namespace {

struct Fixture {
  // Earlier tests on this thread may have left a context current (out-of-order ends).
  ContextScope clean{Context()};
  std::shared_ptr<TracezStore> store;
  std::unique_ptr<TracerProvider> provider;
  explicit Fixture(TracezOptions options = {}) {
    auto p = std::make_unique<TracezProcessor>(options);
    store = p->store();
    TracerProviderOptions o;
    o.processors.push_back(std::move(p));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  Tracer& tracer() { return provider->tracer("tracez_test"); }
  // A span of `name` lasting `nanos` (explicit times).
  void span(std::string_view name, uint64_t nanos, bool error = false) {
    Span s = tracer().start_span(name, {.start_unix_nanos = 1'000'000'000});
    if (error) s.set_status(StatusCode::kError, "boom");
    s.end(1'000'000'000 + nanos);
  }
};

const TracezNameSummary* find(const TracezSnapshot& snap, std::string_view name) {
  for (const auto& n : snap.names) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

TEST(Tracez, Buckets) {
  EXPECT_EQ(tracez_bucket(0), 0u);
  EXPECT_EQ(tracez_bucket(9'999), 0u);
  EXPECT_EQ(tracez_bucket(10'000), 1u);
  EXPECT_EQ(tracez_bucket(999'999), 2u);
  EXPECT_EQ(tracez_bucket(1'000'000), 3u);
  EXPECT_EQ(tracez_bucket(99'999'999'999), 7u);
  EXPECT_EQ(tracez_bucket(100'000'000'000), 8u);
  EXPECT_EQ(tracez_bucket(UINT64_MAX), 8u);
  EXPECT_EQ(tracez_bucket_label(0), "[0,10us)");
  EXPECT_EQ(tracez_bucket_label(8), "[100s,inf)");
  EXPECT_EQ(tracez_bucket_label(9), "");
}

TEST(Tracez, RunningSpansAppearAndLeave) {
  Fixture f;
  {
    Span a = f.tracer().start_span("outer", {.kind = SpanKind::kServer});
    Span b = f.tracer().start_span("inner");
    TracezSnapshot snap = f.store->snapshot();
    ASSERT_EQ(snap.running.size(), 2u);
    EXPECT_EQ(snap.running[0].name, "outer");  // oldest first
    EXPECT_EQ(snap.running[0].kind, SpanKind::kServer);
    EXPECT_EQ(snap.running[0].span_id, a.span_id());
    EXPECT_EQ(snap.running[1].parent_span_id, a.span_id());
    EXPECT_EQ(find(snap, "outer")->running, 1u);
    b.update_name("renamed");
  }
  TracezSnapshot snap = f.store->snapshot();
  EXPECT_TRUE(snap.running.empty());
  EXPECT_EQ(find(snap, "outer")->running, 0u);
  EXPECT_EQ(find(snap, "inner")->running, 0u);
  ASSERT_NE(find(snap, "renamed"), nullptr);  // ended spans count under their final name
  EXPECT_EQ(find(snap, "renamed")->latency_counts[0] + find(snap, "renamed")->latency_counts[1] +
                find(snap, "renamed")->latency_counts[2] + find(snap, "renamed")->latency_counts[3],
            1u);
}

TEST(Tracez, LatencyBucketsSamplesAndErrors) {
  Fixture f({.samples_per_bucket = 2, .errors_per_name = 3});
  f.span("op", 5'000);            // [0,10us)
  f.span("op", 50'000);           // [10us,100us)
  f.span("op", 2'000'000);        // [1ms,10ms)
  f.span("op", 3'000'000);        // [1ms,10ms)
  f.span("op", 4'000'000);        // [1ms,10ms): the oldest of the bucket's samples goes
  f.span("op", 200'000'000'000);  // [100s,inf)
  for (int i = 0; i < 5; ++i) f.span("op", 1'000 + static_cast<uint64_t>(i), true);
  f.span("other", 1, true);

  TracezSnapshot plain = f.store->snapshot();
  const TracezNameSummary* op = find(plain, "op");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->latency_counts[0], 1u);
  EXPECT_EQ(op->latency_counts[1], 1u);
  EXPECT_EQ(op->latency_counts[3], 3u);
  EXPECT_EQ(op->latency_counts[8], 1u);
  EXPECT_EQ(op->error_count, 5u);
  EXPECT_TRUE(op->latency_samples[3].empty());  // samples only when asked for
  ASSERT_EQ(plain.recent_errors.size(), 4u);    // 3 kept for op + 1 for other
  EXPECT_EQ(plain.names.size(), 2u);

  TracezSnapshot detail = f.store->snapshot({.name = "op", .max_recent_errors = 2});
  op = find(detail, "op");
  ASSERT_EQ(op->latency_samples[3].size(), 2u);
  EXPECT_EQ(op->latency_samples[3][0].duration_nanos(), 4'000'000u);  // newest first
  EXPECT_EQ(op->latency_samples[3][1].duration_nanos(), 3'000'000u);
  ASSERT_EQ(op->error_samples.size(), 3u);
  EXPECT_EQ(op->error_samples[0].duration_nanos(), 1'004u);
  EXPECT_EQ(op->error_samples[0].status.message, "boom");
  EXPECT_TRUE(find(detail, "other")->error_samples.empty());
  EXPECT_EQ(detail.recent_errors.size(), 2u);
}

TEST(Tracez, BoundedNamesAndRunning) {
  Fixture f({.max_span_names = 3, .max_running = 2});
  for (int i = 0; i < 10; ++i) f.span("name" + std::to_string(i), 1);
  TracezSnapshot snap = f.store->snapshot();
  EXPECT_EQ(snap.names.size(), 3u);
  EXPECT_EQ(snap.spans_untracked, 7u);

  {
    Span a = f.tracer().start_span("name0");
    Span b = f.tracer().start_span("name1");
    Span c = f.tracer().start_span("name2");
    Span d = f.tracer().start_span("name9");  // no room for the name
    snap = f.store->snapshot();
    EXPECT_EQ(snap.running.size(), 2u);
    EXPECT_EQ(snap.running_untracked, 2u);
    snap = f.store->snapshot({.max_running = 1});
    EXPECT_EQ(snap.running.size(), 1u);
  }
  snap = f.store->snapshot();
  EXPECT_EQ(snap.running.size(), 0u);
  EXPECT_EQ(snap.running_untracked, 0u);
}

TEST(Tracez, ConcurrentSpansAndSnapshots) {
  Fixture f({.samples_per_bucket = 3});
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      TracezSnapshot s = f.store->snapshot({.name = "work"});
      (void)s;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        Span s = f.tracer().start_span(i % 2 ? "work" : "other");
        if (i % 7 == 0) s.set_status(StatusCode::kError, "e");
        if (t == 0 && i % 100 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  reader.join();
  TracezSnapshot s = f.store->snapshot();
  uint64_t total = 0;
  for (const auto& n : s.names) {
    total += n.error_count;
    for (uint64_t c : n.latency_counts) total += c;
  }
  EXPECT_EQ(total, 4000u);
  EXPECT_TRUE(s.running.empty());
}

TEST(Tracez, ShutdownReleasesSamplesButKeepsCounts) {
  Fixture f;
  f.span("op", 1);
  EXPECT_EQ(f.store->snapshot({.name = "op"}).names[0].latency_samples[0].size(), 1u);
  f.provider->shutdown();
  TracezSnapshot s = f.store->snapshot({.name = "op"});
  EXPECT_TRUE(s.names[0].latency_samples[0].empty());
  EXPECT_EQ(s.names[0].latency_counts[0], 1u);
  std::shared_ptr<TracezStore> store = f.store;
  f.provider.reset();  // the store outlives the provider
  EXPECT_EQ(store->snapshot().names.size(), 1u);
}

}  // namespace
}  // namespace vigil::trace
