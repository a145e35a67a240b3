// src/core/detail/sqlite.h (internal, not installed): vigil's one SQLite wrapper, for the state
// that must survive a crash (alert state, silences, history, notification log, guardrail audit).
// A thin RAII layer over the SQLite C API: open in WAL mode with a busy timeout, check the file
// is a sound database, run statements with bound parameters, transactions. Built as its own
// small target, vigil_core_sqlite, linked PRIVATE by the components that persist (so SQLite stays
// out of vigil::core).
//
//   auto db = vigil::detail::SqliteDb::open("/var/lib/app/vigil.db");
//   if (!db) { warn(db.error); /* keep working in memory, count it */ }
//   db->exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)");
//   auto st = db->prepare("INSERT OR REPLACE INTO kv VALUES (?1, ?2)");
//   st->bind(1, "a").bind(2, "b");
//   if (!st->run()) warn(db->last_error());
//   auto q = db->prepare("SELECT k, v FROM kv");
//   while (q->step()) use(q->text(0), q->text(1));
//
// Durability: WAL mode with synchronous=NORMAL survives a process crash (kill -9) without losing
// a committed transaction; only a power loss may lose the last ones. Thread-safety: a SqliteDb
// and its statements are used by one thread at a time (the owner serialises; the connection is
// opened with SQLITE_OPEN_NOMUTEX). Errors never throw: open() returns a ParseResult, statements
// return false and leave the message in last_error().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/parse_result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vigil::detail {

class SqliteDb;

// A prepared statement. bind() indexes are 1-based, column() indexes 0-based.
class SqliteStatement {
 public:
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, double value);
  SqliteStatement& bind_null(int index);

  // Steps once: true while a row is available; false when done or on error (see ok()).
  bool step();
  // Runs to completion (for statements that return no rows) and resets; false on error.
  bool run();
  // Resets for reuse and clears the bindings.
  void reset();
  // False after a step that failed.
  bool ok() const noexcept { return ok_; }

  std::string text(int column) const;
  int64_t integer(int column) const;
  double real(int column) const;
  bool is_null(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  bool ok_ = true;
};

class SqliteDb {
 public:
  // Opens (creating if needed) the database at `path` in WAL mode, and runs `PRAGMA quick_check`:
  // a file that is not a database, is corrupt, or cannot be written gives an error naming the
  // path and SQLite's reason. ":memory:" opens a private in-memory database.
  static ParseResult<std::unique_ptr<SqliteDb>> open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results; false on error (last_error() says why).
  bool exec(std::string_view sql);
  // Prepares a statement; nullptr on error.
  std::unique_ptr<SqliteStatement> prepare(std::string_view sql);

  // BEGIN IMMEDIATE / COMMIT / ROLLBACK.
  bool begin();
  bool commit();
  void rollback();

  // The last error: "path: message".
  const std::string& last_error() const noexcept { return last_error_; }
  const std::string& path() const noexcept { return path_; }
  int64_t changes() const noexcept;

 private:
  friend class SqliteStatement;
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  void set_error(std::string_view what);
  sqlite3* db_;
  std::string path_;
  std::string last_error_;
};

}  // namespace vigil::detail
