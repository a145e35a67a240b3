// The JSON-lines span format (append_span_json, used by JsonLinesExporter): one span with every
// field and every attribute type, against the exact line.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "vigil/trace/exporters.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/span_data.h"

namespace vigil::trace {
namespace {

TEST(AppendSpanJson, EveryFieldAndAttributeType) {
  const InstrumentationScope scope{"lib \"x\"", "1.2", ""};
  const Resource resource({{"service.name", std::string("checkout")}});
  SpanData s;
  s.name = "GET /cart";
  s.context.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  s.context.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  s.context.trace_state = *TraceState::parse("a=1,b=2");
  s.parent_span_id = *SpanId::from_hex("b7ad6b7169203331");
  s.kind = SpanKind::kServer;
  s.start_unix_nanos = 1700000000000000000u;
  s.end_unix_nanos = 1700000000000001500u;
  s.status = {StatusCode::kError, "boom\n"};
  s.attributes.push_back({"s", std::string("v\xff")});
  s.attributes.push_back({"b", true});
  s.attributes.push_back({"i", int64_t{-42}});
  s.attributes.push_back({"d", 0.1});
  s.attributes.push_back({"nan", std::nan("")});
  s.attributes.push_back({"inf", -std::numeric_limits<double>::infinity()});
  s.attributes.push_back({"k\"ey", std::monostate{}});
  s.attributes.push_back({"as", std::vector<std::string>{"x", "y"}});
  s.attributes.push_back({"ab", std::vector<bool>{true, false}});
  s.attributes.push_back({"ai", std::vector<int64_t>{1, -2}});
  s.attributes.push_back({"ad", std::vector<double>{1.5, std::numeric_limits<double>::infinity()}});
  Event e;
  e.name = "retry";
  e.time_unix_nanos = 1700000000000000700u;
  e.attributes.push_back({"n", int64_t{2}});
  s.events.push_back(e);
  s.events.push_back(Event{"empty", 5, {}, 0});
  Link l;
  l.context.trace_id = *TraceId::from_hex("0af7651916cd43dd8448eb211c80319c");
  l.context.span_id = *SpanId::from_hex("b9c7c989f97918e1");
  s.links.push_back(l);
  s.dropped_attributes_count = 1;
  s.dropped_events_count = 2;
  s.dropped_links_count = 3;
  s.scope = &scope;
  s.resource = &resource;
  std::string out = "prefix:";
  append_span_json(out, s);
  // U+FFFD for the invalid byte; NaN and infinities as strings; the key escaped.
  const std::string expected =
      "prefix:{\"name\":\"GET /cart\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""
      ",\"span_id\":\"00f067aa0ba902b7\",\"parent_span_id\":\"b7ad6b7169203331\",\"trac"
      "e_state\":\"a=1,b=2\",\"kind\":\"server\",\"start_unix_nanos\":17000000000000000"
      "00,\"end_unix_nanos\":1700000000000001500,\"duration_ns\":1500,\"status\":{\"cod"
      "e\":\"error\",\"message\":\"boom\\n\"},\"attributes\":{\"s\":\"v\xEF\xBF\xBD\",\""
      "b\":true,\"i\":-42,\"d\":0.1,\"nan\":\"NaN\",\"inf\":\"-Infinity\",\"k\\\"ey\":n"
      "ull,\"as\":[\"x\",\"y\"],\"ab\":[true,false],\"ai\":[1,-2],\"ad\":[1.5,\"Infinit"
      "y\"]},\"events\":[{\"name\":\"retry\",\"time_unix_nanos\":1700000000000000700,\""
      "attributes\":{\"n\":2}},{\"name\":\"empty\",\"time_unix_nanos\":5,\"attributes\""
      ":{}}],\"links\":[{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":"
      "\"b9c7c989f97918e1\",\"attributes\":{}}],\"dropped\":{\"attributes\":1,\"events\""
      ":2,\"links\":3},\"scope\":{\"name\":\"lib \\\"x\\\"\",\"version\":\"1.2\"},\"ser"
      "vice.name\":\"checkout\"}";
  EXPECT_EQ(out, expected);
}

TEST(AppendSpanJson, AMinimalSpan) {
  SpanData s;
  s.name = "x";
  std::string out;
  append_span_json(out, s);
  EXPECT_EQ(out,
            "{\"name\":\"x\",\"trace_id\":\"00000000000000000000000000000000\",\"span_id\":\""
            "0000000000000000\",\"kind\":\"internal\",\"start_unix_nanos\":0,\"end_unix_nanos"
            "\":0,\"duration_ns\":0,\"status\":{\"code\":\"unset\"},\"attributes\":{},\"event"
            "s\":[],\"links\":[],\"dropped\":{\"attributes\":0,\"events\":0,\"links\":0}}");
}

}  // namespace
}  // namespace vigil::trace
