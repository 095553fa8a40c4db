// A node's own approvals of projects, kept at the node by its data custodian, and the check the
// node runs before every task: whatever the hub says, a node runs nothing for a project its
// custodian has not approved, has revoked, or whose window (as the custodian recorded it) is
// closed.
//
// The history is append-only: each approval or revocation is a new row, the latest row of a
// project is its current state, and each is also an entry of the node's signed audit log when one
// is given.
//
// Thread-safety: one thread at a time (as its SqliteDb).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/audit.h"

namespace passerelle::governance {

struct NodeApproval {
  std::string project;
  bool approved = false;              // false: revoked
  std::string custodian;              // who approved or revoked
  std::string note;                   // the reason of a revocation, or a reference
  int32_t start_on = 0;               // days; the first day tasks may run
  int32_t end_on = 0;                 // days, exclusive: the first day they may not
  std::vector<std::string> datasets;  // the node's datasets allowed; empty: all of them
  int64_t recorded_at = 0;            // micros
};

struct NodeApprovalInput {
  std::string project;
  std::string custodian;
  // Default: today.
  std::optional<int32_t> start_on;
  // Default: start + access_months.
  std::optional<int32_t> end_on;
  int access_months = 18;
  std::vector<std::string> datasets;
  std::string note;
};

class NodeApprovals {
 public:
  // Opens the approvals of `node_id` in `db` (component "node_approvals"). When `audit` is given,
  // each approval and revocation is appended to it in the same transaction. `db`, `clock` and
  // `audit` outlive the store.
  static Result<std::unique_ptr<NodeApprovals>> Open(SqliteDb& db, std::string node_id,
                                                     Clock& clock, AuditLog* audit = nullptr);

  Result<NodeApproval> Approve(const NodeApprovalInput& input);
  Result<NodeApproval> Revoke(std::string_view project, std::string_view custodian,
                              std::string_view reason);
  // The current state of a project at this node (nullopt: never approved).
  Result<std::optional<NodeApproval>> Get(std::string_view project);
  // The current state of every project ever approved here.
  Result<std::vector<NodeApproval>> List();
  // Every approval and revocation of a project, oldest first.
  Result<std::vector<NodeApproval>> History(std::string_view project);

  // OK when this node may run a task of `project` on `dataset` (empty: not dataset-specific)
  // on day `today`; otherwise kPermissionDenied naming the rule (node_approval, node_dataset).
  Status CheckNodeMayRun(std::string_view project, int32_t today, std::string_view dataset = "");
  // The same, today by the store's clock.
  Status CheckNodeMayRun(std::string_view project, std::string_view dataset = "") {
    return CheckNodeMayRun(project, clock_.TodayDays(), dataset);
  }

  const std::string& node_id() const { return node_id_; }

 private:
  NodeApprovals(SqliteDb& db, std::string node_id, Clock& clock, AuditLog* audit)
      : db_(db), node_id_(std::move(node_id)), clock_(clock), audit_(audit) {}
  Status Insert(const NodeApproval& a);
  SqliteDb& db_;
  std::string node_id_;
  Clock& clock_;
  AuditLog* audit_;
};

}  // namespace passerelle::governance
