// src/alerting/state_store.h (internal): the SQLite store behind AlertManagerOptions::state_path.
// Persists alert state, silences and history so that they survive a crash (kill -9).
//
//   auto store = StateStore::open("/var/lib/app/alerts.db", {.history_limit = 1000});
//   if (store->ok()) manager.restore(store->load());
//   // The manager calls the StateSink methods under its lock: they only queue the change.
//   // The writer thread writes what is queued in one transaction: at once when the manager
//   // says a round is done (round_done(), after its lock is released), else writer_delay after
//   // the first queued change (silences, removed rules). flush() writes now, synchronously.
//
// A database that cannot be used (not a database, corrupt, foreign tables, a schema version from
// the future, not writable) leaves the store disabled: ok() is false, status() says why, the
// reason is printed on stderr once, and the StateSink calls only forward to `next`. A write that
// fails later is counted, reported the same way, and retried at the next flush (the changes stay
// queued, within the queue bound).
//
// Schema (PRAGMA user_version = 1): alert_state (rule, fingerprint) -> the alert; silences (id)
// -> the silence; alert_history (seq) -> an ended alert, trimmed to history_limit. Times are
// nanoseconds since the Unix epoch (0: unset); label lists are JSON arrays of [name, value].
//
// Thread-safety: every member is safe from any thread. The sink methods take a small queue lock
// only; flush() serialises on the database lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "vigil/alerting/manager.h"
#include "vigil/metrics/registry.h"

namespace vigil::detail {

class SqliteDb;

inline constexpr int kStateSchemaVersion = 1;

struct StateStoreOptions {
  size_t history_limit = 1000;                 // rows of alert_history kept (0: all)
  size_t max_queued = 10'000;                  // queued changes beyond this are dropped (counted)
  std::chrono::milliseconds writer_delay{10};  // the writer thread's batching delay
  metrics::Registry* self_metrics = nullptr;   // vigil_alerting_persistence_*
  alerting::StateSink* next = nullptr;         // another sink every change is forwarded to
  bool writer_thread = true;
};

class StateStore final : public alerting::StateSink {
 public:
  // Opens (creating) the database at `path`. Never throws for a bad database: see ok().
  static std::unique_ptr<StateStore> open(const std::string& path, StateStoreOptions options);
  ~StateStore() override;  // flushes what is queued, stops the writer
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // False when the database could not be opened or set up (memory only).
  bool ok() const noexcept { return db_ != nullptr; }
  alerting::PersistenceStatus status() const;

  // Reads the stored state (alerts, silences, history oldest first, newest history_limit).
  alerting::RestoredState load();
  // Writes the queued changes in one transaction now. True when nothing failed.
  bool flush();
  // An evaluation round ended: the writer thread writes its changes now (does not wait).
  void round_done();

  // StateSink: queue the change (and forward to options.next).
  void alert_changed(const alerting::Alert& alert) override;
  void alert_removed(const std::string& rule, uint64_t fingerprint) override;
  void silence_changed(const alerting::Silence& silence) override;
  void silence_deleted(const std::string& id) override;
  void history_added(const alerting::HistoryEntry& entry) override;

 private:
  struct Queue {
    std::map<std::pair<std::string, uint64_t>, std::optional<alerting::Alert>>
        alerts;                                                        // nullopt: removed
    std::map<std::string, std::optional<alerting::Silence>> silences;  // nullopt: deleted
    std::vector<alerting::HistoryEntry> history;
    size_t size() const { return alerts.size() + silences.size() + history.size(); }
    bool empty() const { return size() == 0; }
  };

  StateStore(std::string path, StateStoreOptions options);
  void fail(const std::string& message);  // counts, records, prints once
  bool room_for_new(size_t extra);        // queue_mu held; counts a drop when full
  void queued();                          // queue_mu not held: wakes the writer
  bool write(const Queue& batch);         // db_mu held
  void requeue(Queue batch);              // a failed batch goes back behind newer changes
  void writer_main();

  const std::string path_;
  const StateStoreOptions options_;

  mutable std::mutex db_mu_;
  std::unique_ptr<SqliteDb> db_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  Queue queue_;
  bool stop_ = false;
  bool urgent_ = false;  // round_done() since the last flush

  mutable std::mutex status_mu_;
  alerting::PersistenceStatus status_;
  bool printed_ = false;

  metrics::Family<metrics::Counter>* errors_metric_ = nullptr;
  metrics::Family<metrics::Counter>* dropped_metric_ = nullptr;

  std::thread writer_;
};

}  // namespace vigil::detail
