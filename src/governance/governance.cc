// GovernanceService: opening, schema, authentication and authorisation, people, catalog and audit.
// The call/application/project workflow is in workflow.cc.
#include "governance/governance.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/date.h"
#include "common/strings.h"
#include "governance/governance_impl.h"
#include "governance/schema.h"

namespace passerelle::governance {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
constexpr std::string_view kTokenPrefix = "psl_";
constexpr size_t kTokenIdHex = 12;
constexpr size_t kTokenSecretHex = 64;
constexpr size_t kMaxVerifiedTokens = 10000;

constexpr SqliteMigration kGovernanceMigrations[] = {
    {1, R"sql(
CREATE TABLE organisations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  jurisdiction TEXT NOT NULL CHECK (jurisdiction IN ('FR', 'QC')),
  created_at INTEGER NOT NULL
);
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  organisation TEXT NOT NULL REFERENCES organisations(id),
  created_at INTEGER NOT NULL
);
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  organisation TEXT NOT NULL REFERENCES organisations(id),
  created_at INTEGER NOT NULL,
  disabled_at INTEGER
);
CREATE TABLE user_roles (
  user TEXT NOT NULL REFERENCES users(name),
  role TEXT NOT NULL,
  PRIMARY KEY (user, role)
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users(name),
  hash TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE calls (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  axes TEXT NOT NULL,
  opens_on INTEGER NOT NULL,
  closes_on INTEGER NOT NULL,
  projects_to_fund INTEGER NOT NULL,
  joint INTEGER NOT NULL,
  access_months INTEGER NOT NULL,
  min_reviews INTEGER NOT NULL,
  selected_on INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls(id),
  title TEXT NOT NULL,
  axis TEXT NOT NULL,
  summary TEXT NOT NULL,
  lead TEXT NOT NULL REFERENCES users(name),
  legal_basis TEXT NOT NULL,
  pia_done INTEGER NOT NULL,
  pia_reference TEXT NOT NULL,
  pia_required INTEGER NOT NULL,
  jurisdictions TEXT NOT NULL,
  state TEXT NOT NULL,
  submitted_at INTEGER NOT NULL
);
CREATE TABLE application_members (
  application TEXT NOT NULL REFERENCES applications(id),
  user TEXT NOT NULL REFERENCES users(name),
  PRIMARY KEY (application, user)
);
CREATE TABLE application_datasets (
  application TEXT NOT NULL REFERENCES applications(id),
  node TEXT NOT NULL,
  dataset TEXT NOT NULL,
  PRIMARY KEY (application, node, dataset)
);
CREATE TABLE reviews (
  application TEXT NOT NULL REFERENCES applications(id),
  reviewer TEXT NOT NULL REFERENCES users(name),
  score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
  comment TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (application, reviewer)
);
CREATE TABLE projects (
  id TEXT PRIMARY KEY REFERENCES applications(id),
  call_id TEXT NOT NULL REFERENCES calls(id),
  title TEXT NOT NULL,
  axis TEXT NOT NULL,
  lead TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  pia_done INTEGER NOT NULL,
  pia_reference TEXT NOT NULL,
  dsa_reference TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  access_months INTEGER NOT NULL,
  start_on INTEGER,
  end_on INTEGER,
  closed_on INTEGER,
  close_reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE TABLE project_members (
  project TEXT NOT NULL REFERENCES projects(id),
  user TEXT NOT NULL REFERENCES users(name),
  PRIMARY KEY (project, user)
);
CREATE TABLE project_datasets (
  project TEXT NOT NULL REFERENCES projects(id),
  node TEXT NOT NULL,
  dataset TEXT NOT NULL,
  PRIMARY KEY (project, node, dataset)
);
CREATE TABLE project_jurisdictions (
  project TEXT NOT NULL REFERENCES projects(id),
  jurisdiction TEXT NOT NULL,
  PRIMARY KEY (project, jurisdiction)
);
CREATE TABLE decisions (
  project TEXT NOT NULL REFERENCES projects(id),
  jurisdiction TEXT NOT NULL,
  decision TEXT NOT NULL,
  member TEXT NOT NULL,
  comment TEXT NOT NULL,
  decided_on INTEGER NOT NULL,
  decided_at INTEGER NOT NULL,
  PRIMARY KEY (project, jurisdiction)
);
CREATE TABLE amendments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project TEXT NOT NULL REFERENCES projects(id),
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  proposed_by TEXT NOT NULL,
  proposed_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  jurisdictions TEXT NOT NULL
);
CREATE TABLE amendment_decisions (
  amendment INTEGER NOT NULL REFERENCES amendments(id),
  jurisdiction TEXT NOT NULL,
  decision TEXT NOT NULL,
  member TEXT NOT NULL,
  comment TEXT NOT NULL,
  decided_on INTEGER NOT NULL,
  decided_at INTEGER NOT NULL,
  PRIMARY KEY (amendment, jurisdiction)
);
)sql"},
};

const ActionInfo kActions[] = {
    {Action::kOrganisationManage, "organisation.manage", "POST /v1/organisations, POST /v1/nodes",
     "administrator"},
    {Action::kUserManage, "user.manage",
     "POST /v1/users, POST /v1/users/{name}/tokens (another user), DELETE /v1/tokens/{id} "
     "(another user's), POST /v1/users/{name}/disable",
     "administrator"},
    {Action::kUserRead, "user.read", "GET /v1/users/{name}, GET /v1/users/{name}/tokens",
     "administrator, or the user themself"},
    {Action::kTokenSelf, "token.self",
     "POST /v1/users/{name}/tokens (own), DELETE /v1/tokens/{id} (own)", "any user, for themself"},
    {Action::kCallManage, "call.manage", "POST /v1/calls", "administrator"},
    {Action::kCallRead, "call.read", "GET /v1/calls, GET /v1/calls/{id}", "any user"},
    {Action::kApplicationSubmit, "application.submit", "POST /v1/calls/{id}/applications",
     "researcher (the application's lead)"},
    {Action::kApplicationRead, "application.read",
     "GET /v1/applications/{id}, GET /v1/calls/{id}/applications (filtered)",
     "administrator, a team member, a committee member of an involved jurisdiction"},
    {Action::kReviewSubmit, "review.submit", "POST /v1/applications/{id}/reviews",
     "committee member of an involved jurisdiction, not in the team"},
    {Action::kRankingRead, "ranking.read",
     "GET /v1/calls/{id}/ranking, GET /v1/applications/{id}/reviews",
     "administrator, committee member"},
    {Action::kSelect, "call.select", "POST /v1/calls/{id}/selection", "administrator"},
    {Action::kProjectRead, "project.read",
     "GET /v1/projects/{id}, GET /v1/projects/{id}/amendments",
     "administrator, a member, a committee member of an involved jurisdiction, the custodian (or "
     "node) of a requested dataset"},
    {Action::kProjectList, "project.list", "GET /v1/projects (filtered by project.read)",
     "any user"},
    {Action::kDataSharingRecord, "project.dsa", "POST /v1/projects/{id}/dsa",
     "administrator, the project lead"},
    {Action::kDecide, "project.decide", "POST /v1/projects/{id}/decisions/{jurisdiction}",
     "committee member of that jurisdiction, not a project member"},
    {Action::kAmendPropose, "amendment.propose", "POST /v1/projects/{id}/amendments",
     "the project lead"},
    {Action::kAmendDecide, "amendment.decide",
     "POST /v1/projects/{id}/amendments/{n}/decisions/{jurisdiction}",
     "committee member of that jurisdiction, not a project member"},
    {Action::kProjectClose, "project.close", "POST /v1/projects/{id}/close",
     "administrator, the project lead, a committee member of an involved jurisdiction"},
    {Action::kStudySubmit, "study.submit", "POST /v1/studies (study.project)",
     "a project member (and the project active)"},
    {Action::kStudyRead, "study.read", "GET /v1/studies, GET /v1/studies/{id}", "a project member"},
    {Action::kResultRead, "result.read", "GET /v1/studies/{id}/result", "a project member"},
    {Action::kCatalogPublish, "catalog.publish", "PUT /v1/catalog/{node}/{dataset}",
     "the node itself (TLS certificate), its custodian, the local operator"},
    {Action::kCatalogSearch, "catalog.search",
     "GET /v1/catalog?q=&variable=&concept=, GET /v1/catalog/{node}/{dataset}", "any user"},
    {Action::kAuditExport, "audit.export", "GET /v1/audit/export",
     "administrator, committee member"},
    {Action::kTaskFetch, "task.fetch", "GET /v1/tasks/next", "the node itself"},
    {Action::kTaskResult, "task.result", "POST /v1/tasks/{task_id}/result", "the node itself"},
};

Status Deny(const Principal& p, Action a, std::string_view rule_name, std::string_view why) {
  return RuleViolation(StatusCode::kPermissionDenied, rule_name,
                       fmt::format("{} may not {}: {}", Describe(p), ActionName(a), why));
}

std::string RandomHex(RandomSource& random, size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  random.Fill(buf);
  std::string hex = internal::ToHex(buf);
  internal::SecureZero(buf);
  return hex;
}

}  // namespace

// ---- small shared helpers -----------------------------------------------------------------------

std::string JoinJurisdictions(const std::vector<Jurisdiction>& js) {
  std::string out;
  for (Jurisdiction j : kAllJurisdictions) {
    if (!Contains(js, j)) continue;
    if (!out.empty()) out.push_back(',');
    out.append(JurisdictionName(j));
  }
  return out;
}

std::vector<Jurisdiction> SplitJurisdictions(std::string_view text) {
  std::vector<Jurisdiction> out;
  for (const std::string& part : Split(text, ',')) {
    auto j = ParseJurisdiction(part);
    if (j.ok() && !Contains(out, *j)) out.push_back(*j);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool Contains(const std::vector<Jurisdiction>& js, Jurisdiction j) {
  return std::find(js.begin(), js.end(), j) != js.end();
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Describe(const Principal& p) {
  switch (p.kind) {
    case Principal::Kind::kNode:
      return fmt::format("node {}", p.name);
    case Principal::Kind::kLocalOperator:
      return "the local operator";
    case Principal::Kind::kUser:
      break;
  }
  std::vector<std::string> roles = p.RoleStrings();
  return fmt::format("user {} ({})", p.name, roles.empty() ? "no role" : Join(roles, ", "));
}

std::span<const ActionInfo> ActionTable() { return kActions; }

std::string_view ActionName(Action action) {
  for (const ActionInfo& a : kActions) {
    if (a.action == action) return a.name;
  }
  return "?";
}

Result<DatasetRef> DatasetRef::Parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("dataset \"{}\": write it as <node>/<dataset>", text));
  }
  DatasetRef d{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  RETURN_IF_ERROR(ValidateId(d.node, "node"));
  RETURN_IF_ERROR(ValidateId(d.name, "dataset name"));
  return d;
}

// ---- opening ------------------------------------------------------------------------------------

GovernanceService::GovernanceService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GovernanceService::~GovernanceService() = default;

Result<std::unique_ptr<GovernanceService>> GovernanceService::Open(
    const GovernanceOptions& options, std::optional<AuditKey> audit_key, Clock& clock,
    RandomSource& random) {
  if (options.default_access_months < 1 || options.default_min_reviews < 0 ||
      options.tokens.default_validity_days < 1 ||
      options.tokens.max_validity_days < options.tokens.default_validity_days) {
    return Status::InvalidArgument("governance options: a default is out of range");
  }
  auto impl = std::make_unique<Impl>(options, clock, random);
  SqliteOptions so;
  so.path = options.path.string();
  ASSIGN_OR_RETURN(impl->db, SqliteDb::Open(so));
  RETURN_IF_ERROR(MigrateComponent(*impl->db, "governance", kGovernanceMigrations));
  ASSIGN_OR_RETURN(impl->audit,
                   AuditLog::Open(*impl->db, options.audit_writer, std::move(audit_key), clock));
  ASSIGN_OR_RETURN(impl->catalog, CatalogStore::Open(*impl->db, clock, options.catalog));
  return std::unique_ptr<GovernanceService>(new GovernanceService(std::move(impl)));
}

std::optional<AuditPublicKey> GovernanceService::audit_public_key() const {
  return impl_->audit->public_key();
}

bool GovernanceService::catalog_uses_fts5() const { return impl_->catalog->uses_fts5(); }

Result<SqliteTransaction> GovernanceService::Impl::BeginChangeLocked(const Principal& by,
                                                                     Action action,
                                                                     const Resource& r) {
  RETURN_IF_ERROR(RequireWritableLocked());
  RETURN_IF_ERROR(AuthorizeLocked(by, action, r));
  return SqliteTransaction::Begin(*db);
}

Status GovernanceService::Impl::RequireWritableLocked() const {
  if (!audit->public_key()) {
    return RuleViolation(StatusCode::kFailedPrecondition, rule::kAuditKey,
                         "this governance state is open read-only: every state change is signed "
                         "in the audit log; give the hub's audit key (--audit-key)");
  }
  return Status::Ok();
}

Status GovernanceService::Impl::AuditLocked(const Principal& by, std::string_view action,
                                            std::string_view project,
                                            std::map<std::string, std::string> details) {
  AuditRecord r;
  r.actor = by.name;
  r.action = std::string(action);
  r.project = std::string(project);
  if (!by.token_id.empty()) details["token"] = by.token_id;
  r.details = std::move(details);
  return audit->Append(r).status();
}

// ---- loads --------------------------------------------------------------------------------------

Result<Organisation> GovernanceService::Impl::LoadOrganisationLocked(std::string_view id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT id, name, jurisdiction FROM organisations WHERE id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("organisation {} does not exist", id));
  ASSIGN_OR_RETURN(Jurisdiction j, ParseJurisdiction(st.ColumnText(2)));
  return Organisation{st.ColumnText(0), st.ColumnText(1), j};
}

Result<User> GovernanceService::Impl::LoadUserLocked(std::string_view name) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT u.name, u.display_name, u.organisation, o.jurisdiction, "
                               "u.created_at, u.disabled_at FROM users u JOIN organisations o ON "
                               "o.id = u.organisation WHERE u.name = ?1"));
  st.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("user {} does not exist", name));
  User u;
  u.name = st.ColumnText(0);
  u.display_name = st.ColumnText(1);
  u.organisation = st.ColumnText(2);
  ASSIGN_OR_RETURN(u.jurisdiction, ParseJurisdiction(st.ColumnText(3)));
  u.created_at = st.ColumnInt(4);
  u.disabled = !st.IsNull(5);
  ASSIGN_OR_RETURN(Statement roles,
                   db->Prepare("SELECT role FROM user_roles WHERE user = ?1 ORDER BY role"));
  roles.Bind(1, name);
  while (true) {
    ASSIGN_OR_RETURN(bool r, roles.Step());
    if (!r) break;
    ASSIGN_OR_RETURN(Role role, ParseRole(roles.ColumnText(0)));
    u.roles.push_back(role);
  }
  return u;
}

Result<NodeInfo> GovernanceService::Impl::LoadNodeLocked(std::string_view id) {
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("SELECT n.id, n.organisation, o.jurisdiction FROM nodes n JOIN "
                               "organisations o ON o.id = n.organisation WHERE n.id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("node {} is not registered", id));
  ASSIGN_OR_RETURN(Jurisdiction j, ParseJurisdiction(st.ColumnText(2)));
  return NodeInfo{st.ColumnText(0), st.ColumnText(1), j};
}

// ---- authentication -----------------------------------------------------------------------------

Result<Principal> GovernanceService::Authenticate(std::string_view bearer) {
  auto bad = [](std::string_view why) {
    return Status::Unauthenticated(fmt::format("bearer token refused: {}", why));
  };
  bearer = Trim(bearer);
  if (!StartsWith(bearer, kTokenPrefix) ||
      bearer.size() != kTokenPrefix.size() + kTokenIdHex + 1 + kTokenSecretHex ||
      bearer[kTokenPrefix.size() + kTokenIdHex] != '_') {
    return bad("malformed (a token reads psl_<id>_<secret>)");
  }
  std::string id(bearer.substr(kTokenPrefix.size(), kTokenIdHex));
  std::string_view secret = bearer.substr(kTokenPrefix.size() + kTokenIdHex + 1);
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT user, hash, expires_at, revoked_at FROM "
                                               "tokens WHERE id = ?1"));
  st.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return bad("unknown token");
  std::string user = st.ColumnText(0);
  std::string hash = st.ColumnText(1);
  int64_t expires_at = st.ColumnInt(2);
  bool revoked = !st.IsNull(3);
  // The secret is checked before the token's state is disclosed.
  internal::Bytes32 digest = internal::Sha256(bearer);
  auto cached = m.verified_tokens.find(id);
  bool verified =
      cached != m.verified_tokens.end() && internal::ConstantTimeEquals(cached->second, digest);
  if (!verified) {
    if (!internal::Argon2idVerify(hash, secret)) return bad("wrong secret");
    if (m.options.tokens.cache_verified) {
      if (m.verified_tokens.size() >= kMaxVerifiedTokens) m.verified_tokens.clear();
      m.verified_tokens[id] = digest;
    }
  }
  if (revoked) {
    return RuleViolation(StatusCode::kUnauthenticated, rule::kTokenRevoked,
                         fmt::format("bearer token refused: token {} was revoked", id));
  }
  if (m.clock.NowMicros() >= expires_at) {
    return RuleViolation(StatusCode::kUnauthenticated, rule::kTokenExpired,
                         fmt::format("bearer token refused: token {} expired", id));
  }
  ASSIGN_OR_RETURN(User u, m.LoadUserLocked(user));
  if (u.disabled) {
    return RuleViolation(StatusCode::kUnauthenticated, rule::kUserDisabled,
                         fmt::format("bearer token refused: user {} is disabled", user));
  }
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.name = u.name;
  p.organisation = u.organisation;
  p.jurisdiction = u.jurisdiction;
  p.roles = u.roles;
  p.token_id = id;
  return p;
}

Result<Principal> GovernanceService::NodePrincipal(std::string_view node_id) {
  std::lock_guard lock(impl_->mu);
  ASSIGN_OR_RETURN(auto stamp, impl_->db->ChangeStamp());
  if (stamp != impl_->node_principals_stamp) {
    impl_->node_principals.clear();
    impl_->node_principals_stamp = stamp;
  }
  if (auto it = impl_->node_principals.find(node_id); it != impl_->node_principals.end()) {
    return it->second;
  }
  auto node = impl_->LoadNodeLocked(node_id);
  if (!node.ok()) {
    if (node.status().code() == StatusCode::kNotFound) {
      return Status::Unauthenticated(
          fmt::format("node {} is not registered with this hub", node_id));
    }
    return node.status();
  }
  Principal p;
  p.kind = Principal::Kind::kNode;
  p.name = node->id;
  p.organisation = node->organisation;
  p.jurisdiction = node->jurisdiction;
  impl_->node_principals.emplace(p.name, p);
  return p;
}

// ---- authorisation ------------------------------------------------------------------------------

Status GovernanceService::Authorize(const Principal& principal, Action action,
                                    const Resource& resource) {
  std::lock_guard lock(impl_->mu);
  return impl_->AuthorizeLocked(principal, action, resource);
}

Status GovernanceService::Impl::AuthorizeLocked(const Principal& p, Action a, const Resource& r) {
  const bool admin = p.IsAdministrator();
  const bool committee = p.HasRole(RoleKind::kCommitteeMember);
  const bool is_node = p.kind == Principal::Kind::kNode;
  auto committee_of = [&](const std::vector<Jurisdiction>& js) {
    for (Jurisdiction j : js) {
      if (p.HasRole(RoleKind::kCommitteeMember, JurisdictionName(j))) return true;
    }
    return false;
  };

  // Nodes act only on their own tasks, their own catalog entries, and read the projects whose
  // datasets they hold.
  if (is_node && a != Action::kTaskFetch && a != Action::kTaskResult &&
      a != Action::kCatalogPublish && a != Action::kProjectRead) {
    return Deny(p, a, rule::kRole, "nodes only fetch tasks, post results and publish datasets");
  }

  switch (a) {
    case Action::kOrganisationManage:
    case Action::kUserManage:
    case Action::kCallManage:
    case Action::kSelect:
      if (admin) return Status::Ok();
      return Deny(p, a, rule::kRole, "only an administrator may");

    case Action::kUserRead:
      if (admin || (p.kind == Principal::Kind::kUser && p.name == r.user)) return Status::Ok();
      return Deny(p, a, rule::kRole, "only an administrator or the user themself may");

    case Action::kTokenSelf:
      if (p.kind == Principal::Kind::kUser && p.name == r.user) return Status::Ok();
      return Deny(p, a, rule::kRole, "a user manages only their own tokens");

    case Action::kCallRead:
    case Action::kProjectList:
    case Action::kCatalogSearch:
      return Status::Ok();

    case Action::kApplicationSubmit:
      if (p.HasRole(RoleKind::kResearcher)) return Status::Ok();
      return Deny(p, a, rule::kRole, "only a researcher may apply");

    case Action::kApplicationRead:
    case Action::kReviewSubmit: {
      ASSIGN_OR_RETURN(Application app, LoadApplicationLocked(r.application));
      bool member = Contains(app.input.team, p.name) && p.kind == Principal::Kind::kUser;
      if (a == Action::kApplicationRead) {
        if (admin || member || committee_of(app.jurisdictions)) return Status::Ok();
        return Deny(p, a, rule::kProjectMember,
                    fmt::format("application {} is readable by its team, the administrators and "
                                "the committees of {}",
                                app.input.id, JoinJurisdictions(app.jurisdictions)));
      }
      if (!committee) return Deny(p, a, rule::kRole, "only a committee member may review");
      if (!committee_of(app.jurisdictions)) {
        return Deny(p, a, rule::kCommitteeJurisdiction,
                    fmt::format("application {} involves {} only", app.input.id,
                                JoinJurisdictions(app.jurisdictions)));
      }
      if (member) {
        return Deny(p, a, rule::kConflictOfInterest,
                    fmt::format("a member of the team of {} may not review it", app.input.id));
      }
      return Status::Ok();
    }

    case Action::kRankingRead:
    case Action::kAuditExport:
      if (admin || committee) return Status::Ok();
      return Deny(p, a, rule::kRole, "only administrators and committee members may");

    case Action::kDecide:
    case Action::kAmendDecide: {
      auto j = ParseJurisdiction(r.jurisdiction);
      if (!j.ok()) return j.status();
      if (!committee) {
        return Deny(p, a, rule::kRole,
                    fmt::format("only a committee member of {} may decide for {}", r.jurisdiction,
                                r.jurisdiction));
      }
      if (!p.HasRole(RoleKind::kCommitteeMember, JurisdictionName(*j))) {
        return Deny(p, a, rule::kCommitteeJurisdiction,
                    fmt::format("only a committee member of {} may decide for {}",
                                JurisdictionName(*j), JurisdictionName(*j)));
      }
      ASSIGN_OR_RETURN(Project proj, LoadProjectLocked(r.project));
      if (Contains(proj.members, p.name)) {
        return Deny(p, a, rule::kConflictOfInterest,
                    fmt::format("a member of project {} may not decide on it", proj.id));
      }
      return Status::Ok();
    }

    case Action::kProjectRead:
    case Action::kDataSharingRecord:
    case Action::kAmendPropose:
    case Action::kProjectClose:
    case Action::kStudySubmit:
    case Action::kStudyRead:
    case Action::kResultRead: {
      ASSIGN_OR_RETURN(Project proj, LoadProjectLocked(r.project));
      bool member = p.kind == Principal::Kind::kUser && Contains(proj.members, p.name);
      bool lead = p.kind == Principal::Kind::kUser && proj.lead == p.name;
      switch (a) {
        case Action::kProjectRead: {
          if (admin || member || committee_of(proj.jurisdictions)) return Status::Ok();
          for (const DatasetRef& d : proj.datasets) {
            if (p.HasRole(RoleKind::kCustodian, d.node) || (is_node && p.name == d.node)) {
              return Status::Ok();
            }
          }
          return Deny(p, a, rule::kProjectMember,
                      fmt::format("not a member of project {}", proj.id));
        }
        case Action::kDataSharingRecord:
          if (admin || lead) return Status::Ok();
          return Deny(p, a, rule::kRole,
                      fmt::format("only the lead of project {} or an administrator may", proj.id));
        case Action::kAmendPropose:
          if (lead) return Status::Ok();
          return Deny(p, a, rule::kRole,
                      fmt::format("only the lead of project {} ({}) may", proj.id, proj.lead));
        case Action::kProjectClose:
          if (admin || lead || committee_of(proj.jurisdictions)) return Status::Ok();
          return Deny(p, a, rule::kRole,
                      fmt::format("only the lead of project {}, an administrator or a committee "
                                  "member of {} may",
                                  proj.id, JoinJurisdictions(proj.jurisdictions)));
        default:  // studies and results: members only (not even administrators)
          if (member) return Status::Ok();
          return Deny(
              p, a, rule::kProjectMember,
              fmt::format("the studies and results of project {} are for its members", proj.id));
      }
    }

    case Action::kCatalogPublish:
      if ((is_node && p.name == r.node) || p.HasRole(RoleKind::kCustodian, r.node) ||
          p.kind == Principal::Kind::kLocalOperator) {
        return Status::Ok();
      }
      return Deny(p, a, rule::kRole,
                  fmt::format("only node {} or its custodian may publish its datasets", r.node));

    case Action::kTaskFetch:
    case Action::kTaskResult:
      if (is_node && p.name == r.node) return Status::Ok();
      return Deny(p, a, rule::kRole,
                  fmt::format("only node {} itself may", r.node.empty() ? "?" : r.node));
  }
  return Status::Internal("unhandled action");
}

// ---- organisations, nodes, users, tokens
// ---------------------------------------------------------

Status GovernanceService::AddOrganisation(const Principal& by, const Organisation& org) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kOrganisationManage, {}));
  RETURN_IF_ERROR(ValidateId(org.id, "organisation"));
  if (Trim(org.name).empty())
    return Status::InvalidArgument("organisation name: must not be empty");
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  if (m.LoadOrganisationLocked(org.id).ok()) {
    return Status::AlreadyExists(fmt::format("organisation {} already exists", org.id));
  }
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("INSERT INTO organisations(id, name, jurisdiction, "
                                               "created_at) VALUES(?1, ?2, ?3, ?4)"));
  st.Bind(1, org.id)
      .Bind(2, org.name)
      .Bind(3, JurisdictionName(org.jurisdiction))
      .Bind(4, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(
      m.AuditLocked(by, "organisation.add", "",
                    {{"organisation", org.id},
                     {"jurisdiction", std::string(JurisdictionName(org.jurisdiction))}}));
  return tx.Commit();
}

Result<std::vector<Organisation>> GovernanceService::ListOrganisations(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kCallRead, {}));
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT id FROM organisations ORDER BY id"));
  std::vector<Organisation> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(Organisation o, m.LoadOrganisationLocked(st.ColumnText(0)));
    out.push_back(std::move(o));
  }
  return out;
}

Status GovernanceService::RegisterNode(const Principal& by, std::string_view node_id,
                                       std::string_view organisation) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kOrganisationManage, {}));
  RETURN_IF_ERROR(ValidateId(node_id, "node"));
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Organisation org, m.LoadOrganisationLocked(organisation));
  if (m.LoadNodeLocked(node_id).ok()) {
    return Status::AlreadyExists(fmt::format("node {} is already registered", node_id));
  }
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("INSERT INTO nodes(id, organisation, created_at) "
                                               "VALUES(?1, ?2, ?3)"));
  st.Bind(1, node_id).Bind(2, org.id).Bind(3, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "node.register", "",
                                {{"node", std::string(node_id)}, {"organisation", org.id}}));
  return tx.Commit();
}

Result<NodeInfo> GovernanceService::GetNode(std::string_view node_id) {
  std::lock_guard lock(impl_->mu);
  return impl_->LoadNodeLocked(node_id);
}

Result<std::vector<NodeInfo>> GovernanceService::ListNodes(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kCallRead, {}));
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT id FROM nodes ORDER BY id"));
  std::vector<NodeInfo> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(NodeInfo n, m.LoadNodeLocked(st.ColumnText(0)));
    out.push_back(std::move(n));
  }
  return out;
}

Result<IssuedToken> GovernanceService::Impl::IssueTokenLocked(const Principal& by,
                                                              std::string_view user,
                                                              std::string_view label,
                                                              std::optional<int> days) {
  int d = days.value_or(options.tokens.default_validity_days);
  if (d < 1 || d > options.tokens.max_validity_days) {
    return Status::InvalidArgument(fmt::format("token validity: {} days is not in 1..{}", d,
                                               options.tokens.max_validity_days));
  }
  ASSIGN_OR_RETURN(User u, LoadUserLocked(user));
  if (u.disabled) {
    return RuleViolation(StatusCode::kFailedPrecondition, rule::kUserDisabled,
                         fmt::format("user {} is disabled", user));
  }
  IssuedToken t;
  t.user = u.name;
  // A fresh id that no row uses yet (48 random bits: a collision is rare, and retried).
  for (int attempt = 0;; ++attempt) {
    t.id = RandomHex(random, kTokenIdHex / 2);
    ASSIGN_OR_RETURN(Statement exists, db->Prepare("SELECT 1 FROM tokens WHERE id = ?1"));
    exists.Bind(1, t.id);
    ASSIGN_OR_RETURN(bool taken, exists.Step());
    if (!taken) break;
    if (attempt == 8) return Status::Internal("could not draw a fresh token id");
  }
  std::string secret = RandomHex(random, kTokenSecretHex / 2);
  t.token = std::string(kTokenPrefix) + t.id + "_" + secret;
  internal::Argon2Cost cost{options.tokens.hash_ops_limit, options.tokens.hash_mem_limit};
  auto hash = internal::Argon2idHash(secret, cost);
  internal::SecureZero({reinterpret_cast<uint8_t*>(secret.data()), secret.size()});
  if (!hash.ok()) return hash.status();
  int64_t now = clock.NowMicros();
  t.expires_at = now + d * kMicrosPerDay;
  ASSIGN_OR_RETURN(Statement st,
                   db->Prepare("INSERT INTO tokens(id, user, hash, label, created_at, "
                               "expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
  st.Bind(1, t.id).Bind(2, t.user).Bind(3, *hash).Bind(4, label).Bind(5, now).Bind(6, t.expires_at);
  RETURN_IF_ERROR(st.Run().status());
  RETURN_IF_ERROR(AuditLocked(
      by, "token.issue", "",
      {{"user", t.user},
       {"token_id", t.id},
       {"expires_on", FormatDate(static_cast<int32_t>(t.expires_at / kMicrosPerDay))}}));
  return t;
}

Result<IssuedToken> GovernanceService::AddUser(const Principal& by, const NewUser& user,
                                               std::optional<int> validity_days) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kUserManage, {}));
  RETURN_IF_ERROR(ValidateId(user.name, "user"));
  if (user.roles.empty()) {
    return Status::InvalidArgument(fmt::format("user {}: give at least one role", user.name));
  }
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Organisation org, m.LoadOrganisationLocked(user.organisation));
  if (m.LoadUserLocked(user.name).ok()) {
    return Status::AlreadyExists(fmt::format("user {} already exists", user.name));
  }
  std::vector<std::string> role_names;
  for (const Role& r : user.roles) {
    if (r.kind == RoleKind::kCustodian) RETURN_IF_ERROR(m.LoadNodeLocked(r.scope).status());
    role_names.push_back(RoleToString(r));
  }
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("INSERT INTO users(name, display_name, "
                                               "organisation, created_at) VALUES(?1, ?2, ?3, ?4)"));
  st.Bind(1, user.name)
      .Bind(2, user.display_name.empty() ? user.name : user.display_name)
      .Bind(3, org.id)
      .Bind(4, m.clock.NowMicros());
  RETURN_IF_ERROR(st.Run().status());
  ASSIGN_OR_RETURN(Statement role_st,
                   m.db->Prepare("INSERT OR IGNORE INTO user_roles(user, role) VALUES(?1, ?2)"));
  for (const std::string& r : role_names) {
    role_st.Reset();
    role_st.Bind(1, user.name).Bind(2, r);
    RETURN_IF_ERROR(role_st.Run().status());
  }
  RETURN_IF_ERROR(m.AuditLocked(
      by, "user.add", "",
      {{"user", user.name}, {"organisation", org.id}, {"roles", Join(role_names, ",")}}));
  ASSIGN_OR_RETURN(IssuedToken t, m.IssueTokenLocked(by, user.name, "first", validity_days));
  RETURN_IF_ERROR(tx.Commit());
  return t;
}

Result<IssuedToken> GovernanceService::IssueToken(const Principal& by, std::string_view user,
                                                  std::string_view label,
                                                  std::optional<int> validity_days) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  bool self = by.kind == Principal::Kind::kUser && by.name == user;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, self ? Action::kTokenSelf : Action::kUserManage,
                                    Resource::User(std::string(user))));
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(IssuedToken t, m.IssueTokenLocked(by, user, label, validity_days));
  RETURN_IF_ERROR(tx.Commit());
  return t;
}

Status GovernanceService::RevokeToken(const Principal& by, std::string_view token_id) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.RequireWritableLocked());
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*m.db));
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("SELECT user, revoked_at FROM tokens WHERE id = ?1"));
  st.Bind(1, token_id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("token {} does not exist", token_id));
  std::string owner = st.ColumnText(0);
  bool self = by.kind == Principal::Kind::kUser && by.name == owner;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, self ? Action::kTokenSelf : Action::kUserManage,
                                    Resource::User(owner)));
  if (!st.IsNull(1)) {
    return Status::FailedPrecondition(fmt::format("token {} is already revoked", token_id));
  }
  ASSIGN_OR_RETURN(Statement up, m.db->Prepare("UPDATE tokens SET revoked_at = ?2 WHERE id = ?1"));
  up.Bind(1, token_id).Bind(2, m.clock.NowMicros());
  RETURN_IF_ERROR(up.Run().status());
  m.verified_tokens.erase(std::string(token_id));
  RETURN_IF_ERROR(m.AuditLocked(by, "token.revoke", "",
                                {{"user", owner}, {"token_id", std::string(token_id)}}));
  return tx.Commit();
}

Status GovernanceService::DisableUser(const Principal& by, std::string_view user) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(SqliteTransaction tx,
                   m.BeginChangeLocked(by, Action::kUserManage, Resource::User(std::string(user))));
  ASSIGN_OR_RETURN(User u, m.LoadUserLocked(user));
  if (u.disabled)
    return Status::FailedPrecondition(fmt::format("user {} is already disabled", user));
  ASSIGN_OR_RETURN(Statement up,
                   m.db->Prepare("UPDATE users SET disabled_at = ?2 WHERE name = ?1"));
  up.Bind(1, user).Bind(2, m.clock.NowMicros());
  RETURN_IF_ERROR(up.Run().status());
  RETURN_IF_ERROR(m.AuditLocked(by, "user.disable", "", {{"user", std::string(user)}}));
  return tx.Commit();
}

Result<User> GovernanceService::GetUser(const Principal& by, std::string_view name) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AuthorizeLocked(by, Action::kUserRead, Resource::User(std::string(name))));
  return impl_->LoadUserLocked(name);
}

Result<std::vector<User>> GovernanceService::ListUsers(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kUserManage, {}));
  ASSIGN_OR_RETURN(Statement st, m.db->Prepare("SELECT name FROM users ORDER BY name"));
  std::vector<User> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(User u, m.LoadUserLocked(st.ColumnText(0)));
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<TokenInfo>> GovernanceService::ListTokens(const Principal& by,
                                                             std::string_view user) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  RETURN_IF_ERROR(m.AuthorizeLocked(by, Action::kUserRead, Resource::User(std::string(user))));
  ASSIGN_OR_RETURN(Statement st,
                   m.db->Prepare("SELECT id, user, label, created_at, expires_at, revoked_at FROM "
                                 "tokens WHERE user = ?1 ORDER BY created_at, id"));
  st.Bind(1, user);
  std::vector<TokenInfo> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TokenInfo t{st.ColumnText(0), st.ColumnText(1), st.ColumnText(2),
                st.ColumnInt(3),  st.ColumnInt(4),  std::nullopt};
    if (!st.IsNull(5)) t.revoked_at = st.ColumnInt(5);
    out.push_back(std::move(t));
  }
  return out;
}

// ---- catalog ------------------------------------------------------------------------------------

Result<DatasetDescription> GovernanceService::PublishDataset(const Principal& by,
                                                             const DatasetDescription& d) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  ASSIGN_OR_RETURN(SqliteTransaction tx,
                   m.BeginChangeLocked(by, Action::kCatalogPublish, Resource::Node(d.node)));
  ASSIGN_OR_RETURN(NodeInfo node, m.LoadNodeLocked(d.node));
  ASSIGN_OR_RETURN(DatasetDescription stored, m.catalog->Publish(d, node.jurisdiction));
  RETURN_IF_ERROR(
      m.AuditLocked(by, "catalog.publish", "",
                    {{"dataset", stored.Ref()}, {"version", std::to_string(stored.version)}}));
  RETURN_IF_ERROR(tx.Commit());
  return stored;
}

Result<DatasetDescription> GovernanceService::GetDataset(const Principal& by, std::string_view node,
                                                         std::string_view name) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AuthorizeLocked(by, Action::kCatalogSearch, {}));
  return impl_->catalog->Get(node, name);
}

Result<std::vector<CatalogHit>> GovernanceService::SearchCatalog(const Principal& by,
                                                                 const CatalogQuery& query) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AuthorizeLocked(by, Action::kCatalogSearch, {}));
  return impl_->catalog->Search(query);
}

// ---- audit --------------------------------------------------------------------------------------

Result<AuditEntry> GovernanceService::RecordAudit(const AuditRecord& record) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->RequireWritableLocked());
  return impl_->audit->Append(record);
}

Result<int64_t> GovernanceService::AuditImportMark(std::string_view source) {
  std::lock_guard lock(impl_->mu);
  return impl_->audit->ImportMark(source);
}

Result<int64_t> GovernanceService::ImportAudits(std::string_view source,
                                                std::span<const PendingAuditRecord> records) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->RequireWritableLocked());
  ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*impl_->db));
  ASSIGN_OR_RETURN(int64_t mark, impl_->audit->AppendImported(source, records));
  RETURN_IF_ERROR(tx.Commit());
  return mark;
}

Status GovernanceService::CheckpointInBackground() {
  std::lock_guard lock(impl_->mu);
  if (impl_->checkpointer) return Status::Ok();
  ASSIGN_OR_RETURN(impl_->checkpointer,
                   WalCheckpointer::Start(*impl_->db, impl_->db->path(), {.name = "governance"}));
  return Status::Ok();
}

Result<std::string> GovernanceService::ExportAuditLog(const Principal& by) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AuthorizeLocked(by, Action::kAuditExport, {}));
  return impl_->audit->Export();
}

Status GovernanceService::VerifyStoredAuditLog() {
  std::lock_guard lock(impl_->mu);
  return impl_->audit->VerifyStored();
}

}  // namespace passerelle::governance
