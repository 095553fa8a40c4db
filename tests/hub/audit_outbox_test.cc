// The hub's audit outbox (hub/audit_outbox.h): entries commit with the state change or not at all,
// reach the governance audit log in batches, exactly once, across a crash of the forwarder.
#include "hub/audit_outbox.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "governance/audit.h"
#include "governance/governance.h"

namespace passerelle::hub {
namespace {

namespace gov = passerelle::governance;

gov::AuditRecord TaskCreate(int i) {
  return gov::AuditRecord::TaskCreate("t-" + std::to_string(i), "s-1", 1, "proj-a", "fr",
                                      "{\"task\":" + std::to_string(i) + "}");
}

class AuditOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(std::move(TempDir::Create()).value());
    state_ = (dir_->path() / "hub-state.sqlite").string();
    gov_path_ = dir_->path() / "hub-governance.sqlite";
  }

  std::unique_ptr<gov::GovernanceService> OpenGovernance() {
    gov::GovernanceOptions o;
    o.path = gov_path_;
    o.tokens.hash_ops_limit = 1;
    o.tokens.hash_mem_limit = 8192;
    return gov::GovernanceService::Open(o, gov::AuditKey::FromSeed(std::array<uint8_t, 32>{7}),
                                        clock_, random_)
        .value();
  }

  // task_id -> how many task.create entries the audit log holds for it.
  std::map<std::string, int> TaskCreates(gov::GovernanceService& g) {
    std::map<std::string, int> out;
    auto log = g.ExportAuditLog(gov::Principal::LocalOperator()).value();
    auto verified = gov::VerifyAuditLog(log, *g.audit_public_key());
    EXPECT_TRUE(verified.ok()) << verified.status().ToString();
    if (!verified.ok()) return out;
    for (const auto& e : verified->entries) {
      if (e.record.action == "task.create") ++out[e.record.task_id];
    }
    return out;
  }

  int64_t OutboxRows() {
    auto db = SqliteDb::Open({.path = state_, .must_exist = true}).value();
    auto q = db->Prepare("SELECT count(*) FROM audit_outbox").value();
    EXPECT_TRUE(q.Step().value());
    return q.ColumnInt(0);
  }

  SystemClock& clock_ = SystemClock::Default();
  DeterministicRandom random_{3};
  std::unique_ptr<TempDir> dir_;
  std::string state_;
  std::filesystem::path gov_path_;
};

TEST_F(AuditOutboxTest, EntriesCommitWithTheirStateChangeAndReachTheLogOnce) {
  auto g = OpenGovernance();
  auto db = SqliteDb::Open({.path = state_}).value();
  auto outbox = AuditOutbox::Open(*db, clock_, random_).value();
  EXPECT_EQ(outbox->source().rfind("hub-state-", 0), 0u);
  auto fwd = AuditForwarder::Start(state_, outbox->source(), *g, {.prune_after = 4}).value();
  {
    // A state change that rolls back takes its entry with it.
    auto tx = SqliteTransaction::Begin(*db).value();
    ASSERT_TRUE(outbox->Add(TaskCreate(0)).ok());
    ASSERT_TRUE(tx.Rollback().ok());
  }
  {
    auto tx = SqliteTransaction::Begin(*db).value();
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(outbox->Add(TaskCreate(i)).ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  fwd->Notify();
  ASSERT_TRUE(fwd->Flush().ok());
  auto creates = TaskCreates(*g);
  EXPECT_EQ(creates.size(), 10u);
  EXPECT_EQ(creates.count("t-0"), 0u);
  for (const auto& [task, n] : creates) EXPECT_EQ(n, 1) << task;
  ASSERT_TRUE(fwd->Flush().ok());  // nothing new: nothing appended again
  EXPECT_EQ(TaskCreates(*g).size(), 10u);
  auto stats = fwd->stats();
  EXPECT_EQ(stats.appended, 10);
  EXPECT_LE(stats.transactions, 2);  // batched, not one transaction per entry
  // Appended rows are pruned, except the one at the mark (new ids stay above it).
  EXPECT_EQ(OutboxRows(), 1);
  ASSERT_TRUE(outbox->Add(TaskCreate(11)).ok());
  ASSERT_TRUE(fwd->Flush().ok());
  EXPECT_EQ(TaskCreates(*g).count("t-11"), 1u);
}

// The crash the bookkeeping is for: a forwarder process dies (no destructor, no pruning) after it
// appended the outbox's entries; the next hub's forwarder finds them still in the outbox and skips
// them, then appends what came after.
TEST_F(AuditOutboxTest, ForwarderCrashAfterAppendingNeverAppendsTwice) {
  std::string source;
  {
    auto db = SqliteDb::Open({.path = state_}).value();
    auto outbox = AuditOutbox::Open(*db, clock_, random_).value();
    source = outbox->source();
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(outbox->Add(TaskCreate(i)).ok());
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto g = OpenGovernance();
    auto fwd = AuditForwarder::Start(state_, source, *g, {.prune_after = 1'000'000});
    if (!fwd.ok() || !(*fwd)->Flush().ok()) _exit(2);
    _exit(0);  // a crash: the forwarder never prunes, nothing is destroyed
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(OutboxRows(), 5);  // appended, not pruned

  auto g = OpenGovernance();
  EXPECT_EQ(TaskCreates(*g).size(), 5u);
  {
    auto db = SqliteDb::Open({.path = state_}).value();
    auto outbox = AuditOutbox::Open(*db, clock_, random_).value();
    EXPECT_EQ(outbox->source(), source);  // the same outbox after a restart
    ASSERT_TRUE(outbox->Add(TaskCreate(6)).ok());
    auto fwd = AuditForwarder::Start(state_, source, *g).value();
    ASSERT_TRUE(fwd->Flush().ok());
  }  // stops: prunes
  auto creates = TaskCreates(*g);
  EXPECT_EQ(creates.size(), 6u);
  for (const auto& [task, n] : creates) EXPECT_EQ(n, 1) << task;
  EXPECT_EQ(OutboxRows(), 1);
}

TEST_F(AuditOutboxTest, ForwarderNeedsTheStateFile) {
  auto g = OpenGovernance();
  EXPECT_EQ(AuditForwarder::Start(":memory:", "s", *g).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(AuditForwarder::Start((dir_->path() / "absent.sqlite").string(), "s", *g).ok());
}

}  // namespace
}  // namespace passerelle::hub
