// Persistence of alert state, silences and history in SQLite (AlertManagerOptions::state_path):
// a real crash (a forked child killed with SIGKILL mid-life) and a restart on the same file;
// unusable databases (garbage, corrupt pages, foreign tables, a schema from the future, an
// unwritable location) leave the manager working in memory with the error reported and counted;
// the store's queue bound and history trimming.
#include "alerting/state_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/detail/sqlite.h"
#include "vigil/alerting/manager.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const TimePoint kT0 = TimePoint(std::chrono::milliseconds(1'700'000'000'000));

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/vigil_state_store_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// The world of one process: a clock and the conditions of three rules.
struct World {
  std::atomic<int64_t> ms{0};
  std::atomic<bool> high{false}, brief{false}, other{false};
  TimePoint now() const { return kT0 + std::chrono::milliseconds(ms.load()); }
  void at(std::chrono::milliseconds t) { ms = t.count(); }

  AlertManagerOptions options(const std::string& path, metrics::Registry* self = nullptr) {
    AlertManagerOptions o;
    o.clock = [this] { return now(); };
    o.state_path = path;
    o.self_metrics = self;
    return o;
  }
  void add_rules(AlertManager& m) {
    m.add_rule(AlertRule::builder()
                   .name("HighErrors")
                   .condition([this] { return high.load(); })
                   .for_duration(60s)
                   .severity(Severity::kCritical)
                   .build());
    m.add_rule(
        AlertRule::builder().name("Brief").condition([this] { return brief.load(); }).build());
    m.add_rule(AlertRule::builder()
                   .name("Other")
                   .condition([this] { return other.load(); })
                   .for_duration(30s)
                   .build());
  }
};

const Alert* find_alert(const std::vector<Alert>& alerts, std::string_view name) {
  for (const Alert& a : alerts) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string exposition(metrics::Registry& r) {
  return metrics::serialize(r, metrics::Format::kPrometheusText);
}

// The child's life: alerts fire, a silence is added, history is written, then SIGKILL (no
// destructor runs, the writer thread dies mid-wait, the WAL is not checkpointed).
[[noreturn]] void child_then_crash(const std::string& path) {
  World w;
  AlertManager m(w.options(path));
  if (!m.persistence_status().ok) _exit(10);
  w.add_rules(m);
  w.at(0s);
  w.high = w.brief = true;
  m.evaluate();  // HighErrors pending since t0, Brief firing
  w.at(30s);
  w.brief = false;
  w.other = true;
  m.evaluate();  // Brief resolved (history), Other pending since t0+30
  w.at(60s);
  m.evaluate();  // HighErrors fires (t0+60), Other fires (t0+60)
  Silence s;
  s.id = "5ca1ab1e-0000-4000-8000-000000000001";
  s.matchers = {{"alertname", MatchType::kEqual, "HighErrors"}};
  s.starts_at = w.now();
  s.ends_at = w.now() + 2h;
  s.created_by = "oncall";
  s.comment = "deploying the fix";
  m.add_silence(s);
  w.at(75s);
  m.evaluate();  // the writer thread writes the round (and the silence) in one transaction
  if (!m.flush_state()) _exit(14);  // committed (whatever the writer thread has done)
  auto active = m.active_alerts();
  if (active.size() != 2) _exit(11);
  if (m.history().size() != 1) _exit(12);
  ::kill(::getpid(), SIGKILL);
  _exit(13);  // not reached
}

TEST(StateStoreCrash, StateSurvivesKill9) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) child_then_crash(path);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_TRUE(fs::exists(path + "-wal")) << "a crash leaves the WAL behind";

  // Restart 1, 30 s after the crash: HighErrors still true, Other no longer.
  {
    World w;
    metrics::Registry self;
    AlertManager m(w.options(path, &self));
    const PersistenceStatus ps = m.persistence_status();
    EXPECT_TRUE(ps.enabled);
    EXPECT_TRUE(ps.ok) << ps.error;
    EXPECT_EQ(ps.errors, 0u);
    w.add_rules(m);
    std::vector<Notification> sent;
    m.on_alert([&](const Notification& n) { sent.push_back(n); });

    // Before any evaluation: the silence is in force, history intact.
    auto silences = m.silences();
    ASSERT_EQ(silences.size(), 1u);
    const Silence& s = silences[0];
    EXPECT_EQ(s.id, "5ca1ab1e-0000-4000-8000-000000000001");
    ASSERT_EQ(s.matchers.size(), 1u);
    EXPECT_EQ(s.matchers[0].name, "alertname");
    EXPECT_EQ(s.matchers[0].type, MatchType::kEqual);
    EXPECT_EQ(s.matchers[0].value, "HighErrors");
    EXPECT_EQ(s.starts_at, kT0 + 60s);
    EXPECT_EQ(s.ends_at, kT0 + 60s + 2h);
    EXPECT_EQ(s.updated_at, kT0 + 60s);
    EXPECT_EQ(s.created_by, "oncall");
    EXPECT_EQ(s.comment, "deploying the fix");
    w.at(105s);
    EXPECT_EQ(s.state(w.now()), SilenceState::kActive);

    auto history = m.history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].name, "Brief");
    EXPECT_TRUE(history[0].fired);
    EXPECT_EQ(history[0].started_at, kT0);
    EXPECT_EQ(history[0].fired_at, kT0);
    EXPECT_EQ(history[0].ended_at, kT0 + 30s);
    EXPECT_EQ(history[0].duration(), 30s);
    EXPECT_EQ(history[0].fingerprint, label_fingerprint(history[0].labels));
    EXPECT_EQ(std::string(history[0].labels[0].first), "alertname");

    // The first evaluation after the restart: HighErrors keeps its original start times.
    w.high = true;
    w.other = false;
    auto transitions = m.evaluate();
    auto active = m.active_alerts();
    ASSERT_EQ(active.size(), 1u);
    const Alert& a = active[0];
    EXPECT_EQ(a.name, "HighErrors");
    EXPECT_EQ(a.state, AlertState::kFiring);
    EXPECT_EQ(a.active_at, kT0);       // not the restart time (t0+105)
    EXPECT_EQ(a.fired_at, kT0 + 60s);  // fired before the crash
    EXPECT_EQ(a.severity, Severity::kCritical);
    EXPECT_TRUE(a.silenced);
    ASSERT_EQ(a.silenced_by.size(), 1u);
    EXPECT_EQ(a.silenced_by[0], s.id);
    EXPECT_TRUE(sent.empty()) << "silenced: not delivered";
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(transitions[0].to, AlertState::kFiring);
    EXPECT_EQ(m.persistence_status().errors, 0u);
  }

  // Restart 2 (clean this time): HighErrors still restored; now Other was not restored at
  // restart 1 (its condition was false), so its stored state is gone: true again, it starts over.
  {
    World w;
    AlertManager m(w.options(path));
    w.add_rules(m);
    w.at(120s);
    w.high = true;
    w.other = true;
    m.evaluate();
    auto active = m.active_alerts();
    const Alert* high = find_alert(active, "HighErrors");
    const Alert* other = find_alert(active, "Other");
    ASSERT_NE(high, nullptr);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(high->active_at, kT0);
    EXPECT_EQ(high->state, AlertState::kFiring);
    EXPECT_EQ(other->active_at, kT0 + 120s);
    EXPECT_EQ(other->state, AlertState::kPending);
    EXPECT_EQ(m.history().size(), 1u);
  }
}

// A restart where the condition is false at the first evaluation: the alert is not restored,
// and not restored at a later restart either (no stale active_at comes back).
TEST(StateStore, AlertFalseAtFirstEvaluationIsForgotten) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    World w;
    AlertManager m(w.options(path));
    w.add_rules(m);
    w.high = true;
    m.evaluate();
    w.at(60s);
    m.evaluate();
    ASSERT_EQ(m.active_alerts().at(0).state, AlertState::kFiring);
  }
  {
    World w;
    AlertManager m(w.options(path));
    w.add_rules(m);
    w.at(90s);
    m.evaluate();  // false now
    EXPECT_TRUE(m.active_alerts().empty());
  }
  {
    World w;
    AlertManager m(w.options(path));
    w.add_rules(m);
    w.at(120s);
    w.high = true;
    m.evaluate();
    auto active = m.active_alerts();
    ASSERT_EQ(active.size(), 1u);
    EXPECT_EQ(active[0].active_at, kT0 + 120s);
    EXPECT_EQ(active[0].state, AlertState::kPending);
  }
}

// A restored firing alert is not notified again before resend_delay; a restored pending alert
// fires when `for` has elapsed since its original start.
TEST(StateStore, RestoredAlertsKeepTheirClocks) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    World w;
    AlertManager m(w.options(path));
    w.add_rules(m);
    std::vector<Notification> sent;
    m.on_alert([&](const Notification& n) { sent.push_back(n); });
    w.high = true;
    m.evaluate();  // HighErrors pending since t0
    w.at(60s);
    m.evaluate();  // fires and is sent at t0+60
    ASSERT_EQ(sent.size(), 1u);
    w.other = true;
    w.at(70s);
    m.evaluate();  // Other pending since t0+70 (for 30 s)
  }
  World w;
  AlertManager m(w.options(path));
  w.add_rules(m);
  std::vector<Notification> sent;
  m.on_alert([&](const Notification& n) { sent.push_back(n); });
  w.high = w.other = true;
  w.at(90s);  // 30 s after the last send: resend_delay (60 s) not over
  m.evaluate();
  EXPECT_TRUE(sent.empty());
  auto active = m.active_alerts();
  ASSERT_EQ(active.size(), 2u);
  const Alert* other = find_alert(active, "Other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->state, AlertState::kPending);
  EXPECT_EQ(other->active_at, kT0 + 70s);
  w.at(100s);  // Other: 30 s since t0+70: fires
  m.evaluate();
  other = nullptr;
  active = m.active_alerts();
  other = find_alert(active, "Other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->state, AlertState::kFiring);
  EXPECT_EQ(other->fired_at, kT0 + 100s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].rule, "Other");
  w.at(121s);  // HighErrors: more than resend_delay since its last send (t0+60): resent
  m.evaluate();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].rule, "HighErrors");
  EXPECT_EQ(sent[1].alerts.at(0).active_at, kT0);
}

// Silences expired and deleted through the API are persisted too.
TEST(StateStore, SilenceExpireAndDeletePersist) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  std::string keep, gone;
  {
    World w;
    AlertManager m(w.options(path));
    Silence s;
    s.matchers = {{"env", MatchType::kRegexMatch, "prod|staging"},
                  {"team", MatchType::kNotEqual, "db"}};
    s.ends_at = w.now() + 1h;
    keep = m.add_silence(s);
    gone = m.add_silence(s);
    w.at(10s);
    EXPECT_TRUE(m.expire_silence(keep));
    EXPECT_TRUE(m.delete_silence(gone));
  }  // the destructor flushes
  World w;
  AlertManager m(w.options(path));
  auto silences = m.silences();
  ASSERT_EQ(silences.size(), 1u);
  EXPECT_EQ(silences[0].id, keep);
  EXPECT_EQ(silences[0].ends_at, kT0 + 10s);
  EXPECT_EQ(silences[0].state(w.now() + 10s), SilenceState::kExpired);
  ASSERT_EQ(silences[0].matchers.size(), 2u);
  EXPECT_EQ(silences[0].matchers[0].type, MatchType::kRegexMatch);
  EXPECT_EQ(silences[0].matchers[0].value, "prod|staging");
  EXPECT_EQ(silences[0].matchers[1].type, MatchType::kNotEqual);
}

// ---- unusable databases: a clear error, the engine works in memory, counted ----

// Checks that the manager reports `expect` and still works (alerts, silences) in memory.
void expect_memory_only(const std::string& path, const std::string& expect) {
  World w;
  metrics::Registry self;
  testing::internal::CaptureStderr();
  AlertManager m(w.options(path, &self));
  const std::string err = testing::internal::GetCapturedStderr();
  const PersistenceStatus ps = m.persistence_status();
  EXPECT_TRUE(ps.enabled);
  EXPECT_FALSE(ps.ok);
  EXPECT_EQ(ps.errors, 1u);
  EXPECT_EQ(ps.path, path);
  EXPECT_NE(ps.error.find(path), std::string::npos) << ps.error;
  EXPECT_NE(ps.error.find(expect), std::string::npos) << ps.error;
  EXPECT_NE(err.find("keeping alert state in memory only"), std::string::npos) << err;
  EXPECT_NE(err.find(ps.error), std::string::npos) << err;
  EXPECT_NE(exposition(self).find("vigil_alerting_persistence_errors_total 1"), std::string::npos)
      << exposition(self);

  testing::internal::CaptureStderr();
  w.add_rules(m);
  w.high = true;
  m.evaluate();
  w.at(60s);
  m.evaluate();
  Silence s;
  s.matchers = {{"alertname", MatchType::kEqual, "HighErrors"}};
  s.ends_at = w.now() + 1h;
  m.add_silence(s);
  m.evaluate();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "the error is printed once";
  auto active = m.active_alerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].state, AlertState::kFiring);
  EXPECT_TRUE(active[0].silenced);
  EXPECT_EQ(m.persistence_status().errors, 1u);
}

TEST(StateStoreErrors, GarbageFile) {
  TempDir dir;
  const std::string path = dir.file("garbage.db");
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) f << "this is not a database at all, line " << i << "\n";
  }
  expect_memory_only(path, "not a database");
  // The file is left as it was.
  std::ifstream f(path);
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first, "this is not a database at all, line 0");
}

TEST(StateStoreErrors, CorruptPages) {
  TempDir dir;
  const std::string path = dir.file("corrupt.db");
  {
    World w;
    AlertManager m(w.options(path));
    for (int i = 0; i < 200; ++i) {
      Silence s;
      s.matchers = {{"alertname", MatchType::kEqual, "rule_" + std::to_string(i)}};
      s.comment = std::string(200, 'c');
      s.ends_at = w.now() + 1h;
      m.add_silence(s);
    }
  }  // closed cleanly: the WAL is checkpointed into the file
  ASSERT_FALSE(fs::exists(path + "-wal"));
  ASSERT_GT(fs::file_size(path), 4u * 4096);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 4096);
    const std::string junk(2 * 4096, '\xab');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  expect_memory_only(path, "corrupt");
}

TEST(StateStoreErrors, ForeignDatabase) {
  TempDir dir;
  const std::string path = dir.file("foreign.db");
  {
    auto db = vigil::detail::SqliteDb::open(path);
    ASSERT_TRUE(db) << db.error;
    ASSERT_TRUE(
        (*db)->exec("CREATE TABLE customers (id INTEGER, name TEXT);"
                    "INSERT INTO customers VALUES (1, 'ann');"));
  }
  expect_memory_only(path, "not a vigil alert state database (it has a table \"customers\"");
  auto db = vigil::detail::SqliteDb::open(path);
  ASSERT_TRUE(db);
  auto st = (*db)->prepare("SELECT count(*) FROM sqlite_master WHERE name = 'alert_state'");
  ASSERT_TRUE(st && st->step());
  EXPECT_EQ(st->integer(0), 0) << "nothing was created in someone else's database";
}

TEST(StateStoreErrors, SchemaFromTheFuture) {
  TempDir dir;
  const std::string path = dir.file("future.db");
  {
    World w;
    AlertManager m(w.options(path));
    ASSERT_TRUE(m.persistence_status().ok);
  }
  {
    auto db = vigil::detail::SqliteDb::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 7"));
  }
  expect_memory_only(path, "schema version 7 is newer than this vigil supports (1)");
}

TEST(StateStoreErrors, UnwritableLocation) {
  expect_memory_only("/sys/vigil-no-such-dir/state.db", "cannot open the database");
}

TEST(StateStoreErrors, NoPathIsMemoryOnlyWithoutError) {
  World w;
  AlertManager m(w.options(""));
  const PersistenceStatus ps = m.persistence_status();
  EXPECT_FALSE(ps.enabled);
  EXPECT_EQ(ps.errors, 0u);
  EXPECT_EQ(ps.error, "");
}

// ---- the store itself ----

Alert make_alert(const std::string& name, int i) {
  Alert a;
  a.name = name;
  a.group = "g";
  a.labels = {{"alertname", name}, {"i", std::to_string(i)}};
  a.fingerprint = label_fingerprint(a.labels);
  a.state = AlertState::kFiring;
  a.active_at = kT0 + std::chrono::seconds(i);
  return a;
}

TEST(StateStore, BoundedQueueCountsDrops) {
  TempDir dir;
  metrics::Registry self;
  detail::StateStoreOptions o;
  o.max_queued = 2;
  o.writer_thread = false;
  o.self_metrics = &self;
  auto store = detail::StateStore::open(dir.file("q.db"), o);
  ASSERT_TRUE(store->ok()) << store->status().error;
  store->alert_changed(make_alert("A", 1));
  store->alert_changed(make_alert("A", 2));
  store->alert_changed(make_alert("A", 3));  // dropped: the queue holds 2
  store->alert_changed(make_alert("A", 1));  // coalesces with the queued change: not dropped
  EXPECT_EQ(store->status().dropped, 1u);
  EXPECT_NE(exposition(self).find("vigil_alerting_persistence_dropped_total 1"), std::string::npos);
  ASSERT_TRUE(store->flush());
  EXPECT_EQ(store->status().flushes, 1u);
  RestoredState r = store->load();
  ASSERT_EQ(r.alerts.size(), 2u);
  store->alert_removed("A", make_alert("A", 1).fingerprint);
  ASSERT_TRUE(store->flush());
  r = store->load();
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_EQ(r.alerts[0].active_at, kT0 + 2s);
  EXPECT_EQ(r.alerts[0].labels, (LabelList{{"alertname", "A"}, {"i", "2"}}));
}

TEST(StateStore, HistoryTrimmedToLimitOldestFirst) {
  TempDir dir;
  detail::StateStoreOptions o;
  o.history_limit = 3;
  o.writer_thread = false;
  auto store = detail::StateStore::open(dir.file("h.db"), o);
  ASSERT_TRUE(store->ok());
  for (int i = 0; i < 5; ++i) {
    HistoryEntry h;
    h.name = "H" + std::to_string(i);
    h.started_at = kT0 + std::chrono::seconds(i);
    h.ended_at = h.started_at + 1s;
    h.peak_value = i * 1.5;
    store->history_added(h);
    if (i == 2) {
      ASSERT_TRUE(store->flush());
    }
  }
  ASSERT_TRUE(store->flush());
  RestoredState r = store->load();
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_EQ(r.history[0].name, "H2");
  EXPECT_EQ(r.history[2].name, "H4");
  EXPECT_DOUBLE_EQ(r.history[2].peak_value, 6.0);
  EXPECT_EQ(r.history[2].ended_at, kT0 + 5s);
}

}  // namespace
}  // namespace vigil::alerting
