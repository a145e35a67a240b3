// The rule engine under concurrency (run under ThreadSanitizer by scripts/test.sh): the
// evaluation thread and on-demand evaluations against recording threads and API calls
// (rules added and removed, silences, listings, callbacks).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "vigil/alerting/manager.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;

TEST(AlertingConcurrency, EvaluationRecordingAndApiCalls) {
  metrics::Registry registry;
  metrics::Registry self;
  auto& errors = registry.counter("errors_total", "Errors.", {"service"});
  auto& depth = registry.gauge("queue_depth", "Jobs waiting.");
  AlertManagerOptions o;
  o.evaluation_interval = 100ms;
  o.registry = &registry;
  o.self_metrics = &self;
  o.condition_threads = 2;
  AlertManager m(o);
  std::atomic<int> notified{0};
  m.on_alert([&](const Notification& n) {
    notified += static_cast<int>(n.alerts.size());
    (void)m.active_alerts();  // callbacks may call the manager
  });
  auto api = errors.labels("api");
  auto gauge = depth.get();
  m.add_rule(AlertRule::builder()
                 .name("errors")
                 .condition([api]() -> std::optional<double> {
                   const double v = api.value();
                   if (v <= 100) return std::nullopt;
                   return v;
                 })
                 .build());
  m.add_rule(AlertRule::builder()
                 .name("queue")
                 .condition([gauge] {
                   std::vector<SeriesValue> out;
                   const double v = gauge.value();
                   out.push_back({{{"shard", "a"}}, v});
                   if (v > 10) out.push_back({{{"shard", "b"}}, v});
                   return out;
                 })
                 .for_duration(1ms)
                 .keep_firing_for(1ms)
                 .build());
  // A PromQL rule: the registry is sampled while the recorders write.
  m.add_rule(AlertRule::builder()
                 .name("ErrorRate")
                 .expr("sum by (service) (rate(errors_total[1m])) > 0")
                 .build());
  m.start();

  std::atomic<bool> done{false};
  std::vector<std::thread> recorders;
  for (int t = 0; t < 3; ++t) {
    recorders.emplace_back([&, t] {
      auto c = errors.labels(t == 0 ? "api" : "db");
      auto g = depth.get();
      int i = 0;
      while (!done.load(std::memory_order_relaxed)) {
        c.inc();
        g.set(static_cast<double>(i++ % 20));
      }
    });
  }
  std::thread api_thread([&] {
    for (int i = 0; i < 200; ++i) {
      const std::string name = "dyn" + std::to_string(i % 4);
      m.remove_rule(name);
      m.add_rule(AlertRule::builder().name(name).condition([i] { return i % 2 == 0; }).build());
      Silence s;
      s.matchers = {{"shard", MatchType::kRegexMatch, "a|b"}};
      s.ends_at = std::chrono::system_clock::now() + 1h;
      const std::string id = m.add_silence(s);
      (void)m.active_alerts(Severity::kWarning);
      (void)m.history(10);
      (void)m.rule_status();
      (void)m.silences();
      if (i % 2 == 0) {
        m.expire_silence(id);
      } else {
        m.delete_silence(id);
      }
    }
  });
  for (int i = 0; i < 100; ++i) m.evaluate();
  api_thread.join();
  done = true;
  for (auto& t : recorders) t.join();
  m.stop();
  m.evaluate();
  EXPECT_FALSE(m.running());
  auto status = m.rule_status("errors");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->health, RuleHealth::kOk);
  EXPECT_GE(status->evaluations, 101u);
  auto promql = m.rule_status("ErrorRate");
  ASSERT_TRUE(promql);
  EXPECT_EQ(promql->health, RuleHealth::kOk) << promql->last_error;
}

}  // namespace
}  // namespace vigil::alerting
