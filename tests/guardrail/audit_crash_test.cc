// The audit trail across kill -9: a child process records decisions (and their actions) as fast
// as it can and tells the parent, through a pipe, each id whose record_decision/record_action
// returned true; the parent kills it with SIGKILL in the middle and reopens the file: every
// decision the child was told was committed is there, with its action, and the file is usable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "guardrail/audit_store.h"

namespace vigil::detail {
namespace {

using guardrail::Decision;
using guardrail::Result;
using guardrail::TimePoint;

const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

[[noreturn]] void child_main(const std::string& db, int out_fd) {
  auto audit = GuardrailAudit::open(db);
  if (!audit->ok()) ::_exit(2);
  for (uint64_t i = 1; i < 1'000'000; ++i) {
    Decision d;
    d.id = audit->next_decision_id("crash");
    d.monitor = "crash";
    d.time = kT0 + std::chrono::milliseconds(i);
    d.mode = "cohort";
    d.result = i % 3 == 0 ? Result::kFail : Result::kPass;
    d.reason = "decision " + std::to_string(d.id);
    d.triggered = i % 3 == 0;
    d.conditions.push_back({.metric = "success_rate", .result = d.result, .reason = d.reason});
    if (!audit->record_decision(d)) ::_exit(4);
    if (!audit->record_action("crash", d.id, {.action = "rollback", .outcome = "ok"})) ::_exit(5);
    if (::write(out_fd, &d.id, sizeof d.id) != static_cast<ssize_t>(sizeof d.id)) ::_exit(6);
  }
  ::_exit(7);
}

TEST(GuardrailAuditCrash, EveryCommittedDecisionSurvivesKill9) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vigil_gr_audit_crash_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "vigil.db").string();

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    child_main(db, fds[1]);
  }
  ::close(fds[1]);
  // Read the committed ids until 300 arrived, then kill -9 (the child is writing the next ones).
  std::set<uint64_t> committed;
  uint64_t id = 0;
  while (committed.size() < 300 && ::read(fds[0], &id, sizeof id) == sizeof id) {
    committed.insert(id);
  }
  ::kill(child, SIGKILL);
  // What was in the pipe when it died was committed too.
  while (::read(fds[0], &id, sizeof id) == sizeof id) committed.insert(id);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << WEXITSTATUS(status);
  ASSERT_GE(committed.size(), 300u);

  auto audit = GuardrailAudit::open(db);
  ASSERT_TRUE(audit->ok()) << audit->error();
  auto decisions = audit->decisions("crash", {.limit = 0});
  std::set<uint64_t> found;
  for (const Decision& d : decisions) {
    found.insert(d.id);
    if (committed.count(d.id) != 0) {
      ASSERT_EQ(d.actions.size(), 1u) << "decision " << d.id;
      EXPECT_EQ(d.actions[0].outcome, "ok");
      EXPECT_EQ(d.reason, "decision " + std::to_string(d.id));
    }
  }
  for (uint64_t c : committed) EXPECT_EQ(found.count(c), 1u) << "decision " << c << " lost";
  // Ids are dense and at most one decision beyond the last reported one was committed.
  EXPECT_EQ(*found.rbegin(), found.size());
  EXPECT_LE(found.size(), committed.size() + 1);
  EXPECT_EQ(audit->next_decision_id("crash"), found.size() + 1);
  // Still writable.
  Decision d;
  d.id = audit->next_decision_id("crash");
  d.monitor = "crash";
  d.time = kT0;
  EXPECT_TRUE(audit->record_decision(d)) << audit->error();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::detail
