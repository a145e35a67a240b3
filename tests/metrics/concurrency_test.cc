// Several threads record while another collects: every collection must be internally
// consistent, and the final totals exact. Run under TSan by the tsan preset.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_sink.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

// Worker names built without "w" + std::to_string(t), which trips a GCC 12 -Wrestrict false
// positive at -O3.
std::string worker_name(int t) {
  std::string name = "w";
  name += std::to_string(t);
  return name;
}

TEST(Concurrency, RecordersAndCollectorsAgree) {
  Registry r;
  auto& counters = r.counter("hammer_total", "c", {"worker"});
  auto& gauges = r.gauge("hammer_gauge", "g");
  auto& hist = r.histogram("hammer_seconds", "h", {}, {.buckets = {0.25, 0.5, 0.75}});
  auto& sums = r.summary("hammer_summary", "s");
  constexpr int kThreads = 4;
  constexpr int kIterations = 50000;
  std::atomic<bool> done{false};
  std::atomic<int> collections{0};
  std::atomic<int> inconsistent{0};

  std::thread collector([&] {
    while (!done.load()) {
      testing::RecordingSink sink;
      r.collect(sink);
      ++collections;
      if (const auto* h = sink.family("hammer_seconds")) {
        const auto& s = h->series.at(0);
        // Every observation is 1.0: sum == count and the buckets agree with the count.
        if (s.sum != s.value || s.cumulative.back() != static_cast<uint64_t>(s.value) ||
            s.cumulative[0] != 0 || s.cumulative[2] != 0) {
          ++inconsistent;
        }
      }
      if (const auto* s = sink.family("hammer_summary")) {
        if (s->series.at(0).sum != s->series.at(0).value * 2) ++inconsistent;
      }
    }
  });

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      Counter mine = counters.labels(worker_name(t));
      Histogram h = hist.get();
      Summary s = sums.get();
      Gauge g = gauges.get();
      for (int i = 0; i < kIterations; ++i) {
        mine.inc();
        counters.labels("shared").inc();
        h.observe(1.0);
        s.observe(2.0);
        g.inc();
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  collector.join();

  EXPECT_GT(collections.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.labels(worker_name(t)).value(), kIterations);
  }
  EXPECT_EQ(counters.labels("shared").value(), kThreads * kIterations);
  EXPECT_EQ(hist.get().count(), static_cast<uint64_t>(kThreads * kIterations));
  EXPECT_EQ(sums.get().count(), static_cast<uint64_t>(kThreads * kIterations));
  EXPECT_EQ(gauges.get().value(), kThreads * kIterations);
}

TEST(Concurrency, LookupsCreatesAndRemovesRace) {
  Registry r;
  auto& f = r.counter("race_total", "r", {"k"});
  std::atomic<bool> done{false};
  std::thread remover([&] {
    while (!done.load()) {
      for (int i = 0; i < 50; ++i) f.remove(std::to_string(i));
      testing::RecordingSink sink;
      r.collect(sink);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&] {
      for (int n = 0; n < 20000; ++n) f.labels(std::to_string(n % 50)).inc();
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  remover.join();
  EXPECT_LE(f.size(), 50u);
}

}  // namespace
}  // namespace vigil::metrics
