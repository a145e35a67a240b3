// The OTLP exporter behind vigil::trace's BatchSpanProcessor (the way applications use it):
// spans flow from a tracer to the collector; when the collector is slow or down the
// application's span recording never blocks, the processor's shutdown meets its deadline, and
// every span that did not arrive is counted.
#include <gtest/gtest.h>

#include <thread>

#include "fake_collector.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/tracer.h"

namespace vigil::exporters {
namespace {

using std::chrono::milliseconds;
using testing::Clock;
using testing::FakeCollector;
using testing::RefusingPort;
namespace pbc = opentelemetry::proto::collector::trace::v1;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

struct Pipeline {
  metrics::Registry registry;
  OtlpTraceExporter* exporter = nullptr;           // owned by the processor
  trace::BatchSpanProcessor* processor = nullptr;  // owned by the provider
  std::unique_ptr<trace::TracerProvider> provider;

  Pipeline(const std::string& endpoint, milliseconds exporter_timeout,
           milliseconds export_timeout) {
    OtlpTraceExporterOptions o;
    o.endpoint = endpoint;
    o.self_metrics = &registry;
    o.timeout = exporter_timeout;
    o.retry.initial_backoff = milliseconds(20);
    o.retry.max_backoff = milliseconds(50);
    auto e = std::make_unique<OtlpTraceExporter>(o);
    exporter = e.get();
    trace::BatchSpanProcessorOptions bo;
    bo.schedule_delay = milliseconds(50);
    bo.export_timeout = export_timeout;
    bo.max_queue_size = 1024;
    bo.max_export_batch_size = 256;
    bo.self_metrics = &registry;
    auto p = std::make_unique<trace::BatchSpanProcessor>(std::move(e), bo);
    processor = p.get();
    trace::TracerProviderOptions po;
    po.resource = trace::Resource({{"service.name", std::string("pipeline-test")}});
    po.processors.push_back(std::move(p));
    provider = std::make_unique<trace::TracerProvider>(std::move(po));
  }

  // Ends `n` spans; returns the slowest start+end seen by the application.
  std::chrono::nanoseconds record(int n) {
    trace::Tracer& tracer = provider->tracer("vigil.pipeline", "1.0");
    std::chrono::nanoseconds worst{0};
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      {
        trace::Span span = tracer.start_span("op", {.kind = trace::SpanKind::kServer});
        span.set_attribute("i", int64_t{i});
      }
      worst = std::max(worst, std::chrono::nanoseconds(Clock::now() - t0));
    }
    return worst;
  }
};

TEST(OtlpBatchPipeline, SpansReachTheCollector) {
  std::mutex mu;
  int spans_received = 0;
  FakeCollector collector([&](int) { return admin::Response{.status = 200}; });
  Pipeline p(collector.endpoint(), milliseconds(2000), milliseconds(5000));
  p.record(300);
  ASSERT_TRUE(p.provider->force_flush(milliseconds(5000)));
  for (const auto& r : collector.received()) {
    pbc::ExportTraceServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(r.body));
    std::lock_guard lock(mu);
    for (const auto& rs : req.resource_spans()) {
      EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "pipeline-test");
      for (const auto& ss : rs.scope_spans()) {
        EXPECT_EQ(ss.scope().name(), "vigil.pipeline");
        spans_received += ss.spans_size();
      }
    }
  }
  EXPECT_EQ(spans_received, 300);
  EXPECT_EQ(p.exporter->stats().exported_spans, 300u);
  EXPECT_EQ(p.processor->stats().dropped(), 0u);
  EXPECT_TRUE(p.provider->shutdown(milliseconds(2000)));
}

TEST(OtlpBatchPipeline, CollectorDownCountsEverySpanAndShutsDownInTime) {
  RefusingPort port;
  Pipeline p(port.endpoint(), milliseconds(300), milliseconds(1000));
  const auto worst = p.record(500);
  EXPECT_LT(worst, std::chrono::milliseconds(50));  // recording never waits for the network
  const auto t0 = Clock::now();
  EXPECT_TRUE(p.provider->shutdown(milliseconds(3000)));
  EXPECT_LT(elapsed_ms(t0), 3100);
  const auto s = p.processor->stats();
  EXPECT_EQ(s.queued + s.dropped_queue_full, 500u);
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(s.dropped(), 500u);  // every span accounted for
  EXPECT_GT(p.exporter->stats().failed_exports, 0u);
  EXPECT_EQ(p.exporter->stats().exported_spans, 0u);
}

TEST(OtlpBatchPipeline, SlowCollectorShutdownMeetsItsDeadline) {
  FakeCollector collector([](int) {
    std::this_thread::sleep_for(milliseconds(1500));
    return admin::Response{.status = 200};
  });
  Pipeline p(collector.endpoint(), milliseconds(800), milliseconds(800));
  p.record(100);
  // Let the worker start an export that the collector holds.
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (collector.count() == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(collector.count(), 1u);
  const auto t0 = Clock::now();
  p.provider->shutdown(milliseconds(300));
  EXPECT_LT(elapsed_ms(t0), 700);
  // The export in flight ends by its own deadline; its spans are then counted as dropped.
  std::this_thread::sleep_for(milliseconds(1200));
  const auto s = p.processor->stats();
  EXPECT_EQ(s.exported + s.dropped(), 100u);
  EXPECT_EQ(p.exporter->stats().exported_spans + p.exporter->stats().dropped_spans, 100u);
}

}  // namespace
}  // namespace vigil::exporters
