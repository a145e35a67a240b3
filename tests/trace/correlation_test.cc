#include "vigil/trace/correlation.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/propagation.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {
namespace {

std::string attr(const SpanData& s, std::string_view key) {
  const AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

struct Fixture {
  // Earlier tests on this thread may have left a context current (out-of-order ends).
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  explicit Fixture(bool with_processor) {
    TracerProviderOptions o;
    if (with_processor) o.processors.push_back(std::make_unique<CorrelationSpanProcessor>());
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  Tracer& tracer() { return provider->tracer("correlation_test"); }
};

TEST(Correlation, NewRequestIdIsAUuidV4) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_request_id();
    ASSERT_TRUE(std::regex_match(id, uuid)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Correlation, BaggageRoundTripAndPropagation) {
  Baggage b = with_correlation(Baggage::parse("other=1,user.id=old"),
                               {.request_id = "r 1", .user_id = "u-42"});
  EXPECT_EQ(b.get("other").value_or(""), "1");
  EXPECT_EQ(b.get("user.id").value_or(""), "u-42");
  EXPECT_FALSE(b.get("session.id"));  // empty ids are left out
  Correlation c = Correlation::from_baggage(b);
  EXPECT_EQ(c, (Correlation{"r 1", "u-42", ""}));

  // Over the wire with the baggage propagator (percent-encoded).
  HeaderMapCarrier carrier;
  Context out;
  out.baggage = b;
  baggage_propagator()->inject(out, carrier);
  Context back = baggage_propagator()->extract(carrier);
  EXPECT_EQ(Correlation::from_baggage(back.baggage), c);
  EXPECT_TRUE(Correlation().empty());
}

TEST(Correlation, ScopeSetsBaggageAndSpanAttributes) {
  Fixture f(false);
  EXPECT_TRUE(Correlation::current().empty());
  {
    Span request = f.tracer().start_span("request");
    CorrelationScope scope({.request_id = "r-1", .user_id = "u-2", .session_id = "s-3"}, &request);
    EXPECT_EQ(Correlation::current(), (Correlation{"r-1", "u-2", "s-3"}));
    Span child = f.tracer().start_span("child");
    annotate_with_correlation(child);
    // Across threads, with the rest of the context.
    std::thread([ctx = Context::current()] {
      ContextScope s(ctx);
      EXPECT_EQ(Correlation::current().session_id, "s-3");
    }).join();
    {
      CorrelationScope inner({.user_id = "u-override"});
      EXPECT_EQ(Correlation::current(), (Correlation{"r-1", "u-override", "s-3"}));
    }
    EXPECT_EQ(Correlation::current().user_id, "u-2");
  }
  EXPECT_TRUE(Correlation::current().empty());
  for (const char* name : {"request", "child"}) {
    auto spans = f.store->find(name);
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(attr(spans[0], "request.id"), "r-1");
    EXPECT_EQ(attr(spans[0], "user.id"), "u-2");
    EXPECT_EQ(attr(spans[0], "session.id"), "s-3");
  }
}

TEST(Correlation, ProcessorCopiesBaggageOntoEverySpan) {
  Fixture f(true);
  { Span before = f.tracer().start_span("no_baggage"); }
  {
    CorrelationScope scope({.request_id = "r-9", .session_id = "s-9"});
    Span a = f.tracer().start_span("a");
    a.set_attribute("own", 1);
    Span b = f.tracer().start_span("b");
  }
  auto none = f.store->find("no_baggage");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].attributes.empty());
  for (const char* name : {"a", "b"}) {
    auto spans = f.store->find(name);
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(attr(spans[0], "request.id"), "r-9");
    EXPECT_EQ(attr(spans[0], "session.id"), "s-9");
    EXPECT_EQ(attr(spans[0], "user.id"), "<absent>");
  }
  EXPECT_EQ(attr(f.store->find("a")[0], "own"), "1");

  CorrelationSpanProcessor custom({"tenant"});
  EXPECT_EQ(custom.keys(), std::vector<std::string>{"tenant"});
}

}  // namespace
}  // namespace vigil::trace
