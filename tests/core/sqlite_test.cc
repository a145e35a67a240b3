// The SQLite wrapper: statements, transactions, and the errors a user sees for a corrupt,
// foreign or unwritable file; committed data survives the process being killed (kill -9).
#include "core/detail/sqlite.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vigil::detail {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil_sqlite_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    std::filesystem::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(SqliteTest, StatementsBindAndReadBack) {
  auto db = SqliteDb::open(path("a.db"));
  ASSERT_TRUE(db) << db.error;
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (k TEXT PRIMARY KEY, i INTEGER, r REAL, n TEXT)"));
  auto ins = (*db)->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_NE(ins, nullptr);
  ins->bind(1, std::string_view("key\0with nul", 12))
      .bind(2, int64_t{-7})
      .bind(3, 2.5)
      .bind_null(4);
  ASSERT_TRUE(ins->run()) << (*db)->last_error();
  EXPECT_EQ((*db)->changes(), 1);
  // The same key again violates the primary key: an error, not a throw.
  ins->bind(1, std::string_view("key\0with nul", 12)).bind(2, int64_t{1}).bind(3, 0.0).bind_null(4);
  EXPECT_FALSE(ins->run());
  EXPECT_NE((*db)->last_error().find("UNIQUE"), std::string::npos) << (*db)->last_error();

  auto q = (*db)->prepare("SELECT k, i, r, n FROM t");
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), std::string("key\0with nul", 12));
  EXPECT_EQ(q->integer(1), -7);
  EXPECT_EQ(q->real(2), 2.5);
  EXPECT_TRUE(q->is_null(3));
  EXPECT_FALSE(q->step());
  EXPECT_TRUE(q->ok());
}

TEST_F(SqliteTest, BadSqlIsAnErrorWithTheReason) {
  auto db = SqliteDb::open(":memory:");
  ASSERT_TRUE(db) << db.error;
  EXPECT_EQ((*db)->prepare("SELEC 1"), nullptr);
  EXPECT_NE((*db)->last_error().find("syntax error"), std::string::npos) << (*db)->last_error();
  EXPECT_FALSE((*db)->exec("INSERT INTO missing VALUES (1)"));
  EXPECT_NE((*db)->last_error().find("no such table"), std::string::npos);
}

TEST_F(SqliteTest, RollbackDiscardsAndCommitKeeps) {
  auto db = SqliteDb::open(path("tx.db"));
  ASSERT_TRUE(db) << db.error;
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (v INTEGER)"));
  ASSERT_TRUE((*db)->begin());
  ASSERT_TRUE((*db)->exec("INSERT INTO t VALUES (1)"));
  (*db)->rollback();
  ASSERT_TRUE((*db)->begin());
  ASSERT_TRUE((*db)->exec("INSERT INTO t VALUES (2)"));
  ASSERT_TRUE((*db)->commit());
  auto q = (*db)->prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "2");
}

TEST_F(SqliteTest, AFileThatIsNotADatabaseIsRefusedByName) {
  {
    std::ofstream f(path("junk.db"), std::ios::binary);
    f << std::string(8192, 'x');
  }
  auto db = SqliteDb::open(path("junk.db"));
  ASSERT_FALSE(db);
  EXPECT_NE(db.error.find(path("junk.db")), std::string::npos) << db.error;
  EXPECT_NE(db.error.find("not a database"), std::string::npos) << db.error;
}

TEST_F(SqliteTest, ACorruptDatabaseIsRefused) {
  {
    auto db = SqliteDb::open(path("c.db"));
    ASSERT_TRUE(db) << db.error;
    ASSERT_TRUE((*db)->exec("PRAGMA journal_mode=DELETE; CREATE TABLE t (v TEXT)"));
    ASSERT_TRUE((*db)->begin());  // one transaction: 2000 fsyncs would take seconds
    auto ins = (*db)->prepare("INSERT INTO t VALUES (?1)");
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(ins->bind(1, std::string(100, static_cast<char>('a' + i % 26))).run());
    ASSERT_TRUE((*db)->commit());
  }
  {
    // Overwrite a stretch in the middle (past the header page): pages of the table break.
    std::fstream f(path("c.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3 * 4096 + 100);
    f << std::string(20000, '\xff');
  }
  auto db = SqliteDb::open(path("c.db"));
  ASSERT_FALSE(db);
  EXPECT_NE(db.error.find(path("c.db")), std::string::npos) << db.error;
}

TEST_F(SqliteTest, AnUnwritablePlaceIsAClearError) {
  // sysfs refuses new files even to root, so this holds whoever runs the tests.
  auto db = SqliteDb::open("/sys/vigil_sqlite_test.db");
  ASSERT_FALSE(db);
  EXPECT_NE(db.error.find("/sys/vigil_sqlite_test.db"), std::string::npos) << db.error;
}

TEST_F(SqliteTest, AMissingDirectoryIsAClearError) {
  auto db = SqliteDb::open(path("no/such/dir/x.db"));
  ASSERT_FALSE(db);
  EXPECT_NE(db.error.find("cannot open"), std::string::npos) << db.error;
}

TEST_F(SqliteTest, CommittedRowsSurviveKillDashNine) {
  const std::string file = path("k.db");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = SqliteDb::open(file);
    if (!db) _exit(2);
    if (!(*db)->exec("CREATE TABLE t (v INTEGER)")) _exit(3);
    auto ins = (*db)->prepare("INSERT INTO t VALUES (?1)");
    for (int64_t i = 0; i < 100; ++i)
      if (!ins->bind(1, i).run()) _exit(4);
    // An open transaction that is never committed must not show up.
    (*db)->begin();
    (*db)->exec("INSERT INTO t VALUES (1000)");
    kill(getpid(), SIGKILL);
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  auto db = SqliteDb::open(file);
  ASSERT_TRUE(db) << db.error;
  auto q = (*db)->prepare("SELECT count(*), max(v) FROM t");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->integer(0), 100);
  EXPECT_EQ(q->integer(1), 99);
}

}  // namespace
}  // namespace vigil::detail
