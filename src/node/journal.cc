#include "node/journal.h"

#include <algorithm>

#include "common/log.h"

namespace passerelle::node {
namespace {

constexpr SqliteMigration kMigrations[] = {{1, R"sql(
CREATE TABLE journal (
  task_id         TEXT PRIMARY KEY,
  study_id        TEXT NOT NULL,
  round           INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('computed', 'posted', 'rejected')),
  idempotency_key TEXT NOT NULL,
  result          TEXT NOT NULL,     -- the TaskResult JSON: aggregates only, never rows
  computed_at     INTEGER NOT NULL,  -- microseconds since the epoch
  updated_at      INTEGER NOT NULL
);
CREATE INDEX journal_state ON journal(state, computed_at);
)sql"}};

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::filesystem::path& path, Clock& clock) {
  // WAL with synchronous=NORMAL survives a crash of the process. After a power loss the last
  // transactions may be gone: the node then computes the task again and posts it with a new key;
  // the hub keeps the first result it acknowledged (one result per task) and declines the second,
  // so a result is still counted once. FULL would add two fsyncs to every round.
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open({.path = path.string()}));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  return std::unique_ptr<Journal>(new Journal(std::move(db), clock));
}

Journal::~Journal() {
  Status st = FlushMarks();
  if (!st.ok()) {
    log::Warn(
        "node journal: acknowledgements not written (the results will be posted again at "
        "restart; the hub keeps the first): {}",
        st.message());
  }
}

bool Journal::MarkHeld(const std::string& task_id) const {
  return std::find(posted_unwritten_.begin(), posted_unwritten_.end(), task_id) !=
         posted_unwritten_.end();
}

Status Journal::WriteMarks() {
  if (posted_unwritten_.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Statement st, db_->Prepare("UPDATE journal SET state = 'posted', updated_at = ? "
                                              "WHERE task_id = ?"));
  const int64_t now = clock_.NowMicros();
  for (const auto& id : posted_unwritten_) {
    st.Reset();
    st.Bind(1, now).Bind(2, id);
    RETURN_IF_ERROR(st.Run().status());
  }
  return Status::Ok();
}

Status Journal::FlushMarks() {
  if (posted_unwritten_.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*db_));
  RETURN_IF_ERROR(WriteMarks());
  RETURN_IF_ERROR(tx.Commit());
  posted_unwritten_.clear();
  return Status::Ok();
}

Result<std::optional<Journal::Entry>> Journal::Find(const std::string& task_id) {
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT task_id, state, idempotency_key, result FROM "
                                             "journal WHERE task_id = ?"));
  q.Bind(1, task_id);
  ASSIGN_OR_RETURN(bool has, q.Step());
  if (!has) return std::optional<Entry>();
  Entry e{q.ColumnText(0), q.ColumnText(1), q.ColumnText(2), q.ColumnText(3)};
  if (MarkHeld(task_id)) e.state = "posted";
  return std::optional<Entry>(std::move(e));
}

Status Journal::RecordComputed(const std::string& task_id, const std::string& study_id, int round,
                               const std::string& idempotency_key, const std::string& result_json) {
  ASSIGN_OR_RETURN(Statement st, db_->Prepare("INSERT INTO journal VALUES (?, ?, ?, 'computed', "
                                              "?, ?, ?, ?)"));
  int64_t now = clock_.NowMicros();
  st.Bind(1, task_id).Bind(2, study_id).Bind(3, round).Bind(4, idempotency_key);
  st.Bind(5, result_json).Bind(6, now).Bind(7, now);
  return st.Run().status();
}

Status Journal::MarkFinal(const std::string& task_id, const std::string& state) {
  if (state == "posted") {
    if (!MarkHeld(task_id)) posted_unwritten_.push_back(task_id);
    // Written together (the rows of consecutive tasks share pages), at most kMarksHeld behind.
    if (posted_unwritten_.size() >= kMarksHeld) return FlushMarks();
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*db_));
  RETURN_IF_ERROR(WriteMarks());
  ASSIGN_OR_RETURN(Statement st,
                   db_->Prepare("UPDATE journal SET state = ?, updated_at = ? WHERE task_id = ?"));
  st.Bind(1, state).Bind(2, clock_.NowMicros()).Bind(3, task_id);
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(tx.Commit());
  posted_unwritten_.clear();
  return Status::Ok();
}

Result<std::vector<Journal::Entry>> Journal::Unposted() {
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT task_id, state, idempotency_key, result FROM "
                                             "journal WHERE state = 'computed' ORDER BY "
                                             "computed_at"));
  std::vector<Entry> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool has, q.Step());
    if (!has) break;
    if (MarkHeld(q.ColumnText(0))) continue;  // acknowledged, mark not yet written
    out.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnText(2), q.ColumnText(3)});
  }
  return out;
}

}  // namespace passerelle::node
