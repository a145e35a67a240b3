// GuardrailMonitor: the guide's example, limits, cooldown and hysteresis, pause/resume, actions
// (throwing, hanging), the alert rule, metrics and bad configuration. Time is an injected clock;
// the only real waits are for actions running on their threads (bounded).
#include "vigil/guardrail/monitor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "guide_snapshots.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {
namespace {

using namespace std::chrono_literals;

// A settable clock shared with the monitor.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ns =
      std::make_shared<std::atomic<int64_t>>(int64_t{1'800'000'000} * 1'000'000'000);
  std::function<TimePoint()> fn() const {
    auto p = ns;
    return [p] { return TimePoint(std::chrono::nanoseconds(p->load())); };
  }
  void advance(std::chrono::nanoseconds d) { ns->fetch_add(d.count()); }
  TimePoint now() const { return TimePoint(std::chrono::nanoseconds(ns->load())); }
};

const PerformanceSnapshot& kBaseline = testing::kGuideBaseline;
const PerformanceSnapshot& kBad = testing::kGuideBad;
const PerformanceSnapshot& kGood = testing::kGuideGood;

MonitorOptions options_with(metrics::Registry& reg, const FakeClock& clock,
                            std::string name = "test") {
  MonitorOptions o;
  o.name = std::move(name);
  o.metrics_registry = &reg;
  o.clock = clock.fn();
  o.cooldown = 0ms;
  o.passes_to_rearm = 0;
  return o;
}

TEST(GuardrailMonitor, GuideExample) {
  GuardrailMonitor monitor(-0.08, 0.30, 0.15);
  monitor.set_baseline(
      {.success_rate = 0.95, .p50_latency = 700, .p95_latency = 1500, .error_rate = 0.02});
  auto trigger = monitor.check(
      {.success_rate = 0.85, .p50_latency = 720, .p95_latency = 1600, .error_rate = 0.03});
  ASSERT_TRUE(trigger.has_value());
  EXPECT_EQ(trigger->metric_name, "success_rate");
  EXPECT_DOUBLE_EQ(trigger->threshold_value, -0.08);
  EXPECT_DOUBLE_EQ(trigger->baseline_value, 0.95);
  EXPECT_DOUBLE_EQ(trigger->observed_value, 0.85);
  EXPECT_NE(trigger->reason.find("success_rate"), std::string::npos) << trigger->reason;
  EXPECT_EQ(trigger->monitor, "default");
  const MonitorStatus st = monitor.status();
  EXPECT_EQ(st.state, State::kTriggered);
  EXPECT_EQ(st.triggers, 1u);
  ASSERT_TRUE(st.last_decision.has_value());
  EXPECT_EQ(st.last_decision->result, Result::kFail);
  EXPECT_EQ(st.last_decision->mode, "manual");
  EXPECT_EQ(st.last_decision->metric, "success_rate");
  EXPECT_TRUE(st.last_decision->triggered);
  // Every threshold is a condition with its figures.
  ASSERT_EQ(st.last_decision->conditions.size(), 3u);
  EXPECT_EQ(st.last_decision->conditions[0].result, Result::kFail);
  EXPECT_EQ(st.last_decision->conditions[1].metric, "p95_latency");
  EXPECT_EQ(st.last_decision->conditions[1].result, Result::kPass);
  EXPECT_NEAR(st.last_decision->conditions[1].statistic, 100.0 / 1500, 1e-12);
  EXPECT_EQ(st.last_decision->conditions[2].result, Result::kPass);
  // A healthy snapshot: nothing crossed.
  EXPECT_FALSE(monitor.check(kGood).has_value());
}

TEST(GuardrailMonitor, NoBaselineNoTrigger) {
  metrics::Registry reg;
  FakeClock clock;
  GuardrailMonitor m(options_with(reg, clock));
  EXPECT_EQ(m.status().state, State::kNoBaseline);
  EXPECT_FALSE(m.check(kBad).has_value());
  auto ds = m.decisions();
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].result, Result::kInconclusive);
  EXPECT_NE(ds[0].reason.find("no baseline"), std::string::npos);
  EXPECT_EQ(m.status().state, State::kNoBaseline);
}

TEST(GuardrailMonitor, FailureLimitNeedsFailuresInARow) {
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock);
  o.failure_limit = 2;  // the third failure in a row triggers
  GuardrailMonitor m(o);
  m.set_baseline(kBaseline);
  EXPECT_TRUE(m.check(kBad).has_value());  // crossed, but not yet beyond the limit
  EXPECT_TRUE(m.check(kBad).has_value());
  EXPECT_EQ(m.status().triggers, 0u);
  EXPECT_EQ(m.status().consecutive_failures, 2);
  EXPECT_FALSE(m.check(kGood).has_value());  // a pass breaks the run
  EXPECT_EQ(m.status().consecutive_failures, 0);
  m.check(kBad);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 0u);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 1u);
  EXPECT_EQ(m.status().state, State::kTriggered);
  auto ds = m.decisions({.limit = 1});
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_TRUE(ds[0].triggered);
}

TEST(GuardrailMonitor, CooldownAndPassesToRearm) {
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock);
  o.cooldown = 60s;
  o.passes_to_rearm = 2;
  GuardrailMonitor m(o);
  m.set_baseline(kBaseline);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 1u);
  EXPECT_EQ(m.status().rearm_not_before, clock.now() + 60s);
  // Within the cooldown: failures do not trigger again, passes do not rearm.
  clock.advance(10s);
  m.check(kBad);
  m.check(kGood);
  m.check(kGood);
  m.check(kGood);
  EXPECT_EQ(m.status().state, State::kTriggered);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 1u);
  // After the cooldown: still needs 2 passes in a row (hysteresis).
  clock.advance(60s);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 1u);
  m.check(kGood);
  EXPECT_EQ(m.status().state, State::kTriggered);
  m.check(kGood);
  EXPECT_EQ(m.status().state, State::kWatching);
  m.check(kBad);
  EXPECT_EQ(m.status().triggers, 2u);
  EXPECT_EQ(m.status().state, State::kTriggered);
}

TEST(GuardrailMonitor, InconclusiveBelowMinRequestsAndInconclusiveLimit) {
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock);
  o.min_requests = 100;
  o.inconclusive_limit = 2;
  GuardrailMonitor m(o);
  m.set_baseline(kBaseline);
  PerformanceSnapshot few = kBad;
  few.request_count = 3;  // no verdict on 3 requests
  EXPECT_FALSE(m.check(few).has_value());
  auto d = m.decisions({.limit = 1}).at(0);
  EXPECT_EQ(d.result, Result::kInconclusive);
  EXPECT_NE(d.reason.find("3 requests"), std::string::npos) << d.reason;
  m.check(few);
  EXPECT_EQ(m.status().state, State::kWatching);  // 2 in a row: at the limit
  m.check(few);
  EXPECT_EQ(m.status().state, State::kInconclusive);  // beyond it
  EXPECT_EQ(m.status().triggers, 0u);
  PerformanceSnapshot enough = kGood;
  enough.request_count = 500;
  m.check(enough);
  EXPECT_EQ(m.status().state, State::kWatching);
}

TEST(GuardrailMonitor, ConsecutiveErrorLimit) {
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock);
  o.consecutive_error_limit = 1;
  GuardrailMonitor m(o);  // no source: a live check is an error
  m.set_baseline(kBaseline);
  Decision d = m.check_now();
  EXPECT_EQ(d.result, Result::kError);
  EXPECT_NE(d.reason.find("no live source"), std::string::npos) << d.reason;
  EXPECT_EQ(m.status().state, State::kWatching);
  m.check_now();
  EXPECT_EQ(m.status().state, State::kError);
  EXPECT_EQ(m.status().consecutive_errors, 2);
  m.check(kGood);  // a pass clears it
  EXPECT_EQ(m.status().state, State::kWatching);
}

TEST(GuardrailMonitor, PauseAndResume) {
  metrics::Registry reg;
  FakeClock clock;
  GuardrailMonitor m(options_with(reg, clock));
  std::atomic<int> ran{0};
  m.on_trigger("count", [&](const RollbackTrigger&) { ++ran; });
  m.set_baseline(kBaseline);
  m.pause("alice");
  EXPECT_EQ(m.status().state, State::kPaused);
  EXPECT_FALSE(m.check(kBad).has_value());
  EXPECT_EQ(m.check_now().reason, "paused: check skipped");
  EXPECT_EQ(m.status().checks, 0u);
  EXPECT_EQ(m.status().triggers, 0u);
  EXPECT_DOUBLE_EQ(reg.counter("vigil_guardrail_checks_total", "Guardrail checks, by verdict.",
                               {"monitor", "result"})
                       .labels("test", "paused")
                       .value(),
                   2.0);
  m.resume("bob");
  EXPECT_EQ(m.status().state, State::kWatching);
  EXPECT_TRUE(m.check(kBad).has_value());
  EXPECT_TRUE(m.wait_for_actions(10s));
  EXPECT_EQ(ran.load(), 1);
  auto events = m.events();
  ASSERT_EQ(events.size(), 3u);  // newest first
  EXPECT_EQ(events[0].kind, "resume");
  EXPECT_NE(events[0].detail.find("bob"), std::string::npos);
  EXPECT_EQ(events[1].kind, "pause");
  EXPECT_NE(events[1].detail.find("alice"), std::string::npos);
  EXPECT_EQ(events[2].kind, "baseline");
  EXPECT_NE(events[2].detail.find("0.95"), std::string::npos);
}

TEST(GuardrailMonitor, ActionsGetTheTrigger) {
  metrics::Registry reg;
  FakeClock clock;
  GuardrailMonitor m(options_with(reg, clock, "release"));
  std::promise<RollbackTrigger> got;
  m.on_trigger("route-to-stable", [&](const RollbackTrigger& t) { got.set_value(t); });
  m.set_baseline(kBaseline);
  ASSERT_TRUE(m.check(kBad).has_value());
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  const RollbackTrigger t = fut.get();
  EXPECT_EQ(t.metric_name, "success_rate");
  EXPECT_EQ(t.monitor, "release");
  EXPECT_DOUBLE_EQ(t.threshold_value, -0.08);
  EXPECT_EQ(t.time, clock.now());
  ASSERT_TRUE(m.wait_for_actions(10s));
  auto d = m.decisions({.limit = 1}).at(0);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(d.actions[0].action, "route-to-stable");
  EXPECT_EQ(d.actions[0].outcome, "ok");
  EXPECT_DOUBLE_EQ(reg.counter("vigil_guardrail_triggers_total",
                               "Guardrail triggers (the rollback actions started).", {"monitor"})
                       .labels("release")
                       .value(),
                   1.0);
}

// One action throws, one hangs past action_timeout, one works: the others still run, both
// problems are counted and recorded, and the destructor returns in bounded time.
TEST(GuardrailMonitor, ThrowingAndHangingActionsAreIsolated) {
  metrics::Registry reg;
  FakeClock clock;
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  std::atomic<int> good{0};
  auto t0 = std::chrono::steady_clock::now();
  {
    MonitorOptions o = options_with(reg, clock, "iso");
    o.action_timeout = 100ms;
    GuardrailMonitor m(o);
    m.on_trigger("hang", [released](const RollbackTrigger&) { released.wait(); });
    m.on_trigger("throw", [](const RollbackTrigger&) { throw std::runtime_error("boom"); });
    m.on_trigger("good", [&good](const RollbackTrigger&) { ++good; });
    m.set_baseline(kBaseline);
    ASSERT_TRUE(m.check(kBad).has_value());
    // The hanging one keeps wait_for_actions false; the others finish.
    EXPECT_FALSE(m.wait_for_actions(300ms));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (m.status().action_timeouts == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    const MonitorStatus st = m.status();
    EXPECT_EQ(good.load(), 1);
    EXPECT_EQ(st.action_failures, 1u);
    EXPECT_EQ(st.action_timeouts, 1u);
    auto d = m.decisions({.limit = 1}).at(0);
    ASSERT_EQ(d.actions.size(), 3u);
    EXPECT_EQ(d.actions[0].outcome, "timeout");
    EXPECT_EQ(d.actions[1].outcome, "error: boom");
    EXPECT_EQ(d.actions[2].outcome, "ok");
    auto& failures = reg.counter("vigil_guardrail_action_failures_total",
                                 "Guardrail rollback actions that threw (reason error) or ran past "
                                 "action_timeout (reason timeout).",
                                 {"monitor", "action", "reason"});
    EXPECT_DOUBLE_EQ(failures.labels("iso", "throw", "error").value(), 1.0);
    EXPECT_DOUBLE_EQ(failures.labels("iso", "hang", "timeout").value(), 1.0);
    // Checks go on while the action hangs.
    m.check(kGood);
    EXPECT_EQ(m.status().checks, 2u);
    t0 = std::chrono::steady_clock::now();
  }  // the destructor: waits action_timeout for "hang", then detaches it
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  release->set_value();  // the detached worker finishes against live memory
}

TEST(GuardrailMonitor, AlertRuleFiresWhileTriggered) {
  metrics::Registry reg;
  FakeClock clock;
  alerting::AlertManager manager;
  {
    MonitorOptions o = options_with(reg, clock, "model-release");
    o.alerts = &manager;
    o.passes_to_rearm = 1;
    GuardrailMonitor m(o);
    m.set_baseline(kBaseline);
    manager.evaluate();
    EXPECT_TRUE(manager.active_alerts().empty());
    ASSERT_TRUE(m.check(kBad).has_value());
    manager.evaluate();
    auto alerts = manager.active_alerts();
    ASSERT_EQ(alerts.size(), 1u);
    const alerting::Alert& a = alerts[0];
    EXPECT_EQ(a.state, alerting::AlertState::kFiring);
    auto label = [&](const std::string& k) {
      for (const auto& [n, v] : a.labels) {
        if (n == k) return v;
      }
      return std::string();
    };
    auto annotation = [&](const std::string& k) {
      for (const auto& [n, v] : a.annotations) {
        if (n == k) return v;
      }
      return std::string();
    };
    EXPECT_EQ(label("alertname"), "GuardrailTriggered");
    EXPECT_EQ(label("guardrail"), "model-release");
    EXPECT_EQ(label("severity"), "critical");
    EXPECT_NE(annotation("reason").find("success_rate"), std::string::npos) << annotation("reason");
    m.check(kGood);  // rearmed: no longer triggered
    EXPECT_EQ(m.status().state, State::kWatching);
    manager.evaluate();
    EXPECT_TRUE(manager.active_alerts().empty());
  }
  for (const auto& r : manager.rules()) EXPECT_NE(r.name(), "GuardrailTriggered");
}

TEST(GuardrailMonitor, MetricsAndSharedRegistry) {
  metrics::Registry reg;
  FakeClock clock;
  auto& checks = reg.counter("vigil_guardrail_checks_total", "Guardrail checks, by verdict.",
                             {"monitor", "result"});
  auto& state = reg.gauge("vigil_guardrail_state", "1 for the guardrail monitor's current state.",
                          {"monitor", "state"});
  {
    GuardrailMonitor a(options_with(reg, clock, "a"));
    GuardrailMonitor b(options_with(reg, clock, "b"));
    GuardrailMonitor b2(options_with(reg, clock, "b"));  // same name: shares the series
    a.set_baseline(kBaseline);
    a.check(kGood);
    a.check(kBad);
    b.check(kGood);
    EXPECT_DOUBLE_EQ(checks.labels("a", "pass").value(), 1.0);
    EXPECT_DOUBLE_EQ(checks.labels("a", "fail").value(), 1.0);
    EXPECT_DOUBLE_EQ(checks.labels("b", "inconclusive").value(), 1.0);
    EXPECT_DOUBLE_EQ(state.labels("a", "triggered").value(), 1.0);
    EXPECT_DOUBLE_EQ(state.labels("a", "watching").value(), 0.0);
    EXPECT_DOUBLE_EQ(state.labels("b", "no_baseline").value(), 1.0);
  }
  // Gone with the monitors.
  EXPECT_EQ(checks.size(), 0u);
  EXPECT_EQ(state.size(), 0u);
}

TEST(GuardrailMonitor, BadConfigurationIsAClearError) {
  metrics::Registry reg;
  auto expect_error = [&](MonitorOptions o, const std::string& part) {
    o.metrics_registry = &reg;
    try {
      GuardrailMonitor m(std::move(o));
      ADD_FAILURE() << "no error; expected one mentioning " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error({.name = "bad name!"}, "[A-Za-z0-9_.:-]");
  expect_error({.name = ""}, "name");
  expect_error({.interval = 5ms}, "interval must be at least 10ms");
  expect_error({.interval = -1s}, "interval");
  expect_error({.window = -60s}, "window must be positive");
  expect_error({.window = 0ms}, "window must be positive");
  expect_error({.failure_limit = -1}, "failure_limit");
  expect_error({.cooldown = -1s}, "cooldown must not be negative");
  expect_error({.action_timeout = 0ms}, "action_timeout");
  expect_error({.memory_decisions = 0}, "memory_decisions");
  MonitorOptions wrong_sign;
  wrong_sign.thresholds = {Threshold{.metric = Metric::kSuccessRate,
                                     .change = Change::kAbsolute,
                                     .fires_when = Bound::kBelow,
                                     .limit = 0.05}};
  expect_error(wrong_sign, "threshold 0");
  MonitorOptions unknown;
  unknown.thresholds = {Threshold{.metric = static_cast<Metric>(42), .limit = 0.1}};
  expect_error(unknown, "unknown metric");
  MonitorOptions judge;
  judge.judge.success_alpha = 2;
  expect_error(judge, "judge");
  EXPECT_THROW(GuardrailMonitor(0.08, 0.30, 0.15), Error);  // a success drop must be negative

  GuardrailMonitor m({.name = "ok", .metrics_registry = &reg});
  EXPECT_THROW(m.set_baseline({.success_rate = 1.5}), Error);
  EXPECT_THROW(m.set_baseline({.success_rate = 0.9, .p95_latency = -1}), Error);
  EXPECT_THROW(m.set_baseline_window(TimePoint{} + 2h, TimePoint{} + 1h), Error);
  EXPECT_THROW(m.compare_cohorts("v1", "v2"), Error);  // no source
  EXPECT_THROW(m.on_trigger("x", nullptr), Error);
  m.on_trigger("x", [](const RollbackTrigger&) {});
  EXPECT_THROW(m.on_trigger("x", [](const RollbackTrigger&) {}), Error);
  m.on_trigger([](const RollbackTrigger&) {});  // "action-2"
}

TEST(GuardrailMonitor, MemoryRingAndQueries) {
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock);
  o.memory_decisions = 4;
  GuardrailMonitor m(o);
  m.set_baseline(kBaseline);
  std::vector<TimePoint> times;
  for (int i = 0; i < 6; ++i) {
    times.push_back(clock.now());
    m.check(i % 2 == 0 ? kGood : kBad);
    clock.advance(1s);
  }
  auto all = m.decisions();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].id, 6u);
  EXPECT_EQ(all[3].id, 3u);
  auto fails = m.decisions({.result = Result::kFail});
  ASSERT_EQ(fails.size(), 2u);
  EXPECT_EQ(fails[0].id, 6u);
  auto window = m.decisions({.since = times[3], .until = times[5]});
  ASSERT_EQ(window.size(), 2u);
  EXPECT_EQ(window[0].id, 5u);
  EXPECT_EQ(window[1].id, 4u);
  EXPECT_EQ(m.decisions({.limit = 1}).size(), 1u);
}

TEST(GuardrailMonitor, AuditTrailSurvivesARestart) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vigil_gr_monitor_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "vigil.db").string();
  std::filesystem::remove(path);
  metrics::Registry reg;
  FakeClock clock;
  MonitorOptions o = options_with(reg, clock, "persisted");
  o.audit_path = path;
  o.cooldown = 1h;
  TimePoint trigger_time;
  {
    GuardrailMonitor m(o);
    ASSERT_EQ(m.status().audit_error, "");
    m.on_trigger("rollback", [](const RollbackTrigger&) {});
    m.set_baseline(kBaseline);
    m.check(kGood);
    clock.advance(1s);
    trigger_time = clock.now();
    ASSERT_TRUE(m.check(kBad).has_value());
    ASSERT_TRUE(m.wait_for_actions(10s));
    m.pause("ops");
  }
  {
    GuardrailMonitor m(o);
    ASSERT_EQ(m.status().audit_error, "");
    auto ds = m.decisions();
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds[0].id, 2u);
    EXPECT_TRUE(ds[0].triggered);
    EXPECT_EQ(ds[0].result, Result::kFail);
    EXPECT_EQ(ds[0].metric, "success_rate");
    EXPECT_EQ(ds[0].time, trigger_time);
    ASSERT_EQ(ds[0].actions.size(), 1u);
    EXPECT_EQ(ds[0].actions[0].action, "rollback");
    EXPECT_EQ(ds[0].actions[0].outcome, "ok");
    EXPECT_EQ(ds[1].id, 1u);
    EXPECT_EQ(ds[1].result, Result::kPass);
    auto es = m.events();
    ASSERT_EQ(es.size(), 2u);
    EXPECT_EQ(es[0].kind, "pause");
    EXPECT_EQ(es[1].kind, "baseline");
    // The cooldown is restored from the last trigger: no new trigger within the hour.
    EXPECT_EQ(m.status().last_trigger, trigger_time);
    EXPECT_EQ(m.status().rearm_not_before, trigger_time + 1h);
    m.set_baseline(kBaseline);
    clock.advance(10min);
    EXPECT_TRUE(m.check(kBad).has_value());
    EXPECT_EQ(m.status().triggers, 0u);
    EXPECT_EQ(m.decisions({.limit = 1}).at(0).id, 3u);  // ids go on
  }
  // A file that is not a database: the monitor works without it and says why.
  const std::string junk = (dir / "junk.db").string();
  {
    std::ofstream f(junk);
    f << "this is not a database, not at all, it is plain text of some length";
  }
  o.audit_path = junk;
  {
    GuardrailMonitor m(o);
    EXPECT_NE(m.status().audit_error, "");
    m.set_baseline(kBaseline);
    EXPECT_TRUE(m.check(kBad).has_value());
    EXPECT_EQ(m.decisions().size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::guardrail
