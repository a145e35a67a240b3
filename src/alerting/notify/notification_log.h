// src/alerting/notify/notification_log.h (internal): the dispatcher's notification log in SQLite
// (Alertmanager's nflog, extended with the notifications not yet confirmed).
//
// Two tables, prefixed nlog_ so that the file may be the AlertManager's state database:
//   nlog_entries: one row per notification handed to a receiver's queue: pending (written before
//     it is queued), delivered, or given up; the NotificationGroup as JSON so that a restarted
//     process can send pending ones again (cleared once delivered or given up; a pending one
//     that cannot be read back is given up at start).
//   nlog_state: per (receiver, integration key, group key) the firing and resolved fingerprint
//     sets last delivered and when (the dedup state of notify.go's DedupStage).
//
//   NotificationLog log;
//   if (!log.open(path)) report(log.error());
//   int64_t id = log.add_pending(...);         // flush path, batched in one transaction
//   log.mark_delivered(id, state);             // delivery thread, one transaction
//
// A failing database disables the log (error() says why); every call then does nothing.
// Thread-safety: every member is safe from any thread (one mutex around the connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/alerting/notifier.h"

namespace vigil::detail {
class SqliteDb;
}

namespace vigil::alerting::dispatch {

// The delivered state of one (receiver, integration, group): what was last sent and when.
// `integration` is the integration's key: its name and its index among the receiver's
// integrations of that name ("webhook/0", "pagerduty/1"), as Alertmanager's nflog keys by
// receiver, integration name and index; so adding an integration of one type does not shift the
// state of the others.
struct DedupState {
  std::string receiver;
  std::string integration;
  std::string group_key;
  std::vector<uint64_t> firing;    // sorted
  std::vector<uint64_t> resolved;  // sorted
  TimePoint at;
};

// A notification to write (or read back) as pending.
struct LogEntry {
  int64_t id = 0;
  std::string receiver;
  std::string integration;  // the integration's key (see DedupState)
  NotificationGroup group;
  std::vector<uint64_t> firing, resolved;
  TimePoint created;
};

// NotificationGroup <-> JSON (the log's payload). from_json returns false when malformed.
std::string group_to_json(const NotificationGroup& group);
bool group_from_json(const std::string& text, NotificationGroup* group);

class NotificationLog {
 public:
  NotificationLog();
  ~NotificationLog();

  // Opens (creating) the tables. False when the database cannot be used (error() says why).
  bool open(const std::string& path);
  bool enabled() const;
  bool ok() const;
  std::string error() const;

  // Writes entries as pending and state rows (flushes that record a state without sending), in
  // one transaction; sets each entry's id (0 when the log is off or failed).
  void write_flush(std::vector<LogEntry*>& entries, const std::vector<DedupState>& states);
  // Marks the entry delivered and records `state`, in one transaction.
  void mark_delivered(int64_t id, const DedupState& state);
  // Marks the entry given up (failed, dropped).
  void mark_given_up(int64_t id);
  // Reads the pending entries created after `since`, and the dedup state.
  std::vector<LogEntry> pending(TimePoint since);
  std::vector<DedupState> states(TimePoint since);
  // Deletes entries and states older than `before`.
  void expire(TimePoint before);

 private:
  void fail_locked(const std::string& what);
  bool write_state_locked(const DedupState& s);
  mutable std::mutex mu_;
  std::unique_ptr<vigil::detail::SqliteDb> db_;
  bool enabled_ = false;
  bool ok_ = true;
  std::string error_;
};

// Fingerprint sets as text ("a1,b2": hex) for the log.
std::string fingerprints_to_text(const std::vector<uint64_t>& fps);
std::vector<uint64_t> fingerprints_from_text(const std::string& text);

}  // namespace vigil::alerting::dispatch
