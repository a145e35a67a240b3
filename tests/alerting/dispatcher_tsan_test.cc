// The dispatcher under concurrency (run under ThreadSanitizer by scripts/test.sh): submit from
// several threads while the timer thread flushes and the delivery threads deliver (with
// retries), status() and groups() read, and shutdown stops it all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "dispatcher_test_util.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using testing::make_alert;
using testing::notification_of;
using testing::ScriptedNotifier;

TEST(DispatcherConcurrency, SubmitDeliverStatusShutdown) {
  metrics::Registry self;
  auto a = std::make_shared<ScriptedNotifier>("a");
  auto b = std::make_shared<ScriptedNotifier>("b", false);
  std::atomic<int> calls{0};
  b->hook([&](const NotificationGroup&, const DeliveryContext&) {
    return ++calls % 3 == 0 ? DeliveryResult::retry("HTTP 503") : DeliveryResult::delivered();
  });
  RoutingConfig cfg;
  cfg.route.receiver = "a";
  cfg.route.group_by = std::vector<std::string>{"alertname", "t"};
  cfg.route.group_wait = 5ms;
  cfg.route.group_interval = 10ms;
  cfg.route.repeat_interval = 20ms;
  Route child;
  child.receiver = "b";
  child.matchers = {LabelMatcher{"t", MatchType::kRegexMatch, "[02]"}};
  child.continue_matching = true;
  cfg.route.routes.push_back(child);
  cfg.receivers.push_back(ReceiverConfig{.name = "a", .notifiers = {a}});
  cfg.receivers.push_back(ReceiverConfig{.name = "b", .notifiers = {b}});
  DispatcherOptions o;
  o.routing = cfg;
  o.self_metrics = &self;
  o.queue_capacity = 64;
  // The notification log too (written by the timer thread and the delivery threads).
  const auto db = std::filesystem::temp_directory_path() /
                  ("vigil_dispatch_tsan_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(db);
  o.state_path = db.string();
  o.retry = RetryOptions{.max_attempts = 3,
                         .initial_backoff = 1ms,
                         .max_backoff = 2ms,
                         .multiplier = 2.0,
                         .jitter = 0.5};
  Dispatcher d(o);
  d.start();
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const auto now = std::chrono::system_clock::now();
        const bool resolved = i % 7 == 6;
        d.submit(notification_of(
            {make_alert({{"alertname", "A" + std::to_string(i % 5)}, {"t", std::to_string(t)}}, now,
                        resolved, now)},
            now, t == 3 ? std::vector<std::string>{"b"} : std::vector<std::string>{}));
        if (i % 50 == 0) std::this_thread::sleep_for(2ms);
      }
    });
  }
  threads.emplace_back([&] {
    while (!done) {
      auto st = d.status();
      (void)d.groups();
      (void)st;
      std::this_thread::sleep_for(1ms);
    }
  });
  for (size_t i = 0; i + 1 < threads.size(); ++i) threads[i].join();
  std::this_thread::sleep_for(50ms);
  done = true;
  threads.back().join();
  (void)d.flush(2s);
  ShutdownReport r = d.shutdown(1s);
  (void)r;
  auto st = d.status();
  EXPECT_GT(st.receivers[0].integrations[0].sent, 0u);
  EXPECT_GT(st.receivers[1].integrations[0].sent, 0u);
  EXPECT_GT(a->delivered_count(), 0u);
  EXPECT_TRUE(st.log_ok) << st.log_error;
  std::filesystem::remove(db);
  std::filesystem::remove(db.string() + "-wal");
  std::filesystem::remove(db.string() + "-shm");
}

}  // namespace
}  // namespace vigil::alerting
