// PRIVATE to src/governance: the state behind GovernanceService, shared by its .cc files.
// Every method whose name ends in Locked REQUIRES: mu is held.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "common/wal_checkpointer.h"
#include "governance/audit.h"
#include "governance/catalog.h"
#include "governance/crypto_adapter.h"
#include "governance/governance.h"

namespace passerelle::governance {

struct GovernanceService::Impl {
  Impl(const GovernanceOptions& o, Clock& c, RandomSource& r) : options(o), clock(c), random(r) {}

  GovernanceOptions options;
  Clock& clock;
  RandomSource& random;
  std::unique_ptr<SqliteDb> db;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<CatalogStore> catalog;
  // Declared after `db`: stopped before the connection closes.
  std::unique_ptr<WalCheckpointer> checkpointer;
  std::mutex mu;
  // token id -> SHA-256 of the token, after a successful Argon2id check (TokenOptions).
  std::map<std::string, internal::Bytes32> verified_tokens;
  // Registered nodes, read on every node request: valid while db->ChangeStamp() is this stamp
  // (no commit since, by this connection or another: a node registered by the CLI is seen).
  std::map<std::string, Principal, std::less<>> node_principals;
  std::pair<int64_t, int64_t> node_principals_stamp{-1, -1};

  // -- helpers (governance.cc)
  Status RequireWritableLocked() const;
  Status AuthorizeLocked(const Principal& p, Action action, const Resource& r);
  // What every state change starts with: the service is writable (it holds its audit key), `by`
  // may do `action` to `r`, and a transaction is open (the change and its audit entry commit
  // together).
  Result<SqliteTransaction> BeginChangeLocked(const Principal& by, Action action,
                                              const Resource& r);
  // Appends a hub audit entry for an operation by `by`.
  Status AuditLocked(const Principal& by, std::string_view action, std::string_view project,
                     std::map<std::string, std::string> details = {});
  Result<Organisation> LoadOrganisationLocked(std::string_view id);
  Result<User> LoadUserLocked(std::string_view name);
  Result<NodeInfo> LoadNodeLocked(std::string_view id);
  Result<IssuedToken> IssueTokenLocked(const Principal& by, std::string_view user,
                                       std::string_view label, std::optional<int> days);

  // -- workflow loads (workflow.cc)
  Result<Call> LoadCallLocked(std::string_view id);
  Result<Application> LoadApplicationLocked(std::string_view id);
  Result<Project> LoadProjectLocked(std::string_view id);
  Result<Amendment> LoadAmendmentLocked(std::string_view project, int64_t id);
  Result<std::optional<Jurisdiction>> DatasetJurisdictionLocked(const DatasetRef& d);
  Status CheckProjectActiveLocked(std::string_view project, int32_t today);

  int32_t Today() const { return clock.TodayDays(); }
};

// "FR,QC" <-> a sorted, unique list.
std::string JoinJurisdictions(const std::vector<Jurisdiction>& js);
std::vector<Jurisdiction> SplitJurisdictions(std::string_view text);
bool Contains(const std::vector<Jurisdiction>& js, Jurisdiction j);
bool Contains(const std::vector<std::string>& v, std::string_view s);
// "user alice (researcher)" for messages.
std::string Describe(const Principal& p);

}  // namespace passerelle::governance
