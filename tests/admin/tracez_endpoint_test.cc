#include "vigil/admin/tracez_endpoint.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "vigil/core/error.h"
#include "vigil/trace/context.h"
#include "vigil/trace/tracer.h"
#include "vigil/trace/tracez.h"

namespace vigil::admin {
namespace {

using nlohmann::json;

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

HttpResponse get(const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  char* ct = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
  if (ct != nullptr) res.content_type = ct;
  curl_easy_cleanup(curl);
  return res;
}

class TracezEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = std::make_unique<trace::TracezProcessor>(trace::TracezOptions{
        .max_span_names = 4, .samples_per_bucket = 2, .errors_per_name = 2, .max_running = 8});
    store_ = p->store();
    trace::TracerProviderOptions o;
    o.processors.push_back(std::move(p));
    provider_ = std::make_unique<trace::TracerProvider>(std::move(o));
    server_ = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0"});
    add_tracez_endpoint(*server_, store_);
    server_->start();
  }
  void TearDown() override { server_->stop(); }
  trace::Tracer& tracer() { return provider_->tracer("tracez_endpoint_test"); }
  void span(std::string_view name, uint64_t nanos, bool error = false) {
    trace::Span s = tracer().start_span(name, {.start_unix_nanos = 1'000'000'000});
    s.set_attribute("gen_ai.request.model", "gpt-4o").set_attribute("bad", "\xff\xfe");
    if (error) s.set_status(trace::StatusCode::kError, "rate limited");
    s.end(1'000'000'000 + nanos);
  }
  json get_json(const std::string& path) {
    HttpResponse r = get(server_->url() + path);
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  trace::ContextScope clean_{trace::Context()};
  std::shared_ptr<trace::TracezStore> store_;
  std::unique_ptr<trace::TracerProvider> provider_;
  std::unique_ptr<Server> server_;
};

TEST_F(TracezEndpointTest, JsonShape) {
  span("llm_call", 2'000'000);               // [1ms,10ms)
  span("llm_call", 5'000);                   // [0,10us)
  span("llm_call", 3'000'000, true);         // error
  span("tool_execution", 20'000'000, true);  // error
  trace::Span running = tracer().start_span("request", {.kind = trace::SpanKind::kServer});

  json j = get_json("/debug/tracez");
  ASSERT_EQ(j["latency_buckets"].size(), 9u);
  EXPECT_EQ(j["latency_buckets"][0], "[0,10us)");
  EXPECT_EQ(j["latency_buckets"][8], "[100s,inf)");
  EXPECT_EQ(j["limits"]["max_span_names"], 4);
  EXPECT_EQ(j["limits"]["samples_per_bucket"], 2);
  ASSERT_EQ(j["running"].size(), 1u);
  EXPECT_EQ(j["running"][0]["name"], "request");
  EXPECT_EQ(j["running"][0]["kind"], "server");
  EXPECT_EQ(j["running"][0]["span_id"], running.span_id().to_hex());
  EXPECT_EQ(j["running"][0]["trace_id"].get<std::string>().size(), 32u);
  EXPECT_TRUE(j["running"][0]["elapsed_ns"].is_number_unsigned());

  ASSERT_EQ(j["spans"].size(), 3u);  // sorted by name
  json llm = j["spans"][0];
  EXPECT_EQ(llm["name"], "llm_call");
  EXPECT_EQ(llm["latency"], json({1, 0, 0, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(llm["errors"], 1);
  EXPECT_FALSE(llm.contains("samples"));  // only with ?name=
  EXPECT_EQ(j["spans"][1]["name"], "request");
  EXPECT_EQ(j["spans"][1]["running"], 1);
  ASSERT_EQ(j["recent_errors"].size(), 2u);
  EXPECT_EQ(j["recent_errors"][0]["name"], "tool_execution");  // newest first
  EXPECT_EQ(j["recent_errors"][1]["status"]["code"], "error");
  EXPECT_EQ(j["recent_errors"][1]["status"]["message"], "rate limited");

  json d = get_json("/debug/tracez?name=llm_call&errors=1&running=0");
  EXPECT_EQ(d["running"].size(), 0u);
  EXPECT_EQ(d["recent_errors"].size(), 1u);
  llm = d["spans"][0];
  ASSERT_TRUE(llm.contains("samples"));
  ASSERT_EQ(llm["samples"]["[1ms,10ms)"].size(), 1u);
  json s = llm["samples"]["[1ms,10ms)"][0];
  EXPECT_EQ(s["name"], "llm_call");
  EXPECT_EQ(s["duration_ns"], 2'000'000);
  EXPECT_EQ(s["kind"], "internal");
  EXPECT_EQ(s["attributes"]["gen_ai.request.model"], "gpt-4o");
  EXPECT_EQ(s["attributes"]["bad"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // invalid UTF-8 replaced
  EXPECT_EQ(s["parent_span_id"], "");
  ASSERT_EQ(llm["error_samples"].size(), 1u);
  EXPECT_FALSE(d["spans"][1].contains("samples"));
}

TEST_F(TracezEndpointTest, BoundedMemory) {
  for (int i = 0; i < 50; ++i) span("llm_call", 2'000'000);
  for (int i = 0; i < 50; ++i) span("llm_call", 2'000, true);
  for (int i = 0; i < 10; ++i) span("name" + std::to_string(i), 1);
  std::vector<trace::Span> open;
  for (int i = 0; i < 20; ++i) open.push_back(tracer().start_span("llm_call"));

  json j = get_json("/debug/tracez?name=llm_call&running=10000&errors=1000");
  EXPECT_EQ(j["spans"].size(), 4u);  // max_span_names
  EXPECT_EQ(j["spans_untracked"], 7);
  EXPECT_EQ(j["running"].size(), 8u);  // max_running
  EXPECT_EQ(j["running_untracked"], 12);
  json llm = j["spans"][0];
  EXPECT_EQ(llm["latency"][3], 50);
  EXPECT_EQ(llm["errors"], 50);
  EXPECT_EQ(llm["samples"]["[1ms,10ms)"].size(), 2u);  // samples_per_bucket
  EXPECT_EQ(llm["error_samples"].size(), 2u);          // errors_per_name
  EXPECT_EQ(j["recent_errors"].size(), 2u);
}

TEST_F(TracezEndpointTest, BadParametersAndDuplicatePath) {
  EXPECT_EQ(get(server_->url() + "/debug/tracez?running=-1").status, 400);
  EXPECT_EQ(get(server_->url() + "/debug/tracez?errors=x").status, 400);
  EXPECT_EQ(get(server_->url() + "/debug/tracez?errors=").status, 400);
  EXPECT_EQ(get(server_->url() + "/debug/tracez?name=%ff").status, 200);
  EXPECT_THROW(add_tracez_endpoint(*server_, store_), vigil::Error);
  add_tracez_endpoint(*server_, store_, "/other/tracez");
  EXPECT_EQ(get(server_->url() + "/other/tracez").status, 200);
}

TEST_F(TracezEndpointTest, JaegerFormat) {
  span("llm_call", 2'000'000);
  span("tool_execution", 20'000'000, true);
  json all = get_json("/debug/tracez?format=jaeger");
  ASSERT_EQ(all["data"].size(), 2u);  // two root spans: two traces (errors first)
  const json& t =
      all["data"][0]["spans"][0]["operationName"] == "llm_call" ? all["data"][0] : all["data"][1];
  ASSERT_EQ(t["spans"].size(), 1u);
  const json& s = t["spans"][0];
  EXPECT_EQ(s["operationName"], "llm_call");
  EXPECT_EQ(s["startTime"], 1'000'000);  // µs
  EXPECT_EQ(s["duration"], 2'000);
  EXPECT_EQ(s["traceID"], t["traceID"]);
  EXPECT_TRUE(t["processes"][s["processID"].get<std::string>()]["serviceName"].is_string());

  const std::string id = t["traceID"];
  json one = get_json("/debug/tracez?format=jaeger&trace_id=" + id);
  ASSERT_EQ(one["data"].size(), 1u);
  EXPECT_EQ(one["data"][0]["spans"][0]["operationName"], "llm_call");
  EXPECT_EQ(get(server_->url() + "/debug/tracez?format=jaeger&trace_id=xyz").status, 400);
  EXPECT_EQ(get(server_->url() + "/debug/tracez?format=zipkin").status, 400);
}

}  // namespace
}  // namespace vigil::admin
