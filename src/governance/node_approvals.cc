#include "governance/node_approvals.h"

#include <fmt/format.h>

#include "common/date.h"
#include "common/strings.h"
#include "governance/schema.h"
#include "governance/types.h"

namespace passerelle::governance {
namespace {

constexpr SqliteMigration kNodeApprovalMigrations[] = {
    {1, R"sql(
CREATE TABLE node_approvals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project TEXT NOT NULL,
  approved INTEGER NOT NULL,
  custodian TEXT NOT NULL,
  note TEXT NOT NULL,
  start_on INTEGER NOT NULL,
  end_on INTEGER NOT NULL,
  datasets TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX node_approvals_project ON node_approvals(project, id);
CREATE TRIGGER node_approvals_no_update BEFORE UPDATE ON node_approvals
BEGIN SELECT RAISE(ABORT, 'node_approvals is append-only'); END;
CREATE TRIGGER node_approvals_no_delete BEFORE DELETE ON node_approvals
BEGIN SELECT RAISE(ABORT, 'node_approvals is append-only'); END;
)sql"},
};

constexpr std::string_view kColumns =
    "SELECT project, approved, custodian, note, start_on, end_on, datasets, recorded_at FROM "
    "node_approvals";

NodeApproval FromRow(Statement& st) {
  NodeApproval a;
  a.project = st.ColumnText(0);
  a.approved = st.ColumnInt(1) != 0;
  a.custodian = st.ColumnText(2);
  a.note = st.ColumnText(3);
  a.start_on = static_cast<int32_t>(st.ColumnInt(4));
  a.end_on = static_cast<int32_t>(st.ColumnInt(5));
  for (const std::string& d : Split(st.ColumnText(6), ',')) {
    if (!d.empty()) a.datasets.push_back(d);
  }
  a.recorded_at = st.ColumnInt(7);
  return a;
}

}  // namespace

Result<std::unique_ptr<NodeApprovals>> NodeApprovals::Open(SqliteDb& db, std::string node_id,
                                                           Clock& clock, AuditLog* audit) {
  RETURN_IF_ERROR(ValidateId(node_id, "node"));
  RETURN_IF_ERROR(MigrateComponent(db, "node_approvals", kNodeApprovalMigrations));
  return std::unique_ptr<NodeApprovals>(new NodeApprovals(db, std::move(node_id), clock, audit));
}

Status NodeApprovals::Insert(const NodeApproval& a) {
  ASSIGN_OR_RETURN(Savepoint sp, Savepoint::Begin(db_, "node_approval"));
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare("INSERT INTO node_approvals(project, approved, custodian, note, "
                               "start_on, end_on, datasets, recorded_at) VALUES(?1, ?2, ?3, ?4, "
                               "?5, ?6, ?7, ?8)"));
  st.Bind(1, a.project)
      .Bind(2, a.approved ? 1 : 0)
      .Bind(3, a.custodian)
      .Bind(4, a.note)
      .Bind(5, a.start_on)
      .Bind(6, a.end_on)
      .Bind(7, Join(a.datasets, ","))
      .Bind(8, a.recorded_at);
  RETURN_IF_ERROR(st.Run().status());
  if (audit_) {
    AuditRecord r;
    r.actor = a.custodian;
    r.action = a.approved ? "node.approve" : "node.revoke";
    r.project = a.project;
    r.node = node_id_;
    r.details = {{"start_on", FormatDate(a.start_on)},
                 {"end_on", FormatDate(a.end_on)},
                 {"datasets", Join(a.datasets, ",")},
                 {"note", a.note}};
    RETURN_IF_ERROR(audit_->Append(r).status());
  }
  return sp.Release();
}

Result<NodeApproval> NodeApprovals::Approve(const NodeApprovalInput& in) {
  RETURN_IF_ERROR(ValidateId(in.project, "project"));
  if (Trim(in.custodian).empty()) {
    return Status::InvalidArgument("node approval: name the custodian who approves");
  }
  if (in.access_months < 1 || in.access_months > 120) {
    return Status::InvalidArgument(
        fmt::format("node approval: access months {} is not in 1..120", in.access_months));
  }
  for (const std::string& d : in.datasets) RETURN_IF_ERROR(ValidateId(d, "dataset"));
  NodeApproval a;
  a.project = in.project;
  a.approved = true;
  a.custodian = in.custodian;
  a.note = in.note;
  a.start_on = in.start_on.value_or(clock_.TodayDays());
  a.end_on = in.end_on.value_or(AddMonths(a.start_on, in.access_months));
  a.datasets = in.datasets;
  a.recorded_at = clock_.NowMicros();
  if (a.end_on <= a.start_on) {
    return Status::InvalidArgument(
        fmt::format("node approval of {}: the window ends ({}) before it starts ({})", a.project,
                    FormatDate(a.end_on), FormatDate(a.start_on)));
  }
  RETURN_IF_ERROR(Insert(a));
  return a;
}

Result<NodeApproval> NodeApprovals::Revoke(std::string_view project, std::string_view custodian,
                                           std::string_view reason) {
  if (Trim(custodian).empty() || Trim(reason).empty()) {
    return Status::InvalidArgument("node revocation: name the custodian and give a reason");
  }
  ASSIGN_OR_RETURN(std::optional<NodeApproval> cur, Get(project));
  if (!cur || !cur->approved) {
    return Status::FailedPrecondition(
        fmt::format("project {} is not approved at node {}: nothing to revoke", project, node_id_));
  }
  NodeApproval a = *cur;
  a.approved = false;
  a.custodian = std::string(custodian);
  a.note = std::string(reason);
  a.recorded_at = clock_.NowMicros();
  RETURN_IF_ERROR(Insert(a));
  return a;
}

Result<std::optional<NodeApproval>> NodeApprovals::Get(std::string_view project) {
  ASSIGN_OR_RETURN(Statement st, db_.Prepare(std::string(kColumns) +
                                             " WHERE project = ?1 ORDER BY id DESC LIMIT 1"));
  st.Bind(1, project);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<NodeApproval>();
  return std::optional<NodeApproval>(FromRow(st));
}

Result<std::vector<NodeApproval>> NodeApprovals::List() {
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare(std::string(kColumns) +
                               " WHERE id IN (SELECT max(id) FROM node_approvals GROUP BY "
                               "project) ORDER BY project"));
  std::vector<NodeApproval> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(FromRow(st));
  }
  return out;
}

Result<std::vector<NodeApproval>> NodeApprovals::History(std::string_view project) {
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare(std::string(kColumns) + " WHERE project = ?1 ORDER BY id"));
  st.Bind(1, project);
  std::vector<NodeApproval> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(FromRow(st));
  }
  return out;
}

Status NodeApprovals::CheckNodeMayRun(std::string_view project, int32_t today,
                                      std::string_view dataset) {
  auto deny = [&](std::string_view rule_name, std::string_view why) {
    return RuleViolation(
        StatusCode::kPermissionDenied, rule_name,
        fmt::format("node {} refuses the task of project {}: {}", node_id_, project, why));
  };
  ASSIGN_OR_RETURN(std::optional<NodeApproval> a, Get(project));
  if (!a) return deny(rule::kNodeApproval, "its custodian has not approved the project");
  if (!a->approved) {
    return deny(rule::kNodeApproval,
                fmt::format("its custodian revoked the approval ({})", a->note));
  }
  if (today < a->start_on) {
    return deny(rule::kNodeApproval,
                fmt::format("the node's window opens on {}", FormatDate(a->start_on)));
  }
  if (today >= a->end_on) {
    return deny(rule::kNodeApproval, fmt::format("the node's window ended on {} (last day {})",
                                                 FormatDate(a->end_on), FormatDate(a->end_on - 1)));
  }
  if (!dataset.empty() && !a->datasets.empty()) {
    bool allowed = false;
    for (const std::string& d : a->datasets) allowed = allowed || d == dataset;
    if (!allowed) {
      return deny(rule::kNodeDataset, fmt::format("dataset {} is not among those approved ({})",
                                                  dataset, Join(a->datasets, ", ")));
    }
  }
  return Status::Ok();
}

}  // namespace passerelle::governance
