// The node's own governance, applied to every task whatever the hub says: before a task runs, the
// node checks in its own durable state (governance::NodeApprovals, kept by its data custodian
// with `passerelle node approve`) that the task's project is approved here and that today is
// inside the window the custodian recorded; every task it runs or refuses, and every result it
// sends, is an entry of the node's own signed audit log (task id, study, project, round, the hash
// of the exact task body received and of the exact result body sent), so that `passerelle audit
// reconcile` can check the node's log against the hub's.
//
// A task without a project is refused (rule node_approval): a hub that does not enforce
// governance cannot make a governed node run anything.
//
// node.toml keys (docs/governance.md, "Node configuration"):
//   [governance]  state = "node-state.sqlite"      approvals and audit log (SQLite)
//                 audit_key = "node-audit.key"     the node's private Ed25519 audit key
//
// Thread-safety: one thread at a time (the agent's loop).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/audit.h"
#include "governance/node_approvals.h"
#include "governance/types.h"
#include "protocol/messages.h"

namespace passerelle::node {

struct GovernanceGateOptions {
  // The node's governance state: its approvals and its audit log (SQLite, created when absent).
  std::filesystem::path state;
  // The node's private audit key file (`passerelle audit keygen`). Required: the node signs.
  std::filesystem::path audit_key;
};

class GovernanceGate {
 public:
  // Opens the node's approvals and audit log. `clock` outlives the gate.
  static Result<std::unique_ptr<GovernanceGate>> Open(const GovernanceGateOptions& options,
                                                      const std::string& node_id, Clock& clock);
  // The same on an already-open database and key (tests, the sandbox). `db` outlives the gate.
  static Result<std::unique_ptr<GovernanceGate>> Open(SqliteDb& db, const std::string& node_id,
                                                      governance::AuditKey key, Clock& clock);

  // Checks the task against the node's approvals; runs `execute` only when allowed. A refusal by
  // the node's governance is appended at once (task.refuse, with the hash of `task_body`, the
  // exact body received); a task that ran is appended by RecordResult (task.run: its result may
  // still be a policy refusal), in the same transaction as its result.send.
  protocol::TaskResult Run(const protocol::Task& task, std::string_view task_body,
                           const std::function<protocol::TaskResult()>& execute);
  // Appends, in one transaction, task.run (when Run executed this task) and result.send with the
  // hash of `result_body`, the exact body the node posts. The agent calls it before it journals
  // and posts the result: on failure it posts an error result instead (nothing is released
  // unrecorded).
  Status RecordResult(const protocol::Task& task, std::string_view result_body);

  governance::NodeApprovals& approvals() { return *approvals_; }
  governance::AuditLog& audit() { return *audit_; }

 private:
  GovernanceGate() = default;
  std::unique_ptr<SqliteDb> owned_db_;
  std::string node_id_;
  // task.run of the task Run executed last, until RecordResult appends it.
  std::optional<governance::AuditRecord> pending_run_;
  std::unique_ptr<governance::AuditLog> audit_;
  std::unique_ptr<governance::NodeApprovals> approvals_;
};

// What the agent calls for each new task: `gate`->Run when the node has its governance; without
// one (library use in tests), tasks naming no project run and a task naming a project is refused
// (this node cannot check its approvals).
protocol::TaskResult RunGoverned(GovernanceGate* gate, const protocol::Task& task,
                                 std::string_view task_body, const std::string& node_id,
                                 const std::function<protocol::TaskResult()>& execute);

}  // namespace passerelle::node
