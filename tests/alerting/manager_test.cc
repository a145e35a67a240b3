// The rule engine with C++ conditions: Prometheus' alert state machine (rules/alerting.go 2.42)
// step by step on an injected clock, notifications (needsSending, resend delay, cooldown),
// silences, history, health, isolation of throwing and hanging conditions, the evaluation thread.
#include "vigil/alerting/manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;

// The injected clock: starts at a round Unix time, moved by the test.
struct FakeClock {
  std::atomic<int64_t> ms{1'700'000'000'000};
  TimePoint now() const { return TimePoint(std::chrono::milliseconds(ms.load())); }
  void advance(std::chrono::milliseconds d) { ms += d.count(); }
  std::function<TimePoint()> fn() {
    return [this] { return now(); };
  }
};

struct Fixture : ::testing::Test {
  FakeClock clock;
  TimePoint t0 = clock.now();
  std::atomic<bool> cond{false};
  std::atomic<double> value{0};

  AlertManagerOptions options() {
    AlertManagerOptions o;
    o.clock = clock.fn();
    return o;
  }
  AlertRule::Builder flag_rule(std::string name) {
    return std::move(
        AlertRule::builder().name(std::move(name)).condition([this] { return cond.load(); }));
  }
  AlertRule::Builder value_rule(std::string name) {
    return std::move(
        AlertRule::builder().name(std::move(name)).condition([this]() -> std::optional<double> {
          if (!cond.load()) return std::nullopt;
          return value.load();
        }));
  }
};

TEST_F(Fixture, PendingThenFiringWhenForElapsed) {
  AlertManager m(options());
  m.add_rule(flag_rule("slow").for_duration(60s).severity(Severity::kWarning).build());

  EXPECT_TRUE(m.evaluate().empty());  // condition false: nothing
  cond = true;
  clock.advance(15s);
  const TimePoint active = clock.now();
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kInactive);
  EXPECT_EQ(ts[0].to, AlertState::kPending);
  EXPECT_EQ(ts[0].alert.active_at, active);

  clock.advance(45s);  // 45 s of 60: still pending, no transition
  EXPECT_TRUE(m.evaluate().empty());
  ASSERT_EQ(m.active_alerts().size(), 1u);
  EXPECT_EQ(m.active_alerts()[0].state, AlertState::kPending);

  clock.advance(15s);  // eval_time - active_at == for: fires (>=, as Prometheus)
  ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kPending);
  EXPECT_EQ(ts[0].to, AlertState::kFiring);
  EXPECT_EQ(ts[0].alert.fired_at, clock.now());
  EXPECT_EQ(ts[0].alert.active_at, active);
  auto status = m.rule_status("slow");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->health, RuleHealth::kOk);
  EXPECT_EQ(status->state, AlertState::kFiring);
  EXPECT_EQ(status->evaluations, 4u);
  EXPECT_EQ(status->last_evaluation, clock.now());
}

TEST_F(Fixture, ForZeroFiresAtFirstEvaluation) {
  AlertManager m(options());
  m.add_rule(flag_rule("now").build());
  cond = true;
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kInactive);
  EXPECT_EQ(ts[0].to, AlertState::kFiring);
  EXPECT_EQ(ts[0].alert.active_at, t0);
  EXPECT_EQ(ts[0].alert.fired_at, t0);
}

TEST_F(Fixture, PendingAlertIsDroppedWhenConditionGoesAway) {
  AlertManager m(options());
  m.add_rule(value_rule("flappy").for_duration(5min).build());
  cond = true;
  value = 3;
  m.evaluate();
  clock.advance(1min);
  value = 7;
  m.evaluate();
  clock.advance(1min);
  cond = false;
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kPending);
  EXPECT_EQ(ts[0].to, AlertState::kInactive);
  EXPECT_TRUE(m.active_alerts().empty());
  auto h = m.history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_FALSE(h[0].fired);
  EXPECT_EQ(h[0].started_at, t0);
  EXPECT_EQ(h[0].ended_at, t0 + 2min);
  EXPECT_EQ(h[0].duration(), 2min);
  EXPECT_EQ(h[0].peak_value, 7);
  // Back again: a new pending alert with a new active_at.
  cond = true;
  clock.advance(1min);
  ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kPending);
  EXPECT_EQ(ts[0].alert.active_at, t0 + 3min);
}

TEST_F(Fixture, FiringAlertResolvesAndGoesToHistory) {
  AlertManager m(options());
  std::vector<Notification> sent;
  m.on_alert([&](const Notification& n) { sent.push_back(n); });
  m.add_rule(value_rule("hot")
                 .for_duration(1min)
                 .severity(Severity::kCritical)
                 .labels({{"service", "api"}})
                 .description("temperature {value} on {labels.service}")
                 .build());
  cond = true;
  value = 80;
  m.evaluate();  // pending at t0
  clock.advance(1min);
  value = 95;
  m.evaluate();  // firing at t0+1m, sent
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].alerts.size(), 1u);
  EXPECT_EQ(sent[0].alerts[0].state, AlertState::kFiring);
  EXPECT_EQ(sent[0].alerts[0].annotations, (LabelList{{"description", "temperature 95 on api"}}));
  // ValidUntil = ts + 4 * max(resend_delay 1m, interval 15s)
  EXPECT_EQ(sent[0].alerts[0].valid_until, t0 + 1min + 4min);
  EXPECT_EQ(sent[0].alerts[0].ends_at(), t0 + 5min);
  clock.advance(30s);
  value = 90;
  m.evaluate();
  clock.advance(30s);
  cond = false;
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kFiring);
  EXPECT_EQ(ts[0].to, AlertState::kResolved);
  EXPECT_EQ(ts[0].alert.resolved_at, t0 + 2min);
  EXPECT_TRUE(m.active_alerts().empty());
  // The resolved alert is sent once (resolved_at after last_sent_at).
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].alerts[0].state, AlertState::kResolved);
  EXPECT_EQ(sent[1].alerts[0].ends_at(), t0 + 2min);

  auto h = m.history();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0].fired);
  EXPECT_EQ(h[0].name, "hot");
  EXPECT_EQ(h[0].severity, Severity::kCritical);
  EXPECT_EQ(h[0].started_at, t0);
  EXPECT_EQ(h[0].fired_at, t0 + 1min);
  EXPECT_EQ(h[0].ended_at, t0 + 2min);
  EXPECT_EQ(h[0].duration(), 2min);
  EXPECT_EQ(h[0].peak_value, 95);
  EXPECT_EQ(h[0].last_value, 90);
  EXPECT_EQ(h[0].labels,
            (LabelList{{"alertname", "hot"}, {"service", "api"}, {"severity", "critical"}}));
  EXPECT_EQ(h[0].id, "hot_service=api");

  // Resolved alerts are resent every resend delay while retained (15 min), then dropped.
  clock.advance(61s);
  m.evaluate();
  EXPECT_EQ(sent.size(), 3u);
  clock.advance(15min);
  m.evaluate();  // past retention: removed
  const size_t before = sent.size();
  clock.advance(2min);
  m.evaluate();
  EXPECT_EQ(sent.size(), before);
  // Firing again after that is a new alert.
  cond = true;
  clock.advance(15s);
  ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kInactive);
  EXPECT_EQ(ts[0].to, AlertState::kPending);
}

TEST_F(Fixture, ResolvedAlertThatComesBackIsANewPendingAlert) {
  AlertManager m(options());
  m.add_rule(flag_rule("r").for_duration(30s).build());
  cond = true;
  m.evaluate();
  clock.advance(30s);
  m.evaluate();  // firing
  clock.advance(15s);
  cond = false;
  m.evaluate();  // resolved (retained)
  clock.advance(15s);
  cond = true;
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, AlertState::kResolved);
  EXPECT_EQ(ts[0].to, AlertState::kPending);
  EXPECT_EQ(ts[0].alert.active_at, t0 + 60s);
  EXPECT_EQ(ts[0].alert.resolved_at, TimePoint{});
}

TEST_F(Fixture, KeepFiringFor) {
  AlertManager m(options());
  m.add_rule(flag_rule("sticky").keep_firing_for(2min).build());
  cond = true;
  m.evaluate();  // firing at t0 (for 0)
  clock.advance(15s);
  cond = false;
  EXPECT_TRUE(m.evaluate().empty());  // kept firing
  auto a = m.active_alerts();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].state, AlertState::kFiring);
  EXPECT_EQ(a[0].keep_firing_since, t0 + 15s);
  clock.advance(1min);
  EXPECT_TRUE(m.evaluate().empty());
  // Condition back: keep_firing_since reset.
  cond = true;
  clock.advance(15s);
  EXPECT_TRUE(m.evaluate().empty());
  EXPECT_EQ(m.active_alerts()[0].keep_firing_since, TimePoint{});
  // Away again at t0+1m45s: kept until ts - since >= 2m.
  cond = false;
  clock.advance(15s);
  const TimePoint since = clock.now();
  m.evaluate();
  clock.advance(105s);  // 1m45s < 2m
  EXPECT_TRUE(m.evaluate().empty());
  clock.advance(15s);  // exactly 2 min: resolved
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kResolved);
  EXPECT_EQ(ts[0].alert.resolved_at, since + 2min);
  EXPECT_EQ(ts[0].alert.active_at, t0);
}

TEST_F(Fixture, KeepFiringForDoesNotKeepPendingAlerts) {
  AlertManager m(options());
  m.add_rule(flag_rule("p").for_duration(1min).keep_firing_for(10min).build());
  cond = true;
  m.evaluate();
  cond = false;
  clock.advance(15s);
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kInactive);
}

TEST_F(Fixture, ResendDelayFollowsNeedsSending) {
  AlertManager m(options());
  std::vector<TimePoint> sent;
  m.on_alert([&](const Notification& n) {
    for (const Alert& a : n.alerts) sent.push_back(a.last_sent_at);
  });
  m.add_rule(flag_rule("resend").build());
  cond = true;
  for (int i = 0; i <= 10; ++i) {  // every 15 s for 2.5 min
    m.evaluate();
    clock.advance(15s);
  }
  // last_sent + 1m must be strictly before ts: t0, t0+75s, t0+150s.
  EXPECT_EQ(sent, (std::vector<TimePoint>{t0, t0 + 75s, t0 + 150s}));
}

TEST_F(Fixture, CooldownHoldsBackRenotification) {
  AlertManager m(options());
  std::vector<std::pair<AlertState, TimePoint>> sent;
  m.on_alert([&](const Notification& n) {
    for (const Alert& a : n.alerts) sent.emplace_back(a.state, clock.now());
  });
  m.add_rule(flag_rule("cool").cooldown(5min).notification_channels({"slack"}).build());
  cond = true;
  m.evaluate();  // t0 fired, notified
  clock.advance(2min);
  m.evaluate();  // no resend within cooldown (resend delay would allow it)
  ASSERT_EQ(sent.size(), 1u);
  cond = false;
  clock.advance(1min);
  m.evaluate();  // t0+3m resolved: resolution notified
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].first, AlertState::kResolved);
  cond = true;
  clock.advance(1min);
  m.evaluate();  // t0+4m fires again: within 5 min of the last firing notification
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_EQ(m.active_alerts()[0].state, AlertState::kFiring);
  clock.advance(1min);
  m.evaluate();  // t0+5m: cooldown over
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].first, AlertState::kFiring);
  EXPECT_EQ(sent[2].second, t0 + 5min);
}

TEST_F(Fixture, MultiSeriesIdentityAndFingerprints) {
  AlertManager m(options());
  std::vector<SeriesValue> series = {
      {{{"instance", "a"}, {"env", "dev"}}, 1.5},
      {{{"instance", "b"}, {"env", "dev"}}, 2.5},
  };
  std::mutex mu;
  m.add_rule(AlertRule::builder()
                 .name("high_error_rate")
                 .severity(Severity::kCritical)
                 .labels({{"service", "api"}, {"env", "production"}})
                 .condition([&] {
                   std::lock_guard lock(mu);
                   return series;
                 })
                 .build());
  m.evaluate();
  auto alerts = m.active_alerts();
  ASSERT_EQ(alerts.size(), 2u);
  std::sort(alerts.begin(), alerts.end(),
            [](const Alert& a, const Alert& b) { return a.value < b.value; });
  // The rule's labels override the series' (env), alertname and severity added, sorted.
  EXPECT_EQ(alerts[0].labels, (LabelList{{"alertname", "high_error_rate"},
                                         {"env", "production"},
                                         {"instance", "a"},
                                         {"service", "api"},
                                         {"severity", "critical"}}));
  EXPECT_EQ(alerts[0].id, "high_error_rate_service=api_env=production_instance=a");
  EXPECT_EQ(alerts[1].id, "high_error_rate_service=api_env=production_instance=b");
  EXPECT_NE(alerts[0].fingerprint, alerts[1].fingerprint);
  EXPECT_EQ(alerts[0].fingerprint, label_fingerprint(alerts[0].labels));
  // Hand-computed FNV-1a (name 0xff value 0xff per label), as Alertmanager prints it.
  EXPECT_EQ(fingerprint_hex(label_fingerprint({{"alertname", "high_error_rate"},
                                               {"env", "production"},
                                               {"service", "api"},
                                               {"severity", "critical"}})),
            "cb9dea8adf1592f9");
  EXPECT_EQ(fingerprint_hex(label_fingerprint({})), "cbf29ce484222325");

  // Same identity next round: same alert (active_at kept); series b gone: dropped? it fired
  // (for 0) so it resolves.
  clock.advance(15s);
  {
    std::lock_guard lock(mu);
    series.pop_back();
    series[0].value = 9;
  }
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kResolved);
  EXPECT_EQ(ts[0].alert.label("instance"), "b");
  alerts = m.active_alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].value, 9);
  EXPECT_EQ(alerts[0].active_at, t0);
}

TEST_F(Fixture, SameLabelSetAfterRuleLabelsIsAnError) {
  AlertManager m(options());
  m.add_rule(AlertRule::builder()
                 .name("dup")
                 .labels({{"env", "prod"}})
                 .condition([] {
                   return std::vector<SeriesValue>{{{{"env", "a"}}, 1}, {{{"env", "b"}}, 2}};
                 })
                 .build());
  EXPECT_TRUE(m.evaluate().empty());
  auto s = m.rule_status("dup");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_EQ(s->last_error,
            "vector contains metrics with the same labelset after applying alert labels");
  EXPECT_TRUE(m.active_alerts().empty());
}

TEST_F(Fixture, LimitExceededDropsEveryAlertOfTheRule) {
  AlertManager m(options());
  std::atomic<int> n{1};
  m.add_rule(AlertRule::builder()
                 .name("many")
                 .limit(2)
                 .condition([&] {
                   std::vector<SeriesValue> out;
                   for (int i = 0; i < n.load(); ++i) {
                     out.push_back({{{"i", std::to_string(i)}}, 1});
                   }
                   return out;
                 })
                 .build());
  m.evaluate();
  EXPECT_EQ(m.active_alerts().size(), 1u);
  n = 3;
  clock.advance(15s);
  m.evaluate();
  EXPECT_TRUE(m.active_alerts().empty());
  auto s = m.rule_status("many");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_EQ(s->last_error, "exceeded limit of 2 with 3 alerts");
  n = 2;
  clock.advance(15s);
  m.evaluate();
  EXPECT_EQ(m.active_alerts().size(), 2u);
  EXPECT_EQ(m.rule_status("many")->health, RuleHealth::kOk);
}

TEST_F(Fixture, ActiveAlertsBySeverity) {
  AlertManager m(options());
  cond = true;
  m.add_rule(flag_rule("a").severity(Severity::kCritical).build());
  m.add_rule(flag_rule("b").severity(Severity::kWarning).build());
  m.add_rule(flag_rule("c").severity(Severity::kCritical).for_duration(1h).build());
  m.add_rule(flag_rule("d").label("severity", "info").build());
  m.evaluate();
  EXPECT_EQ(m.active_alerts().size(), 4u);
  auto crit = m.active_alerts(Severity::kCritical);
  ASSERT_EQ(crit.size(), 2u);
  for (const Alert& a : crit) EXPECT_EQ(a.label("severity"), "critical");
  ASSERT_EQ(m.active_alerts(Severity::kInfo).size(), 1u);
  EXPECT_EQ(m.active_alerts(Severity::kInfo)[0].name, "d");
  EXPECT_TRUE(m.active_alerts(Severity::kError).empty());
  EXPECT_EQ(to_string(Severity::kError), "error");
  EXPECT_EQ(parse_severity("CRITICAL"), Severity::kCritical);
  EXPECT_FALSE(parse_severity("page"));
}

TEST_F(Fixture, HistoryIsNewestFirstAndBounded) {
  auto o = options();
  o.history_limit = 3;
  AlertManager m(o);
  m.add_rule(value_rule("h").build());
  for (int i = 0; i < 5; ++i) {
    cond = true;
    value = i;
    m.evaluate();
    clock.advance(1min);
    cond = false;
    m.evaluate();
    clock.advance(20min);  // past resolved retention
    m.evaluate();
  }
  auto h = m.history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].peak_value, 4);
  EXPECT_EQ(h[1].peak_value, 3);
  EXPECT_EQ(h[2].peak_value, 2);
  ASSERT_EQ(m.history(2).size(), 2u);
  EXPECT_EQ(m.history(1)[0].peak_value, 4);
}

struct SilenceCase {
  MatchType type;
  std::string value;
  bool silenced;
};

TEST_F(Fixture, SilenceMatchersEveryOperator) {
  const LabelList labels = {{"alertname", "x"}, {"env", "production"}, {"service", "api"}};
  const std::vector<SilenceCase> cases = {
      {MatchType::kEqual, "production", true},          {MatchType::kEqual, "prod", false},
      {MatchType::kNotEqual, "staging", true},          {MatchType::kNotEqual, "production", false},
      {MatchType::kRegexMatch, "prod.*", true},         {MatchType::kRegexMatch, "prod", false},
      {MatchType::kRegexMatch, "dev|production", true}, {MatchType::kRegexNoMatch, "prod", true},
      {MatchType::kRegexNoMatch, "prod.*", false},
  };
  for (const SilenceCase& c : cases) {
    Silence s;
    s.matchers = {{"env", c.type, c.value}};
    EXPECT_EQ(silence_matches(s, labels), c.silenced) << to_string(c.type) << c.value;
  }
  // An absent label matches as "".
  Silence s;
  s.matchers = {{"team", MatchType::kEqual, ""}, {"service", MatchType::kEqual, "api"}};
  EXPECT_TRUE(silence_matches(s, labels));
}

TEST_F(Fixture, SilencedAlertsAreListedButNotNotified) {
  AlertManager m(options());
  int notified = 0;
  m.on_alert([&](const Notification& n) { notified += static_cast<int>(n.alerts.size()); });
  m.add_rule(flag_rule("api_down").labels({{"env", "production"}}).build());
  m.add_rule(flag_rule("db_down").labels({{"env", "staging"}}).build());
  Silence s;
  s.matchers = {{"env", MatchType::kRegexMatch, "prod.*"},
                {"alertname", MatchType::kNotEqual, "db_down"}};
  s.ends_at = t0 + 1h;
  s.created_by = "oncall";
  s.comment = "deploy";
  const std::string id = m.add_silence(s);
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  cond = true;
  m.evaluate();
  EXPECT_EQ(notified, 1);  // db_down only
  auto alerts = m.active_alerts();
  ASSERT_EQ(alerts.size(), 2u);
  for (const Alert& a : alerts) {
    if (a.name == "api_down") {
      EXPECT_TRUE(a.silenced);
      EXPECT_EQ(a.silenced_by, std::vector<std::string>{id});
    } else {
      EXPECT_FALSE(a.silenced);
    }
  }
  auto list = m.silences();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].created_by, "oncall");
  EXPECT_EQ(list[0].starts_at, t0);
  EXPECT_EQ(list[0].state(clock.now()), SilenceState::kActive);

  // Expire: the alert is sent at the next evaluation.
  clock.advance(15s);
  EXPECT_TRUE(m.expire_silence(id));
  EXPECT_FALSE(m.expire_silence(id));
  EXPECT_EQ(m.silences()[0].state(clock.now()), SilenceState::kExpired);
  EXPECT_EQ(m.silences()[0].ends_at, t0 + 15s);
  m.evaluate();
  EXPECT_EQ(notified, 2);
  EXPECT_TRUE(m.delete_silence(id));
  EXPECT_FALSE(m.delete_silence(id));
  EXPECT_TRUE(m.silences().empty());
}

TEST_F(Fixture, SilenceEndsByItself) {
  AlertManager m(options());
  int notified = 0;
  m.on_alert([&](const Notification& n) { notified += static_cast<int>(n.alerts.size()); });
  m.add_rule(flag_rule("high_error_rate")
                 .labels({{"service", "api"}, {"env", "production"}})
                 .severity(Severity::kError)
                 .build());
  // The guides' silence(fingerprint, duration), before the alert exists: the rule's identity.
  const std::string id = m.silence("high_error_rate_service=api_env=production", 1h);
  cond = true;
  m.evaluate();
  EXPECT_EQ(notified, 0);
  EXPECT_TRUE(m.active_alerts()[0].silenced);
  clock.advance(59min);
  m.evaluate();
  EXPECT_EQ(notified, 0);
  clock.advance(1min);  // ends_at reached: expired
  m.evaluate();
  EXPECT_EQ(notified, 1);
  EXPECT_FALSE(m.active_alerts()[0].silenced);
  // By hex fingerprint of an active alert too; a pending silence does not mute yet.
  const std::string hex = m.active_alerts()[0].fingerprint_hex();
  EXPECT_NO_THROW(m.silence(hex, 10min));
  Silence later;
  later.matchers = {{"alertname", MatchType::kEqual, "high_error_rate"}};
  later.starts_at = clock.now() + 1h;
  later.ends_at = clock.now() + 2h;
  m.add_silence(later);
  size_t pending = 0;
  for (const Silence& s : m.silences()) {
    pending += s.state(clock.now()) == SilenceState::kPending ? 1 : 0;
  }
  EXPECT_EQ(pending, 1u);
  EXPECT_THROW(m.silence("no_such_alert", 1h), Error);
}

TEST_F(Fixture, BadSilencesAreRefused) {
  AlertManager m(options());
  Silence s;
  s.ends_at = t0 + 1h;
  EXPECT_THROW(m.add_silence(s), Error);  // no matcher
  s.matchers = {{"env", MatchType::kRegexMatch, "(unclosed"}};
  EXPECT_THROW(m.add_silence(s), Error);
  s.matchers = {{"env", MatchType::kRegexMatch, ".*"}};  // matches everything incl. ""
  EXPECT_THROW(m.add_silence(s), Error);
  s.matchers = {{"bad-name", MatchType::kEqual, "x"}};
  EXPECT_THROW(m.add_silence(s), Error);
  s.matchers = {{"env", MatchType::kEqual, "x"}};
  s.ends_at = t0 - 1s;
  EXPECT_THROW(m.add_silence(s), Error);
  EXPECT_TRUE(m.silences().empty());
}

TEST_F(Fixture, ThrowingConditionIsCaughtAndOthersRun) {
  auto o = options();
  metrics::Registry self;
  o.self_metrics = &self;
  AlertManager m(o);
  std::atomic<bool> fail{false};
  m.add_rule(AlertRule::builder()
                 .name("thrower")
                 .group("g1")
                 .condition([&]() -> bool {
                   if (fail) throw std::runtime_error("sensor offline");
                   return true;
                 })
                 .build());
  m.add_rule(flag_rule("fine").group("g1").build());
  cond = true;
  m.evaluate();
  EXPECT_EQ(m.active_alerts().size(), 2u);
  fail = true;
  clock.advance(15s);
  auto ts = m.evaluate();
  EXPECT_TRUE(ts.empty());
  // Failing rule keeps its alert as it was (Prometheus keeps state on errors).
  EXPECT_EQ(m.active_alerts().size(), 2u);
  auto s = m.rule_status("thrower");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_EQ(s->last_error, "condition threw: sensor offline");
  EXPECT_EQ(s->failures, 1u);
  EXPECT_EQ(m.rule_status("fine")->health, RuleHealth::kOk);
  const std::string text = metrics::serialize(self, metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("vigil_alerting_rule_evaluations_total{group=\"g1\"} 4"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vigil_alerting_rule_evaluation_failures_total{group=\"g1\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("vigil_alerting_alerts{state=\"firing\"} 2"), std::string::npos);
  EXPECT_NE(text.find("vigil_alerting_rule_group_last_duration_seconds{group=\"g1\"}"),
            std::string::npos);
  EXPECT_NE(text.find("vigil_alerting_silences{state=\"active\"} 0"), std::string::npos);
}

TEST_F(Fixture, HangingConditionTimesOutWithoutDelayingOthers) {
  auto o = options();
  o.condition_timeout = 10s;
  o.condition_threads = 1;  // the hung rule holds the only lane: others still run
  std::latch release(1);    // outlives the manager, whose destructor joins the released thread
  AlertManager m(o);
  std::atomic<int> hung_calls{0};
  m.add_rule(AlertRule::builder()
                 .name("hangs")
                 .timeout(100ms)
                 .condition([&] {
                   ++hung_calls;
                   release.wait();
                   return true;
                 })
                 .build());
  for (int i = 0; i < 3; ++i) m.add_rule(flag_rule("ok" + std::to_string(i)).build());
  cond = true;
  const auto start = std::chrono::steady_clock::now();
  m.evaluate();
  const auto took = std::chrono::steady_clock::now() - start;
  // The hung rule's 100 ms, not the others' 10 s timeout: they ran on a replacement lane.
  EXPECT_LT(took, 5s);
  EXPECT_GE(took, 100ms);
  auto s = m.rule_status("hangs");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_EQ(s->last_error, "condition timed out after 100ms");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(m.rule_status("ok" + std::to_string(i))->health, RuleHealth::kOk);
  }
  EXPECT_EQ(m.active_alerts().size(), 3u);
  // Still hung at the next round: not started again, no time spent waiting for it.
  clock.advance(15s);
  const auto start2 = std::chrono::steady_clock::now();
  m.evaluate();
  EXPECT_LT(std::chrono::steady_clock::now() - start2, 10s);
  EXPECT_EQ(hung_calls.load(), 1);
  EXPECT_EQ(m.rule_status("hangs")->last_error,
            "condition still running since an earlier evaluation (timed out)");
  EXPECT_EQ(m.rule_status("hangs")->failures, 2u);
  release.count_down();
}

TEST_F(Fixture, CallbacksGetExternalLabelsAndMayThrow) {
  auto o = options();
  o.external_labels = {{"cluster", "eu1"}, {"env", "ignored"}};
  AlertManager m(o);
  std::vector<Notification> got;
  m.on_alert([](const Notification&) { throw std::runtime_error("notifier down"); });
  const int id = m.on_alert([&](const Notification& n) { got.push_back(n); });
  m.add_rule(flag_rule("x").labels({{"env", "prod"}}).notification_channels({"pager"}).build());
  cond = true;
  m.evaluate();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rule, "x");
  EXPECT_EQ(got[0].group, "default");
  EXPECT_EQ(got[0].channels, std::vector<std::string>{"pager"});
  EXPECT_EQ(got[0].time, t0);
  EXPECT_EQ(got[0].alerts[0].labels,
            (LabelList{{"alertname", "x"}, {"cluster", "eu1"}, {"env", "prod"}}));
  // The alert's own identity has no external labels; the notified fingerprint is that of the
  // labels sent (as Alertmanager would compute it).
  EXPECT_EQ(m.active_alerts()[0].labels, (LabelList{{"alertname", "x"}, {"env", "prod"}}));
  EXPECT_EQ(got[0].alerts[0].fingerprint, label_fingerprint(got[0].alerts[0].labels));
  EXPECT_NE(got[0].alerts[0].fingerprint, m.active_alerts()[0].fingerprint);
  EXPECT_TRUE(m.remove_callback(id));
  EXPECT_FALSE(m.remove_callback(id));
}

TEST_F(Fixture, RemoveRuleEndsItsAlerts) {
  AlertManager m(options());
  m.add_rule(flag_rule("gone").build());
  cond = true;
  m.evaluate();
  EXPECT_THROW(m.add_rule(flag_rule("gone").build()), Error);
  EXPECT_TRUE(m.remove_rule("gone"));
  EXPECT_FALSE(m.remove_rule("gone"));
  EXPECT_TRUE(m.active_alerts().empty());
  ASSERT_EQ(m.history().size(), 1u);
  EXPECT_TRUE(m.history()[0].fired);
  EXPECT_TRUE(m.rules().empty());
}

TEST_F(Fixture, BuilderErrors) {
  EXPECT_THROW(AlertRule::builder().condition([] { return true; }).build(), Error);
  EXPECT_THROW(AlertRule::builder().name("x").build(), Error);
  EXPECT_THROW(AlertRule::builder().name("bad name").condition([] { return true; }).build(), Error);
  EXPECT_THROW(
      AlertRule::builder().name("x").label("__x", "1").condition([] { return true; }).build(),
      Error);
  EXPECT_THROW(AlertRule::builder()
                   .name("x")
                   .severity(Severity::kInfo)
                   .label("severity", "critical")
                   .condition([] { return true; })
                   .build(),
               Error);
  EXPECT_THROW(
      AlertRule::builder().name("x").for_duration(-1s).condition([] { return true; }).build(),
      Error);
  auto r = AlertRule::builder()
               .name("ok")
               .condition([] { return true; })
               .cooldown(5min)
               .notification_channels({"a"})
               .build();
  EXPECT_EQ(r.name(), "ok");
  EXPECT_EQ(r.cooldown(), 5min);
  EXPECT_FALSE(r.is_promql());
  AlertManagerOptions o;
  o.evaluation_interval = 50ms;
  EXPECT_THROW(AlertManager{o}, Error);
}

TEST_F(Fixture, TemplatesInAnnotations) {
  AlertManager m(options());
  m.add_rule(AlertRule::builder()
                 .name("t")
                 .labels({{"service", "api"}})
                 .description("{alertname}: {value}% on {labels.service} {unknown}")
                 .annotation("summary", "{value:.2f} / {service}")
                 .condition([]() -> std::optional<double> { return 12.5; })
                 .build());
  m.evaluate();
  auto a = m.active_alerts();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].annotations,
            (LabelList{{"description", "t: 12.5% on api {unknown}"}, {"summary", "12.50 / api"}}));
}

struct RecordingSink : StateSink {
  std::vector<std::string> events;
  void alert_changed(const Alert& a) override {
    events.push_back("alert " + a.name + " " + std::string(to_string(a.state)));
  }
  void alert_removed(const std::string& rule, uint64_t) override {
    events.push_back("removed " + rule);
  }
  void silence_changed(const Silence& s) override { events.push_back("silence " + s.comment); }
  void silence_deleted(const std::string&) override { events.push_back("silence deleted"); }
  void history_added(const HistoryEntry& e) override { events.push_back("history " + e.name); }
};

TEST_F(Fixture, StateSinkSeesEveryChange) {
  RecordingSink sink;
  auto o = options();
  o.state_sink = &sink;
  AlertManager m(o);
  m.add_rule(flag_rule("s").for_duration(30s).build());
  cond = true;
  m.evaluate();
  clock.advance(15s);
  m.evaluate();  // value-only: no event
  clock.advance(15s);
  m.evaluate();  // firing (and sent)
  cond = false;
  clock.advance(15s);
  m.evaluate();  // resolved
  Silence s;
  s.matchers = {{"alertname", MatchType::kEqual, "s"}};
  s.ends_at = clock.now() + 1h;
  s.comment = "c";
  const std::string id = m.add_silence(s);
  m.delete_silence(id);
  EXPECT_EQ(sink.events,
            (std::vector<std::string>{"alert s pending", "alert s firing", "history s",
                                      "alert s resolved", "silence c", "silence deleted"}));
}

TEST_F(Fixture, RestoredAlertKeepsItsStartTime) {
  AlertManager m(options());
  m.add_rule(flag_rule("restored").for_duration(10min).build());
  Alert old;
  old.name = "restored";
  old.labels = {{"alertname", "restored"}};
  old.fingerprint = label_fingerprint(old.labels);
  old.state = AlertState::kPending;
  old.active_at = t0 - 9min;
  RestoredState st;
  st.alerts.push_back(old);
  m.restore(st);
  cond = true;
  auto ts = m.evaluate();
  ASSERT_EQ(m.active_alerts().size(), 1u);
  EXPECT_EQ(m.active_alerts()[0].active_at, t0 - 9min);
  EXPECT_EQ(m.active_alerts()[0].state, AlertState::kPending);
  clock.advance(1min);
  ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kFiring);  // 10 min after the original active_at
}

TEST(AlertManagerThread, EvaluatesOnItsOwnThreadUntilStopped) {
  AlertManagerOptions o;
  o.evaluation_interval = 100ms;
  AlertManager m(o);
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  m.add_rule(AlertRule::builder()
                 .name("ticks")
                 .condition([&] {
                   std::lock_guard lock(mu);
                   ++calls;
                   cv.notify_all();
                   return true;
                 })
                 .build());
  EXPECT_FALSE(m.running());
  m.start();
  m.start();  // idempotent
  EXPECT_TRUE(m.running());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return calls >= 3; }));
  }
  m.stop();
  EXPECT_FALSE(m.running());
  int after;
  {
    std::lock_guard lock(mu);
    after = calls;
  }
  // Stopped: evaluate() still works on demand.
  m.evaluate();
  std::lock_guard lock(mu);
  EXPECT_EQ(calls, after + 1);
  EXPECT_EQ(m.active_alerts().size(), 1u);
}

}  // namespace
}  // namespace vigil::alerting

namespace vigil::alerting {
namespace {

TEST(AlertManagerThread, GroupsRunAtTheirOwnInterval) {
  std::atomic<int64_t> ms{1'700'000'000'000};
  AlertManagerOptions o;
  o.evaluation_interval = 100ms;
  o.clock = [&] { return TimePoint(std::chrono::milliseconds(ms.load())); };
  AlertManager m(o);
  std::mutex mu;
  std::condition_variable cv;
  int fast = 0, slow = 0;
  auto counting = [&](int& n) {
    return [&mu, &cv, &n] {
      std::lock_guard lock(mu);
      ++n;
      cv.notify_all();
      return false;
    };
  };
  m.add_rule(AlertRule::builder().name("fast").condition(counting(fast)).build());
  RuleGroup g;
  g.name = "slow";
  g.interval = std::chrono::minutes(1);
  g.rules.push_back(AlertRule::builder().name("slow").condition(counting(slow)).build());
  m.add_group(g);
  EXPECT_THROW(m.add_group(RuleGroup{"bad", 10ms, 0, {}, {}}), Error);
  m.start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return fast >= 4; }));
    EXPECT_EQ(slow, 1);  // the injected clock has not moved: not due again
  }
  ms += 60'000;
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return slow >= 2; }));
  }
  m.stop();
  EXPECT_EQ(m.rule_status("slow")->group, "slow");
}

}  // namespace
}  // namespace vigil::alerting
