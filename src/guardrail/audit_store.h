// src/guardrail/audit_store.h (internal): the guardrails' audit trail in SQLite.
//
//   auto audit = GuardrailAudit::open("/var/lib/app/vigil.db", {});
//   if (!audit->ok()) std::cerr << audit->error();
//   uint64_t id = audit->next_decision_id("model-release");
//   decision.id = id;
//   audit->record_decision(decision);            // committed when it returns (survives kill -9)
//   audit->record_action("model-release", id, {.action = "route-to-stable", .outcome = "ok"});
//   auto recent = audit->decisions("model-release", {.limit = 20});
//
// Tables (PRAGMA user_version is the alerting state store's; these tables are versioned by a row
// in guardrail_meta): guardrail_decisions (monitor, id) -> the decision (its conditions as a
// JSON array), guardrail_actions (monitor, decision id, action) -> its outcome (the decision's
// actions are these rows: an outcome is updated in place), guardrail_events
// (seq) -> baseline changes, pauses. The file may be the alerting engine's state database: other
// tables are left alone. Times are nanoseconds since the Unix epoch.
//
// A database that cannot be used (not a database, corrupt, not writable, a newer schema) leaves
// the store disabled: ok() false, error() says why, every call a no-op returning false/empty.
// A write that fails later sets error() and returns false (the caller counts it); ok() is false
// until a later write succeeds.
//
// Thread-safety: every member is safe from any thread (one connection under a mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/guardrail/monitor.h"

namespace vigil::detail {

class SqliteDb;

struct GuardrailAuditOptions {
  size_t limit = 100'000;  // rows kept per table and monitor (oldest trimmed)
};

class GuardrailAudit {
 public:
  // Opens (creating) the database at `path`. Never throws for a bad database: see ok().
  static std::unique_ptr<GuardrailAudit> open(const std::string& path,
                                              GuardrailAuditOptions options = {});
  ~GuardrailAudit();

  bool ok() const;
  std::string error() const;  // empty when ok
  const std::string& path() const noexcept { return path_; }

  // 1 + the largest decision id recorded for `monitor` (1 when none).
  uint64_t next_decision_id(std::string_view monitor);
  // Inserts (or replaces) the decision; committed on return.
  bool record_decision(const guardrail::Decision& decision);
  // Inserts or replaces the outcome of `outcome.action` for that decision; committed on return.
  bool record_action(std::string_view monitor, uint64_t decision_id,
                     const guardrail::ActionOutcome& outcome);
  // Appends an event (its id assigned and returned, 0 on failure).
  uint64_t record_event(const guardrail::AuditEvent& event);

  // Newest first (time, then id), with their action outcomes. An empty monitor means every
  // monitor; query.limit 0 means no limit.
  std::vector<guardrail::Decision> decisions(std::string_view monitor,
                                             const guardrail::DecisionQuery& query) const;
  std::vector<guardrail::AuditEvent> events(std::string_view monitor,
                                            const guardrail::DecisionQuery& query) const;
  // The time of the last decision of `monitor` that triggered (epoch when none): the monitor
  // restores its cooldown from it after a restart.
  guardrail::TimePoint last_trigger(std::string_view monitor) const;

 private:
  GuardrailAudit(std::string path, GuardrailAuditOptions options);
  std::string path_;
  GuardrailAuditOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
  std::string error_;
};

}  // namespace vigil::detail
