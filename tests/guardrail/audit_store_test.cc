// The guardrails' audit trail in SQLite: decisions with their conditions and actions, events,
// queries by monitor/time/result/limit (newest first), trimming, last_trigger, the file shared
// with the alerting engine, and the databases it must refuse without crashing.
#include "guardrail/audit_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/detail/sqlite.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule.h"

namespace vigil::detail {
namespace {

using namespace std::chrono_literals;
using guardrail::ActionOutcome;
using guardrail::AuditEvent;
using guardrail::ConditionResult;
using guardrail::Decision;
using guardrail::DecisionQuery;
using guardrail::Result;
using guardrail::TimePoint;

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_gr_audit_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name = "vigil.db") const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

Decision make_decision(std::string monitor, uint64_t id, TimePoint t, Result r,
                       bool triggered = false) {
  Decision d;
  d.id = id;
  d.time = t;
  d.monitor = std::move(monitor);
  d.mode = "cohort";
  d.result = r;
  d.reason = "decision " + std::to_string(id);
  d.triggered = triggered;
  return d;
}

TEST_F(AuditStoreTest, DecisionRoundTripsWithConditionsAndActions) {
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok()) << audit->error();
  EXPECT_EQ(audit->error(), "");
  EXPECT_EQ(audit->next_decision_id("model-release"), 1u);

  Decision d = make_decision("model-release", 1, kT0 + 1500ms, Result::kFail, true);
  d.reason = "success_rate dropped by 0.1 (from 0.95 to 0.85)";
  d.metric = "success_rate";
  d.threshold = -0.08;
  d.observed = 0.85;
  d.baseline = 0.95;
  d.baseline_requests = 1000;
  d.current_requests = 300;
  d.window_start = kT0 - 60s;
  d.window_end = kT0 + 1500ms;
  d.conditions.push_back({.metric = "success_rate",
                          .result = Result::kFail,
                          .reason = "z = -4.2, p = 0.0001 <= 0.01",
                          .baseline = 0.95,
                          .observed = 0.85,
                          .threshold = 0,
                          .statistic = -4.2,
                          .p_value = 0.0001,
                          .alpha = 0.01});
  d.conditions.push_back({.metric = "p95_latency",
                          .result = Result::kInconclusive,
                          .reason = "no latency \"buckets\"",
                          .baseline = std::nan(""),
                          .observed = INFINITY,
                          .threshold = 0.3,
                          .statistic = 0,
                          .p_value = 1,
                          .alpha = 0.01});
  d.actions.push_back({.action = "route-to-stable", .outcome = "running", .started = kT0 + 2s});
  ASSERT_TRUE(audit->record_decision(d)) << audit->error();
  EXPECT_EQ(audit->next_decision_id("model-release"), 2u);
  EXPECT_EQ(audit->next_decision_id("other"), 1u);

  // The action finishes.
  ASSERT_TRUE(audit->record_action("model-release", 1,
                                   {.action = "route-to-stable",
                                    .outcome = "ok",
                                    .duration_seconds = 0.004,
                                    .started = kT0 + 2s}));
  ASSERT_TRUE(audit->record_action("model-release", 1,
                                   {.action = "page",
                                    .outcome = "error: no route",
                                    .duration_seconds = 0.5,
                                    .started = kT0 + 3s}));

  auto all = audit->decisions("model-release", {});
  ASSERT_EQ(all.size(), 1u);
  const Decision& r = all[0];
  EXPECT_EQ(r.id, 1u);
  EXPECT_EQ(r.time, kT0 + 1500ms);
  EXPECT_EQ(r.monitor, "model-release");
  EXPECT_EQ(r.mode, "cohort");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.reason, d.reason);
  EXPECT_EQ(r.metric, "success_rate");
  EXPECT_DOUBLE_EQ(r.threshold, -0.08);
  EXPECT_DOUBLE_EQ(r.observed, 0.85);
  EXPECT_DOUBLE_EQ(r.baseline, 0.95);
  EXPECT_EQ(r.baseline_requests, 1000u);
  EXPECT_EQ(r.current_requests, 300u);
  EXPECT_EQ(r.window_start, kT0 - 60s);
  EXPECT_EQ(r.window_end, kT0 + 1500ms);
  EXPECT_TRUE(r.triggered);
  ASSERT_EQ(r.conditions.size(), 2u);
  EXPECT_EQ(r.conditions[0].metric, "success_rate");
  EXPECT_EQ(r.conditions[0].result, Result::kFail);
  EXPECT_EQ(r.conditions[0].reason, "z = -4.2, p = 0.0001 <= 0.01");
  EXPECT_DOUBLE_EQ(r.conditions[0].statistic, -4.2);
  EXPECT_DOUBLE_EQ(r.conditions[0].p_value, 0.0001);
  EXPECT_DOUBLE_EQ(r.conditions[0].alpha, 0.01);
  EXPECT_EQ(r.conditions[1].result, Result::kInconclusive);
  EXPECT_EQ(r.conditions[1].reason, "no latency \"buckets\"");
  EXPECT_TRUE(std::isnan(r.conditions[1].baseline));  // NaN and infinities read back as NaN
  EXPECT_TRUE(std::isnan(r.conditions[1].observed));
  EXPECT_DOUBLE_EQ(r.conditions[1].threshold, 0.3);
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].action, "route-to-stable");
  EXPECT_EQ(r.actions[0].outcome, "ok");  // replaced "running"
  EXPECT_DOUBLE_EQ(r.actions[0].duration_seconds, 0.004);
  EXPECT_EQ(r.actions[0].started, kT0 + 2s);
  EXPECT_EQ(r.actions[1].action, "page");
  EXPECT_EQ(r.actions[1].outcome, "error: no route");

  // Replacing the decision keeps one row.
  d.reason = "replaced";
  d.actions.clear();
  ASSERT_TRUE(audit->record_decision(d));
  all = audit->decisions("", {});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].reason, "replaced");
  EXPECT_EQ(all[0].actions.size(), 2u);
}

TEST_F(AuditStoreTest, QueriesByMonitorTimeResultAndLimitNewestFirst) {
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok()) << audit->error();
  // a: ids 1..6 at kT0 + id s, fail on even ids; b: ids 1..3 at kT0 + id s + 500 ms.
  for (uint64_t i = 1; i <= 6; ++i) {
    ASSERT_TRUE(audit->record_decision(make_decision("a", i, kT0 + std::chrono::seconds(i),
                                                     i % 2 == 0 ? Result::kFail : Result::kPass)));
  }
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(audit->record_decision(
        make_decision("b", i, kT0 + std::chrono::seconds(i) + 500ms, Result::kInconclusive)));
  }
  auto ids = [](const std::vector<Decision>& ds) {
    std::vector<std::string> out;
    for (const Decision& d : ds) out.push_back(d.monitor + std::to_string(d.id));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(audit->decisions("a", {})), (V{"a6", "a5", "a4", "a3", "a2", "a1"}));
  EXPECT_EQ(ids(audit->decisions("", {})),
            (V{"a6", "a5", "a4", "b3", "a3", "b2", "a2", "b1", "a1"}));
  EXPECT_EQ(ids(audit->decisions("a", {.limit = 2})), (V{"a6", "a5"}));
  EXPECT_EQ(ids(audit->decisions("a", {.limit = 0})).size(), 6u);  // 0: no limit
  // since inclusive, until exclusive.
  EXPECT_EQ(ids(audit->decisions("a", {.since = kT0 + 2s, .until = kT0 + 5s})),
            (V{"a4", "a3", "a2"}));
  EXPECT_EQ(ids(audit->decisions("", {.since = kT0 + 2s, .until = kT0 + 3s})), (V{"b2", "a2"}));
  EXPECT_EQ(ids(audit->decisions("a", {.result = Result::kFail})), (V{"a6", "a4", "a2"}));
  EXPECT_EQ(ids(audit->decisions("", {.since = kT0 + 3s, .limit = 1, .result = Result::kPass})),
            (V{"a5"}));
  EXPECT_EQ(ids(audit->decisions("", {.result = Result::kInconclusive})), (V{"b3", "b2", "b1"}));
  EXPECT_TRUE(audit->decisions("c", {}).empty());
}

TEST_F(AuditStoreTest, EventsAndLastTrigger) {
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok()) << audit->error();
  EXPECT_EQ(audit->last_trigger("m"), TimePoint{});
  const uint64_t e1 = audit->record_event(
      {.time = kT0, .monitor = "m", .kind = "comparison", .detail = "v2 against v1"});
  const uint64_t e2 =
      audit->record_event({.time = kT0 + 5s, .monitor = "m", .kind = "pause", .detail = "ops"});
  const uint64_t e3 =
      audit->record_event({.time = kT0 + 7s, .monitor = "n", .kind = "baseline", .detail = "x"});
  EXPECT_GT(e1, 0u);
  EXPECT_GT(e2, e1);
  EXPECT_GT(e3, e2);
  auto events = audit->events("m", {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, e2);
  EXPECT_EQ(events[0].kind, "pause");
  EXPECT_EQ(events[0].detail, "ops");
  EXPECT_EQ(events[0].time, kT0 + 5s);
  EXPECT_EQ(events[0].monitor, "m");
  EXPECT_EQ(events[1].kind, "comparison");
  EXPECT_EQ(audit->events("", {}).size(), 3u);
  EXPECT_EQ(audit->events("", {.since = kT0 + 1s, .limit = 1})[0].id, e3);

  ASSERT_TRUE(audit->record_decision(make_decision("m", 1, kT0 + 10s, Result::kFail, true)));
  ASSERT_TRUE(audit->record_decision(make_decision("m", 2, kT0 + 20s, Result::kFail, true)));
  ASSERT_TRUE(audit->record_decision(make_decision("m", 3, kT0 + 30s, Result::kFail, false)));
  ASSERT_TRUE(audit->record_decision(make_decision("n", 1, kT0 + 40s, Result::kFail, true)));
  EXPECT_EQ(audit->last_trigger("m"), kT0 + 20s);
  EXPECT_EQ(audit->last_trigger("n"), kT0 + 40s);
  EXPECT_EQ(audit->last_trigger("x"), TimePoint{});
}

TEST_F(AuditStoreTest, TrimsToTheLimitPerMonitor) {
  auto audit = GuardrailAudit::open(path(), {.limit = 3});
  ASSERT_TRUE(audit->ok()) << audit->error();
  for (uint64_t i = 1; i <= 5; ++i) {
    Decision d = make_decision("a", i, kT0 + std::chrono::seconds(i), Result::kPass);
    d.actions.push_back({.action = "act", .outcome = "ok", .started = d.time});
    ASSERT_TRUE(audit->record_decision(d));
    ASSERT_NE(audit->record_event({.time = d.time, .monitor = "a", .kind = "pause"}), 0u);
  }
  ASSERT_TRUE(audit->record_decision(make_decision("b", 1, kT0, Result::kPass)));
  ASSERT_NE(audit->record_event({.time = kT0, .monitor = "b", .kind = "pause"}), 0u);
  auto a = audit->decisions("a", {.limit = 0});
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].id, 5u);
  EXPECT_EQ(a[2].id, 3u);
  EXPECT_EQ(audit->decisions("b", {}).size(), 1u);  // another monitor's rows stay
  EXPECT_EQ(audit->next_decision_id("a"), 6u);
  auto ev = audit->events("a", {.limit = 0});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2].time, kT0 + 3s);
  EXPECT_EQ(audit->events("b", {}).size(), 1u);
  // The trimmed decisions' actions went with them.
  auto db = SqliteDb::open(path());
  ASSERT_TRUE(db) << db.error;
  auto st = (*db)->prepare("SELECT COUNT(*), MIN(decision_id) FROM guardrail_actions");
  ASSERT_TRUE(st && st->step());
  EXPECT_EQ(st->integer(0), 3);
  EXPECT_EQ(st->integer(1), 3);
}

TEST_F(AuditStoreTest, ReopenKeepsEverythingAndIdsContinue) {
  {
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok());
    ASSERT_TRUE(audit->record_decision(make_decision("m", 1, kT0, Result::kFail, true)));
    ASSERT_TRUE(audit->record_decision(make_decision("m", 2, kT0 + 1s, Result::kPass)));
    ASSERT_NE(audit->record_event({.time = kT0, .monitor = "m", .kind = "baseline"}), 0u);
  }
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok()) << audit->error();
  EXPECT_EQ(audit->next_decision_id("m"), 3u);
  EXPECT_EQ(audit->decisions("m", {}).size(), 2u);
  EXPECT_EQ(audit->events("m", {}).size(), 1u);
  EXPECT_EQ(audit->last_trigger("m"), kT0);
}

TEST_F(AuditStoreTest, SharesTheFileWithTheAlertingEngine) {
  using alerting::AlertManager;
  using alerting::AlertManagerOptions;
  using alerting::AlertRule;
  auto make_manager = [&] {
    AlertManagerOptions o;
    o.state_path = path();
    auto m = std::make_unique<AlertManager>(o);
    return m;
  };
  auto add_rule = [](AlertManager& m) {
    m.add_rule(AlertRule::builder().name("AlwaysOn").condition([] { return true; }).build());
  };
  // The audit creates the file first, then the engine opens it (and the other way round below).
  {
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok()) << audit->error();
    ASSERT_TRUE(audit->record_decision(make_decision("m", 1, kT0, Result::kFail, true)));
    auto manager = make_manager();
    ASSERT_TRUE(manager->persistence_status().ok) << manager->persistence_status().error;
    add_rule(*manager);
    manager->evaluate();
    ASSERT_TRUE(manager->flush_state()) << manager->persistence_status().error;
    ASSERT_TRUE(audit->record_decision(make_decision("m", 2, kT0 + 1s, Result::kPass)));
    EXPECT_TRUE(audit->ok()) << audit->error();
  }
  {
    // The engine's alert state is in the file next to the audit's tables.
    auto db = SqliteDb::open(path());
    ASSERT_TRUE(db) << db.error;
    auto st = (*db)->prepare("SELECT COUNT(*) FROM alert_state");
    ASSERT_TRUE(st && st->step());
    EXPECT_EQ(st->integer(0), 1);
  }
  {
    auto manager = make_manager();
    ASSERT_TRUE(manager->persistence_status().ok) << manager->persistence_status().error;
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok()) << audit->error();
    EXPECT_EQ(audit->decisions("m", {}).size(), 2u);
  }
  // Engine first, in a new file.
  std::filesystem::remove(path());
  std::filesystem::remove(path() + "-wal");
  std::filesystem::remove(path() + "-shm");
  auto manager = make_manager();
  ASSERT_TRUE(manager->persistence_status().ok) << manager->persistence_status().error;
  add_rule(*manager);
  manager->evaluate();
  ASSERT_TRUE(manager->flush_state());
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok()) << audit->error();
  ASSERT_TRUE(audit->record_decision(make_decision("m", 1, kT0, Result::kFail, true)));
  manager->evaluate();
  EXPECT_TRUE(manager->flush_state()) << manager->persistence_status().error;
  EXPECT_EQ(audit->decisions("m", {}).size(), 1u);
}

// Every call of a disabled store is a no-op.
void expect_disabled(GuardrailAudit& audit, const std::string& needle) {
  EXPECT_FALSE(audit.ok());
  EXPECT_NE(audit.error().find(needle), std::string::npos) << audit.error();
  EXPECT_FALSE(audit.record_decision(make_decision("m", 1, kT0, Result::kFail, true)));
  EXPECT_FALSE(audit.record_action("m", 1, {.action = "a", .outcome = "ok"}));
  EXPECT_EQ(audit.record_event({.time = kT0, .monitor = "m", .kind = "pause"}), 0u);
  EXPECT_TRUE(audit.decisions("m", {}).empty());
  EXPECT_TRUE(audit.events("m", {}).empty());
  EXPECT_EQ(audit.last_trigger("m"), TimePoint{});
  EXPECT_EQ(audit.next_decision_id("m"), 1u);
}

TEST_F(AuditStoreTest, NotADatabaseIsRefused) {
  {
    std::ofstream f(path());
    f << "this is a text file, not SQLite, and it is long enough to have a header page\n";
  }
  auto audit = GuardrailAudit::open(path());
  expect_disabled(*audit, path());
  std::ifstream f(path());
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line.rfind("this is a text file", 0), 0u);  // untouched
}

TEST_F(AuditStoreTest, CorruptDatabaseIsRefused) {
  {
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok());
    for (uint64_t i = 1; i <= 200; ++i) {
      Decision d = make_decision("m", i, kT0 + std::chrono::seconds(i), Result::kPass);
      d.reason = std::string(200, 'x');
      ASSERT_TRUE(audit->record_decision(d));
    }
  }
  {
    auto db = SqliteDb::open(path());  // checkpoint the WAL into the main file
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  // Overwrite pages in the middle of the file (the header stays valid).
  const auto size = std::filesystem::file_size(path());
  ASSERT_GT(size, 16384u);
  {
    std::fstream f(path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(4096 + 100));
    const std::string junk(size - 8192, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto audit = GuardrailAudit::open(path());
  EXPECT_FALSE(audit->ok());
  EXPECT_NE(audit->error().find(path()), std::string::npos) << audit->error();
  expect_disabled(*audit, "");
}

TEST_F(AuditStoreTest, ForeignDatabaseIsLeftAlone) {
  {
    auto db = SqliteDb::open(path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("CREATE TABLE users (name TEXT)"));
  }
  auto audit = GuardrailAudit::open(path());
  expect_disabled(*audit, "not a vigil database (it has a table \"users\"");
  auto db = SqliteDb::open(path());
  ASSERT_TRUE(db);
  auto st = (*db)->prepare("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'guardrail_%'");
  ASSERT_TRUE(st && st->step());
  EXPECT_EQ(st->integer(0), 0);
}

TEST_F(AuditStoreTest, NewerSchemaIsRefused) {
  {
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok());
    ASSERT_TRUE(audit->record_decision(make_decision("m", 1, kT0, Result::kFail, true)));
  }
  {
    auto db = SqliteDb::open(path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("UPDATE guardrail_meta SET value = 2 WHERE key = 'schema_version'"));
  }
  auto audit = GuardrailAudit::open(path());
  expect_disabled(*audit,
                  "the guardrail audit schema version 2 is newer than this vigil "
                  "supports (1)");
}

// Opens the audit in a directory nobody may write and reports (by exit code) whether it was
// refused with an error naming the file: 0 yes, 1 it opened, 2 no error.
int open_in_read_only_dir(const std::string& file) {
  auto audit = GuardrailAudit::open(file);
  if (audit->ok()) return 1;
  if (audit->error().find(file) == std::string::npos) return 2;
  return audit->record_decision(make_decision("m", 9, kT0, Result::kPass)) ? 1 : 0;
}

TEST_F(AuditStoreTest, ReadOnlyDirectoryDisables) {
  // An existing database (readable by anyone) in a directory that then becomes read-only, and a
  // new file there.
  {
    auto audit = GuardrailAudit::open(path());
    ASSERT_TRUE(audit->ok());
  }
  std::filesystem::remove(path() + "-wal");
  std::filesystem::remove(path() + "-shm");
  ::chmod(path().c_str(), 0644);
  ::chmod(dir_.c_str(), 0555);
  for (const std::string& file : {path(), path("new.db")}) {
    int code = -1;
    if (::geteuid() == 0) {
      // root writes anywhere: check as nobody.
      const pid_t child = ::fork();
      ASSERT_GE(child, 0);
      if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
        ::_exit(open_in_read_only_dir(file));
      }
      int status = 0;
      ASSERT_EQ(::waitpid(child, &status, 0), child);
      ASSERT_TRUE(WIFEXITED(status));
      code = WEXITSTATUS(status);
    } else {
      code = open_in_read_only_dir(file);
    }
    EXPECT_EQ(code, 0) << file << " (1: it opened, 2: no error naming the file, 3: setuid)";
  }
}

TEST_F(AuditStoreTest, EmptyPathIsDisabled) {
  auto audit = GuardrailAudit::open("");
  expect_disabled(*audit, "path is empty");
}

TEST_F(AuditStoreTest, ConcurrentWritersAndReaders) {
  auto audit = GuardrailAudit::open(path());
  ASSERT_TRUE(audit->ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&audit, t] {
      const std::string monitor = "m" + std::to_string(t);
      for (int i = 0; i < 50; ++i) {
        const uint64_t id = audit->next_decision_id(monitor);
        audit->record_decision(
            make_decision(monitor, id, kT0 + std::chrono::milliseconds(i), Result::kPass));
        audit->record_action(monitor, id, {.action = "a", .outcome = "ok"});
        audit->decisions("", {.limit = 5});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(audit->ok()) << audit->error();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(audit->next_decision_id("m" + std::to_string(t)), 51u);
  }
  EXPECT_EQ(audit->decisions("", {.limit = 0}).size(), 200u);
}

}  // namespace
}  // namespace vigil::detail
