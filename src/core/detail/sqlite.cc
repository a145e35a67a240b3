// The SQLite wrapper: see sqlite.h.
#include "core/detail/sqlite.h"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace vigil::detail {

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    ok_ = false;
    db_->set_error("bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    ok_ = false;
    db_->set_error("bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) {
    ok_ = false;
    db_->set_error("bind");
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
    ok_ = false;
    db_->set_error("bind");
  }
  return *this;
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    ok_ = false;
    db_->set_error("step");
  }
  return false;
}

bool SqliteStatement::run() {
  bool good = ok_;
  if (good) {
    while (step()) {
    }
    good = ok_;
  }
  reset();
  return good;
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  ok_ = true;
}

std::string SqliteStatement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t SqliteStatement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double SqliteStatement::real(int column) const { return sqlite3_column_double(stmt_, column); }
bool SqliteStatement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

ParseResult<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path) {
  using R = ParseResult<std::unique_ptr<SqliteDb>>;
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return R::fail(path + ": cannot open the database: " + msg);
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 2000);
  // quick_check reads every page: a truncated or overwritten file fails here, not later.
  {
    auto check = db->prepare("PRAGMA quick_check");
    if (!check) return R::fail(path + ": not a usable database: " + db->last_error());
    std::string verdict;
    if (check->step()) verdict = check->text(0);
    if (!check->ok()) return R::fail(path + ": not a usable database: " + db->last_error());
    if (verdict != "ok") return R::fail(path + ": the database is corrupt: " + verdict);
  }
  if (!db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"))
    return R::fail(db->last_error());
  // A read-only file or directory shows up at the first write. Take the write lock and let go
  // (BEGIN IMMEDIATE needs it), which changes nothing in the file: a database that turns out to
  // be someone else's is left as it was.
  if (!db->exec("BEGIN IMMEDIATE; ROLLBACK;"))
    return R::fail(path + ": the database is not writable: " + db->last_error());
  return R::ok(std::move(db));
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

void SqliteDb::set_error(std::string_view what) {
  last_error_ = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
}

bool SqliteDb::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    last_error_ = path_ + ": " + (err != nullptr ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return false;
  }
  return true;
}

std::unique_ptr<SqliteStatement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    set_error("prepare");
    sqlite3_finalize(stmt);
    return nullptr;
  }
  return std::unique_ptr<SqliteStatement>(new SqliteStatement(this, stmt));
}

bool SqliteDb::begin() { return exec("BEGIN IMMEDIATE"); }
bool SqliteDb::commit() { return exec("COMMIT"); }
void SqliteDb::rollback() { exec("ROLLBACK"); }
int64_t SqliteDb::changes() const noexcept { return sqlite3_changes64(db_); }

}  // namespace vigil::detail
