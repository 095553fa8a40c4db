// The node's durable privacy state in a SQLite file: the privacy-budget ledger and the recent
// population fingerprints, so that a restart resets neither. On the project's SQLite wrapper
// (common/sqlite.h): WAL mode, synchronous=FULL, and a BEGIN IMMEDIATE transaction around every
// check-and-charge so that two processes sharing the file cannot both spend the last of a budget.
//
// Schema (user_version 1):
//   privacy_ledger(node_id, project_id, release_id, rho_units, description, time_micros),
//     primary key (node_id, project_id, release_id); triggers refuse UPDATE and DELETE
//     (append-only).
//   population_fingerprints(seq, node_id, project_id, study_id, fingerprint, time_micros).
// The tables can live in the node's main state database: Open() creates them if absent.
//
// Thread-safety: thread-safe (one connection, serialised by a mutex).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "common/status.h"
#include "privacy/accountant.h"
#include "privacy/differencing.h"

namespace passerelle {
class SqliteDb;
}

namespace passerelle::privacy {

class SqlitePrivacyState final : public PrivacyLedger, public FingerprintStore {
 public:
  static Result<std::unique_ptr<SqlitePrivacyState>> Open(const std::filesystem::path& path);
  ~SqlitePrivacyState() override;

  Result<BudgetBalance> Charge(const ChargeRequest& request) override;
  Result<BudgetBalance> Balance(std::string_view node_id, std::string_view project_id,
                                double budget_rho) override;
  Result<std::vector<LedgerEntry>> Entries(std::string_view node_id,
                                           std::string_view project_id) override;

  Result<std::vector<StoredFingerprint>> Recent(std::string_view node_id,
                                                std::string_view project_id, size_t limit) override;
  Status Add(std::string_view node_id, std::string_view project_id,
             const StoredFingerprint& fingerprint, size_t keep) override;

 private:
  explicit SqlitePrivacyState(std::unique_ptr<SqliteDb> db);
  Result<std::pair<int64_t, int64_t>> SpentLocked(std::string_view node_id,
                                                  std::string_view project_id);
  std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace passerelle::privacy
