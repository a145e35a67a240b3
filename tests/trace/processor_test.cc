#include "vigil/trace/processor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {
namespace {

using namespace std::chrono_literals;

// Counts spans; can be made slow or failing.
class CountingExporter : public SpanExporter {
 public:
  std::atomic<uint64_t> spans{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> fail{false};
  ExportResult export_spans(std::span<const SpanData* const> s, Deadline) override {
    calls++;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail) return ExportResult::retryable("down");
    for (const SpanData* d : s) {
      EXPECT_FALSE(d->name.empty());
    }
    spans += s.size();
    return ExportResult::success();
  }
};

std::unique_ptr<TracerProvider> make_provider(std::unique_ptr<SpanProcessor> p) {
  TracerProviderOptions o;
  o.resource = Resource({{"service.name", std::string("t")}});
  o.processors.push_back(std::move(p));
  return std::make_unique<TracerProvider>(std::move(o));
}

TEST(BatchSpanProcessor, ExportsEverythingOnFlush) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  CountingExporter* ex = exporter.get();
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.max_queue_size = 4096,
                                                     .schedule_delay = 1000ms,
                                                     .max_export_batch_size = 100,
                                                     .registry = &registry});
  BatchSpanProcessor* p = bsp.get();
  auto provider = make_provider(std::move(bsp));
  for (int i = 0; i < 1000; ++i) provider->tracer("t").start_span("s").end();
  EXPECT_TRUE(provider->force_flush(5s));
  EXPECT_EQ(ex->spans.load(), 1000u);
  EXPECT_EQ(p->stats().exported, 1000u);
  EXPECT_EQ(p->stats().dropped(), 0u);
  EXPECT_GE(ex->calls.load(), 10u);
}

TEST(BatchSpanProcessor, FullQueueDropsAndCounts) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  exporter->delay_ms = 200;
  CountingExporter* ex = exporter.get();
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.max_queue_size = 64,
                                                     .schedule_delay = 1ms,
                                                     .max_export_batch_size = 64,
                                                     .registry = &registry});
  BatchSpanProcessor* p = bsp.get();
  auto provider = make_provider(std::move(bsp));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) provider->tracer("t").start_span("s").end();
  // Recording never blocked on the slow exporter.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 150ms);
  provider->shutdown(5s);
  const auto st = p->stats();
  EXPECT_GT(st.dropped_queue_full, 0u);
  EXPECT_EQ(st.exported + st.dropped(), 5000u);
  EXPECT_EQ(ex->spans.load(), st.exported);
  const std::string text = metrics::serialize(registry, metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("vigil_spans_dropped_total{reason=\"queue_full\"}"), std::string::npos)
      << text;
}

TEST(BatchSpanProcessor, FailedExportsCounted) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  exporter->fail = true;
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.schedule_delay = 5ms, .registry = &registry});
  BatchSpanProcessor* p = bsp.get();
  auto provider = make_provider(std::move(bsp));
  for (int i = 0; i < 10; ++i) provider->tracer("t").start_span("s").end();
  provider->force_flush(5s);
  EXPECT_EQ(p->stats().dropped_export_failed, 10u);
  EXPECT_GE(p->stats().export_failures, 1u);
}

TEST(BatchSpanProcessor, ShutdownMeetsDeadlineWithStuckExporter) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  exporter->delay_ms = 2000;
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.schedule_delay = 1ms, .registry = &registry});
  BatchSpanProcessor* p = bsp.get();
  auto provider = make_provider(std::move(bsp));
  provider->tracer("t").start_span("first").end();
  std::this_thread::sleep_for(50ms);  // the exporter is now stuck in its first call
  for (int i = 0; i < 10; ++i) provider->tracer("t").start_span("s").end();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(provider->shutdown(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  // After shutdown, new spans are no-ops.
  EXPECT_FALSE(provider->tracer("t").start_span("late").recording());
  (void)p;
}

TEST(BatchSpanProcessor, TwoThreadsEverySpanAccountedFor) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  CountingExporter* ex = exporter.get();
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.max_queue_size = 1024,
                                                     .schedule_delay = 2ms,
                                                     .max_export_batch_size = 256,
                                                     .registry = &registry});
  BatchSpanProcessor* p = bsp.get();
  auto provider = make_provider(std::move(bsp));
  Tracer& t = provider->tracer("t");
  std::atomic<uint64_t> produced{0};
  auto work = [&] {
    for (int i = 0; i < 50000; ++i) {
      Span parent = t.start_span("parent");
      parent.set_attribute("i", i);
      Span child = t.start_span("child");
      produced += 2;
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_TRUE(provider->shutdown(10s));
  const auto st = p->stats();
  EXPECT_EQ(st.exported + st.dropped(), produced.load());
  EXPECT_EQ(ex->spans.load(), st.exported);
}

TEST(SimpleSpanProcessor, JsonLines) {
  std::ostringstream out;
  auto provider = make_provider(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<JsonLinesExporter>(out)));
  {
    Span s = provider->tracer("lib", "2").start_span("op \"quoted\"");
    s.set_attribute("tokens", 12).set_attribute("cost", 0.5);
    s.set_status(StatusCode::kError, "bad");
  }
  const std::string line = out.str();
  EXPECT_NE(line.find("\"name\":\"op \\\"quoted\\\"\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"tokens\":12"), std::string::npos);
  EXPECT_NE(line.find("\"cost\":0.5"), std::string::npos);
  EXPECT_NE(line.find("\"code\":\"error\""), std::string::npos);
  EXPECT_EQ(line.back(), '\n');
}

}  // namespace
}  // namespace vigil::trace
