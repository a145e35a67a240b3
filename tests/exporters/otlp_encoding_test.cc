// The OTLP protobuf and JSON encodings, field by field; response parsing; gzip.
#include "otlp_encoding.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "test_spans.h"

namespace vigil::exporters {
namespace {

namespace pbc = opentelemetry::proto::collector::trace::v1;
namespace pbt = opentelemetry::proto::trace::v1;
using nlohmann::json;
using testing::make_test_batch;

std::string bytes_to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

const opentelemetry::proto::common::v1::AnyValue* find_attr(
    const google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>& attrs,
    const std::string& key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

TEST(OtlpProtobuf, EncodesEveryField) {
  auto batch = make_test_batch();
  const auto spans = batch->pointers();
  std::string out, error;
  ASSERT_TRUE(detail::encode_protobuf(spans, out, error)) << error;

  pbc::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(out));
  ASSERT_EQ(req.resource_spans_size(), 1);
  const pbt::ResourceSpans& rs = req.resource_spans(0);
  ASSERT_EQ(rs.resource().attributes_size(), 3);
  EXPECT_EQ(find_attr(rs.resource().attributes(), "service.name")->string_value(), "checkout");
  EXPECT_EQ(find_attr(rs.resource().attributes(), "process.pid")->int_value(), 4242);
  ASSERT_EQ(rs.scope_spans_size(), 2);  // two scopes, in order of first appearance
  const pbt::ScopeSpans& ss = rs.scope_spans(0);
  EXPECT_EQ(ss.scope().name(), "vigil.test");
  EXPECT_EQ(ss.scope().version(), "1.2.3");
  EXPECT_EQ(ss.schema_url(), "https://opentelemetry.io/schemas/1.21.0");
  ASSERT_EQ(ss.spans_size(), 2);
  EXPECT_EQ(rs.scope_spans(1).scope().name(), "vigil.other");
  ASSERT_EQ(rs.scope_spans(1).spans_size(), 1);

  const pbt::Span& root = ss.spans(0);
  EXPECT_EQ(bytes_to_hex(root.trace_id()), testing::kTraceIdHex);
  EXPECT_EQ(bytes_to_hex(root.span_id()), testing::kRootSpanIdHex);
  EXPECT_TRUE(root.parent_span_id().empty());
  EXPECT_EQ(root.trace_state(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(root.flags(), 0x101u);  // sampled, is-remote known, parent not remote
  EXPECT_EQ(root.name(), "GET /checkout");
  EXPECT_EQ(root.kind(), pbt::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(root.start_time_unix_nano(), testing::kStart);
  EXPECT_EQ(root.end_time_unix_nano(), testing::kStart + 5'000'000);
  EXPECT_EQ(root.status().code(), pbt::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(root.status().message(), "payment declined");
  EXPECT_EQ(root.dropped_attributes_count(), 3u);
  EXPECT_EQ(root.dropped_events_count(), 2u);
  EXPECT_EQ(root.dropped_links_count(), 4u);

  ASSERT_EQ(root.attributes_size(), 8);
  EXPECT_EQ(find_attr(root.attributes(), "http.method")->string_value(), "GET");
  EXPECT_TRUE(find_attr(root.attributes(), "http.ok")->bool_value());
  EXPECT_EQ(find_attr(root.attributes(), "http.status_code")->int_value(), -9007199254740993);
  EXPECT_DOUBLE_EQ(find_attr(root.attributes(), "cost.usd")->double_value(), 0.125);
  const auto& tags = find_attr(root.attributes(), "tags")->array_value();
  ASSERT_EQ(tags.values_size(), 3);
  EXPECT_EQ(tags.values(1).string_value(), "b\"c");
  EXPECT_EQ(tags.values(2).string_value(), "ü");
  const auto& flags = find_attr(root.attributes(), "flags")->array_value();
  ASSERT_EQ(flags.values_size(), 2);
  EXPECT_TRUE(flags.values(0).bool_value());
  EXPECT_EQ(flags.values(1).value_case(), opentelemetry::proto::common::v1::AnyValue::kBoolValue);
  const auto& sizes = find_attr(root.attributes(), "sizes")->array_value();
  ASSERT_EQ(sizes.values_size(), 3);
  EXPECT_EQ(sizes.values(1).int_value(), INT64_MAX);
  EXPECT_EQ(sizes.values(2).int_value(), INT64_MIN);
  const auto& ratios = find_attr(root.attributes(), "ratios")->array_value();
  ASSERT_EQ(ratios.values_size(), 2);
  EXPECT_DOUBLE_EQ(ratios.values(1).double_value(), -2.25);

  ASSERT_EQ(root.events_size(), 1);
  EXPECT_EQ(root.events(0).name(), "exception");
  EXPECT_EQ(root.events(0).time_unix_nano(), testing::kStart + 1000);
  EXPECT_EQ(find_attr(root.events(0).attributes(), "exception.message")->string_value(), "boom");
  EXPECT_EQ(root.events(0).dropped_attributes_count(), 1u);

  ASSERT_EQ(root.links_size(), 1);
  EXPECT_EQ(bytes_to_hex(root.links(0).trace_id()), testing::kLinkTraceIdHex);
  EXPECT_EQ(bytes_to_hex(root.links(0).span_id()), testing::kLinkSpanIdHex);
  EXPECT_EQ(root.links(0).trace_state(), "vendor=abc");
  EXPECT_EQ(root.links(0).flags(), 0x301u);  // sampled, remote
  EXPECT_EQ(find_attr(root.links(0).attributes(), "link.reason")->string_value(), "batch");

  const pbt::Span& child = ss.spans(1);
  EXPECT_EQ(bytes_to_hex(child.parent_span_id()), testing::kRootSpanIdHex);
  EXPECT_EQ(child.kind(), pbt::Span::SPAN_KIND_CLIENT);
  EXPECT_EQ(child.status().code(), pbt::Status::STATUS_CODE_OK);
  EXPECT_FALSE(child.has_status() && !child.status().message().empty());

  const pbt::Span& consumer = rs.scope_spans(1).spans(0);
  EXPECT_EQ(bytes_to_hex(consumer.span_id()), "1122334455667788");
  EXPECT_EQ(bytes_to_hex(consumer.parent_span_id()), testing::kRemoteParentHex);
  EXPECT_EQ(consumer.flags(), 0x303u);  // sampled + random, parent remote
  EXPECT_EQ(consumer.kind(), pbt::Span::SPAN_KIND_CONSUMER);
  EXPECT_FALSE(consumer.has_status());  // unset status is left out
}

TEST(OtlpProtobuf, GroupsByResource) {
  auto batch = make_test_batch();
  trace::Resource other({testing::kv("service.name", std::string("billing"))});
  batch->spans[1]->resource = &other;
  std::string out, error;
  ASSERT_TRUE(detail::encode_protobuf(batch->pointers(), out, error));
  pbc::ExportTraceServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(out));
  ASSERT_EQ(req.resource_spans_size(), 2);
  EXPECT_EQ(req.resource_spans(0).scope_spans_size(), 2);
  EXPECT_EQ(req.resource_spans(1).scope_spans(0).spans(0).name(), "llm_call");
  EXPECT_EQ(req.resource_spans(1).resource().attributes(0).value().string_value(), "billing");
}

TEST(OtlpJson, FollowsTheOtlpJsonMapping) {
  auto batch = make_test_batch();
  const json j = json::parse(detail::encode_json(batch->pointers()));
  ASSERT_EQ(j["resourceSpans"].size(), 1u);
  const json& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["resource"]["attributes"][2]["value"]["intValue"], "4242");  // int64 as string
  const json& ss = rs["scopeSpans"][0];
  EXPECT_EQ(ss["scope"]["name"], "vigil.test");
  EXPECT_EQ(ss["scope"]["version"], "1.2.3");
  EXPECT_EQ(ss["schemaUrl"], "https://opentelemetry.io/schemas/1.21.0");
  const json& root = ss["spans"][0];
  EXPECT_EQ(root["traceId"], testing::kTraceIdHex);  // hex, not base64
  EXPECT_EQ(root["spanId"], testing::kRootSpanIdHex);
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(root["flags"], 0x101);
  EXPECT_EQ(root["kind"], 2);  // enums as integers
  EXPECT_EQ(root["startTimeUnixNano"], std::to_string(testing::kStart));
  EXPECT_EQ(root["endTimeUnixNano"], std::to_string(testing::kStart + 5'000'000));
  EXPECT_EQ(root["status"]["code"], 2);
  EXPECT_EQ(root["status"]["message"], "payment declined");
  EXPECT_EQ(root["droppedAttributesCount"], 3);
  EXPECT_EQ(root["droppedEventsCount"], 2);
  EXPECT_EQ(root["droppedLinksCount"], 4);
  const json& attrs = root["attributes"];
  ASSERT_EQ(attrs.size(), 8u);
  EXPECT_EQ(attrs[0]["value"]["stringValue"], "GET");
  EXPECT_EQ(attrs[1]["value"]["boolValue"], true);
  EXPECT_EQ(attrs[2]["value"]["intValue"], "-9007199254740993");
  EXPECT_EQ(attrs[3]["value"]["doubleValue"], 0.125);
  EXPECT_EQ(attrs[4]["value"]["arrayValue"]["values"][2]["stringValue"], "ü");
  EXPECT_EQ(attrs[5]["value"]["arrayValue"]["values"][1]["boolValue"], false);
  EXPECT_EQ(attrs[6]["value"]["arrayValue"]["values"][1]["intValue"], "9223372036854775807");
  EXPECT_EQ(attrs[7]["value"]["arrayValue"]["values"][1]["doubleValue"], -2.25);
  EXPECT_EQ(root["events"][0]["timeUnixNano"], std::to_string(testing::kStart + 1000));
  EXPECT_EQ(root["events"][0]["name"], "exception");
  EXPECT_EQ(root["events"][0]["droppedAttributesCount"], 1);
  EXPECT_EQ(root["links"][0]["traceId"], testing::kLinkTraceIdHex);
  EXPECT_EQ(root["links"][0]["spanId"], testing::kLinkSpanIdHex);
  EXPECT_EQ(root["links"][0]["traceState"], "vendor=abc");
  EXPECT_EQ(root["links"][0]["flags"], 0x301);
  const json& child = ss["spans"][1];
  EXPECT_EQ(child["parentSpanId"], testing::kRootSpanIdHex);
  EXPECT_EQ(child["kind"], 3);
  EXPECT_EQ(child["status"]["code"], 1);
  EXPECT_FALSE(child.contains("droppedAttributesCount"));  // defaults left out
  const json& consumer = rs["scopeSpans"][1]["spans"][0];
  EXPECT_EQ(consumer["kind"], 5);
  EXPECT_FALSE(consumer.contains("status"));
}

TEST(OtlpJson, NonFiniteDoublesAndInvalidUtf8) {
  auto batch = make_test_batch();
  batch->spans[0]->attributes.clear();
  batch->spans[0]->attributes.push_back(
      testing::kv("nan", std::numeric_limits<double>::quiet_NaN()));
  batch->spans[0]->attributes.push_back(
      testing::kv("inf", -std::numeric_limits<double>::infinity()));
  batch->spans[0]->attributes.push_back(testing::kv("bad", std::string("a\xff"
                                                                       "b")));
  const json j = json::parse(detail::encode_json(batch->pointers()));
  const json& attrs = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  EXPECT_EQ(attrs[0]["value"]["doubleValue"], "NaN");
  EXPECT_EQ(attrs[1]["value"]["doubleValue"], "-Infinity");
  EXPECT_EQ(attrs[2]["value"]["stringValue"],
            "a\xEF\xBF\xBD"
            "b");
}

TEST(OtlpJson, EscapesAndRepairsStrings) {
  auto batch = make_test_batch();
  auto& attrs = batch->spans[0]->attributes;
  attrs.clear();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quote \" backslash \\ slash /", "quote \" backslash \\ slash /"},
      {std::string("ctl \n\r\t\b\f \x01\x1f end"), std::string("ctl \n\r\t\b\f \x01\x1f end")},
      {"\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9", "\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9"},
      {"overlong \xC0\xAF", "overlong \xEF\xBF\xBD\xEF\xBF\xBD"},
      {"surrogate \xED\xA0\x80", "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"cut \xE2\x82", "cut \xEF\xBF\xBD\xEF\xBF\xBD"},
      {"big \xF4\x90\x80\x80", "big \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {std::string("nul \0 in", 8), std::string("nul \0 in", 8)},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    attrs.push_back(testing::kv("k" + std::to_string(i), cases[i].first));
  }
  batch->spans[0]->name = "name \"quoted\"\n";
  const std::string text = detail::encode_json(batch->pointers());
  const json j = json::parse(text);  // throws on invalid JSON or UTF-8
  const json& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["name"], "name \"quoted\"\n");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(span["attributes"][i]["value"]["stringValue"].get<std::string>(), cases[i].second)
        << i;
  }
  EXPECT_NE(text.find("\\u0001"), std::string::npos);
}

TEST(OtlpJson, DoublesRoundTrip) {
  auto batch = make_test_batch();
  auto& attrs = batch->spans[0]->attributes;
  attrs.clear();
  const std::vector<double> values = {0.1, -0.0, 1e300, 5e-324, 123456789.125, 2.0};
  for (std::size_t i = 0; i < values.size(); ++i) {
    attrs.push_back(testing::kv("d" + std::to_string(i), values[i]));
  }
  const json j = json::parse(detail::encode_json(batch->pointers()));
  const json& a = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(a[i]["value"]["doubleValue"].get<double>(), values[i]) << i;
  }
}

TEST(OtlpResponse, PartialSuccessProtobuf) {
  pbc::ExportTraceServiceResponse r;
  r.mutable_partial_success()->set_rejected_spans(2);
  r.mutable_partial_success()->set_error_message("2 spans too old");
  const auto p = detail::parse_export_response(r.SerializeAsString(), "application/x-protobuf");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rejected_spans, 2);
  EXPECT_EQ(p->error_message, "2 spans too old");
  // Full success: empty body or an empty partial_success.
  EXPECT_FALSE(detail::parse_export_response("", "application/x-protobuf"));
  pbc::ExportTraceServiceResponse empty;
  empty.mutable_partial_success();
  EXPECT_FALSE(detail::parse_export_response(empty.SerializeAsString(), "application/x-protobuf"));
  // Garbage is ignored (the spans were accepted).
  EXPECT_FALSE(detail::parse_export_response("\xff\xff\xff", "application/x-protobuf"));
}

TEST(OtlpResponse, PartialSuccessJson) {
  auto p = detail::parse_export_response(
      R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"quota"}})", "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rejected_spans, 3);
  EXPECT_EQ(p->error_message, "quota");
  p = detail::parse_export_response(R"({"partial_success":{"rejected_spans":1}})",
                                    "application/json; charset=utf-8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rejected_spans, 1);
  EXPECT_FALSE(detail::parse_export_response("{}", "application/json"));
  EXPECT_FALSE(detail::parse_export_response("{not json", "application/json"));
  EXPECT_FALSE(detail::parse_export_response(R"({"partialSuccess":7})", "application/json"));
}

TEST(OtlpResponse, DescribesErrorBodies) {
  google::rpc::Status st;
  st.set_code(3);
  st.set_message("invalid span id");
  EXPECT_EQ(detail::describe_error_body(st.SerializeAsString(), "application/x-protobuf"),
            "invalid span id");
  EXPECT_EQ(detail::describe_error_body(R"({"code":3,"message":"bad"})", "application/json"),
            "bad");
  EXPECT_EQ(detail::describe_error_body("plain\ntext", "text/plain"), "plain text");
  EXPECT_EQ(detail::describe_error_body("", "text/plain"), "");
}

}  // namespace
}  // namespace vigil::exporters
