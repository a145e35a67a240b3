// The delivery endpoints over real HTTP: /api/v1/notifications (receivers, integrations,
// outcomes, secret-free errors), /api/v2/alerts/groups (Alertmanager's alertGroups shape) and
// /api/v1/alertmanagers (Prometheus' shape, credentials removed). The dispatcher delivers through
// the real webhook notifier to a receiver on a second admin server, and to a webhook that does
// not answer (a closed port) whose URL carries a token that must not show anywhere.
#include "vigil/admin/notification_endpoints.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http_client.h"
#include "vigil/admin/server.h"
#include "vigil/alerting/alertmanager_client.h"
#include "vigil/alerting/dispatcher.h"
#include "vigil/core/error.h"

namespace vigil::admin {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using alerting::TimePoint;
using testing::http;
using testing::HttpResponse;

constexpr int64_t kT0Ms = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

alerting::Alert firing_alert(TimePoint t) {
  alerting::Alert a;
  a.name = "HighErrorRate";
  a.group = "api";
  a.labels = {{"alertname", "HighErrorRate"}, {"service", "api"}, {"severity", "critical"}};
  a.annotations = {{"summary", "errors"}};
  a.severity = alerting::Severity::kCritical;
  a.state = alerting::AlertState::kFiring;
  a.active_at = t;
  a.fired_at = t;
  a.valid_until = t + 4min;
  a.fingerprint = alerting::label_fingerprint(a.labels);
  a.id = "HighErrorRate_service=api";
  return a;
}

class NotificationEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_ = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0", .threads = 2});
    receiver_->handle("/hook",
                      [this](const Request& req) {
                        std::lock_guard lock(mu_);
                        hooks_.emplace_back(req.body);
                        return Response{200, "text/plain", "ok", {}};
                      },
                      {.methods = {"POST"}, .access = Access::kPublic});
    receiver_->start();

    alerting::DispatcherOptions o;
    o.clock = [this] { return now_; };
    o.run_timer_thread = false;
    o.external_url = "http://vigil.example:9464";
    o.retry = {.max_attempts = 2,
               .initial_backoff = 1ms,
               .max_backoff = 2ms,
               .multiplier = 2.0,
               .jitter = 0};
    o.attempt_timeout = 2s;
    o.delivery_deadline = 5s;
    o.routing.route.receiver = "team";
    o.routing.route.group_by = std::vector<std::string>{"service"};
    o.routing.route.group_wait = 10s;
    alerting::ReceiverConfig team;
    team.name = "team";
    alerting::WebhookConfig good;
    good.url = receiver_->url() + "/hook";
    team.webhook_configs.push_back(good);
    alerting::WebhookConfig dead;
    dead.url = "http://127.0.0.1:1/hook/SECRETPATH?token=SECRETTOKEN";
    team.webhook_configs.push_back(dead);
    o.routing.receivers.push_back(team);
    dispatcher_ = std::make_unique<alerting::Dispatcher>(std::move(o));
    dispatcher_->start();

    alerting::AlertmanagerClientOptions co;
    co.urls = {"http://user:SECRETPASS@127.0.0.1:1"};
    co.http.timeout = 200ms;
    am_ = std::make_unique<alerting::AlertmanagerClient>(std::move(co));

    server_ = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0", .threads = 2});
    add_notification_endpoints(*server_,
                               {.dispatcher = dispatcher_.get(), .alertmanagers = am_.get()});
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    am_->shutdown(1s);
    dispatcher_->shutdown(1s);
    receiver_->stop();
  }
  json get(const std::string& path) {
    auto r = http("GET", server_->url() + path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << path << ": " << r.body;
    return json::parse(r.body);
  }
  // Submits the alert, moves past group_wait, flushes, waits for delivery.
  void deliver() {
    alerting::Notification n;
    n.rule = "HighErrorRate";
    n.group = "api";
    n.alerts = {firing_alert(now_)};
    n.time = now_;
    dispatcher_->submit(n);
    now_ += 11s;
    dispatcher_->tick();
    ASSERT_TRUE(dispatcher_->flush(10s));
  }

  TimePoint now_{std::chrono::milliseconds(kT0Ms)};
  std::mutex mu_;
  std::vector<std::string> hooks_;
  std::unique_ptr<Server> receiver_;
  std::unique_ptr<alerting::Dispatcher> dispatcher_;
  std::unique_ptr<alerting::AlertmanagerClient> am_;
  std::unique_ptr<Server> server_;
};

TEST_F(NotificationEndpointsTest, ReceiversShowOutcomesWithoutSecrets) {
  json before = get("/api/v1/notifications");
  EXPECT_EQ(before["status"], "success");
  ASSERT_EQ(before["data"]["receivers"].size(), 1u);
  EXPECT_EQ(before["data"]["receivers"][0]["name"], "team");
  EXPECT_EQ(before["data"]["receivers"][0]["integrations"][0]["sent"], 0);
  EXPECT_TRUE(before["data"]["receivers"][0]["integrations"][0]["lastSuccess"].is_null());

  deliver();
  json j = get("/api/v1/notifications");
  const json& ints = j["data"]["receivers"][0]["integrations"];
  ASSERT_EQ(ints.size(), 2u);
  EXPECT_EQ(ints[0]["integration"], "webhook");
  EXPECT_EQ(ints[0]["index"], 0);
  EXPECT_EQ(ints[0]["sent"], 1);
  EXPECT_EQ(ints[0]["failed"], 0);
  EXPECT_EQ(ints[0]["lastError"], "");
  EXPECT_TRUE(ints[0]["lastSuccess"].is_string());
  // The dead webhook: two attempts (one retry), given up, its error names the host only.
  EXPECT_EQ(ints[1]["index"], 1);
  EXPECT_EQ(ints[1]["sent"], 0);
  EXPECT_EQ(ints[1]["failed"], 1);
  EXPECT_EQ(ints[1]["retried"], 1);
  EXPECT_NE(ints[1]["lastError"].get<std::string>().find("127.0.0.1:1"), std::string::npos)
      << ints[1]["lastError"];
  EXPECT_EQ(j["data"]["receivers"][0]["queued"], 0);
  EXPECT_EQ(j["data"]["alerts"], 1);
  EXPECT_EQ(j["data"]["log"]["ok"], true);

  // What the good receiver got: Alertmanager's webhook payload.
  std::lock_guard lock(mu_);
  ASSERT_EQ(hooks_.size(), 1u);
  json hook = json::parse(hooks_[0]);
  EXPECT_EQ(hook["version"], "4");
  EXPECT_EQ(hook["receiver"], "team");
  EXPECT_EQ(hook["status"], "firing");
  EXPECT_EQ(hook["groupKey"], "{}:{service=\"api\"}");
  EXPECT_EQ(hook["externalURL"], "http://vigil.example:9464");
  EXPECT_EQ(hook["alerts"][0]["labels"]["alertname"], "HighErrorRate");
  EXPECT_EQ(hook["alerts"][0]["startsAt"], "2023-11-14T22:13:20Z");
}

TEST_F(NotificationEndpointsTest, GroupsInAlertmanagersShape) {
  alerting::Notification n;
  n.rule = "HighErrorRate";
  n.alerts = {firing_alert(now_)};
  n.time = now_;
  dispatcher_->submit(n);
  json groups = get("/api/v2/alerts/groups");
  ASSERT_TRUE(groups.is_array());
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["labels"], json({{"service", "api"}}));
  EXPECT_EQ(groups[0]["receiver"]["name"], "team");
  ASSERT_EQ(groups[0]["alerts"].size(), 1u);
  const json& a = groups[0]["alerts"][0];
  EXPECT_EQ(a["fingerprint"], alerting::fingerprint_hex(n.alerts[0].fingerprint));
  EXPECT_EQ(a["labels"]["severity"], "critical");
  EXPECT_EQ(a["annotations"]["summary"], "errors");
  EXPECT_EQ(a["startsAt"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(a["endsAt"], "2023-11-14T22:17:20.000Z");
  EXPECT_EQ(a["status"]["state"], "active");
  EXPECT_EQ(a["receivers"][0]["name"], "team");
}

TEST_F(NotificationEndpointsTest, AlertmanagersInPrometheusShapeWithoutCredentials) {
  json j = get("/api/v1/alertmanagers");
  EXPECT_EQ(j["status"], "success");
  ASSERT_EQ(j["data"]["activeAlertmanagers"].size(), 1u);
  EXPECT_EQ(j["data"]["activeAlertmanagers"][0]["url"], "http://127.0.0.1:1/api/v2/alerts");
  EXPECT_EQ(j["data"]["droppedAlertmanagers"], json::array());
  json n = get("/api/v1/notifications");
  ASSERT_EQ(n["data"]["alertmanagers"].size(), 1u);
  EXPECT_EQ(n["data"]["alertmanagers"][0]["url"], "http://127.0.0.1:1/api/v2/alerts");
}

TEST(NotificationEndpoints, NoSourcesAnswersEmptyAndPathsClash) {
  Server server(ServerOptions{.listen = "127.0.0.1:0", .threads = 1});
  add_notification_endpoints(server, {});
  server.start();
  auto r = http("GET", server.url() + "/api/v1/notifications");
  EXPECT_EQ(r.status, 200);
  json j = json::parse(r.body);
  EXPECT_EQ(j["data"]["receivers"], json::array());
  EXPECT_EQ(j["data"]["alertmanagers"], json::array());
  EXPECT_EQ(http("GET", server.url() + "/api/v2/alerts/groups").status, 404);
  // Registering twice names the clash and registers nothing more.
  EXPECT_THROW(add_notification_endpoints(server, {}), vigil::Error);
  server.stop();
}

}  // namespace
}  // namespace vigil::admin
