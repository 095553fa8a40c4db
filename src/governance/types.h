// Vocabulary of the governance domain: jurisdictions, roles, the programme's axes, principals
// (who is acting), and the rule names that errors carry.
//
// Names returned by the *Name functions are part of the persisted and wire formats (SQLite rows,
// audit entries, API JSON): never change one, add a new one.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::governance {

// The two jurisdictions of the programme. Persisted as "FR" / "QC".
enum class Jurisdiction { kFR, kQC };
std::string_view JurisdictionName(Jurisdiction j);
// Accepts "FR" / "QC" in either case.
Result<Jurisdiction> ParseJurisdiction(std::string_view text);
inline constexpr Jurisdiction kAllJurisdictions[] = {Jurisdiction::kFR, Jurisdiction::kQC};

enum class RoleKind {
  kAdministrator,    // runs the platform: organisations, users, nodes, calls, selection
  kCommitteeMember,  // a jurisdiction's committee: reviews, decisions, amendments (scope: FR/QC)
  kResearcher,       // applies, works in projects, submits studies (no scope)
  kCustodian,        // a node's data custodian (scope: the node id)
};

// A role as granted to a user; `scope` is the jurisdiction ("FR"/"QC") of a committee member, the
// node id of a custodian, and empty otherwise.
struct Role {
  RoleKind kind = RoleKind::kResearcher;
  std::string scope;

  friend bool operator==(const Role&, const Role&) = default;
};

// "administrator", "committee:FR", "researcher", "custodian:<node>".
std::string RoleToString(const Role& role);
Result<Role> ParseRole(std::string_view text);
std::string_view RoleKindName(RoleKind kind);

// The programme's three axes (the joint call for AI in health projects).
enum class Axis {
  kAiApplications,    // "ai-applications": AI applications for professionals or patients
  kPopulationModels,  // "population-models": population models for prevention or therapy
  kPatientBenefit,    // "patient-benefit": solutions with benefits for patient treatment
};
std::string_view AxisName(Axis axis);
Result<Axis> ParseAxis(std::string_view text);
inline constexpr Axis kAllAxes[] = {Axis::kAiApplications, Axis::kPopulationModels,
                                    Axis::kPatientBenefit};

// Who is acting. Built by Authenticate (people, from a bearer token), NodePrincipal (a node, from
// its TLS client certificate) or LocalOperator (whoever runs the CLI on the hub's own state file:
// they can already read and write it, so they hold the administrator role and nothing more).
struct Principal {
  enum class Kind { kUser, kNode, kLocalOperator };
  Kind kind = Kind::kUser;
  std::string name;                          // user name, node id, or "local-operator"
  std::string organisation;                  // empty for the local operator
  std::optional<Jurisdiction> jurisdiction;  // of the organisation
  std::vector<Role> roles;                   // empty for a node
  std::string token_id;                      // the token used, for the audit trail

  bool HasRole(RoleKind kind) const;
  bool HasRole(RoleKind kind, std::string_view scope) const;
  bool IsAdministrator() const { return HasRole(RoleKind::kAdministrator); }
  // Roles as strings (RoleToString), e.g. for a transport-level principal.
  std::vector<std::string> RoleStrings() const;

  static Principal LocalOperator();
};

// The rule names errors carry (in the message, as `[rule: <name>]`), listed with their meaning
// in docs/governance.md. Tests and API clients may match on them.
namespace rule {
inline constexpr std::string_view kRole = "role";
inline constexpr std::string_view kCommitteeJurisdiction = "committee_jurisdiction";
inline constexpr std::string_view kProjectMember = "project_member";
inline constexpr std::string_view kConflictOfInterest = "conflict_of_interest";
inline constexpr std::string_view kTokenRevoked = "token_revoked";
inline constexpr std::string_view kTokenExpired = "token_expired";
inline constexpr std::string_view kUserDisabled = "user_disabled";
inline constexpr std::string_view kCallNotOpen = "call_not_open";
inline constexpr std::string_view kDeadline = "deadline";
inline constexpr std::string_view kCallAxis = "call_axis";
inline constexpr std::string_view kJointTeam = "joint_team";
inline constexpr std::string_view kTeam = "team";
inline constexpr std::string_view kCatalogDataset = "catalog_dataset";
inline constexpr std::string_view kLegalBasis = "legal_basis";
inline constexpr std::string_view kPiaRequired = "pia_required";
inline constexpr std::string_view kSelectionDone = "selection_done";
inline constexpr std::string_view kSelectionBeforeDeadline = "selection_before_deadline";
inline constexpr std::string_view kFundingLimit = "funding_limit";
inline constexpr std::string_view kMinReviews = "min_reviews";
inline constexpr std::string_view kReviewScore = "review_score";
inline constexpr std::string_view kJurisdictionNotInvolved = "jurisdiction_not_involved";
inline constexpr std::string_view kAlreadyDecided = "already_decided";
inline constexpr std::string_view kDsaRequired = "dsa_required";
inline constexpr std::string_view kApprovals = "approvals";
inline constexpr std::string_view kRefused = "refused";
inline constexpr std::string_view kWindow = "window";
inline constexpr std::string_view kClosed = "closed";
inline constexpr std::string_view kAmendment = "amendment";
inline constexpr std::string_view kNodeApproval = "node_approval";
inline constexpr std::string_view kNodeDataset = "node_dataset";
inline constexpr std::string_view kCatalogCounts = "catalog_counts";
inline constexpr std::string_view kAuditKey = "audit_key";
}  // namespace rule

// A Status whose message ends with " [rule: <name>]".
Status RuleViolation(StatusCode code, std::string_view rule_name, std::string_view message);

// A valid identifier for organisations, users, nodes, calls, applications and projects:
// 1..64 characters of [a-z0-9._-], starting with a letter or digit. `what` names the field.
Status ValidateId(std::string_view id, std::string_view what);

// Dates: days since 1970-01-01 (see common/date.h). `months` calendar months later, the day
// clamped to the end of a shorter month (2024-01-31 + 1 month = 2024-02-29).
int32_t AddMonths(int32_t days, int months);

}  // namespace passerelle::governance
