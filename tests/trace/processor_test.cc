#include "vigil/trace/processor.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  // When export_spans was first called (the epoch when never).
  std::chrono::steady_clock::time_point first_call() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(first_call_ticks_.load()));
  }
  ExportResult export_spans(std::span<const SpanData* const> s, Deadline) override {
    std::chrono::steady_clock::rep none = 0;
    first_call_ticks_.compare_exchange_strong(
        none, std::chrono::steady_clock::now().time_since_epoch().count());
    calls++;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail) return ExportResult::retryable("down");
    for (const SpanData* d : s) {
      EXPECT_FALSE(d->name.empty());
    }
    spans += s.size();
    return ExportResult::success();
  }

 private:
  std::atomic<std::chrono::steady_clock::rep> first_call_ticks_{0};
};

std::unique_ptr<TracerProvider> make_provider(std::unique_ptr<SpanProcessor> p) {
  TracerProviderOptions o;
  o.resource = Resource({{"service.name", std::string("t")}});
  o.processors.push_back(std::move(p));
  return std::make_unique<TracerProvider>(std::move(o));
}

// A provider whose only processor is a batch processor exporting to a CountingExporter.
struct Counted {
  metrics::Registry registry;
  CountingExporter* exporter = nullptr;
  BatchSpanProcessor* batch = nullptr;
  std::unique_ptr<TracerProvider> provider;
  explicit Counted(BatchSpanProcessorOptions options) {
    auto e = std::make_unique<CountingExporter>();
    exporter = e.get();
    options.self_metrics = &registry;
    auto bsp = std::make_unique<BatchSpanProcessor>(std::move(e), options);
    batch = bsp.get();
    provider = make_provider(std::move(bsp));
  }
};

TEST(BatchSpanProcessor, ExportsEverythingOnFlush) {
  metrics::Registry registry;
  auto exporter = std::make_unique<CountingExporter>();
  CountingExporter* ex = exporter.get();
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::move(exporter), BatchSpanProcessorOptions{.max_queue_size = 4096,
                                                     .schedule_delay = 1000ms,
                                                     .max_export_batch_size = 100,
                                                     .self_metrics = &registry});
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
                                                     .thread_buffer_size = 4096,
                                                     .self_metrics = &registry});
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
      std::move(exporter),
      BatchSpanProcessorOptions{.schedule_delay = 5ms, .self_metrics = &registry});
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
      std::move(exporter),
      BatchSpanProcessorOptions{.schedule_delay = 1ms, .self_metrics = &registry});
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
                                                     .self_metrics = &registry});
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

TEST(SimpleSpanProcessor, JsonLinesReplacesInvalidUtf8AndEscapesControls) {
  std::ostringstream out;
  auto provider = make_provider(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<JsonLinesExporter>(out)));
  {
    Span s = provider->tracer("lib").start_span("bad \xff\xC0\xAF utf8");
    s.set_attribute("k", std::string("tab\tnul\x01"));
  }
  const std::string line = out.str();
  EXPECT_EQ(line.find('\xff'), std::string::npos) << line;
  EXPECT_NE(line.find("bad \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD utf8"), std::string::npos) << line;
  EXPECT_NE(line.find("tab\\tnul\\u0001"), std::string::npos) << line;
}

// Field-by-field equality of two spans, with a readable failure.
void expect_same_span(const SpanData& a, const SpanData& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.parent_span_id, b.parent_span_id);
  EXPECT_EQ(a.parent_remote, b.parent_remote);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.start_unix_nanos, b.start_unix_nanos);
  EXPECT_EQ(a.end_unix_nanos, b.end_unix_nanos);
  EXPECT_EQ(a.status.code, b.status.code);
  EXPECT_EQ(a.status.message, b.status.message);
  ASSERT_EQ(a.attributes.size(), b.attributes.size());
  for (std::size_t i = 0; i < a.attributes.size(); ++i) {
    EXPECT_EQ(a.attributes[i].key, b.attributes[i].key);
    EXPECT_EQ(a.attributes[i].value, b.attributes[i].value) << a.attributes[i].key;
  }
  ASSERT_EQ(a.events.size(), b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    EXPECT_EQ(a.events[i].name, b.events[i].name);
    EXPECT_EQ(a.events[i].time_unix_nanos, b.events[i].time_unix_nanos);
    EXPECT_EQ(a.events[i].dropped_attributes_count, b.events[i].dropped_attributes_count);
    ASSERT_EQ(a.events[i].attributes.size(), b.events[i].attributes.size());
    for (std::size_t j = 0; j < a.events[i].attributes.size(); ++j) {
      EXPECT_EQ(a.events[i].attributes[j].key, b.events[i].attributes[j].key);
      EXPECT_EQ(a.events[i].attributes[j].value, b.events[i].attributes[j].value);
    }
  }
  ASSERT_EQ(a.links.size(), b.links.size());
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    EXPECT_EQ(a.links[i].context, b.links[i].context);
    EXPECT_EQ(a.links[i].dropped_attributes_count, b.links[i].dropped_attributes_count);
    ASSERT_EQ(a.links[i].attributes.size(), b.links[i].attributes.size());
    for (std::size_t j = 0; j < a.links[i].attributes.size(); ++j) {
      EXPECT_EQ(a.links[i].attributes[j].value, b.links[i].attributes[j].value);
    }
  }
  EXPECT_EQ(a.dropped_attributes_count, b.dropped_attributes_count);
  EXPECT_EQ(a.dropped_events_count, b.dropped_events_count);
  EXPECT_EQ(a.dropped_links_count, b.dropped_links_count);
  EXPECT_EQ(a.scope, b.scope);
  EXPECT_EQ(a.resource, b.resource);
}

// A provider with two processors: the simple one keeps the span as recorded, the batch one
// copies it through the thread buffers (or the shared queue) and decodes it on its worker.
struct TwoPaths {
  metrics::Registry registry;
  std::shared_ptr<InMemorySpanStore> direct = std::make_shared<InMemorySpanStore>();
  std::shared_ptr<InMemorySpanStore> batched = std::make_shared<InMemorySpanStore>();
  BatchSpanProcessor* batch = nullptr;
  std::unique_ptr<TracerProvider> provider;
  explicit TwoPaths(std::size_t thread_buffer_size, std::size_t max_queue_size = 4096) {
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("t")}});
    o.limits.event_count = 3;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(direct)));
    auto bsp = std::make_unique<BatchSpanProcessor>(
        std::make_unique<InMemoryExporter>(batched),
        BatchSpanProcessorOptions{.max_queue_size = max_queue_size,
                                  .schedule_delay = 2ms,
                                  .max_export_batch_size = 256,
                                  .thread_buffer_size = thread_buffer_size,
                                  .self_metrics = &registry});
    batch = bsp.get();
    o.processors.push_back(std::move(bsp));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  void expect_identical() {
    ASSERT_TRUE(provider->force_flush(5s));
    auto a = direct->spans();
    auto b = batched->spans();
    ASSERT_EQ(a.size(), b.size());
    auto by_id = [](const SpanData& x, const SpanData& y) {
      return x.context.span_id.to_u64() < y.context.span_id.to_u64();
    };
    std::sort(a.begin(), a.end(), by_id);
    std::sort(b.begin(), b.end(), by_id);
    for (std::size_t i = 0; i < a.size(); ++i) expect_same_span(a[i], b[i]);
  }
};

// Every kind of data a span can carry, sized by `n`.
void record_rich_span(Tracer& t, int n) {
  SpanContext remote;
  remote.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  remote.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  remote.flags.value = TraceFlags::kSampled;
  remote.trace_state = *TraceState::parse("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  remote.remote = true;
  Span s = t.start_span("rich span " + std::to_string(n),
                        {.kind = SpanKind::kServer, .parent = n % 2 == 0 ? &remote : nullptr});
  s.set_attribute("str", std::string(static_cast<std::size_t>(n % 300), 'x'));
  s.set_attribute("empty", "");
  s.set_attribute("b", n % 3 == 0);
  s.set_attribute("i", static_cast<int64_t>(n) * -1000003);
  s.set_attribute("d", n * 0.25);
  s.set_attribute("strs", std::vector<std::string>{
                              "a", std::string(static_cast<std::size_t>(n % 40), 'y'), ""});
  s.set_attribute("ints", std::vector<int64_t>{1, -2, INT64_MAX});
  s.set_attribute("doubles", std::vector<double>{0.5, -1e300});
  s.set_attribute("bools", std::vector<bool>{true, false, true});
  s.set_attribute("i", n);               // replaces
  for (int e = 0; e < 1 + n % 5; ++e) {  // limit 3: some dropped
    s.add_event("event", {{"k", e}, {"s", "value"}});
  }
  s.add_link(remote, {{"link.attr", 1.5}});
  if (n % 10 == 0) s.set_attribute("large", std::string(2000, 'L'));  // > a 4 KiB buffer / 4
  if (n % 4 == 0) s.set_status(StatusCode::kError, "failed: " + std::to_string(n));
  if (n % 4 == 1) s.set_status(StatusCode::kOk);
}

TEST(BatchSpanProcessor, ThreadBufferCarriesEverySpanFieldIntact) {
  TwoPaths p(64 * 1024);
  Tracer& t = p.provider->tracer("scope", "1.2.3");
  for (int n = 0; n < 300; ++n) record_rich_span(t, n);
  p.expect_identical();
  EXPECT_EQ(p.batched->size(), 300u);
  EXPECT_EQ(p.batch->stats().dropped(), 0u);
}

TEST(BatchSpanProcessor, SmallThreadBufferWrapsAndLargeSpansTakeTheSharedQueue) {
  // A 4 KiB buffer: spans of up to 1 KiB go through it (wrapping around many times), larger
  // ones through the shared queue; nothing is lost either way.
  TwoPaths p(1, 1 << 16);
  EXPECT_EQ(p.batch->options().thread_buffer_size, 4096u);
  Tracer& t = p.provider->tracer("scope");
  for (int n = 0; n < 2000; ++n) {
    record_rich_span(t, n);
    if (n % 100 == 0) std::this_thread::sleep_for(1ms);  // let the worker drain
  }
  p.expect_identical();
  const auto st = p.batch->stats();
  EXPECT_EQ(st.queued, 2000u);
  EXPECT_EQ(st.exported, 2000u);
  EXPECT_EQ(st.dropped(), 0u);
}

TEST(BatchSpanProcessor, WithoutThreadBuffersEverythingTakesTheSharedQueue) {
  TwoPaths p(0);
  EXPECT_EQ(p.batch->options().thread_buffer_size, 0u);
  Tracer& t = p.provider->tracer("scope");
  for (int n = 0; n < 200; ++n) record_rich_span(t, n);
  p.expect_identical();
  EXPECT_EQ(p.batch->stats().exported, 200u);
}

TEST(BatchSpanProcessor, SpansOfExitedThreadsArriveAndTheirBuffersAreRetired) {
  TwoPaths p(8 * 1024);
  Tracer& t = p.provider->tracer("scope");
  for (int round = 0; round < 20; ++round) {
    std::thread([&] {
      for (int n = 0; n < 50; ++n) t.start_span("short-lived thread").set_attribute("n", n);
    }).join();
  }
  ASSERT_TRUE(p.provider->force_flush(5s));
  ASSERT_TRUE(p.provider->force_flush(5s));  // a second round retires the drained buffers
  const auto st = p.batch->stats();
  EXPECT_EQ(st.queued, 1000u);
  EXPECT_EQ(st.exported, 1000u);
  EXPECT_EQ(st.thread_buffers, 0u);  // every thread exited: their buffers were freed
  EXPECT_EQ(p.batched->size(), 1000u);
  // A live thread keeps its buffer.
  t.start_span("main thread").end();
  EXPECT_EQ(p.batch->stats().thread_buffers, 1u);
}

TEST(BatchSpanProcessor, SpansEndedAfterShutdownAreCounted) {
  TwoPaths p(64 * 1024);
  Tracer& t = p.provider->tracer("scope");
  for (int n = 0; n < 10; ++n) t.start_span("before").end();
  EXPECT_TRUE(p.batch->shutdown(5s));
  // The provider still routes spans to the (shut down) processor: each is counted.
  for (int n = 0; n < 7; ++n) t.start_span("after").end();
  const auto st = p.batch->stats();
  EXPECT_EQ(st.exported, 10u);
  EXPECT_EQ(st.dropped_shutdown, 7u);
  EXPECT_EQ(st.queued, 10u);
}

// The same spans through a batch-only provider (attributes travel as the span's attribute log)
// and a simple-only one (attributes materialized into SpanData): identical content.
TEST(BatchSpanProcessor, AttributeLogMatchesTheAttributeList) {
  auto run = [](std::unique_ptr<SpanProcessor> proc, SpanLimits limits) {
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("t")}});
    o.limits = limits;
    o.processors.push_back(std::move(proc));
    TracerProvider provider(std::move(o));
    Tracer& t = provider.tracer("scope");
    for (int n = 0; n < 200; ++n) {
      record_rich_span(t, n);
      Span s = t.start_span("replacements " + std::to_string(n));
      s.set_attribute("grow", "abc");
      s.set_attribute("same", 1);
      s.set_attribute("grow", "abcdefghijklmnopqrstuvwxyz");  // longer: re-appended
      s.set_attribute("same", 2);                             // same size: in place
      s.set_attribute("type", "text");
      s.set_attribute("type", 3.5);  // another type
      s.set_value("arr", AttributeValue(std::vector<std::string>{"long string value", "b"}));
      for (int i = 0; i < 10; ++i) s.set_attribute("k" + std::to_string(i), i);
    }
    provider.force_flush(5s);
  };
  SpanLimits limits;
  limits.attribute_count = 12;  // some of the k* attributes are dropped
  limits.attribute_value_length = 8;
  limits.event_count = 3;
  auto direct = std::make_shared<InMemorySpanStore>();
  auto batched = std::make_shared<InMemorySpanStore>();
  run(std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(direct)), limits);
  metrics::Registry registry;
  run(std::make_unique<BatchSpanProcessor>(
          std::make_unique<InMemoryExporter>(batched),
          BatchSpanProcessorOptions{.schedule_delay = 2ms, .self_metrics = &registry}),
      limits);
  auto a = direct->spans();
  auto b = batched->spans();
  ASSERT_EQ(a.size(), 400u);
  ASSERT_EQ(b.size(), 400u);
  auto by_name = [](const SpanData& x, const SpanData& y) { return x.name < y.name; };
  std::sort(a.begin(), a.end(), by_name);
  std::sort(b.begin(), b.end(), by_name);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].name, b[i].name);
    // Same attributes, whatever their order.
    ASSERT_EQ(a[i].attributes.size(), b[i].attributes.size()) << a[i].name;
    for (const KeyValue& kv : a[i].attributes) {
      const AttributeValue* other = b[i].attributes.find(kv.key);
      ASSERT_NE(other, nullptr) << a[i].name << " " << kv.key;
      EXPECT_EQ(*other, kv.value) << a[i].name << " " << kv.key;
    }
    EXPECT_EQ(a[i].dropped_attributes_count, b[i].dropped_attributes_count) << a[i].name;
    EXPECT_EQ(a[i].events.size(), b[i].events.size());
    EXPECT_EQ(a[i].dropped_events_count, b[i].dropped_events_count);
    EXPECT_EQ(a[i].status.code, b[i].status.code);
    EXPECT_EQ(a[i].status.message, b[i].status.message);
  }
  // Spot checks of the rules themselves.
  const SpanData& r = a[static_cast<std::size_t>(
      std::find_if(a.begin(), a.end(),
                   [](const SpanData& x) { return x.name == "replacements 7"; }) -
      a.begin())];
  EXPECT_EQ(*r.attributes.find("grow"), AttributeValue(std::string("abcdefgh")));  // truncated
  EXPECT_EQ(*r.attributes.find("same"), AttributeValue(int64_t{2}));
  EXPECT_EQ(*r.attributes.find("type"), AttributeValue(3.5));
  EXPECT_EQ(*r.attributes.find("arr"), AttributeValue(std::vector<std::string>{"long str", "b"}));
  EXPECT_EQ(r.attributes.size(), 12u);
  EXPECT_EQ(r.dropped_attributes_count, 2u);
}

TEST(BatchSpanProcessor, ExportsFullBatchesAndWaitsTheScheduleDelayForPartialOnes) {
  Counted c({.max_queue_size = 1024, .schedule_delay = 10s, .max_export_batch_size = 100});
  CountingExporter* ex = c.exporter;
  Tracer& t = c.provider->tracer("t");
  for (int i = 0; i < 50; ++i) t.start_span("s").end();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ex->calls.load(), 0u);  // half a batch: waits for the schedule delay
  for (int i = 0; i < 60; ++i) t.start_span("s").end();
  // A full batch goes out without waiting for the delay.
  for (int i = 0; i < 500 && ex->spans.load() < 100; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(ex->spans.load(), 100u);
  EXPECT_EQ(ex->calls.load(), 1u);
  EXPECT_TRUE(c.provider->force_flush(5s));  // the remaining 10
  EXPECT_EQ(ex->spans.load(), 110u);
  EXPECT_EQ(c.batch->stats().exported, 110u);
}

// A partial batch waits for the schedule delay (counted from the worker's start, which is the
// "last export" of a new processor), then goes out without a flush. The lower bound is exact:
// the exporter records when it is first called, which cannot be before start + delay. The
// upper bound is generous, for slow and sanitizer builds.
TEST(BatchSpanProcessor, PartialBatchGoesOutAfterTheScheduleDelay) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kDelay = 300ms;
  const Clock::time_point created = Clock::now();
  Counted c({.schedule_delay = kDelay, .max_export_batch_size = 100});
  for (int i = 0; i < 5; ++i) c.provider->tracer("t").start_span("s").end();
  // Not before the delay: whenever we look earlier than `created + kDelay`, nothing went out
  // (calls read first, so a reading taken before the deadline cannot include a later export).
  const uint64_t early_calls = c.exporter->calls.load();
  if (Clock::now() - created < kDelay) {
    EXPECT_EQ(early_calls, 0u);
  }
  // After it: exported, in one call, without force_flush.
  for (int i = 0; i < 1000 && c.exporter->spans.load() < 5; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(c.exporter->spans.load(), 5u);
  EXPECT_EQ(c.exporter->calls.load(), 1u);
  const Clock::time_point first = c.exporter->first_call();
  EXPECT_GE(first - created, kDelay) << "a partial batch went out before the schedule delay";
  EXPECT_LT(first - created, kDelay + 10s);
}

TEST(BatchSpanProcessor, ThreadBufferGrowsWhenItOverflows) {
  Counted c({.max_queue_size = 256,
             .schedule_delay = 1ms,
             .max_export_batch_size = 64,
             .thread_buffer_size = 1 << 20});
  c.exporter->delay_ms = 300;  // the worker is stuck in its first export while spans pile up
  CountingExporter* ex = c.exporter;
  BatchSpanProcessor* p = c.batch;
  auto& provider = c.provider;
  Tracer& t = provider->tracer("t");
  t.start_span("first").end();
  std::this_thread::sleep_for(50ms);  // the worker took it and is now in the slow export
  // ~3000 spans of ~100 bytes: far more than the first 16 KiB buffer or the 256-span queue.
  for (int i = 0; i < 3000; ++i) t.start_span("pile").set_attribute("i", i);
  const auto mid = p->stats();
  EXPECT_EQ(mid.queued, 3001u);
  EXPECT_EQ(mid.queued_shared, 0u);  // the buffer grew instead
  EXPECT_EQ(mid.dropped(), 0u);
  EXPECT_GE(mid.thread_buffers, 2u);  // outgrown buffers wait to be drained
  ex->delay_ms = 0;
  EXPECT_TRUE(provider->force_flush(10s));
  EXPECT_TRUE(provider->force_flush(10s));
  const auto end = p->stats();
  EXPECT_EQ(end.exported, 3001u);
  EXPECT_EQ(ex->spans.load(), 3001u);
  EXPECT_EQ(end.thread_buffers, 1u);  // the outgrown ones were freed once drained
}

TEST(BatchSpanProcessor, ReplacingAnAttributeManyTimesKeepsTheSpanSmall) {
  TwoPaths p(64 * 1024);
  Tracer& t = p.provider->tracer("scope");
  {
    Span s = t.start_span("replaced");
    for (int i = 0; i < 20000; ++i) {
      // Values of changing size cannot be overwritten in place: the old ones are dead entries,
      // which the attribute log compacts.
      s.set_attribute("query", std::string(static_cast<std::size_t>(i % 50), 'q'));
      s.set_attribute("n", i);
    }
  }
  // Batch-only provider: the span travels as its attribute log.
  metrics::Registry registry;
  auto store = std::make_shared<InMemorySpanStore>();
  auto bsp = std::make_unique<BatchSpanProcessor>(
      std::make_unique<InMemoryExporter>(store),
      BatchSpanProcessorOptions{.schedule_delay = 2ms, .self_metrics = &registry});
  BatchSpanProcessor* batch = bsp.get();
  auto provider = make_provider(std::move(bsp));
  {
    Span s = provider->tracer("t").start_span("replaced");
    for (int i = 0; i < 20000; ++i) {
      s.set_attribute("query", std::string(static_cast<std::size_t>(i % 50), 'q'));
      s.set_attribute("n", i);
    }
  }
  ASSERT_TRUE(provider->force_flush(5s));
  // Small enough for the thread buffer (20,000 dead entries would not be).
  EXPECT_EQ(batch->stats().queued_shared, 0u);
  auto spans = store->find("replaced");
  ASSERT_EQ(spans.size(), 1u);
  ASSERT_EQ(spans[0].attributes.size(), 2u);
  EXPECT_EQ(*spans[0].attributes.find("query"), AttributeValue(std::string(49, 'q')));
  EXPECT_EQ(*spans[0].attributes.find("n"), AttributeValue(int64_t{19999}));
  p.expect_identical();
}

}  // namespace
}  // namespace vigil::trace
