// The guardrails' audit trail in SQLite (see audit_store.h).
//
// Schema (guardrail_meta's row 'schema_version' = kSchemaVersion):
//   guardrail_decisions (monitor, id) PRIMARY KEY: time, mode, result (0 pass, 1 fail,
//     2 inconclusive, 3 error), reason, the deciding metric/threshold/observed/baseline, the
//     conditions as a JSON array, request counts, the window, triggered.
//   guardrail_actions (monitor, decision_id, action) PRIMARY KEY: outcome, duration, start.
//   guardrail_events (seq AUTOINCREMENT): monitor, time, kind, detail.
// Trimming: a decision keeps the newest `limit` ids of its monitor (ids are dense per monitor:
// next_decision_id), its actions go with it; events keep the newest `limit` of their monitor.
#include "guardrail/audit_store.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/detail/sqlite.h"

namespace vigil::detail {

using guardrail::ActionOutcome;
using guardrail::AuditEvent;
using guardrail::ConditionResult;
using guardrail::Decision;
using guardrail::DecisionQuery;
using guardrail::Result;
using guardrail::TimePoint;

namespace {

using Json = nlohmann::json;

constexpr int64_t kSchemaVersion = 1;

// The result codes stored in the file: they must never change meaning.
static_assert(static_cast<int>(Result::kPass) == 0 && static_cast<int>(Result::kFail) == 1 &&
              static_cast<int>(Result::kInconclusive) == 2 &&
              static_cast<int>(Result::kError) == 3);
int64_t result_code(Result r) { return static_cast<int64_t>(r); }
Result result_from(int64_t code) {
  return code >= 0 && code <= 3 ? static_cast<Result>(code) : Result::kError;
}

int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
TimePoint from_ns(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

// Doubles read back from JSON: null (NaN or an infinity when written) reads as NaN.
double number_or_nan(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>()
                                          : std::numeric_limits<double>::quiet_NaN();
}
// REAL columns: SQLite stores NaN as NULL.
void bind_real(SqliteStatement& st, int index, double v) {
  if (std::isnan(v)) {
    st.bind_null(index);
  } else {
    st.bind(index, v);
  }
}
double real_or_nan(const SqliteStatement& st, int column) {
  return st.is_null(column) ? std::numeric_limits<double>::quiet_NaN() : st.real(column);
}

std::string conditions_json(const std::vector<ConditionResult>& conditions) {
  Json a = Json::array();
  for (const ConditionResult& c : conditions) {
    // NaN and infinities are not JSON: they are written as null.
    a.push_back({{"metric", c.metric},
                 {"result", result_code(c.result)},
                 {"reason", c.reason},
                 {"baseline", c.baseline},
                 {"observed", c.observed},
                 {"threshold", c.threshold},
                 {"statistic", c.statistic},
                 {"p_value", c.p_value},
                 {"alpha", c.alpha}});
  }
  return a.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Conditions read back; a malformed value reads as none, a malformed entry is skipped.
std::vector<ConditionResult> conditions_from(const std::string& text) {
  std::vector<ConditionResult> out;
  const Json a = Json::parse(text, nullptr, false);
  if (!a.is_array()) return out;
  for (const Json& c : a) {
    if (!c.is_object()) continue;
    auto metric = c.find("metric"), result = c.find("result"), reason = c.find("reason");
    if (metric == c.end() || !metric->is_string() || result == c.end() ||
        !result->is_number_integer() || reason == c.end() || !reason->is_string()) {
      continue;
    }
    ConditionResult r;
    r.metric = metric->get<std::string>();
    r.result = result_from(result->get<int64_t>());
    r.reason = reason->get<std::string>();
    r.baseline = number_or_nan(c, "baseline");
    r.observed = number_or_nan(c, "observed");
    r.threshold = number_or_nan(c, "threshold");
    r.statistic = number_or_nan(c, "statistic");
    r.p_value = number_or_nan(c, "p_value");
    r.alpha = number_or_nan(c, "alpha");
    out.push_back(std::move(r));
  }
  return out;
}

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS guardrail_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS guardrail_decisions (
  monitor TEXT NOT NULL, id INTEGER NOT NULL, time INTEGER NOT NULL, mode TEXT NOT NULL,
  result INTEGER NOT NULL, reason TEXT NOT NULL, metric TEXT NOT NULL, threshold REAL,
  observed REAL, baseline REAL, conditions TEXT NOT NULL, baseline_requests INTEGER NOT NULL,
  current_requests INTEGER NOT NULL, window_start INTEGER NOT NULL, window_end INTEGER NOT NULL,
  triggered INTEGER NOT NULL, PRIMARY KEY (monitor, id));
CREATE INDEX IF NOT EXISTS guardrail_decisions_time ON guardrail_decisions (monitor, time);
CREATE INDEX IF NOT EXISTS guardrail_decisions_all_time ON guardrail_decisions (time);
CREATE TABLE IF NOT EXISTS guardrail_actions (
  monitor TEXT NOT NULL, decision_id INTEGER NOT NULL, action TEXT NOT NULL,
  outcome TEXT NOT NULL, duration_seconds REAL NOT NULL, started INTEGER NOT NULL,
  PRIMARY KEY (monitor, decision_id, action));
CREATE TABLE IF NOT EXISTS guardrail_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, monitor TEXT NOT NULL, time INTEGER NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS guardrail_events_time ON guardrail_events (monitor, time);
)sql";

// Tables another part of vigil keeps in the same file (the alerting state store, the
// dispatcher's notification log) or SQLite itself.
bool vigil_table(const std::string& name) {
  static const char* const kExact[] = {"alert_state", "silences", "alert_history", "vigil_meta",
                                       "sqlite_sequence"};
  for (const char* t : kExact) {
    if (name == t) return true;
  }
  return name.rfind("nlog_", 0) == 0 || name.rfind("guardrail_", 0) == 0 ||
         name.rfind("sqlite_", 0) == 0;
}

// Checks the file is vigil's (or new) and the audit schema is one this code reads, creating the
// tables. "" when usable.
std::string set_up(SqliteDb& db) {
  int64_t user_version = 0;
  {
    auto st = db.prepare("PRAGMA user_version");
    if (!st) return db.last_error();
    if (st->step()) user_version = st->integer(0);
    if (!st->ok()) return db.last_error();
  }
  bool has_meta = false;
  {
    auto st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    if (!st) return db.last_error();
    while (st->step()) {
      const std::string name = st->text(0);
      if (name == "guardrail_meta") has_meta = true;
      // user_version is the alerting state store's: a file with it set is vigil's. Without it,
      // a table vigil does not keep means the file is someone else's.
      if (user_version == 0 && !vigil_table(name)) {
        return db.path() + ": not a vigil database (it has a table \"" + name +
               "\" and no vigil schema version); the guardrail audit is not touching it";
      }
    }
    if (!st->ok()) return db.last_error();
  }
  if (has_meta) {
    auto st = db.prepare("SELECT value FROM guardrail_meta WHERE key = 'schema_version'");
    if (!st) return db.last_error();
    int64_t version = 0;
    if (st->step()) version = st->integer(0);
    if (!st->ok()) return db.last_error();
    if (version > kSchemaVersion) {
      return db.path() + ": the guardrail audit schema version " + std::to_string(version) +
             " is newer than this vigil supports (" + std::to_string(kSchemaVersion) +
             "); not touching it";
    }
  }
  if (!db.begin()) return db.last_error();
  if (!db.exec(kSchema) ||
      !db.exec("INSERT OR REPLACE INTO guardrail_meta (key, value) VALUES ('schema_version', " +
               std::to_string(kSchemaVersion) + ")")) {
    std::string e = db.last_error();
    db.rollback();
    return e;
  }
  if (!db.commit()) {
    std::string e = db.last_error();
    db.rollback();
    return e;
  }
  return {};
}

bool insert_action(SqliteDb& db, std::string_view monitor, uint64_t decision_id,
                   const ActionOutcome& a) {
  auto st = db.prepare(
      "INSERT OR REPLACE INTO guardrail_actions (monitor, decision_id, action, outcome, "
      "duration_seconds, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st) return false;
  st->bind(1, monitor)
      .bind(2, static_cast<int64_t>(decision_id))
      .bind(3, a.action)
      .bind(4, a.outcome)
      .bind(5, std::isfinite(a.duration_seconds) ? a.duration_seconds : 0.0)
      .bind(6, to_ns(a.started));
  return st->run();
}

// The WHERE clause of a query by monitor, time and result; parameters from ?1.
struct Filter {
  std::string sql;
  std::vector<std::pair<int, int64_t>> ints;
  std::string monitor;
};
Filter filter_for(std::string_view monitor, const DecisionQuery& q, bool with_result) {
  Filter f;
  int next = 1;
  auto add = [&](std::string_view clause) {
    f.sql += f.sql.empty() ? " WHERE " : " AND ";
    f.sql += clause;
    f.sql += std::to_string(next);
  };
  if (!monitor.empty()) {
    add("monitor = ?");
    f.monitor = std::string(monitor);
    ++next;
  }
  if (q.since != TimePoint{}) {
    add("time >= ?");
    f.ints.emplace_back(next++, to_ns(q.since));
  }
  if (q.until != TimePoint{}) {
    add("time < ?");
    f.ints.emplace_back(next++, to_ns(q.until));
  }
  if (with_result && q.result) {
    add("result = ?");
    f.ints.emplace_back(next++, result_code(*q.result));
  }
  // limit 0: no limit.
  f.sql += " ORDER BY time DESC, seq_order DESC LIMIT " +
           (q.limit == 0 ? std::string("-1") : std::to_string(q.limit));
  return f;
}
void bind_filter(SqliteStatement& st, const Filter& f) {
  if (!f.monitor.empty()) st.bind(1, f.monitor);
  for (const auto& [index, value] : f.ints) st.bind(index, value);
}

}  // namespace

GuardrailAudit::GuardrailAudit(std::string path, GuardrailAuditOptions options)
    : path_(std::move(path)), options_(options) {}
GuardrailAudit::~GuardrailAudit() = default;

std::unique_ptr<GuardrailAudit> GuardrailAudit::open(const std::string& path,
                                                     GuardrailAuditOptions options) {
  std::unique_ptr<GuardrailAudit> audit(new GuardrailAudit(path, options));
  if (path.empty()) {
    audit->error_ = "the guardrail audit database path is empty";
    return audit;
  }
  auto db = SqliteDb::open(path);
  if (!db) {
    audit->error_ = db.error;
    return audit;
  }
  std::string error = set_up(**db);
  if (!error.empty()) {
    audit->error_ = std::move(error);
    return audit;
  }
  audit->db_ = std::move(*db);
  return audit;
}

bool GuardrailAudit::ok() const {
  std::lock_guard lock(mu_);
  return db_ != nullptr && error_.empty();
}

std::string GuardrailAudit::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

uint64_t GuardrailAudit::next_decision_id(std::string_view monitor) {
  std::lock_guard lock(mu_);
  if (!db_) return 1;
  auto st = db_->prepare("SELECT MAX(id) FROM guardrail_decisions WHERE monitor = ?1");
  if (!st) return 1;
  st->bind(1, monitor);
  int64_t max = 0;
  if (st->step() && !st->is_null(0)) max = st->integer(0);
  if (!st->ok()) {
    error_ = db_->last_error();
    return 1;
  }
  return static_cast<uint64_t>(max < 0 ? 0 : max) + 1;
}

bool GuardrailAudit::record_decision(const Decision& d) {
  std::lock_guard lock(mu_);
  if (!db_) return false;
  SqliteDb& db = *db_;
  if (!db.begin()) {
    error_ = db.last_error();
    return false;
  }
  bool good = false;
  if (auto st = db.prepare(
          "INSERT OR REPLACE INTO guardrail_decisions (monitor, id, time, mode, result, reason, "
          "metric, threshold, observed, baseline, conditions, baseline_requests, "
          "current_requests, window_start, window_end, triggered) VALUES (?1, ?2, ?3, ?4, ?5, "
          "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")) {
    st->bind(1, d.monitor)
        .bind(2, static_cast<int64_t>(d.id))
        .bind(3, to_ns(d.time))
        .bind(4, d.mode)
        .bind(5, result_code(d.result))
        .bind(6, d.reason)
        .bind(7, d.metric);
    bind_real(*st, 8, d.threshold);
    bind_real(*st, 9, d.observed);
    bind_real(*st, 10, d.baseline);
    st->bind(11, conditions_json(d.conditions))
        .bind(12, static_cast<int64_t>(d.baseline_requests))
        .bind(13, static_cast<int64_t>(d.current_requests))
        .bind(14, to_ns(d.window_start))
        .bind(15, to_ns(d.window_end))
        .bind(16, static_cast<int64_t>(d.triggered ? 1 : 0));
    good = st->run();
  }
  for (size_t i = 0; good && i < d.actions.size(); ++i) {
    good = insert_action(db, d.monitor, d.id, d.actions[i]);
  }
  if (good && options_.limit > 0) {
    // Dense ids per monitor: everything at or below newest - limit goes, with its actions.
    auto cut = db.prepare("SELECT MAX(id) - ?2 FROM guardrail_decisions WHERE monitor = ?1");
    good = cut != nullptr;
    int64_t cutoff = 0;
    if (good) {
      cut->bind(1, d.monitor).bind(2, static_cast<int64_t>(options_.limit));
      if (cut->step() && !cut->is_null(0)) cutoff = cut->integer(0);
      good = cut->ok();
    }
    if (good && cutoff > 0) {
      auto del = db.prepare("DELETE FROM guardrail_decisions WHERE monitor = ?1 AND id <= ?2");
      auto del_actions =
          db.prepare("DELETE FROM guardrail_actions WHERE monitor = ?1 AND decision_id <= ?2");
      good = del != nullptr && del_actions != nullptr;
      if (good) {
        del->bind(1, d.monitor).bind(2, cutoff);
        del_actions->bind(1, d.monitor).bind(2, cutoff);
        good = del->run() && del_actions->run();
      }
    }
  }
  if (good) good = db.commit();
  if (!good) {
    error_ = db.last_error();
    db.rollback();
    return false;
  }
  error_.clear();
  return true;
}

bool GuardrailAudit::record_action(std::string_view monitor, uint64_t decision_id,
                                   const ActionOutcome& outcome) {
  std::lock_guard lock(mu_);
  if (!db_) return false;
  // One statement: SQLite commits it on return (autocommit).
  if (!insert_action(*db_, monitor, decision_id, outcome)) {
    error_ = db_->last_error();
    return false;
  }
  error_.clear();
  return true;
}

uint64_t GuardrailAudit::record_event(const AuditEvent& event) {
  std::lock_guard lock(mu_);
  if (!db_) return 0;
  SqliteDb& db = *db_;
  if (!db.begin()) {
    error_ = db.last_error();
    return 0;
  }
  int64_t id = 0;
  bool good = false;
  if (auto st = db.prepare(
          "INSERT INTO guardrail_events (monitor, time, kind, detail) VALUES (?1, ?2, ?3, ?4) "
          "RETURNING seq")) {
    st->bind(1, event.monitor).bind(2, to_ns(event.time)).bind(3, event.kind).bind(4, event.detail);
    if (st->step()) id = st->integer(0);
    good = st->ok() && id > 0;
    st->reset();  // finishes the statement before COMMIT
  }
  if (good && options_.limit > 0) {
    // Events are rare: the exact newest `limit` of this monitor stay.
    auto del = db.prepare(
        "DELETE FROM guardrail_events WHERE monitor = ?1 AND seq <= (SELECT seq FROM "
        "guardrail_events WHERE monitor = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)");
    good = del != nullptr;
    if (good) {
      del->bind(1, event.monitor).bind(2, static_cast<int64_t>(options_.limit));
      good = del->run();
    }
  }
  if (good) good = db.commit();
  if (!good) {
    error_ = db.last_error();
    db.rollback();
    return 0;
  }
  error_.clear();
  return static_cast<uint64_t>(id);
}

std::vector<Decision> GuardrailAudit::decisions(std::string_view monitor,
                                                const DecisionQuery& query) const {
  std::vector<Decision> out;
  std::lock_guard lock(mu_);
  if (!db_) return out;
  SqliteDb& db = *db_;
  const Filter f = filter_for(monitor, query, /*with_result=*/true);
  auto st = db.prepare(
      "SELECT monitor, id, time, mode, result, reason, metric, threshold, observed, baseline, "
      "conditions, baseline_requests, current_requests, window_start, window_end, triggered, "
      "id AS seq_order FROM guardrail_decisions" +
      f.sql);
  if (!st) return out;
  bind_filter(*st, f);
  while (st->step()) {
    Decision d;
    d.monitor = st->text(0);
    d.id = static_cast<uint64_t>(st->integer(1));
    d.time = from_ns(st->integer(2));
    d.mode = st->text(3);
    d.result = result_from(st->integer(4));
    d.reason = st->text(5);
    d.metric = st->text(6);
    d.threshold = real_or_nan(*st, 7);
    d.observed = real_or_nan(*st, 8);
    d.baseline = real_or_nan(*st, 9);
    d.conditions = conditions_from(st->text(10));
    d.baseline_requests = static_cast<uint64_t>(st->integer(11));
    d.current_requests = static_cast<uint64_t>(st->integer(12));
    d.window_start = from_ns(st->integer(13));
    d.window_end = from_ns(st->integer(14));
    d.triggered = st->integer(15) != 0;
    out.push_back(std::move(d));
  }
  if (!st->ok()) return out;
  auto actions = db.prepare(
      "SELECT action, outcome, duration_seconds, started FROM guardrail_actions WHERE monitor = "
      "?1 AND decision_id = ?2 ORDER BY started, action");
  if (!actions) return out;
  for (Decision& d : out) {
    actions->bind(1, d.monitor).bind(2, static_cast<int64_t>(d.id));
    while (actions->step()) {
      d.actions.push_back({.action = actions->text(0),
                           .outcome = actions->text(1),
                           .duration_seconds = actions->real(2),
                           .started = from_ns(actions->integer(3))});
    }
    actions->reset();
  }
  return out;
}

std::vector<AuditEvent> GuardrailAudit::events(std::string_view monitor,
                                               const DecisionQuery& query) const {
  std::vector<AuditEvent> out;
  std::lock_guard lock(mu_);
  if (!db_) return out;
  const Filter f = filter_for(monitor, query, /*with_result=*/false);
  auto st = db_->prepare(
      "SELECT seq, time, monitor, kind, detail, seq AS seq_order FROM guardrail_events" + f.sql);
  if (!st) return out;
  bind_filter(*st, f);
  while (st->step()) {
    out.push_back({.id = static_cast<uint64_t>(st->integer(0)),
                   .time = from_ns(st->integer(1)),
                   .monitor = st->text(2),
                   .kind = st->text(3),
                   .detail = st->text(4)});
  }
  return out;
}

TimePoint GuardrailAudit::last_trigger(std::string_view monitor) const {
  std::lock_guard lock(mu_);
  if (!db_) return {};
  auto st = db_->prepare(
      "SELECT MAX(time) FROM guardrail_decisions WHERE monitor = ?1 AND triggered = 1");
  if (!st) return {};
  st->bind(1, monitor);
  if (st->step() && !st->is_null(0)) return from_ns(st->integer(0));
  return {};
}

}  // namespace vigil::detail
