// GovernanceService: calls, applications, reviews, selection, decisions, access windows,
// amendments and closure.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/date.h"
#include "common/strings.h"
#include "governance/governance.h"
#include "governance/governance_impl.h"

namespace passerelle::governance {
namespace {

Status Rule(std::string_view rule_name, std::string_view message) {
  return RuleViolation(StatusCode::kFailedPrecondition, rule_name, message);
}

std::string AxesText(const std::vector<Axis>& axes) {
  std::vector<std::string> names;
  for (Axis a : axes) names.emplace_back(AxisName(a));
  return Join(names, ",");
}

Result<std::vector<Axis>> ParseAxesText(std::string_view text) {
  std::vector<Axis> out;
  for (const std::string& part : Split(text, ',')) {
    if (part.empty()) continue;
    ASSIGN_OR_RETURN(Axis a, ParseAxis(part));
    out.push_back(a);
  }
  return out;
}

Result<std::vector<std::string>> Strings(SqliteDb& db, std::string_view sql, std::string_view key) {
  ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.Bind(1, key);
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.ColumnText(0));
  }
  return out;
}

Result<std::vector<DatasetRef>> Datasets(SqliteDb& db, std::string_view sql, std::string_view key) {
  ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.Bind(1, key);
  std::vector<DatasetRef> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(DatasetRef{st.ColumnText(0), st.ColumnText(1)});
  }
  return out;
}

Result<std::vector<DecisionRecord>> Decisions(SqliteDb& db, std::string_view sql,
                                              std::string_view key) {
  ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.Bind(1, key);
  std::vector<DecisionRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    DecisionRecord d;
    ASSIGN_OR_RETURN(d.jurisdiction, ParseJurisdiction(st.ColumnText(0)));
    d.decision = st.ColumnText(1) == "approve" ? Decision::kApprove : Decision::kRefuse;
    d.member = st.ColumnText(2);
    d.comment = st.ColumnText(3);
    d.decided_on = static_cast<int32_t>(st.ColumnInt(4));
    out.push_back(std::move(d));
  }
  return out;
}

ApplicationState ParseApplicationState(std::string_view s) {
  if (s == "selected") return ApplicationState::kSelected;
  if (s == "not_selected") return ApplicationState::kNotSelected;
  return ApplicationState::kSubmitted;
}

ProjectState ParseProjectState(std::string_view s) {
  if (s == "approved") return ProjectState::kApproved;
  if (s == "refused") return ProjectState::kRefused;
  if (s == "closed") return ProjectState::kClosed;
  return ProjectState::kPending;
}

AmendmentState ParseAmendmentState(std::string_view s) {
  if (s == "applied") return AmendmentState::kApplied;
  if (s == "refused") return AmendmentState::kRefused;
  return AmendmentState::kProposed;
}

Status ExecBound(SqliteDb& db, std::string_view sql, std::initializer_list<std::string_view> args) {
  ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  int i = 1;
  for (std::string_view a : args) st.Bind(i++, a);
  return st.Run().status();
}

}  // namespace

std::string_view ApplicationStateName(ApplicationState s) {
  switch (s) {
    case ApplicationState::kSubmitted:
      return "submitted";
    case ApplicationState::kSelected:
      return "selected";
    case ApplicationState::kNotSelected:
      return "not_selected";
  }
  return "?";
}

std::string_view DecisionName(Decision d) { return d == Decision::kApprove ? "approve" : "refuse"; }

std::string_view ProjectStateName(ProjectState s) {
  switch (s) {
    case ProjectState::kPending:
      return "pending";
    case ProjectState::kApproved:
      return "approved";
    case ProjectState::kRefused:
      return "refused";
    case ProjectState::kClosed:
      return "closed";
  }
  return "?";
}

std::string_view AmendmentKindName(AmendmentKind k) {
  switch (k) {
    case AmendmentKind::kExtendWindow:
      return "extend-window";
    case AmendmentKind::kAddMember:
      return "add-member";
    case AmendmentKind::kRemoveMember:
      return "remove-member";
    case AmendmentKind::kAddDataset:
      return "add-dataset";
  }
  return "?";
}

Result<AmendmentKind> ParseAmendmentKind(std::string_view text) {
  for (AmendmentKind k : {AmendmentKind::kExtendWindow, AmendmentKind::kAddMember,
                          AmendmentKind::kRemoveMember, AmendmentKind::kAddDataset}) {
    if (text == AmendmentKindName(k)) return k;
  }
  return Status::InvalidArgument(
      fmt::format("unknown amendment \"{}\" (expected extend-window, add-member, remove-member or "
                  "add-dataset)",
                  text));
}

std::string_view AmendmentStateName(AmendmentState s) {
  switch (s) {
    case AmendmentState::kProposed:
      return "proposed";
    case AmendmentState::kApplied:
      return "applied";
    case AmendmentState::kRefused:
      return "refused";
  }
  return "?";
}

// ---- loads --------------------------------------------------------------------------------------

Result<Call> GovernanceService::Impl::LoadCallLocked(std::string_view id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT id, title, description, axes, opens_on, closes_on, "
                               "projects_to_fund, joint, access_months, min_reviews, selected_on, "
                               "created_by FROM calls WHERE id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("call {} does not exist", id));
  Call c;
  c.id = st.ColumnText(0);
  c.title = st.ColumnText(1);
  c.description = st.ColumnText(2);
  ASSIGN_OR_RETURN(c.axes, ParseAxesText(st.ColumnText(3)));
  c.opens_on = static_cast<int32_t>(st.ColumnInt(4));
  c.closes_on = static_cast<int32_t>(st.ColumnInt(5));
  c.projects_to_fund = static_cast<int>(st.ColumnInt(6));
  c.joint = st.ColumnInt(7) != 0;
  c.access_months = static_cast<int>(st.ColumnInt(8));
  c.min_reviews = static_cast<int>(st.ColumnInt(9));
  if (!st.IsNull(10)) c.selected_on = static_cast<int32_t>(st.ColumnInt(10));
  c.created_by = st.ColumnText(11);
  return c;
}

Result<Application> GovernanceService::Impl::LoadApplicationLocked(std::string_view id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT id, call_id, title, axis, summary, lead, legal_basis, "
                               "pia_done, pia_reference, pia_required, jurisdictions, state, "
                               "submitted_at FROM applications WHERE id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("application {} does not exist", id));
  Application a;
  a.input.id = st.ColumnText(0);
  a.input.call_id = st.ColumnText(1);
  a.input.title = st.ColumnText(2);
  ASSIGN_OR_RETURN(a.input.axis, ParseAxis(st.ColumnText(3)));
  a.input.summary = st.ColumnText(4);
  a.input.lead = st.ColumnText(5);
  a.input.legal_basis = st.ColumnText(6);
  a.input.pia_done = st.ColumnInt(7) != 0;
  a.input.pia_reference = st.ColumnText(8);
  a.pia_required = st.ColumnInt(9) != 0;
  a.jurisdictions = SplitJurisdictions(st.ColumnText(10));
  a.state = ParseApplicationState(st.ColumnText(11));
  a.submitted_at = st.ColumnInt(12);
  ASSIGN_OR_RETURN(a.input.team, Strings(*db,
                                         "SELECT user FROM application_members WHERE "
                                         "application = ?1 ORDER BY user",
                                         id));
  ASSIGN_OR_RETURN(a.input.datasets, Datasets(*db,
                                              "SELECT node, dataset FROM application_datasets "
                                              "WHERE application = ?1 ORDER BY node, dataset",
                                              id));
  return a;
}

Result<Project> GovernanceService::Impl::LoadProjectLocked(std::string_view id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT id, call_id, title, axis, lead, legal_basis, pia_done, "
                               "pia_reference, dsa_reference, state, access_months, start_on, "
                               "end_on, closed_on, close_reason FROM projects WHERE id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("project {} does not exist", id));
  Project p;
  p.id = st.ColumnText(0);
  p.call_id = st.ColumnText(1);
  p.title = st.ColumnText(2);
  ASSIGN_OR_RETURN(p.axis, ParseAxis(st.ColumnText(3)));
  p.lead = st.ColumnText(4);
  p.legal_basis = st.ColumnText(5);
  p.pia_done = st.ColumnInt(6) != 0;
  p.pia_reference = st.ColumnText(7);
  p.dsa_reference = st.ColumnText(8);
  p.state = ParseProjectState(st.ColumnText(9));
  p.access_months = static_cast<int>(st.ColumnInt(10));
  if (!st.IsNull(11)) p.start_on = static_cast<int32_t>(st.ColumnInt(11));
  if (!st.IsNull(12)) p.end_on = static_cast<int32_t>(st.ColumnInt(12));
  if (!st.IsNull(13)) p.closed_on = static_cast<int32_t>(st.ColumnInt(13));
  p.close_reason = st.ColumnText(14);
  ASSIGN_OR_RETURN(p.members, Strings(*db,
                                      "SELECT user FROM project_members WHERE project = ?1 "
                                      "ORDER BY user",
                                      id));
  ASSIGN_OR_RETURN(p.datasets, Datasets(*db,
                                        "SELECT node, dataset FROM project_datasets WHERE "
                                        "project = ?1 ORDER BY node, dataset",
                                        id));
  ASSIGN_OR_RETURN(std::vector<std::string> js,
                   Strings(*db,
                           "SELECT jurisdiction FROM project_jurisdictions WHERE project = ?1 "
                           "ORDER BY jurisdiction",
                           id));
  p.jurisdictions = SplitJurisdictions(Join(js, ","));
  ASSIGN_OR_RETURN(p.decisions, Decisions(*db,
                                          "SELECT jurisdiction, decision, member, comment, "
                                          "decided_on FROM decisions WHERE project = ?1 ORDER "
                                          "BY jurisdiction",
                                          id));
  return p;
}

Result<Amendment> GovernanceService::Impl::LoadAmendmentLocked(std::string_view project,
                                                               int64_t id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT id, project, kind, value, reason, proposed_by, state, "
                               "jurisdictions FROM amendments WHERE id = ?1 AND project = ?2"));
  st.Bind(1, id).Bind(2, project);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(fmt::format("amendment {} of project {} does not exist", id, project));
  }
  Amendment a;
  a.id = st.ColumnInt(0);
  a.project = st.ColumnText(1);
  ASSIGN_OR_RETURN(a.input.kind, ParseAmendmentKind(st.ColumnText(2)));
  a.input.value = st.ColumnText(3);
  a.input.reason = st.ColumnText(4);
  a.proposed_by = st.ColumnText(5);
  a.state = ParseAmendmentState(st.ColumnText(6));
  a.jurisdictions = SplitJurisdictions(st.ColumnText(7));
  ASSIGN_OR_RETURN(a.decisions, Decisions(*db,
                                          "SELECT jurisdiction, decision, member, comment, "
                                          "decided_on FROM amendment_decisions WHERE amendment "
                                          "= ?1 ORDER BY jurisdiction",
                                          std::to_string(id)));
  return a;
}

Result<std::optional<Jurisdiction>> GovernanceService::Impl::DatasetJurisdictionLocked(
    const DatasetRef& d) {
  ASSIGN_OR_RETURN(bool exists, catalog->Exists(d.node, d.name));
  if (!exists) return std::optional<Jurisdiction>();
  auto node = LoadNodeLocked(d.node);
  if (!node.ok()) return std::optional<Jurisdiction>();
  return std::optional<Jurisdiction>(node->jurisdiction);
}

// ---- calls --------------------------------------------------------------------------------------

Result<Call> GovernanceService::CreateCall(const Principal& by, const CallInput& in) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kCallManage, {}));
  RETURN_IF_ERROR(ValidateId(in.id, "call"));
  if (Trim(in.title).empty()) return Status::InvalidArgument("call title: must not be empty");
  if (in.opens_on > in.closes_on) {
    return Status::InvalidArgument(fmt::format("call {}: opens on {}, after it closes ({})", in.id,
                                               FormatDate(in.opens_on), FormatDate(in.closes_on)));
  }
  if (in.projects_to_fund < 1 || in.projects_to_fund > 1000) {
    return Status::InvalidArgument(fmt::format(
        "call {}: projects to fund must be in 1..1000 (got {})", in.id, in.projects_to_fund));
  }
  Call c;
  c.id = in.id;
  c.title = in.title;
  c.description = in.description;
  c.axes = in.axes.empty() ? std::vector<Axis>(std::begin(kAllAxes), std::end(kAllAxes)) : in.axes;
  std::sort(c.axes.begin(), c.axes.end());
  c.axes.erase(std::unique(c.axes.begin(), c.axes.end()), c.axes.end());
  c.opens_on = in.opens_on;
  c.closes_on = in.closes_on;
  c.projects_to_fund = in.projects_to_fund;
  c.joint = in.joint;
  c.access_months = in.access_months.value_or(m.options.default_access_months);
  c.min_reviews = in.min_reviews.value_or(m.options.default_min_reviews);
  c.created_by = by.name;
  if (c.access_months < 1 || c.access_months > 120) {
    return Status::InvalidArgument(
        fmt::format("call {}: access months must be in 1..120 (got {})", c.id, c.access_months));
  }
  if (c.min_reviews < 0 || c.min_reviews > 20) {
    return Status::InvalidArgument(
        fmt::format("call {}: minimum reviews must be in 0..20 (got {})", c.id, c.min_reviews));
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  if (m.LoadCallLocked(c.id).ok()) {
    return Status::AlreadyExists(fmt::format("call {} already exists", c.id));
  }
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("INSERT INTO calls(id, title, description, axes, opens_on, "
                                 "closes_on, projects_to_fund, joint, access_months, min_reviews, "
                                 "created_by, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                                 "?9, ?10, ?11, ?12)"));
  st.Bind(1, c.id)
      .Bind(2, c.title)
      .Bind(3, c.description)
      .Bind(4, AxesText(c.axes))
      .Bind(5, c.opens_on)
      .Bind(6, c.closes_on)
      .Bind(7, c.projects_to_fund)
      .Bind(8, c.joint ? 1 : 0)
      .Bind(9, c.access_months)
      .Bind(10, c.min_reviews)
      .Bind(11, c.created_by)
      .Bind(12, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "call.create", "",
                                {{"call", c.id},
                                 {"opens_on", FormatDate(c.opens_on)},
                                 {"closes_on", FormatDate(c.closes_on)},
                                 {"axes", AxesText(c.axes)},
                                 {"projects_to_fund", std::to_string(c.projects_to_fund)}}));
  RETURN_IF_ERROR(tx.Commit());
  return c;
}

Result<Call> GovernanceService::GetCall(const Principal& by, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AuthorizeLocked(by, Action::kCallRead, {}));
  return impl_->LoadCallLocked(id);
}

Result<std::vector<Call>> GovernanceService::ListCalls(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kCallRead, {}));
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT id FROM calls ORDER BY opens_on, id"));
  std::vector<Call> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(Call c, m.LoadCallLocked(st.ColumnText(0)));
    out.push_back(std::move(c));
  }
  return out;
}

// ---- applications -------------------------------------------------------------------------------

Result<Application> GovernanceService::SubmitApplication(const Principal& by,
                                                         const ApplicationInput& input) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kApplicationSubmit, {}));
  Application app;
  app.input = input;
  ApplicationInput& in = app.input;
  RETURN_IF_ERROR(ValidateId(in.id, "application"));
  const std::string who = fmt::format("application {}", in.id);
  if (Trim(in.title).empty()) return Status::InvalidArgument(who + ": title must not be empty");
  if (Trim(in.summary).empty()) return Status::InvalidArgument(who + ": summary must not be empty");
  if (Trim(in.legal_basis).empty()) {
    return RuleViolation(StatusCode::kInvalidArgument, rule::kLegalBasis,
                         who + ": state the legal basis of the processing");
  }
  if (in.datasets.empty()) {
    return RuleViolation(StatusCode::kInvalidArgument, rule::kCatalogDataset,
                         who + ": request at least one dataset of the catalog");
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Call call, m.LoadCallLocked(in.call_id));
  const int32_t today = m.Today();
  if (today < call.opens_on) {
    return Rule(rule::kCallNotOpen, fmt::format("{}: call {} opens on {}; it is {}", who, call.id,
                                                FormatDate(call.opens_on), FormatDate(today)));
  }
  if (today > call.closes_on) {
    return Rule(rule::kDeadline,
                fmt::format("{}: call {} closed on {} (applications were due that day); it is {}",
                            who, call.id, FormatDate(call.closes_on), FormatDate(today)));
  }
  if (call.selected_on) {
    return Rule(rule::kSelectionDone,
                fmt::format("{}: the selection of call {} is already recorded", who, call.id));
  }
  if (std::find(call.axes.begin(), call.axes.end(), in.axis) == call.axes.end()) {
    return RuleViolation(StatusCode::kInvalidArgument, rule::kCallAxis,
                         fmt::format("{}: axis {} is not one of call {}'s axes ({})", who,
                                     AxisName(in.axis), call.id, AxesText(call.axes)));
  }
  // The team: the lead submits, every member is a researcher in good standing.
  if (in.lead != by.name) {
    return RuleViolation(StatusCode::kPermissionDenied, rule::kTeam,
                         fmt::format("{}: the lead ({}) submits the application, not {}", who,
                                     in.lead.empty() ? "none given" : in.lead, by.name));
  }
  if (!Contains(in.team, in.lead)) in.team.push_back(in.lead);
  std::sort(in.team.begin(), in.team.end());
  in.team.erase(std::unique(in.team.begin(), in.team.end()), in.team.end());
  std::vector<Jurisdiction> team_js;
  std::vector<Jurisdiction> involved;
  bool member_outside_qc = false;
  for (const std::string& name : in.team) {
    auto u = m.LoadUserLocked(name);
    if (!u.ok()) {
      return RuleViolation(StatusCode::kInvalidArgument, rule::kTeam,
                           fmt::format("{}: team member {} is not a user", who, name));
    }
    bool researcher = false;
    for (const Role& r : u->roles) researcher = researcher || r.kind == RoleKind::kResearcher;
    if (!researcher || u->disabled) {
      return RuleViolation(
          StatusCode::kInvalidArgument, rule::kTeam,
          fmt::format("{}: team member {} is not an active researcher", who, name));
    }
    if (!Contains(team_js, u->jurisdiction)) team_js.push_back(u->jurisdiction);
    member_outside_qc = member_outside_qc || u->jurisdiction != Jurisdiction::kQC;
  }
  if (call.joint &&
      !(Contains(team_js, Jurisdiction::kFR) && Contains(team_js, Jurisdiction::kQC))) {
    return RuleViolation(
        StatusCode::kInvalidArgument, rule::kJointTeam,
        fmt::format("{}: call {} is joint: the team needs members from both FR and QC (it has {})",
                    who, call.id, JoinJurisdictions(team_js)));
  }
  involved = team_js;
  // The datasets: each in the catalog; their nodes' jurisdictions are involved.
  std::sort(in.datasets.begin(), in.datasets.end());
  in.datasets.erase(std::unique(in.datasets.begin(), in.datasets.end()), in.datasets.end());
  bool qc_data = false;
  for (const DatasetRef& d : in.datasets) {
    ASSIGN_OR_RETURN(std::optional<Jurisdiction> j, m.DatasetJurisdictionLocked(d));
    if (!j) {
      return RuleViolation(StatusCode::kInvalidArgument, rule::kCatalogDataset,
                           fmt::format("{}: dataset {} is not in the catalog (see `passerelle "
                                       "catalog search`)",
                                       who, d.ToString()));
    }
    if (!Contains(involved, *j)) involved.push_back(*j);
    qc_data = qc_data || *j == Jurisdiction::kQC;
  }
  std::sort(involved.begin(), involved.end());
  app.jurisdictions = involved;
  // Québec data used by a project led or analysed outside Québec needs a privacy impact
  // assessment (Québec's Act respecting the protection of personal information in the private
  // sector / public bodies, as amended by Law 25: assessment before communication outside Québec).
  app.pia_required = qc_data && member_outside_qc;
  if (app.pia_required && !in.pia_done) {
    return RuleViolation(
        StatusCode::kFailedPrecondition, rule::kPiaRequired,
        fmt::format("{}: Québec data is requested and the project is led or analysed outside "
                    "Québec: a privacy impact assessment must be done before applying",
                    who));
  }
  if (m.LoadApplicationLocked(in.id).ok()) {
    return Status::AlreadyExists(fmt::format("{} already exists", who));
  }
  app.submitted_at = m.clock.NowMicros();
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("INSERT INTO applications(id, call_id, title, axis, summary, "
                                 "lead, legal_basis, pia_done, pia_reference, pia_required, "
                                 "jurisdictions, state, submitted_at) VALUES(?1, ?2, ?3, ?4, ?5, "
                                 "?6, ?7, ?8, ?9, ?10, ?11, 'submitted', ?12)"));
  st.Bind(1, in.id)
      .Bind(2, in.call_id)
      .Bind(3, in.title)
      .Bind(4, AxisName(in.axis))
      .Bind(5, in.summary)
      .Bind(6, in.lead)
      .Bind(7, in.legal_basis)
      .Bind(8, in.pia_done ? 1 : 0)
      .Bind(9, in.pia_reference)
      .Bind(10, app.pia_required ? 1 : 0)
      .Bind(11, JoinJurisdictions(involved))
      .Bind(12, app.submitted_at);
  RETURN_IF_ERROR(st.Run().status());
  for (const std::string& u : in.team) {
    RETURN_IF_ERROR(ExecBound(
        *m.db, "INSERT INTO application_members(application, user) VALUES(?1, ?2)", {in.id, u}));
  }
  for (const DatasetRef& d : in.datasets) {
    RETURN_IF_ERROR(ExecBound(*m.db,
                              "INSERT INTO application_datasets(application, node, dataset) "
                              "VALUES(?1, ?2, ?3)",
                              {in.id, d.node, d.name}));
  }
  std::vector<std::string> ds;
  for (const DatasetRef& d : in.datasets) ds.push_back(d.ToString());
  RETURN_IF_ERROR(m.AuditLocked(by, "application.submit", in.id,
                                {{"call", call.id},
                                 {"team", Join(in.team, ",")},
                                 {"datasets", Join(ds, ",")},
                                 {"jurisdictions", JoinJurisdictions(involved)},
                                 {"pia_required", app.pia_required ? "true" : "false"}}));
  RETURN_IF_ERROR(tx.Commit());
  return app;
}

Result<Application> GovernanceService::GetApplication(const Principal& by, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(
      impl_->AuthorizeLocked(by, Action::kApplicationRead, Resource::Application(std::string(id))));
  return impl_->LoadApplicationLocked(id);
}

Result<std::vector<Application>> GovernanceService::ListApplications(const Principal& by,
                                                                     std::string_view call_id) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kCallRead, {}));
  RETURN_IF_ERROR(m.LoadCallLocked(call_id).status());
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      Strings(*m.db, "SELECT id FROM applications WHERE call_id = ?1 ORDER BY id", call_id));
  std::vector<Application> out;
  for (const std::string& id : ids) {
    if (!m.AuthorizeLocked(by, Action::kApplicationRead, Resource::Application(id)).ok()) continue;
    ASSIGN_OR_RETURN(Application a, m.LoadApplicationLocked(id));
    out.push_back(std::move(a));
  }
  return out;
}

// ---- reviews and selection ----------------------------------------------------------------------

Status GovernanceService::SubmitReview(const Principal& by, std::string_view application, int score,
                                       std::string_view comment) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kReviewSubmit,
                                    Resource::Application(std::string(application))));
  if (score < 0 || score > 10) {
    return RuleViolation(StatusCode::kInvalidArgument, rule::kReviewScore,
                         fmt::format("review of {}: score {} is not in 0..10", application, score));
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Application app, m.LoadApplicationLocked(application));
  ASSIGN_OR_RETURN(Call call, m.LoadCallLocked(app.input.call_id));
  if (call.selected_on || app.state != ApplicationState::kSubmitted) {
    return Rule(rule::kSelectionDone,
                fmt::format("review of {}: the selection of call {} is already recorded",
                            application, call.id));
  }
  ASSIGN_OR_RETURN(Statement exists,
                   m.db->Prepare("SELECT 1 FROM reviews WHERE application = ?1 AND reviewer = ?2"));
  exists.Bind(1, application).Bind(2, by.name);
  ASSIGN_OR_RETURN(bool dup, exists.Step());
  if (dup) {
    return Status::AlreadyExists(
        fmt::format("{} has already reviewed application {}", by.name, application));
  }
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("INSERT INTO reviews(application, reviewer, score, "
                                               "comment, created_at) VALUES(?1, ?2, ?3, ?4, ?5)"));
  st.Bind(1, application)
      .Bind(2, by.name)
      .Bind(3, score)
      .Bind(4, comment)
      .Bind(5, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(
      m.AuditLocked(by, "review.submit", application, {{"score", std::to_string(score)}}));
  return tx.Commit();
}

Result<std::vector<Review>> GovernanceService::ListReviews(const Principal& by,
                                                           std::string_view application) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kRankingRead, {}));
  RETURN_IF_ERROR(m.LoadApplicationLocked(application).status());
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("SELECT application, reviewer, score, comment, created_at FROM "
                                 "reviews WHERE application = ?1 ORDER BY created_at, reviewer"));
  st.Bind(1, application);
  std::vector<Review> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(Review{st.ColumnText(0), st.ColumnText(1), static_cast<int>(st.ColumnInt(2)),
                         st.ColumnText(3), st.ColumnInt(4)});
  }
  return out;
}

Result<std::vector<RankedApplication>> GovernanceService::RankApplications(
    const Principal& by, std::string_view call_id) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kRankingRead, {}));
  RETURN_IF_ERROR(m.LoadCallLocked(call_id).status());
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("SELECT a.id, a.title, a.state, avg(r.score), count(r.score) "
                                 "FROM applications a LEFT JOIN reviews r ON r.application = a.id "
                                 "WHERE a.call_id = ?1 GROUP BY a.id ORDER BY avg(r.score) DESC "
                                 "NULLS LAST, a.id"));
  st.Bind(1, call_id);
  std::vector<RankedApplication> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    RankedApplication r;
    r.id = st.ColumnText(0);
    r.title = st.ColumnText(1);
    r.state = ParseApplicationState(st.ColumnText(2));
    r.mean_score = st.IsNull(3) ? 0 : st.ColumnDouble(3);
    r.reviews = static_cast<int>(st.ColumnInt(4));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Project>> GovernanceService::SelectProjects(
    const Principal& by, std::string_view call_id, const std::vector<std::string>& applications) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(SqliteTransaction tx, m.BeginChangeLocked(by, Action::kSelect, {}));
  ASSIGN_OR_RETURN(Call call, m.LoadCallLocked(call_id));
  const std::string who = fmt::format("selection of call {}", call.id);
  if (call.selected_on) {
    return Rule(rule::kSelectionDone,
                fmt::format("{}: already recorded on {}", who, FormatDate(*call.selected_on)));
  }
  const int32_t today = m.Today();
  if (today < call.closes_on) {
    return Rule(rule::kSelectionBeforeDeadline,
                fmt::format("{}: the call is open until {}; select on or after that day", who,
                            FormatDate(call.closes_on)));
  }
  std::set<std::string> chosen(applications.begin(), applications.end());
  if (chosen.empty() || chosen.size() != applications.size()) {
    return Status::InvalidArgument(who + ": list each selected application once");
  }
  if (static_cast<int>(chosen.size()) > call.projects_to_fund) {
    return RuleViolation(StatusCode::kInvalidArgument, rule::kFundingLimit,
                         fmt::format("{}: {} applications selected, the call funds {}", who,
                                     chosen.size(), call.projects_to_fund));
  }
  std::vector<Application> selected;
  for (const std::string& id : applications) {
    ASSIGN_OR_RETURN(Application a, m.LoadApplicationLocked(id));
    if (a.input.call_id != call.id) {
      return Status::InvalidArgument(
          fmt::format("{}: application {} belongs to call {}", who, id, a.input.call_id));
    }
    ASSIGN_OR_RETURN(Statement cnt, m.db->Prepare("SELECT count(*) FROM reviews WHERE "
                                                  "application = ?1"));
    cnt.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, cnt.Step());
    (void)row;
    if (cnt.ColumnInt(0) < call.min_reviews) {
      return Rule(rule::kMinReviews,
                  fmt::format("{}: application {} has {} review(s), the call requires {}", who, id,
                              cnt.ColumnInt(0), call.min_reviews));
    }
    selected.push_back(std::move(a));
  }
  int64_t now = m.clock.NowMicros();
  for (const Application& a : selected) {
    const ApplicationInput& in = a.input;
    ASSIGN_OR_RETURN(Statement st,
                     m.db->Prepare("INSERT INTO projects(id, call_id, title, axis, lead, "
                                   "legal_basis, pia_done, pia_reference, state, access_months, "
                                   "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', "
                                   "?9, ?10)"));
    st.Bind(1, in.id)
        .Bind(2, call.id)
        .Bind(3, in.title)
        .Bind(4, AxisName(in.axis))
        .Bind(5, in.lead)
        .Bind(6, in.legal_basis)
        .Bind(7, in.pia_done ? 1 : 0)
        .Bind(8, in.pia_reference)
        .Bind(9, call.access_months)
        .Bind(10, now);
    RETURN_IF_ERROR(st.Run().status());
    for (const std::string& u : in.team) {
      RETURN_IF_ERROR(ExecBound(*m.db, "INSERT INTO project_members(project, user) VALUES(?1, ?2)",
                                {in.id, u}));
    }
    for (const DatasetRef& d : in.datasets) {
      RETURN_IF_ERROR(ExecBound(*m.db,
                                "INSERT INTO project_datasets(project, node, dataset) VALUES(?1, "
                                "?2, ?3)",
                                {in.id, d.node, d.name}));
    }
    for (Jurisdiction j : a.jurisdictions) {
      RETURN_IF_ERROR(ExecBound(*m.db,
                                "INSERT INTO project_jurisdictions(project, jurisdiction) "
                                "VALUES(?1, ?2)",
                                {in.id, JurisdictionName(j)}));
    }
    RETURN_IF_ERROR(
        ExecBound(*m.db, "UPDATE applications SET state = 'selected' WHERE id = ?1", {in.id}));
    RETURN_IF_ERROR(
        m.AuditLocked(by, "project.create", in.id,
                      {{"call", call.id}, {"jurisdictions", JoinJurisdictions(a.jurisdictions)}}));
  }
  RETURN_IF_ERROR(ExecBound(*m.db,
                            "UPDATE applications SET state = 'not_selected' WHERE call_id = ?1 "
                            "AND state = 'submitted'",
                            {call.id}));
  ASSIGN_OR_RETURN(Statement up, m.db->Prepare("UPDATE calls SET selected_on = ?2 WHERE id = ?1"));
  up.Bind(1, call.id).Bind(2, today);
  RETURN_IF_ERROR(up.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "call.select", "",
                                {{"call", call.id}, {"selected", Join(applications, ",")}}));
  std::vector<Project> out;
  for (const Application& a : selected) {
    ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(a.input.id));
    out.push_back(std::move(p));
  }
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

// ---- projects -----------------------------------------------------------------------------------

Status GovernanceService::RecordDataSharingAgreement(const Principal& by, std::string_view project,
                                                     std::string_view reference) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(
      m.AuthorizeLocked(by, Action::kDataSharingRecord, Resource::Project(std::string(project))));
  if (Trim(reference).empty()) {
    return Status::InvalidArgument(fmt::format(
        "project {}: give the data-sharing agreement's reference (e.g. its signed file name)",
        project));
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(project));
  if (p.state == ProjectState::kClosed || p.state == ProjectState::kRefused) {
    return Rule(p.state == ProjectState::kClosed ? rule::kClosed : rule::kRefused,
                fmt::format("project {} is {}", p.id, ProjectStateName(p.state)));
  }
  RETURN_IF_ERROR(ExecBound(*m.db, "UPDATE projects SET dsa_reference = ?2 WHERE id = ?1",
                            {project, reference}));
  RETURN_IF_ERROR(
      m.AuditLocked(by, "project.dsa", project, {{"reference", std::string(reference)}}));
  return tx.Commit();
}

Result<Project> GovernanceService::RecordDecision(const Principal& by, std::string_view project,
                                                  Jurisdiction jurisdiction, Decision decision,
                                                  std::string_view comment) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(SqliteTransaction tx,
                   m.BeginChangeLocked(by, Action::kDecide,
                                       Resource::Decision(std::string(project), jurisdiction)));
  ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(project));
  const std::string jn(JurisdictionName(jurisdiction));
  const std::string who = fmt::format("decision of {} on project {}", jn, p.id);
  if (!Contains(p.jurisdictions, jurisdiction)) {
    return Rule(rule::kJurisdictionNotInvolved,
                fmt::format("{}: project {} involves {} only", who, p.id,
                            JoinJurisdictions(p.jurisdictions)));
  }
  for (const DecisionRecord& d : p.decisions) {
    if (d.jurisdiction == jurisdiction) {
      return Rule(rule::kAlreadyDecided,
                  fmt::format("{}: {} already decided ({}) on {}", who, jn,
                              DecisionName(d.decision), FormatDate(d.decided_on)));
    }
  }
  if (p.state != ProjectState::kPending) {
    return Rule(p.state == ProjectState::kClosed ? rule::kClosed : rule::kAlreadyDecided,
                fmt::format("{}: the project is {}", who, ProjectStateName(p.state)));
  }
  if (decision == Decision::kApprove && p.dsa_reference.empty()) {
    return Rule(rule::kDsaRequired,
                fmt::format("{}: no data-sharing agreement is recorded for the project; record it "
                            "before approving",
                            who));
  }
  const int32_t today = m.Today();
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("INSERT INTO decisions(project, jurisdiction, decision, member, "
                                 "comment, decided_on, decided_at) VALUES(?1, ?2, ?3, ?4, ?5, "
                                 "?6, ?7)"));
  st.Bind(1, p.id)
      .Bind(2, jn)
      .Bind(3, DecisionName(decision))
      .Bind(4, by.name)
      .Bind(5, comment)
      .Bind(6, today)
      .Bind(7, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(
      m.AuditLocked(by, "project.decide", p.id,
                    {{"jurisdiction", jn}, {"decision", std::string(DecisionName(decision))}}));
  if (decision == Decision::kRefuse) {
    RETURN_IF_ERROR(
        ExecBound(*m.db, "UPDATE projects SET state = 'refused' WHERE id = ?1", {p.id}));
    RETURN_IF_ERROR(m.AuditLocked(by, "project.refuse", p.id, {{"jurisdiction", jn}}));
  } else {
    size_t approvals = 1;
    for (const DecisionRecord& d : p.decisions) approvals += d.decision == Decision::kApprove;
    if (approvals == p.jurisdictions.size()) {
      int32_t end = AddMonths(today, p.access_months);
      ASSIGN_OR_RETURN(Statement up, m.db->Prepare("UPDATE projects SET state = 'approved', "
                                                   "start_on = ?2, end_on = ?3 WHERE id = ?1"));
      up.Bind(1, p.id).Bind(2, today).Bind(3, end);
      RETURN_IF_ERROR(up.Run().status());
      RETURN_IF_ERROR(
          m.AuditLocked(by, "project.approve", p.id,
                        {{"start_on", FormatDate(today)}, {"end_on", FormatDate(end)}}));
    }
  }
  ASSIGN_OR_RETURN(Project out, m.LoadProjectLocked(p.id));
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<Project> GovernanceService::GetProject(const Principal& by, std::string_view id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(
      impl_->AuthorizeLocked(by, Action::kProjectRead, Resource::Project(std::string(id))));
  return impl_->LoadProjectLocked(id);
}

Result<std::vector<Project>> GovernanceService::ListProjects(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kProjectList, {}));
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT id FROM projects ORDER BY id"));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ids.push_back(st.ColumnText(0));
  }
  std::vector<Project> out;
  for (const std::string& id : ids) {
    if (!m.AuthorizeLocked(by, Action::kProjectRead, Resource::Project(id)).ok()) continue;
    ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(id));
    out.push_back(std::move(p));
  }
  return out;
}

Status GovernanceService::Impl::CheckProjectActiveLocked(std::string_view project, int32_t today) {
  ASSIGN_OR_RETURN(Project p, LoadProjectLocked(project));
  const std::string who = fmt::format("project {} is not active", p.id);
  switch (p.state) {
    case ProjectState::kClosed:
      return Rule(rule::kClosed,
                  fmt::format("{}: it was closed on {}{}", who,
                              p.closed_on ? FormatDate(*p.closed_on) : "?",
                              p.close_reason.empty() ? "" : " (" + p.close_reason + ")"));
    case ProjectState::kRefused:
      for (const DecisionRecord& d : p.decisions) {
        if (d.decision == Decision::kRefuse) {
          return Rule(rule::kRefused,
                      fmt::format("{}: the {} committee refused it on {}", who,
                                  JurisdictionName(d.jurisdiction), FormatDate(d.decided_on)));
        }
      }
      return Rule(rule::kRefused, who + ": it was refused");
    case ProjectState::kPending: {
      std::vector<std::string> waiting;
      for (Jurisdiction j : p.jurisdictions) {
        bool decided = false;
        for (const DecisionRecord& d : p.decisions) decided = decided || d.jurisdiction == j;
        if (!decided) waiting.emplace_back(JurisdictionName(j));
      }
      return Rule(rule::kApprovals, fmt::format("{}: waiting for the decision of the {} "
                                                "committee(s)",
                                                who, Join(waiting, " and ")));
    }
    case ProjectState::kApproved:
      break;
  }
  if (!p.start_on || !p.end_on) return Status::Internal(who + ": approved without a window");
  if (today < *p.start_on) {
    return Rule(rule::kWindow,
                fmt::format("{}: its access window opens on {}", who, FormatDate(*p.start_on)));
  }
  if (today >= *p.end_on) {
    return Rule(rule::kWindow,
                fmt::format("{}: its access window ended on {} (last day {}); an amendment may "
                            "extend it",
                            who, FormatDate(*p.end_on), FormatDate(*p.end_on - 1)));
  }
  return Status::Ok();
}

Status GovernanceService::CheckProjectActive(std::string_view project) {
  std::lock_guard lock(impl_->mu);
  return impl_->CheckProjectActiveLocked(project, impl_->Today());
}

Status GovernanceService::AuthorizeStudy(const Principal& by, std::string_view project) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(
      impl_->AuthorizeLocked(by, Action::kStudySubmit, Resource::Project(std::string(project))));
  return impl_->CheckProjectActiveLocked(project, impl_->Today());
}

// ---- amendments ---------------------------------------------------------------------------------

Result<Amendment> GovernanceService::ProposeAmendment(const Principal& by, std::string_view project,
                                                      const AmendmentInput& input) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(
      SqliteTransaction tx,
      m.BeginChangeLocked(by, Action::kAmendPropose, Resource::Project(std::string(project))));
  ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(project));
  const std::string who = fmt::format("amendment of project {}", p.id);
  if (p.state != ProjectState::kApproved) {
    return Rule(p.state == ProjectState::kClosed ? rule::kClosed : rule::kAmendment,
                fmt::format("{}: only an approved, open project is amended (it is {})", who,
                            ProjectStateName(p.state)));
  }
  if (Trim(input.reason).empty()) return Status::InvalidArgument(who + ": give a reason");
  std::vector<Jurisdiction> required = p.jurisdictions;
  bool qc_data = false;
  bool member_outside_qc = false;
  for (const DatasetRef& d : p.datasets) {
    ASSIGN_OR_RETURN(std::optional<Jurisdiction> j, m.DatasetJurisdictionLocked(d));
    qc_data = qc_data || (j && *j == Jurisdiction::kQC);
  }
  for (const std::string& u : p.members) {
    ASSIGN_OR_RETURN(User user, m.LoadUserLocked(u));
    member_outside_qc = member_outside_qc || user.jurisdiction != Jurisdiction::kQC;
  }
  AmendmentInput in = input;
  switch (in.kind) {
    case AmendmentKind::kExtendWindow: {
      auto end = ParseDate(in.value);
      if (!end.ok()) return Status::InvalidArgument(who + ": new end: " + end.status().message());
      if (*end <= *p.end_on) {
        return Rule(rule::kAmendment, fmt::format("{}: the new end {} is not after the current "
                                                  "end {}",
                                                  who, FormatDate(*end), FormatDate(*p.end_on)));
      }
      in.value = FormatDate(*end);
      break;
    }
    case AmendmentKind::kAddMember: {
      auto u = m.LoadUserLocked(in.value);
      bool researcher = false;
      if (u.ok()) {
        for (const Role& r : u->roles) researcher = researcher || r.kind == RoleKind::kResearcher;
      }
      if (!u.ok() || !researcher || u->disabled) {
        return RuleViolation(StatusCode::kInvalidArgument, rule::kTeam,
                             fmt::format("{}: {} is not an active researcher", who, in.value));
      }
      if (Contains(p.members, in.value)) {
        return Rule(rule::kAmendment, fmt::format("{}: {} is already a member", who, in.value));
      }
      if (!Contains(required, u->jurisdiction)) required.push_back(u->jurisdiction);
      member_outside_qc = member_outside_qc || u->jurisdiction != Jurisdiction::kQC;
      break;
    }
    case AmendmentKind::kRemoveMember:
      if (!Contains(p.members, in.value)) {
        return Rule(rule::kAmendment, fmt::format("{}: {} is not a member", who, in.value));
      }
      if (in.value == p.lead) {
        return Rule(rule::kAmendment, fmt::format("{}: the lead cannot be removed", who));
      }
      break;
    case AmendmentKind::kAddDataset: {
      ASSIGN_OR_RETURN(DatasetRef d, DatasetRef::Parse(in.value));
      ASSIGN_OR_RETURN(std::optional<Jurisdiction> j, m.DatasetJurisdictionLocked(d));
      if (!j) {
        return RuleViolation(StatusCode::kInvalidArgument, rule::kCatalogDataset,
                             fmt::format("{}: dataset {} is not in the catalog", who, in.value));
      }
      if (std::find(p.datasets.begin(), p.datasets.end(), d) != p.datasets.end()) {
        return Rule(rule::kAmendment, fmt::format("{}: {} is already requested", who, in.value));
      }
      if (!Contains(required, *j)) required.push_back(*j);
      qc_data = qc_data || *j == Jurisdiction::kQC;
      break;
    }
  }
  if (qc_data && member_outside_qc && !p.pia_done) {
    return RuleViolation(StatusCode::kFailedPrecondition, rule::kPiaRequired,
                         fmt::format("{}: it would have Québec data analysed outside Québec, and "
                                     "no privacy impact assessment is recorded",
                                     who));
  }
  std::sort(required.begin(), required.end());
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("INSERT INTO amendments(project, kind, value, reason, "
                                 "proposed_by, proposed_at, state, jurisdictions) VALUES(?1, ?2, "
                                 "?3, ?4, ?5, ?6, 'proposed', ?7)"));
  st.Bind(1, p.id)
      .Bind(2, AmendmentKindName(in.kind))
      .Bind(3, in.value)
      .Bind(4, in.reason)
      .Bind(5, by.name)
      .Bind(6, m.clock.NowMicros())
      .Bind(7, JoinJurisdictions(required));
  RETURN_IF_ERROR(st.Run().status());
  int64_t id = m.db->LastInsertRowId();
  RETURN_IF_ERROR(m.AuditLocked(by, "amendment.propose", p.id,
                                {{"amendment", std::to_string(id)},
                                 {"kind", std::string(AmendmentKindName(in.kind))},
                                 {"value", in.value}}));
  ASSIGN_OR_RETURN(Amendment a, m.LoadAmendmentLocked(p.id, id));
  RETURN_IF_ERROR(tx.Commit());
  return a;
}

Result<Amendment> GovernanceService::DecideAmendment(const Principal& by, std::string_view project,
                                                     int64_t amendment_id,
                                                     Jurisdiction jurisdiction, Decision decision,
                                                     std::string_view comment) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(SqliteTransaction tx,
                   m.BeginChangeLocked(by, Action::kAmendDecide,
                                       Resource::Decision(std::string(project), jurisdiction)));
  ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(project));
  ASSIGN_OR_RETURN(Amendment a, m.LoadAmendmentLocked(project, amendment_id));
  const std::string jn(JurisdictionName(jurisdiction));
  const std::string who =
      fmt::format("decision of {} on amendment {} of project {}", jn, a.id, p.id);
  if (a.state != AmendmentState::kProposed) {
    return Rule(rule::kAlreadyDecided,
                fmt::format("{}: the amendment is {}", who, AmendmentStateName(a.state)));
  }
  if (p.state != ProjectState::kApproved) {
    return Rule(p.state == ProjectState::kClosed ? rule::kClosed : rule::kAmendment,
                fmt::format("{}: the project is {}", who, ProjectStateName(p.state)));
  }
  if (!Contains(a.jurisdictions, jurisdiction)) {
    return Rule(
        rule::kJurisdictionNotInvolved,
        fmt::format("{}: the amendment involves {} only", who, JoinJurisdictions(a.jurisdictions)));
  }
  for (const DecisionRecord& d : a.decisions) {
    if (d.jurisdiction == jurisdiction) {
      return Rule(rule::kAlreadyDecided, fmt::format("{}: {} already decided", who, jn));
    }
  }
  const int32_t today = m.Today();
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("INSERT INTO amendment_decisions(amendment, jurisdiction, "
                                 "decision, member, comment, decided_on, decided_at) VALUES(?1, "
                                 "?2, ?3, ?4, ?5, ?6, ?7)"));
  st.Bind(1, a.id)
      .Bind(2, jn)
      .Bind(3, DecisionName(decision))
      .Bind(4, by.name)
      .Bind(5, comment)
      .Bind(6, today)
      .Bind(7, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "amendment.decide", p.id,
                                {{"amendment", std::to_string(a.id)},
                                 {"jurisdiction", jn},
                                 {"decision", std::string(DecisionName(decision))}}));
  auto set_state = [&](std::string_view state) -> Status {
    ASSIGN_OR_RETURN(Statement up, m.db->Prepare("UPDATE amendments SET state = ?2 WHERE id = ?1"));
    up.Bind(1, a.id).Bind(2, state);
    return up.Run().status();
  };
  if (decision == Decision::kRefuse) {
    RETURN_IF_ERROR(set_state("refused"));
  } else {
    size_t approvals = 1;
    for (const DecisionRecord& d : a.decisions) approvals += d.decision == Decision::kApprove;
    if (approvals == a.jurisdictions.size()) {
      switch (a.input.kind) {
        case AmendmentKind::kExtendWindow: {
          ASSIGN_OR_RETURN(int32_t end, ParseDate(a.input.value));
          ASSIGN_OR_RETURN(Statement up,
                           m.db->Prepare("UPDATE projects SET end_on = ?2 WHERE id = ?1"));
          up.Bind(1, p.id).Bind(2, end);
          RETURN_IF_ERROR(up.Run().status());
          break;
        }
        case AmendmentKind::kAddMember:
          RETURN_IF_ERROR(ExecBound(*m.db,
                                    "INSERT INTO project_members(project, user) VALUES(?1, ?2)",
                                    {p.id, a.input.value}));
          break;
        case AmendmentKind::kRemoveMember:
          RETURN_IF_ERROR(ExecBound(*m.db,
                                    "DELETE FROM project_members WHERE project = ?1 AND user = ?2",
                                    {p.id, a.input.value}));
          break;
        case AmendmentKind::kAddDataset: {
          ASSIGN_OR_RETURN(DatasetRef d, DatasetRef::Parse(a.input.value));
          RETURN_IF_ERROR(ExecBound(*m.db,
                                    "INSERT INTO project_datasets(project, node, dataset) "
                                    "VALUES(?1, ?2, ?3)",
                                    {p.id, d.node, d.name}));
          break;
        }
      }
      for (Jurisdiction j : a.jurisdictions) {
        RETURN_IF_ERROR(ExecBound(*m.db,
                                  "INSERT OR IGNORE INTO project_jurisdictions(project, "
                                  "jurisdiction) VALUES(?1, ?2)",
                                  {p.id, JurisdictionName(j)}));
      }
      RETURN_IF_ERROR(set_state("applied"));
      RETURN_IF_ERROR(m.AuditLocked(by, "amendment.apply", p.id,
                                    {{"amendment", std::to_string(a.id)},
                                     {"kind", std::string(AmendmentKindName(a.input.kind))},
                                     {"value", a.input.value}}));
    }
  }
  ASSIGN_OR_RETURN(Amendment out, m.LoadAmendmentLocked(p.id, a.id));
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<std::vector<Amendment>> GovernanceService::ListAmendments(const Principal& by,
                                                                 std::string_view project) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(
      m.AuthorizeLocked(by, Action::kProjectRead, Resource::Project(std::string(project))));
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      Strings(*m.db, "SELECT id FROM amendments WHERE project = ?1 ORDER BY id", project));
  std::vector<Amendment> out;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(Amendment a, m.LoadAmendmentLocked(project, std::stoll(id)));
    out.push_back(std::move(a));
  }
  return out;
}

Result<Project> GovernanceService::CloseProject(const Principal& by, std::string_view project,
                                                std::string_view reason) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(
      m.AuthorizeLocked(by, Action::kProjectClose, Resource::Project(std::string(project))));
  if (Trim(reason).empty()) {
    return Status::InvalidArgument(fmt::format("closing project {}: give a reason", project));
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Project p, m.LoadProjectLocked(project));
  if (p.state == ProjectState::kClosed) {
    return Rule(rule::kClosed,
                fmt::format("project {} was already closed on {}", p.id, FormatDate(*p.closed_on)));
  }
  const int32_t today = m.Today();
  ASSIGN_OR_RETURN(Statement up, m.db->Prepare("UPDATE projects SET state = 'closed', closed_on = "
                                               "?2, close_reason = ?3 WHERE id = ?1"));
  up.Bind(1, p.id).Bind(2, today).Bind(3, reason);
  RETURN_IF_ERROR(up.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "project.close", p.id,
                                {{"reason", std::string(reason)},
                                 {"previous_state", std::string(ProjectStateName(p.state))}}));
  ASSIGN_OR_RETURN(Project out, m.LoadProjectLocked(p.id));
  RETURN_IF_ERROR(tx.Commit());
  return out;
}

}  // namespace passerelle::governance
