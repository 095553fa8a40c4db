// A small governance world for tests: two French and two Québec organisations, one node on each
// side with a dataset in the catalog, users in every role, and a joint call — on a FakeClock and a
// seeded random source, in an in-memory database, with the cheapest Argon2id cost.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/date.h"
#include "common/random.h"
#include "governance/audit.h"
#include "governance/catalog.h"
#include "governance/governance.h"

namespace passerelle::governance::testing {

inline int64_t MicrosOf(std::string_view date, int hour = 12) {
  return (int64_t{ParseDate(date).value()} * 86400 + hour * 3600) * 1000000;
}
inline int32_t Day(std::string_view date) { return ParseDate(date).value(); }

// Expects a Result/Status to have failed with `code` and the rule name in its message.
#define EXPECT_RULE(expr, code_, rule_name)                                             \
  do {                                                                                  \
    ::passerelle::Status _s = (expr);                                                   \
    EXPECT_EQ(_s.code(), (code_)) << _s.ToString();                                     \
    EXPECT_NE(_s.message().find(std::string("[rule: ") + std::string(rule_name) + "]"), \
              std::string::npos)                                                        \
        << _s.ToString();                                                               \
  } while (false)

inline GovernanceOptions TestOptions(std::string path = ":memory:") {
  GovernanceOptions o;
  o.path = path;
  o.tokens.hash_ops_limit = 1;
  o.tokens.hash_mem_limit = 8192;
  return o;
}

inline DatasetDescription Dataset(std::string node, std::string name, std::string title,
                                  std::vector<std::string> variables,
                                  std::vector<std::string> concepts = {}) {
  DatasetDescription d;
  d.node = std::move(node);
  d.name = std::move(name);
  d.title = std::move(title);
  d.description = "Synthetic test dataset";
  d.population = "adults";
  CatalogTable t;
  t.name = "main";
  t.rows = PublishedCount{1200};
  for (const auto& v : variables) {
    CatalogVariable var;
    var.name = v;
    var.type = "double";
    var.concepts = concepts;
    t.variables.push_back(var);
  }
  d.tables.push_back(t);
  return d;
}

class World {
 public:
  explicit World(std::string path = ":memory:") : clock_(MicrosOf("2025-03-01")), random_(7) {
    auto key = AuditKey::FromSeed(std::array<uint8_t, 32>{1, 2, 3});
    auto g = GovernanceService::Open(TestOptions(path), key, clock_, random_);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    gov_ = std::move(g).value();
  }

  GovernanceService& gov() { return *gov_; }
  FakeClock& clock() { return clock_; }
  void SetDate(std::string_view date) { clock_.Set(MicrosOf(date)); }
  Principal op() const { return Principal::LocalOperator(); }
  AuditPublicKey hub_key() const { return *gov_->audit_public_key(); }

  void AddUser(const std::string& name, const std::string& org, std::vector<std::string> roles) {
    NewUser u{name, name, org, {}};
    for (const auto& r : roles) u.roles.push_back(ParseRole(r).value());
    auto t = gov_->AddUser(op(), u);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokens_[name] = t->token;
  }

  // The principal of a user, authenticated through their token. Tests that span years renew an
  // expired token here (tokens last 90 days); expiry itself is tested with Authenticate.
  Principal As(const std::string& name) {
    auto p = gov_->Authenticate(tokens_.at(name));
    if (!p.ok() && p.status().message().find("[rule: token_expired]") != std::string::npos) {
      auto t = gov_->IssueToken(op(), name, "renewed", std::nullopt);
      EXPECT_TRUE(t.ok()) << t.status().ToString();
      if (t.ok()) tokens_[name] = t->token;
      p = gov_->Authenticate(tokens_.at(name));
    }
    EXPECT_TRUE(p.ok()) << name << ": " << p.status().ToString();
    return p.ok() ? *p : Principal{};
  }
  const std::string& token(const std::string& name) { return tokens_.at(name); }

  // Organisations, nodes, users, catalog and a joint call (open 2025-03-01 .. 2025-04-30).
  void Populate() {
    ASSERT_TRUE(gov_->AddOrganisation(op(), {"inserm", "Inserm", Jurisdiction::kFR}).ok());
    ASSERT_TRUE(gov_->AddOrganisation(op(), {"hdh", "Health Data Hub", Jurisdiction::kFR}).ok());
    ASSERT_TRUE(
        gov_->AddOrganisation(op(), {"udem", "Université de Montréal", Jurisdiction::kQC}).ok());
    ASSERT_TRUE(gov_->AddOrganisation(op(), {"frqs", "FRQS", Jurisdiction::kQC}).ok());
    ASSERT_TRUE(gov_->RegisterNode(op(), "fr-node", "hdh").ok());
    ASSERT_TRUE(gov_->RegisterNode(op(), "qc-node", "frqs").ok());
    AddUser("admin", "hdh", {"administrator"});
    AddUser("alice", "inserm", {"researcher"});  // FR researcher, lead of project A
    AddUser("bruno", "udem", {"researcher"});    // QC researcher, in project A
    AddUser("chloe", "inserm", {"researcher"});  // FR researcher, lead of project B
    AddUser("denis", "udem", {"researcher"});    // QC researcher, in project B
    AddUser("fanny", "hdh", {"committee:FR"});
    AddUser("fabien", "inserm", {"committee:FR"});
    AddUser("quentin", "frqs", {"committee:QC"});
    AddUser("quitterie", "udem", {"committee:QC"});
    AddUser("custfr", "hdh", {"custodian:fr-node"});
    AddUser("custqc", "frqs", {"custodian:qc-node"});
    ASSERT_TRUE(
        gov_->PublishDataset(op(), Dataset("fr-node", "diabetes", "Type 2 diabetes cohort (France)",
                                           {"age", "hba1c", "bmi"}, {"SNOMED:44054006"}))
            .ok());
    ASSERT_TRUE(
        gov_->PublishDataset(op(), Dataset("qc-node", "diabetes", "Diabète de type 2 (Québec)",
                                           {"age", "hba1c", "sex"}, {"SNOMED:44054006"}))
            .ok());
    CallInput c;
    c.id = "joint-2025";
    c.title = "AI in health, joint call 2025";
    c.opens_on = Day("2025-03-01");
    c.closes_on = Day("2025-04-30");
    c.projects_to_fund = 2;
    auto call = gov_->CreateCall(op(), c);
    ASSERT_TRUE(call.ok()) << call.status().ToString();
  }

  ApplicationInput ProjectA() const {
    ApplicationInput a;
    a.id = "proj-a";
    a.call_id = "joint-2025";
    a.title = "Predicting complications of diabetes";
    a.axis = Axis::kAiApplications;
    a.summary = "A model for clinicians";
    a.lead = "alice";
    a.team = {"alice", "bruno"};
    a.datasets = {{"fr-node", "diabetes"}, {"qc-node", "diabetes"}};
    a.legal_basis = "public interest research (GDPR 6.1.e, 9.2.j); Quebec Law 25";
    a.pia_done = true;
    a.pia_reference = "PIA-2025-001";
    return a;
  }
  ApplicationInput ProjectB() const {
    ApplicationInput b = ProjectA();
    b.id = "proj-b";
    b.title = "Population model of diabetes prevention";
    b.axis = Axis::kPopulationModels;
    b.lead = "chloe";
    b.team = {"chloe", "denis"};
    return b;
  }

  // Applications A and B, two reviews each, selection after the deadline, DSA and both
  // approvals for A on 2025-05-10. Leaves the clock on 2025-05-10.
  void ApproveProjectA(bool also_b = false) {
    SetDate("2025-04-01");
    ASSERT_TRUE(gov_->SubmitApplication(As("alice"), ProjectA()).ok());
    ASSERT_TRUE(gov_->SubmitApplication(As("chloe"), ProjectB()).ok());
    for (const char* app : {"proj-a", "proj-b"}) {
      ASSERT_TRUE(gov_->SubmitReview(As("fanny"), app, 8, "good").ok());
      ASSERT_TRUE(gov_->SubmitReview(As("quentin"), app, 7, "bon").ok());
    }
    SetDate("2025-05-02");
    auto sel = gov_->SelectProjects(op(), "joint-2025", {"proj-a", "proj-b"});
    ASSERT_TRUE(sel.ok()) << sel.status().ToString();
    SetDate("2025-05-10");
    for (const char* p : {"proj-a", "proj-b"}) {
      if (std::string(p) == "proj-b" && !also_b) continue;
      std::string lead = std::string(p) == "proj-a" ? "alice" : "chloe";
      ASSERT_TRUE(gov_->RecordDataSharingAgreement(As(lead), p, "DSA-2025-07").ok());
      ASSERT_TRUE(
          gov_->RecordDecision(As("fanny"), p, Jurisdiction::kFR, Decision::kApprove, "ok").ok());
      auto r = gov_->RecordDecision(As("quentin"), p, Jurisdiction::kQC, Decision::kApprove, "ok");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

 private:
  FakeClock clock_;
  DeterministicRandom random_;
  std::unique_ptr<GovernanceService> gov_;
  std::map<std::string, std::string> tokens_;
};

}  // namespace passerelle::governance::testing
