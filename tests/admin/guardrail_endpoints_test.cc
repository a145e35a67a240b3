// The guardrail endpoints over real HTTP: /api/v1/guardrails (monitors), /decisions (newest
// first, filters, bad parameters), /events, and the POSTs (baseline, pause, resume) behind the
// admin token, with bad input answered 400/404 and a JSON error.
#include "vigil/admin/guardrail_endpoints.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "../guardrail/guide_snapshots.h"
#include "http_client.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/guardrail/monitor.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using guardrail::GuardrailMonitor;
using guardrail::PerformanceSnapshot;
using guardrail::TimePoint;
using testing::http;

constexpr int64_t kT0 = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr const char* kToken = "s3cret-token";

const PerformanceSnapshot& kBaseline = guardrail::testing::kGuideBaseline;
const PerformanceSnapshot& kBad = guardrail::testing::kGuideBad;
const PerformanceSnapshot& kGood = guardrail::testing::kGuideGood;

class GuardrailEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto make = [&](std::string name) {
      guardrail::MonitorOptions o;
      o.name = std::move(name);
      o.metrics_registry = &registry_;
      auto ns = now_;
      o.clock = [ns] { return TimePoint(std::chrono::seconds(ns->load())); };
      return std::make_unique<GuardrailMonitor>(o);
    };
    release_ = make("release");
    idle_ = make("idle");
    release_->on_trigger("route-to-stable", [](const guardrail::RollbackTrigger&) {});
    release_->set_baseline(kBaseline, "test");
    release_->check(kGood);  // t0 + 0: pass
    now_->fetch_add(10);
    release_->check(kBad);  // t0 + 10: fail, triggers
    ASSERT_TRUE(release_->wait_for_actions(10s));
    now_->fetch_add(10);
    release_->check(kGood);  // t0 + 20: pass
    server_ = std::make_unique<Server>(
        ServerOptions{.listen = "127.0.0.1:0", .threads = 2, .admin_token = kToken});
    add_guardrail_endpoints(*server_, {release_.get(), idle_.get()});
    server_->start();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  json get(const std::string& path, long expect = 200) {
    auto r = http("GET", base_ + path);
    EXPECT_EQ(r.status, expect) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << path;
    return json::parse(r.body, nullptr, false);
  }
  json post(const std::string& path, const std::string& body, long expect,
            const std::string& token = kToken) {
    auto r = http("POST", base_ + path, body, token);
    EXPECT_EQ(r.status, expect) << path << " " << body << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  std::shared_ptr<std::atomic<int64_t>> now_ = std::make_shared<std::atomic<int64_t>>(kT0);
  metrics::Registry registry_;
  std::unique_ptr<GuardrailMonitor> release_, idle_;
  std::unique_ptr<Server> server_;
  std::string base_;
};

TEST_F(GuardrailEndpointsTest, ListsMonitors) {
  json j = get("/api/v1/guardrails");
  ASSERT_TRUE(j["monitors"].is_array());
  ASSERT_EQ(j["monitors"].size(), 2u);
  const json& idle = j["monitors"][0];
  EXPECT_EQ(idle["name"], "idle");
  EXPECT_EQ(idle["state"], "no_baseline");
  EXPECT_EQ(idle["mode"], "none");
  EXPECT_TRUE(idle["baseline"].is_null());
  const json& rel = j["monitors"][1];
  EXPECT_EQ(rel["name"], "release");
  EXPECT_EQ(rel["state"], "triggered");  // cooldown 5 min, 3 passes to rearm (defaults)
  EXPECT_EQ(rel["mode"], "fixed");
  EXPECT_DOUBLE_EQ(rel["baseline"]["success_rate"].get<double>(), 0.95);
  EXPECT_DOUBLE_EQ(rel["current"]["success_rate"].get<double>(), 0.95);
  EXPECT_EQ(rel["counters"]["checks"], 3);
  EXPECT_EQ(rel["counters"]["triggers"], 1);
  EXPECT_EQ(rel["last_trigger"], "2023-11-14T22:13:30Z");
  ASSERT_EQ(rel["last_verdicts"].size(), 3u);
  EXPECT_EQ(rel["last_verdicts"][0]["result"], "pass");
  EXPECT_EQ(rel["last_verdicts"][1]["result"], "fail");
  EXPECT_EQ(rel["thresholds"].size(), 3u);
  EXPECT_EQ(rel["audit"]["ok"], false);
  EXPECT_EQ(rel["audit"]["path"], "");
  EXPECT_TRUE(rel["cohorts"]["seen"].is_array());
}

TEST_F(GuardrailEndpointsTest, DecisionsNewestFirstWithFields) {
  json j = get("/api/v1/guardrails/decisions");
  ASSERT_TRUE(j["decisions"].is_array());
  ASSERT_EQ(j["decisions"].size(), 3u);
  EXPECT_EQ(j["decisions"][0]["time"], "2023-11-14T22:13:40Z");
  const json& fail = j["decisions"][1];
  EXPECT_EQ(fail["time"], "2023-11-14T22:13:30Z");
  EXPECT_EQ(fail["monitor"], "release");
  EXPECT_EQ(fail["result"], "fail");
  EXPECT_EQ(fail["metric"], "success_rate");
  EXPECT_DOUBLE_EQ(fail["threshold"].get<double>(), -0.08);
  EXPECT_DOUBLE_EQ(fail["observed"].get<double>(), 0.85);
  EXPECT_DOUBLE_EQ(fail["baseline"].get<double>(), 0.95);
  EXPECT_NE(fail["reason"].get<std::string>().find("success_rate"), std::string::npos);
  EXPECT_EQ(fail["triggered"], true);
  EXPECT_EQ(fail["action"], "route-to-stable: ok");
  ASSERT_EQ(fail["actions"].size(), 1u);
  EXPECT_EQ(fail["actions"][0]["outcome"], "ok");
  ASSERT_EQ(fail["conditions"].size(), 3u);
  EXPECT_EQ(fail["conditions"][0]["result"], "fail");
  EXPECT_EQ(fail["conditions"][1]["metric"], "p95_latency");
  EXPECT_EQ(j["decisions"][2]["action"], "none");

  // Filters.
  j = get("/api/v1/guardrails/decisions?result=fail");
  ASSERT_EQ(j["decisions"].size(), 1u);
  j = get("/api/v1/guardrails/decisions?limit=1");
  ASSERT_EQ(j["decisions"].size(), 1u);
  EXPECT_EQ(j["decisions"][0]["time"], "2023-11-14T22:13:40Z");
  j = get("/api/v1/guardrails/decisions?monitor=idle");
  EXPECT_EQ(j["decisions"].size(), 0u);
  j = get("/api/v1/guardrails/decisions?since=2023-11-14T22:13:30Z&until=" +
          std::to_string(kT0 + 20));
  ASSERT_EQ(j["decisions"].size(), 1u);
  EXPECT_EQ(j["decisions"][0]["result"], "fail");
  j = get("/api/v1/guardrails/decisions?since=" + std::to_string(kT0 + 5));
  EXPECT_EQ(j["decisions"].size(), 2u);
}

TEST_F(GuardrailEndpointsTest, BadQueryParameters) {
  for (const char* q :
       {"limit=0", "limit=abc", "limit=-3", "limit=1000000", "result=maybe", "since=yesterday",
        "until=2023-13-45T99:00:00Z", "since=1700000100&until=1700000000"}) {
    json j = get(std::string("/api/v1/guardrails/decisions?") + q, 400);
    EXPECT_EQ(j["status"], "error") << q;
    EXPECT_FALSE(j["error"].get<std::string>().empty()) << q;
  }
  json j = get("/api/v1/guardrails/decisions?monitor=nope", 404);
  EXPECT_NE(j["error"].get<std::string>().find("nope"), std::string::npos);
  get("/api/v1/guardrails/events?result=pass", 400);
}

TEST_F(GuardrailEndpointsTest, Events) {
  release_->pause("carol");
  json j = get("/api/v1/guardrails/events?monitor=release");
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][0]["kind"], "pause");
  EXPECT_NE(j["events"][0]["detail"].get<std::string>().find("carol"), std::string::npos);
  EXPECT_EQ(j["events"][1]["kind"], "baseline");
  EXPECT_EQ(j["events"][1]["time"], "2023-11-14T22:13:20Z");
}

TEST_F(GuardrailEndpointsTest, PostsNeedTheToken) {
  auto r = http("POST", base_ + "/api/v1/guardrails/release/pause", "{}");
  EXPECT_EQ(r.status, 401);
  r = http("POST", base_ + "/api/v1/guardrails/release/pause", "{}", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(release_->status().state, guardrail::State::kTriggered);
  // A server without a token refuses them.
  Server plain(ServerOptions{.listen = "127.0.0.1:0", .threads = 1});
  add_guardrail_endpoints(plain, {release_.get()});
  plain.start();
  r = http("POST",
           "http://127.0.0.1:" + std::to_string(plain.port()) + "/api/v1/guardrails/release/pause",
           "{}", kToken);
  EXPECT_EQ(r.status, 403);
  plain.stop();
}

TEST_F(GuardrailEndpointsTest, PauseResumeAndBaseline) {
  json j = post("/api/v1/guardrails/release/pause", R"({"who":"dave"})", 200);
  EXPECT_EQ(j["state"], "paused");
  EXPECT_EQ(release_->status().state, guardrail::State::kPaused);
  j = post("/api/v1/guardrails/release/resume", "", 200);
  EXPECT_EQ(j["state"], "triggered");
  auto events = release_->events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "resume");
  EXPECT_NE(events[1].detail.find("dave"), std::string::npos);

  j = post("/api/v1/guardrails/idle/baseline",
           R"({"success_rate":0.99,"p95_latency":0.2,"request_count":1000,"why":"deploy 42"})",
           200);
  EXPECT_EQ(j["mode"], "fixed");
  ASSERT_TRUE(idle_->baseline().has_value());
  EXPECT_DOUBLE_EQ(idle_->baseline()->success_rate, 0.99);
  EXPECT_NEAR(idle_->baseline()->error_rate, 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(idle_->baseline()->p95_latency, 0.2);
  EXPECT_EQ(idle_->baseline()->request_count, 1000u);
  EXPECT_NE(idle_->events().at(0).detail.find("deploy 42"), std::string::npos);
}

TEST_F(GuardrailEndpointsTest, BadPostsAre400Or404) {
  struct Case {
    std::string path, body;
    long status;
    std::string part;
  };
  const Case cases[] = {
      {"/api/v1/guardrails/release/baseline", "{not json", 400, "JSON"},
      {"/api/v1/guardrails/release/baseline", "", 400, "body"},
      {"/api/v1/guardrails/release/baseline", "[1,2]", 400, "object"},
      {"/api/v1/guardrails/release/baseline", R"({"succes_rate":0.9})", 400, "unknown metric"},
      {"/api/v1/guardrails/release/baseline", R"({"success_rate":"high"})", 400, "number"},
      {"/api/v1/guardrails/release/baseline", R"({"success_rate":1.5})", 400, "[0, 1]"},
      {"/api/v1/guardrails/release/baseline", R"({"p95_latency":-1})", 400, "p95_latency"},
      {"/api/v1/guardrails/release/baseline", R"({"why":"x"})", 400, "names no figure"},
      {"/api/v1/guardrails/release/baseline", R"({"from":"2023-11-14T22:00:00Z"})", 400,
       "from and to"},
      {"/api/v1/guardrails/release/baseline", R"({"from":"yesterday","to":1700000000})", 400,
       "RFC 3339"},
      {"/api/v1/guardrails/release/baseline", R"({"from":1700000000,"to":1700000060})", 400,
       "source"},
      {"/api/v1/guardrails/release/baseline", R"({"baseline_cohort":"v1"})", 400, "canary_cohort"},
      {"/api/v1/guardrails/release/baseline", R"({"baseline_cohort":"v1","canary_cohort":2})", 400,
       "string"},
      {"/api/v1/guardrails/release/baseline", R"({"baseline_cohort":"v1","canary_cohort":"v2"})",
       400, "source"},
      {"/api/v1/guardrails/release/pause", "[]", 400, "object"},
      {"/api/v1/guardrails/nope/pause", "{}", 404, "nope"},
      {"/api/v1/guardrails/release/explode", "{}", 404, "explode"},
      {"/api/v1/guardrails/release", "{}", 404, "expected"},
  };
  for (const Case& c : cases) {
    json j = post(c.path, c.body, c.status);
    EXPECT_EQ(j["status"], "error") << c.path << " " << c.body;
    EXPECT_NE(j["error"].get<std::string>().find(c.part), std::string::npos)
        << c.path << " " << c.body << ": " << j.dump();
  }
  EXPECT_DOUBLE_EQ(release_->baseline()->success_rate, 0.95);  // unchanged
}

TEST(GuardrailEndpoints, RegistrationErrors) {
  metrics::Registry reg;
  Server server(ServerOptions{.listen = "127.0.0.1:0", .threads = 1});
  GuardrailMonitor a({.name = "a", .metrics_registry = &reg});
  GuardrailMonitor a2({.name = "a", .metrics_registry = &reg});
  EXPECT_THROW(add_guardrail_endpoints(server, {&a, nullptr}), Error);
  EXPECT_THROW(add_guardrail_endpoints(server, {&a, &a2}), Error);
  add_guardrail_endpoints(server, {&a});
  EXPECT_THROW(add_guardrail_endpoints(server, {&a}), Error);  // paths taken
}

}  // namespace
}  // namespace vigil::admin
