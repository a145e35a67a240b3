#include "vigil/trace/propagation.h"

#include <gtest/gtest.h>

namespace vigil::trace {
namespace {

constexpr const char* kTid = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSid = "00f067aa0ba902b7";

// Valid and invalid traceparent values from the W3C spec and its test suite.
TEST(Traceparent, SpecTable) {
  struct Case {
    const char* value;
    bool valid;
  };
  const Case cases[] = {
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true},     // level 2 random
      {" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t", true},  // OWS
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},     // future version
      {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like",
       true},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},   // version ff
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", false},  // 00 too long
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", false},  // upper case
      {"0G-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},  // zero trace id
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},  // zero parent
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", false},
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false},  // no '-' after
      {"", false},
      {"00", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_traceparent(c.value).has_value(), c.valid) << c.value;
  }
  auto ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(ctx);
  EXPECT_TRUE(ctx->sampled());
  EXPECT_TRUE(ctx->flags.random());
  EXPECT_TRUE(ctx->remote);
  EXPECT_EQ(format_traceparent(*ctx), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
}

TEST(TraceContextPropagator, ExtractInjectRoundTrip) {
  auto p = trace_context_propagator();
  HeaderMapCarrier in{{"TraceParent", std::string("00-") + kTid + "-" + kSid + "-01"},
                      {"tracestate", "rojo=1"},
                      {"tracestate", "congo=2"}};
  Context ctx = p->extract(in);
  ASSERT_TRUE(ctx.span.valid());
  EXPECT_EQ(ctx.span.trace_state.header(), "rojo=1,congo=2");
  HeaderMapCarrier out;
  p->inject(ctx, out);
  EXPECT_EQ(out.get("traceparent"), std::string("00-") + kTid + "-" + kSid + "-01");
  EXPECT_EQ(out.get("tracestate"), "rojo=1,congo=2");
}

TEST(TraceContextPropagator, InvalidTraceparentIgnoresTracestate) {
  auto p = trace_context_propagator();
  HeaderMapCarrier in{{"traceparent", "ff-x"}, {"tracestate", "rojo=1"}};
  Context ctx = p->extract(in);
  EXPECT_FALSE(ctx.span.valid());
  EXPECT_TRUE(ctx.span.trace_state.empty());
  // Two traceparent headers: invalid.
  HeaderMapCarrier dup{{"traceparent", std::string("00-") + kTid + "-" + kSid + "-01"},
                       {"traceparent", std::string("00-") + kTid + "-" + kSid + "-01"}};
  EXPECT_FALSE(p->extract(dup).span.valid());
  // Invalid tracestate: traceparent kept, tracestate dropped.
  HeaderMapCarrier bad{{"traceparent", std::string("00-") + kTid + "-" + kSid + "-01"},
                       {"tracestate", "a=1,a=2"}};
  Context c = p->extract(bad);
  EXPECT_TRUE(c.span.valid());
  EXPECT_TRUE(c.span.trace_state.empty());
}

TEST(B3, SingleAndMulti) {
  auto c = parse_b3(std::string(kTid) + "-" + kSid + "-1");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->sampled());
  auto c64 = parse_b3(std::string("a3ce929d0e0e4736-") + kSid + "-0-05e3ac9a4f6e3b90");
  ASSERT_TRUE(c64);
  EXPECT_EQ(c64->trace_id.to_hex(), "0000000000000000a3ce929d0e0e4736");
  EXPECT_FALSE(c64->sampled());
  EXPECT_FALSE(parse_b3("0"));
  EXPECT_FALSE(parse_b3(std::string(kTid) + "-" + kSid + "-x"));
  auto single = b3_propagator();
  HeaderMapCarrier out;
  single->inject(Context{*c, {}}, out);
  EXPECT_EQ(out.get("b3"), std::string(kTid) + "-" + kSid + "-1");
  auto multi = b3_multi_propagator();
  HeaderMapCarrier m{{"X-B3-TraceId", kTid}, {"X-B3-SpanId", kSid}, {"X-B3-Sampled", "1"}};
  Context mc = multi->extract(m);
  EXPECT_TRUE(mc.span.valid());
  EXPECT_TRUE(mc.span.sampled());
  HeaderMapCarrier mo;
  multi->inject(mc, mo);
  EXPECT_EQ(mo.get("x-b3-traceid"), kTid);
}

TEST(Propagators, CompositeFromNames) {
  std::vector<std::string> unknown;
  auto p = propagator_from_names("tracecontext, baggage,b3,bogus", &unknown);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0], "bogus");
  Context ctx;
  ctx.span = *parse_traceparent(std::string("00-") + kTid + "-" + kSid + "-01");
  ctx.baggage.set("user.id", "u1");
  HeaderMapCarrier out;
  p->inject(ctx, out);
  EXPECT_TRUE(out.get("traceparent"));
  EXPECT_EQ(out.get("baggage"), "user.id=u1");
  EXPECT_TRUE(out.get("b3"));
  Context back = p->extract(out);
  EXPECT_EQ(back.span.trace_id, ctx.span.trace_id);
  EXPECT_EQ(back.baggage.get("user.id"), "u1");
}

}  // namespace
}  // namespace vigil::trace
