// Regression tests of the robustness review: time arithmetic near the int64 limits, label
// values that grow without bound, durations beyond Prometheus' 292 years, printf widths, and
// callbacks that call back into the manager. Each covers a defect found by reading the code
// (a crash, signed overflow, unbounded allocation, deadlock or a verdict unlike Prometheus').
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <latch>
#include <limits>
#include <string>

#include "alerting/promql/ast.h"
#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"
#include "alerting/template.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
namespace pq = promql;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

pq::EvalResult eval_at(const pq::Storage& s, std::string_view expr, int64_t t) {
  auto e = pq::parse(expr);
  EXPECT_TRUE(e.has_value()) << expr << ": " << e.error;
  return pq::evaluate(**e, s, t);
}

// Offsets and ranges of 292 years at evaluation times near the int64 limits: the windows are
// cut at the limits instead of overflowing (signed overflow, reported by UBSan).
TEST(EvalRobustnessTest, TimesNearInt64LimitsSaturate) {
  pq::MemoryStorage s;
  s.append({{"__name__", "x"}}, kMin, 3);
  s.append({{"__name__", "x"}}, kMax - 5, 7);

  auto r = eval_at(s, "x offset -292y", kMax - 10);  // window [max - 5m, max]
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.vector.size(), 1u);
  EXPECT_EQ(r.vector[0].v, 7);

  r = eval_at(s, "x offset 292y", kMin + 1000);  // window [min, min]
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.vector.size(), 1u);
  EXPECT_EQ(r.vector[0].v, 3);

  r = eval_at(s, "x", kMin);  // the lookback start is cut at min
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.vector.size(), 1u);
  EXPECT_EQ(r.vector[0].v, 3);

  r = eval_at(s, "count_over_time(x[292y] offset -292y)", kMax);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.vector.size(), 1u);
  EXPECT_EQ(r.vector[0].v, 1);

  r = eval_at(s, "rate(x[292y] offset 292y)", kMin + 1000);  // one sample: no rate
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.vector.empty());
}

// Nested label_replace("$1$1") doubles a value per level: 20 levels of an 8-byte value would be
// 8 MiB per series (and 30 levels 8 GiB). Values are capped at 64 KiB.
std::string nest(int levels, std::string_view inner, std::string_view open,
                 std::string_view close) {
  std::string e(inner);
  for (int i = 0; i < levels; ++i) e = std::string(open) + e + std::string(close);
  return e;
}

TEST(EvalRobustnessTest, LabelReplaceAndJoinCannotGrowWithoutBound) {
  pq::MemoryStorage s;
  s.append({{"__name__", "x"}, {"a", "abcdefgh"}}, 0, 1);

  const std::string replace_open = "label_replace(",
                    replace_close = ", \"a\", \"$1$1\", \"a\", \"(.*)\")";
  auto r = eval_at(s, nest(12, "x", replace_open, replace_close), 0);  // 8 * 2^12 = 32 KiB
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.vector.size(), 1u);
  EXPECT_EQ(pq::label_value(r.vector[0].labels, "a").size(), 32768u);

  r = eval_at(s, nest(30, "x", replace_open, replace_close), 0);
  EXPECT_EQ(r.error, "label_replace(): label value longer than 65536 bytes");

  const std::string join_open = "label_join(",
                    join_close = ", \"a\", \"\", \"a\", \"a\", \"a\", \"a\")";
  r = eval_at(s, nest(6, "x", join_open, join_close), 0);  // 8 * 4^6 = 32 KiB
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(pq::label_value(r.vector[0].labels, "a").size(), 32768u);
  r = eval_at(s, nest(20, "x", join_open, join_close), 0);
  EXPECT_EQ(r.error, "label_join(): label value longer than 65536 bytes");
}

// `for: 300y` is beyond int64 nanoseconds: Prometheus refuses it ("duration out of range"); vigil
// accepted it and the manager's nanosecond comparison overflowed (the alert fired at once).
TEST(RuleFileRobustnessTest, DurationsBeyond292YearsAreRefused) {
  const auto file = [](std::string_view field, std::string_view d) {
    return "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    " +
           std::string(field) + ": " + std::string(d) + "\n";
  };
  auto r = parse_rule_file(file("for", "300y"), "t.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.yml:6: group \"g\", rule \"A\": for: duration out of range");
  r = parse_rule_file(file("keep_firing_for", "293y"), "t.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "t.yml:6: group \"g\", rule \"A\": keep_firing_for: duration out of range");
  r = parse_rule_file(file("for", "292y"), "t.yml");
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  r = parse_rule_file(
      "groups:\n- name: g\n  interval: 106752d\n  rules:\n  - alert: A\n    expr: up\n", "t.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "t.yml:3: group \"g\": interval: duration out of range");
}

// printf's `*` width of the minimum int64 was negated (signed overflow); Go prints BADWIDTH for
// widths beyond 1e6 and BADPREC for a negative precision (outputs of promtool 2.42).
TEST(TemplateRobustnessTest, StarWidthAndPrecisionOutOfRange) {
  const auto run = [](std::string_view text) {
    auto t = tmpl::Template::parse(text, "t");
    EXPECT_TRUE(t.has_value()) << t.error;
    auto out = t->execute(vigil::alerting::tmpl::TemplateData{});
    EXPECT_TRUE(out.has_value()) << out.error;
    return *out;
  };
  EXPECT_EQ(run(R"({{ printf "%*d|" -9223372036854775808 1 }})"), "%!(BADWIDTH)1|");
  EXPECT_EQ(run(R"({{ printf "%*d|" 2000000 1 }})"), "%!(BADWIDTH)1|");
  EXPECT_EQ(run(R"({{ printf "%.*d|" -3 1 }})"), "%!(BADPREC)1|");
  EXPECT_EQ(run(R"({{ printf "%*d|" -3 1 }})"), "1  |");
}

struct FakeClock {
  int64_t ms = 1'700'000'000'000;
  std::function<TimePoint()> fn() {
    return [this] { return TimePoint(std::chrono::milliseconds(ms)); };
  }
};

TEST(ManagerRobustnessTest, HugeDurationsAreRefusedOrSafe) {
  EXPECT_THROW(AlertRule::builder()
                   .name("a")
                   .condition([] { return true; })
                   .for_duration(std::chrono::milliseconds::max())
                   .build(),
               Error);
  EXPECT_THROW(AlertRule::builder()
                   .name("a")
                   .condition([] { return true; })
                   .cooldown(std::chrono::hours(24 * 365 * 293))
                   .build(),
               Error);
  AlertManagerOptions o;
  o.resend_delay = std::chrono::milliseconds::max();
  EXPECT_THROW(AlertManager{o}, Error);

  FakeClock clock;
  AlertManagerOptions ok;
  ok.clock = clock.fn();
  AlertManager m(ok);
  RuleGroup g;
  g.name = "g";
  g.interval = std::chrono::milliseconds::max();
  EXPECT_THROW(m.add_group(g), Error);

  // 292 years: the alert stays pending (it fired at once when the duration overflowed), and
  // a timeout of 292 years does not overflow the condition's steady-clock deadline.
  g.interval = std::chrono::hours(24 * 365 * 292);
  g.rules.push_back(AlertRule::builder()
                        .name("long")
                        .condition([] { return true; })
                        .for_duration(std::chrono::hours(24 * 365 * 292))
                        .timeout(std::chrono::hours(24 * 365 * 292))
                        .build());
  m.add_group(g);
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kPending);
  clock.ms += 3600'000;
  EXPECT_TRUE(m.evaluate().empty());
  ASSERT_EQ(m.active_alerts().size(), 1u);
  EXPECT_EQ(m.active_alerts()[0].state, AlertState::kPending);
}

TEST(ManagerRobustnessTest, SilenceBefore1970IsRefused) {
  AlertManager m;
  Silence s;
  s.matchers.push_back({"job", MatchType::kEqual, "api"});
  s.starts_at = TimePoint::min();
  s.ends_at = TimePoint::min() + 1h;
  EXPECT_THROW(m.add_silence(s), Error);
}

TEST(ManagerRobustnessTest, NonStandardExceptionFromConditionIsAnError) {
  FakeClock clock;
  AlertManagerOptions o;
  o.clock = clock.fn();
  AlertManager m(o);
  m.add_rule(AlertRule::builder().name("t").condition([]() -> bool { throw 42; }).build());
  EXPECT_TRUE(m.evaluate().empty());
  auto st = m.rule_status("t");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->health, RuleHealth::kError);
  EXPECT_EQ(st->last_error, "condition threw a non-standard exception");
}

// evaluate() from a callback waited forever for the round's own lock.
TEST(ManagerRobustnessTest, EvaluateFromCallbackThrowsInsteadOfDeadlocking) {
  FakeClock clock;
  AlertManagerOptions o;
  o.clock = clock.fn();
  AlertManager m(o);
  m.add_rule(AlertRule::builder().name("t").condition([] { return true; }).build());
  std::string error;
  m.on_alert([&](const Notification&) {
    try {
      m.evaluate();
    } catch (const Error& e) {
      error = e.what();
    }
  });
  ASSERT_EQ(m.evaluate().size(), 1u);
  EXPECT_EQ(error, "alert manager: evaluate() called from an alert callback");
  clock.ms += 15'000;
  EXPECT_TRUE(m.evaluate().empty());  // the manager still works
}

// stop() from a callback on the evaluation thread joined itself (std::system_error, caught)
// and then destroyed a joinable std::thread: std::terminate.
TEST(ManagerRobustnessTest, StopFromCallbackOnTheEvaluationThread) {
  AlertManagerOptions o;
  o.evaluation_interval = 100ms;
  AlertManager m(o);
  m.add_rule(AlertRule::builder().name("t").condition([] { return true; }).build());
  std::latch stopped(1);
  bool once = false;
  const int id = m.on_alert([&](const Notification&) {
    if (once) return;
    once = true;
    m.stop();
    stopped.count_down();
  });
  m.start();
  stopped.wait();
  EXPECT_FALSE(m.running());
  m.remove_callback(id);
  m.start();  // joins the thread stopped from its callback, starts a new one
  EXPECT_TRUE(m.running());
  m.stop();
  EXPECT_FALSE(m.running());
}

}  // namespace
}  // namespace vigil::alerting
