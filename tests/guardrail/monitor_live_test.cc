// GuardrailMonitor over live instruments: a LiveSource on a real registry, an injected clock,
// check_now() (no sleeps): the fixed, window and cohort modes, too little traffic, a source
// error, and (MonitorThread*) the checking thread under concurrent recording (also run under
// ThreadSanitizer).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/guardrail/monitor.h"
#include "vigil/guardrail/source.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {
namespace {

using namespace std::chrono_literals;

struct Live {
  metrics::Registry reg;
  metrics::Family<metrics::Counter>& requests =
      reg.counter("app_requests_total", "Requests by outcome.", {"status", "version"});
  metrics::Family<metrics::Histogram>& latency =
      reg.histogram("app_request_duration_seconds", "Request latency.", {"version"},
                    metrics::HistogramOptions{.buckets = {0.1, 0.2, 0.5, 1.0}});
  std::shared_ptr<LiveSource> source =
      std::make_shared<LiveSource>(LiveSourceOptions{.registry = &reg,
                                                     .requests = "app_requests_total",
                                                     .outcome_label = "status",
                                                     .latency = "app_request_duration_seconds",
                                                     .cohort_label = "version"});
  std::shared_ptr<std::atomic<int64_t>> ns =
      std::make_shared<std::atomic<int64_t>>(int64_t{1'800'000'000} * 1'000'000'000);

  void record(const std::string& version, int ok, int failed, double seconds) {
    requests.labels("success", version).inc(ok);
    requests.labels("error", version).inc(failed);
    metrics::Histogram h = latency.labels(version);
    for (int i = 0; i < ok + failed; ++i) h.observe(seconds);
  }
  void advance(std::chrono::nanoseconds d) { ns->fetch_add(d.count()); }
  TimePoint now() const { return TimePoint(std::chrono::nanoseconds(ns->load())); }

  MonitorOptions options(std::string name) {
    MonitorOptions o;
    o.name = std::move(name);
    o.source = source;
    o.metrics_registry = &reg;
    auto p = ns;
    o.clock = [p] { return TimePoint(std::chrono::nanoseconds(p->load())); };
    o.cooldown = 0ms;
    o.passes_to_rearm = 0;
    return o;
  }
};

TEST(GuardrailMonitorLive, FixedBaseline) {
  Live live;
  MonitorOptions o = live.options("fixed");
  o.cohort = "v1";
  GuardrailMonitor m(o);
  std::promise<RollbackTrigger> got;
  m.on_trigger("rollback", [&](const RollbackTrigger& t) { got.set_value(t); });
  m.set_baseline(
      {.success_rate = 0.95, .p50_latency = 0.15, .p95_latency = 0.2, .error_rate = 0.05});
  Decision d = m.check_now();  // one sample: no window yet
  EXPECT_EQ(d.result, Result::kInconclusive);
  EXPECT_EQ(d.mode, "fixed");

  live.record("v1", 190, 10, 0.15);
  live.advance(10s);
  d = m.check_now();
  EXPECT_EQ(d.result, Result::kPass) << d.reason;
  EXPECT_EQ(d.current_requests, 200u);
  ASSERT_EQ(d.conditions.size(), 3u);
  EXPECT_DOUBLE_EQ(d.conditions[0].observed, 0.95);
  EXPECT_NEAR(d.conditions[1].observed, 0.195, 1e-12);  // p95 inside (0.1, 0.2]
  ASSERT_TRUE(m.status().current.has_value());
  EXPECT_DOUBLE_EQ(m.status().current->success_rate, 0.95);

  live.record("v1", 100, 100, 0.15);  // the last 60 s: 290 of 400 succeeded
  live.advance(10s);
  d = m.check_now();
  EXPECT_EQ(d.result, Result::kFail);
  EXPECT_TRUE(d.triggered);
  EXPECT_EQ(d.metric, "success_rate");
  EXPECT_NEAR(d.observed, 0.725, 1e-12);
  EXPECT_DOUBLE_EQ(d.threshold, -0.08);
  EXPECT_EQ(d.current_requests, 400u);
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get().metric_name, "success_rate");

  // 70 s later only 3 requests are in the window: no verdict.
  live.advance(70s);
  m.check_now();
  live.record("v1", 0, 3, 0.15);
  live.advance(1s);
  d = m.check_now();
  EXPECT_EQ(d.result, Result::kInconclusive);
  EXPECT_NE(d.reason.find("3 requests"), std::string::npos) << d.reason;
}

TEST(GuardrailMonitorLive, WindowBaseline) {
  Live live;
  MonitorOptions o = live.options("window");
  o.cohort = "v1";
  GuardrailMonitor m(o);
  const TimePoint t0 = live.now();
  EXPECT_EQ(m.check_now().result, Result::kInconclusive);   // no baseline, but sampled
  EXPECT_THROW(m.set_baseline_window(t0 - 1h, t0), Error);  // nothing covers it
  live.record("v1", 990, 10, 0.15);
  live.advance(60s);
  m.check_now();
  const TimePoint t1 = live.now();
  m.set_baseline_window(t0, t1, "the hour before the deploy");
  ASSERT_TRUE(m.baseline().has_value());
  EXPECT_DOUBLE_EQ(m.baseline()->success_rate, 0.99);
  EXPECT_EQ(m.status().mode, "window");

  live.record("v1", 985, 15, 0.15);  // as before: passes
  live.advance(10s);
  Decision d = m.check_now();
  EXPECT_EQ(d.result, Result::kPass) << d.reason;
  EXPECT_EQ(d.mode, "window");
  EXPECT_EQ(d.baseline_requests, 1000u);
  EXPECT_EQ(d.current_requests, 1000u);

  live.record("v1", 800, 200, 0.15);  // since the baseline: 1785 of 2000
  live.advance(10s);
  d = m.check_now();
  EXPECT_EQ(d.result, Result::kFail) << d.reason;
  EXPECT_TRUE(d.triggered);
  EXPECT_EQ(d.metric, "success_rate");
  bool tested = false;
  for (const auto& c : d.conditions) {
    if (c.metric == "success_rate") {
      tested = true;
      EXPECT_LT(c.p_value, c.alpha);
    }
  }
  EXPECT_TRUE(tested);
}

TEST(GuardrailMonitorLive, CohortComparison) {
  Live live;
  GuardrailMonitor m(live.options("cohort"));
  std::promise<RollbackTrigger> got;
  m.on_trigger("route-to-stable", [&](const RollbackTrigger& t) { got.set_value(t); });
  live.record("v1", 10, 0, 0.15);  // both cohorts exist before the comparison
  live.record("v2", 10, 0, 0.15);
  m.compare_cohorts("v1", "v2");
  EXPECT_EQ(m.status().mode, "cohort");
  EXPECT_EQ(m.status().canary_cohort, "v2");
  live.record("v1", 990, 10, 0.15);
  live.record("v2", 800, 200, 0.45);
  live.advance(10s);
  Decision d = m.check_now();
  EXPECT_EQ(d.result, Result::kFail) << d.reason;
  EXPECT_EQ(d.mode, "cohort");
  EXPECT_TRUE(d.triggered);
  EXPECT_EQ(d.baseline_requests, 1000u);
  EXPECT_EQ(d.current_requests, 1000u);
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  const RollbackTrigger t = fut.get();
  EXPECT_EQ(t.monitor, "cohort");
  EXPECT_FALSE(t.reason.empty());
  EXPECT_EQ(m.status().state, State::kTriggered);
  auto seen = m.cohorts();
  EXPECT_EQ(seen, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_THROW(m.compare_cohorts("v1", "v1"), Error);
}

TEST(GuardrailMonitorLive, SourceErrorIsAnErrorVerdict) {
  Live live;
  auto missing = std::make_shared<LiveSource>(LiveSourceOptions{
      .registry = &live.reg, .requests = "nope_requests_total", .outcome_label = "status"});
  MonitorOptions o = live.options("broken");
  o.source = missing;
  o.consecutive_error_limit = 0;
  GuardrailMonitor m(o);
  m.set_baseline({.success_rate = 0.95});
  Decision d = m.check_now();
  EXPECT_EQ(d.result, Result::kError);
  EXPECT_NE(d.reason.find("could not be sampled"), std::string::npos) << d.reason;
  EXPECT_EQ(m.status().state, State::kError);
}

// The checking thread runs while other threads record and read: no data race (TSan), no
// deadlock; the checks see the traffic.
TEST(GuardrailMonitorThread, ChecksWhileOthersRecordAndRead) {
  Live live;
  MonitorOptions o = live.options("threaded");
  o.clock = nullptr;  // the real clock: the thread samples at its interval
  o.interval = 10ms;
  o.cohort = "v1";
  o.min_requests = 1;
  GuardrailMonitor m(o);
  m.on_trigger("noop", [](const RollbackTrigger&) {});
  m.set_baseline({.success_rate = 0.9, .p50_latency = 0.15, .p95_latency = 0.2});
  m.start();
  m.start();  // idempotent
  EXPECT_TRUE(m.status().running);
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 200'000 && !done.load(); ++n) {
        live.record(i == 0 ? "v1" : "v2", 1, n % 3 == 0 ? 1 : 0, 0.15);
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      (void)m.status();
      (void)m.decisions({.limit = 5});
      (void)m.cohorts();
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (m.status().checks < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  m.pause("test");
  m.resume("test");
  done = true;
  for (auto& t : threads) t.join();
  m.stop();
  EXPECT_FALSE(m.status().running);
  EXPECT_GE(m.status().checks, 10u);
  EXPECT_TRUE(m.wait_for_actions(10s));
}

}  // namespace
}  // namespace vigil::guardrail
