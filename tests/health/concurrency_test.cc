// Many threads evaluating while checks change state, are added and removed (run under TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "test_util.h"
#include "vigil/health/monitor.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::health {
namespace {

using namespace testing;

TEST(HealthConcurrency, EvaluationsWhileChecksChangeState) {
  metrics::Registry registry;
  std::atomic<int> state{0};  // 0 pass, 1 warn, 2 fail
  HealthMonitor m({.self_metrics = &registry});
  auto flaky = [&] { return CheckResult{static_cast<Status>(state.load()), "state", {}, {}}; };
  m.add_check("a", flaky, {.groups = {"readiness", "liveness"}});
  m.add_check("b", flaky, {.cache_ttl = 2ms});
  m.add_check("c", flaky, {.interval = 3ms});
  m.add_check("d", flaky,
              {.groups = {"readiness"}, .failure_threshold = 2, .success_threshold = 2});
  m.add_check("slow",
              [] {
                std::this_thread::sleep_for(std::chrono::milliseconds(3));
                return true;
              },
              {.groups = {"readiness", "startup"}});

  std::atomic<bool> stop{false};
  std::atomic<int> evaluations{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      while (!stop) {
        HealthReport r;
        switch (i % 4) {
          case 0:
            r = m.readiness();
            break;
          case 1:
            r = m.liveness();
            break;
          case 2:
            r = m.evaluate_all();
            break;
          default:
            r = m.startup();
            break;
        }
        // Whatever the interleaving, a report is consistent with its checks.
        Status worst_seen = Status::kPass;
        for (const CheckReport& c : r.checks) worst_seen = worst(worst_seen, c.status);
        if (r.status < worst_seen && r.started) bad.fetch_add(1);
        evaluations.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {
    std::mt19937 rng(42);
    while (!stop) {
      state = static_cast<int>(rng() % 3);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  threads.emplace_back([&] {  // registration churn
    int n = 0;
    while (!stop) {
      const std::string name = "tmp" + std::to_string(n++ % 3);
      m.add_check(name, [] { return true; }, {.groups = {"readiness", "extra"}});
      m.evaluate("extra");
      m.remove_check(name);
    }
  });
  std::atomic<int> scrapes_with_status{0};
  threads.emplace_back([&] {  // scrapes
    while (!stop) {
      const std::string t = metrics::serialize(registry, metrics::Format::kPrometheusText);
      if (t.find("vigil_health_check_status{check=\"a\"") != std::string::npos) {
        scrapes_with_status.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(evaluations.load(), 20);
  EXPECT_GT(scrapes_with_status.load(), 0);
  m.shutdown(std::chrono::seconds(2));
  EXPECT_EQ(m.stats().detached_threads, 0u);
}

TEST(HealthConcurrency, ShutdownWhileEvaluating) {
  for (int round = 0; round < 5; ++round) {
    HealthMonitor m;
    m.add_check("x", [] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return true;
    });
    m.add_check("bg", [] { return true; }, {.interval = std::chrono::milliseconds(1)});
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        while (!stop) m.readiness();
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    m.shutdown(std::chrono::seconds(2));
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(m.stats().detached_threads, 0u);
    EXPECT_EQ(m.readiness().output, "shutting down");
  }
}

}  // namespace
}  // namespace vigil::health
