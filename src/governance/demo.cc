#include "governance/demo.h"

#include <fmt/format.h>

#include "common/date.h"

namespace passerelle::governance {

Result<DemoGovernance> SetUpDemoGovernance(GovernanceService& gov,
                                           const std::vector<DemoNode>& nodes, int32_t today) {
  const Principal op = Principal::LocalOperator();
  if (nodes.empty()) return Status::InvalidArgument("the demo's governance needs a node");
  for (const DemoNode& n : nodes) {
    if (n.datasets.empty()) {
      return Status::InvalidArgument(fmt::format("demo node {}: publishes no dataset", n.id));
    }
  }
  RETURN_IF_ERROR(gov.AddOrganisation(op, {"hdh", "Health Data Hub", Jurisdiction::kFR}));
  RETURN_IF_ERROR(
      gov.AddOrganisation(op, {"frqs", "Fonds de recherche du Québec – Santé", Jurisdiction::kQC}));
  DemoGovernance out;
  auto add_user = [&](const std::string& name, const std::string& org,
                      std::vector<Role> roles) -> Status {
    ASSIGN_OR_RETURN(IssuedToken t, gov.AddUser(op, {name, name, org, std::move(roles)}));
    out.tokens[name] = t.token;
    return Status::Ok();
  };
  RETURN_IF_ERROR(add_user("alice", "hdh", {{RoleKind::kResearcher, ""}}));
  RETURN_IF_ERROR(add_user("bruno", "frqs", {{RoleKind::kResearcher, ""}}));
  RETURN_IF_ERROR(add_user("fanny", "hdh", {{RoleKind::kCommitteeMember, "FR"}}));
  RETURN_IF_ERROR(add_user("quentin", "frqs", {{RoleKind::kCommitteeMember, "QC"}}));
  out.steps.push_back(
      "users: alice (researcher, FR), bruno (researcher, QC), fanny (committee FR), quentin "
      "(committee QC), with Argon2id-hashed tokens");

  ApplicationInput app;
  for (const DemoNode& n : nodes) {
    RETURN_IF_ERROR(
        gov.RegisterNode(op, n.id, n.jurisdiction == Jurisdiction::kFR ? "hdh" : "frqs"));
    for (const std::string& d : n.datasets) {
      DatasetDescription desc;
      desc.node = n.id;
      desc.name = d;
      desc.title = fmt::format("{} at {}", d, n.id);
      desc.description = "Synthetic data of the demonstration";
      RETURN_IF_ERROR(gov.PublishDataset(op, desc).status());
      app.datasets.push_back({n.id, d});
    }
  }

  CallInput call;
  call.id = "demo-call";
  call.title = "AI in health: joint France-Québec call (demonstration)";
  call.opens_on = today;
  call.closes_on = today;
  call.projects_to_fund = 2;
  RETURN_IF_ERROR(gov.CreateCall(op, call).status());
  out.steps.push_back(fmt::format("call {}: \"{}\", {} datasets in the catalog", call.id,
                                  call.title, app.datasets.size()));

  ASSIGN_OR_RETURN(Principal alice, gov.Authenticate(out.tokens.at("alice")));
  ASSIGN_OR_RETURN(Principal fanny, gov.Authenticate(out.tokens.at("fanny")));
  ASSIGN_OR_RETURN(Principal quentin, gov.Authenticate(out.tokens.at("quentin")));
  app.id = "demo-project";
  app.call_id = call.id;
  app.title = "Federated analysis of the demonstration data";
  app.axis = Axis::kPopulationModels;
  app.summary = "Descriptive statistics and models on the union of the sites' data";
  app.lead = "alice";
  app.team = {"alice", "bruno"};
  app.legal_basis = "Demonstration on synthetic data";
  app.pia_done = true;
  app.pia_reference = "demo";
  RETURN_IF_ERROR(gov.SubmitApplication(alice, app).status());
  RETURN_IF_ERROR(gov.SubmitReview(fanny, app.id, 8, "demonstration"));
  RETURN_IF_ERROR(gov.SubmitReview(quentin, app.id, 8, "démonstration"));
  RETURN_IF_ERROR(gov.SelectProjects(op, call.id, {app.id}).status());
  out.steps.push_back(fmt::format(
      "application {} by alice with bruno; reviews by fanny (FR) and quentin (QC); selected",
      app.id));
  RETURN_IF_ERROR(gov.RecordDataSharingAgreement(alice, app.id, "demo agreement"));
  RETURN_IF_ERROR(
      gov.RecordDecision(fanny, app.id, Jurisdiction::kFR, Decision::kApprove, "demo").status());
  ASSIGN_OR_RETURN(out.approved, gov.RecordDecision(quentin, app.id, Jurisdiction::kQC,
                                                    Decision::kApprove, "demo"));
  RETURN_IF_ERROR(gov.CheckProjectActive(app.id));
  out.steps.push_back(fmt::format(
      "project {}: data-sharing agreement recorded, approved by the FR and QC committees; active "
      "until {} (exclusive)",
      app.id, out.approved.end_on ? FormatDate(*out.approved.end_on) : std::string("?")));
  out.project = app.id;
  return out;
}

}  // namespace passerelle::governance
