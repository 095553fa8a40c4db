// The hub's own audit entries (study.submit, task.create, result.accept, study.complete, ...):
// written first to an outbox table in the hub's state database, inside the transaction of the
// state change they record, then appended to the governance audit log (hash-chained, signed) by a
// thread of their own, in batches, exactly once.
//
// Why (docs/federation.md, "Cost of governance auditing"): the audit log is in the governance
// database, another SQLite file. Appending each entry there from the loop thread cost a commit of
// its own and an Ed25519 signature per state change (a round of 10 nodes: 11 extra commits and 20
// signatures on the loop thread, a 200-node dispatch 200 signatures before the first task left),
// and a crash between the engine's commit and the audit commit lost the entry. With the outbox the
// entry commits with the state change or not at all, the loop thread only inserts a row, and the
// forwarder appends many entries per governance transaction.
//
// Exactly once: outbox ids only increase (the row at the mark is never deleted), and the governance
// database keeps, for each outbox (named by a random source id stored beside it), the last id
// appended, updated in the same transaction as the entries (AuditLog::AppendImported). A forwarder
// stopped between that commit and deleting the outbox rows skips them the next time. A new state
// database has a new source id, so a mark never hides the rows of another outbox.
//
// What it changes for readers: an entry reaches the audit log a few milliseconds after its state
// change (batch_delay), or after a hub restart. `Flush` appends everything committed so far; the
// audit export endpoint and the sandbox's verification call it first. Each forwarded entry's `time`
// is the time of its state change.
//
// Thread-safety: AuditOutbox belongs to the thread of the state database connection it writes
// with (the hub's loop thread). AuditForwarder's methods may be called from any thread; its thread
// uses its own connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/audit.h"

namespace passerelle::governance {
class GovernanceService;
}

namespace passerelle::hub {

class AuditOutbox {
 public:
  // Creates the outbox tables in `db` (idempotently) and its source id on first use. `db` and
  // `clock` must outlive the outbox.
  static Result<std::unique_ptr<AuditOutbox>> Open(SqliteDb& db, Clock& clock,
                                                   RandomSource& random);

  // Inserts the record: inside the caller's open transaction when there is one (the entry then
  // commits or rolls back with the state change), else in a transaction of its own.
  Status Add(const governance::AuditRecord& record);

  // The outbox's name in the governance database's marks ("hub-state-<hex>").
  const std::string& source() const { return source_; }

 private:
  AuditOutbox(SqliteDb& db, Clock& clock, std::string source)
      : db_(db), clock_(clock), source_(std::move(source)) {}
  SqliteDb& db_;
  Clock& clock_;
  std::string source_;
};

struct AuditForwarderOptions {
  // After a Notify, how long the forwarder waits for more entries before appending: the entries
  // of a round then share one governance transaction (and the notifying transaction has time to
  // commit).
  std::chrono::milliseconds batch_delay{5};
  // How often it looks without a Notify (for entries committed after their Notify was taken, and
  // to retry after an error).
  std::chrono::milliseconds interval{100};
  // Entries per governance transaction: the governance service's lock is held that long (about
  // 40 us an entry), so the loop thread's next authentication waits at most that.
  int batch = 32;
  // Appended rows are deleted from the outbox when the forwarder has caught up and at least this
  // many are waiting to be deleted (and when it stops).
  int64_t prune_after = 512;
};

struct AuditForwarderStats {
  int64_t appended = 0;      // entries appended to the audit log
  int64_t transactions = 0;  // governance transactions that appended them
  int64_t pruned = 0;        // outbox rows deleted after being appended
  int64_t errors = 0;        // failed attempts (logged; retried: nothing is lost)
};

class AuditForwarder {
 public:
  // Opens its own connection to the state database at `path` (a file: the outbox's transactions
  // are the loop thread's) and starts the thread, which first appends whatever a previous run left
  // in the outbox. `gov` must outlive the forwarder.
  static Result<std::unique_ptr<AuditForwarder>> Start(const std::string& path, std::string source,
                                                       governance::GovernanceService& gov,
                                                       AuditForwarderOptions options = {});
  AuditForwarder(const AuditForwarder&) = delete;
  AuditForwarder& operator=(const AuditForwarder&) = delete;
  // Stops the thread after appending what the outbox holds.
  ~AuditForwarder();

  // New entries were (or are about to be) committed to the outbox.
  void Notify();
  // Appends, on the calling thread, every entry committed to the outbox so far.
  Status Flush();

  AuditForwarderStats stats() const;

 private:
  AuditForwarder(std::unique_ptr<SqliteDb> db, std::string source,
                 governance::GovernanceService& gov, AuditForwarderOptions options);
  void Loop();
  // Appends what the outbox holds above the mark; prunes when caught up (always when `final`).
  Status Drain(bool final);

  std::unique_ptr<SqliteDb> db_;  // guarded by drain_mu_
  const std::string source_;
  governance::GovernanceService& gov_;
  const AuditForwarderOptions options_;

  std::mutex drain_mu_;  // one drain at a time (the thread's or a Flush)
  int64_t mark_ = -1;    // last id appended (-1: not read yet); guarded by drain_mu_
  int64_t pruned_ = 0;   // rows up to this id are deleted; guarded by drain_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
  bool stop_ = false;
  AuditForwarderStats stats_;
  std::thread thread_;
};

}  // namespace passerelle::hub
