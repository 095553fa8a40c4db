#include "node/governance_gate.h"

#include <fmt/format.h>

#include <vector>

#include "common/log.h"

namespace passerelle::node {

namespace gov = passerelle::governance;

Result<std::unique_ptr<GovernanceGate>> GovernanceGate::Open(const GovernanceGateOptions& options,
                                                             const std::string& node_id,
                                                             Clock& clock) {
  if (options.state.empty() || options.audit_key.empty()) {
    return Status::InvalidArgument(
        "governance.state and governance.audit_key are required: the node checks its own "
        "approvals and signs its audit log (see docs/governance.md, \"Node configuration\")");
  }
  ASSIGN_OR_RETURN(gov::AuditKey key, gov::ReadAuditKeyFile(options.audit_key));
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open({.path = options.state.string()}));
  ASSIGN_OR_RETURN(auto gate, Open(*db, node_id, std::move(key), clock));
  gate->owned_db_ = std::move(db);
  return gate;
}

Result<std::unique_ptr<GovernanceGate>> GovernanceGate::Open(SqliteDb& db,
                                                             const std::string& node_id,
                                                             gov::AuditKey key, Clock& clock) {
  ASSIGN_OR_RETURN(std::optional<std::string> writer, gov::AuditLog::StoredWriter(db));
  if (writer && *writer != node_id) {
    return Status::InvalidArgument(fmt::format(
        "the node's governance state belongs to node \"{}\", not \"{}\"", *writer, node_id));
  }
  std::unique_ptr<GovernanceGate> gate(new GovernanceGate());
  gate->node_id_ = node_id;
  ASSIGN_OR_RETURN(gate->audit_, gov::AuditLog::Open(db, node_id, std::move(key), clock));
  ASSIGN_OR_RETURN(gate->approvals_,
                   gov::NodeApprovals::Open(db, node_id, clock, gate->audit_.get()));
  return gate;
}

protocol::TaskResult GovernanceGate::Run(const protocol::Task& task, std::string_view task_body,
                                         const std::function<protocol::TaskResult()>& execute) {
  Status may = task.project.empty()
                   ? gov::RuleViolation(StatusCode::kPermissionDenied, gov::rule::kNodeApproval,
                                        "the task names no project: this node runs only tasks "
                                        "of projects its custodian approved")
                   : approvals_->CheckNodeMayRun(task.project, task.dataset);
  protocol::TaskResult r;
  if (!may.ok()) {
    r.task_id = task.task_id;
    r.study_id = task.study_id;
    r.round = task.round;
    r.node = node_id_;
    r.status = protocol::ResultStatus::kRefused;
    r.rule = std::string(gov::rule::kNodeApproval);
    if (may.message().find("[rule: node_dataset]") != std::string::npos) {
      r.rule = std::string(gov::rule::kNodeDataset);
    }
    r.message = may.message();
    log::Warn("node {}: task {} refused by the node's governance: {}", node_id_, task.task_id,
              may.message());
    auto e = audit_->Append(gov::AuditRecord::TaskRefuse(
        node_id_, task.task_id, task.study_id, task.round, task.project, task_body, r.rule));
    if (!e.ok()) {
      log::Error("node {}: audit log: {}", node_id_, e.status().message());
    }
    return r;
  }
  pending_run_ = gov::AuditRecord::TaskRun(node_id_, task.task_id, task.study_id, task.round,
                                           task.project, task_body);
  return execute();
}

Status GovernanceGate::RecordResult(const protocol::Task& task, std::string_view result_body) {
  std::optional<gov::AuditRecord> run;
  if (pending_run_ && pending_run_->task_id == task.task_id) run = std::move(pending_run_);
  pending_run_.reset();
  std::vector<gov::AuditRecord> records;
  if (run) records.push_back(std::move(*run));
  records.push_back(gov::AuditRecord::ResultSend(node_id_, task.task_id, task.study_id, task.round,
                                                 task.project, result_body));
  return audit_->AppendAll(records);  // one write: one commit, one signature
}

protocol::TaskResult RunGoverned(GovernanceGate* gate, const protocol::Task& task,
                                 std::string_view task_body, const std::string& node_id,
                                 const std::function<protocol::TaskResult()>& execute) {
  if (gate) return gate->Run(task, task_body, execute);
  if (task.project.empty()) return execute();
  protocol::TaskResult r;
  r.task_id = task.task_id;
  r.study_id = task.study_id;
  r.round = task.round;
  r.node = node_id;
  r.status = protocol::ResultStatus::kRefused;
  r.rule = std::string(gov::rule::kNodeApproval);
  r.message = fmt::format(
      "node {}: task of project {} refused: this node has no governance state to check its "
      "approvals ([governance] in node.toml)",
      node_id, task.project);
  return r;
}

}  // namespace passerelle::node
