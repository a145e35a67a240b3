#include "vigil/trace/tracer.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <type_traits>

#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"

namespace vigil::trace {
namespace {

// Tracers come from TracerProvider::tracer(); a span's record is BatchSpanProcessor's business.
static_assert(!std::is_constructible_v<Tracer, detail::ProviderState*, InstrumentationScope>);
template <class R>
concept HasRecord = requires(const R& r) {
  r.record();
};
static_assert(!HasRecord<SpanRef>);

struct Fixture {
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  explicit Fixture(std::unique_ptr<Sampler> sampler = nullptr, SpanLimits limits = {}) {
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("test")}});
    o.sampler = std::move(sampler);
    o.limits = limits;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  Tracer& tracer() { return provider->tracer("test", "1.0"); }
};

TEST(Tracer, ParentChildAndCurrent) {
  Fixture f;
  Tracer& t = f.tracer();
  TraceId tid;
  SpanId parent_id;
  {
    Span parent = t.start_span("parent", {.kind = SpanKind::kServer});
    tid = parent.trace_id();
    parent_id = parent.span_id();
    EXPECT_EQ(current_span_context().span_id, parent_id);
    {
      Span child = t.start_span("child");
      child.set_attribute("k", "v").set_attribute("n", 3).set_attribute("b", true);
      EXPECT_EQ(child.trace_id(), tid);
      EXPECT_EQ(current_span_context().span_id, child.span_id());
    }
    EXPECT_EQ(current_span_context().span_id, parent_id);
  }
  EXPECT_FALSE(current_span_context().valid());
  auto spans = f.store->trace(tid);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "child");
  EXPECT_EQ(spans[0].parent_span_id, parent_id);
  EXPECT_EQ(std::get<std::string>(*spans[0].attributes.find("k")), "v");
  EXPECT_EQ(std::get<int64_t>(*spans[0].attributes.find("n")), 3);
  EXPECT_EQ(spans[1].kind, SpanKind::kServer);
  EXPECT_FALSE(spans[1].parent_span_id.valid());
  EXPECT_EQ(spans[1].scope->name, "test");
  EXPECT_EQ(spans[1].resource->service_name(), "test");
  EXPECT_TRUE(spans[1].context.flags.random());
  EXPECT_GE(spans[1].end_unix_nanos, spans[1].start_unix_nanos);
}

TEST(Tracer, RemoteParentRootAndExplicitTimes) {
  Fixture f;
  SpanContext remote;
  remote.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  remote.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  remote.flags.value = TraceFlags::kSampled;
  remote.remote = true;
  {
    Span s = f.tracer().start_span("server", {.parent = &remote, .start_unix_nanos = 1000});
    Span root = f.tracer().start_span("root", {.root = true});
    EXPECT_NE(root.trace_id(), remote.trace_id);
    s.end(5000);
  }
  auto spans = f.store->find("server");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].context.trace_id, remote.trace_id);
  EXPECT_EQ(spans[0].parent_span_id, remote.span_id);
  EXPECT_TRUE(spans[0].parent_remote);
  EXPECT_EQ(spans[0].duration_nanos(), 4000u);
}

TEST(Tracer, EventsStatusExceptionLinksAndLimits) {
  SpanLimits limits;
  limits.attribute_count = 2;
  limits.event_count = 2;
  limits.attribute_value_length = 4;
  Fixture f(nullptr, limits);
  SpanContext other;
  other.trace_id = TraceId::from_u64(1, 2);
  other.span_id = SpanId::from_u64(3);
  {
    Span s = f.tracer().start_span("s");
    s.set_attribute("a", 1).set_attribute("b", "longvalue").set_attribute("c", 3);
    s.set_attribute("a", 2);  // replacing does not count against the limit
    s.add_event("e1", {{"x", 1}});
    s.record_exception(std::runtime_error("boom"));
    s.add_event("e3");
    s.add_link(other, {{"why", "batch"}});
    s.set_status(StatusCode::kOk);
    s.set_status(StatusCode::kError, "ignored after ok");
  }
  auto spans = f.store->find("s");
  ASSERT_EQ(spans.size(), 1u);
  const SpanData& d = spans[0];
  EXPECT_EQ(d.attributes.size(), 2u);
  EXPECT_EQ(d.dropped_attributes_count, 1u);
  EXPECT_EQ(std::get<int64_t>(*d.attributes.find("a")), 2);
  EXPECT_EQ(std::get<std::string>(*d.attributes.find("b")), "long");
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.dropped_events_count, 1u);
  EXPECT_EQ(d.events[1].name, "exception");
  EXPECT_EQ(std::get<std::string>(*d.events[1].attributes.find("exception.type")),
            "std:");  // the value length limit applies to event attributes too
  EXPECT_EQ(d.status.code, StatusCode::kOk);  // ok set after the exception's error is final
  ASSERT_EQ(d.links.size(), 1u);
  EXPECT_EQ(d.links[0].context.span_id, other.span_id);
}

TEST(Tracer, SamplersAndDisabled) {
  Fixture off(always_off());
  {
    Span s = off.tracer().start_span("dropped");
    EXPECT_FALSE(s.recording());
    EXPECT_TRUE(s.context().valid());  // still propagates
    EXPECT_FALSE(s.context().sampled());
    Span child = off.tracer().start_span("child");
    EXPECT_EQ(child.trace_id(), s.trace_id());
  }
  EXPECT_EQ(off.store->size(), 0u);

  auto noop = TracerProvider::noop();
  Span n = noop->tracer("x").start_span("n");
  EXPECT_FALSE(n);
  EXPECT_FALSE(n.recording());
  n.set_attribute("a", 1).end();

  auto ratio = trace_id_ratio(0.25);
  int sampled = 0;
  for (uint64_t i = 0; i < 4000; ++i) {
    const TraceId id = TraceId::from_u64(i * 0x9E3779B97F4A7C15ull, i * 0xBF58476D1CE4E5B9ull);
    sampled += ratio->should_sample(nullptr, id, "x", SpanKind::kInternal) ==
               SamplingDecision::kRecordAndSample;
  }
  EXPECT_NEAR(sampled, 1000, 150);

  auto limited = rate_limited(10);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) {
    allowed += limited->should_sample(nullptr, TraceId::from_u64(1, 1), "x", SpanKind::kInternal) ==
               SamplingDecision::kRecordAndSample;
  }
  EXPECT_GE(allowed, 9);
  EXPECT_LE(allowed, 11);

  auto pb = parent_based(always_off());
  SpanContext parent;
  parent.trace_id = TraceId::from_u64(1, 1);
  parent.span_id = SpanId::from_u64(1);
  parent.flags.value = TraceFlags::kSampled;
  EXPECT_EQ(pb->should_sample(&parent, parent.trace_id, "x", SpanKind::kInternal),
            SamplingDecision::kRecordAndSample);
  EXPECT_EQ(pb->should_sample(nullptr, parent.trace_id, "x", SpanKind::kInternal),
            SamplingDecision::kDrop);
}

TEST(Tracer, IdsAreUniqueAndNonZero) {
  Fixture f(always_off());
  std::set<uint64_t> ids;
  for (int i = 0; i < 10000; ++i) {
    Span s = f.tracer().start_span("x", {.root = true});
    EXPECT_TRUE(s.span_id().valid());
    EXPECT_TRUE(s.trace_id().valid());
    ids.insert(s.span_id().to_u64());
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(Context, CarriedAcrossThreads) {
  Fixture f;
  TraceId tid;
  SpanId pid;
  {
    Span parent = f.tracer().start_span("parent");
    tid = parent.trace_id();
    pid = parent.span_id();
    auto task = wrap([&] { Span s = f.tracer().start_span("in_thread"); });
    std::thread th(task);
    th.join();
  }
  auto spans = f.store->find("in_thread");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].context.trace_id, tid);
  EXPECT_EQ(spans[0].parent_span_id, pid);
}

TEST(Span, MoveAndOutOfOrderEnd) {
  Fixture f;
  ContextScope clean{SpanContext()};  // restores this thread's context afterwards
  Span a = f.tracer().start_span("a");
  const SpanId aid = a.span_id();
  Span b = f.tracer().start_span("b");
  const SpanId bid = b.span_id();
  a.end();  // out of order: b stays current
  EXPECT_EQ(current_span_context().span_id, bid);
  Span moved = std::move(b);
  EXPECT_FALSE(b);
  moved.end();
  // Ending b pops a's frame too (a ended while b was above it): what was current before a is
  // current again, not an ended span.
  EXPECT_NE(current_span_context().span_id, aid);
  EXPECT_FALSE(current_span_context().valid());
  EXPECT_EQ(f.store->size(), 2u);
}

TEST(Span, ContextStackSurvivesDeepNestingAndScopes) {
  Fixture f;
  ContextScope clean{SpanContext()};
  // Deeper than the initial 16 frames: the stack grows, parents stay right.
  std::vector<Span> spans;
  for (int i = 0; i < 40; ++i) {
    spans.push_back(f.tracer().start_span("level"));
    EXPECT_EQ(current_span_context().span_id, spans.back().span_id());
  }
  Span leaf = f.tracer().start_span("leaf");
  {
    // A scope over the current context (a reference into the stack that may grow).
    ContextScope same(current_span_context());
    EXPECT_EQ(current_span_context().span_id, leaf.span_id());
  }
  EXPECT_EQ(current_span_context().span_id, leaf.span_id());
  leaf.end();
  for (int i = 39; i >= 0; --i) {
    EXPECT_EQ(current_span_context().span_id, spans[static_cast<std::size_t>(i)].span_id());
    spans[static_cast<std::size_t>(i)].end();
  }
  EXPECT_FALSE(current_span_context().valid());
  auto stored = f.store->find("level");
  ASSERT_EQ(stored.size(), 40u);
}

TEST(Span, CurrentContextReferenceSurvivesStackGrowth) {
  // Run on a thread of its own so that its stack starts small.
  std::thread([] {
    Fixture f;
    Span a = f.tracer().start_span("a");
    const SpanContext& ref = current_span_context();  // a reference into the stack
    std::vector<Span> deeper;
    for (int i = 0; i < 100; ++i) deeper.push_back(f.tracer().start_span("deeper"));
    // The stack grew several times; the reference is still readable (ASan checks) and shows a.
    EXPECT_EQ(ref.span_id, a.span_id());
    EXPECT_EQ(ref.trace_id, a.trace_id());
  }).join();
}

TEST(Span, EndedOnAnotherThreadLeavesThatThreadAlone) {
  Fixture f;
  // On threads of their own: the starting thread keeps the ended span current (documented: end
  // a current span on the thread that started it), which must not leak into later tests.
  std::thread([&] {
    Span s = f.tracer().start_span("moved_away");
    const SpanId id = s.span_id();
    std::thread([&] {
      Span local = f.tracer().start_span("other_thread_span");
      s.end();  // s's frame belongs to the starting thread: this thread's stack is untouched
      EXPECT_EQ(current_span_context().span_id, local.span_id());
    }).join();
    EXPECT_EQ(current_span_context().span_id, id);
  }).join();
  EXPECT_EQ(f.store->find("moved_away").size(), 1u);
}

TEST(Span, UnsampledSpanKeepsContextInline) {
  auto store = std::make_shared<InMemorySpanStore>();
  TracerProviderOptions o;
  o.resource = Resource({{"service.name", std::string("t")}});
  o.sampler = always_off();
  o.processors.push_back(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
  TracerProvider provider(std::move(o));
  ContextScope clean{SpanContext()};
  Span parent = provider.tracer("t").start_span("parent");
  EXPECT_TRUE(parent);
  EXPECT_FALSE(parent.recording());
  EXPECT_TRUE(parent.context().valid());
  EXPECT_FALSE(parent.context().sampled());
  EXPECT_EQ(current_span_context().span_id, parent.span_id());
  Span child = provider.tracer("t").start_span("child");
  EXPECT_EQ(child.trace_id(), parent.trace_id());
  Span moved = std::move(child);
  EXPECT_FALSE(child);
  EXPECT_EQ(moved.context().span_id, current_span_context().span_id);
  moved.end();
  EXPECT_FALSE(moved);
  EXPECT_FALSE(moved.context().valid());
  EXPECT_EQ(current_span_context().span_id, parent.span_id());
  parent.end();
  EXPECT_FALSE(current_span_context().valid());
  EXPECT_EQ(store->size(), 0u);

  // An unsampled child of a remote parent with a tracestate carries the tracestate.
  SpanContext remote;
  remote.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  remote.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  remote.trace_state = *TraceState::parse("congo=t61rcWkgMzE");
  remote.remote = true;
  Span withstate = provider.tracer("t").start_span("s", {.parent = &remote, .make_current = false});
  EXPECT_EQ(withstate.context().trace_state.header(), "congo=t61rcWkgMzE");
  EXPECT_EQ(withstate.trace_id(), remote.trace_id);
  EXPECT_FALSE(current_span_context().valid());
}

}  // namespace
}  // namespace vigil::trace
