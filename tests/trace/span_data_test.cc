#include "vigil/trace/span_data.h"

#include <gtest/gtest.h>

#include "vigil/core/error.h"
#include "vigil/trace/baggage.h"
#include "vigil/trace/environment.h"
#include "vigil/trace/exporter.h"
#include "vigil/trace/resource.h"

namespace vigil::trace {
namespace {

TEST(Ids, HexRoundTrip) {
  auto id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->valid());
  EXPECT_EQ(id->to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(id->high(), 0x4bf92f3577b34da6ull);
  auto sid = SpanId::from_hex("00f067aa0ba902b7");
  ASSERT_TRUE(sid);
  EXPECT_EQ(sid->to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(sid->to_u64(), 0x00f067aa0ba902b7ull);
}

TEST(Ids, RejectsBadHex) {
  EXPECT_FALSE(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736"));  // upper case
  EXPECT_FALSE(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473"));   // short
  EXPECT_FALSE(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736a"));
  EXPECT_FALSE(SpanId::from_hex("00f067aa0ba902bg"));
  EXPECT_FALSE(TraceId::from_hex("00000000000000000000000000000000")->valid());
  EXPECT_FALSE(SpanId().valid());
}

TEST(TraceState, ParsesAndCanonicalizes) {
  auto ts = TraceState::parse(" rojo=00f067aa0ba902b7 , ,congo=t61rcWkgMzE\t");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(ts->size(), 2u);
  EXPECT_EQ(ts->get("congo"), "t61rcWkgMzE");
  EXPECT_FALSE(ts->get("nope"));
}

// From the W3C spec and its test suite: valid and invalid tracestate values.
TEST(TraceState, SpecTable) {
  for (const char* v : {"foo=1", "foo=1,bar=2", "foo=1 , bar=2", "1foo=1", "foo@bar=1",
                        "tenant@system=1", "foo_-*/=1", "foo=a b", "foo= leading"}) {
    EXPECT_TRUE(TraceState::parse(v)) << v;
  }
  for (const char* v :
       {"foo", "foo=", "=1", "FOO=1", "foo.bar=1", "foo =1", "foo=a,b=c=d", "_foo=1", "foo=\x7f",
        "foo@=1", "@foo=1", "foo@@bar=1", "foo@bar@baz=1", "foo@1bar=1", "foo=a\tb"}) {
    EXPECT_FALSE(TraceState::parse(v)) << v;
  }
  // A repeated key keeps its first (left-most) entry; the tracestate is not discarded.
  EXPECT_EQ(TraceState::parse("foo=1,bar=2,foo=3")->header(), "foo=1,bar=2");
  // Multi-tenant keys: a tenant of at most 241 characters, a system of at most 14.
  EXPECT_TRUE(TraceState::parse(std::string(241, 't') + "@" + std::string(14, 'v') + "=1"));
  EXPECT_FALSE(TraceState::parse(std::string(242, 't') + "@v=1"));
  EXPECT_FALSE(TraceState::parse("t@" + std::string(15, 'v') + "=1"));
  // Key length: 256 ok, 257 not; value length: 256 ok, 257 not.
  EXPECT_TRUE(TraceState::parse(std::string(256, 'k') + "=1"));
  EXPECT_FALSE(TraceState::parse(std::string(257, 'k') + "=1"));
  EXPECT_TRUE(TraceState::parse("k=" + std::string(256, 'v')));
  EXPECT_FALSE(TraceState::parse("k=" + std::string(257, 'v')));
  // 32 members ok, 33 not.
  std::string h;
  for (int i = 0; i < 32; ++i) h += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_TRUE(TraceState::parse(h));
  EXPECT_FALSE(TraceState::parse(h + ",k32=v"));
}

TEST(TraceState, WithWithoutAndTruncation) {
  TraceState ts = TraceState::parse("a=1,b=2")->with("b", "3");
  EXPECT_EQ(ts.header(), "b=3,a=1");
  EXPECT_EQ(ts.without("a").header(), "b=3");
  EXPECT_THROW(ts.with("B", "1"), vigil::Error);
  // Past 512 characters, long (>128) entries go first, then from the right.
  std::string h = "long=" + std::string(200, 'x');
  for (int i = 0; i < 10; ++i) h += ",k" + std::to_string(i) + "=" + std::string(40, 'v');
  auto big = TraceState::parse(h);
  ASSERT_TRUE(big);
  const std::string t = big->header_truncated(512);
  EXPECT_LE(t.size(), 512u);
  EXPECT_EQ(t.find("long="), std::string::npos);
  EXPECT_EQ(t.rfind("k0=", 0), 0u);
  // Whole entries only.
  EXPECT_TRUE(TraceState::parse(t));
}

TEST(SpanData, ClearKeepsBuffers) {
  SpanData d;
  d.name = "a fairly long span name that does not fit SSO";
  AttributeValue* v = d.attributes.slot("key.with.a.long.name.here", 128);
  assign(*v, std::string_view("value that is long enough to allocate"));
  const char* key_buf = d.attributes[0].key.data();
  d.clear();
  EXPECT_TRUE(d.attributes.empty());
  EXPECT_TRUE(d.name.empty());
  AttributeValue* v2 = d.attributes.slot("key.with.a.long.name.here", 128);
  EXPECT_EQ(d.attributes[0].key.data(), key_buf);  // reused
  (void)v2;
}

TEST(SpanData, AttributeToString) {
  EXPECT_EQ(to_string(AttributeValue(std::string("x"))), "x");
  EXPECT_EQ(to_string(AttributeValue(int64_t{42})), "42");
  EXPECT_EQ(to_string(AttributeValue(true)), "true");
  EXPECT_EQ(to_string(AttributeValue(std::vector<int64_t>{1, 2})), "[1,2]");
  EXPECT_EQ(to_string(AttributeValue(std::vector<std::string>{"a\"b"})), "[\"a\\\"b\"]");
}

TEST(Baggage, ParseAndHeader) {
  Baggage b = Baggage::parse("user.id=42, session.id=s%201;prop=1 ,bad key=1,=x,novalue");
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.get("user.id"), "42");
  EXPECT_EQ(b.get("session.id"), "s 1");
  EXPECT_EQ(b.entries()[1].metadata, "prop=1");
  b.set("request.id", "r,1");
  EXPECT_EQ(b.header(), "user.id=42,session.id=s%201;prop=1,request.id=r%2C1");
  EXPECT_FALSE(b.set("bad key", "1"));
  EXPECT_EQ(Baggage::parse(b.header()), b);
  EXPECT_TRUE(Baggage::parse("k=%zz").empty());
}

TEST(Environment, ParsesWithWarnings) {
  std::vector<std::string> warnings;
  Environment env({{"A", "true"}, {"B", "12"}, {"C", "x"}, {"E", ""}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  EXPECT_TRUE(env.get_bool("A", false));
  EXPECT_EQ(env.get_int("B", 5), 12);
  EXPECT_EQ(env.get_int("C", 5), 5);
  EXPECT_FALSE(env.get("E"));
  EXPECT_EQ(env.get_int("E", 7), 7);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("C='x'"), std::string::npos);
}

TEST(Resource, DefaultsOptionsAndEnvironment) {
  std::vector<std::string> warnings;
  Environment env({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=a%2Cb, k = v "},
                   {"OTEL_SERVICE_NAME", "from-env"}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  Resource r = Resource::create({.service_name = "code", .service_version = "1.2"}, env);
  EXPECT_EQ(r.service_name(), "from-env");
  EXPECT_EQ(std::get<std::string>(*r.get("team")), "a,b");
  EXPECT_EQ(std::get<std::string>(*r.get("k")), "v");
  EXPECT_EQ(std::get<std::string>(*r.get("service.version")), "1.2");
  EXPECT_EQ(std::get<std::string>(*r.get("telemetry.sdk.name")), "vigil");
  EXPECT_EQ(std::get<std::string>(*r.get("telemetry.sdk.language")), "cpp");
  EXPECT_TRUE(r.get("host.name"));
  EXPECT_TRUE(r.get("process.pid"));
  EXPECT_EQ(std::get<std::string>(*r.get("service.instance.id")).size(), 36u);
  EXPECT_TRUE(warnings.empty());
}

TEST(Resource, BadAttributesWarnAndAreIgnored) {
  std::vector<std::string> warnings;
  Environment env({{"OTEL_RESOURCE_ATTRIBUTES", "a=1,broken,b=%4"}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  Resource r = Resource::create({.service_name = "svc"}, env);
  EXPECT_EQ(r.service_name(), "svc");
  EXPECT_FALSE(r.get("a"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("OTEL_RESOURCE_ATTRIBUTES"), std::string::npos);
  EXPECT_EQ(Resource::create({}, Environment(std::map<std::string, std::string, std::less<>>{}))
                .service_name()
                .rfind("unknown_service:", 0),
            0u);
}

TEST(ExporterRegistry, RegisterAndLookup) {
  EXPECT_FALSE(has_exporter_factory("test-x"));
  register_exporter_factory("test-x",
                            [](const Environment&) { return std::unique_ptr<SpanExporter>(); });
  EXPECT_TRUE(has_exporter_factory("test-x"));
  EXPECT_TRUE(exporter_factory("test-x"));
  EXPECT_THROW(register_exporter_factory(
                   "", [](const Environment&) { return std::unique_ptr<SpanExporter>(); }),
               vigil::Error);
}

}  // namespace
}  // namespace vigil::trace
