// A whole project, at library level: the call, applications, reviews, selection, both
// committees, both nodes' custodians, a (simulated) study with its tasks and results, closure,
// refusal after closure — and at the end every audit log verifies and the nodes' logs reconcile
// with the hub's. (The same over HTTP comes with the federation.)
#include <gtest/gtest.h>

#include "common/date.h"
#include "common/sqlite.h"
#include "governance/audit.h"
#include "governance/demo.h"
#include "governance/node_approvals.h"
#include "world.h"

namespace passerelle::governance {
namespace {

using testing::Day;
using testing::World;

// A node as the node agent will use these pieces: its own state, audit log and approvals.
struct Node {
  Node(const std::string& id, uint8_t seed, Clock& clock) {
    SqliteOptions o;
    o.path = ":memory:";
    db = SqliteDb::Open(o).value();
    std::array<uint8_t, 32> s{};
    s.fill(seed);
    audit = AuditLog::Open(*db, id, AuditKey::FromSeed(s), clock).value();
    approvals = NodeApprovals::Open(*db, id, clock, audit.get()).value();
  }
  // What the node agent does with a task: check its own approvals, run, send, audit. Returns the
  // result body, or the refusal.
  Result<std::string> HandleTask(const std::string& task_id, const std::string& study, int round,
                                 const std::string& project, const std::string& dataset,
                                 const std::string& task_body) {
    const std::string& node = approvals->node_id();
    Status may = approvals->CheckNodeMayRun(project, dataset);
    if (!may.ok()) {
      RETURN_IF_ERROR(audit
                          ->Append(AuditRecord::TaskRefuse(node, task_id, study, round, project,
                                                           task_body, "node_approval"))
                          .status());
      return may;
    }
    RETURN_IF_ERROR(
        audit->Append(AuditRecord::TaskRun(node, task_id, study, round, project, task_body))
            .status());
    std::string result = "{\"task\":\"" + task_id + "\",\"node\":\"" + node + "\",\"n\":1200}";
    RETURN_IF_ERROR(
        audit->Append(AuditRecord::ResultSend(node, task_id, study, round, project, result))
            .status());
    return result;
  }
  std::unique_ptr<SqliteDb> db;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<NodeApprovals> approvals;
};

TEST(Lifecycle, CallToClosureVerifies) {
  World w;
  w.Populate();
  GovernanceService& gov = w.gov();
  Node fr("fr-node", 11, w.clock());
  Node qc("qc-node", 12, w.clock());

  // The call is open; two teams apply, one too late.
  w.SetDate("2025-03-15");
  ASSERT_TRUE(gov.SubmitApplication(w.As("alice"), w.ProjectA()).ok());
  w.SetDate("2025-04-30");
  ASSERT_TRUE(gov.SubmitApplication(w.As("chloe"), w.ProjectB()).ok());
  w.SetDate("2025-05-01");
  ApplicationInput late = w.ProjectB();
  late.id = "proj-late";
  EXPECT_RULE(gov.SubmitApplication(w.As("chloe"), late).status(), StatusCode::kFailedPrecondition,
              rule::kDeadline);

  // Reviews from both committees; the selection funds project A only.
  ASSERT_TRUE(gov.SubmitReview(w.As("fanny"), "proj-a", 9, "clear plan").ok());
  ASSERT_TRUE(gov.SubmitReview(w.As("quentin"), "proj-a", 8, "bon projet").ok());
  ASSERT_TRUE(gov.SubmitReview(w.As("fabien"), "proj-b", 5, "").ok());
  ASSERT_TRUE(gov.SubmitReview(w.As("quitterie"), "proj-b", 6, "").ok());
  auto ranking = gov.RankApplications(w.op(), "joint-2025").value();
  ASSERT_EQ(ranking[0].id, "proj-a");
  ASSERT_TRUE(gov.SelectProjects(w.As("admin"), "joint-2025", {ranking[0].id}).ok());

  // The data-sharing agreement, then both committees.
  w.SetDate("2025-05-15");
  ASSERT_TRUE(gov.RecordDataSharingAgreement(w.As("alice"), "proj-a", "DSA-HDH-FRQS-2025-01").ok());
  ASSERT_TRUE(gov.RecordDecision(w.As("fanny"), "proj-a", Jurisdiction::kFR, Decision::kApprove,
                                 "CESREES opinion 2025-123")
                  .ok());
  EXPECT_RULE(gov.AuthorizeStudy(w.As("alice"), "proj-a"), StatusCode::kFailedPrecondition,
              rule::kApprovals);
  w.SetDate("2025-05-20");
  auto project = gov.RecordDecision(w.As("quentin"), "proj-a", Jurisdiction::kQC,
                                    Decision::kApprove, "CAI authorisation");
  ASSERT_TRUE(project.ok()) << project.status().ToString();
  ASSERT_EQ(project->state, ProjectState::kApproved);
  ASSERT_TRUE(gov.CheckProjectActive("proj-a").ok());

  // Each node's custodian approves the project for their node, for the hub's window.
  ASSERT_TRUE(fr.approvals
                  ->Approve({.project = "proj-a",
                             .custodian = "custfr",
                             .start_on = project->start_on,
                             .end_on = project->end_on,
                             .datasets = {"diabetes"}})
                  .ok());
  // The Québec custodian approves a shorter window.
  ASSERT_TRUE(qc.approvals
                  ->Approve({.project = "proj-a",
                             .custodian = "custqc",
                             .end_on = Day("2026-05-20"),
                             .note = "CAI file 1234"})
                  .ok());

  // A study: the hub authorises it, creates one task per node, each node checks, runs, answers;
  // the hub records the results it uses.
  w.SetDate("2025-06-02");
  ASSERT_TRUE(gov.AuthorizeStudy(w.As("bruno"), "proj-a").ok());
  EXPECT_RULE(gov.AuthorizeStudy(w.As("chloe"), "proj-a"), StatusCode::kPermissionDenied,
              rule::kProjectMember);
  AuditRecord submit;
  submit.actor = "bruno";
  submit.action = "study.submit";
  submit.project = "proj-a";
  submit.study = "s-1";
  ASSERT_TRUE(gov.RecordAudit(submit).ok());
  for (Node* node : {&fr, &qc}) {
    const std::string id = node->approvals->node_id();
    const std::string task_id = "s-1-r1-" + id;
    const std::string task_body = "{\"task_id\":\"" + task_id + "\",\"analysis\":\"count\"}";
    ASSERT_TRUE(
        gov.RecordAudit(AuditRecord::TaskCreate(task_id, "s-1", 1, "proj-a", id, task_body)).ok());
    auto result = node->HandleTask(task_id, "s-1", 1, "proj-a", "diabetes", task_body);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_TRUE(
        gov.RecordAudit(AuditRecord::ResultAccept(id, task_id, "s-1", 1, "proj-a", *result)).ok());
  }
  EXPECT_TRUE(gov.Authorize(w.As("alice"), Action::kResultRead, Resource::Project("proj-a")).ok());
  EXPECT_FALSE(gov.Authorize(w.As("denis"), Action::kResultRead, Resource::Project("proj-a")).ok());

  // A node refuses a task of a project it never approved, whatever the hub says.
  auto forged = fr.HandleTask("x-1", "s-x", 1, "proj-b", "diabetes", "{\"task_id\":\"x-1\"}");
  EXPECT_RULE(forged.status(), StatusCode::kPermissionDenied, rule::kNodeApproval);

  // After the Québec node's own window, it refuses even though the project is still active.
  w.SetDate("2026-05-20");
  ASSERT_TRUE(gov.AuthorizeStudy(w.As("alice"), "proj-a").ok());
  const std::string late_task = "{\"task_id\":\"s-2-r1-qc-node\"}";
  ASSERT_TRUE(gov.RecordAudit(AuditRecord::TaskCreate("s-2-r1-qc-node", "s-2", 1, "proj-a",
                                                      "qc-node", late_task))
                  .ok());
  EXPECT_RULE(qc.HandleTask("s-2-r1-qc-node", "s-2", 1, "proj-a", "diabetes", late_task).status(),
              StatusCode::kPermissionDenied, rule::kNodeApproval);

  // Closure: the hub refuses studies; the custodians revoke their approvals.
  w.SetDate("2026-06-01");
  ASSERT_TRUE(gov.CloseProject(w.As("alice"), "proj-a", "final report delivered").ok());
  EXPECT_RULE(gov.AuthorizeStudy(w.As("alice"), "proj-a"), StatusCode::kFailedPrecondition,
              rule::kClosed);
  ASSERT_TRUE(fr.approvals->Revoke("proj-a", "custfr", "project closed").ok());
  // Were the hub to send a task anyway, the node would refuse it.
  ASSERT_TRUE(
      gov.RecordAudit(AuditRecord::TaskCreate("s-3", "s-3", 1, "proj-a", "fr-node", "{}")).ok());
  EXPECT_RULE(fr.HandleTask("s-3", "s-3", 1, "proj-a", "diabetes", "{}").status(),
              StatusCode::kPermissionDenied, rule::kNodeApproval);

  // Every log verifies, and each node's log agrees with the hub's.
  std::string hub_log = gov.ExportAuditLog(w.As("fanny")).value();
  auto hub = VerifyAuditLog(hub_log, w.hub_key());
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  EXPECT_TRUE(gov.VerifyStoredAuditLog().ok());
  std::vector<std::string> actions;
  for (const AuditEntry& e : hub->entries) {
    if (e.record.project == "proj-a") actions.push_back(e.record.action);
  }
  const std::vector<std::string> expected = {
      "application.submit", "review.submit",  "review.submit",  "project.create",
      "project.dsa",        "project.decide", "project.decide", "project.approve",
      "study.submit",       "task.create",    "result.accept",  "task.create",
      "result.accept",      "task.create",    "project.close",  "task.create"};
  EXPECT_EQ(actions, expected);
  for (Node* node : {&fr, &qc}) {
    std::string node_log = node->audit->Export().value();
    auto report =
        ReconcileAuditLogs(node_log, node->audit->public_key().value(), hub_log, w.hub_key());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const std::string id = node->approvals->node_id();
    if (id == "fr-node") {
      // The task of proj-b the hub never created is the one problem: a forged task, refused.
      ASSERT_EQ(report->problems.size(), 1u) << ::testing::PrintToString(report->problems);
      EXPECT_NE(report->problems[0].find("x-1"), std::string::npos);
      EXPECT_EQ(report->tasks_checked, 3);
    } else {
      EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->problems);
      EXPECT_EQ(report->tasks_checked, 2);  // one run, one refused
      EXPECT_EQ(report->results_checked, 1);
    }
  }
}

TEST(Lifecycle, DemoSetUpLeavesAnActiveProject) {
  FakeClock clock(testing::MicrosOf("2025-09-01"));
  DeterministicRandom random(5);
  auto gov = GovernanceService::Open(testing::TestOptions(),
                                     AuditKey::FromSeed(std::array<uint8_t, 32>{8}), clock, random)
                 .value();
  EXPECT_EQ(SetUpDemoGovernance(*gov, {}, clock.TodayDays()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SetUpDemoGovernance(*gov, {{"fr", Jurisdiction::kFR, {}}}, clock.TodayDays()).status().code(),
      StatusCode::kInvalidArgument);
  auto demo = SetUpDemoGovernance(
      *gov, {{"fr", Jurisdiction::kFR, {"cnsim"}}, {"qc", Jurisdiction::kQC, {"cnsim"}}},
      clock.TodayDays());
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  EXPECT_EQ(demo->approved.state, ProjectState::kApproved);
  EXPECT_EQ(demo->approved.datasets.size(), 2u);
  // The joint team involves both jurisdictions, and both committees approved.
  EXPECT_EQ(demo->approved.jurisdictions,
            (std::vector<Jurisdiction>{Jurisdiction::kFR, Jurisdiction::kQC}));
  EXPECT_EQ(demo->approved.decisions.size(), 2u);
  EXPECT_FALSE(demo->steps.empty());
  Principal bruno = gov->Authenticate(demo->tokens.at("bruno")).value();
  EXPECT_TRUE(gov->AuthorizeStudy(bruno, demo->project).ok());
  EXPECT_TRUE(VerifyAuditLog(gov->ExportAuditLog(Principal::LocalOperator()).value(),
                             gov->audit_public_key().value())
                  .ok());
  // Once only: the demo's people exist now.
  EXPECT_FALSE(SetUpDemoGovernance(
                   *gov, {{"fr", Jurisdiction::kFR, {"cnsim"}}, {"qc", Jurisdiction::kQC, {}}},
                   clock.TodayDays())
                   .ok());
}

}  // namespace
}  // namespace passerelle::governance
