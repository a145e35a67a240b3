// Persistence under concurrency (also run under ThreadSanitizer by scripts/test.sh): evaluations
// flushing their rounds, the store's writer thread flushing silence changes made by API threads,
// and readers of the status, all at once on one database; then a restart reads back exactly the
// silences that were left.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vigil/alerting/manager.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;

TEST(StateStoreConcurrency, EvaluationsApiCallsAndTheWriterThread) {
  char tmpl[] = "/tmp/vigil_state_tsan_XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  const std::string path = (dir / "state.db").string();
  std::set<std::string> kept;
  {
    AlertManagerOptions o;
    o.state_path = path;
    AlertManager m(o);
    ASSERT_TRUE(m.persistence_status().ok) << m.persistence_status().error;
    std::atomic<int> flip{0};
    for (int i = 0; i < 8; ++i) {
      m.add_rule(AlertRule::builder()
                     .name("r" + std::to_string(i))
                     .condition([&flip, i] { return ((flip.load() + i) % 3) != 0; })
                     .build());
    }
    std::atomic<bool> done{false};
    std::thread evaluator([&] {
      for (int round = 0; round < 150; ++round) {
        flip = round;
        m.evaluate();
      }
      done = true;
    });
    std::thread api([&] {
      // A fixed number of silences: looping until the evaluator is done let a slow machine add
      // thousands, each round matching every alert against all of them (a ctest timeout in CI).
      for (int i = 0; i < 300; ++i) {
        Silence s;
        s.matchers = {{"alertname", MatchType::kEqual, "r" + std::to_string(i % 8)}};
        s.ends_at = std::chrono::system_clock::now() + 1h;
        const std::string id = m.add_silence(s);
        if (i % 2 == 0) {
          m.expire_silence(id);
          m.delete_silence(id);
        } else {
          kept.insert(id);
        }
      }
    });
    std::thread reader([&] {
      while (!done.load()) {
        const PersistenceStatus ps = m.persistence_status();
        EXPECT_EQ(ps.errors, 0u) << ps.error;
        (void)m.silences();
        (void)m.history(10);
      }
    });
    evaluator.join();
    api.join();
    reader.join();
    EXPECT_GT(m.persistence_status().flushes, 0u);
    EXPECT_EQ(m.persistence_status().dropped, 0u);
  }
  AlertManagerOptions o;
  o.state_path = path;
  AlertManager again(o);
  std::set<std::string> restored;
  for (const Silence& s : again.silences()) restored.insert(s.id);
  EXPECT_EQ(restored, kept);
  EXPECT_FALSE(again.history().empty());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace vigil::alerting
