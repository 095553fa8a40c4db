// The governance service (front door of src/governance): people and organisations, the joint call
// for projects, applications, reviews, selection, each jurisdiction's decision, access windows,
// amendments and closure, the hub's catalog, and the hub's audit log — in one SQLite file.
//
// Every operation takes the acting Principal, authorises it (auth.h's rules), checks the workflow
// rules, changes the state and appends a signed audit entry, all in one transaction: a state change
// without its audit entry cannot happen. Errors name the rule (" [rule: deadline]", types.h).
//
// Workflow (docs/governance.md has the state diagram):
//   call (opens_on .. closes_on, inclusive, UTC days)
//   application: submitted -> selected | not_selected            (selection after the deadline)
//   project (one per selected application, same id):
//     pending -> approved   when every involved jurisdiction's committee approved
//             -> refused    when one refused
//     approved -> closed;   pending -> closed
//   active(project, today) = approved && start_on <= today < end_on && not closed
//   amendment: proposed -> applied | refused   (each involved jurisdiction decides)
//
// Involved jurisdictions of an application: those of its team members' organisations and of the
// nodes holding the datasets it requests. A privacy impact assessment is required when Québec
// data is requested by a project led, or analysed, outside Québec (the lead or any team member
// belongs to an organisation outside Québec).
//
// All time comes from the injected Clock; all token secrets from the injected RandomSource.
//
// Thread-safety: all public methods are safe to call from several threads (one internal mutex
// around the SQLite connection).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/audit.h"
#include "governance/auth.h"
#include "governance/catalog.h"
#include "governance/types.h"

namespace passerelle::governance {

struct TokenOptions {
  // Argon2id cost of the stored token hashes. Defaults follow OWASP's minimum for Argon2id
  // (m = 19 MiB, t = 2, p = 1). Tests lower them (the tokens are 256-bit random anyway).
  uint64_t hash_ops_limit = 2;        // passes
  size_t hash_mem_limit = 19u << 20;  // bytes
  // Validity of a new token when none is asked, in days.
  int default_validity_days = 90;
  // Longest validity one may ask for, in days.
  int max_validity_days = 366;
  // After a successful Argon2id check, remember SHA-256(token) in memory so the next requests
  // with the same token cost a hash, not an Argon2id run. Revocation, expiry and disabling are
  // still read from the database on every request.
  bool cache_verified = true;
};

struct GovernanceOptions {
  // SQLite file of the hub's governance state (":memory:" for tests). Created when absent.
  std::filesystem::path path = "hub-governance.sqlite";
  TokenOptions tokens;
  CatalogOptions catalog;
  // Access window of a project when its call does not say, in months from the start.
  int default_access_months = 18;
  // Reviews an application needs before it can be selected, when its call does not say.
  int default_min_reviews = 2;
  // Name of the audit log's writer (the hub).
  std::string audit_writer = "hub";
};

// ---- values -------------------------------------------------------------------------------------

struct Organisation {
  std::string id;
  std::string name;
  Jurisdiction jurisdiction = Jurisdiction::kFR;
};

struct NewUser {
  std::string name;  // login ([a-z0-9._-])
  std::string display_name;
  std::string organisation;
  std::vector<Role> roles;
};

struct User {
  std::string name;
  std::string display_name;
  std::string organisation;
  Jurisdiction jurisdiction = Jurisdiction::kFR;
  std::vector<Role> roles;
  int64_t created_at = 0;
  bool disabled = false;
};

// A token as issued: `token` is shown once and never stored.
struct IssuedToken {
  std::string token;
  std::string id;
  std::string user;
  int64_t expires_at = 0;  // micros
};

struct TokenInfo {
  std::string id;
  std::string user;
  std::string label;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> revoked_at;
};

struct NodeInfo {
  std::string id;
  std::string organisation;
  Jurisdiction jurisdiction = Jurisdiction::kFR;
};

struct CallInput {
  std::string id;
  std::string title;
  std::string description;
  std::vector<Axis> axes;  // empty: the programme's three axes
  int32_t opens_on = 0;    // days; applications accepted from this day...
  int32_t closes_on = 0;   // ... through this day (inclusive, UTC)
  int projects_to_fund = 2;
  // A joint call requires team members from both jurisdictions.
  bool joint = true;
  std::optional<int> access_months;  // default: GovernanceOptions::default_access_months
  std::optional<int> min_reviews;    // default: GovernanceOptions::default_min_reviews
};

struct Call {
  std::string id;
  std::string title;
  std::string description;
  std::vector<Axis> axes;
  int32_t opens_on = 0;
  int32_t closes_on = 0;
  int projects_to_fund = 0;
  bool joint = true;
  int access_months = 18;
  int min_reviews = 2;
  std::optional<int32_t> selected_on;  // the day the selection was recorded
  std::string created_by;
};

// A dataset of the catalog, "node/name".
struct DatasetRef {
  std::string node;
  std::string name;
  std::string ToString() const { return node + "/" + name; }
  static Result<DatasetRef> Parse(std::string_view text);
  friend bool operator==(const DatasetRef&, const DatasetRef&) = default;
  friend auto operator<=>(const DatasetRef&, const DatasetRef&) = default;
};

struct ApplicationInput {
  std::string id;  // becomes the project id when selected
  std::string call_id;
  std::string title;
  Axis axis = Axis::kAiApplications;
  std::string summary;
  std::string lead;               // a user name; must be the submitter
  std::vector<std::string> team;  // user names (the lead is added when absent)
  std::vector<DatasetRef> datasets;
  std::string legal_basis;
  bool pia_done = false;
  std::string pia_reference;
};

enum class ApplicationState { kSubmitted, kSelected, kNotSelected };
std::string_view ApplicationStateName(ApplicationState s);

struct Application {
  ApplicationInput input;
  ApplicationState state = ApplicationState::kSubmitted;
  std::vector<Jurisdiction> jurisdictions;  // involved
  bool pia_required = false;
  int64_t submitted_at = 0;
};

struct Review {
  std::string application;
  std::string reviewer;
  int score = 0;  // 0..10
  std::string comment;
  int64_t created_at = 0;
};

struct RankedApplication {
  std::string id;
  std::string title;
  double mean_score = 0;
  int reviews = 0;
  ApplicationState state = ApplicationState::kSubmitted;
};

enum class Decision { kApprove, kRefuse };
std::string_view DecisionName(Decision d);

struct DecisionRecord {
  Jurisdiction jurisdiction = Jurisdiction::kFR;
  Decision decision = Decision::kApprove;
  std::string member;
  std::string comment;
  int32_t decided_on = 0;
};

enum class ProjectState { kPending, kApproved, kRefused, kClosed };
std::string_view ProjectStateName(ProjectState s);

struct Project {
  std::string id;
  std::string call_id;
  std::string title;
  Axis axis = Axis::kAiApplications;
  std::string lead;
  std::vector<std::string> members;
  std::vector<DatasetRef> datasets;
  std::vector<Jurisdiction> jurisdictions;  // involved: each must approve
  ProjectState state = ProjectState::kPending;
  int access_months = 18;
  std::optional<int32_t> start_on;  // set when the last approval is recorded
  std::optional<int32_t> end_on;    // exclusive: the first day outside the window
  std::optional<int32_t> closed_on;
  std::string close_reason;
  std::string legal_basis;
  bool pia_done = false;
  std::string pia_reference;
  std::string dsa_reference;  // data-sharing agreement; empty until recorded
  std::vector<DecisionRecord> decisions;
};

enum class AmendmentKind { kExtendWindow, kAddMember, kRemoveMember, kAddDataset };
std::string_view AmendmentKindName(AmendmentKind k);
Result<AmendmentKind> ParseAmendmentKind(std::string_view text);

struct AmendmentInput {
  AmendmentKind kind = AmendmentKind::kExtendWindow;
  // kExtendWindow: the new end_on "YYYY-MM-DD" (exclusive); kAddMember / kRemoveMember: a user
  // name; kAddDataset: "node/name".
  std::string value;
  std::string reason;
};

enum class AmendmentState { kProposed, kApplied, kRefused };
std::string_view AmendmentStateName(AmendmentState s);

struct Amendment {
  int64_t id = 0;
  std::string project;
  AmendmentInput input;
  std::string proposed_by;
  AmendmentState state = AmendmentState::kProposed;
  std::vector<Jurisdiction> jurisdictions;  // who must decide
  std::vector<DecisionRecord> decisions;
};

// ---- the service --------------------------------------------------------------------------------

class GovernanceService final : public Authorizer {
 public:
  // Opens (creating) the state at options.path. Without `audit_key` the service is read-only:
  // every state change fails naming the missing key. `clock` and `random` outlive the service.
  static Result<std::unique_ptr<GovernanceService>> Open(const GovernanceOptions& options,
                                                         std::optional<AuditKey> audit_key,
                                                         Clock& clock, RandomSource& random);
  ~GovernanceService() override;

  // -- Authorizer
  Result<Principal> Authenticate(std::string_view bearer) override;
  Result<Principal> NodePrincipal(std::string_view node_id) override;
  Status Authorize(const Principal& principal, Action action, const Resource& resource) override;

  // -- organisations, nodes, users, tokens
  Status AddOrganisation(const Principal& by, const Organisation& org);
  Result<std::vector<Organisation>> ListOrganisations(const Principal& by);
  Status RegisterNode(const Principal& by, std::string_view node_id, std::string_view organisation);
  Result<NodeInfo> GetNode(std::string_view node_id);
  Result<std::vector<NodeInfo>> ListNodes(const Principal& by);
  // Adds a user and issues their first token (`validity_days`: default from TokenOptions).
  Result<IssuedToken> AddUser(const Principal& by, const NewUser& user,
                              std::optional<int> validity_days = std::nullopt);
  Result<IssuedToken> IssueToken(const Principal& by, std::string_view user, std::string_view label,
                                 std::optional<int> validity_days = std::nullopt);
  Status RevokeToken(const Principal& by, std::string_view token_id);
  Status DisableUser(const Principal& by, std::string_view user);
  Result<User> GetUser(const Principal& by, std::string_view name);
  Result<std::vector<User>> ListUsers(const Principal& by);
  Result<std::vector<TokenInfo>> ListTokens(const Principal& by, std::string_view user);

  // -- calls, applications, reviews, selection
  Result<Call> CreateCall(const Principal& by, const CallInput& call);
  Result<Call> GetCall(const Principal& by, std::string_view id);
  Result<std::vector<Call>> ListCalls(const Principal& by);
  Result<Application> SubmitApplication(const Principal& by, const ApplicationInput& input);
  Result<Application> GetApplication(const Principal& by, std::string_view id);
  // Applications of a call the principal may read.
  Result<std::vector<Application>> ListApplications(const Principal& by, std::string_view call_id);
  Status SubmitReview(const Principal& by, std::string_view application, int score,
                      std::string_view comment);
  Result<std::vector<Review>> ListReviews(const Principal& by, std::string_view application);
  // Applications of a call by mean score, best first.
  Result<std::vector<RankedApplication>> RankApplications(const Principal& by,
                                                          std::string_view call_id);
  // Records the selection: the listed applications become pending projects, the others of the
  // call are not selected.
  Result<std::vector<Project>> SelectProjects(const Principal& by, std::string_view call_id,
                                              const std::vector<std::string>& applications);

  // -- projects
  Status RecordDataSharingAgreement(const Principal& by, std::string_view project,
                                    std::string_view reference);
  Result<Project> RecordDecision(const Principal& by, std::string_view project,
                                 Jurisdiction jurisdiction, Decision decision,
                                 std::string_view comment);
  Result<Project> GetProject(const Principal& by, std::string_view id);
  Result<std::vector<Project>> ListProjects(const Principal& by);
  // OK when the project is active today; otherwise kFailedPrecondition naming the rule
  // (approvals, refused, window, closed) — or kNotFound.
  Status CheckProjectActive(std::string_view project);
  // What the hub asks before accepting a study and before each round: the principal may submit
  // studies of the project (a member), and the project is active.
  Status AuthorizeStudy(const Principal& by, std::string_view project);
  Result<Amendment> ProposeAmendment(const Principal& by, std::string_view project,
                                     const AmendmentInput& input);
  Result<Amendment> DecideAmendment(const Principal& by, std::string_view project,
                                    int64_t amendment_id, Jurisdiction jurisdiction,
                                    Decision decision, std::string_view comment);
  Result<std::vector<Amendment>> ListAmendments(const Principal& by, std::string_view project);
  Result<Project> CloseProject(const Principal& by, std::string_view project,
                               std::string_view reason);

  // -- catalog
  Result<DatasetDescription> PublishDataset(const Principal& by, const DatasetDescription& d);
  Result<DatasetDescription> GetDataset(const Principal& by, std::string_view node,
                                        std::string_view name);
  Result<std::vector<CatalogHit>> SearchCatalog(const Principal& by, const CatalogQuery& query);

  // -- audit
  // Appends one entry in the hub's name at once, in a transaction of its own (tests and tools);
  // the running hub's entries (study.submit, task.create, result.accept, ...) come through its
  // outbox and ImportAudits below.
  Result<AuditEntry> RecordAudit(const AuditRecord& record);
  // Entries the hub first wrote to a durable outbox in its state database, inside the transaction
  // of the state change they record (hub/audit_outbox.h), appended here exactly once: the records
  // above the outbox's mark, and the new mark, in one transaction (AuditLog::AppendImported).
  Result<int64_t> AuditImportMark(std::string_view source);
  Result<int64_t> ImportAudits(std::string_view source,
                               std::span<const PendingAuditRecord> records);
  Result<std::string> ExportAuditLog(const Principal& by);
  Status VerifyStoredAuditLog();
  // From now on, the database's WAL checkpoints run on a thread of their own
  // (common/wal_checkpointer.h), so that no commit (on the hub's loop thread, or its audit
  // forwarder's while it holds the service's lock) stalls on a checkpoint's fsyncs. The hub asks
  // for it. Idempotent; does nothing for ":memory:".
  Status CheckpointInBackground();
  std::optional<AuditPublicKey> audit_public_key() const;
  bool catalog_uses_fts5() const;

  struct Impl;

 private:
  explicit GovernanceService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace passerelle::governance
