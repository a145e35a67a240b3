// AlertmanagerClient under concurrency (run under ThreadSanitizer by scripts/test.sh): threads
// submitting while others read status, queued() and dropped(), flush, and a shutdown racing the
// submitters; two instances, one of them refusing connections.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fake_alertmanager.h"
#include "vigil/alerting/alertmanager_client.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;

Notification one_alert(int thread, int i) {
  Alert a;
  a.name = "T" + std::to_string(thread);
  a.labels = {{"alertname", a.name}, {"i", std::to_string(i)}};
  a.state = AlertState::kFiring;
  a.active_at = TimePoint(std::chrono::seconds(1'700'000'000));
  Notification n;
  n.alerts = {a};
  return n;
}

TEST(AlertmanagerClientConcurrency, SubmitStatusFlushAndShutdown) {
  testing::FakeAlertmanager am;
  testing::RefusingPort dead;
  metrics::Registry self;
  AlertmanagerClientOptions o;
  o.urls = {am.url(), dead.url()};
  o.queue_capacity = 50;
  o.max_batch = 7;
  o.self_metrics = &self;
  AlertmanagerClient client(o);
  constexpr int kThreads = 3;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) client.submit(one_alert(t, i));
    });
  }
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (const auto& s : client.status()) EXPECT_LE(s.sent, uint64_t{kThreads * kPerThread});
      EXPECT_LE(client.queued(), 50u);
      (void)client.dropped();
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_TRUE(client.flush(20s));
  std::thread late([&] {
    for (int i = 0; i < 50; ++i) client.submit(one_alert(9, i));
  });
  client.shutdown(2s);
  late.join();
  done = true;
  reader.join();
  // Each instance accounts for every alert accepted (before shutdown): sent, failed, or dropped
  // for it; the late ones refused after shutdown count only in dropped().
  const auto st = client.status();
  const uint64_t accounted0 = st[0].sent + st[0].errors + st[0].dropped;
  const uint64_t accounted1 = st[1].sent + st[1].errors + st[1].dropped;
  EXPECT_EQ(accounted0, accounted1);
  EXPECT_GE(accounted0, uint64_t{kThreads * kPerThread});
  EXPECT_LE(accounted0, uint64_t{kThreads * kPerThread + 50});
  EXPECT_EQ(st[0].errors, 0u);
  EXPECT_EQ(st[1].sent, 0u);
  EXPECT_EQ(client.queued(), 0u);
}

}  // namespace
}  // namespace vigil::alerting
