// JSON bodies of the governance API (docs/api/governance-endpoints.md lists them per endpoint):
// responses from the service's values, requests into its inputs. Strict parsing: unknown keys,
// wrong types and bad dates are refused with a message naming the field. Dates are "YYYY-MM-DD";
// times are microseconds since the epoch; `end_on` is exclusive (the first day outside a window)
// and `last_day` (= end_on - 1) is given beside it for people.
//
// Text in, text out: nlohmann::json stays inside api_json.cc.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "governance/audit.h"
#include "governance/catalog.h"
#include "governance/governance.h"
#include "governance/node_approvals.h"

namespace passerelle::governance {

std::string ToJson(const Organisation& o);
std::string ToJson(const NodeInfo& n);
std::string ToJson(const User& u);
std::string ToJson(const Principal& p);
std::string ToJson(const IssuedToken& t);
std::string ToJson(const TokenInfo& t);
std::string ToJson(const Call& c);
std::string ToJson(const Application& a);
std::string ToJson(const Review& r);
std::string ToJson(const RankedApplication& r);
std::string ToJson(const Project& p);
std::string ToJson(const Amendment& a);
std::string ToJson(const CatalogHit& h);
std::string ToJson(const NodeApproval& a);
std::string ToJson(const ReconcileReport& r);
// A JSON array of the elements' ToJson.
template <typename T>
std::string ToJsonArray(const std::vector<T>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.append(ToJson(items[i]));
  }
  out.push_back(']');
  return out;
}

// {"id", "name", "jurisdiction"}
Result<Organisation> OrganisationFromJson(std::string_view body);
// {"name", "display_name"?, "organisation", "roles": ["researcher", "committee:QC", ...],
//  "validity_days"?}
struct NewUserRequest {
  NewUser user;
  std::optional<int> validity_days;
};
Result<NewUserRequest> NewUserFromJson(std::string_view body);
// {"label"?, "validity_days"?}
struct TokenRequest {
  std::string label;
  std::optional<int> validity_days;
};
Result<TokenRequest> TokenRequestFromJson(std::string_view body);
// {"id", "title", "description"?, "axes"?: [...], "opens_on", "closes_on", "projects_to_fund",
//  "joint"?, "access_months"?, "min_reviews"?}
Result<CallInput> CallInputFromJson(std::string_view body);
// {"id", "title", "axis", "summary", "lead", "team": [...], "datasets": ["node/name", ...],
//  "legal_basis", "pia_done", "pia_reference"?}  (call_id comes from the path)
Result<ApplicationInput> ApplicationInputFromJson(std::string_view body, std::string_view call_id);
// {"score", "comment"?}
struct ReviewRequest {
  int score = 0;
  std::string comment;
};
Result<ReviewRequest> ReviewFromJson(std::string_view body);
// {"applications": [...]}
Result<std::vector<std::string>> SelectionFromJson(std::string_view body);
// {"reference"}
Result<std::string> DsaFromJson(std::string_view body);
// {"decision": "approve" | "refuse", "comment"?}
struct DecisionRequest {
  Decision decision = Decision::kApprove;
  std::string comment;
};
Result<DecisionRequest> DecisionFromJson(std::string_view body);
// {"kind": "extend-window" | "add-member" | "remove-member" | "add-dataset", "value", "reason"}
Result<AmendmentInput> AmendmentInputFromJson(std::string_view body);
// {"reason"}
Result<std::string> CloseFromJson(std::string_view body);

}  // namespace passerelle::governance
