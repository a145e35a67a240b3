// statsd_adapters.h: alerts (AlertManager callbacks, the dispatcher's Notifier) and health
// changes as DogStatsD events and service checks, byte for byte on a local UDP receiver.
#include "vigil/exporters/statsd_adapters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "statsd_test_util.h"
#include "vigil/alerting/rule.h"

namespace vigil::exporters {
namespace {

using ::testing::ElementsAre;
using namespace vigil::exporters::testing;

std::vector<std::string> datagrams(DatagramReceiver& rx) { return rx.receive_all(200); }

StatsdOptions dog(const DatagramReceiver& rx) {
  StatsdOptions o;
  o.flavor = StatsdFlavor::kDogStatsd;
  o.address = rx.address();
  return o;
}

health::HealthReport report(health::Status db, health::Status cache) {
  health::HealthReport r;
  r.group = "readiness";
  r.time = 1700000000;
  r.status = health::worst(db, cache);
  r.output = db == health::Status::kFail ? "db: refused" : "";
  health::CheckReport c1;
  c1.name = "db";
  c1.status = db;
  c1.output = db == health::Status::kFail ? "refused" : "ok";
  health::CheckReport c2;
  c2.name = "cache";
  c2.status = cache;
  r.checks = {c1, c2};
  return r;
}

TEST(StatsdHealthReporter, SendsWhatChanged) {
  DatagramReceiver rx;
  StatsdExporter ex(dog(rx));
  StatsdHealthReporter reporter(ex);
  // First report: every check and the group.
  EXPECT_EQ(reporter.report(report(health::Status::kPass, health::Status::kPass)), 3);
  EXPECT_THAT(datagrams(rx),
              ElementsAre("_sc|vigil.health.db|0|d:1700000000|#group:readiness|m:ok",
                          "_sc|vigil.health.cache|0|d:1700000000|#group:readiness",
                          "_sc|vigil.health.readiness|0|d:1700000000|#group:readiness"));
  // Nothing changed: nothing sent.
  EXPECT_EQ(reporter.report(report(health::Status::kPass, health::Status::kPass)), 0);
  EXPECT_FALSE(rx.receive(200));
  // The database fails: its check, the group's, and an event.
  EXPECT_EQ(reporter.report(report(health::Status::kFail, health::Status::kPass)), 2);
  EXPECT_THAT(datagrams(rx),
              ElementsAre("_sc|vigil.health.db|2|d:1700000000|#group:readiness|m:refused",
                          "_sc|vigil.health.readiness|2|d:1700000000|#group:readiness|m:db: "
                          "refused",
                          "_e{31,11}:[health] readiness is unhealthy|db: refused|d:1700000000|"
                          "k:health.readiness|s:vigil|t:error|#group:readiness"));
}

TEST(DogStatsdNotifier, AlertsBecomeEventsAndServiceChecks) {
  DatagramReceiver rx;
  auto ex = std::make_shared<StatsdExporter>(dog(rx));
  DogStatsdNotifier notifier(ex);
  EXPECT_EQ(notifier.integration(), "dogstatsd");
  alerting::NotificationGroup g;
  alerting::NotifiedAlert a;
  a.labels = {{"alertname", "QueueFull"}, {"severity", "critical"}};
  a.annotations = {{"summary", "queue at 100%"}};
  a.severity = alerting::Severity::kCritical;
  a.fingerprint = 0xabc;
  a.starts_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  g.alerts.push_back(a);
  EXPECT_TRUE(notifier.notify(g, {}).ok());
  EXPECT_THAT(datagrams(rx), ElementsAre("_e{18,13}:[FIRING] QueueFull|queue at 100%|d:1700000000|"
                                         "k:0000000000000abc|p:normal|s:vigil|t:error|"
                                         "#alertname:QueueFull,severity:critical",
                                         "_sc|vigil.alert.QueueFull|2|d:1700000000|"
                                         "#alertname:QueueFull,severity:critical|m:queue at 100%"));
  g.alerts[0].resolved = true;
  g.alerts[0].ends_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000060));
  EXPECT_TRUE(notifier.notify(g, {}).ok());
  EXPECT_THAT(datagrams(rx),
              ElementsAre("_e{20,13}:[RESOLVED] QueueFull|queue at 100%|d:1700000060|"
                          "k:0000000000000abc|p:normal|s:vigil|t:success|"
                          "#alertname:QueueFull,severity:critical",
                          "_sc|vigil.alert.QueueFull|0|d:1700000060|"
                          "#alertname:QueueFull,severity:critical|m:queue at 100%"));
  // An Etsy exporter cannot carry them.
  StatsdOptions o = dog(rx);
  o.flavor = StatsdFlavor::kEtsy;
  DogStatsdNotifier etsy(std::make_shared<StatsdExporter>(o));
  EXPECT_FALSE(etsy.notify(g, {}).ok());
}

TEST(StatsdAlertAdapter, AttachedToTheRuleEngine) {
  DatagramReceiver rx;
  StatsdExporter ex(dog(rx));
  alerting::AlertManager manager;
  std::atomic<bool> firing{true};
  manager.add_rule(alerting::AlertRule::builder()
                       .name("disk_full")
                       .condition([&] { return firing.load(); })
                       .severity(alerting::Severity::kWarning)
                       .build());
  const int id = attach_alerts(manager, ex, {.events = false});
  manager.evaluate();
  const auto got = datagrams(rx);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(got[0], ::testing::StartsWith("_sc|vigil.alert.disk_full|1|d:"));
  EXPECT_THAT(got[0], ::testing::EndsWith("|#alertname:disk_full,severity:warning"));
  firing = false;
  manager.evaluate();
  const auto resolved = datagrams(rx);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_THAT(resolved[0], ::testing::StartsWith("_sc|vigil.alert.disk_full|0|d:"));
  EXPECT_TRUE(manager.remove_callback(id));
}

}  // namespace
}  // namespace vigil::exporters
