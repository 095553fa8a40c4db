#include "hub/audit_outbox.h"

#include <fmt/format.h>
#include <pthread.h>

#include <array>
#include <vector>

#include "common/log.h"
#include "governance/governance.h"

namespace passerelle::hub {

namespace gov = passerelle::governance;

namespace {

// Created idempotently (as the linkage and secure-round tables): independent of the study
// engine's numbered migrations. Ids: SQLite gives a new row the largest id + 1, and pruning always
// keeps the row at the mark (Drain), so a new id is always above the mark, which the governance
// database's exactly-once bookkeeping relies on. (AUTOINCREMENT would give the same guarantee at
// the price of a write to sqlite_sequence, a page more in every commit of the loop thread.)
constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit_outbox (
  id     INTEGER PRIMARY KEY,
  time   INTEGER NOT NULL,   -- microseconds since the epoch: when the state change happened
  record TEXT NOT NULL       -- the AuditRecord as JSON (governance::AuditRecordToJson)
);
CREATE TABLE IF NOT EXISTS audit_outbox_source (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  source TEXT NOT NULL
);
)sql";

}  // namespace

Result<std::unique_ptr<AuditOutbox>> AuditOutbox::Open(SqliteDb& db, Clock& clock,
                                                       RandomSource& random) {
  RETURN_IF_ERROR(db.Execute(kSchema));
  std::array<uint8_t, 8> b{};
  random.Fill(b);
  std::string fresh = "hub-state-";
  for (uint8_t x : b) fresh += fmt::format("{:02x}", x);
  ASSIGN_OR_RETURN(Statement ins, db.Prepare("INSERT OR IGNORE INTO audit_outbox_source(id, "
                                             "source) VALUES(1, ?)"));
  ins.Bind(1, fresh);
  RETURN_IF_ERROR(ins.Run().status());
  ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT source FROM audit_outbox_source WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row)
    return Status::Internal(fmt::format("{}: the audit outbox has no source id", db.path()));
  return std::unique_ptr<AuditOutbox>(new AuditOutbox(db, clock, q.ColumnText(0)));
}

Status AuditOutbox::Add(const gov::AuditRecord& record) {
  ASSIGN_OR_RETURN(std::string text, gov::AuditRecordToJson(record));
  ASSIGN_OR_RETURN(Statement ins,
                   db_.Prepare("INSERT INTO audit_outbox(time, record) VALUES(?, ?)"));
  ins.Bind(1, clock_.NowMicros()).Bind(2, text);
  return ins.Run().status();
}

// ---- forwarder ----------------------------------------------------------------------------------

Result<std::unique_ptr<AuditForwarder>> AuditForwarder::Start(const std::string& path,
                                                              std::string source,
                                                              gov::GovernanceService& gov,
                                                              AuditForwarderOptions options) {
  if (path == ":memory:" || path.empty()) {
    return Status::InvalidArgument(
        "the audit forwarder needs the hub state database's file (a second connection reads its "
        "outbox)");
  }
  if (options.batch < 1) return Status::InvalidArgument("audit forwarder: batch must be >= 1");
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open({.path = path, .must_exist = true}));
  // Its few commits (pruning) never run a checkpoint here: the state checkpointer does.
  RETURN_IF_ERROR(db->Execute("PRAGMA wal_autocheckpoint=0"));
  return std::unique_ptr<AuditForwarder>(
      new AuditForwarder(std::move(db), std::move(source), gov, options));
}

AuditForwarder::AuditForwarder(std::unique_ptr<SqliteDb> db, std::string source,
                               gov::GovernanceService& gov, AuditForwarderOptions options)
    : db_(std::move(db)), source_(std::move(source)), gov_(gov), options_(options) {
  notified_ = true;  // whatever a previous run left in the outbox
  thread_ = std::thread([this] { Loop(); });
}

AuditForwarder::~AuditForwarder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditForwarder::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (notified_) return;
    notified_ = true;
  }
  cv_.notify_all();
}

Status AuditForwarder::Flush() { return Drain(/*final=*/false); }

AuditForwarderStats AuditForwarder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void AuditForwarder::Loop() {
  pthread_setname_np(pthread_self(), "audit-forward");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait_for(lock, options_.interval, [this] { return stop_ || notified_; });
    if (notified_ && !stop_) {
      // Let the round's other entries (and the notifying commit) arrive: one transaction for all.
      cv_.wait_for(lock, options_.batch_delay, [this] { return stop_; });
    }
    notified_ = false;
    const bool stopping = stop_;
    lock.unlock();
    Status st = Drain(stopping);
    if (!st.ok()) {
      log::Warn(
          "hub: audit entries not yet appended to the audit log (kept in the state "
          "database's outbox; retried): {}",
          st.message());
    }
    lock.lock();
    if (!st.ok()) ++stats_.errors;
    if (stopping) return;
  }
}

Status AuditForwarder::Drain(bool final) {
  std::lock_guard<std::mutex> drain(drain_mu_);
  if (mark_ < 0) {
    ASSIGN_OR_RETURN(mark_, gov_.AuditImportMark(source_));
    pruned_ = 0;
  }
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT id, time, record FROM audit_outbox WHERE id "
                                             "> ? ORDER BY id LIMIT ?"));
  std::vector<gov::PendingAuditRecord> batch;
  for (;;) {
    batch.clear();
    q.Reset();
    q.Bind(1, mark_).Bind(2, static_cast<int64_t>(options_.batch));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      gov::PendingAuditRecord p;
      p.id = q.ColumnInt(0);
      p.time_micros = q.ColumnInt(1);
      auto record = gov::AuditRecordFromJson(q.ColumnText(2));
      if (!record.ok()) {
        return record.status().WithContext(
            fmt::format("{}: audit_outbox row {}", db_->path(), p.id));
      }
      p.record = std::move(record).value();
      batch.push_back(std::move(p));
    }
    q.Reset();  // ends the read transaction before the governance commit
    if (batch.empty()) break;
    ASSIGN_OR_RETURN(int64_t mark, gov_.ImportAudits(source_, batch));
    std::lock_guard<std::mutex> lock(mu_);
    stats_.appended += static_cast<int64_t>(batch.size());
    ++stats_.transactions;
    mark_ = mark;
  }
  if (mark_ - 1 > pruned_ && (final || mark_ - pruned_ >= options_.prune_after)) {
    // Keeps the row at the mark: new ids stay above it (see kSchema).
    ASSIGN_OR_RETURN(Statement del, db_->Prepare("DELETE FROM audit_outbox WHERE id < ?"));
    del.Bind(1, mark_);
    ASSIGN_OR_RETURN(int64_t n, del.Run());
    pruned_ = mark_ - 1;
    std::lock_guard<std::mutex> lock(mu_);
    stats_.pruned += n;
  }
  return Status::Ok();
}

}  // namespace passerelle::hub
