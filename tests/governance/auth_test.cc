// Tokens (Argon2id, revocation, expiry) and the authorisation rule of every action.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "common/files.h"
#include "common/sqlite.h"
#include "governance/auth.h"
#include "world.h"

namespace passerelle::governance {
namespace {

using testing::World;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.Populate();
    w_.ApproveProjectA(/*also_b=*/true);
  }
  World w_;
};

TEST_F(AuthTest, TokenAuthenticatesItsUser) {
  auto p = w_.gov().Authenticate(w_.token("bruno"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->kind, Principal::Kind::kUser);
  EXPECT_EQ(p->name, "bruno");
  EXPECT_EQ(p->organisation, "udem");
  EXPECT_EQ(p->jurisdiction, Jurisdiction::kQC);
  EXPECT_EQ(p->RoleStrings(), std::vector<std::string>{"researcher"});
  EXPECT_EQ(p->token_id.size(), 12u);
  EXPECT_EQ(w_.token("bruno").rfind("psl_" + p->token_id + "_", 0), 0u);
  // Twice (the second time from the verified-token cache).
  EXPECT_TRUE(w_.gov().Authenticate(w_.token("bruno")).ok());
}

TEST_F(AuthTest, WrongOrMalformedTokensRefused) {
  std::string t = w_.token("alice");
  std::string wrong = t;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& bad :
       {wrong, std::string("psl_"), std::string("Bearer ") + t, t.substr(0, t.size() - 1),
        std::string(""), "psl_000000000000_" + std::string(64, 'a')}) {
    auto p = w_.gov().Authenticate(bad);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << bad;
  }
  // The right token still works after a wrong attempt for its id.
  EXPECT_TRUE(w_.gov().Authenticate(t).ok());
}

TEST_F(AuthTest, RevokedTokenRefused) {
  Principal alice = w_.As("alice");  // verified once: cached
  ASSERT_TRUE(w_.gov().RevokeToken(w_.op(), alice.token_id).ok());
  EXPECT_RULE(w_.gov().Authenticate(w_.token("alice")).status(), StatusCode::kUnauthenticated,
              rule::kTokenRevoked);
  EXPECT_EQ(w_.gov().RevokeToken(w_.op(), alice.token_id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(AuthTest, ExpiredTokenRefused) {
  auto t = w_.gov().IssueToken(w_.op(), "bruno", "short", 2);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(w_.gov().Authenticate(t->token).ok());
  w_.clock().Advance(std::chrono::hours(48) - std::chrono::microseconds(1));
  EXPECT_TRUE(w_.gov().Authenticate(t->token).ok());
  w_.clock().Advance(std::chrono::microseconds(1));
  EXPECT_RULE(w_.gov().Authenticate(t->token).status(), StatusCode::kUnauthenticated,
              rule::kTokenExpired);
  EXPECT_EQ(w_.gov().IssueToken(w_.op(), "bruno", "too long", 400).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AuthTest, DisabledUserRefused) {
  ASSERT_TRUE(w_.gov().DisableUser(w_.op(), "denis").ok());
  EXPECT_RULE(w_.gov().Authenticate(w_.token("denis")).status(), StatusCode::kUnauthenticated,
              rule::kUserDisabled);
  EXPECT_FALSE(w_.gov().IssueToken(w_.op(), "denis", "", std::nullopt).ok());
}

TEST_F(AuthTest, TokensAreStoredAsArgon2idHashesOnly) {
  // Read the state file behind the service: only an Argon2id hash, never the secret.
  auto dir = TempDir::Create().value();
  std::string path = (dir.path() / "gov.sqlite").string();
  std::string token;
  {
    World w(path);
    w.Populate();
    token = w.token("alice");
  }
  SqliteOptions o;
  o.path = path;
  auto db = SqliteDb::Open(o).value();
  auto st = db->Prepare("SELECT hash FROM tokens").value();
  std::string secret = token.substr(token.rfind('_') + 1);
  int rows = 0;
  while (st.Step().value()) {
    std::string hash = st.ColumnText(0);
    EXPECT_EQ(hash.rfind("$argon2id$v=19$", 0), 0u) << hash;
    EXPECT_EQ(hash.find(secret), std::string::npos);
    ++rows;
  }
  EXPECT_EQ(rows, 11);
  // The token still authenticates after a restart (no cache then).
  World again(path);
  EXPECT_TRUE(again.gov().Authenticate(token).ok());
}

TEST_F(AuthTest, UsersManageOnlyTheirOwnTokens) {
  Principal bruno = w_.As("bruno");
  auto own = w_.gov().IssueToken(bruno, "bruno", "laptop", 30);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_RULE(w_.gov().IssueToken(bruno, "alice", "", std::nullopt).status(),
              StatusCode::kPermissionDenied, rule::kRole);
  EXPECT_RULE(w_.gov().RevokeToken(bruno, w_.As("alice").token_id), StatusCode::kPermissionDenied,
              rule::kRole);
  EXPECT_TRUE(w_.gov().RevokeToken(bruno, own->id).ok());
  auto tokens = w_.gov().ListTokens(bruno, "bruno");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_TRUE((*tokens)[1].revoked_at.has_value());
}

TEST_F(AuthTest, NodesAreKnownByRegistration) {
  auto n = w_.gov().NodePrincipal("qc-node");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->kind, Principal::Kind::kNode);
  EXPECT_EQ(n->jurisdiction, Jurisdiction::kQC);
  EXPECT_EQ(w_.gov().NodePrincipal("rogue").status().code(), StatusCode::kUnauthenticated);
}

// Node principals are cached (every node request asks). A miss is not cached (a node registered
// with the CLI while the hub runs is known at once), and any commit by another connection empties
// the cache (no operation changes a registered node today; a change made to the file is seen).
TEST(NodePrincipalCache, FollowsRegistrationsFromThisAndOtherConnections) {
  auto dir = TempDir::Create().value();
  const std::string path = (dir.path() / "gov.sqlite").string();
  World hub(path);
  ASSERT_TRUE(
      hub.gov().AddOrganisation(hub.op(), {"hdh", "Health Data Hub", Jurisdiction::kFR}).ok());
  ASSERT_TRUE(hub.gov().RegisterNode(hub.op(), "fr-node", "hdh").ok());
  EXPECT_EQ(hub.gov().NodePrincipal("fr-node")->organisation, "hdh");
  EXPECT_EQ(hub.gov().NodePrincipal("fr-node")->organisation, "hdh");  // from the cache
  EXPECT_EQ(hub.gov().NodePrincipal("late-node").status().code(), StatusCode::kUnauthenticated);
  {
    World cli(path);  // another connection, as `passerelle node register` would open
    ASSERT_TRUE(cli.gov().RegisterNode(cli.op(), "late-node", "hdh").ok());
  }
  auto late = hub.gov().NodePrincipal("late-node");
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->jurisdiction, Jurisdiction::kFR);
  // A cached node changed behind the service's back.
  ASSERT_TRUE(hub.gov().AddOrganisation(hub.op(), {"udem", "UdeM", Jurisdiction::kQC}).ok());
  EXPECT_EQ(hub.gov().NodePrincipal("fr-node")->jurisdiction, Jurisdiction::kFR);
  {
    auto raw = SqliteDb::Open({.path = path, .must_exist = true}).value();
    ASSERT_TRUE(raw->Execute("UPDATE nodes SET organisation = 'udem' WHERE id = 'fr-node'").ok());
  }
  EXPECT_EQ(hub.gov().NodePrincipal("fr-node")->jurisdiction, Jurisdiction::kQC);
}

// The cases the issue names, one by one.
TEST_F(AuthTest, ResearcherCannotApprove) {
  EXPECT_RULE(
      w_.gov()
          .RecordDecision(w_.As("chloe"), "proj-b", Jurisdiction::kFR, Decision::kApprove, "")
          .status(),
      StatusCode::kPermissionDenied, rule::kRole);
}

TEST_F(AuthTest, FrenchCommitteeMemberCannotDecideForQuebec) {
  EXPECT_RULE(
      w_.gov()
          .RecordDecision(w_.As("fanny"), "proj-b", Jurisdiction::kQC, Decision::kApprove, "")
          .status(),
      StatusCode::kPermissionDenied, rule::kCommitteeJurisdiction);
}

TEST_F(AuthTest, MemberOfProjectACannotReadProjectBStudiesOrResults) {
  for (Action a :
       {Action::kStudyRead, Action::kResultRead, Action::kStudySubmit, Action::kProjectRead}) {
    EXPECT_RULE(w_.gov().Authorize(w_.As("alice"), a, Resource::Project("proj-b")),
                StatusCode::kPermissionDenied, rule::kProjectMember);
    EXPECT_TRUE(w_.gov().Authorize(w_.As("alice"), a, Resource::Project("proj-a")).ok());
  }
  EXPECT_EQ(w_.gov().GetProject(w_.As("alice"), "proj-b").status().code(),
            StatusCode::kPermissionDenied);
  auto listed = w_.gov().ListProjects(w_.As("alice"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, "proj-a");
}

TEST_F(AuthTest, UnknownProjectIsNotFound) {
  EXPECT_EQ(
      w_.gov().Authorize(w_.As("alice"), Action::kStudyRead, Resource::Project("nope")).code(),
      StatusCode::kNotFound);
}

// ---- every action, allowed and denied ----------------------------------------------------------

struct Case {
  Action action;
  std::string who;  // a user, "op", or "node:<id>"
  Resource resource;
  bool allowed;
};

const std::vector<Case>& Matrix() {
  using R = Resource;
  static const std::vector<Case> kCases = {
      {Action::kOrganisationManage, "admin", {}, true},
      {Action::kOrganisationManage, "op", {}, true},
      {Action::kOrganisationManage, "alice", {}, false},
      {Action::kOrganisationManage, "fanny", {}, false},
      {Action::kOrganisationManage, "node:fr-node", {}, false},
      {Action::kUserManage, "admin", {}, true},
      {Action::kUserManage, "alice", {}, false},
      {Action::kUserManage, "custfr", {}, false},
      {Action::kUserRead, "admin", R::User("alice"), true},
      {Action::kUserRead, "alice", R::User("alice"), true},
      {Action::kUserRead, "bruno", R::User("alice"), false},
      {Action::kTokenSelf, "alice", R::User("alice"), true},
      {Action::kTokenSelf, "admin", R::User("alice"), false},
      {Action::kTokenSelf, "bruno", R::User("alice"), false},
      {Action::kCallManage, "admin", {}, true},
      {Action::kCallManage, "fanny", {}, false},
      {Action::kCallManage, "alice", {}, false},
      {Action::kCallRead, "alice", {}, true},
      {Action::kCallRead, "node:fr-node", {}, false},
      {Action::kApplicationSubmit, "alice", {}, true},
      {Action::kApplicationSubmit, "fanny", {}, false},
      {Action::kApplicationSubmit, "admin", {}, false},
      {Action::kApplicationRead, "alice", R::Application("proj-a"), true},
      {Action::kApplicationRead, "bruno", R::Application("proj-a"), true},
      {Action::kApplicationRead, "fanny", R::Application("proj-a"), true},
      {Action::kApplicationRead, "admin", R::Application("proj-a"), true},
      {Action::kApplicationRead, "chloe", R::Application("proj-a"), false},
      {Action::kApplicationRead, "custfr", R::Application("proj-a"), false},
      {Action::kReviewSubmit, "quitterie", R::Application("proj-a"), true},
      {Action::kReviewSubmit, "alice", R::Application("proj-a"), false},
      {Action::kReviewSubmit, "admin", R::Application("proj-a"), false},
      {Action::kRankingRead, "fanny", {}, true},
      {Action::kRankingRead, "admin", {}, true},
      {Action::kRankingRead, "alice", {}, false},
      {Action::kSelect, "admin", {}, true},
      {Action::kSelect, "fanny", {}, false},
      {Action::kSelect, "alice", {}, false},
      {Action::kProjectRead, "alice", R::Project("proj-a"), true},
      {Action::kProjectRead, "fanny", R::Project("proj-a"), true},
      {Action::kProjectRead, "admin", R::Project("proj-a"), true},
      {Action::kProjectRead, "custfr", R::Project("proj-a"), true},
      {Action::kProjectRead, "custqc", R::Project("proj-a"), true},
      {Action::kProjectRead, "node:fr-node", R::Project("proj-a"), true},
      {Action::kProjectRead, "chloe", R::Project("proj-a"), false},
      {Action::kProjectList, "alice", {}, true},
      {Action::kProjectList, "node:fr-node", {}, false},
      {Action::kDataSharingRecord, "alice", R::Project("proj-a"), true},
      {Action::kDataSharingRecord, "admin", R::Project("proj-a"), true},
      {Action::kDataSharingRecord, "bruno", R::Project("proj-a"), false},
      {Action::kDataSharingRecord, "fanny", R::Project("proj-a"), false},
      {Action::kDecide, "quentin", R::Decision("proj-a", Jurisdiction::kQC), true},
      {Action::kDecide, "fanny", R::Decision("proj-a", Jurisdiction::kQC), false},
      {Action::kDecide, "alice", R::Decision("proj-a", Jurisdiction::kQC), false},
      {Action::kDecide, "admin", R::Decision("proj-a", Jurisdiction::kQC), false},
      {Action::kAmendPropose, "alice", R::Project("proj-a"), true},
      {Action::kAmendPropose, "bruno", R::Project("proj-a"), false},
      {Action::kAmendPropose, "admin", R::Project("proj-a"), false},
      {Action::kAmendDecide, "fanny", R::Decision("proj-a", Jurisdiction::kFR), true},
      {Action::kAmendDecide, "quentin", R::Decision("proj-a", Jurisdiction::kFR), false},
      {Action::kProjectClose, "alice", R::Project("proj-a"), true},
      {Action::kProjectClose, "admin", R::Project("proj-a"), true},
      {Action::kProjectClose, "quentin", R::Project("proj-a"), true},
      {Action::kProjectClose, "bruno", R::Project("proj-a"), false},
      {Action::kProjectClose, "chloe", R::Project("proj-a"), false},
      {Action::kStudySubmit, "alice", R::Project("proj-a"), true},
      {Action::kStudySubmit, "bruno", R::Project("proj-a"), true},
      {Action::kStudySubmit, "chloe", R::Project("proj-a"), false},
      {Action::kStudySubmit, "admin", R::Project("proj-a"), false},
      {Action::kStudySubmit, "fanny", R::Project("proj-a"), false},
      {Action::kStudyRead, "chloe", R::Project("proj-b"), true},
      {Action::kStudyRead, "alice", R::Project("proj-b"), false},
      {Action::kResultRead, "denis", R::Project("proj-b"), true},
      {Action::kResultRead, "bruno", R::Project("proj-b"), false},
      {Action::kResultRead, "admin", R::Project("proj-b"), false},
      {Action::kCatalogPublish, "node:fr-node", R::Node("fr-node"), true},
      {Action::kCatalogPublish, "custfr", R::Node("fr-node"), true},
      {Action::kCatalogPublish, "op", R::Node("fr-node"), true},
      {Action::kCatalogPublish, "custqc", R::Node("fr-node"), false},
      {Action::kCatalogPublish, "node:qc-node", R::Node("fr-node"), false},
      {Action::kCatalogPublish, "alice", R::Node("fr-node"), false},
      {Action::kCatalogSearch, "alice", {}, true},
      {Action::kCatalogSearch, "node:fr-node", {}, false},
      {Action::kAuditExport, "admin", {}, true},
      {Action::kAuditExport, "fanny", {}, true},
      {Action::kAuditExport, "alice", {}, false},
      {Action::kTaskFetch, "node:fr-node", R::Node("fr-node"), true},
      {Action::kTaskFetch, "node:qc-node", R::Node("fr-node"), false},
      {Action::kTaskFetch, "admin", R::Node("fr-node"), false},
      {Action::kTaskResult, "node:qc-node", R::Node("qc-node"), true},
      {Action::kTaskResult, "node:fr-node", R::Node("qc-node"), false},
      {Action::kTaskResult, "custqc", R::Node("qc-node"), false},
  };
  return kCases;
}

TEST_F(AuthTest, EveryActionFollowsItsRule) {
  for (const Case& c : Matrix()) {
    Principal p;
    if (c.who == "op") {
      p = w_.op();
    } else if (c.who.rfind("node:", 0) == 0) {
      p = w_.gov().NodePrincipal(c.who.substr(5)).value();
    } else {
      p = w_.As(c.who);
    }
    Status st = w_.gov().Authorize(p, c.action, c.resource);
    if (c.allowed) {
      EXPECT_TRUE(st.ok()) << ActionName(c.action) << " by " << c.who << ": " << st.ToString();
    } else {
      EXPECT_EQ(st.code(), StatusCode::kPermissionDenied)
          << ActionName(c.action) << " by " << c.who << " should be denied: " << st.ToString();
      EXPECT_NE(st.message().find(ActionName(c.action)), std::string::npos) << st.message();
    }
  }
}

TEST(ActionTable, EveryActionIsTestedAllowedAndDenied) {
  std::set<Action> allowed, denied;
  for (const Case& c : Matrix()) (c.allowed ? allowed : denied).insert(c.action);
  std::set<std::string_view> names;
  for (const ActionInfo& a : ActionTable()) {
    EXPECT_TRUE(allowed.count(a.action)) << a.name << " has no allowed case";
    EXPECT_TRUE(denied.count(a.action)) << a.name << " has no denied case";
    EXPECT_FALSE(a.endpoints.empty()) << a.name;
    EXPECT_TRUE(names.insert(a.name).second) << "duplicate name " << a.name;
  }
  EXPECT_EQ(ActionTable().size(), 26u);
}

}  // namespace
}  // namespace passerelle::governance
