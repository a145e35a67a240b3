// export_jaeger / to_jaeger_json: the JSON the Jaeger UI loads from a file, checked against a
// shape check written from Jaeger's model (jaeger model/json: Trace, Span, Reference, Process,
// Log, KeyValue): every required field with its type, references to spans of the trace, µs
// units; then the exact values of a known trace, from the in-memory store and the tracez store.
#include "vigil/trace/jaeger.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/processor.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/tracer.h"
#include "vigil/trace/tracez.h"

namespace vigil::trace {
namespace {

using json = nlohmann::json;

bool is_hex(const json& v, std::size_t n) {
  if (!v.is_string() || v.get<std::string>().size() != n) return false;
  for (char c : v.get<std::string>()) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Jaeger's KeyValue: key (string), type (one of Jaeger's value types) and a value of that type.
void check_key_value(const json& kv, const std::string& where, std::vector<std::string>& errors) {
  static const std::set<std::string> kTypes = {"string", "bool", "int64", "float64", "binary"};
  if (!kv.is_object() || !kv.contains("key") || !kv["key"].is_string() || !kv.contains("type") ||
      !kv.contains("value")) {
    errors.push_back(where + ": a tag needs key, type and value: " + kv.dump());
    return;
  }
  const std::string type = kv["type"].is_string() ? kv["type"].get<std::string>() : "";
  const json& v = kv["value"];
  const bool ok = (type == "string" && v.is_string()) || (type == "bool" && v.is_boolean()) ||
                  (type == "int64" && v.is_number_integer()) ||
                  (type == "float64" && v.is_number()) || (type == "binary" && v.is_string());
  if (!kTypes.count(type) || !ok) errors.push_back(where + ": bad type/value: " + kv.dump());
}

// The shape check: returns every violation (empty when the document is a valid Jaeger file).
std::vector<std::string> check_jaeger_shape(const json& doc) {
  std::vector<std::string> errors;
  const auto need = [&errors](const json& o, const char* key, bool (json::*is)() const noexcept,
                              const std::string& where) {
    if (!o.is_object() || !o.contains(key) || !(o[key].*is)()) {
      errors.push_back(where + "." + key + " missing or of the wrong type");
      return false;
    }
    return true;
  };
  if (!need(doc, "data", &json::is_array, "$")) return errors;
  for (std::size_t t = 0; t < doc["data"].size(); ++t) {
    const json& trace = doc["data"][t];
    const std::string tw = "$.data[" + std::to_string(t) + "]";
    if (!need(trace, "traceID", &json::is_string, tw) ||
        !need(trace, "spans", &json::is_array, tw) ||
        !need(trace, "processes", &json::is_object, tw)) {
      continue;
    }
    if (!is_hex(trace["traceID"], 32)) errors.push_back(tw + ".traceID not 32 hex digits");
    if (trace.contains("warnings") && !trace["warnings"].is_array() &&
        !trace["warnings"].is_null()) {
      errors.push_back(tw + ".warnings not an array");
    }
    for (const auto& [id, process] : trace["processes"].items()) {
      const std::string pw = tw + ".processes." + id;
      need(process, "serviceName", &json::is_string, pw);
      if (process.contains("tags")) {
        for (const json& kv : process["tags"]) check_key_value(kv, pw + ".tags", errors);
      }
    }
    std::set<std::string> span_ids;
    for (const json& s : trace["spans"]) {
      if (s.contains("spanID")) span_ids.insert(s["spanID"].dump());
    }
    for (std::size_t i = 0; i < trace["spans"].size(); ++i) {
      const json& s = trace["spans"][i];
      const std::string sw = tw + ".spans[" + std::to_string(i) + "]";
      bool ok = need(s, "traceID", &json::is_string, sw) &&
                need(s, "spanID", &json::is_string, sw) &&
                need(s, "operationName", &json::is_string, sw) &&
                need(s, "references", &json::is_array, sw) &&
                need(s, "startTime", &json::is_number_unsigned, sw) &&
                need(s, "duration", &json::is_number_unsigned, sw) &&
                need(s, "tags", &json::is_array, sw) && need(s, "logs", &json::is_array, sw) &&
                need(s, "processID", &json::is_string, sw);
      if (!ok) continue;
      if (s["traceID"] != trace["traceID"]) errors.push_back(sw + ".traceID is not the trace's");
      if (!is_hex(s["spanID"], 16)) errors.push_back(sw + ".spanID not 16 hex digits");
      if (!trace["processes"].contains(s["processID"].get<std::string>())) {
        errors.push_back(sw + ".processID names no process");
      }
      // µs since the epoch: between 2001 and 2286 (ns or ms would fall outside).
      const uint64_t start = s["startTime"].get<uint64_t>();
      if (start < 1'000'000'000'000'000ULL || start > 9'999'999'999'999'999ULL) {
        errors.push_back(sw + ".startTime is not in microseconds: " + std::to_string(start));
      }
      for (const json& kv : s["tags"]) check_key_value(kv, sw + ".tags", errors);
      for (const json& log : s["logs"]) {
        if (need(log, "timestamp", &json::is_number_unsigned, sw + ".logs") &&
            need(log, "fields", &json::is_array, sw + ".logs")) {
          const uint64_t ts = log["timestamp"].get<uint64_t>();
          if (ts < start || ts > start + s["duration"].get<uint64_t>()) {
            errors.push_back(sw + ".logs timestamp outside the span");
          }
          for (const json& kv : log["fields"]) check_key_value(kv, sw + ".logs.fields", errors);
        }
      }
      for (const json& ref : s["references"]) {
        if (!need(ref, "refType", &json::is_string, sw + ".references") ||
            !need(ref, "traceID", &json::is_string, sw + ".references") ||
            !need(ref, "spanID", &json::is_string, sw + ".references")) {
          continue;
        }
        const std::string type = ref["refType"].get<std::string>();
        if (type != "CHILD_OF" && type != "FOLLOWS_FROM") {
          errors.push_back(sw + ".references refType " + type);
        }
        if (type == "CHILD_OF" &&
            (ref["traceID"] != s["traceID"] || !span_ids.count(ref["spanID"].dump()))) {
          errors.push_back(sw + ": CHILD_OF a span not in the trace");
        }
      }
      if (s.contains("warnings") && !s["warnings"].is_array() && !s["warnings"].is_null()) {
        errors.push_back(sw + ".warnings not an array");
      }
    }
  }
  return errors;
}

const json* tag(const json& tags, const std::string& key) {
  for (const json& kv : tags) {
    if (kv["key"] == key) return &kv;
  }
  return nullptr;
}

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ULL;  // ns

// A known trace: a server root, a client child with an event and an error, a link to another
// trace; a second trace with one span.
struct KnownTraces {
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> memory = std::make_shared<InMemorySpanStore>();
  std::shared_ptr<TracezStore> tracez;
  std::unique_ptr<TracerProvider> provider;
  TraceId trace_id;
  std::string root_id, child_id;

  KnownTraces() {
    auto tz = std::make_unique<TracezProcessor>();
    tracez = tz->store();
    TracerProviderOptions o;
    o.resource = Resource({{"service.name", std::string("gateway")},
                           {"service.version", std::string("1.4.2")},
                           {"process.pid", int64_t{4242}}});
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(memory)));
    o.processors.push_back(std::move(tz));
    provider = std::make_unique<TracerProvider>(std::move(o));
    Tracer& tracer = provider->tracer("vigil.test", "0.9");
    const SpanContext other{*TraceId::from_hex("0af7651916cd43dd8448eb211c80319c"),
                            *SpanId::from_hex("b7ad6b7169203331"),
                            TraceFlags{1},
                            {},
                            true};
    {
      Span root =
          tracer.start_span("GET /chat", {.kind = SpanKind::kServer, .start_unix_nanos = kT0});
      trace_id = root.trace_id();
      root_id = root.span_id().to_hex();
      root.set_attribute("http.status_code", int64_t{503});
      {
        Span child = tracer.start_span(
            "llm_call", {.kind = SpanKind::kClient, .start_unix_nanos = kT0 + 1'000'000});
        child_id = child.span_id().to_hex();
        child.set_attribute("gen_ai.request.model", "gpt-4o")
            .set_attribute("cost.usd", 0.125)
            .set_attribute("cached", false)
            .set_attribute("tags", std::vector<std::string>{"a", "b"});
        child.add_event("retry", {{"attempt", int64_t{2}}}, kT0 + 2'000'000);
        child.add_link(other);
        child.set_status(StatusCode::kError, "rate limited");
        child.end(kT0 + 4'500'000);
      }
      root.end(kT0 + 5'000'000);
    }
    Span lone = tracer.start_span("cleanup", {.root = true, .start_unix_nanos = kT0 + 9'000'000});
    lone.end(kT0 + 9'001'000);
  }
};

void check_known_trace(const json& trace, const KnownTraces& k) {
  EXPECT_EQ(trace["traceID"], k.trace_id.to_hex());
  ASSERT_EQ(trace["spans"].size(), 2u);
  const json& root = trace["spans"][0];  // sorted by start time
  const json& child = trace["spans"][1];
  EXPECT_EQ(root["operationName"], "GET /chat");
  EXPECT_EQ(root["spanID"], k.root_id);
  EXPECT_EQ(root["references"], json::array());
  EXPECT_EQ(root["startTime"], kT0 / 1000);
  EXPECT_EQ(root["duration"], 5000);           // 5 ms in µs
  EXPECT_EQ(root["flags"].get<int>() & 1, 1);  // sampled
  EXPECT_EQ((*tag(root["tags"], "span.kind"))["value"], "server");
  EXPECT_EQ(*tag(root["tags"], "http.status_code"),
            json::parse(R"({"key":"http.status_code","type":"int64","value":503})"));
  EXPECT_EQ(root["processID"], "p1");

  EXPECT_EQ(child["operationName"], "llm_call");
  EXPECT_EQ(child["spanID"], k.child_id);
  EXPECT_EQ(child["startTime"], kT0 / 1000 + 1000);
  EXPECT_EQ(child["duration"], 3500);
  EXPECT_EQ(child["references"], json::parse(R"([
      {"refType":"CHILD_OF","traceID":")" + k.trace_id.to_hex() +
                                             R"(","spanID":")" + k.root_id +
                                             R"("},
      {"refType":"FOLLOWS_FROM","traceID":"0af7651916cd43dd8448eb211c80319c",
       "spanID":"b7ad6b7169203331"}])"));
  const json& tags = child["tags"];
  EXPECT_EQ((*tag(tags, "gen_ai.request.model"))["type"], "string");
  EXPECT_EQ(*tag(tags, "cost.usd"), json::parse(R"({"key":"cost.usd","type":"float64",
      "value":0.125})"));
  EXPECT_EQ((*tag(tags, "cached"))["value"], false);
  EXPECT_EQ((*tag(tags, "tags"))["value"], R"(["a","b"])");
  EXPECT_EQ((*tag(tags, "span.kind"))["value"], "client");
  EXPECT_EQ((*tag(tags, "otel.status_code"))["value"], "ERROR");
  EXPECT_EQ((*tag(tags, "otel.status_description"))["value"], "rate limited");
  EXPECT_EQ((*tag(tags, "error"))["value"], true);
  EXPECT_EQ((*tag(tags, "otel.scope.name"))["value"], "vigil.test");
  EXPECT_EQ((*tag(tags, "otel.scope.version"))["value"], "0.9");
  EXPECT_EQ(child["logs"], json::parse(R"([{"timestamp":)" + std::to_string(kT0 / 1000 + 2000) +
                                       R"(,"fields":[
      {"key":"event","type":"string","value":"retry"},
      {"key":"attempt","type":"int64","value":2}]}])"));
  EXPECT_EQ(child["warnings"], json::array());

  ASSERT_EQ(trace["processes"].size(), 1u);
  const json& p = trace["processes"]["p1"];
  EXPECT_EQ(p["serviceName"], "gateway");
  EXPECT_EQ(tag(p["tags"], "service.name"), nullptr);
  EXPECT_EQ((*tag(p["tags"], "service.version"))["value"], "1.4.2");
  EXPECT_EQ((*tag(p["tags"], "process.pid"))["value"], 4242);
}

TEST(Jaeger, InMemoryStoreOneTraceAndAll) {
  KnownTraces k;
  const json one = json::parse(export_jaeger(*k.memory, k.trace_id));
  EXPECT_EQ(check_jaeger_shape(one), std::vector<std::string>{});
  ASSERT_EQ(one["data"].size(), 1u);
  check_known_trace(one["data"][0], k);

  const json all = json::parse(export_jaeger(*k.memory));
  EXPECT_EQ(check_jaeger_shape(all), std::vector<std::string>{});
  ASSERT_EQ(all["data"].size(), 2u);
  EXPECT_EQ(all["data"][1]["spans"][0]["operationName"], "cleanup");
  EXPECT_EQ(all["data"][1]["spans"][0]["duration"], 1);
}

TEST(Jaeger, TracezStoreSamples) {
  KnownTraces k;
  const json one = json::parse(export_jaeger(*k.tracez, k.trace_id));
  EXPECT_EQ(check_jaeger_shape(one), std::vector<std::string>{});
  ASSERT_EQ(one["data"].size(), 1u);
  check_known_trace(one["data"][0], k);
  const json all = json::parse(export_jaeger(*k.tracez));
  EXPECT_EQ(all["data"].size(), 2u);
  EXPECT_EQ(check_jaeger_shape(all), std::vector<std::string>{});
}

TEST(Jaeger, EmptyAndTheShapeCheckCatchesMistakes) {
  EXPECT_EQ(to_jaeger_json({}), R"({"data":[]})");
  KnownTraces k;
  json doc = json::parse(export_jaeger(*k.memory, k.trace_id));
  json broken = doc;
  broken["data"][0]["spans"][0]["startTime"] = kT0;  // nanoseconds
  broken["data"][0]["spans"][1]["references"][0]["spanID"] = "0000000000000001";
  broken["data"][0]["spans"][1]["tags"][0]["type"] = "int64";  // a string value
  broken["data"][0]["processes"]["p1"].erase("serviceName");
  EXPECT_EQ(check_jaeger_shape(broken).size(), 4u);
}

TEST(Jaeger, NonFiniteAndEmptyValuesStayValid) {
  ContextScope clean{Context()};
  auto memory = std::make_shared<InMemorySpanStore>();
  TracerProviderOptions o;
  o.processors.push_back(
      std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(memory)));
  TracerProvider provider(std::move(o));
  {
    Span s = provider.tracer("t").start_span("odd\xff");
    s.set_attribute("nan", std::numeric_limits<double>::quiet_NaN());
    s.set_attribute("inf", -std::numeric_limits<double>::infinity());
  }
  const json doc = json::parse(export_jaeger(*memory));
  EXPECT_EQ(check_jaeger_shape(doc), std::vector<std::string>{});
  const json& tags = doc["data"][0]["spans"][0]["tags"];
  EXPECT_EQ((*tag(tags, "nan"))["value"], "NaN");
  EXPECT_EQ((*tag(tags, "inf"))["value"], "-Infinity");
}

}  // namespace
}  // namespace vigil::trace
