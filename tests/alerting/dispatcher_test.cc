// The Dispatcher: grouping and its timers, dedup (repeat_interval, send_resolved), inhibition,
// routing, channels, the AlertManager end to end, delivery faults and the flood. All timing
// logic runs on an injected clock driven by tick(); only retries wait real (short) time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/detail/sqlite.h"
#include "dispatcher_test_util.h"
#include "vigil/alerting/rule.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::make_alert;
using testing::notification_of;
using testing::routing_of;
using testing::ScriptedNotifier;

DispatcherOptions options_with(RoutingConfig cfg, FakeClock& clock) {
  DispatcherOptions o;
  o.routing = std::move(cfg);
  o.clock = clock.fn();
  o.run_timer_thread = false;
  o.retry = RetryOptions{.max_attempts = 100,
                         .initial_backoff = 5ms,
                         .max_backoff = 20ms,
                         .multiplier = 2.0,
                         .jitter = 0.2};
  o.delivery_deadline = 10s;
  return o;
}

std::vector<std::string> alertnames(const NotificationGroup& g) {
  std::vector<std::string> out;
  for (const auto& a : g.alerts) {
    out.push_back(std::string(a.label("alertname")) + (a.resolved ? "(resolved)" : ""));
  }
  return out;
}

std::string temp_path(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("vigil_dispatch_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p.string();
}

TEST(Dispatcher, GroupsByLabelsAndWaitsGroupWait) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of(
      {make_alert({{"alertname", "A"}, {"x", "1"}}, t0),
       make_alert({{"alertname", "A"}, {"x", "2"}}, t0), make_alert({{"alertname", "B"}}, t0)},
      t0));
  ASSERT_EQ(d.groups().size(), 2u);
  EXPECT_EQ(d.groups()[0].next_flush, t0 + 30s);
  clock.advance(29s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 0u);
  clock.advance(1s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto got = n->delivered();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].group_key, "{}:{alertname=\"A\"}");
  EXPECT_EQ(got[0].receiver, "team");
  EXPECT_EQ(got[0].group_labels, (LabelList{{"alertname", "A"}}));
  EXPECT_EQ(got[0].common_labels, (LabelList{{"alertname", "A"}}));
  ASSERT_EQ(got[0].alerts.size(), 2u);
  EXPECT_EQ(got[0].alerts[0].label("x"), "1");
  EXPECT_EQ(got[0].alerts[1].label("x"), "2");
  EXPECT_EQ(got[1].group_key, "{}:{alertname=\"B\"}");
  EXPECT_EQ(alertnames(got[1]), std::vector<std::string>{"B"});
  auto st = d.status();
  ASSERT_EQ(st.receivers.size(), 1u);
  EXPECT_EQ(st.receivers[0].integrations[0].sent, 2u);
  EXPECT_EQ(st.receivers[0].integrations[0].integration, "test");
  EXPECT_EQ(st.receivers[0].integrations[0].last_success, t0 + 30s);
  EXPECT_EQ(st.alerts, 3u);
}

TEST(Dispatcher, GroupIntervalSendsChangesOnlyAtTheInterval) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of({make_alert({{"alertname", "A"}, {"x", "1"}}, t0)}, t0));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);
  clock.advance(10s);  // t0+40s: a second alert joins the group
  d.submit(
      notification_of({make_alert({{"alertname", "A"}, {"x", "2"}}, clock.now())}, clock.now()));
  EXPECT_EQ(d.groups()[0].next_flush, t0 + 30s + 5min);
  clock.set(t0 + 30s + 5min - 1s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
  clock.set(t0 + 30s + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].alerts.size(), 2u);
  // Nothing new: the next interval sends nothing (repeat_interval is 4h).
  clock.set(t0 + 30s + 10min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 2u);
}

TEST(Dispatcher, RepeatIntervalResendsAtTheFirstFlushAfterIt) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto cfg = routing_of({{"team", n}});
  cfg.route.repeat_interval = 1h;
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, t0)}, t0));
  // Flushes at t0+30s, then every 5 min. The last delivery is at t0+30s; Alertmanager repeats
  // when it is strictly before now - repeat_interval: not at t0+30s+60min, at t0+30s+65min.
  for (int k = 0; k <= 12; ++k) {
    clock.set(t0 + 30s + k * 5min);
    d.tick();
  }
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
  clock.set(t0 + 30s + 13 * 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 2u);
}

TEST(Dispatcher, SendResolvedOnAndOff) {
  FakeClock clock;
  auto on = std::make_shared<ScriptedNotifier>("on", true);
  auto off = std::make_shared<ScriptedNotifier>("off", false);
  RoutingConfig cfg = routing_of({{"team", nullptr}});
  cfg.receivers[0].notifiers = {on, off};
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  const LabelList a{{"alertname", "A"}};
  d.submit(
      notification_of({make_alert(a, t0), make_alert({{"alertname", "A"}, {"i", "2"}}, t0)}, t0));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(on->delivered_count(), 1u);
  ASSERT_EQ(off->delivered_count(), 1u);
  // One of the two resolves: "on" is told, "off" is not (the firing set is a subset).
  clock.advance(70s);
  d.submit(notification_of({make_alert(a, t0, true, clock.now())}, clock.now()));
  clock.set(t0 + 30s + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(on->delivered_count(), 2u);
  EXPECT_EQ(alertnames(on->delivered()[1]), (std::vector<std::string>{"A(resolved)", "A"}));
  EXPECT_EQ(on->delivered()[1].status(), "firing");
  EXPECT_EQ(off->delivered_count(), 1u);
  // The resolved alert left the group after that flush.
  ASSERT_EQ(d.groups().size(), 1u);
  EXPECT_EQ(d.groups()[0].alerts.size(), 1u);
  EXPECT_EQ(d.status().alerts, 1u);
  // The other resolves: "on" gets the all-resolved notification, "off" nothing; the group goes.
  d.submit(notification_of({make_alert({{"alertname", "A"}, {"i", "2"}}, t0, true, clock.now())},
                           clock.now()));
  clock.set(t0 + 30s + 10min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(on->delivered_count(), 3u);
  EXPECT_EQ(on->delivered()[2].status(), "resolved");
  EXPECT_EQ(off->delivered_count(), 1u);
  EXPECT_TRUE(d.groups().empty());
  EXPECT_EQ(d.status().alerts, 0u);
  // Firing again soon after: both are notified (the log forgot the firing set for "off" too).
  d.submit(notification_of({make_alert(a, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(on->delivered_count(), 4u);
  EXPECT_EQ(off->delivered_count(), 2u);
}

TEST(Dispatcher, FiringAlertWhoseEndsAtPassesIsResolved) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  const TimePoint t0 = clock.now();
  Alert a = make_alert({{"alertname", "A"}}, t0);
  a.valid_until = t0 + 2min;  // the engine stops re-sending it
  d.submit(notification_of({a}, t0));
  clock.advance(30s);
  d.tick();
  clock.set(t0 + 30s + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].status(), "resolved");
  EXPECT_TRUE(d.groups().empty());
}

TEST(Dispatcher, FiringAlertWithoutEndsAtExpiresAfterResolveTimeout) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto cfg = routing_of({{"team", n}});
  cfg.global.resolve_timeout = 7min;
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  Alert a = make_alert({{"alertname", "A"}}, t0);
  a.valid_until = TimePoint{};  // no end given
  d.submit(notification_of({a}, t0));
  ASSERT_EQ(d.groups().size(), 1u);
  EXPECT_EQ(d.groups()[0].alerts[0].ends_at, t0 + 7min);
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);
  // Each update moves the end: sent again at t0+4min, it ends at t0+11min.
  clock.set(t0 + 4min);
  d.submit(notification_of({a}, clock.now()));
  EXPECT_EQ(d.groups()[0].alerts[0].ends_at, t0 + 11min);
  clock.set(t0 + 30s + 10min);  // the flush before it ends: nothing new
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
  clock.set(t0 + 30s + 15min);  // past t0+11min: resolved
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].status(), "resolved");
  EXPECT_TRUE(d.groups().empty());
}

TEST(Dispatcher, FailedResolvedNotificationIsRetriedAtTheNextGroupInterval) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  const TimePoint t0 = clock.now();
  const LabelList a{{"alertname", "A"}};
  d.submit(notification_of({make_alert(a, t0)}, t0));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);
  // The resolution is refused once (not retried within the job): the alert stays in its group.
  n->script({DeliveryResult::failed("refused")});
  d.submit(notification_of({make_alert(a, t0, true, clock.now())}, clock.now()));
  clock.set(t0 + 30s + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->attempts().size(), 2u);
  EXPECT_EQ(n->delivered_count(), 1u);
  EXPECT_EQ(d.status().receivers[0].integrations[0].failed, 1u);
  ASSERT_EQ(d.groups().size(), 1u);
  ASSERT_EQ(d.groups()[0].alerts.size(), 1u);
  EXPECT_TRUE(d.groups()[0].alerts[0].resolved);
  // The next group_interval sends the resolution again; delivered, the alert and group go.
  clock.set(t0 + 30s + 10min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].status(), "resolved");
  EXPECT_EQ(alertnames(n->delivered()[1]), std::vector<std::string>{"A(resolved)"});
  EXPECT_TRUE(d.groups().empty());
  EXPECT_EQ(d.status().alerts, 0u);
  // Nothing more to say later.
  clock.set(t0 + 30s + 15min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 2u);
}

TEST(Dispatcher, InhibitedAlertsAreNotSent) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto cfg = routing_of({{"team", n}}, {"service"});
  InhibitRule rule;
  rule.source_matchers = {LabelMatcher{"severity", MatchType::kEqual, "critical"}};
  rule.target_matchers = {LabelMatcher{"severity", MatchType::kEqual, "warning"}};
  rule.equal = {"service"};
  cfg.inhibit_rules.push_back(rule);
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of(
      {make_alert({{"alertname", "Down"}, {"service", "a"}, {"severity", "critical"}}, t0),
       make_alert({{"alertname", "Slow"}, {"service", "a"}, {"severity", "warning"}}, t0),
       make_alert({{"alertname", "Slow"}, {"service", "b"}, {"severity", "warning"}}, t0)},
      t0));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto got = n->delivered();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].group_key, "{}:{service=\"a\"}");
  EXPECT_EQ(alertnames(got[0]), std::vector<std::string>{"Down"});
  EXPECT_EQ(alertnames(got[1]), std::vector<std::string>{"Slow"});
  EXPECT_EQ(d.status().inhibited, 1u);
}

TEST(Dispatcher, RoutesToSeveralReceiversWithContinue) {
  FakeClock clock;
  auto def = std::make_shared<ScriptedNotifier>();
  auto db = std::make_shared<ScriptedNotifier>();
  auto pager = std::make_shared<ScriptedNotifier>();
  auto cfg = routing_of({{"default", def}, {"db", db}, {"pager", pager}});
  Route r1;
  r1.receiver = "db";
  r1.matchers = {LabelMatcher{"team", MatchType::kEqual, "db"}};
  r1.continue_matching = true;
  Route r2;
  r2.receiver = "pager";
  r2.matchers = {LabelMatcher{"severity", MatchType::kEqual, "critical"}};
  r2.group_wait = 10s;
  cfg.route.routes = {r1, r2};
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of(
      {make_alert({{"alertname", "DbDown"}, {"team", "db"}, {"severity", "critical"}}, t0),
       make_alert({{"alertname", "WebSlow"}, {"team", "web"}}, t0)},
      t0));
  clock.advance(10s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(pager->delivered_count(), 1u);  // its own group_wait
  EXPECT_EQ(pager->delivered()[0].group_key, "{}/{severity=\"critical\"}:{alertname=\"DbDown\"}");
  EXPECT_EQ(db->delivered_count(), 0u);
  clock.advance(20s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(db->delivered_count(), 1u);
  EXPECT_EQ(db->delivered()[0].group_key, "{}/{team=\"db\"}:{alertname=\"DbDown\"}");
  ASSERT_EQ(def->delivered_count(), 1u);
  EXPECT_EQ(alertnames(def->delivered()[0]), std::vector<std::string>{"WebSlow"});
  EXPECT_EQ(pager->delivered_count(), 1u);
}

TEST(Dispatcher, ChannelsNamedByTheRuleBypassTheRouteTree) {
  FakeClock clock;
  auto def = std::make_shared<ScriptedNotifier>();
  auto pager = std::make_shared<ScriptedNotifier>();
  auto cfg = routing_of({{"default", def}, {"pager", pager}}, {"service"});
  Dispatcher d(options_with(cfg, clock));
  d.start();
  const TimePoint t0 = clock.now();
  d.submit(notification_of({make_alert({{"alertname", "X"}, {"service", "a"}}, t0),
                            make_alert({{"alertname", "X"}, {"service", "b"}}, t0)},
                           t0, {"pager", "nope"}));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(def->delivered_count(), 0u);
  ASSERT_EQ(pager->delivered_count(), 1u);  // grouped by alertname, not the root's service
  EXPECT_EQ(pager->delivered()[0].group_key, "{}/channel:pager:{alertname=\"X\"}");
  EXPECT_EQ(pager->delivered()[0].alerts.size(), 2u);
  auto st = d.status();
  EXPECT_EQ(st.unknown_channels, 1u);
  EXPECT_EQ(st.last_unknown_channel, "nope");
}

TEST(Dispatcher, AlertManagerEndToEnd) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  const std::string path = temp_path("e2e.db");
  AlertManagerOptions mo;
  mo.clock = clock.fn();
  mo.state_path = path;  // the same database file as the dispatcher's log
  AlertManager manager(mo);
  std::atomic<double> depth{10};
  manager.add_rule(AlertRule::builder()
                       .name("QueueFull")
                       .condition([&] { return depth.load() > 5; })
                       .severity(Severity::kCritical)
                       .annotation("summary", "queue full")
                       .build());
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  o.external_url = "http://vigil.local";
  Dispatcher d(o);
  const int id = d.attach(manager);
  d.start();
  manager.evaluate();
  ASSERT_EQ(d.groups().size(), 1u);
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);
  const NotificationGroup g = n->delivered()[0];
  EXPECT_EQ(g.external_url, "http://vigil.local");
  ASSERT_EQ(g.alerts.size(), 1u);
  EXPECT_EQ(g.alerts[0].label("alertname"), "QueueFull");
  EXPECT_EQ(g.alerts[0].label("severity"), "critical");
  EXPECT_EQ(g.alerts[0].annotation("summary"), "queue full");
  EXPECT_FALSE(g.alerts[0].resolved);
  // Resolves: the manager sends the resolved alert, the next interval delivers it.
  depth = 1;
  clock.advance(15s);
  manager.evaluate();
  clock.set(clock.now() + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 2u);
  EXPECT_EQ(n->delivered()[1].status(), "resolved");
  auto st = d.status();
  EXPECT_TRUE(st.log_ok) << st.log_error;
  EXPECT_TRUE(manager.persistence_status().ok) << manager.persistence_status().error;
  d.detach(manager, id);
  d.shutdown(1s);
}

TEST(DispatcherLog, StateDatabaseCreatedByTheDispatcherIsAcceptedByTheManager) {
  const std::string path = temp_path("shared.db");
  FakeClock clock;
  auto o = options_with(routing_of({{"team", std::make_shared<ScriptedNotifier>()}}), clock);
  o.state_path = path;
  Dispatcher d(o);  // creates the file with its nlog_ tables only
  EXPECT_TRUE(d.status().log_ok);
  AlertManagerOptions mo;
  mo.clock = clock.fn();
  mo.state_path = path;
  AlertManager manager(mo);
  EXPECT_TRUE(manager.persistence_status().ok) << manager.persistence_status().error;
}

// ---- faults

TEST(DispatcherFaults, ReceiverDownIsRetriedUntilTheDeadline) {
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->always(DeliveryResult::retry("connection refused"));
  FakeClock clock;
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.delivery_deadline = 300ms;
  Dispatcher d(o);
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  const auto start = std::chrono::steady_clock::now();
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  const auto took = std::chrono::steady_clock::now() - start;
  auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_GE(st.retried, 5u);  // backoff 5..20 ms within 300 ms
  EXPECT_EQ(st.retried + 1, n->attempts().size());
  EXPECT_NE(st.last_error.find("team/hook: connection refused"), std::string::npos);
  EXPECT_NE(st.last_error.find("deadline"), std::string::npos);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 3s);
  // Given up: the next flush tries again (the dedup state was not recorded).
  clock.advance(5min);
  n->always(DeliveryResult::delivered());
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
}

TEST(DispatcherFaults, ServerErrorThenOkIsDeliveredOnce) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  DeliveryResult e500 = DeliveryResult::retry("HTTP 500");
  e500.http_status = 500;
  n->script({e500});
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.sent, 1u);
  EXPECT_EQ(st.retried, 1u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(n->attempts().size(), 2u);
  EXPECT_EQ(n->attempts()[1].ctx.attempt, 2);
  EXPECT_EQ(n->delivered_count(), 1u);
}

TEST(DispatcherFaults, TooManyRequestsHonoursRetryAfter) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->script({DeliveryResult::retry("HTTP 429", 300ms)});
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto at = n->attempts();
  ASSERT_EQ(at.size(), 2u);
  EXPECT_GE(at[1].at - at[0].at, 300ms);  // not the 5 ms backoff
  EXPECT_EQ(n->delivered_count(), 1u);
}

TEST(DispatcherFaults, ZeroRetryAfterDoesNotShortenTheBackoff) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->script({DeliveryResult::retry("HTTP 429", 0ms), DeliveryResult::retry("HTTP 429", 0ms),
             DeliveryResult::retry("HTTP 503", 0ms), DeliveryResult::retry("HTTP 429", 0ms)});
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.retry = RetryOptions{.max_attempts = 0,
                         .initial_backoff = 20ms,
                         .max_backoff = 40ms,
                         .multiplier = 2.0,
                         .jitter = 0.2};
  Dispatcher d(o);
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto at = n->attempts();
  ASSERT_EQ(at.size(), 5u);
  // Backoff before retry k: min(40, 20 * 2^(k-1)) ms scaled by at least 1 - jitter = 0.8.
  EXPECT_GE(at[1].at - at[0].at, 16ms);
  EXPECT_GE(at[2].at - at[1].at, 32ms);
  EXPECT_GE(at[3].at - at[2].at, 32ms);
  EXPECT_GE(at[4].at - at[3].at, 32ms);
  EXPECT_EQ(n->delivered_count(), 1u);
}

TEST(DispatcherFaults, ClientErrorIsNotRetried) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->script({DeliveryResult::failed("HTTP 400: bad payload")});
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ(st.retried, 0u);
  EXPECT_EQ(n->attempts().size(), 1u);
  EXPECT_EQ(st.last_error, "team/hook: HTTP 400: bad payload");
}

TEST(DispatcherFaults, ThrowingNotifierIsCaughtAndCounted) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->hook([](const NotificationGroup&, const DeliveryContext&) -> DeliveryResult {
    throw std::runtime_error("boom");
  });
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.failed, 1u);
  EXPECT_NE(st.last_error.find("threw: boom"), std::string::npos);
}

TEST(DispatcherFaults, EachAttemptGetsItsOwnDeadline) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  // Hangs until the attempt's deadline, twice; then answers.
  std::atomic<int> calls{0};
  n->hook([&](const NotificationGroup&, const DeliveryContext& ctx) {
    if (++calls > 2) return DeliveryResult::delivered();
    std::this_thread::sleep_until(ctx.deadline);
    return DeliveryResult::retry("timeout");
  });
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.attempt_timeout = 100ms;
  Dispatcher d(o);
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  auto at = n->attempts();
  ASSERT_EQ(at.size(), 3u);
  for (const auto& a : at) {
    EXPECT_LE(a.ctx.deadline - a.at, 100ms);
    EXPECT_GT(a.ctx.deadline - a.at, 50ms);
  }
  EXPECT_EQ(d.status().receivers[0].integrations[0].sent, 1u);
}

TEST(DispatcherFaults, DeadlineCountsFromQueueing) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.delivery_deadline = 50ms;
  Dispatcher d(o);
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();  // queued; no delivery thread yet
  ASSERT_EQ(d.status().receivers[0].queued, 1u);
  // The delivery deadline is real (steady) time: let the queued notification outlive it.
  std::this_thread::sleep_for(80ms);
  d.start();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_TRUE(n->attempts().empty());
  const auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ(st.sent, 0u);
  EXPECT_NE(st.last_error.find("deadline passed while queued"), std::string::npos) << st.last_error;
}

TEST(DispatcherFaults, ShutdownAbortsAHangingNotifier) {
  FakeClock clock;
  // Ignores its deadline; only abort() ends it.
  class Hanging : public ScriptedNotifier {
   public:
    DeliveryResult notify(const NotificationGroup&, const DeliveryContext&) override {
      std::unique_lock lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return stop; });
      return DeliveryResult::retry("aborted");
    }
    void abort() noexcept override {
      std::lock_guard lock(mu);
      stop = true;
      cv.notify_all();
    }
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, stop = false;
  };
  auto n = std::make_shared<Hanging>();
  Dispatcher d(options_with(routing_of({{"team", n}}), clock));
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now()),
                            make_alert({{"alertname", "B"}}, clock.now())},
                           clock.now()));
  clock.advance(30s);
  d.tick();
  {
    std::unique_lock lock(n->mu);
    ASSERT_TRUE(n->cv.wait_for(lock, 5s, [&] { return n->entered; }));
  }
  EXPECT_FALSE(d.flush(50ms));
  const auto start = std::chrono::steady_clock::now();
  ShutdownReport r = d.shutdown(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.abandoned, 2u);  // one in flight, one queued
  auto st = d.status().receivers[0].integrations[0];
  EXPECT_EQ(st.dropped, 2u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(d.shutdown(1s).abandoned, 0u);  // idempotent
}

TEST(DispatcherFaults, CorruptLogIsReportedAndDeliveryGoesOn) {
  const std::string path = temp_path("corrupt.db");
  {
    std::ofstream f(path, std::ios::binary);
    f << std::string(8192, 'x');
  }
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  Dispatcher d(o);
  auto st = d.status();
  EXPECT_FALSE(st.log_ok);
  EXPECT_NE(st.log_error.find(path), std::string::npos) << st.log_error;
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
  std::filesystem::remove(path);
}

TEST(DispatcherFaults, UnusableLogPathIsReportedAndDeliveryGoesOn) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = "/proc/vigil-no-such-dir/log.db";
  Dispatcher d(o);
  auto st = d.status();
  EXPECT_FALSE(st.log_ok);
  EXPECT_NE(st.log_error.find("/proc/vigil-no-such-dir/log.db"), std::string::npos) << st.log_error;
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);
}

TEST(DispatcherLog, RestartDoesNotRepeatInsideRepeatInterval) {
  const std::string path = temp_path("restart.db");
  FakeClock clock;
  const TimePoint t0 = clock.now();
  auto n = std::make_shared<ScriptedNotifier>();
  {
    auto o = options_with(routing_of({{"team", n}}), clock);
    o.state_path = path;
    Dispatcher d(o);
    d.start();
    d.submit(notification_of({make_alert({{"alertname", "A"}}, t0)}, t0));
    clock.advance(30s);
    d.tick();
    ASSERT_TRUE(d.flush(5s));
    ASSERT_EQ(n->delivered_count(), 1u);
    d.shutdown(1s);
  }
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  Dispatcher d(o);
  EXPECT_EQ(d.status().redelivered, 0u);
  d.start();
  clock.advance(10min);
  d.submit(notification_of({make_alert({{"alertname", "A"}}, t0)}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 1u);  // restored: delivered 10 min ago, repeat is 4 h
  // A new alert in the group is sent at once (not a subset).
  d.submit(notification_of({make_alert({{"alertname", "A"}, {"i", "2"}}, t0)}, clock.now()));
  clock.advance(5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 2u);
  // After repeat_interval (from that last delivery at t0+16min) the group is sent again, at the
  // first flush strictly after it.
  clock.set(t0 + 16min + 4h);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 2u);
  clock.set(t0 + 16min + 4h + 5min);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(n->delivered_count(), 3u);
  EXPECT_TRUE(d.status().log_ok);
}

TEST(DispatcherLog, ShutdownLeavesQueuedEntriesPendingForTheNextStart) {
  const std::string path = temp_path("pending.db");
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  {
    auto o = options_with(routing_of({{"team", n}}), clock);
    o.state_path = path;
    Dispatcher d(o);  // never started: the queued notification is not delivered
    d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    EXPECT_EQ(d.status().receivers[0].queued, 1u);
    EXPECT_EQ(d.shutdown(100ms).abandoned, 1u);
  }
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  Dispatcher d(o);
  EXPECT_EQ(d.status().redelivered, 1u);
  d.start();
  ASSERT_TRUE(d.flush(5s));
  ASSERT_EQ(n->delivered_count(), 1u);
  EXPECT_EQ(n->delivered()[0].group_key, "{}:{alertname=\"A\"}");
  EXPECT_EQ(n->delivered()[0].alerts.size(), 1u);
  // Delivered: a third start has nothing to redeliver.
  d.shutdown(1s);
  Dispatcher d3(o);
  EXPECT_EQ(d3.status().redelivered, 0u);
}

TEST(DispatcherLog, StateIsKeyedByIntegrationNameAndIndexWithinIt) {
  const std::string path = temp_path("keys.db");
  FakeClock clock;
  const TimePoint t0 = clock.now();
  auto pd = std::make_shared<ScriptedNotifier>("pagerduty");
  auto wh = std::make_shared<ScriptedNotifier>("webhook");
  auto config = [&](std::vector<std::shared_ptr<Notifier>> ns) {
    RoutingConfig cfg = routing_of({{"team", nullptr}});
    cfg.receivers[0].notifiers = std::move(ns);
    auto o = options_with(cfg, clock);
    o.state_path = path;
    return o;
  };
  // Only PagerDuty: group A is delivered; group B stays pending (never started).
  {
    Dispatcher d(config({pd}));
    d.start();
    d.submit(notification_of({make_alert({{"alertname", "A"}}, t0)}, t0));
    clock.advance(30s);
    d.tick();
    ASSERT_TRUE(d.flush(5s));
    ASSERT_EQ(pd->delivered_count(), 1u);
    d.shutdown(1s);
  }
  {
    Dispatcher d(config({pd}));
    d.submit(notification_of({make_alert({{"alertname", "B"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    EXPECT_EQ(d.shutdown(100ms).abandoned, 1u);
  }
  // A webhook is added before it (it takes position 0): the pending B goes to PagerDuty, the
  // webhook inherits nothing (A is new to it), PagerDuty does not page A again.
  {
    Dispatcher d(config({wh, pd}));
    EXPECT_EQ(d.status().redelivered, 1u);
    EXPECT_EQ(d.status().receivers[0].integrations[1].index, 1);
    d.start();
    ASSERT_TRUE(d.flush(5s));
    ASSERT_EQ(pd->delivered_count(), 2u);
    EXPECT_EQ(pd->delivered()[1].group_key, "{}:{alertname=\"B\"}");
    EXPECT_EQ(wh->delivered_count(), 0u);
    clock.advance(1min);
    d.submit(notification_of({make_alert({{"alertname", "A"}}, t0)}, clock.now()));
    clock.advance(30s);
    d.tick();
    ASSERT_TRUE(d.flush(5s));
    EXPECT_EQ(pd->delivered_count(), 2u);  // delivered 2 min ago, repeat_interval is 4 h
    ASSERT_EQ(wh->delivered_count(), 1u);
    EXPECT_EQ(wh->delivered()[0].group_key, "{}:{alertname=\"A\"}");
    d.shutdown(1s);
  }
  // A pending PagerDuty entry after PagerDuty is removed: given up, not sent to the webhook.
  {
    Dispatcher d(config({pd}));
    d.submit(notification_of({make_alert({{"alertname", "C"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    EXPECT_EQ(d.shutdown(100ms).abandoned, 1u);
  }
  for (int k = 0; k < 2; ++k) {
    Dispatcher d(config({wh}));
    EXPECT_EQ(d.status().redelivered, 0u);
    d.start();
    ASSERT_TRUE(d.flush(5s));
    EXPECT_EQ(wh->delivered_count(), 1u);
  }
  EXPECT_EQ(pd->delivered_count(), 2u);
}

// (state, payload) of the log's entries, by id.
std::vector<std::pair<int64_t, std::string>> log_rows(const std::string& path) {
  std::vector<std::pair<int64_t, std::string>> out;
  auto db = vigil::detail::SqliteDb::open(path);
  if (!db) return out;
  auto st = (*db)->prepare("SELECT state, payload FROM nlog_entries ORDER BY id");
  while (st && st->step()) out.emplace_back(st->integer(0), st->text(1));
  return out;
}

TEST(DispatcherLog, PayloadIsClearedOnceDeliveredOrGivenUp) {
  const std::string path = temp_path("payload.db");
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  {
    Dispatcher d(o);
    d.start();
    n->script({DeliveryResult::delivered(), DeliveryResult::failed("refused")});
    d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    ASSERT_TRUE(d.flush(5s));
    d.submit(notification_of({make_alert({{"alertname", "B"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    ASSERT_TRUE(d.flush(5s));
    EXPECT_EQ(n->delivered_count(), 1u);
    d.shutdown(1s);
  }
  const auto rows = log_rows(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::pair<int64_t, std::string>{1, ""}));  // delivered
  EXPECT_EQ(rows[1], (std::pair<int64_t, std::string>{2, ""}));  // given up
}

TEST(DispatcherLog, UnreadablePendingEntryIsGivenUpAtStart) {
  const std::string path = temp_path("unreadable.db");
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  {
    Dispatcher d(o);  // never started: stays pending
    d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    EXPECT_EQ(d.shutdown(100ms).abandoned, 1u);
  }
  ASSERT_EQ(log_rows(path).size(), 1u);
  EXPECT_EQ(log_rows(path)[0].first, 0);
  EXPECT_FALSE(log_rows(path)[0].second.empty());
  {
    auto db = vigil::detail::SqliteDb::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("UPDATE nlog_entries SET payload = '{\"receiver\": [broken'"));
  }
  for (int k = 0; k < 2; ++k) {
    Dispatcher d(o);
    EXPECT_EQ(d.status().redelivered, 0u);
    EXPECT_TRUE(d.status().log_ok);
    d.start();
    ASSERT_TRUE(d.flush(5s));
    EXPECT_EQ(n->delivered_count(), 0u);
    d.shutdown(1s);
    EXPECT_EQ(log_rows(path), (std::vector<std::pair<int64_t, std::string>>{{2, ""}}));
  }
}

TEST(DispatcherLog, EntriesExpireAfterRetention) {
  const std::string path = temp_path("expire.db");
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>();
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.state_path = path;
  o.log_retention = 1h;
  {
    Dispatcher d(o);
    d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
    clock.advance(30s);
    d.tick();
    d.shutdown(10ms);
  }
  clock.advance(2h);
  Dispatcher d(o);
  EXPECT_EQ(d.status().redelivered, 0u);  // older than log_retention
}

TEST(Dispatcher, MetricsCountPerReceiverAndIntegration) {
  metrics::Registry reg;
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("hook");
  n->script({DeliveryResult::retry("HTTP 503")});
  auto o = options_with(routing_of({{"team", n}}), clock);
  o.self_metrics = &reg;
  Dispatcher d(o);
  d.start();
  d.submit(notification_of({make_alert({{"alertname", "A"}}, clock.now())}, clock.now()));
  clock.advance(30s);
  d.tick();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(reg.counter("vigil_notifications_total", "Notifications delivered.",
                        {"receiver", "integration"})
                .labels("team", "hook")
                .value(),
            1.0);
  EXPECT_EQ(reg.counter("vigil_notification_retries_total", "Delivery attempts after the first.",
                        {"receiver", "integration"})
                .labels("team", "hook")
                .value(),
            1.0);
}

TEST(Dispatcher, InvalidConfigurationThrows) {
  RoutingConfig cfg;
  cfg.route.receiver = "missing";
  DispatcherOptions o;
  o.routing = cfg;
  EXPECT_THROW(Dispatcher{o}, vigil::Error);
  RoutingConfig webhook = routing_of({{"team", nullptr}});
  webhook.receivers[0].webhook_configs.push_back(WebhookConfig{});
  o.routing = webhook;
  EXPECT_THROW(Dispatcher{o}, vigil::Error);  // until the notifiers land: "not built yet"
}

// ---- the flood: 100,000 alerts against a slow receiver

TEST(DispatcherFlood, BoundedAndFastAgainstASlowReceiver) {
  FakeClock clock;
  auto n = std::make_shared<ScriptedNotifier>("slow");
  n->hook([](const NotificationGroup&, const DeliveryContext&) {
    std::this_thread::sleep_for(2ms);
    return DeliveryResult::delivered();
  });
  auto o = options_with(routing_of({{"team", n}}, {"alertname", "i"}), clock);
  o.max_alerts = 10'000;
  o.queue_capacity = 16;
  Dispatcher d(o);
  d.start();
  const TimePoint t0 = clock.now();
  // The time spent in submit() only (building the alerts is the test's cost).
  std::chrono::steady_clock::duration took{};
  for (int i = 0; i < 100'000; ++i) {
    Notification note =
        notification_of({make_alert({{"alertname", "Flood"}, {"i", std::to_string(i)}}, t0)}, t0);
    const auto start = std::chrono::steady_clock::now();
    d.submit(note);
    took += std::chrono::steady_clock::now() - start;
  }
  // A generous bound that only a blocking submit() would break (the figure is in
  // bench/README.md); sanitizer builds (unoptimised, instrumented) are ~10x slower.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(NDEBUG) || \
    defined(VIGIL_SANITIZED_TESTS)
  constexpr auto kBound = 60s;
#else
  constexpr auto kBound = 2s;
#endif
  EXPECT_LT(took, kBound) << "submit of 100,000 alerts took "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  std::printf(
      "submit of 100,000 alerts: %lld ms\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  auto st = d.status();
  EXPECT_EQ(st.alerts, 10'000u);
  EXPECT_EQ(st.alerts_dropped, 90'000u);
  clock.advance(30s);
  d.tick();  // 10,000 groups due at once
  st = d.status();
  EXPECT_LE(st.receivers[0].queued, 16u);
  const auto& in = st.receivers[0].integrations[0];
  EXPECT_GE(in.dropped, 10'000u - 16u - 100u);
  ShutdownReport r = d.shutdown(100ms);
  st = d.status();
  EXPECT_EQ(st.receivers[0].integrations[0].sent + st.receivers[0].integrations[0].dropped,
            10'000u);
  EXPECT_LE(r.abandoned, 17u);
}

}  // namespace
}  // namespace vigil::alerting
