// Vocabulary (roles, axes, ids, months) and the API's JSON bodies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/date.h"
#include "governance/api_json.h"
#include "governance/types.h"

namespace passerelle::governance {
namespace {

using nlohmann::json;

TEST(Types, RolesParseAndPrint) {
  for (const char* text :
       {"administrator", "researcher", "committee:FR", "committee:QC", "custodian:fr-node"}) {
    auto r = ParseRole(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(RoleToString(*r), text);
  }
  EXPECT_EQ(RoleToString(ParseRole("committee:qc").value()), "committee:QC");
  for (const char* bad : {"committee", "committee:BE", "custodian:", "researcher:x", "king"}) {
    EXPECT_EQ(ParseRole(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Types, AxesJurisdictionsAndIds) {
  for (Axis a : kAllAxes) EXPECT_EQ(ParseAxis(AxisName(a)).value(), a);
  EXPECT_FALSE(ParseAxis("robotics").ok());
  EXPECT_EQ(ParseJurisdiction("fr").value(), Jurisdiction::kFR);
  EXPECT_FALSE(ParseJurisdiction("BE").ok());
  EXPECT_TRUE(ValidateId("proj-a.v2_1", "x").ok());
  for (const std::string& bad :
       std::vector<std::string>{"", "-a", "A", "a b", "é", std::string(65, 'a')}) {
    EXPECT_FALSE(ValidateId(bad, "x").ok()) << bad;
  }
}

TEST(Types, AddMonthsClampsToTheMonthEnd) {
  auto d = [](const char* s) { return ParseDate(s).value(); };
  EXPECT_EQ(AddMonths(d("2025-05-20"), 18), d("2026-11-20"));
  EXPECT_EQ(AddMonths(d("2024-01-31"), 1), d("2024-02-29"));
  EXPECT_EQ(AddMonths(d("2025-01-31"), 1), d("2025-02-28"));
  EXPECT_EQ(AddMonths(d("2025-08-31"), 18), d("2027-02-28"));
  EXPECT_EQ(AddMonths(d("2025-12-15"), 1), d("2026-01-15"));
}

TEST(ApiJson, RequestsParseStrictly) {
  auto call = CallInputFromJson(R"({"id": "joint-2025", "title": "Joint call",
      "axes": ["ai-applications", "patient-benefit"], "opens_on": "2025-03-01",
      "closes_on": "2025-04-30", "projects_to_fund": 2})");
  ASSERT_TRUE(call.ok()) << call.status().ToString();
  EXPECT_EQ(call->axes.size(), 2u);
  EXPECT_TRUE(call->joint);
  EXPECT_FALSE(call->access_months.has_value());
  EXPECT_NE(CallInputFromJson(R"({"id": "x", "title": "t", "opens_on": "2025-13-01",
      "closes_on": "2025-04-30", "projects_to_fund": 2})")
                .status()
                .message()
                .find("opens_on"),
            std::string::npos);
  EXPECT_NE(CallInputFromJson(R"({"id": "x", "title": "t", "budget": 1})")
                .status()
                .message()
                .find("unknown key \"budget\""),
            std::string::npos);

  auto app = ApplicationInputFromJson(R"({"id": "proj-a", "title": "T", "axis": "ai-applications",
      "summary": "S", "lead": "alice", "team": ["alice", "bruno"],
      "datasets": ["fr-node/diabetes"], "legal_basis": "GDPR 6.1.e", "pia_done": true})",
                                      "joint-2025");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ(app->call_id, "joint-2025");
  EXPECT_EQ(app->datasets[0].ToString(), "fr-node/diabetes");
  EXPECT_FALSE(ApplicationInputFromJson(R"({"id": "p", "title": "T", "axis": "ai-applications",
      "summary": "S", "lead": "a", "datasets": ["no-slash"], "legal_basis": "x",
      "pia_done": false})",
                                        "c")
                   .ok());

  auto user =
      NewUserFromJson(R"({"name": "quentin", "organisation": "frqs", "roles": ["committee:QC"]})");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->user.roles[0].scope, "QC");
  EXPECT_FALSE(NewUserFromJson(R"({"name": "q", "organisation": "o", "roles": ["boss"]})").ok());

  EXPECT_EQ(DecisionFromJson(R"({"decision": "refuse", "comment": "no"})")->decision,
            Decision::kRefuse);
  EXPECT_FALSE(DecisionFromJson(R"({"decision": "maybe"})").ok());
  EXPECT_EQ(ReviewFromJson(R"({"score": 7})")->score, 7);
  EXPECT_FALSE(ReviewFromJson(R"({"score": "7"})").ok());
  EXPECT_EQ(SelectionFromJson(R"({"applications": ["a", "b"]})")->size(), 2u);
  EXPECT_EQ(AmendmentInputFromJson(
                R"({"kind": "extend-window", "value": "2027-01-01", "reason": "delay"})")
                ->kind,
            AmendmentKind::kExtendWindow);
  EXPECT_EQ(TokenRequestFromJson("")->label, "");
  EXPECT_EQ(CloseFromJson(R"({"reason": "done"})").value(), "done");
  EXPECT_EQ(DsaFromJson(R"({"reference": "DSA-1"})").value(), "DSA-1");
  EXPECT_EQ(
      OrganisationFromJson(R"({"id": "udem", "name": "UdeM", "jurisdiction": "QC"})")->jurisdiction,
      Jurisdiction::kQC);
  EXPECT_FALSE(OrganisationFromJson("[1]").ok());
}

TEST(ApiJson, ResponsesCarryTheWindowBothWays) {
  Project p;
  p.id = "proj-a";
  p.state = ProjectState::kApproved;
  p.start_on = ParseDate("2025-05-20").value();
  p.end_on = ParseDate("2026-11-20").value();
  p.jurisdictions = {Jurisdiction::kFR, Jurisdiction::kQC};
  p.decisions = {{Jurisdiction::kFR, Decision::kApprove, "fanny", "ok", p.start_on.value()}};
  json j = json::parse(ToJson(p));
  EXPECT_EQ(j["state"], "approved");
  EXPECT_EQ(j["end_on"], "2026-11-20");
  EXPECT_EQ(j["last_day"], "2026-11-19");
  EXPECT_EQ(j["jurisdictions"], json::array({"FR", "QC"}));
  EXPECT_EQ(j["decisions"][0]["decision"], "approve");
  EXPECT_TRUE(j["closed_on"].is_null());
  std::vector<Organisation> orgs = {{"a", "A", Jurisdiction::kFR}, {"b", "B", Jurisdiction::kQC}};
  json arr = json::parse(ToJsonArray(orgs));
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[1]["jurisdiction"], "QC");
  Principal op = Principal::LocalOperator();
  EXPECT_EQ(json::parse(ToJson(op))["roles"], json::array({"administrator"}));
}

}  // namespace
}  // namespace passerelle::governance
