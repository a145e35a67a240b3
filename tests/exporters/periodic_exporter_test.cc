// PeriodicExporter with fake exporters (fake_metric_exporter.h): flush before and after start,
// one exporter hanging while another keeps exporting and recording keeps going, skipped
// snapshots, shutdown's deadline with a hanging exporter (aborted, its points counted dropped
// with reason shutdown), an exporter that ignores abort(), a throwing exporter, the engine's own
// metrics, add() errors, options. No sleeps: flush() and bounded condition waits; outcomes are
// asserted as counts, time only as generous upper bounds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_metric_exporter.h"
#include "vigil/core/error.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using namespace std::chrono_literals;
using testing::fake;
using testing::FakeExportState;

std::shared_ptr<FakeExportState> state() { return std::make_shared<FakeExportState>(); }

// The value of one series of `registry` (counter, gauge; histogram: its count), or -1 when
// absent.
double value_of(const metrics::Registry& registry, const std::string& family,
                const std::vector<std::string>& labels) {
  const MetricsSnapshot s = collect_snapshot(registry, {.exemplars = false});
  for (const auto& f : s.families) {
    if (f.name != family) continue;
    for (const auto& p : f.points) {
      if (p.label_values != labels) continue;
      return f.type == metrics::MetricType::kHistogram ? static_cast<double>(p.count) : p.value;
    }
  }
  return -1;
}

double work_value(const MetricsSnapshot& s) {
  for (const auto& f : s.families) {
    if (f.name == "work" && !f.points.empty()) return f.points[0].value;
  }
  return -1;
}

ExporterStatus status_of(const PeriodicExporter& e, const std::string& name) {
  for (auto& s : e.status()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no exporter " << name;
  return {};
}

class PeriodicExporterTest : public ::testing::Test {
 protected:
  metrics::Registry source_;
  metrics::Registry self_;
  metrics::Counter work_ = source_.counter("work_total", "Work done").get();
};

TEST_F(PeriodicExporterTest, OptionsValidate) {
  EXPECT_NO_THROW(PeriodicExporterOptions{}.validate());
  EXPECT_NO_THROW((PeriodicExporterOptions{.interval = 10ms, .timeout = 1ms}.validate()));
  try {
    PeriodicExporterOptions{.interval = 9ms}.validate();
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("interval"), std::string::npos) << e.what();
  }
  try {
    PeriodicExporterOptions{.timeout = 0ms}.validate();
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
  }
  EXPECT_THROW(PeriodicExporter(source_, {.timeout = -5ms}), Error);
  PeriodicExporter engine(source_, {.interval = 2s, .timeout = 3s});
  EXPECT_EQ(engine.options().interval, 2s);
  EXPECT_EQ(engine.options().timeout, 3s);
}

TEST_F(PeriodicExporterTest, AddErrors) {
  PeriodicExporter engine(source_);
  EXPECT_THROW(engine.add(nullptr), Error);
  engine.add(fake("a", state()));
  try {
    engine.add(fake("a", state()));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"a\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(engine.add(fake("", state())), Error);
  engine.add(fake("b", state()));
  EXPECT_EQ(engine.exporter_count(), 2u);
  EXPECT_TRUE(engine.shutdown(2s));
  EXPECT_THROW(engine.add(fake("c", state())), Error);
  EXPECT_EQ(engine.exporter_count(), 2u);
}

TEST_F(PeriodicExporterTest, FlushBeforeStartExportsOnTheExportersThreads) {
  auto a = state();
  auto b = state();
  PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &self_});
  engine.add(fake("a", a));
  engine.add(fake("b", b));
  work_.inc(7);
  ASSERT_TRUE(engine.flush(5s));
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(b->calls, 1);
  EXPECT_EQ(work_value(a->last), 7);
  EXPECT_EQ(work_value(b->last), 7);
  // Each export gets deadline = now + timeout (5 s by default).
  EXPECT_LE(a->last_budget, 5s);
  EXPECT_GT(a->last_budget, 4s);

  work_.inc(3);
  ASSERT_TRUE(engine.flush(5s));
  EXPECT_EQ(a->calls, 2);
  EXPECT_EQ(work_value(a->last), 10);
  // Snapshot timestamps move forward.
  EXPECT_LE(a->timestamps[0], a->timestamps[1]);

  const ExporterStatus s = status_of(engine, "a");
  EXPECT_EQ(s.exports, 2u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.points, a->series[0] + a->series[1]);
  EXPECT_EQ(s.skipped, 0u);
  EXPECT_GT(s.last_success, 0);
  EXPECT_GE(s.last_success, s.last_attempt);
  EXPECT_FALSE(s.busy);
  EXPECT_EQ(s.last_error, "");
}

TEST_F(PeriodicExporterTest, SelfMetricsExistAtZeroAndCountOutcomes) {
  auto a = state();
  a->result = ExportOutcome{.ok = true, .bytes = 120, .requests = 2, .retries = 1};
  PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &self_});
  engine.add(fake("a", a));
  // Rows exist before anything was exported.
  for (const char* fam :
       {"vigil_metric_exports", "vigil_metric_export_retries", "vigil_metric_export_dropped_points",
        "vigil_metric_export_points", "vigil_metric_export_sent_bytes",
        "vigil_metric_export_skipped", "vigil_metric_export_duration_seconds",
        "vigil_metric_export_last_success_timestamp_seconds"}) {
    EXPECT_EQ(value_of(self_, fam, {"a"}), 0) << fam;
  }
  for (const char* reason : {"connection", "encoding", "exception", "http_error", "io", "limit",
                             "rejected", "shutdown", "timeout"}) {
    EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"a", reason}), 0) << reason;
  }

  ASSERT_TRUE(engine.flush(5s));
  const auto points = static_cast<double>(a->series[0]);
  EXPECT_EQ(value_of(self_, "vigil_metric_exports", {"a"}), 1);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_points", {"a"}), points);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_sent_bytes", {"a"}), 120);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_retries", {"a"}), 1);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_duration_seconds", {"a"}), 1);  // count
  EXPECT_GT(value_of(self_, "vigil_metric_export_last_success_timestamp_seconds", {"a"}), 1e9);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_dropped_points", {"a"}), 0);

  // A failure with its reason and dropped points.
  {
    std::lock_guard lock(a->mu);
    a->result = ExportOutcome{
        .ok = false, .error = "HTTP 500", .reason = "http_error", .dropped_points = 5};
    a->result_points_from_snapshot = false;
  }
  EXPECT_FALSE(engine.flush(5s));
  EXPECT_EQ(value_of(self_, "vigil_metric_exports", {"a"}), 1);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"a", "http_error"}), 1);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_dropped_points", {"a"}), 5);
  // A reason not known in advance gets its own row.
  {
    std::lock_guard lock(a->mu);
    a->result = ExportOutcome{.ok = false, .error = "odd", .reason = "odd", .dropped_points = 1};
  }
  EXPECT_FALSE(engine.flush(5s));
  EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"a", "odd"}), 1);
  const ExporterStatus s = status_of(engine, "a");
  EXPECT_EQ(s.exports, 1u);
  EXPECT_EQ(s.failures, 2u);
  EXPECT_EQ(s.dropped_points, 6u);
  EXPECT_EQ(s.bytes, 120u);
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.last_error, "odd");
}

TEST_F(PeriodicExporterTest, SelfMetricsInTheExportedRegistryTravelWithTheNextExport) {
  auto a = state();
  // The registry being exported is also the one the engine counts itself in.
  PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &source_});
  engine.add(fake("a", a));
  ASSERT_TRUE(engine.flush(5s));
  ASSERT_TRUE(engine.flush(5s));
  double exports = -1;
  for (const auto& f : a->last.families) {
    if (f.name != "vigil_metric_exports") continue;
    for (const auto& p : f.points) {
      if (p.label_values == std::vector<std::string>{"a"}) exports = p.value;
    }
  }
  EXPECT_EQ(exports, 1);  // the first export, seen by the second
  EXPECT_TRUE(engine.shutdown(5s));
}

TEST_F(PeriodicExporterTest, ThrowingExporterCountsAsFailureAndEngineGoesOn) {
  auto bad = state();
  bad->throws = true;
  auto good = state();
  PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &self_});
  engine.add(fake("bad", bad));
  engine.add(fake("good", good));
  EXPECT_FALSE(engine.flush(5s));
  EXPECT_FALSE(engine.flush(5s));
  EXPECT_EQ(bad->calls, 2);
  EXPECT_EQ(good->calls, 2);
  const ExporterStatus s = status_of(engine, "bad");
  EXPECT_EQ(s.failures, 2u);
  EXPECT_EQ(s.exports, 0u);
  EXPECT_NE(s.last_error.find("boom"), std::string::npos) << s.last_error;
  // A throw delivers nothing: the snapshot's points are dropped.
  EXPECT_EQ(s.dropped_points, bad->series[0] + bad->series[1]);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"bad", "exception"}), 2);
  EXPECT_EQ(status_of(engine, "good").exports, 2u);
  EXPECT_FALSE(engine.shutdown(5s));  // the last export failed too
  EXPECT_EQ(bad->closes, 1);
}

// One exporter hangs; the other keeps exporting at the interval, recording and scrapes go on.
TEST_F(PeriodicExporterTest, HangingExporterDelaysNeitherOthersNorRecording) {
  auto slow = state();
  slow->hang = true;
  auto fast = state();
  PeriodicExporter engine(source_, {.interval = 10ms, .timeout = 60s, .self_metrics = &self_});
  engine.add(fake("slow", slow));
  engine.add(fake("fast", fast));
  engine.start();
  ASSERT_TRUE(slow->wait([&] { return slow->in_export; }));
  // While `slow` is stuck in its first export, `fast` exports snapshot after snapshot.
  ASSERT_TRUE(fast->wait([&] { return fast->calls >= 5; }));
  // Recording does not wait either: 200,000 increments from two threads all land.
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) work_.inc();
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(work_.value(), 200'000);
  // A scrape meanwhile.
  EXPECT_NE(metrics::serialize(source_, metrics::Format::kPrometheusText).find("work_total 200000"),
            std::string::npos);
  // `fast` sees the new value in a later snapshot.
  ASSERT_TRUE(fast->wait([&] { return work_value(fast->last) == 200'000; }));
  {
    std::lock_guard lock(slow->mu);
    EXPECT_EQ(slow->calls, 1);
  }
  const ExporterStatus s = status_of(engine, "slow");
  EXPECT_TRUE(s.busy);
  EXPECT_EQ(s.exports, 0u);
  // Every collection after the first replaced the one `slow` had not taken: skipped.
  EXPECT_GE(s.skipped, 3u);
  // The metric counts the same (read after the status: collections may have come since).
  EXPECT_GE(value_of(self_, "vigil_metric_export_skipped", {"slow"}),
            static_cast<double>(s.skipped));
  slow->release();
  EXPECT_TRUE(engine.shutdown(10s));
}

TEST_F(PeriodicExporterTest, SkippedSnapshotsAndTheNewestIsExported) {
  auto gate = state();
  gate->hang = true;
  PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &self_});
  engine.add(fake("gate", gate));
  work_.inc(1);
  EXPECT_FALSE(engine.flush(10ms));  // snapshot 1 taken, the export hangs
  ASSERT_TRUE(gate->wait([&] { return gate->in_export; }));
  work_.inc(1);
  EXPECT_FALSE(engine.flush(10ms));  // snapshot 2 waits in the mailbox
  work_.inc(1);
  EXPECT_FALSE(engine.flush(10ms));  // snapshot 3 replaces it: skipped 1
  work_.inc(1);
  EXPECT_FALSE(engine.flush(10ms));  // snapshot 4 replaces 3: skipped 2
  EXPECT_EQ(status_of(engine, "gate").skipped, 2u);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_skipped", {"gate"}), 2);
  {
    std::lock_guard lock(gate->mu);
    gate->hang = false;
  }
  gate->release();
  ASSERT_TRUE(gate->wait([&] { return gate->calls == 2 && gate->returned == 2; }));
  EXPECT_EQ(work_value(gate->last), 4);  // the newest, carrying the skipped changes
  ASSERT_TRUE(engine.flush(5s));
  EXPECT_EQ(status_of(engine, "gate").skipped, 2u);
  EXPECT_EQ(status_of(engine, "gate").exports, 3u);
}

TEST_F(PeriodicExporterTest, ShutdownSendsTheLastSnapshotAndClosesOnce) {
  auto a = state();
  PeriodicExporter engine(source_, {.interval = 10s});
  engine.add(fake("a", a));
  engine.start();
  work_.inc(42);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(engine.shutdown(5s));
  // The interval wait (10 s) is cut short: shutdown does not wait for it.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(work_value(a->last), 42);
  EXPECT_EQ(a->closes, 1);
  EXPECT_EQ(a->calls_after_close, 0);
  // Idempotent: the first result, at once; nothing exported again.
  EXPECT_TRUE(engine.shutdown(5s));
  EXPECT_FALSE(engine.flush(1s));
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(a->closes, 1);
  engine.start();  // no effect after shutdown
  EXPECT_EQ(a->calls, 1);
}

TEST_F(PeriodicExporterTest, ShutdownDeadlineAbortsHangingExportAndCountsDrops) {
  auto slow = state();
  slow->hang = true;
  auto fast = state();
  PeriodicExporter engine(source_, {.interval = 10s, .timeout = 60s, .self_metrics = &self_});
  engine.add(fake("slow", slow));
  engine.add(fake("fast", fast));
  EXPECT_FALSE(engine.flush(10ms));
  ASSERT_TRUE(slow->wait([&] { return slow->in_export; }));
  // The fast exporter has taken the flushed snapshot too (else the final one would replace it
  // in its mailbox: one export, not two).
  ASSERT_TRUE(fast->wait([&] { return fast->calls >= 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(engine.shutdown(200ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 3s);  // by the deadline plus the abort grace (generous bound)
  EXPECT_EQ(slow->aborts, 1);
  EXPECT_EQ(slow->closes, 1);
  EXPECT_EQ(slow->calls, 1);  // the final snapshot waited in the mailbox and was dropped
  EXPECT_EQ(fast->calls, 2);
  EXPECT_EQ(fast->closes, 1);
  const uint64_t series = slow->series[0];
  const ExporterStatus s = status_of(engine, "slow");
  // The export in flight (aborted) and the final snapshot never taken: both dropped.
  EXPECT_EQ(s.dropped_points, 2 * series);
  EXPECT_EQ(s.failures, 1u);
  EXPECT_FALSE(s.busy);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"slow", "shutdown"}), 1);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"slow", "timeout"}), 0);
  EXPECT_EQ(value_of(self_, "vigil_metric_export_dropped_points", {"slow"}),
            static_cast<double>(2 * series));
  EXPECT_EQ(status_of(engine, "fast").exports, 2u);
}

TEST_F(PeriodicExporterTest, ExporterIgnoringAbortIsLeftBehindAtTheDeadline) {
  auto stuck = state();
  stuck->hang = true;
  stuck->ignore_abort = true;
  {
    PeriodicExporter engine(source_, {.interval = 10s, .self_metrics = &self_});
    engine.add(fake("stuck", stuck));
    EXPECT_FALSE(engine.flush(10ms));
    ASSERT_TRUE(stuck->wait([&] { return stuck->in_export; }));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(engine.shutdown(100ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    const ExporterStatus s = status_of(engine, "stuck");
    EXPECT_EQ(s.failures, 1u);
    EXPECT_EQ(s.dropped_points, 2 * stuck->series[0]);
    EXPECT_EQ(value_of(self_, "vigil_metric_export_failures", {"stuck", "shutdown"}), 1);
    std::lock_guard lock(stuck->mu);
    EXPECT_EQ(stuck->aborts, 1);
    EXPECT_EQ(stuck->closes, 0);  // still in its export
  }
  // The engine is gone; the export returns later and the exporter is closed on its own thread.
  stuck->release();
  ASSERT_TRUE(stuck->wait([&] { return stuck->closes == 1; }));
  EXPECT_EQ(stuck->calls, 1);
}

TEST_F(PeriodicExporterTest, DestructorShutsDown) {
  auto a = state();
  {
    PeriodicExporter engine(source_, {.interval = 10s, .timeout = 2s});
    engine.add(fake("a", a));
    engine.start();
    work_.inc(5);
  }
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(work_value(a->last), 5);
  EXPECT_EQ(a->closes, 1);
}

TEST_F(PeriodicExporterTest, ExporterAddedAfterStartRuns) {
  auto a = state();
  auto b = state();
  PeriodicExporter engine(source_, {.interval = 10s});
  engine.add(fake("a", a));
  engine.start();
  engine.add(fake("b", b));
  ASSERT_TRUE(engine.flush(5s));
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(b->calls, 1);
  const auto st = engine.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "a");  // in the order added
  EXPECT_EQ(st[1].name, "b");
}

TEST_F(PeriodicExporterTest, HugeTimeoutsDoNotOverflow) {
  auto a = state();
  PeriodicExporter engine(source_, {.interval = 10s, .timeout = std::chrono::milliseconds::max()});
  engine.add(fake("a", a));
  EXPECT_TRUE(engine.flush(std::chrono::milliseconds::max()));
  EXPECT_GT(a->last_budget, 24h);  // "forever" is capped at a year, not wrapped around
  EXPECT_TRUE(engine.shutdown(std::chrono::milliseconds::max()));
  EXPECT_EQ(a->calls, 2);
}

TEST_F(PeriodicExporterTest, NoExporters) {
  PeriodicExporter engine(source_, {.interval = 10ms});
  engine.start();
  EXPECT_TRUE(engine.flush(1s));
  EXPECT_TRUE(engine.status().empty());
  EXPECT_TRUE(engine.shutdown(1s));
}

TEST_F(PeriodicExporterTest, ConcurrentFlushesAndStatusReads) {
  auto a = state();
  auto b = state();
  PeriodicExporter engine(source_, {.interval = 10ms, .self_metrics = &source_});
  engine.add(fake("a", a));
  engine.add(fake("b", b));
  engine.start();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (engine.flush(5s)) ++ok;
        (void)engine.status();
        work_.inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 60);
  EXPECT_TRUE(engine.shutdown(5s));
  // The final snapshot holds every increment.
  EXPECT_EQ(work_value(a->last), 60);
  EXPECT_EQ(work_value(b->last), 60);
}

}  // namespace
}  // namespace vigil::exporters
