#include "vigil/trace/propagation.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace vigil::trace {
namespace {

constexpr const char* kTid = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSid = "00f067aa0ba902b7";

// Valid and invalid traceparent values from the W3C spec and its test suite (test/test.py:
// test_traceparent_*), with optional whitespace (spaces and horizontal tabs) around the value.
TEST(Traceparent, SpecTable) {
  struct Case {
    std::string value;
    bool valid;
  };
  const std::string tid = kTid;
  const std::string sid = kSid;
  const std::string ok = "00-" + tid + "-" + sid + "-01";
  const Case cases[] = {
      {ok, true},
      {"00-" + tid + "-" + sid + "-00", true},
      {"00-" + tid + "-" + sid + "-03", true},  // level 2 random flag
      {"01-" + tid + "-" + sid + "-01", true},  // future version
      {"cc-" + tid + "-" + sid + "-01", true},
      {"cc-" + tid + "-" + sid + "-01-what-the-future-will-be-like", true},
      {"cc-" + tid + "-" + sid + "-01.what-the-future-will-be-like", false},
      {"01-" + tid + "-" + sid + "-01x", false},  // no '-' after the flags
      // OWS: spaces and tabs before and after the value (test_traceparent_ows_handling).
      {" " + ok, true},
      {"\t" + ok, true},
      {ok + " ", true},
      {ok + "\t", true},
      {"\t " + ok + " \t", true},
      {" \t \t" + ok + "\t\t  ", true},
      // Other whitespace is not OWS, and OWS inside the value is not allowed.
      {"\n" + ok, false},
      {ok + "\r", false},
      {"\v" + ok, false},
      {"00-" + tid + "\t-" + sid + "-01", false},
      {"00- " + tid + "-" + sid + "-01", false},
      // Version.
      {"ff-" + tid + "-" + sid + "-01", false},
      {".0-" + tid + "-" + sid + "-01", false},
      {"0.-" + tid + "-" + sid + "-01", false},
      {"0G-" + tid + "-" + sid + "-01", false},
      {"000-" + tid + "-" + sid + "-01", false},
      {"0000-" + tid + "-" + sid + "-01", false},
      {"0-" + tid + "-" + sid + "-01", false},
      {"00_" + tid + "-" + sid + "-01", false},
      // Version 00 is exactly 55 characters.
      {ok + "-", false},
      {ok + ".", false},
      {ok + "-what-the-future-will-be-like", false},
      // Trace id.
      {"00-00000000000000000000000000000000-" + sid + "-01", false},
      {"00-." + tid.substr(1) + "-" + sid + "-01", false},
      {"00-" + tid.substr(1) + ".-" + sid + "-01", false},
      {"00-" + tid + "0-" + sid + "-01", false},  // 33 digits
      {"00-" + tid.substr(1) + "-" + sid + "-01", false},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" + sid + "-01", false},  // upper case
      // Parent id.
      {"00-" + tid + "-0000000000000000-01", false},
      {"00-" + tid + "-." + sid.substr(1) + "-01", false},
      {"00-" + tid + "-" + sid.substr(1) + ".-01", false},
      {"00-" + tid + "-" + sid + "0-01", false},
      {"00-" + tid + "-" + sid.substr(1) + "-01", false},
      {"00-" + tid + "-00F067AA0BA902B7-01", false},
      // Flags.
      {"00-" + tid + "-" + sid + "-.0", false},
      {"00-" + tid + "-" + sid + "-0.", false},
      {"00-" + tid + "-" + sid + "-0g", false},
      {"00-" + tid + "-" + sid + "-001", false},
      {"00-" + tid + "-" + sid + "-0", false},
      {"00-" + tid + "-" + sid + "-1", false},
      {"", false},
      {"00", false},
      {" \t ", false},
  };
  for (const Case& c : cases) {
    const std::optional<SpanContext> parsed = parse_traceparent(c.value);
    EXPECT_EQ(parsed.has_value(), c.valid) << '"' << c.value << '"';
    if (parsed) {
      EXPECT_EQ(parsed->trace_id.to_hex(), tid) << c.value;
      EXPECT_EQ(parsed->span_id.to_hex(), sid) << c.value;
    }
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
                       {"tracestate", "a=1,B=2"}};
  Context c = p->extract(bad);
  EXPECT_TRUE(c.span.valid());
  EXPECT_TRUE(c.span.trace_state.empty());
}

// tracestate through the propagator, as the W3C test suite sends it (test/test.py:
// test_tracestate_*): one or several header lines; `expected` is the tracestate the service
// propagates (canonical: members joined by ',' without OWS), nullopt when it is discarded.
TEST(TraceContextPropagator, TracestateTable) {
  struct Case {
    std::vector<std::string> headers;
    std::optional<std::string> expected;
  };
  std::string key_chars;  // every character a simple key may hold
  for (char c = 'a'; c <= 'z'; ++c) key_chars += c;
  key_chars += "0123456789_-*/";
  std::string value_chars;  // every character a value may hold (ending in a non-space)
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value_chars += c;
  }
  std::vector<std::string> bars;  // "bar01=01" ... "bar33=33"
  for (int i = 1; i <= 33; ++i) {
    const std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    bars.push_back("bar" + n + "=" + n);
  }
  auto join = [&](std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) out += (i == from ? "" : ",") + bars[i];
    return out;
  };
  const std::string all32 = join(0, 32);
  const Case cases[] = {
      {{"foo=1,bar=2"}, "foo=1,bar=2"},
      {{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
      // Several header lines are combined in order.
      {{"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}, "foo=1,bar=2,rojo=1,congo=2,baz=3"},
      // Empty headers and empty or whitespace-only members are allowed.
      {{""}, ""},
      {{"foo=1", ""}, "foo=1"},
      {{"", "foo=1"}, "foo=1"},
      {{",foo=1,,\t,bar=2,"}, "foo=1,bar=2"},
      {{" , \t ,"}, ""},
      // OWS (spaces and horizontal tabs) around members (test_tracestate_ows_handling).
      {{"foo=1 \t , \t bar=2, \t baz=3"}, "foo=1,bar=2,baz=3"},
      {{"foo=1\t \t,\t \tbar=2,\t \tbaz=3"}, "foo=1,bar=2,baz=3"},
      {{" foo=1"}, "foo=1"},
      {{"\tfoo=1"}, "foo=1"},
      {{"foo=1 "}, "foo=1"},
      {{"foo=1\t"}, "foo=1"},
      {{"\t foo=1 \t"}, "foo=1"},
      {{"\tfoo=1\t", "\t bar=2 "}, "foo=1,bar=2"},
      // Duplicated keys: the tracestate is kept; the first (left-most) entry of a key wins
      // (test_tracestate_duplicated_keys accepts the duplicates kept or one discarded).
      {{"foo=1,foo=1"}, "foo=1"},
      {{"foo=1,foo=2"}, "foo=1"},
      {{"foo=1", "foo=1"}, "foo=1"},
      {{"foo=1", "foo=2"}, "foo=1"},
      {{"foo=1,bar=2,baz=3,foo=4"}, "foo=1,bar=2,baz=3"},
      {{"foo=1 , bar=2,\tfoo=3,bar=4"}, "foo=1,bar=2"},
      {{"t@v=1,t@v=2,t=3"}, "t@v=1,t=3"},
      // Key grammar (test_tracestate_key_illegal_characters): anything else discards it all.
      {{"foo =1"}, std::nullopt},
      {{"foo\t=1"}, std::nullopt},
      {{"FOO=1"}, std::nullopt},
      {{"foo.bar=1"}, std::nullopt},
      {{"_foo=1"}, std::nullopt},
      {{"=1"}, std::nullopt},
      {{"foo"}, std::nullopt},
      {{"foo=1,bar"}, std::nullopt},
      {{"1foo=1"}, "1foo=1"},  // level 2: a key may start with a digit
      {{key_chars + "=1"}, key_chars + "=1"},
      // Multi-tenant keys (test_tracestate_key_illegal_vendor_format).
      {{"tenant@system=1"}, "tenant@system=1"},
      {{"1tenant@system=1"}, "1tenant@system=1"},
      {{"t@v=1,bar=2"}, "t@v=1,bar=2"},
      {{key_chars + "@a-z0-9_-*/=1"}, key_chars + "@a-z0-9_-*/=1"},
      {{"foo@=1,bar=2"}, std::nullopt},
      {{"@foo=1,bar=2"}, std::nullopt},
      {{"foo@@bar=1,bar=2"}, std::nullopt},
      {{"foo@bar@baz=1,bar=2"}, std::nullopt},
      {{"foo@1bar=1,bar=2"}, std::nullopt},  // the system id starts with a letter
      {{"foo@_bar=1,bar=2"}, std::nullopt},
      {{"foo@Bar=1,bar=2"}, std::nullopt},
      // Key length limits (test_tracestate_key_length_limit).
      {{"foo=1", std::string(256, 'z') + "=1"}, "foo=1," + std::string(256, 'z') + "=1"},
      {{"foo=1", std::string(257, 'z') + "=1"}, std::nullopt},
      {{"foo=1", std::string(241, 't') + "@" + std::string(14, 'v') + "=1"},
       "foo=1," + std::string(241, 't') + "@" + std::string(14, 'v') + "=1"},
      {{"foo=1", std::string(242, 't') + "@v=1"}, std::nullopt},
      {{"foo=1", "t@" + std::string(15, 'v') + "=1"}, std::nullopt},
      // Value grammar (test_tracestate_all_allowed_characters,
      // test_tracestate_value_illegal_characters).
      {{"foo=" + value_chars}, "foo=" + value_chars},
      {{"foo= leading spaces kept"}, "foo= leading spaces kept"},
      {{"foo=a b"}, "foo=a b"},
      {{"foo=bar=baz"}, std::nullopt},
      {{"foo=,bar=3"}, std::nullopt},
      {{"foo=a\tb"}, std::nullopt},
      {{"foo=\x7f"}, std::nullopt},
      {{"foo=\x01"}, std::nullopt},
      {{"foo=" + std::string(256, 'v')}, "foo=" + std::string(256, 'v')},
      {{"foo=" + std::string(257, 'v')}, std::nullopt},
      // At most 32 list members (test_tracestate_member_count_limit); duplicates count.
      {{join(0, 10), join(10, 20), join(20, 30), join(30, 32)}, all32},
      {{join(0, 10), join(10, 20), join(20, 30), join(30, 33)}, std::nullopt},
      {{all32 + ",,, ,"}, all32},
      {{all32, "bar01=01"}, std::nullopt},
  };
  auto p = trace_context_propagator();
  const std::string traceparent = std::string("00-") + kTid + "-" + kSid + "-00";
  for (const Case& c : cases) {
    std::string label;
    for (const std::string& h : c.headers) label += "[" + h + "]";
    HeaderMapCarrier in{{"traceparent", traceparent}};
    std::string joined;
    for (std::size_t i = 0; i < c.headers.size(); ++i) {
      in.headers.emplace_back("tracestate", c.headers[i]);
      joined += (i == 0 ? "" : ",") + c.headers[i];
    }
    // The parser: valid (possibly empty) or discarded.
    const std::optional<TraceState> parsed = TraceState::parse(joined);
    ASSERT_EQ(parsed.has_value(), c.expected.has_value()) << label;
    if (parsed) {
      EXPECT_EQ(parsed->header(), *c.expected) << label;
      // Every member kept is valid and no key repeats.
      std::vector<std::string> keys;
      parsed->for_each([&](std::string_view k, std::string_view v) {
        EXPECT_TRUE(TraceState::valid_key(k)) << label << " key " << k;
        EXPECT_TRUE(TraceState::valid_value(v)) << label << " value " << v;
        for (const std::string& seen : keys) EXPECT_NE(seen, k) << label;
        keys.emplace_back(k);
      });
      EXPECT_LE(parsed->size(), TraceState::kMaxMembers) << label;
      EXPECT_EQ(TraceState::parse(parsed->header()), parsed) << label;  // canonical is stable
    }
    // The propagator: traceparent always kept; the tracestate sent on is the expected one.
    const Context ctx = p->extract(in);
    ASSERT_TRUE(ctx.span.valid()) << label;
    EXPECT_EQ(ctx.span.trace_id.to_hex(), kTid) << label;
    EXPECT_EQ(ctx.span.trace_state.header(), c.expected.value_or("")) << label;
    HeaderMapCarrier out;
    p->inject(ctx, out);
    const std::optional<std::string_view> sent = out.get("tracestate");
    if (c.expected.value_or("").empty()) {
      EXPECT_FALSE(sent) << label;
    } else {
      ASSERT_TRUE(sent) << label;
      EXPECT_EQ(*sent, *c.expected) << label;
    }
  }
}

// Without a valid traceparent, tracestate is never parsed (test_tracestate_included_
// traceparent_missing); with tabs around a valid one it is.
TEST(TraceContextPropagator, TracestateNeedsAValidTraceparent) {
  auto p = trace_context_propagator();
  HeaderMapCarrier none{{"tracestate", "foo=1"}};
  Context a = p->extract(none);
  EXPECT_FALSE(a.span.valid());
  EXPECT_TRUE(a.span.trace_state.empty());
  HeaderMapCarrier tabs{{"traceparent", std::string("\t00-") + kTid + "-" + kSid + "-01 \t"},
                        {"TraceState", "\tfoo=1\t"}};
  Context b = p->extract(tabs);
  ASSERT_TRUE(b.span.valid());
  EXPECT_TRUE(b.span.sampled());
  EXPECT_EQ(b.span.trace_state.header(), "foo=1");
}

// W3C Baggage: OWS (spaces and tabs) around members, keys, values and properties.
TEST(BaggagePropagator, AcceptsTabsAsOptionalWhitespace) {
  const Baggage b =
      Baggage::parse("\tk1=v1 \t,\tk2\t=\tv2\t;\tprop=1\t, k3 = v%093 ,k\t4=x,\t\t,k5=a\tb");
  EXPECT_EQ(b.get("k1"), "v1");
  EXPECT_EQ(b.get("k2"), "v2");
  EXPECT_EQ(b.get("k3"), "v\t3");  // a percent-encoded tab is part of the value
  EXPECT_FALSE(b.get("k\t4"));     // a tab inside a key: that member is skipped
  EXPECT_FALSE(b.get("k4"));
  EXPECT_FALSE(b.get("k5"));  // a raw tab inside a value: skipped
  EXPECT_EQ(b.size(), 3u);
  auto p = baggage_propagator();
  HeaderMapCarrier in{{"baggage", "\tuser.id=42\t"}, {"Baggage", " \tsession=s%201 "}};
  Context ctx = p->extract(in);
  EXPECT_EQ(ctx.baggage.get("user.id"), "42");
  EXPECT_EQ(ctx.baggage.get("session"), "s 1");
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
