// A node's own approvals: the check every task passes at the node, whatever the hub says.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/date.h"
#include "common/sqlite.h"
#include "governance/audit.h"
#include "governance/node_approvals.h"
#include "world.h"

namespace passerelle::governance {
namespace {

using testing::Day;

class NodeApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions o;
    o.path = ":memory:";
    db_ = SqliteDb::Open(o).value();
    audit_ = AuditLog::Open(*db_, "qc-node", AuditKey::FromSeed(std::array<uint8_t, 32>{5}), clock_)
                 .value();
    approvals_ = NodeApprovals::Open(*db_, "qc-node", clock_, audit_.get()).value();
  }
  FakeClock clock_{testing::MicrosOf("2025-05-10")};
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<NodeApprovals> approvals_;
};

TEST_F(NodeApprovalsTest, NothingRunsWithoutTheCustodiansApproval) {
  EXPECT_RULE(approvals_->CheckNodeMayRun("proj-a"), StatusCode::kPermissionDenied,
              rule::kNodeApproval);
  auto a = approvals_->Approve({.project = "proj-a", .custodian = "custqc"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->start_on, Day("2025-05-10"));
  EXPECT_EQ(a->end_on, Day("2026-11-10"));
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a").ok());
  EXPECT_RULE(approvals_->CheckNodeMayRun("proj-b"), StatusCode::kPermissionDenied,
              rule::kNodeApproval);
}

TEST_F(NodeApprovalsTest, TheNodesWindowIsEnforced) {
  ASSERT_TRUE(approvals_
                  ->Approve({.project = "proj-a",
                             .custodian = "custqc",
                             .start_on = Day("2025-06-01"),
                             .end_on = Day("2025-09-01")})
                  .ok());
  EXPECT_RULE(approvals_->CheckNodeMayRun("proj-a", Day("2025-05-31")),
              StatusCode::kPermissionDenied, rule::kNodeApproval);
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a", Day("2025-06-01")).ok());
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a", Day("2025-08-31")).ok());
  Status closed = approvals_->CheckNodeMayRun("proj-a", Day("2025-09-01"));
  EXPECT_RULE(closed, StatusCode::kPermissionDenied, rule::kNodeApproval);
  EXPECT_NE(closed.message().find("ended on 2025-09-01 (last day 2025-08-31)"), std::string::npos)
      << closed.message();
  EXPECT_FALSE(approvals_
                   ->Approve({.project = "proj-a",
                              .custodian = "custqc",
                              .start_on = Day("2025-06-01"),
                              .end_on = Day("2025-06-01")})
                   .ok());
}

TEST_F(NodeApprovalsTest, RevocationStopsTasksAndKeepsTheHistory) {
  ASSERT_TRUE(approvals_->Approve({.project = "proj-a", .custodian = "custqc"}).ok());
  EXPECT_FALSE(approvals_->Revoke("proj-a", "custqc", " ").ok());
  ASSERT_TRUE(approvals_->Revoke("proj-a", "custqc", "agreement suspended").ok());
  Status st = approvals_->CheckNodeMayRun("proj-a");
  EXPECT_RULE(st, StatusCode::kPermissionDenied, rule::kNodeApproval);
  EXPECT_NE(st.message().find("agreement suspended"), std::string::npos);
  EXPECT_EQ(approvals_->Revoke("proj-a", "custqc", "again").status().code(),
            StatusCode::kFailedPrecondition);
  clock_.Advance(std::chrono::hours(24));
  ASSERT_TRUE(approvals_->Approve({.project = "proj-a", .custodian = "custqc2"}).ok());
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a").ok());
  auto history = approvals_->History("proj-a").value();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_TRUE(history[0].approved);
  EXPECT_FALSE(history[1].approved);
  EXPECT_EQ(history[2].custodian, "custqc2");
  EXPECT_FALSE(db_->Execute("DELETE FROM node_approvals").ok());
  EXPECT_FALSE(db_->Execute("UPDATE node_approvals SET approved = 1").ok());
  // Each step is a signed entry of the node's audit log.
  auto entries = audit_->Read().value();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].record.action, "node.approve");
  EXPECT_EQ(entries[1].record.action, "node.revoke");
  EXPECT_EQ(entries[1].record.details.at("note"), "agreement suspended");
  EXPECT_EQ(entries[0].record.node, "qc-node");
  EXPECT_TRUE(VerifyAuditLog(audit_->Export().value(), audit_->public_key().value()).ok());
}

TEST_F(NodeApprovalsTest, DatasetsCanBeRestricted) {
  ASSERT_TRUE(
      approvals_->Approve({.project = "proj-a", .custodian = "custqc", .datasets = {"diabetes"}})
          .ok());
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a", "diabetes").ok());
  EXPECT_TRUE(approvals_->CheckNodeMayRun("proj-a").ok());
  EXPECT_RULE(approvals_->CheckNodeMayRun("proj-a", "cancer"), StatusCode::kPermissionDenied,
              rule::kNodeDataset);
  auto list = approvals_->List().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].datasets, std::vector<std::string>{"diabetes"});
}

TEST_F(NodeApprovalsTest, InvalidInputRefused) {
  EXPECT_FALSE(approvals_->Approve({.project = "Bad Id", .custodian = "c"}).ok());
  EXPECT_FALSE(approvals_->Approve({.project = "p", .custodian = ""}).ok());
  EXPECT_FALSE(approvals_->Approve({.project = "p", .custodian = "c", .access_months = 0}).ok());
  EXPECT_FALSE(approvals_->Approve({.project = "p", .custodian = "c", .datasets = {"A B"}}).ok());
  EXPECT_EQ(audit_->Count().value(), 0);
}

TEST_F(NodeApprovalsTest, AFailedAuditAppendLeavesNoApproval) {
  auto read_only = AuditLog::Open(*db_, "qc-node", std::nullopt, clock_).value();
  auto store = NodeApprovals::Open(*db_, "qc-node", clock_, read_only.get()).value();
  EXPECT_FALSE(store->Approve({.project = "proj-a", .custodian = "custqc"}).ok());
  EXPECT_FALSE(store->Get("proj-a").value().has_value());
}

}  // namespace
}  // namespace passerelle::governance
