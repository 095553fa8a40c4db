// Opening governance state from the command line: the hub's governance file acted on as a user
// (a bearer token) or as the local operator, and a node's approvals with its audit log. Used by
// src/cli's governance commands; the hub and node services open their state themselves.
//
// Thread-safety: the returned objects as documented in governance.h and node_approvals.h.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/audit.h"
#include "governance/governance.h"
#include "governance/node_approvals.h"

namespace passerelle::governance {

struct LocalHubOptions {
  // The hub's governance SQLite file.
  std::filesystem::path state = "hub-governance.sqlite";
  // The hub's private audit key: needed for every state change (and for exports).
  std::optional<std::filesystem::path> audit_key;
  // Act as the user of this bearer token; empty: as the local operator (administrator).
  std::string token;
  // Options of the service (its path is taken from `state`).
  GovernanceOptions service;
};

struct LocalHub {
  std::unique_ptr<GovernanceService> service;
  Principal principal;
};

Result<LocalHub> OpenLocalHub(const LocalHubOptions& options, Clock& clock, RandomSource& random);

struct LocalNodeOptions {
  // The node's state SQLite file (approvals and audit log).
  std::filesystem::path state = "node-state.sqlite";
  // The node id; empty: the one recorded in the state by an earlier run.
  std::string node_id;
  // The node's private audit key: needed to approve or revoke.
  std::optional<std::filesystem::path> audit_key;
};

struct LocalNode {
  std::unique_ptr<SqliteDb> db;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<NodeApprovals> approvals;
};

Result<LocalNode> OpenLocalNode(const LocalNodeOptions& options, Clock& clock);

}  // namespace passerelle::governance
