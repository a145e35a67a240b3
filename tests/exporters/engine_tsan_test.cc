// The export engine under ThreadSanitizer (with periodic_exporter_test.cc in the same binary):
// threads recording counters and histograms (also into new series), a scraper, the engine
// collecting every 10 ms into two encoding fake exporters (one slowed by a gate), flushes and
// status reads from other threads, self-metrics in the exported registry, then shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_metric_exporter.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using namespace std::chrono_literals;

TEST(EngineConcurrency, RecordingScrapesFlushesAndShutdown) {
  metrics::Registry registry;
  auto& requests = registry.counter("requests_total", "Requests", {"route"});
  auto& latency = registry.histogram("latency_seconds", "Latency", {"route"});
  auto a = std::make_shared<testing::FakeExportState>();
  a->encode = true;
  auto b = std::make_shared<testing::FakeExportState>();
  b->encode = true;
  PeriodicExporter engine(registry, {.interval = 10ms, .timeout = 5s, .self_metrics = &registry});
  engine.add(testing::fake("a", a));
  engine.add(testing::fake("b", b));
  engine.start();

  constexpr int kWriters = 3;
  constexpr int kPerWriter = 20'000;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      const std::string route = "/r" + std::to_string(t);
      auto c = requests.labels(route);
      auto h = latency.labels(route);
      for (int i = 0; i < kPerWriter; ++i) {
        c.inc();
        h.observe(0.001 * (i % 100));
        if (i % 1000 == 0) requests.labels(route + "/" + std::to_string(i)).inc();
      }
    });
  }
  threads.emplace_back([&] {  // scrapes
    while (!stop.load()) (void)metrics::serialize(registry, metrics::Format::kPrometheusText);
  });
  threads.emplace_back([&] {  // flushes and status reads
    while (!stop.load()) {
      (void)engine.flush(5s);
      for (const auto& s : engine.status()) (void)s.last_error.size();
    }
  });
  for (int t = 0; t < kWriters; ++t) threads[static_cast<std::size_t>(t)].join();
  ASSERT_TRUE(a->wait([&] { return a->calls >= 3; }));
  stop.store(true);
  for (std::size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_TRUE(engine.shutdown(5s));

  // The final snapshot holds every increment of the writers' own series.
  double total = 0;
  for (const auto& f : a->last.families) {
    if (f.name != "requests") continue;
    for (const auto& p : f.points) {
      if (p.label_values[0].find('/', 1) == std::string::npos) total += p.value;
    }
  }
  EXPECT_EQ(total, kWriters * kPerWriter);
  EXPECT_EQ(a->closes, 1);
  EXPECT_EQ(b->closes, 1);
  EXPECT_GT(a->encoded_bytes, 0u);
}

TEST(EngineConcurrency, ShutdownRacingAHangingExporterAndFlushes) {
  metrics::Registry registry;
  auto c = registry.counter("c_total", "C").get();
  auto slow = std::make_shared<testing::FakeExportState>();
  slow->hang = true;
  auto fast = std::make_shared<testing::FakeExportState>();
  PeriodicExporter engine(registry, {.interval = 10ms, .timeout = 5s, .self_metrics = &registry});
  engine.add(testing::fake("slow", slow));
  engine.add(testing::fake("fast", fast));
  engine.start();
  std::thread flusher([&] {
    for (int i = 0; i < 5; ++i) (void)engine.flush(20ms);
  });
  std::thread writer([&] {
    for (int i = 0; i < 50'000; ++i) c.inc();
  });
  ASSERT_TRUE(slow->wait([&] { return slow->in_export; }));
  writer.join();
  EXPECT_FALSE(engine.shutdown(100ms));
  flusher.join();
  EXPECT_EQ(slow->aborts, 1);
  EXPECT_EQ(slow->closes, 1);
  EXPECT_EQ(fast->closes, 1);
}

}  // namespace
}  // namespace vigil::exporters
