// The alerting endpoints over real HTTP (libcurl): Prometheus' /api/v1/alerts and /api/v1/rules
// shapes, Alertmanager's API v2 silences (list, filter, get, create, update, expire), the admin
// token on mutations, and bad input (400/404 with the reason). Times come from an injected clock
// so that every timestamp is checked exactly.
#include "vigil/admin/alerting_endpoints.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "http_client.h"
#include "vigil/admin/server.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using alerting::AlertRule;
using alerting::TimePoint;
using testing::http;
using testing::HttpResponse;

// 2023-11-14T22:13:20Z
constexpr int64_t kT0Ms = 1'700'000'000'000;
constexpr const char* kToken = "s3cret-token";

class AlertingEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override { start(kToken); }
  void TearDown() override { server_->stop(); }

  void start(const std::string& token) {
    if (server_) server_->stop();
    alerting::AlertManagerOptions o;
    o.clock = [this] { return TimePoint(std::chrono::milliseconds(ms_.load())); };
    o.registry = &registry_;
    manager_ = std::make_unique<alerting::AlertManager>(o);
    ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.admin_token = token;
    server_ = std::make_unique<Server>(so);
    add_alerting_endpoints(*server_, *manager_);
    server_->start();
  }
  void at(std::chrono::milliseconds t) { ms_ = kT0Ms + t.count(); }

  std::string url(const std::string& path) const { return server_->url() + path; }
  json get_json(const std::string& path, long status = 200) {
    HttpResponse r = http("GET", url(path));
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }
  HttpResponse post(const json& body, const std::string& token = kToken) {
    return http("POST", url("/api/v2/silences"), body.dump(), token);
  }
  json silence_body(const std::string& starts, const std::string& ends) {
    return json{{"matchers",
                 {{{"name", "alertname"}, {"value", "Hot"}, {"isRegex", false}},
                  {{"name", "zone"}, {"value", "eu-.*"}, {"isRegex", true}, {"isEqual", true}}}},
                {"startsAt", starts},
                {"endsAt", ends},
                {"createdBy", "oncall"},
                {"comment", "maintenance"}};
  }

  std::atomic<int64_t> ms_{kT0Ms};
  std::atomic<double> temp_{0};
  metrics::Registry registry_;
  std::unique_ptr<alerting::AlertManager> manager_;
  std::unique_ptr<Server> server_;
};

TEST_F(AlertingEndpointsTest, AlertsInPrometheusShape) {
  manager_->add_rule(AlertRule::builder()
                         .name("Hot")
                         .condition([this]() -> std::optional<double> {
                           if (temp_.load() <= 1) return std::nullopt;
                           return temp_.load();
                         })
                         .label("zone", "eu-1")
                         .annotation("summary", "too hot")
                         .severity(alerting::Severity::kCritical)
                         .for_duration(60s)
                         .build());
  EXPECT_EQ(get_json("/api/v1/alerts"),
            json::parse(R"({"status":"success","data":{"alerts":[]}})"));
  temp_ = 1.5;
  at(250ms);
  manager_->evaluate();
  json j = get_json("/api/v1/alerts");
  EXPECT_EQ(j, json::parse(R"({"status":"success","data":{"alerts":[{
      "labels":{"alertname":"Hot","severity":"critical","zone":"eu-1"},
      "annotations":{"summary":"too hot"},
      "state":"pending","activeAt":"2023-11-14T22:13:20.25Z","value":"1.5e+00"}]}})"))
      << j.dump();
  temp_ = 12345.0;
  at(60250ms);
  manager_->evaluate();
  j = get_json("/api/v1/alerts");
  EXPECT_EQ(j["data"]["alerts"][0]["state"], "firing");
  EXPECT_EQ(j["data"]["alerts"][0]["value"], "1.2345e+04");
  EXPECT_EQ(j["data"]["alerts"][0]["activeAt"], "2023-11-14T22:13:20.25Z");
}

// ---- /api/v1/alerts/history (the dashboard's history table).
TEST_F(AlertingEndpointsTest, HistoryNewestFirstWithLimit) {
  manager_->add_rule(AlertRule::builder()
                         .name("Hot")
                         .condition([this]() -> std::optional<double> {
                           if (temp_.load() <= 1) return std::nullopt;
                           return temp_.load();
                         })
                         .label("zone", "<b>eu-1</b>")
                         .severity(alerting::Severity::kCritical)
                         .build());
  EXPECT_EQ(get_json("/api/v1/alerts/history"),
            json::parse(R"({"status":"success","data":{"history":[]}})"));
  // Fires at 1 s, resolves at 3 s; fires again at 5 s, resolves at 6 s.
  for (auto [t, v] : {std::pair{1000, 2.0}, {3000, 0.0}, {5000, 4.0}, {6000, 0.0}}) {
    temp_ = v;
    at(std::chrono::milliseconds(t));
    manager_->evaluate();
  }
  json j = get_json("/api/v1/alerts/history");
  ASSERT_EQ(j["data"]["history"].size(), 2u) << j.dump();
  EXPECT_EQ(j["data"]["history"][0], json::parse(R"({"name":"Hot","group":"default",
      "labels":{"alertname":"Hot","severity":"critical","zone":"<b>eu-1</b>"},"annotations":{},
      "severity":"critical","startedAt":"2023-11-14T22:13:25Z","firedAt":"2023-11-14T22:13:25Z",
      "endedAt":"2023-11-14T22:13:26Z","fired":true,"peakValue":"4e+00","lastValue":"4e+00"})"))
      << j.dump();
  EXPECT_EQ(j["data"]["history"][1]["startedAt"], "2023-11-14T22:13:21Z");
  EXPECT_EQ(get_json("/api/v1/alerts/history?limit=1")["data"]["history"].size(), 1u);
  EXPECT_EQ(get_json("/api/v1/alerts/history?limit=x", 400)["errorType"], "bad_data");
}

TEST_F(AlertingEndpointsTest, RulesGroupedWithTypeFilter) {
  registry_.gauge("queue_depth", "Depth.").get().set(7);
  alerting::RuleGroup g;
  g.name = "queues";
  g.interval = 30s;
  g.limit = 5;
  g.rules.push_back(AlertRule::builder()
                        .name("QueueFull")
                        .expr("queue_depth > 5")
                        .for_duration(2min)
                        .keep_firing_for(90s)
                        .label("team", "infra")
                        .annotation("summary", "queue is {{ $value }}")
                        .build());
  g.rules.push_back(AlertRule::builder()
                        .name("queue:depth:max")
                        .record("queue:depth:max")
                        .expr("max(queue_depth)")
                        .build());
  manager_->add_group(g);
  manager_->add_rule(AlertRule::builder().name("Never").condition([] { return false; }).build());
  at(1s);
  manager_->evaluate();

  json j = get_json("/api/v1/rules");
  ASSERT_EQ(j["status"], "success");
  const json& groups = j["data"]["groups"];
  ASSERT_EQ(groups.size(), 2u) << j.dump();
  const json& q = groups[0];
  EXPECT_EQ(q["name"], "queues");
  EXPECT_EQ(q["file"], "");
  EXPECT_EQ(q["interval"], 30);
  EXPECT_EQ(q["limit"], 5);
  EXPECT_EQ(q["lastEvaluation"], "2023-11-14T22:13:21Z");
  EXPECT_TRUE(q["evaluationTime"].is_number());
  ASSERT_EQ(q["rules"].size(), 2u);
  const json& alert = q["rules"][0];
  EXPECT_EQ(alert["type"], "alerting");
  EXPECT_EQ(alert["name"], "QueueFull");
  EXPECT_EQ(alert["query"], "queue_depth > 5");
  EXPECT_EQ(alert["duration"], 120);
  EXPECT_EQ(alert["keepFiringFor"], 90);
  EXPECT_EQ(alert["labels"], json::parse(R"({"team":"infra"})"));
  EXPECT_EQ(alert["annotations"], json::parse(R"({"summary":"queue is {{ $value }}"})"));
  EXPECT_EQ(alert["state"], "pending");
  EXPECT_EQ(alert["health"], "ok");
  EXPECT_FALSE(alert.contains("lastError"));
  EXPECT_EQ(alert["lastEvaluation"], "2023-11-14T22:13:21Z");
  ASSERT_EQ(alert["alerts"].size(), 1u);
  EXPECT_EQ(alert["alerts"][0]["value"], "7e+00");
  EXPECT_EQ(alert["alerts"][0]["annotations"]["summary"], "queue is 7");
  const json& rec = q["rules"][1];
  EXPECT_EQ(rec["type"], "recording");
  EXPECT_EQ(rec["name"], "queue:depth:max");
  EXPECT_EQ(rec["query"], "max(queue_depth)");
  EXPECT_EQ(rec["health"], "ok");
  EXPECT_FALSE(rec.contains("alerts"));
  EXPECT_FALSE(rec.contains("state"));
  const json& d = groups[1];
  EXPECT_EQ(d["name"], "default");
  EXPECT_EQ(d["interval"], 15);
  EXPECT_EQ(d["rules"][0]["state"], "inactive");
  EXPECT_EQ(d["rules"][0]["query"], "");

  j = get_json("/api/v1/rules?type=alert");
  ASSERT_EQ(j["data"]["groups"][0]["rules"].size(), 1u);
  EXPECT_EQ(j["data"]["groups"][0]["rules"][0]["name"], "QueueFull");
  j = get_json("/api/v1/rules?type=record");
  ASSERT_EQ(j["data"]["groups"][0]["rules"].size(), 1u);
  EXPECT_EQ(j["data"]["groups"][0]["rules"][0]["name"], "queue:depth:max");
  EXPECT_TRUE(j["data"]["groups"][1]["rules"].empty());
  j = get_json("/api/v1/rules?type=bogus", 400);
  EXPECT_EQ(
      j,
      json::parse(
          R"({"status":"error","errorType":"bad_data","error":"not supported value \"bogus\""})"));
}

TEST_F(AlertingEndpointsTest, SilenceLifecycle) {
  manager_->add_rule(AlertRule::builder()
                         .name("Hot")
                         .condition([] { return true; })
                         .label("zone", "eu-1")
                         .build());
  manager_->evaluate();
  EXPECT_EQ(get_json("/api/v2/silences"), json::array());

  // Create: a start in the past becomes now (t0 + 10 s).
  at(10s);
  HttpResponse r = post(silence_body("2023-11-14T22:00:00Z", "2023-11-14T23:13:20.5Z"));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body).at("silenceID");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(manager_->active_alerts().at(0).silenced);

  json list = get_json("/api/v2/silences");
  ASSERT_EQ(list.size(), 1u);
  const json expected = json::parse(R"({
      "id":")" + id + R"(","status":{"state":"active"},"updatedAt":"2023-11-14T22:13:30.000Z",
      "matchers":[{"name":"alertname","value":"Hot","isRegex":false,"isEqual":true},
                  {"name":"zone","value":"eu-.*","isRegex":true,"isEqual":true}],
      "startsAt":"2023-11-14T22:13:30.000Z","endsAt":"2023-11-14T23:13:20.500Z",
      "createdBy":"oncall","comment":"maintenance"})");
  EXPECT_EQ(list[0], expected) << list[0].dump();
  EXPECT_EQ(get_json("/api/v2/silence/" + id), expected);

  // Filters: the silence's matchers read as labels.
  EXPECT_EQ(get_json("/api/v2/silences?filter=alertname%3D%22Hot%22").size(), 1u);
  EXPECT_EQ(get_json("/api/v2/silences?filter=alertname%3DCold").size(), 0u);
  EXPECT_EQ(get_json("/api/v2/silences?filter=%7Bzone%3D~%22eu.*%22%7D").size(), 1u);
  EXPECT_EQ(get_json("/api/v2/silences?filter=%3D%3D", 400), "bad matcher format: ==");

  // Update keeps the id (and the start of an active silence).
  at(20s);
  json upd = silence_body("2023-11-14T22:13:30Z", "2023-11-15T00:00:00Z");
  upd["id"] = id;
  upd["comment"] = "longer";
  r = post(upd);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["silenceID"], id);
  json one = get_json("/api/v2/silence/" + id);
  EXPECT_EQ(one["comment"], "longer");
  EXPECT_EQ(one["startsAt"], "2023-11-14T22:13:30.000Z");
  EXPECT_EQ(one["endsAt"], "2023-11-15T00:00:00.000Z");
  EXPECT_EQ(one["updatedAt"], "2023-11-14T22:13:40.000Z");

  // A pending one (starts in the future) sorts after the active one.
  r = post(silence_body("2023-11-15T01:00:00+01:00", "2023-11-15T02:00:00Z"));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string pending = json::parse(r.body).at("silenceID");
  list = get_json("/api/v2/silences");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[1]["id"], pending);
  EXPECT_EQ(list[1]["status"]["state"], "pending");
  EXPECT_EQ(list[1]["startsAt"], "2023-11-15T00:00:00.000Z");

  // Expire.
  at(30s);
  r = http("DELETE", url("/api/v2/silence/" + id), "", kToken);
  EXPECT_EQ(r.status, 200) << r.body;
  one = get_json("/api/v2/silence/" + id);
  EXPECT_EQ(one["status"]["state"], "expired");
  EXPECT_EQ(one["endsAt"], "2023-11-14T22:13:50.000Z");
  manager_->evaluate();
  EXPECT_FALSE(manager_->active_alerts().at(0).silenced);
  list = get_json("/api/v2/silences");
  EXPECT_EQ(list[0]["id"], pending);
  EXPECT_EQ(list[1]["id"], id);
  r = http("DELETE", url("/api/v2/silence/" + id), "", kToken);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(json::parse(r.body), "silence " + id + " already expired");
}

TEST_F(AlertingEndpointsTest, BadInputGets400Or404WithReason) {
  auto expect = [&](const std::string& body, long status, const std::string& reason) {
    HttpResponse r = http("POST", url("/api/v2/silences"), body, kToken);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_string()) << r.body;
    EXPECT_NE(j.get<std::string>().find(reason), std::string::npos) << j << " lacks " << reason;
  };
  const std::string later = "2023-11-15T00:00:00Z";
  expect("{not json", 400, "parsing body as JSON failed");
  expect("[]", 400, "JSON object");
  json b = silence_body("2023-11-14T22:13:20Z", later);
  b["matchers"][1]["value"] = "(unclosed";
  expect(b.dump(), 400, "invalid regex");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b["matchers"][0]["name"] = "bad-name";
  expect(b.dump(), 400, "invalid label name \"bad-name\"");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b["matchers"] = json::array();
  expect(b.dump(), 400, "matchers in body should have at least 1 items");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b["matchers"] = json::parse(R"([{"name":"a","value":".*","isRegex":true}])");
  expect(b.dump(), 400, "must not match the empty string");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b["matchers"][0].erase("isRegex");
  expect(b.dump(), 400, "matchers.isRegex in body is required");
  expect(silence_body("2023-11-15T00:00:00Z", "2023-11-14T23:00:00Z").dump(), 400,
         "Failed to create silence: start time must be before end time");
  expect(silence_body("2023-11-14T20:00:00Z", "2023-11-14T21:00:00Z").dump(), 400,
         "Failed to create silence: end time can't be in the past");
  expect(silence_body("yesterday", later).dump(), 400,
         "startsAt in body must be of type date-time");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b.erase("createdBy");
  expect(b.dump(), 400, "createdBy in body is required");
  b = silence_body("2023-11-14T22:13:20Z", later);
  b["id"] = "no-such-silence";
  expect(b.dump(), 404, "silence not found");
  EXPECT_TRUE(manager_->silences().empty());

  HttpResponse r = http("DELETE", url("/api/v2/silence/no-such-silence"), "", kToken);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body), "silence not found");
  EXPECT_EQ(get_json("/api/v2/silence/no-such-silence", 404), "silence not found");
  r = http("PUT", url("/api/v2/silences"), "", kToken);
  EXPECT_EQ(r.status, 405);
}

TEST_F(AlertingEndpointsTest, MutationsNeedTheAdminToken) {
  const json body = silence_body("2023-11-14T22:13:20Z", "2023-11-15T00:00:00Z");
  EXPECT_EQ(post(body, "").status, 401);
  EXPECT_EQ(post(body, "wrong").status, 401);
  EXPECT_TRUE(manager_->silences().empty());
  HttpResponse r = post(body);
  ASSERT_EQ(r.status, 200);
  const std::string id = json::parse(r.body).at("silenceID");
  EXPECT_EQ(http("DELETE", url("/api/v2/silence/" + id)).status, 401);
  EXPECT_EQ(get_json("/api/v2/silence/" + id)["status"]["state"], "active");  // reads are public

  // A server without an admin token refuses every mutation.
  start("");
  EXPECT_EQ(post(body, "").status, 403);
  EXPECT_EQ(post(body, kToken).status, 403);
  EXPECT_EQ(http("DELETE", url("/api/v2/silence/x")).status, 403);
  EXPECT_TRUE(manager_->silences().empty());
  EXPECT_EQ(get_json("/api/v2/silences"), json::array());
}

TEST(AlertingEndpoints, RegisteringTwiceThrowsAndLeavesNothingHalfDone) {
  alerting::AlertManager m;
  Server server(ServerOptions{.listen = "127.0.0.1:0"});
  server.handle("/api/v2/status", [](const Request&) { return Response{}; });
  EXPECT_THROW(add_alerting_endpoints(server, m), Error);
  EXPECT_TRUE(server.remove("/api/v2/status"));
  add_alerting_endpoints(server, m);  // nothing of the failed call remained
}

}  // namespace
}  // namespace vigil::admin
