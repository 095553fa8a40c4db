#include "privacy/sqlite_state.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace passerelle::privacy {
namespace {

constexpr const char* kSchema = R"sql(
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
PRAGMA user_version = 1;
)sql";

// A prepared statement, finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepared() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Status::Internal(fmt::format("privacy state: {}", sqlite3_errmsg(db_)));
  }
  void Bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
  void BindBlob(int i, std::span<const uint8_t> b) {
    sqlite3_bind_blob(st_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(st_); }
  int64_t Int(int col) { return sqlite3_column_int64(st_, col); }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(st_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  std::vector<uint8_t> Blob(int col) {
    const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(st_, col));
    return b ? std::vector<uint8_t>(b, b + sqlite3_column_bytes(st_, col)) : std::vector<uint8_t>();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

Status StepError(sqlite3* db, std::string_view what) {
  return Status::IoError(fmt::format("privacy state: {}: {}", what, sqlite3_errmsg(db)));
}

}  // namespace

Result<std::unique_ptr<SqlitePrivacyState>> SqlitePrivacyState::Open(
    const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IoError(fmt::format("privacy state {}: cannot open: {}", path.string(), msg));
  }
  std::unique_ptr<SqlitePrivacyState> s(new SqlitePrivacyState(db));
  sqlite3_busy_timeout(db, 5000);
  RETURN_IF_ERROR(s->Exec("PRAGMA journal_mode = WAL"));
  RETURN_IF_ERROR(s->Exec("PRAGMA synchronous = FULL"));
  RETURN_IF_ERROR(s->Exec(kSchema));
  return s;
}

SqlitePrivacyState::~SqlitePrivacyState() { sqlite3_close(db_); }

Status SqlitePrivacyState::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IoError(fmt::format("privacy state: {}", msg));
  }
  return Status::Ok();
}

Result<std::pair<int64_t, int64_t>> SqlitePrivacyState::SpentLocked(std::string_view node_id,
                                                                    std::string_view project_id) {
  Stmt q(db_,
         "SELECT COALESCE(SUM(rho_units), 0), COUNT(*) FROM privacy_ledger "
         "WHERE node_id = ?1 AND project_id = ?2");
  RETURN_IF_ERROR(q.Prepared());
  q.Bind(1, node_id);
  q.Bind(2, project_id);
  if (q.Step() != SQLITE_ROW) return StepError(db_, "reading the ledger");
  return std::pair<int64_t, int64_t>{q.Int(0), q.Int(1)};
}

Result<BudgetBalance> SqlitePrivacyState::Charge(const ChargeRequest& r) {
  RETURN_IF_ERROR(ValidateChargeRequest(r));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<BudgetBalance> {
    {
      Stmt seen(db_,
                "SELECT 1 FROM privacy_ledger WHERE node_id = ?1 AND project_id = ?2 AND "
                "release_id = ?3");
      RETURN_IF_ERROR(seen.Prepared());
      seen.Bind(1, r.node_id);
      seen.Bind(2, r.project_id);
      seen.Bind(3, r.release_id);
      const int rc = seen.Step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return StepError(db_, "reading the ledger");
      if (rc == SQLITE_ROW) {
        ASSIGN_OR_RETURN(auto spent, SpentLocked(r.node_id, r.project_id));
        BudgetBalance b = MakeBudgetBalance(r.budget_rho, spent.first, spent.second);
        b.already_charged = true;
        return b;
      }
    }
    ASSIGN_OR_RETURN(auto spent, SpentLocked(r.node_id, r.project_id));
    const int64_t cost = RhoToUnitsUp(r.rho);
    if (spent.first + cost > RhoToUnitsDown(r.budget_rho)) {
      return BudgetExceeded(r, spent.first, spent.second);
    }
    Stmt ins(db_,
             "INSERT INTO privacy_ledger (node_id, project_id, release_id, rho_units, "
             "description, time_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    RETURN_IF_ERROR(ins.Prepared());
    ins.Bind(1, r.node_id);
    ins.Bind(2, r.project_id);
    ins.Bind(3, r.release_id);
    ins.Bind(4, cost);
    ins.Bind(5, r.description);
    ins.Bind(6, r.time_micros);
    if (ins.Step() != SQLITE_DONE) return StepError(db_, "recording a charge");
    return MakeBudgetBalance(r.budget_rho, spent.first + cost, spent.second + 1);
  };
  Result<BudgetBalance> out = body();
  if (out.ok()) {
    Status st = Exec("COMMIT");
    if (!st.ok()) {
      Exec("ROLLBACK").PermitUncheckedError();
      return st;
    }
  } else {
    Exec("ROLLBACK").PermitUncheckedError();
  }
  return out;
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
  Stmt q(db_,
         "SELECT release_id, rho_units, description, time_micros FROM privacy_ledger "
         "WHERE node_id = ?1 AND project_id = ?2 ORDER BY rowid");
  RETURN_IF_ERROR(q.Prepared());
  q.Bind(1, node_id);
  q.Bind(2, project_id);
  std::vector<LedgerEntry> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.push_back({q.Text(0), q.Int(1), q.Text(2), q.Int(3)});
  }
  if (rc != SQLITE_DONE) return StepError(db_, "reading the ledger");
  return out;
}

Result<std::vector<StoredFingerprint>> SqlitePrivacyState::Recent(std::string_view node_id,
                                                                  std::string_view project_id,
                                                                  size_t limit) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT study_id, fingerprint, time_micros FROM population_fingerprints "
         "WHERE node_id = ?1 AND project_id = ?2 ORDER BY seq DESC LIMIT ?3");
  RETURN_IF_ERROR(q.Prepared());
  q.Bind(1, node_id);
  q.Bind(2, project_id);
  q.Bind(3, static_cast<int64_t>(limit));
  std::vector<StoredFingerprint> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Text(0), q.Blob(1), q.Int(2)});
  if (rc != SQLITE_DONE) return StepError(db_, "reading fingerprints");
  return out;
}

Status SqlitePrivacyState::Add(std::string_view node_id, std::string_view project_id,
                               const StoredFingerprint& f, size_t keep) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    Stmt ins(db_,
             "INSERT INTO population_fingerprints (node_id, project_id, study_id, fingerprint, "
             "time_micros) VALUES (?1, ?2, ?3, ?4, ?5)");
    RETURN_IF_ERROR(ins.Prepared());
    ins.Bind(1, node_id);
    ins.Bind(2, project_id);
    ins.Bind(3, f.study_id);
    ins.BindBlob(4, f.fingerprint);
    ins.Bind(5, f.time_micros);
    if (ins.Step() != SQLITE_DONE) return StepError(db_, "recording a fingerprint");
    Stmt prune(db_,
               "DELETE FROM population_fingerprints WHERE node_id = ?1 AND project_id = ?2 AND "
               "seq NOT IN (SELECT seq FROM population_fingerprints WHERE node_id = ?1 AND "
               "project_id = ?2 ORDER BY seq DESC LIMIT ?3)");
    RETURN_IF_ERROR(prune.Prepared());
    prune.Bind(1, node_id);
    prune.Bind(2, project_id);
    prune.Bind(3, static_cast<int64_t>(keep));
    if (prune.Step() != SQLITE_DONE) return StepError(db_, "pruning fingerprints");
    return Status::Ok();
  };
  Status st = body();
  if (!st.ok()) {
    Exec("ROLLBACK").PermitUncheckedError();
    return st;
  }
  return Exec("COMMIT");
}

}  // namespace passerelle::privacy
