#include "privacy/sqlite_state.h"

#include <fmt/format.h>

#include "common/sqlite.h"

namespace passerelle::privacy {
namespace {

// Version 1 of the schema. A released migration is never edited; add a new one.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS privacy_ledger (
  node_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  release_id TEXT NOT NULL,
  rho_units INTEGER NOT NULL CHECK (rho_units >= 0),
  description TEXT NOT NULL,
  time_micros INTEGER NOT NULL,
  PRIMARY KEY (node_id, project_id, release_id)
);
CREATE TRIGGER IF NOT EXISTS privacy_ledger_no_update BEFORE UPDATE ON privacy_ledger
BEGIN SELECT RAISE(ABORT, 'the privacy ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS privacy_ledger_no_delete BEFORE DELETE ON privacy_ledger
BEGIN SELECT RAISE(ABORT, 'the privacy ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS population_fingerprints (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  node_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  study_id TEXT NOT NULL,
  fingerprint BLOB NOT NULL,
  time_micros INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS population_fingerprints_project
  ON population_fingerprints (node_id, project_id, seq);
)sql";

constexpr SqliteMigration kMigrations[] = {{1, kSchemaV1}};

Status WithContext(const Status& st) { return st.ok() ? st : st.WithContext("privacy state"); }

}  // namespace

SqlitePrivacyState::SqlitePrivacyState(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
SqlitePrivacyState::~SqlitePrivacyState() = default;

Result<std::unique_ptr<SqlitePrivacyState>> SqlitePrivacyState::Open(
    const std::filesystem::path& path) {
  auto db = SqliteDb::Open({.path = path.string(), .synchronous = "FULL"});
  if (!db.ok()) return db.status().WithContext(fmt::format("privacy state {}", path.string()));
  RETURN_IF_ERROR(WithContext((*db)->Migrate(kMigrations)));
  return std::unique_ptr<SqlitePrivacyState>(new SqlitePrivacyState(std::move(db).value()));
}

Result<std::pair<int64_t, int64_t>> SqlitePrivacyState::SpentLocked(std::string_view node_id,
                                                                    std::string_view project_id) {
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT COALESCE(SUM(rho_units), 0), COUNT(*) FROM "
                                             "privacy_ledger WHERE node_id = ? AND project_id = "
                                             "?"));
  q.Bind(1, node_id).Bind(2, project_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::IoError("privacy state: reading the ledger gave no row");
  return std::pair<int64_t, int64_t>{q.ColumnInt(0), q.ColumnInt(1)};
}

Result<BudgetBalance> SqlitePrivacyState::Charge(const ChargeRequest& r) {
  RETURN_IF_ERROR(ValidateChargeRequest(r));
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*db_));
  {
    ASSIGN_OR_RETURN(Statement seen, db_->Prepare("SELECT 1 FROM privacy_ledger WHERE node_id = "
                                                  "? AND project_id = ? AND release_id = ?"));
    seen.Bind(1, r.node_id).Bind(2, r.project_id).Bind(3, r.release_id);
    ASSIGN_OR_RETURN(bool charged, seen.Step());
    if (charged) {
      seen.Reset();
      ASSIGN_OR_RETURN(auto spent, SpentLocked(r.node_id, r.project_id));
      BudgetBalance b = MakeBudgetBalance(r.budget_rho, spent.first, spent.second);
      b.already_charged = true;
      return b;  // the transaction rolls back: nothing was written
    }
  }
  ASSIGN_OR_RETURN(auto spent, SpentLocked(r.node_id, r.project_id));
  const int64_t cost = RhoToUnitsUp(r.rho);
  if (spent.first + cost > RhoToUnitsDown(r.budget_rho)) {
    return BudgetExceeded(r, spent.first, spent.second);
  }
  ASSIGN_OR_RETURN(Statement ins,
                   db_->Prepare("INSERT INTO privacy_ledger (node_id, project_id, release_id, "
                                "rho_units, description, time_micros) VALUES (?, ?, ?, ?, ?, ?)"));
  ins.Bind(1, r.node_id).Bind(2, r.project_id).Bind(3, r.release_id).Bind(4, cost);
  ins.Bind(5, r.description).Bind(6, r.time_micros);
  RETURN_IF_ERROR(WithContext(ins.Run().status()));
  RETURN_IF_ERROR(WithContext(tx.Commit()));
  return MakeBudgetBalance(r.budget_rho, spent.first + cost, spent.second + 1);
}

Result<BudgetBalance> SqlitePrivacyState::Balance(std::string_view node_id,
                                                  std::string_view project_id, double budget_rho) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(auto spent, SpentLocked(node_id, project_id));
  return MakeBudgetBalance(budget_rho, spent.first, spent.second);
}

Result<std::vector<LedgerEntry>> SqlitePrivacyState::Entries(std::string_view node_id,
                                                             std::string_view project_id) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT release_id, rho_units, description, "
                                             "time_micros FROM privacy_ledger WHERE node_id = ? "
                                             "AND project_id = ? ORDER BY rowid"));
  q.Bind(1, node_id).Bind(2, project_id);
  std::vector<LedgerEntry> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnInt(1), q.ColumnText(2), q.ColumnInt(3)});
  }
  return out;
}

Result<std::vector<StoredFingerprint>> SqlitePrivacyState::Recent(std::string_view node_id,
                                                                  std::string_view project_id,
                                                                  size_t limit) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT study_id, fingerprint, time_micros FROM "
                                             "population_fingerprints WHERE node_id = ? AND "
                                             "project_id = ? ORDER BY seq DESC LIMIT ?"));
  q.Bind(1, node_id).Bind(2, project_id).Bind(3, static_cast<int64_t>(limit));
  std::vector<StoredFingerprint> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.ColumnText(0), q.ColumnBlob(1), q.ColumnInt(2)});
  }
  return out;
}

Status SqlitePrivacyState::Add(std::string_view node_id, std::string_view project_id,
                               const StoredFingerprint& f, size_t keep) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*db_));
  ASSIGN_OR_RETURN(Statement ins,
                   db_->Prepare("INSERT INTO population_fingerprints (node_id, project_id, "
                                "study_id, fingerprint, time_micros) VALUES (?, ?, ?, ?, ?)"));
  ins.Bind(1, node_id).Bind(2, project_id).Bind(3, f.study_id);
  ins.BindBlob(4, f.fingerprint).Bind(5, f.time_micros);
  RETURN_IF_ERROR(WithContext(ins.Run().status()));
  ASSIGN_OR_RETURN(Statement prune,
                   db_->Prepare("DELETE FROM population_fingerprints WHERE node_id = ?1 AND "
                                "project_id = ?2 AND seq NOT IN (SELECT seq FROM "
                                "population_fingerprints WHERE node_id = ?1 AND project_id = ?2 "
                                "ORDER BY seq DESC LIMIT ?3)"));
  prune.Bind(1, node_id).Bind(2, project_id).Bind(3, static_cast<int64_t>(keep));
  RETURN_IF_ERROR(WithContext(prune.Run().status()));
  return WithContext(tx.Commit());
}

}  // namespace passerelle::privacy
