#include "hub/engine.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"

namespace passerelle::hub {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    if (!db_) db_ = std::move(SqliteDb::Open({.path = ":memory:"})).value();
    auto e = StudyEngine::Open(*db_, analysis::BuiltinRegistry(), clock_, random_,
                               {.nodes = {"qc", "fr"}, .task_timeout = 10s});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    engine_->set_on_tasks([this](const std::vector<std::string>& n) {
      notified_.insert(notified_.end(), n.begin(), n.end());
    });
  }

  // What a node with `n` rows would answer to a count task.
  protocol::TaskResult CountResult(const protocol::Task& t, double n) {
    protocol::TaskResult r;
    r.task_id = t.task_id;
    r.study_id = t.study_id;
    r.round = t.round;
    r.node = t.node;
    r.applied = {10, 10};
    r.shares.push_back({t.steps[0].analysis_id, t.steps[0].round, {n, 0}, json::object()});
    return r;
  }

  std::string SubmitCount() {
    auto id = engine_->Submit(
        {{"name", "c"}, {"dataset", "d"}, {"analyses", {{{"id", "n"}, {"type", "count"}}}}},
        {"alice", {}});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return *id;
  }

  FakeClock clock_{1'000'000};
  DeterministicRandom random_{7};
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<StudyEngine> engine_;
  std::vector<std::string> notified_;
};

TEST_F(EngineTest, SubmitCreatesOneTaskPerNodeAndNotifies) {
  std::string id = SubmitCount();
  EXPECT_EQ(notified_, (std::vector<std::string>{"fr", "qc"}));
  auto t = engine_->NextTask("fr");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->task_id, id + "-r1-fr");
  EXPECT_EQ((*t)->dataset, "d");
  // Delivery is at-least-once: asking again gives the same task until it is answered.
  auto again = engine_->NextTask("fr");
  EXPECT_EQ((*again)->task_id, (*t)->task_id);
  EXPECT_FALSE(engine_->NextTask("elsewhere")->has_value());
}

// Handing a task out writes nothing (a poll commits nothing); the status shows it dispatched, and
// the hand-out time is stored with the result.
TEST_F(EngineTest, HandingATaskOutIsNotedInMemoryAndWrittenWithItsResult) {
  std::string id = SubmitCount();
  auto stored = [&](const std::string& task, const char* column) {
    auto q =
        db_->Prepare(std::string("SELECT ") + column + " FROM tasks WHERE task_id = ?").value();
    q.Bind(1, task);
    EXPECT_TRUE(q.Step().value());
    return q.IsNull(0) ? std::string("NULL") : q.ColumnText(0);
  };
  auto node_state = [&](const std::string& node) {
    const json status = engine_->StudyStatus(id).value();
    for (const auto& n : status["nodes"]) {
      if (n["node"] == node) return n["state"].get<std::string>();
    }
    return std::string();
  };
  auto fr = **engine_->NextTask("fr");
  EXPECT_EQ(stored(fr.task_id, "state"), "pending");  // nothing written...
  EXPECT_EQ(node_state("fr"), "dispatched");          // ...but shown
  EXPECT_EQ(node_state("qc"), "pending");
  clock_.Advance(std::chrono::seconds(3));
  ASSERT_TRUE(engine_->AcceptResult("fr", fr.task_id, "k", CountResult(fr, 100)).ok());
  EXPECT_EQ(stored(fr.task_id, "state"), "done");
  EXPECT_NE(stored(fr.task_id, "dispatched_at"), "NULL");
  EXPECT_LT(std::stoll(stored(fr.task_id, "dispatched_at")),
            std::stoll(stored(fr.task_id, "completed_at")));
}

TEST_F(EngineTest, ResultPostedTwiceCountsOnce) {
  std::string id = SubmitCount();
  auto fr = **engine_->NextTask("fr");
  auto qc = **engine_->NextTask("qc");
  auto a = engine_->AcceptResult("fr", fr.task_id, "key-1", CountResult(fr, 100));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->duplicate);
  auto dup = engine_->AcceptResult("fr", fr.task_id, "key-1", CountResult(fr, 100));
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  auto other = engine_->AcceptResult("fr", fr.task_id, "key-2", CountResult(fr, 100));
  EXPECT_EQ(other.status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(engine_->AcceptResult("qc", qc.task_id, "key-3", CountResult(qc, 50)).ok());
  auto dup_after = engine_->AcceptResult("fr", fr.task_id, "key-1", CountResult(fr, 100));
  EXPECT_TRUE(dup_after->duplicate);
  auto result = engine_->StudyResult(id);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["analyses"]["n"]["n"], 150);
  EXPECT_EQ((*result)["nodes"], json({"fr", "qc"}));
}

TEST_F(EngineTest, ResultsAreValidatedAgainstTheTask) {
  SubmitCount();
  auto fr = **engine_->NextTask("fr");
  auto r = CountResult(fr, 10);
  EXPECT_EQ(engine_->AcceptResult("qc", fr.task_id, "k", r).status().code(),
            StatusCode::kPermissionDenied);
  r.shares[0].values = {1, 2, 3};
  auto wrong_len = engine_->AcceptResult("fr", fr.task_id, "k", r);
  EXPECT_NE(wrong_len.status().message().find("needs 2 values, got 3"), std::string::npos);
  r = CountResult(fr, 10);
  r.round = 2;
  EXPECT_EQ(engine_->AcceptResult("fr", fr.task_id, "k", r).status().code(),
            StatusCode::kInvalidArgument);
  r = CountResult(fr, 10);
  EXPECT_EQ(engine_->AcceptResult("fr", fr.task_id, "", r).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->AcceptResult("fr", "nope", "k", r).status().code(), StatusCode::kNotFound);
}

TEST_F(EngineTest, RefusalFailsStudyNamingNodeAndRule) {
  std::string id = SubmitCount();
  auto fr = **engine_->NextTask("fr");
  protocol::TaskResult r = CountResult(fr, 0);
  r.shares.clear();
  r.status = protocol::ResultStatus::kRefused;
  r.rule = "min_rows";
  r.message = "dataset \"d\" has fewer rows than min_rows (10)";
  ASSERT_TRUE(engine_->AcceptResult("fr", fr.task_id, "k", r).ok());
  auto st = engine_->StudyStatus(id);
  EXPECT_EQ((*st)["state"], "failed");
  EXPECT_EQ((*st)["error"],
            "node fr refused the task (rule min_rows): dataset \"d\" has fewer rows than "
            "min_rows (10)");
  // The other node's task is cancelled: nothing more is asked of it.
  EXPECT_FALSE(engine_->NextTask("qc")->has_value());
  EXPECT_NE(engine_->StudyResult(id).status().message().find("failed"), std::string::npos);
}

TEST_F(EngineTest, DeadlineFailsStudyNamingSilentNodes) {
  std::string id = SubmitCount();
  auto fr = **engine_->NextTask("fr");
  ASSERT_TRUE(engine_->AcceptResult("fr", fr.task_id, "k", CountResult(fr, 10)).ok());
  clock_.Advance(9s);
  EXPECT_EQ(*engine_->CheckDeadlines(), 0);
  clock_.Advance(2s);
  EXPECT_EQ(*engine_->CheckDeadlines(), 1);
  auto st = engine_->StudyStatus(id);
  EXPECT_EQ((*st)["state"], "failed");
  EXPECT_EQ((*st)["error"],
            "node qc did not answer within 10 s (it never fetched its task); partial "
            "participation is not supported yet");
}

TEST_F(EngineTest, RestartResumesFromTheDatabaseWithFreshDeadlines) {
  std::string id = engine_
                       ->Submit({{"name", "t"},
                                 {"dataset", "d"},
                                 {"analyses", {{{"id", "t"}, {"type", "table"}, {"rows", "g"}}}}},
                                {"alice", {}})
                       .value();
  auto fr = **engine_->NextTask("fr");
  protocol::TaskResult r;
  r.task_id = fr.task_id;
  r.study_id = id;
  r.round = 1;
  r.node = "fr";
  r.shares.push_back({"t", 0, {}, {{"rows", {"b", "a"}}, {"cols", {""}}}});
  ASSERT_TRUE(engine_->AcceptResult("fr", fr.task_id, "k", r).ok());
  clock_.Advance(9s);
  Reopen();            // the hub restarts: same database, new engine
  clock_.Advance(5s);  // past the old deadline, within the fresh one
  EXPECT_EQ(*engine_->CheckDeadlines(), 0);
  auto qc = **engine_->NextTask("qc");
  r.task_id = qc.task_id;
  r.node = "qc";
  r.shares[0].meta = {{"rows", {"c"}}, {"cols", {""}}};
  ASSERT_TRUE(engine_->AcceptResult("qc", qc.task_id, "k", r).ok());
  // Round 2: the agreed levels travel in the counts round's input.
  auto fr2 = engine_->NextTask("fr");
  ASSERT_TRUE(fr2.ok() && fr2->has_value());
  EXPECT_EQ((*fr2)->round, 2);
  EXPECT_EQ((*fr2)->steps[0].input.params["rows"], json({"a", "b", "c"}));
  auto st = engine_->StudyStatus(id);
  EXPECT_EQ((*st)["round"], 2);
  EXPECT_EQ((*st)["rounds"][0]["latency_ms"], 14000.0);
}

TEST_F(EngineTest, SubmitValidation) {
  auto unknown_node = engine_->Submit({{"name", "c"},
                                       {"dataset", "d"},
                                       {"nodes", {"fr", "xx"}},
                                       {"analyses", {{{"id", "n"}, {"type", "count"}}}}},
                                      {"alice", {}});
  EXPECT_NE(unknown_node.status().message().find("\"xx\" is not a node of this federation"),
            std::string::npos);
  auto bad = engine_->Submit(
      {{"name", "c"}, {"dataset", "d"}, {"analyses", {{{"id", "n"}, {"type", "summary"}}}}},
      {"alice", {}});
  EXPECT_NE(bad.status().message().find("study.analyses[0].variables: required"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(engine_->StudyStatus("st-none").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace passerelle::hub
