// AlertmanagerClient against in-process receivers (vigil's admin server on 127.0.0.1): the exact
// postableAlerts JSON, batching, every instance receiving, a hung or dead instance not holding
// the others, queue overflow dropping the oldest, errors (500, timeout, refused), shutdown,
// credentials kept out of status, metrics, and attach() to the rule engine.
#include "vigil/alerting/alertmanager_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_alertmanager.h"
#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using testing::FakeAlertmanager;
using testing::RefusingPort;

using namespace std::chrono_literals;
using std::chrono::sys_days;

// 2026-01-02T03:04:05.678Z
const TimePoint kT = sys_days{std::chrono::year{2026} / 1 / 2} + 3h + 4min + 5s + 678ms;

Alert firing(const std::string& name, TimePoint active_at = kT) {
  Alert a;
  a.name = name;
  a.labels = {{"alertname", name}, {"severity", "page"}};
  a.annotations = {{"summary", "it broke"}};
  a.state = AlertState::kFiring;
  a.active_at = active_at;
  a.fired_at = active_at;
  a.valid_until = active_at + 4min;
  return a;
}

Notification notification(std::vector<Alert> alerts) {
  Notification n;
  n.rule = alerts.empty() ? "" : alerts.front().name;
  n.alerts = std::move(alerts);
  n.time = kT;
  return n;
}

std::vector<std::string> names(const std::vector<nlohmann::json>& alerts) {
  std::vector<std::string> out;
  for (const auto& a : alerts) out.push_back(a["labels"]["alertname"].get<std::string>());
  return out;
}

AlertmanagerClientOptions options(std::vector<std::string> urls) {
  AlertmanagerClientOptions o;
  o.urls = std::move(urls);
  o.http.timeout = 5s;
  return o;
}

TEST(AlertmanagerPayload, IsPostableAlertsJson) {
  NotifiedAlert a;
  a.labels = {{"alertname", "Disk\"Full"}, {"instance", "db-1"}};
  a.annotations = {{"summary", "disk\nfull"}, {"runbook", "https://x/y?a=1&b=2"}};
  a.starts_at = kT;
  a.ends_at = kT + 4min + 1ms;
  a.generator_url = "http://vigil:9464/alerts";
  NotifiedAlert b;  // resolved; no annotations, no generator URL
  b.labels = {{"alertname", "Up"}};
  b.starts_at = sys_days{std::chrono::year{2026} / 1 / 2};
  b.ends_at = kT;
  b.resolved = true;
  NotifiedAlert c;  // unknown times: left to Alertmanager
  c.labels = {{"alertname", "X"}};

  EXPECT_EQ(alertmanager_payload({a, b, c}),
            R"([{"labels":{"alertname":"Disk\"Full","instance":"db-1"},)"
            R"("annotations":{"summary":"disk\nfull","runbook":"https://x/y?a=1&b=2"},)"
            R"("startsAt":"2026-01-02T03:04:05.678Z","endsAt":"2026-01-02T03:08:05.679Z",)"
            R"("generatorURL":"http://vigil:9464/alerts"},)"
            R"({"labels":{"alertname":"Up"},"annotations":{},)"
            R"("startsAt":"2026-01-02T00:00:00.000Z","endsAt":"2026-01-02T03:04:05.678Z"},)"
            R"({"labels":{"alertname":"X"},"annotations":{}}])");
  EXPECT_EQ(alertmanager_payload({}), "[]");
}

TEST(AlertmanagerClient, PostsBatchesToEveryInstance) {
  FakeAlertmanager am0;
  FakeAlertmanager am1;
  auto o = options({am0.url(), am1.url() + "/"});  // a trailing slash is fine
  o.max_batch = 2;
  o.generator_url = "http://vigil/alerts";
  AlertmanagerClient client(o);
  client.submit(notification({firing("A"), firing("B"), firing("C")}));
  ASSERT_TRUE(client.flush(10s));

  for (FakeAlertmanager* am : {&am0, &am1}) {
    const auto got = am->received();
    ASSERT_EQ(got.size(), 2u);  // [A, B] then [C]
    EXPECT_EQ(got[0].path, "/api/v2/alerts");
    EXPECT_EQ(got[0].content_type, "application/json");
    EXPECT_EQ(got[0].body, alertmanager_payload({to_notified(firing("A"), "http://vigil/alerts"),
                                                 to_notified(firing("B"), "http://vigil/alerts")}));
    EXPECT_EQ(got[1].body, alertmanager_payload({to_notified(firing("C"), "http://vigil/alerts")}));
    const auto alerts = am->alerts();
    ASSERT_EQ(alerts.size(), 3u);
    EXPECT_EQ(alerts[0]["startsAt"], "2026-01-02T03:04:05.678Z");
    EXPECT_EQ(alerts[0]["endsAt"], "2026-01-02T03:08:05.678Z");  // valid_until
    EXPECT_EQ(alerts[0]["generatorURL"], "http://vigil/alerts");
  }
  const auto st = client.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].url, am0.url() + "/api/v2/alerts");
  EXPECT_EQ(st[1].url, am1.url() + "/api/v2/alerts");
  for (const auto& s : st) {
    EXPECT_EQ(s.sent, 3u);
    EXPECT_EQ(s.requests, 2u);
    EXPECT_EQ(s.errors, 0u);
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_EQ(s.last_error, "");
    EXPECT_NE(s.last_success, TimePoint{});
  }
  EXPECT_EQ(client.queued(), 0u);
  EXPECT_EQ(client.dropped(), 0u);
}

TEST(AlertmanagerClient, AHungInstanceDoesNotHoldTheOthers) {
  FakeAlertmanager hung;
  FakeAlertmanager ok;
  hung.gate();
  AlertmanagerClient client(options({hung.url(), ok.url()}));
  client.submit(notification({firing("A")}));
  ASSERT_TRUE(ok.wait_for(1));
  ASSERT_TRUE(hung.wait_for(1));  // its POST of A is held
  client.submit(notification({firing("B")}));
  client.submit(notification({firing("C")}));
  ASSERT_TRUE(ok.wait_for_alerts(3));  // B and C reached the healthy instance meanwhile
  EXPECT_EQ(names(ok.alerts()), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(hung.received().size(), 1u);
  EXPECT_EQ(client.queued(), 2u);  // B and C wait for the hung instance
  EXPECT_FALSE(client.flush(50ms));

  hung.release();  // it recovers and catches up
  ASSERT_TRUE(client.flush(10s));
  EXPECT_EQ(names(hung.alerts()), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(client.status()[0].sent, 3u);
  EXPECT_EQ(client.status()[1].sent, 3u);
  EXPECT_EQ(client.dropped(), 0u);
}

TEST(AlertmanagerClient, ADeadInstanceCountsErrorsAndTheOtherReceives) {
  RefusingPort dead;
  FakeAlertmanager ok;
  AlertmanagerClient client(options({dead.url(), ok.url()}));
  client.submit(notification({firing("A"), firing("B")}));
  ASSERT_TRUE(client.flush(10s));
  EXPECT_EQ(names(ok.alerts()), (std::vector<std::string>{"A", "B"}));
  const auto st = client.status();
  EXPECT_EQ(st[0].sent, 0u);
  EXPECT_EQ(st[0].errors, 2u);
  EXPECT_EQ(st[0].requests, 1u);
  EXPECT_NE(st[0].last_error, "");
  EXPECT_EQ(st[0].last_success, TimePoint{});
  EXPECT_EQ(st[1].sent, 2u);
  EXPECT_EQ(st[1].errors, 0u);
}

TEST(AlertmanagerClient, AFullQueueDropsTheOldestAndCountsThem) {
  FakeAlertmanager am;
  am.gate();
  auto o = options({am.url()});
  o.queue_capacity = 3;
  o.max_batch = 1;
  AlertmanagerClient client(o);
  client.submit(notification({firing("A0")}));
  ASSERT_TRUE(am.wait_for(1));  // A0 in flight, held
  client.submit(notification({firing("A1"), firing("A2"), firing("A3")}));
  EXPECT_EQ(client.dropped(), 0u);
  client.submit(notification({firing("A4"), firing("A5")}));  // A1 and A2 go
  EXPECT_EQ(client.dropped(), 2u);
  EXPECT_EQ(client.queued(), 3u);
  am.release();
  ASSERT_TRUE(client.flush(10s));
  EXPECT_EQ(names(am.alerts()), (std::vector<std::string>{"A0", "A3", "A4", "A5"}));
  EXPECT_EQ(client.status()[0].dropped, 2u);
  EXPECT_EQ(client.status()[0].sent, 4u);
  EXPECT_EQ(client.status()[0].requests, 4u);
}

// A flood against a hung receiver: the queue stays at its capacity, the rest is counted as
// dropped (oldest first), submit() never waits for the receiver.
TEST(AlertmanagerClient, AFloodIsBoundedByTheQueueCapacity) {
  FakeAlertmanager am;
  am.gate();
  auto o = options({am.url()});
  o.queue_capacity = 10'000;
  o.max_batch = 64;
  AlertmanagerClient client(o);
  auto batch = [](int first) {
    std::vector<Alert> alerts;
    for (int i = first; i < first + 100; ++i) alerts.push_back(firing("F" + std::to_string(i)));
    return notification(std::move(alerts));
  };
  client.submit(batch(0));
  ASSERT_TRUE(am.wait_for(1));  // F0..F63 in flight, held
  for (int first = 100; first < 100'000; first += 100) client.submit(batch(first));
  EXPECT_EQ(client.queued(), 10'000u);
  EXPECT_EQ(client.dropped(), 100'000u - 64 - 10'000);
  am.release();
  ASSERT_TRUE(client.flush(30s));
  const auto got = names(am.alerts());
  ASSERT_EQ(got.size(), 64u + 10'000);
  EXPECT_EQ(got[63], "F63");
  EXPECT_EQ(got[64], "F90000");  // the newest 10,000 were kept
  EXPECT_EQ(got.back(), "F99999");
  EXPECT_EQ(client.status()[0].dropped, 100'000u - 64 - 10'000);
}

TEST(AlertmanagerClient, ServerErrorsAndTimeoutsAreCountedErrors) {
  FakeAlertmanager failing(500, "boom\n");
  FakeAlertmanager slow;
  slow.gate();
  metrics::Registry registry;
  auto o = options({failing.url(), slow.url()});
  o.http.timeout = 300ms;
  o.self_metrics = &registry;
  AlertmanagerClient client(o);
  client.submit(notification({firing("A"), firing("B"), firing("C")}));
  ASSERT_TRUE(client.flush(10s));  // the slow one's POST ends at its timeout
  const auto st = client.status();
  EXPECT_EQ(st[0].errors, 3u);
  EXPECT_EQ(st[0].sent, 0u);
  EXPECT_EQ(st[0].requests, 1u);
  EXPECT_EQ(st[0].last_error, "HTTP 500: boom");
  EXPECT_EQ(st[1].errors, 3u);
  EXPECT_EQ(st[1].last_error, "timeout after 300 ms");

  const std::string text = metrics::serialize(registry, metrics::Format::kPrometheusText);
  for (const std::string& line :
       {"vigil_alertmanager_notifications_total{alertmanager=\"" + st[0].url + "\"} 3\n",
        "vigil_alertmanager_notifications_total{alertmanager=\"" + st[1].url + "\"} 3\n",
        "vigil_alertmanager_notifications_errors_total{alertmanager=\"" + st[0].url + "\"} 3\n",
        "vigil_alertmanager_notifications_errors_total{alertmanager=\"" + st[1].url + "\"} 3\n",
        std::string("vigil_alertmanager_notification_latency_seconds_count{alertmanager=\"") +
            st[1].url + "\"} 1\n",
        std::string("vigil_alertmanager_notifications_queue_capacity 10000\n"),
        std::string("vigil_alertmanager_notifications_queue_length 0\n"),
        std::string("vigil_alertmanager_discovered_alertmanagers 2\n"),
        std::string("vigil_alertmanager_notifications_dropped_total 0\n")}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  slow.release();
}

TEST(AlertmanagerClient, ShutdownSendsWhatItCanThenDropsTheRest) {
  FakeAlertmanager am;
  {
    AlertmanagerClient client(options({am.url()}));
    client.submit(notification({firing("A"), firing("B")}));
    client.shutdown(5s);  // a healthy instance: everything is sent
    EXPECT_EQ(names(am.alerts()), (std::vector<std::string>{"A", "B"}));
    EXPECT_EQ(client.dropped(), 0u);
    client.submit(notification({firing("late")}));  // after shutdown: dropped
    EXPECT_EQ(client.dropped(), 1u);
    client.shutdown(5s);  // idempotent
  }

  FakeAlertmanager hung;
  hung.gate();
  metrics::Registry registry;
  auto o = options({hung.url()});
  o.max_batch = 1;
  o.self_metrics = &registry;
  AlertmanagerClient client(o);
  client.submit(notification({firing("A"), firing("B"), firing("C")}));
  ASSERT_TRUE(hung.wait_for(1));
  const auto began = std::chrono::steady_clock::now();
  client.shutdown(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 3s);  // not the 5 s POST timeout
  EXPECT_EQ(client.dropped(), 2u);                          // B and C
  EXPECT_EQ(client.queued(), 0u);
  const auto st = client.status();
  EXPECT_EQ(st[0].errors, 1u);  // A: aborted
  EXPECT_EQ(st[0].last_error, "aborted at shutdown");
  EXPECT_EQ(st[0].dropped, 2u);
  EXPECT_NE(metrics::serialize(registry, metrics::Format::kPrometheusText)
                .find("vigil_alertmanager_notifications_dropped_total 2\n"),
            std::string::npos);
  hung.release();
}

TEST(AlertmanagerClient, CredentialsGoAsBasicAuthAndStayOutOfStatus) {
  FakeAlertmanager am;
  const std::string url = am.url();  // http://127.0.0.1:PORT
  auto o = options({"http://vigil:s3cret@" + url.substr(7)});
  o.http.headers = {{"X-Scope-OrgID", "team-a"}};
  AlertmanagerClient client(o);
  client.submit(notification({firing("A")}));
  ASSERT_TRUE(client.flush(10s));
  ASSERT_EQ(am.received().size(), 1u);
  EXPECT_EQ(am.received()[0].authorization, "Basic dmlnaWw6czNjcmV0");
  EXPECT_EQ(client.status()[0].url, url + "/api/v2/alerts");

  FakeAlertmanager am2;
  auto o2 = options({am2.url()});
  o2.http.basic_auth_username = "u";
  o2.http.basic_auth_password = "p";
  AlertmanagerClient client2(o2);
  client2.submit(notification({firing("A")}));
  ASSERT_TRUE(client2.flush(10s));
  EXPECT_EQ(am2.received().at(0).authorization, "Basic dTpw");

  FakeAlertmanager am3;
  auto o3 = options({am3.url()});
  o3.http.bearer_token = "tok";
  AlertmanagerClient client3(o3);
  client3.submit(notification({firing("A")}));
  ASSERT_TRUE(client3.flush(10s));
  EXPECT_EQ(am3.received().at(0).authorization, "Bearer tok");
}

TEST(AlertmanagerClient, RefusesBadOptions) {
  auto bad = [](AlertmanagerClientOptions o) {
    try {
      AlertmanagerClient client(std::move(o));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(bad(options({"ftp://am:9093"})).find("http:// or https://"), std::string::npos);
  EXPECT_NE(bad(options({"am:9093"})).find("http:// or https://"), std::string::npos);
  EXPECT_NE(bad(options({"http://"})).find("no host"), std::string::npos);
  // The password is not repeated in the message.
  const std::string msg = bad(options({"gopher://u:hunter2@am:9093"}));
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  EXPECT_NE(bad(options({})).find("urls"), std::string::npos);
  auto o = options({"http://127.0.0.1:1"});
  o.max_batch = 0;
  EXPECT_NE(bad(o).find("max_batch"), std::string::npos);
  o = options({"http://127.0.0.1:1"});
  o.queue_capacity = 0;
  EXPECT_NE(bad(o).find("queue_capacity"), std::string::npos);
}

TEST(AlertmanagerClient, AttachSendsTheEnginesAlerts) {
  FakeAlertmanager am;
  std::atomic<int64_t> ms{1'700'000'000'000};  // 2023-11-14T22:13:20Z
  AlertManagerOptions mo;
  mo.clock = [&] { return TimePoint(std::chrono::milliseconds(ms.load())); };
  mo.resend_delay = 60s;
  mo.evaluation_interval = 15s;
  AlertManager manager(mo);
  std::atomic<bool> cond{true};
  manager.add_rule(AlertRule::builder()
                       .name("QueueFull")
                       .condition([&] { return cond.load(); })
                       .labels({{"service", "api"}})
                       .annotation("summary", "queue full on {labels.service}")
                       .build());
  AlertmanagerClient client(options({am.url()}));
  const int id = client.attach(manager);

  manager.evaluate();  // fires at once (for: 0)
  ASSERT_TRUE(client.flush(10s));
  ms += 30'000;
  manager.evaluate();  // within the resend delay: nothing
  cond = false;
  ms += 30'000;
  manager.evaluate();  // resolved at +60 s
  ASSERT_TRUE(client.flush(10s));
  const auto alerts = am.alerts();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].dump(),
            R"({"annotations":{"summary":"queue full on api"},"endsAt":"2023-11-14T22:17:20.000Z",)"
            R"("labels":{"alertname":"QueueFull","service":"api"},)"
            R"("startsAt":"2023-11-14T22:13:20.000Z"})");
  EXPECT_EQ(alerts[1]["endsAt"], "2023-11-14T22:14:20.000Z");  // the resolution time
  EXPECT_EQ(alerts[1]["startsAt"], "2023-11-14T22:13:20.000Z");

  client.detach(manager, id);
  cond = true;
  ms += 30'000;
  manager.evaluate();
  EXPECT_TRUE(client.flush(10s));
  EXPECT_EQ(am.alerts().size(), 2u);
}

}  // namespace
}  // namespace vigil::alerting
