// The dispatcher's notification log in SQLite (see notification_log.h).
#include "alerting/notify/notification_log.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/detail/sqlite.h"

namespace vigil::alerting::dispatch {

namespace {

using vigil::detail::SqliteDb;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS nlog_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, integration TEXT NOT NULL,
  group_key TEXT NOT NULL, payload TEXT NOT NULL, firing TEXT NOT NULL, resolved TEXT NOT NULL,
  created_at INTEGER NOT NULL, state INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS nlog_entries_state ON nlog_entries (state, created_at);
CREATE TABLE IF NOT EXISTS nlog_state (
  receiver TEXT NOT NULL, integration TEXT NOT NULL, group_key TEXT NOT NULL,
  firing TEXT NOT NULL, resolved TEXT NOT NULL, delivered_at INTEGER NOT NULL,
  PRIMARY KEY (receiver, integration, group_key));
)sql";

constexpr int64_t kPending = 0;
constexpr int64_t kDelivered = 1;
constexpr int64_t kGivenUp = 2;

int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_ms(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

nlohmann::json labels_json(const LabelList& l) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, v] : l) a.push_back(nlohmann::json::array({k, v}));
  return a;
}
bool labels_from(const nlohmann::json& j, LabelList* out) {
  if (!j.is_array()) return false;
  for (const auto& kv : j) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string()) return false;
    out->emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
  return true;
}

}  // namespace

std::string fingerprints_to_text(const std::vector<uint64_t>& fps) {
  std::string out;
  char buf[24];
  for (uint64_t fp : fps) {
    if (!out.empty()) out += ',';
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(fp));
    out += buf;
  }
  return out;
}

std::vector<uint64_t> fingerprints_from_text(const std::string& text) {
  std::vector<uint64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    uint64_t v = 0;
    bool good = j > i && j - i <= 16;
    for (size_t k = i; good && k < j; ++k) {
      const char c = text[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) good = false;
      v = v * 16 + static_cast<uint64_t>(d < 0 ? 0 : d);
    }
    if (good) out.push_back(v);
    i = j + 1;
  }
  return out;
}

std::string group_to_json(const NotificationGroup& g) {
  nlohmann::json j;
  j["receiver"] = g.receiver;
  j["group_key"] = g.group_key;
  j["group_labels"] = labels_json(g.group_labels);
  j["external_url"] = g.external_url;
  nlohmann::json alerts = nlohmann::json::array();
  for (const NotifiedAlert& a : g.alerts) {
    nlohmann::json x;
    x["labels"] = labels_json(a.labels);
    x["annotations"] = labels_json(a.annotations);
    x["starts_at"] = to_ms(a.starts_at);
    x["ends_at"] = to_ms(a.ends_at);
    x["generator_url"] = a.generator_url;
    x["fingerprint"] = a.fingerprint;
    x["severity"] = static_cast<int>(a.severity);
    if (std::isfinite(a.value)) x["value"] = a.value;  // NaN and infinities are not JSON
    x["resolved"] = a.resolved;
    alerts.push_back(std::move(x));
  }
  j["alerts"] = std::move(alerts);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool group_from_json(const std::string& text, NotificationGroup* g) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  try {
    g->receiver = j.at("receiver").get<std::string>();
    g->group_key = j.at("group_key").get<std::string>();
    if (!labels_from(j.at("group_labels"), &g->group_labels)) return false;
    g->external_url = j.at("external_url").get<std::string>();
    for (const auto& x : j.at("alerts")) {
      NotifiedAlert a;
      if (!labels_from(x.at("labels"), &a.labels)) return false;
      if (!labels_from(x.at("annotations"), &a.annotations)) return false;
      a.starts_at = from_ms(x.at("starts_at").get<int64_t>());
      a.ends_at = from_ms(x.at("ends_at").get<int64_t>());
      a.generator_url = x.at("generator_url").get<std::string>();
      a.fingerprint = x.at("fingerprint").get<uint64_t>();
      const int sev = x.at("severity").get<int>();
      if (sev < 0 || sev > static_cast<int>(Severity::kCritical)) return false;
      a.severity = static_cast<Severity>(sev);
      a.value = x.contains("value") ? x["value"].get<double>() : std::nan("");
      a.resolved = x.at("resolved").get<bool>();
      g->alerts.push_back(std::move(a));
    }
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  g->compute_common();
  return true;
}

NotificationLog::NotificationLog() = default;
NotificationLog::~NotificationLog() = default;

bool NotificationLog::open(const std::string& path) {
  std::lock_guard lock(mu_);
  enabled_ = true;
  auto db = SqliteDb::open(path);
  if (!db) {
    fail_locked(db.error);
    return false;
  }
  db_ = std::move(*db);
  if (!db_->exec(kSchema)) {
    fail_locked(db_->last_error());
    return false;
  }
  return true;
}

bool NotificationLog::enabled() const {
  std::lock_guard lock(mu_);
  return enabled_;
}
bool NotificationLog::ok() const {
  std::lock_guard lock(mu_);
  return ok_;
}
std::string NotificationLog::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void NotificationLog::fail_locked(const std::string& what) {
  if (ok_) {
    std::cerr << "vigil: notification log: " << what
              << " (notifications go on in memory, without redelivery after a crash)\n";
  }
  ok_ = false;
  error_ = what;
  db_.reset();
}

bool NotificationLog::write_state_locked(const DedupState& s) {
  auto st = db_->prepare(
      "INSERT OR REPLACE INTO nlog_state (receiver, integration, group_key, firing, resolved, "
      "delivered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st) return false;
  st->bind(1, s.receiver)
      .bind(2, s.integration)
      .bind(3, s.group_key)
      .bind(4, fingerprints_to_text(s.firing))
      .bind(5, fingerprints_to_text(s.resolved))
      .bind(6, to_ms(s.at));
  return st->run();
}

void NotificationLog::write_flush(std::vector<LogEntry*>& entries,
                                  const std::vector<DedupState>& states) {
  std::lock_guard lock(mu_);
  if (!db_ || (entries.empty() && states.empty())) return;
  if (!db_->begin()) return fail_locked(db_->last_error());
  auto ins = db_->prepare(
      "INSERT INTO nlog_entries (receiver, integration, group_key, payload, firing, resolved, "
      "created_at, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?7)");
  auto last = db_->prepare("SELECT last_insert_rowid()");
  bool good = ins != nullptr && last != nullptr;
  for (LogEntry* e : entries) {
    if (!good) break;
    ins->bind(1, e->receiver)
        .bind(2, e->integration)
        .bind(3, e->group.group_key)
        .bind(4, group_to_json(e->group))
        .bind(5, fingerprints_to_text(e->firing))
        .bind(6, fingerprints_to_text(e->resolved))
        .bind(7, to_ms(e->created));
    good = ins->run();
    if (good && last->step()) e->id = last->integer(0);
    last->reset();
  }
  for (const DedupState& s : states) {
    if (!good) break;
    good = write_state_locked(s);
  }
  if (!good || !db_->commit()) {
    std::string e = db_->last_error();
    db_->rollback();
    for (LogEntry* x : entries) x->id = 0;
    return fail_locked(e);
  }
}

void NotificationLog::mark_delivered(int64_t id, const DedupState& state) {
  std::lock_guard lock(mu_);
  if (!db_) return;
  if (!db_->begin()) return fail_locked(db_->last_error());
  bool good = true;
  if (id > 0) {
    // The payload is only for redelivery: a confirmed row keeps its sets, not the group.
    auto up = db_->prepare(
        "UPDATE nlog_entries SET state = ?1, updated_at = ?2, payload = '' WHERE id = ?3");
    good = up != nullptr;
    if (good) good = up->bind(1, kDelivered).bind(2, to_ms(state.at)).bind(3, id).run();
  }
  if (good) good = write_state_locked(state);
  if (!good || !db_->commit()) {
    std::string e = db_->last_error();
    db_->rollback();
    fail_locked(e);
  }
}

void NotificationLog::mark_given_up(int64_t id) {
  std::lock_guard lock(mu_);
  if (!db_ || id <= 0) return;
  auto up = db_->prepare("UPDATE nlog_entries SET state = ?1, payload = '' WHERE id = ?2");
  if (!up || !up->bind(1, kGivenUp).bind(2, id).run()) fail_locked(db_->last_error());
}

std::vector<LogEntry> NotificationLog::pending(TimePoint since) {
  std::vector<LogEntry> out;
  std::lock_guard lock(mu_);
  if (!db_) return out;
  auto st = db_->prepare(
      "SELECT id, receiver, integration, payload, firing, resolved, created_at FROM nlog_entries "
      "WHERE state = ?1 AND created_at >= ?2 ORDER BY id");
  if (!st) {
    fail_locked(db_->last_error());
    return out;
  }
  st->bind(1, kPending).bind(2, to_ms(since));
  std::vector<int64_t> unreadable;
  while (st->step()) {
    LogEntry e;
    e.id = st->integer(0);
    e.receiver = st->text(1);
    e.integration = st->text(2);
    if (!group_from_json(st->text(3), &e.group)) {
      unreadable.push_back(e.id);  // given up below (not skipped at every start)
      continue;
    }
    e.firing = fingerprints_from_text(st->text(4));
    e.resolved = fingerprints_from_text(st->text(5));
    e.created = from_ms(st->integer(6));
    out.push_back(std::move(e));
  }
  if (!st->ok()) {
    fail_locked(db_->last_error());
    return out;
  }
  if (!unreadable.empty()) {
    std::cerr << "vigil: notification log: " << unreadable.size()
              << " pending notification(s) with an unreadable payload given up\n";
    auto up = db_->prepare("UPDATE nlog_entries SET state = ?1, payload = '' WHERE id = ?2");
    for (int64_t id : unreadable) {
      if (!up || !up->bind(1, kGivenUp).bind(2, id).run()) {
        fail_locked(db_->last_error());
        break;
      }
      up->reset();
    }
  }
  return out;
}

std::vector<DedupState> NotificationLog::states(TimePoint since) {
  std::vector<DedupState> out;
  std::lock_guard lock(mu_);
  if (!db_) return out;
  auto st = db_->prepare(
      "SELECT receiver, integration, group_key, firing, resolved, delivered_at FROM nlog_state "
      "WHERE delivered_at >= ?1");
  if (!st) {
    fail_locked(db_->last_error());
    return out;
  }
  st->bind(1, to_ms(since));
  while (st->step()) {
    DedupState s;
    s.receiver = st->text(0);
    s.integration = st->text(1);
    s.group_key = st->text(2);
    s.firing = fingerprints_from_text(st->text(3));
    s.resolved = fingerprints_from_text(st->text(4));
    s.at = from_ms(st->integer(5));
    out.push_back(std::move(s));
  }
  if (!st->ok()) fail_locked(db_->last_error());
  return out;
}

void NotificationLog::expire(TimePoint before) {
  std::lock_guard lock(mu_);
  if (!db_) return;
  auto a = db_->prepare("DELETE FROM nlog_entries WHERE created_at < ?1");
  auto b = db_->prepare("DELETE FROM nlog_state WHERE delivered_at < ?1");
  if (!a || !b || !a->bind(1, to_ms(before)).run() || !b->bind(1, to_ms(before)).run()) {
    fail_locked(db_->last_error());
  }
}

}  // namespace vigil::alerting::dispatch
