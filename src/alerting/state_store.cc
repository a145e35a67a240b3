#include "alerting/state_store.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/detail/sqlite.h"

namespace vigil::detail {

using alerting::Alert;
using alerting::AlertState;
using alerting::HistoryEntry;
using alerting::LabelList;
using alerting::MatchType;
using alerting::PersistenceStatus;
using alerting::RestoredState;
using alerting::Severity;
using alerting::Silence;
using alerting::SilenceMatcher;
using alerting::TimePoint;

namespace {

using Json = nlohmann::json;

int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
TimePoint from_ns(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

std::string labels_json(const LabelList& labels) {
  Json j = Json::array();
  for (const auto& [k, v] : labels) j.push_back(Json::array({k, v}));
  return j.dump();
}

// Label lists read back; a malformed value reads as empty (never throws).
LabelList labels_from(const std::string& text) {
  LabelList out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const Json& p : j) {
    if (p.is_array() && p.size() == 2 && p[0].is_string() && p[1].is_string()) {
      out.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
    }
  }
  return out;
}

std::string matchers_json(const std::vector<SilenceMatcher>& matchers) {
  Json j = Json::array();
  for (const SilenceMatcher& m : matchers) {
    j.push_back(
        {{"name", m.name}, {"type", std::string(alerting::to_string(m.type))}, {"value", m.value}});
  }
  return j.dump();
}

std::optional<MatchType> match_type(std::string_view s) {
  if (s == "=") return MatchType::kEqual;
  if (s == "!=") return MatchType::kNotEqual;
  if (s == "=~") return MatchType::kRegexMatch;
  if (s == "!~") return MatchType::kRegexNoMatch;
  return std::nullopt;
}

std::vector<SilenceMatcher> matchers_from(const std::string& text) {
  std::vector<SilenceMatcher> out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const Json& m : j) {
    if (!m.is_object()) continue;
    auto n = m.find("name"), t = m.find("type"), v = m.find("value");
    if (n == m.end() || t == m.end() || v == m.end() || !n->is_string() || !t->is_string() ||
        !v->is_string()) {
      continue;
    }
    auto type = match_type(t->get<std::string>());
    if (!type) continue;
    out.push_back({n->get<std::string>(), *type, v->get<std::string>()});
  }
  return out;
}

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS alert_state (
  rule TEXT NOT NULL, fingerprint INTEGER NOT NULL, grp TEXT NOT NULL, id TEXT NOT NULL,
  labels TEXT NOT NULL, annotations TEXT NOT NULL, severity INTEGER NOT NULL,
  state INTEGER NOT NULL, value REAL NOT NULL, peak_value REAL NOT NULL,
  active_at INTEGER NOT NULL, fired_at INTEGER NOT NULL, resolved_at INTEGER NOT NULL,
  last_sent_at INTEGER NOT NULL, keep_firing_since INTEGER NOT NULL, valid_until INTEGER NOT NULL,
  PRIMARY KEY (rule, fingerprint));
CREATE TABLE IF NOT EXISTS silences (
  id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, grp TEXT NOT NULL,
  labels TEXT NOT NULL, annotations TEXT NOT NULL, severity INTEGER NOT NULL,
  fingerprint INTEGER NOT NULL, id TEXT NOT NULL, started_at INTEGER NOT NULL,
  fired_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, fired INTEGER NOT NULL,
  peak_value REAL NOT NULL, last_value REAL NOT NULL);
)sql";

const std::set<std::string, std::less<>> kOwnTables = {"alert_state", "silences", "alert_history",
                                                       "vigil_meta", "sqlite_sequence"};

// Checks the schema version and tables, creating them in a new database. "" when usable.
std::string set_up(SqliteDb& db) {
  int64_t version = 0;
  {
    auto st = db.prepare("PRAGMA user_version");
    if (!st) return db.last_error();
    if (st->step()) version = st->integer(0);
    if (!st->ok()) return db.last_error();
  }
  if (version > kStateSchemaVersion) {
    return db.path() + ": the alert state schema version " + std::to_string(version) +
           " is newer than this vigil supports (" + std::to_string(kStateSchemaVersion) +
           "); not touching it";
  }
  if (version == 0) {
    // A new database holds no table (vigil_meta only in files of earlier builds); anything else is
    // someone else's data.
    auto st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    if (!st) return db.last_error();
    while (st->step()) {
      const std::string name = st->text(0);
      // nlog_*: the dispatcher's notification log may share the file; guardrail_*: the
      // guardrails' audit trail (it may have created the file first).
      if (kOwnTables.count(name) == 0 && name.rfind("nlog_", 0) != 0 &&
          name.rfind("guardrail_", 0) != 0) {
        return db.path() + ": not a vigil alert state database (it has a table \"" + name +
               "\" and no vigil schema version); not touching it";
      }
    }
    if (!st->ok()) return db.last_error();
  }
  if (!db.begin()) return db.last_error();
  if (!db.exec(kSchema) ||
      !db.exec("PRAGMA user_version = " + std::to_string(kStateSchemaVersion))) {
    std::string e = db.last_error();
    db.rollback();
    return e;
  }
  if (!db.commit()) return db.last_error();
  return {};
}

}  // namespace

std::unique_ptr<StateStore> StateStore::open(const std::string& path, StateStoreOptions options) {
  std::unique_ptr<StateStore> store(new StateStore(path, std::move(options)));
  auto db = SqliteDb::open(path);
  if (!db) {
    store->fail(db.error);
    return store;
  }
  std::string error = set_up(**db);
  if (!error.empty()) {
    store->fail(error);
    return store;
  }
  {
    std::lock_guard lock(store->db_mu_);
    store->db_ = std::move(*db);
  }
  {
    std::lock_guard lock(store->status_mu_);
    store->status_.ok = true;
  }
  if (store->options_.writer_thread) {
    store->writer_ = std::thread([s = store.get()] { s->writer_main(); });
  }
  return store;
}

StateStore::StateStore(std::string path, StateStoreOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
  status_.enabled = true;
  status_.path = path_;
  if (options_.self_metrics != nullptr) {
    errors_metric_ = &options_.self_metrics->counter(
        "vigil_alerting_persistence_errors_total",
        "Alert state persistence failures (database unusable or a write failed).");
    dropped_metric_ = &options_.self_metrics->counter(
        "vigil_alerting_persistence_dropped_total",
        "Alert state changes dropped because the persistence queue was full.");
    errors_metric_->get();  // exported at 0 from the start
    dropped_metric_->get();
  }
}

StateStore::~StateStore() {
  {
    std::lock_guard lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  flush();
}

PersistenceStatus StateStore::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void StateStore::fail(const std::string& message) {
  bool print = false;
  {
    std::lock_guard lock(status_mu_);
    status_.ok = false;
    status_.error = message;
    ++status_.errors;
    print = !printed_;
    printed_ = true;
  }
  if (errors_metric_ != nullptr) errors_metric_->get().inc();
  if (print) {
    std::fprintf(stderr, "vigil alerting: state persistence error, %s: %s\n",
                 db_ != nullptr ? "will retry" : "keeping alert state in memory only",
                 message.c_str());
  }
}

RestoredState StateStore::load() {
  RestoredState out;
  std::lock_guard lock(db_mu_);
  if (!db_) return out;
  auto st = db_->prepare(
      "SELECT rule, fingerprint, grp, id, labels, annotations, severity, state, value, "
      "peak_value, active_at, fired_at, resolved_at, last_sent_at, keep_firing_since, "
      "valid_until FROM alert_state");
  if (st) {
    while (st->step()) {
      Alert a;
      a.name = st->text(0);
      a.fingerprint = static_cast<uint64_t>(st->integer(1));
      a.group = st->text(2);
      a.id = st->text(3);
      a.labels = labels_from(st->text(4));
      a.annotations = labels_from(st->text(5));
      a.severity = static_cast<Severity>(std::clamp<int64_t>(st->integer(6), 0, 3));
      a.state = static_cast<AlertState>(std::clamp<int64_t>(st->integer(7), 0, 3));
      a.value = st->real(8);
      a.peak_value = st->real(9);
      a.active_at = from_ns(st->integer(10));
      a.fired_at = from_ns(st->integer(11));
      a.resolved_at = from_ns(st->integer(12));
      a.last_sent_at = from_ns(st->integer(13));
      a.keep_firing_since = from_ns(st->integer(14));
      a.valid_until = from_ns(st->integer(15));
      out.alerts.push_back(std::move(a));
    }
  }
  if (!st || !st->ok()) fail(db_->last_error());

  auto ss = db_->prepare(
      "SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM silences "
      "ORDER BY id");
  if (ss) {
    while (ss->step()) {
      Silence s;
      s.id = ss->text(0);
      s.matchers = matchers_from(ss->text(1));
      s.starts_at = from_ns(ss->integer(2));
      s.ends_at = from_ns(ss->integer(3));
      s.created_by = ss->text(4);
      s.comment = ss->text(5);
      s.updated_at = from_ns(ss->integer(6));
      out.silences.push_back(std::move(s));
    }
  }
  if (!ss || !ss->ok()) fail(db_->last_error());

  // The newest history_limit entries, oldest first.
  std::string sql =
      "SELECT name, grp, labels, annotations, severity, fingerprint, id, started_at, fired_at, "
      "ended_at, fired, peak_value, last_value FROM (SELECT * FROM alert_history ORDER BY seq "
      "DESC";
  if (options_.history_limit > 0) sql += " LIMIT " + std::to_string(options_.history_limit);
  sql += ") ORDER BY seq";
  auto hs = db_->prepare(sql);
  if (hs) {
    while (hs->step()) {
      HistoryEntry h;
      h.name = hs->text(0);
      h.group = hs->text(1);
      h.labels = labels_from(hs->text(2));
      h.annotations = labels_from(hs->text(3));
      h.severity = static_cast<Severity>(std::clamp<int64_t>(hs->integer(4), 0, 3));
      h.fingerprint = static_cast<uint64_t>(hs->integer(5));
      h.id = hs->text(6);
      h.started_at = from_ns(hs->integer(7));
      h.fired_at = from_ns(hs->integer(8));
      h.ended_at = from_ns(hs->integer(9));
      h.fired = hs->integer(10) != 0;
      h.peak_value = hs->real(11);
      h.last_value = hs->real(12);
      out.history.push_back(std::move(h));
    }
  }
  if (!hs || !hs->ok()) fail(db_->last_error());
  return out;
}

// ---- the queue ----

bool StateStore::room_for_new(size_t extra) {
  if (queue_.size() + extra <= options_.max_queued) return true;
  {
    std::lock_guard lock(status_mu_);
    ++status_.dropped;
  }
  if (dropped_metric_ != nullptr) dropped_metric_->get().inc();
  return false;
}

void StateStore::queued() { queue_cv_.notify_one(); }

void StateStore::round_done() {
  if (!ok()) return;
  if (!options_.writer_thread) {
    flush();
    return;
  }
  {
    std::lock_guard lock(queue_mu_);
    if (queue_.empty()) return;
    urgent_ = true;
  }
  queue_cv_.notify_one();
}

void StateStore::alert_changed(const Alert& alert) {
  if (options_.next != nullptr) options_.next->alert_changed(alert);
  if (!ok()) return;
  {
    std::lock_guard lock(queue_mu_);
    auto key = std::make_pair(alert.name, alert.fingerprint);
    auto it = queue_.alerts.find(key);
    if (it != queue_.alerts.end()) {
      it->second = alert;
    } else if (room_for_new(1)) {
      queue_.alerts.emplace(std::move(key), alert);
    }
  }
  queued();
}

void StateStore::alert_removed(const std::string& rule, uint64_t fingerprint) {
  if (options_.next != nullptr) options_.next->alert_removed(rule, fingerprint);
  if (!ok()) return;
  {
    std::lock_guard lock(queue_mu_);
    auto key = std::make_pair(rule, fingerprint);
    auto it = queue_.alerts.find(key);
    if (it != queue_.alerts.end()) {
      it->second.reset();
    } else if (room_for_new(1)) {
      queue_.alerts.emplace(std::move(key), std::nullopt);
    }
  }
  queued();
}

void StateStore::silence_changed(const Silence& silence) {
  if (options_.next != nullptr) options_.next->silence_changed(silence);
  if (!ok()) return;
  {
    std::lock_guard lock(queue_mu_);
    auto it = queue_.silences.find(silence.id);
    if (it != queue_.silences.end()) {
      it->second = silence;
    } else if (room_for_new(1)) {
      queue_.silences.emplace(silence.id, silence);
    }
  }
  queued();
}

void StateStore::silence_deleted(const std::string& id) {
  if (options_.next != nullptr) options_.next->silence_deleted(id);
  if (!ok()) return;
  {
    std::lock_guard lock(queue_mu_);
    auto it = queue_.silences.find(id);
    if (it != queue_.silences.end()) {
      it->second.reset();
    } else if (room_for_new(1)) {
      queue_.silences.emplace(id, std::nullopt);
    }
  }
  queued();
}

void StateStore::history_added(const HistoryEntry& entry) {
  if (options_.next != nullptr) options_.next->history_added(entry);
  if (!ok()) return;
  {
    std::lock_guard lock(queue_mu_);
    if (room_for_new(1)) queue_.history.push_back(entry);
  }
  queued();
}

void StateStore::requeue(Queue batch) {
  std::lock_guard lock(queue_mu_);
  // Newer changes (already in queue_) win over the failed batch's.
  for (auto& [k, v] : batch.alerts) {
    if (queue_.alerts.count(k) == 0 && room_for_new(1)) queue_.alerts.emplace(k, std::move(v));
  }
  for (auto& [k, v] : batch.silences) {
    if (queue_.silences.count(k) == 0 && room_for_new(1)) {
      queue_.silences.emplace(k, std::move(v));
    }
  }
  std::vector<HistoryEntry> history;
  for (HistoryEntry& h : batch.history) {
    if (room_for_new(history.size() + 1)) history.push_back(std::move(h));
  }
  for (HistoryEntry& h : queue_.history) history.push_back(std::move(h));
  queue_.history = std::move(history);
}

bool StateStore::flush() {
  std::lock_guard db_lock(db_mu_);
  if (!db_) return false;
  Queue batch;
  {
    std::lock_guard lock(queue_mu_);
    if (queue_.empty()) return true;
    std::swap(batch, queue_);
  }
  if (!write(batch)) {
    fail(db_->last_error());
    requeue(std::move(batch));
    return false;
  }
  std::lock_guard lock(status_mu_);
  ++status_.flushes;
  status_.ok = true;
  return true;
}

bool StateStore::write(const Queue& batch) {
  SqliteDb& db = *db_;
  if (!db.begin()) return false;
  bool good = true;
  if (!batch.alerts.empty()) {
    auto up = db.prepare(
        "INSERT OR REPLACE INTO alert_state (rule, fingerprint, grp, id, labels, annotations, "
        "severity, state, value, peak_value, active_at, fired_at, resolved_at, last_sent_at, "
        "keep_firing_since, valid_until) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    auto del = db.prepare("DELETE FROM alert_state WHERE rule = ?1 AND fingerprint = ?2");
    good = up != nullptr && del != nullptr;
    for (auto it = batch.alerts.begin(); good && it != batch.alerts.end(); ++it) {
      const auto& [key, alert] = *it;
      const auto fp = static_cast<int64_t>(key.second);
      if (!alert) {
        del->bind(1, key.first).bind(2, fp);
        good = del->run();
        continue;
      }
      const Alert& a = *alert;
      up->bind(1, key.first)
          .bind(2, fp)
          .bind(3, a.group)
          .bind(4, a.id)
          .bind(5, labels_json(a.labels))
          .bind(6, labels_json(a.annotations))
          .bind(7, static_cast<int64_t>(a.severity))
          .bind(8, static_cast<int64_t>(a.state))
          .bind(9, a.value)
          .bind(10, a.peak_value)
          .bind(11, to_ns(a.active_at))
          .bind(12, to_ns(a.fired_at))
          .bind(13, to_ns(a.resolved_at))
          .bind(14, to_ns(a.last_sent_at))
          .bind(15, to_ns(a.keep_firing_since))
          .bind(16, to_ns(a.valid_until));
      good = up->run();
    }
  }
  if (good && !batch.silences.empty()) {
    auto up = db.prepare(
        "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, created_by, comment, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    auto del = db.prepare("DELETE FROM silences WHERE id = ?1");
    good = up != nullptr && del != nullptr;
    for (auto it = batch.silences.begin(); good && it != batch.silences.end(); ++it) {
      const auto& [id, silence] = *it;
      if (!silence) {
        del->bind(1, id);
        good = del->run();
        continue;
      }
      up->bind(1, id)
          .bind(2, matchers_json(silence->matchers))
          .bind(3, to_ns(silence->starts_at))
          .bind(4, to_ns(silence->ends_at))
          .bind(5, silence->created_by)
          .bind(6, silence->comment)
          .bind(7, to_ns(silence->updated_at));
      good = up->run();
    }
  }
  if (good && !batch.history.empty()) {
    auto ins = db.prepare(
        "INSERT INTO alert_history (name, grp, labels, annotations, severity, fingerprint, id, "
        "started_at, fired_at, ended_at, fired, peak_value, last_value) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    good = ins != nullptr;
    for (auto it = batch.history.begin(); good && it != batch.history.end(); ++it) {
      const HistoryEntry& h = *it;
      ins->bind(1, h.name)
          .bind(2, h.group)
          .bind(3, labels_json(h.labels))
          .bind(4, labels_json(h.annotations))
          .bind(5, static_cast<int64_t>(h.severity))
          .bind(6, static_cast<int64_t>(h.fingerprint))
          .bind(7, h.id)
          .bind(8, to_ns(h.started_at))
          .bind(9, to_ns(h.fired_at))
          .bind(10, to_ns(h.ended_at))
          .bind(11, static_cast<int64_t>(h.fired ? 1 : 0))
          .bind(12, h.peak_value)
          .bind(13, h.last_value);
      good = ins->run();
    }
    if (good && options_.history_limit > 0) {
      good =
          db.exec("DELETE FROM alert_history WHERE seq <= (SELECT MAX(seq) FROM alert_history) - " +
                  std::to_string(options_.history_limit));
    }
  }
  if (!good) {
    db.rollback();  // keeps last_error() (a successful ROLLBACK does not overwrite it)
    return false;
  }
  return db.commit();
}

void StateStore::writer_main() {
  std::unique_lock lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    // A round's changes are written at once; others are batched for writer_delay (a burst of
    // API calls).
    queue_cv_.wait_for(lock, options_.writer_delay, [this] { return stop_ || urgent_; });
    if (stop_) return;
    urgent_ = false;
    lock.unlock();
    const bool good = flush();
    lock.lock();
    if (!good) {
      // Retry after a pause, not in a tight loop.
      queue_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
      if (stop_) return;
    }
  }
}

}  // namespace vigil::detail
