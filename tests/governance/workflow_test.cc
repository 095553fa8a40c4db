// The call-for-projects workflow: every rule, with its name in the error.
#include <gtest/gtest.h>

#include "common/files.h"
#include "world.h"

namespace passerelle::governance {
namespace {

using testing::Day;
using testing::World;

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.Populate();
    w_.SetDate("2025-04-01");
  }
  Status Submit(const std::string& as, const ApplicationInput& in) {
    return w_.gov().SubmitApplication(w_.As(as), in).status();
  }
  int64_t AuditCount() {
    auto v = VerifyAuditLog(w_.gov().ExportAuditLog(w_.op()).value(), w_.hub_key());
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? static_cast<int64_t>(v->entries.size()) : -1;
  }
  World w_;
};

// ---- applications ----------------------------------------------------------------------------

TEST_F(WorkflowTest, ApplicationAcceptedWithInvolvedJurisdictions) {
  auto app = w_.gov().SubmitApplication(w_.As("alice"), w_.ProjectA());
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_EQ(app->state, ApplicationState::kSubmitted);
  EXPECT_EQ(app->jurisdictions, (std::vector<Jurisdiction>{Jurisdiction::kFR, Jurisdiction::kQC}));
  EXPECT_TRUE(app->pia_required);
  auto back = w_.gov().GetApplication(w_.As("bruno"), "proj-a");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->input.team, (std::vector<std::string>{"alice", "bruno"}));
  EXPECT_EQ(back->input.datasets.size(), 2u);
  EXPECT_EQ(Submit("alice", w_.ProjectA()).code(), StatusCode::kAlreadyExists);
}

TEST_F(WorkflowTest, ApplicationAfterTheDeadlineRefused) {
  w_.SetDate("2025-04-30");  // the closing day itself is accepted
  ASSERT_TRUE(Submit("alice", w_.ProjectA()).ok());
  w_.SetDate("2025-05-01");
  EXPECT_RULE(Submit("chloe", w_.ProjectB()), StatusCode::kFailedPrecondition, rule::kDeadline);
}

TEST_F(WorkflowTest, ApplicationBeforeTheOpeningRefused) {
  w_.SetDate("2025-02-28");
  EXPECT_RULE(Submit("alice", w_.ProjectA()), StatusCode::kFailedPrecondition, rule::kCallNotOpen);
}

TEST_F(WorkflowTest, JointCallNeedsBothJurisdictionsInTheTeam) {
  ApplicationInput a = w_.ProjectA();
  a.team = {"alice", "chloe"};  // both French
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kJointTeam);
}

TEST_F(WorkflowTest, TeamRules) {
  ApplicationInput a = w_.ProjectA();
  a.team = {"alice", "bruno", "fanny"};  // a committee member is not a researcher
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kTeam);
  a.team = {"alice", "bruno", "nobody"};
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kTeam);
  // Bruno cannot submit an application led by Alice.
  EXPECT_RULE(Submit("bruno", w_.ProjectA()), StatusCode::kPermissionDenied, rule::kTeam);
  // A committee member cannot apply at all.
  EXPECT_RULE(w_.gov().SubmitApplication(w_.As("fanny"), w_.ProjectA()).status(),
              StatusCode::kPermissionDenied, rule::kRole);
}

TEST_F(WorkflowTest, AxisDatasetsAndLegalBasisChecked) {
  CallInput c;
  c.id = "ai-only";
  c.title = "AI applications only";
  c.axes = {Axis::kAiApplications};
  c.opens_on = Day("2025-03-01");
  c.closes_on = Day("2025-06-30");
  ASSERT_TRUE(w_.gov().CreateCall(w_.op(), c).ok());
  ApplicationInput a = w_.ProjectA();
  a.call_id = "ai-only";
  a.axis = Axis::kPatientBenefit;
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kCallAxis);
  a = w_.ProjectA();
  a.datasets.push_back({"fr-node", "not-published"});
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kCatalogDataset);
  a = w_.ProjectA();
  a.datasets.clear();
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kCatalogDataset);
  a = w_.ProjectA();
  a.legal_basis = "  ";
  EXPECT_RULE(Submit("alice", a), StatusCode::kInvalidArgument, rule::kLegalBasis);
}

TEST_F(WorkflowTest, PiaRequiredForQuebecDataAnalysedOutsideQuebec) {
  ApplicationInput a = w_.ProjectA();
  a.pia_done = false;
  EXPECT_RULE(Submit("alice", a), StatusCode::kFailedPrecondition, rule::kPiaRequired);
  // French data only: no PIA needed, even with a French lead.
  a.datasets = {{"fr-node", "diabetes"}};
  auto app = w_.gov().SubmitApplication(w_.As("alice"), a);
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  EXPECT_FALSE(app->pia_required);
  // Québec data in a Québec-only project (a non-joint call): no PIA needed.
  CallInput c;
  c.id = "qc-call";
  c.title = "Québec call";
  c.joint = false;
  c.opens_on = Day("2025-03-01");
  c.closes_on = Day("2025-06-30");
  ASSERT_TRUE(w_.gov().CreateCall(w_.op(), c).ok());
  ApplicationInput q = w_.ProjectB();
  q.call_id = "qc-call";
  q.id = "qc-only";
  q.lead = "denis";
  q.team = {"denis", "bruno"};
  q.datasets = {{"qc-node", "diabetes"}};
  q.pia_done = false;
  auto qapp = w_.gov().SubmitApplication(w_.As("denis"), q);
  ASSERT_TRUE(qapp.ok()) << qapp.status().ToString();
  EXPECT_FALSE(qapp->pia_required);
  EXPECT_EQ(qapp->jurisdictions, std::vector<Jurisdiction>{Jurisdiction::kQC});
  // Led from Québec but with a French analyst: required.
  q.id = "qc-with-fr";
  q.team = {"denis", "alice"};
  EXPECT_RULE(Submit("denis", q), StatusCode::kFailedPrecondition, rule::kPiaRequired);
}

TEST_F(WorkflowTest, FailedOperationsLeaveNoAuditEntry) {
  int64_t before = AuditCount();
  ApplicationInput a = w_.ProjectA();
  a.pia_done = false;
  EXPECT_FALSE(Submit("alice", a).ok());
  EXPECT_FALSE(
      w_.gov()
          .RecordDecision(w_.As("alice"), "proj-a", Jurisdiction::kFR, Decision::kApprove, "")
          .ok());
  EXPECT_EQ(AuditCount(), before);
  ASSERT_TRUE(Submit("alice", w_.ProjectA()).ok());
  EXPECT_EQ(AuditCount(), before + 1);
}

// ---- reviews and selection ---------------------------------------------------------------------

TEST_F(WorkflowTest, ReviewRules) {
  ASSERT_TRUE(Submit("alice", w_.ProjectA()).ok());
  EXPECT_RULE(w_.gov().SubmitReview(w_.As("bruno"), "proj-a", 5, ""), StatusCode::kPermissionDenied,
              rule::kRole);
  EXPECT_RULE(w_.gov().SubmitReview(w_.As("fanny"), "proj-a", 11, ""), StatusCode::kInvalidArgument,
              rule::kReviewScore);
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("fanny"), "proj-a", 9, "excellent").ok());
  EXPECT_EQ(w_.gov().SubmitReview(w_.As("fanny"), "proj-a", 3, "").code(),
            StatusCode::kAlreadyExists);
  // A committee member who is also on the team may not review it.
  w_.AddUser("rosalie", "udem", {"researcher", "committee:QC"});
  ApplicationInput b = w_.ProjectB();
  b.team = {"chloe", "rosalie"};
  ASSERT_TRUE(Submit("chloe", b).ok());
  EXPECT_RULE(w_.gov().SubmitReview(w_.As("rosalie"), "proj-b", 10, ""),
              StatusCode::kPermissionDenied, rule::kConflictOfInterest);
  auto reviews = w_.gov().ListReviews(w_.op(), "proj-a");
  ASSERT_TRUE(reviews.ok());
  ASSERT_EQ(reviews->size(), 1u);
  EXPECT_EQ((*reviews)[0].score, 9);
}

TEST_F(WorkflowTest, SelectionRules) {
  ASSERT_TRUE(Submit("alice", w_.ProjectA()).ok());
  ASSERT_TRUE(Submit("chloe", w_.ProjectB()).ok());
  ApplicationInput c = w_.ProjectB();
  c.id = "proj-c";
  ASSERT_TRUE(Submit("chloe", c).ok());
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("fanny"), "proj-a", 9, "").ok());
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("quentin"), "proj-a", 8, "").ok());
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("fanny"), "proj-b", 4, "").ok());
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("quentin"), "proj-c", 6, "").ok());
  ASSERT_TRUE(w_.gov().SubmitReview(w_.As("fabien"), "proj-c", 7, "").ok());
  EXPECT_RULE(w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-a"}).status(),
              StatusCode::kFailedPrecondition, rule::kSelectionBeforeDeadline);
  w_.SetDate("2025-04-30");
  EXPECT_RULE(
      w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-a", "proj-b", "proj-c"}).status(),
      StatusCode::kInvalidArgument, rule::kFundingLimit);
  EXPECT_RULE(w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-a", "proj-b"}).status(),
              StatusCode::kFailedPrecondition, rule::kMinReviews);
  EXPECT_RULE(w_.gov().SelectProjects(w_.As("fanny"), "joint-2025", {"proj-a"}).status(),
              StatusCode::kPermissionDenied, rule::kRole);
  auto ranking = w_.gov().RankApplications(w_.As("quentin"), "joint-2025");
  ASSERT_TRUE(ranking.ok());
  ASSERT_EQ(ranking->size(), 3u);
  EXPECT_EQ((*ranking)[0].id, "proj-a");
  EXPECT_DOUBLE_EQ((*ranking)[0].mean_score, 8.5);
  EXPECT_EQ((*ranking)[1].id, "proj-c");
  EXPECT_EQ((*ranking)[2].id, "proj-b");
  auto projects = w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-a", "proj-c"});
  ASSERT_TRUE(projects.ok()) << projects.status().ToString();
  ASSERT_EQ(projects->size(), 2u);
  EXPECT_EQ((*projects)[0].state, ProjectState::kPending);
  EXPECT_EQ((*projects)[0].members, (std::vector<std::string>{"alice", "bruno"}));
  EXPECT_EQ(w_.gov().GetApplication(w_.op(), "proj-b")->state, ApplicationState::kNotSelected);
  EXPECT_EQ(w_.gov().GetApplication(w_.op(), "proj-a")->state, ApplicationState::kSelected);
  EXPECT_RULE(w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-b"}).status(),
              StatusCode::kFailedPrecondition, rule::kSelectionDone);
  // After the selection, no application and no review is taken, even on the closing day.
  ApplicationInput d = w_.ProjectB();
  d.id = "proj-d";
  EXPECT_RULE(Submit("chloe", d), StatusCode::kFailedPrecondition, rule::kSelectionDone);
  EXPECT_RULE(w_.gov().SubmitReview(w_.As("fabien"), "proj-b", 5, ""),
              StatusCode::kFailedPrecondition, rule::kSelectionDone);
}

// ---- decisions and windows ---------------------------------------------------------------------

class DecisionTest : public WorkflowTest {
 protected:
  void SetUp() override {
    WorkflowTest::SetUp();
    ASSERT_TRUE(Submit("alice", w_.ProjectA()).ok());
    ASSERT_TRUE(w_.gov().SubmitReview(w_.As("fanny"), "proj-a", 9, "").ok());
    ASSERT_TRUE(w_.gov().SubmitReview(w_.As("quentin"), "proj-a", 8, "").ok());
    w_.SetDate("2025-05-05");
    ASSERT_TRUE(w_.gov().SelectProjects(w_.op(), "joint-2025", {"proj-a"}).ok());
  }
  Result<Project> Decide(const std::string& who, Jurisdiction j, Decision d) {
    return w_.gov().RecordDecision(w_.As(who), "proj-a", j, d, "");
  }
};

TEST_F(DecisionTest, ApprovalNeedsTheDataSharingAgreement) {
  EXPECT_RULE(Decide("fanny", Jurisdiction::kFR, Decision::kApprove).status(),
              StatusCode::kFailedPrecondition, rule::kDsaRequired);
  EXPECT_RULE(w_.gov().RecordDataSharingAgreement(w_.As("bruno"), "proj-a", "DSA-1"),
              StatusCode::kPermissionDenied, rule::kRole);
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("alice"), "proj-a", "DSA-1").ok());
  EXPECT_TRUE(Decide("fanny", Jurisdiction::kFR, Decision::kApprove).ok());
}

TEST_F(DecisionTest, ActiveOnlyWhenEveryJurisdictionApprovedAndInsideTheWindow) {
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("alice"), "proj-a", "DSA-1").ok());
  EXPECT_RULE(w_.gov().CheckProjectActive("proj-a"), StatusCode::kFailedPrecondition,
              rule::kApprovals);
  auto after_fr = Decide("fanny", Jurisdiction::kFR, Decision::kApprove);
  ASSERT_TRUE(after_fr.ok());
  EXPECT_EQ(after_fr->state, ProjectState::kPending);
  Status waiting = w_.gov().CheckProjectActive("proj-a");
  EXPECT_RULE(waiting, StatusCode::kFailedPrecondition, rule::kApprovals);
  EXPECT_NE(waiting.message().find("QC"), std::string::npos) << waiting.message();
  EXPECT_RULE(Decide("fabien", Jurisdiction::kFR, Decision::kApprove).status(),
              StatusCode::kFailedPrecondition, rule::kAlreadyDecided);
  w_.SetDate("2025-05-20");
  auto approved = Decide("quitterie", Jurisdiction::kQC, Decision::kApprove);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_EQ(approved->state, ProjectState::kApproved);
  EXPECT_EQ(approved->start_on, Day("2025-05-20"));
  EXPECT_EQ(approved->end_on, Day("2026-11-20"));  // 18 months
  EXPECT_TRUE(w_.gov().CheckProjectActive("proj-a").ok());
  EXPECT_TRUE(w_.gov().AuthorizeStudy(w_.As("bruno"), "proj-a").ok());
  w_.SetDate("2026-11-19");
  EXPECT_TRUE(w_.gov().CheckProjectActive("proj-a").ok());
  w_.SetDate("2026-11-20");
  EXPECT_RULE(w_.gov().CheckProjectActive("proj-a"), StatusCode::kFailedPrecondition,
              rule::kWindow);
  EXPECT_RULE(w_.gov().AuthorizeStudy(w_.As("alice"), "proj-a"), StatusCode::kFailedPrecondition,
              rule::kWindow);
}

TEST_F(DecisionTest, OneRefusalRefusesTheProject) {
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("alice"), "proj-a", "DSA-1").ok());
  ASSERT_TRUE(Decide("fanny", Jurisdiction::kFR, Decision::kApprove).ok());
  auto refused = Decide("quentin", Jurisdiction::kQC, Decision::kRefuse);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->state, ProjectState::kRefused);
  Status st = w_.gov().CheckProjectActive("proj-a");
  EXPECT_RULE(st, StatusCode::kFailedPrecondition, rule::kRefused);
  EXPECT_NE(st.message().find("QC committee refused"), std::string::npos) << st.message();
}

TEST_F(DecisionTest, DecisionRulesAboutWhoDecides) {
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("alice"), "proj-a", "DSA-1").ok());
  EXPECT_RULE(Decide("alice", Jurisdiction::kFR, Decision::kApprove).status(),
              StatusCode::kPermissionDenied, rule::kRole);
  EXPECT_RULE(Decide("quentin", Jurisdiction::kFR, Decision::kApprove).status(),
              StatusCode::kPermissionDenied, rule::kCommitteeJurisdiction);
  EXPECT_RULE(Decide("admin", Jurisdiction::kFR, Decision::kApprove).status(),
              StatusCode::kPermissionDenied, rule::kRole);
  EXPECT_EQ(
      w_.gov()
          .DecideAmendment(w_.As("fanny"), "proj-a", 1, Jurisdiction::kFR, Decision::kApprove, "")
          .status()
          .code(),
      StatusCode::kNotFound);
}

TEST_F(DecisionTest, JurisdictionNotInvolvedCannotDecide) {
  // A French-only project of a non-joint call.
  CallInput c;
  c.id = "fr-call";
  c.title = "French call";
  c.joint = false;
  c.min_reviews = 0;
  c.opens_on = Day("2025-05-01");
  c.closes_on = Day("2025-05-05");
  ASSERT_TRUE(w_.gov().CreateCall(w_.op(), c).ok());
  ApplicationInput f = w_.ProjectB();
  f.call_id = "fr-call";
  f.id = "fr-only";
  f.team = {"chloe"};
  f.datasets = {{"fr-node", "diabetes"}};
  ASSERT_TRUE(Submit("chloe", f).ok());
  ASSERT_TRUE(w_.gov().SelectProjects(w_.op(), "fr-call", {"fr-only"}).ok());
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("chloe"), "fr-only", "DSA-2").ok());
  EXPECT_RULE(
      w_.gov()
          .RecordDecision(w_.As("quentin"), "fr-only", Jurisdiction::kQC, Decision::kApprove, "")
          .status(),
      StatusCode::kFailedPrecondition, rule::kJurisdictionNotInvolved);
  auto p =
      w_.gov().RecordDecision(w_.As("fanny"), "fr-only", Jurisdiction::kFR, Decision::kApprove, "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, ProjectState::kApproved);  // France alone suffices
}

TEST_F(DecisionTest, CommitteeMemberOnTheTeamCannotDecide) {
  w_.AddUser("remi", "inserm", {"researcher", "committee:FR"});
  // Remi joins project A by an amendment once it is approved; then he may not decide on it.
  ASSERT_TRUE(w_.gov().RecordDataSharingAgreement(w_.As("alice"), "proj-a", "DSA-1").ok());
  ASSERT_TRUE(Decide("fanny", Jurisdiction::kFR, Decision::kApprove).ok());
  ASSERT_TRUE(Decide("quentin", Jurisdiction::kQC, Decision::kApprove).ok());
  auto am = w_.gov().ProposeAmendment(w_.As("alice"), "proj-a",
                                      {AmendmentKind::kAddMember, "remi", "statistician"});
  ASSERT_TRUE(am.ok()) << am.status().ToString();
  ASSERT_TRUE(w_.gov()
                  .DecideAmendment(w_.As("fanny"), "proj-a", am->id, Jurisdiction::kFR,
                                   Decision::kApprove, "")
                  .ok());
  ASSERT_TRUE(w_.gov()
                  .DecideAmendment(w_.As("quentin"), "proj-a", am->id, Jurisdiction::kQC,
                                   Decision::kApprove, "")
                  .ok());
  auto am2 = w_.gov().ProposeAmendment(w_.As("alice"), "proj-a",
                                       {AmendmentKind::kRemoveMember, "bruno", "left"});
  ASSERT_TRUE(am2.ok());
  EXPECT_RULE(w_.gov()
                  .DecideAmendment(w_.As("remi"), "proj-a", am2->id, Jurisdiction::kFR,
                                   Decision::kApprove, "")
                  .status(),
              StatusCode::kPermissionDenied, rule::kConflictOfInterest);
}

// ---- amendments and closure --------------------------------------------------------------------

class ApprovedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.Populate();
    w_.ApproveProjectA();
  }
  Result<Amendment> Propose(AmendmentKind k, std::string value) {
    return w_.gov().ProposeAmendment(w_.As("alice"), "proj-a", {k, std::move(value), "needed"});
  }
  Result<Amendment> DecideBoth(int64_t id) {
    auto fr = w_.gov().DecideAmendment(w_.As("fanny"), "proj-a", id, Jurisdiction::kFR,
                                       Decision::kApprove, "");
    if (!fr.ok()) return fr;
    return w_.gov().DecideAmendment(w_.As("quentin"), "proj-a", id, Jurisdiction::kQC,
                                    Decision::kApprove, "");
  }
  World w_;
};

TEST_F(ApprovedTest, ExtendingTheWindowNeedsBothCommittees) {
  Project p = w_.gov().GetProject(w_.op(), "proj-a").value();
  EXPECT_EQ(p.end_on, Day("2026-11-10"));
  EXPECT_RULE(Propose(AmendmentKind::kExtendWindow, "2026-01-01").status(),
              StatusCode::kFailedPrecondition, rule::kAmendment);
  EXPECT_RULE(w_.gov()
                  .ProposeAmendment(w_.As("bruno"), "proj-a",
                                    {AmendmentKind::kExtendWindow, "2027-05-10", "more"})
                  .status(),
              StatusCode::kPermissionDenied, rule::kRole);
  auto am = Propose(AmendmentKind::kExtendWindow, "2027-05-10");
  ASSERT_TRUE(am.ok()) << am.status().ToString();
  EXPECT_EQ(am->state, AmendmentState::kProposed);
  auto fr = w_.gov().DecideAmendment(w_.As("fanny"), "proj-a", am->id, Jurisdiction::kFR,
                                     Decision::kApprove, "");
  ASSERT_TRUE(fr.ok());
  EXPECT_EQ(fr->state, AmendmentState::kProposed);
  w_.SetDate("2026-12-01");  // past the old end: not active until QC approves
  EXPECT_RULE(w_.gov().CheckProjectActive("proj-a"), StatusCode::kFailedPrecondition,
              rule::kWindow);
  auto qc = w_.gov().DecideAmendment(w_.As("quentin"), "proj-a", am->id, Jurisdiction::kQC,
                                     Decision::kApprove, "");
  ASSERT_TRUE(qc.ok());
  EXPECT_EQ(qc->state, AmendmentState::kApplied);
  EXPECT_TRUE(w_.gov().CheckProjectActive("proj-a").ok());
  EXPECT_EQ(w_.gov().GetProject(w_.op(), "proj-a")->end_on, Day("2027-05-10"));
  EXPECT_RULE(w_.gov()
                  .DecideAmendment(w_.As("quitterie"), "proj-a", am->id, Jurisdiction::kQC,
                                   Decision::kApprove, "")
                  .status(),
              StatusCode::kFailedPrecondition, rule::kAlreadyDecided);
}

TEST_F(ApprovedTest, MembershipAmendments) {
  EXPECT_RULE(Propose(AmendmentKind::kRemoveMember, "alice").status(),
              StatusCode::kFailedPrecondition, rule::kAmendment);
  EXPECT_RULE(Propose(AmendmentKind::kAddMember, "fanny").status(), StatusCode::kInvalidArgument,
              rule::kTeam);
  auto add = Propose(AmendmentKind::kAddMember, "chloe");
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_RULE(w_.gov().Authorize(w_.As("chloe"), Action::kStudySubmit, Resource::Project("proj-a")),
              StatusCode::kPermissionDenied, rule::kProjectMember);
  ASSERT_TRUE(DecideBoth(add->id).ok());
  EXPECT_TRUE(
      w_.gov().Authorize(w_.As("chloe"), Action::kStudySubmit, Resource::Project("proj-a")).ok());
  auto remove = Propose(AmendmentKind::kRemoveMember, "bruno");
  ASSERT_TRUE(remove.ok());
  auto refused = w_.gov().DecideAmendment(w_.As("quentin"), "proj-a", remove->id, Jurisdiction::kQC,
                                          Decision::kRefuse, "no");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->state, AmendmentState::kRefused);
  EXPECT_TRUE(
      w_.gov().Authorize(w_.As("bruno"), Action::kStudySubmit, Resource::Project("proj-a")).ok());
  auto list = w_.gov().ListAmendments(w_.As("alice"), "proj-a");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST_F(ApprovedTest, DatasetAmendments) {
  EXPECT_RULE(Propose(AmendmentKind::kAddDataset, "qc-node/cancer").status(),
              StatusCode::kInvalidArgument, rule::kCatalogDataset);
  EXPECT_RULE(Propose(AmendmentKind::kAddDataset, "qc-node/diabetes").status(),
              StatusCode::kFailedPrecondition, rule::kAmendment);
  ASSERT_TRUE(w_.gov()
                  .PublishDataset(
                      w_.op(), testing::Dataset("qc-node", "cancer", "Cancer registry", {"stage"}))
                  .ok());
  auto am = Propose(AmendmentKind::kAddDataset, "qc-node/cancer");
  ASSERT_TRUE(am.ok()) << am.status().ToString();
  ASSERT_TRUE(DecideBoth(am->id).ok());
  auto p = w_.gov().GetProject(w_.op(), "proj-a");
  EXPECT_EQ(p->datasets.size(), 3u);
}

TEST_F(ApprovedTest, ClosureEndsAccessForGood) {
  EXPECT_TRUE(w_.gov().AuthorizeStudy(w_.As("alice"), "proj-a").ok());
  EXPECT_RULE(w_.gov().CloseProject(w_.As("bruno"), "proj-a", "done").status(),
              StatusCode::kPermissionDenied, rule::kRole);
  EXPECT_EQ(w_.gov().CloseProject(w_.As("alice"), "proj-a", " ").status().code(),
            StatusCode::kInvalidArgument);
  w_.SetDate("2026-01-15");
  auto closed = w_.gov().CloseProject(w_.As("alice"), "proj-a", "results published");
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state, ProjectState::kClosed);
  EXPECT_EQ(closed->closed_on, Day("2026-01-15"));
  Status st = w_.gov().AuthorizeStudy(w_.As("alice"), "proj-a");
  EXPECT_RULE(st, StatusCode::kFailedPrecondition, rule::kClosed);
  EXPECT_NE(st.message().find("results published"), std::string::npos);
  EXPECT_RULE(w_.gov().CloseProject(w_.op(), "proj-a", "again").status(),
              StatusCode::kFailedPrecondition, rule::kClosed);
  EXPECT_RULE(Propose(AmendmentKind::kExtendWindow, "2027-12-31").status(),
              StatusCode::kFailedPrecondition, rule::kClosed);
  // Still readable by its members (results stay visible), never active again.
  EXPECT_TRUE(
      w_.gov().Authorize(w_.As("bruno"), Action::kResultRead, Resource::Project("proj-a")).ok());
}

// ---- state -------------------------------------------------------------------------------------

TEST(GovernanceState, SurvivesARestartAndReadOnlyRefusesChanges) {
  auto dir = TempDir::Create().value();
  std::string path = (dir.path() / "gov.sqlite").string();
  {
    World w(path);
    w.Populate();
    w.ApproveProjectA();
  }
  FakeClock clock(testing::MicrosOf("2025-06-01"));
  DeterministicRandom random(1);
  auto ro = GovernanceService::Open(testing::TestOptions(path), std::nullopt, clock, random);
  ASSERT_TRUE(ro.ok());
  auto p = (*ro)->GetProject(Principal::LocalOperator(), "proj-a");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, ProjectState::kApproved);
  EXPECT_TRUE((*ro)->CheckProjectActive("proj-a").ok());
  EXPECT_TRUE((*ro)->VerifyStoredAuditLog().ok());
  EXPECT_RULE((*ro)->CloseProject(Principal::LocalOperator(), "proj-a", "x").status(),
              StatusCode::kFailedPrecondition, rule::kAuditKey);
  // The wrong key is refused for a log started with another.
  auto other = GovernanceService::Open(
      testing::TestOptions(path), AuditKey::FromSeed(std::array<uint8_t, 32>{9}), clock, random);
  EXPECT_RULE(other.status(), StatusCode::kFailedPrecondition, rule::kAuditKey);
}

}  // namespace
}  // namespace passerelle::governance
