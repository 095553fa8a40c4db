#include "governance/local.h"

#include <fmt/format.h>

namespace passerelle::governance {

Result<LocalHub> OpenLocalHub(const LocalHubOptions& options, Clock& clock, RandomSource& random) {
  std::optional<AuditKey> key;
  if (options.audit_key) {
    ASSIGN_OR_RETURN(AuditKey k, ReadAuditKeyFile(*options.audit_key));
    key = std::move(k);
  }
  GovernanceOptions go = options.service;
  go.path = options.state;
  LocalHub hub;
  ASSIGN_OR_RETURN(hub.service, GovernanceService::Open(go, std::move(key), clock, random));
  if (options.token.empty()) {
    hub.principal = Principal::LocalOperator();
  } else {
    ASSIGN_OR_RETURN(hub.principal, hub.service->Authenticate(options.token));
  }
  return hub;
}

Result<LocalNode> OpenLocalNode(const LocalNodeOptions& options, Clock& clock) {
  LocalNode node;
  SqliteOptions so;
  so.path = options.state.string();
  ASSIGN_OR_RETURN(node.db, SqliteDb::Open(so));
  std::string node_id = options.node_id;
  if (node_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> stored, AuditLog::StoredWriter(*node.db));
    if (!stored) {
      return Status::InvalidArgument(fmt::format(
          "{}: no node id recorded yet; give the node id (--node)", options.state.string()));
    }
    node_id = *stored;
  }
  std::optional<AuditKey> key;
  if (options.audit_key) {
    ASSIGN_OR_RETURN(AuditKey k, ReadAuditKeyFile(*options.audit_key));
    key = std::move(k);
  }
  ASSIGN_OR_RETURN(node.audit, AuditLog::Open(*node.db, node_id, std::move(key), clock));
  ASSIGN_OR_RETURN(node.approvals, NodeApprovals::Open(*node.db, node_id, clock, node.audit.get()));
  return node;
}

}  // namespace passerelle::governance
