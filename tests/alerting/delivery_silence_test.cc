// Silences and cooldowns between the engine and the dispatcher: a silenced alert is handed over
// muted (Notification::silenced) every resend delay with a fresh valid_until, so the dispatcher
// neither notifies it nor resolves it when its first valid_until passes, and a silenced alert
// still inhibits; when the silence ends it is notified at once. A cooldown lengthens
// valid_until so that an alert held back by it does not expire between sends.
#include <gtest/gtest.h>

#include <atomic>

#include "dispatcher_test_util.h"
#include "vigil/alerting/dispatcher.h"
#include "vigil/alerting/rule.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::routing_of;
using testing::ScriptedNotifier;

DispatcherOptions options_for(RoutingConfig cfg, FakeClock& clock) {
  DispatcherOptions o;
  o.routing = std::move(cfg);
  o.routing.route.group_wait = 0ms;
  o.routing.route.group_interval = 10s;
  o.routing.route.repeat_interval = 1h;
  o.clock = clock.fn();
  o.run_timer_thread = false;
  return o;
}

TEST(DeliverySilence, SilencedAlertIsMutedNotResolvedAndNotifiedWhenTheSilenceEnds) {
  FakeClock clock;
  AlertManagerOptions mo;
  mo.clock = clock.fn();
  mo.evaluation_interval = 15s;
  mo.resend_delay = 60s;
  AlertManager manager(mo);
  std::atomic<bool> on{true};
  manager.add_rule(
      AlertRule::builder().name("DiskFull").condition([&] { return on.load(); }).build());
  auto n = std::make_shared<ScriptedNotifier>();
  Dispatcher d(options_for(routing_of({{"team", n}}), clock));
  d.attach(manager);
  d.start();

  manager.evaluate();  // fires (for 0) and is notified
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);

  // Silenced for 10 minutes: the first valid_until (4 min ahead) passes while silenced.
  const std::string id = manager.silence(manager.active_alerts().at(0).fingerprint_hex(), 10min);
  std::vector<Notification> seen;
  const int cb = manager.on_alert([&](const Notification& x) { seen.push_back(x); });
  for (int i = 0; i < 36; ++i) {  // 9 minutes of 15 s rounds
    clock.advance(15s);
    manager.evaluate();
    d.tick();
  }
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u) << "a silenced alert was notified (or resolved)";
  // Handed over muted once per resend delay (the first round, then every 60 s).
  size_t handed = 0;
  for (const Notification& x : seen) {
    EXPECT_TRUE(x.alerts.empty());
    for (const Alert& a : x.silenced) {
      EXPECT_TRUE(a.silenced);
      EXPECT_EQ(a.valid_until, x.time + 4min);
      ++handed;
    }
  }
  EXPECT_GE(handed, 8u);
  EXPECT_LE(handed, 10u);
  ASSERT_EQ(d.groups().size(), 1u);
  ASSERT_EQ(d.groups()[0].alerts.size(), 1u);
  EXPECT_TRUE(d.groups()[0].alerts[0].silenced);
  EXPECT_FALSE(d.groups()[0].alerts[0].resolved);

  // The silence ends: the alert is handed over unmuted at once (last_sent_at is old); the
  // receiver already has it firing (repeat_interval 1h), so nothing new is sent, and nothing
  // resolved either.
  ASSERT_TRUE(manager.expire_silence(id));
  seen.clear();
  clock.advance(15s);
  manager.evaluate();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].alerts.size(), 1u);
  EXPECT_FALSE(seen[0].alerts[0].silenced);
  clock.advance(10s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
  EXPECT_FALSE(d.groups()[0].alerts[0].silenced);

  // It resolves: the receiver is told.
  on = false;
  clock.advance(15s);
  manager.evaluate();
  clock.advance(10s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].status(), "resolved");
  manager.remove_callback(cb);
  d.shutdown(1s);
}

TEST(DeliverySilence, SilencedSourceStillInhibits) {
  FakeClock clock;
  AlertManagerOptions mo;
  mo.clock = clock.fn();
  AlertManager manager(mo);
  manager.add_rule(AlertRule::builder()
                       .name("DatacenterDown")
                       .condition([] { return true; })
                       .labels({{"dc", "east"}})
                       .build());
  manager.add_rule(AlertRule::builder()
                       .name("ServiceDown")
                       .condition([] { return true; })
                       .labels({{"dc", "east"}})
                       .build());
  manager.silence("DatacenterDown_dc=east", 1h);
  auto n = std::make_shared<ScriptedNotifier>();
  RoutingConfig cfg = routing_of({{"team", n}});
  InhibitRule rule;
  rule.source_matchers = {{"alertname", MatchType::kEqual, "DatacenterDown"}};
  rule.target_matchers = {{"alertname", MatchType::kEqual, "ServiceDown"}};
  rule.equal = {"dc"};
  cfg.inhibit_rules.push_back(rule);
  Dispatcher d(options_for(cfg, clock));
  d.attach(manager);
  d.start();
  manager.evaluate();
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  // DatacenterDown is silenced, ServiceDown inhibited by it: nothing is sent.
  EXPECT_EQ(n->delivered_count(), 0u);
  EXPECT_EQ(d.status().inhibited, 1u);
  d.shutdown(1s);
}

TEST(DeliverySilence, CooldownLengthensValidUntil) {
  FakeClock clock;
  AlertManagerOptions mo;
  mo.clock = clock.fn();
  mo.evaluation_interval = 15s;
  mo.resend_delay = 60s;
  AlertManager manager(mo);
  manager.add_rule(
      AlertRule::builder().name("Slow").condition([] { return true; }).cooldown(5min).build());
  std::vector<Alert> sent;
  manager.on_alert([&](const Notification& x) {
    for (const Alert& a : x.alerts) sent.push_back(a);
  });
  for (int i = 0; i < 60; ++i) {  // 15 minutes
    manager.evaluate();
    clock.advance(15s);
  }
  ASSERT_GE(sent.size(), 3u);
  for (size_t i = 0; i < sent.size(); ++i) {
    // Resent every 5 min (the cooldown), valid for 4 of those: never expires between sends.
    EXPECT_EQ(sent[i].valid_until, sent[i].last_sent_at + 20min);
    if (i > 0) {
      EXPECT_LT(sent[i].last_sent_at, sent[i - 1].valid_until);
    }
  }
}

}  // namespace
}  // namespace vigil::alerting
