#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/files.h"
#include "node/executor.h"
#include "node/journal.h"
#include "node/policy.h"
#include "node/sql_table.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle::node {
namespace {

using nlohmann::json;

protocol::Task MakeTask(json spec, std::string type) {
  protocol::Task t;
  t.task_id = "st-1-r1-fr";
  t.study_id = "st-1";
  t.node = "fr";
  t.dataset = "cnsim";
  protocol::TaskStep s;
  s.analysis_id = spec["id"];
  s.type = std::move(type);
  s.spec = std::move(spec);
  t.steps.push_back(s);
  return t;
}

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::OpenDuckDb({});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(store::IngestTable(
                    **db, {.name = "cnsim",
                           .from = std::string(PASSERELLE_SHARED_DATA) + "/datashield/CNSIM1.csv"})
                    .ok());
    provider_ = std::make_unique<StoreDataProvider>(std::move(db).value());
  }
  std::unique_ptr<StoreDataProvider> provider_;
};

TEST_F(NodeTest, SqlPushdownGivesTheSums) {
  auto task = MakeTask({{"id", "s"}, {"type", "summary"}, {"variables", {"LAB_TSC"}}}, "summary");
  auto r = ExecuteTask(task, *provider_, {}, "fr", analysis::BuiltinRegistry());
  ASSERT_EQ(r.status, protocol::ResultStatus::kOk) << r.message;
  ASSERT_EQ(r.shares.size(), 1u);
  const auto& v = r.shares[0].values;
  EXPECT_EQ(v[0], 1807);         // n
  EXPECT_EQ(v[3], 2163 - 1807);  // n_missing
  EXPECT_EQ(r.applied.min_cell, 10);
}

TEST_F(NodeTest, TableCellsBelowMinCellNeverLeave) {
  auto task =
      MakeTask({{"id", "t"}, {"type", "table"}, {"rows", "GENDER"}, {"cols", "DIS_DIAB"}}, "table");
  task.steps[0].input.params = {{"phase", "counts"}, {"rows", {"0", "1"}}, {"cols", {"0", "1"}}};
  auto r = ExecuteTask(task, *provider_, {}, "fr", analysis::BuiltinRegistry());
  ASSERT_EQ(r.status, protocol::ResultStatus::kOk) << r.message;
  const auto& v = r.shares[0].values;
  // cells (0,0)=1071 (0,1)=21 (1,0)=1062 (1,1)=9 -> 9 suppressed; with the row and column
  // totals known, no other cell of a 2 x 2 table can be shown without giving the 9 back, so the
  // other three are secondary.
  for (int k = 0; k < 4; ++k) EXPECT_EQ(v[k], 0) << k;
  EXPECT_EQ(v[4 + 3], 1);  // primary flag of (1,1)
  // Secondary flags of the three others.
  for (int k : {0, 1, 2}) EXPECT_EQ(v[8 + k], 1) << k;
  // Nothing in the serialized result carries the 9 or the 21.
  std::string wire = r.ToJson().dump();
  EXPECT_EQ(wire.find("\"9\""), std::string::npos);
}

TEST_F(NodeTest, PolicyRefusalsNameTheRuleAndReleaseNothing) {
  auto task = MakeTask({{"id", "n"}, {"type", "count"}}, "count");
  NodePolicy only_tables;
  only_tables.analyses = {"table"};
  auto r = ExecuteTask(task, *provider_, only_tables, "fr", analysis::BuiltinRegistry());
  EXPECT_EQ(r.status, protocol::ResultStatus::kRefused);
  EXPECT_EQ(r.rule, "analyses");
  EXPECT_TRUE(r.shares.empty());

  NodePolicy big;
  big.min_rows = 5000;
  auto small = ExecuteTask(task, *provider_, big, "fr", analysis::BuiltinRegistry());
  EXPECT_EQ(small.status, protocol::ResultStatus::kRefused);
  EXPECT_EQ(small.rule, "min_rows");

  NodePolicy datasets;
  datasets.datasets = {"other"};
  EXPECT_EQ(ExecuteTask(task, *provider_, datasets, "fr", analysis::BuiltinRegistry()).rule,
            "datasets");

  auto t2 = MakeTask({{"id", "t"}, {"type", "table"}, {"rows", "LAB_TSC"}}, "table");
  t2.steps[0].input.params = {{"phase", "levels"}};
  auto levels = ExecuteTask(t2, *provider_, {}, "fr", analysis::BuiltinRegistry());
  EXPECT_EQ(levels.status, protocol::ResultStatus::kRefused);
  EXPECT_EQ(levels.rule, "max_levels");
  EXPECT_TRUE(levels.shares.empty());

  task.dataset = "absent";
  auto missing = ExecuteTask(task, *provider_, {}, "fr", analysis::BuiltinRegistry());
  EXPECT_EQ(missing.status, protocol::ResultStatus::kError);
  EXPECT_NE(missing.message.find("dataset \"absent\" is not present"), std::string::npos);
}

TEST_F(NodeTest, StudyMayRaiseThresholdsNotLower) {
  auto task = MakeTask({{"id", "n"}, {"type", "count"}}, "count");
  task.disclosure.min_cell = 3;
  task.disclosure.min_rows = 50;
  auto d = CheckTask({}, "fr", task, analysis::BuiltinRegistry());
  EXPECT_FALSE(d.refused);
  EXPECT_EQ(d.thresholds.min_cell, 10);
  EXPECT_EQ(d.thresholds.min_rows, 50);
}

TEST_F(NodeTest, PolicyFromConfig) {
  auto c = Config::Parse("[policy]\nmin_cell = 5\nanalyses = [\"count\"]\n");
  ASSERT_TRUE(c.ok());
  auto p = LoadPolicy(*c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->min_cell, 5);
  EXPECT_EQ(p->min_rows, 10);
  EXPECT_EQ(p->analyses, std::vector<std::string>{"count"});
  EXPECT_FALSE(LoadPolicy(*Config::Parse("[policy]\nmin_cell = 0\n")).ok());
  auto r = LoadPolicy(*Config::Parse("[policy]\nrounding_base = 5\nglm_max_params_ratio = 0.2\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rounding_base, 5);
  EXPECT_DOUBLE_EQ(r->glm_max_params_ratio, 0.2);
  EXPECT_EQ(p->rounding_base, 1);
  EXPECT_FALSE(LoadPolicy(*Config::Parse("[policy]\nrounding_base = 0\n")).ok());
  auto task = MakeTask({{"id", "n"}, {"type", "count"}}, "count");
  EXPECT_EQ(CheckTask(*r, "fr", task, analysis::BuiltinRegistry()).thresholds.rounding_base, 5);
}

TEST(JournalTest, KeepsResultAndKeyAcrossReopen) {
  auto dir = TempDir::Create();
  FakeClock clock(5);
  auto path = dir->path() / "journal.sqlite";
  {
    auto j = Journal::Open(path, clock);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->RecordComputed("t1", "s", 1, "key", "{\"r\":1}").ok());
    ASSERT_TRUE((*j)->RecordComputed("t2", "s", 1, "key2", "{}").ok());
    ASSERT_TRUE((*j)->MarkFinal("t2", "posted").ok());
    EXPECT_FALSE((*j)->RecordComputed("t1", "s", 1, "other", "{}").ok());
  }
  auto j = Journal::Open(path, clock);
  auto unposted = (*j)->Unposted();
  ASSERT_EQ(unposted->size(), 1u);
  EXPECT_EQ((*unposted)[0].task_id, "t1");
  EXPECT_EQ((*unposted)[0].idempotency_key, "key");
  EXPECT_EQ((*(*j)->Find("t2"))->state, "posted");
  EXPECT_FALSE((*j)->Find("t3")->has_value());
}

// Acknowledgements are held and written together, not in a commit each; until then the journal
// still answers as if they were written.
TEST(JournalTest, AcknowledgementsAreHeldAndWrittenTogether) {
  auto dir = TempDir::Create();
  FakeClock clock(5);
  auto path = dir->path() / "journal.sqlite";
  auto stored_state = [&](const std::string& task_id) {
    auto db = SqliteDb::Open({.path = path.string(), .must_exist = true});
    auto q = (*db)->Prepare("SELECT state FROM journal WHERE task_id = ?");
    q->Bind(1, task_id);
    EXPECT_TRUE(*q->Step());
    return q->ColumnText(0);
  };
  auto j = std::move(Journal::Open(path, clock)).value();
  ASSERT_TRUE(j->RecordComputed("t1", "s", 1, "k1", "{}").ok());
  ASSERT_TRUE(j->MarkFinal("t1", "posted").ok());
  EXPECT_EQ(stored_state("t1"), "computed");     // not yet written...
  EXPECT_EQ((*j->Find("t1"))->state, "posted");  // ...but answered
  EXPECT_TRUE(j->Unposted()->empty());
  ASSERT_TRUE(j->RecordComputed("t2", "s", 2, "k2", "{}").ok());
  EXPECT_EQ(stored_state("t1"), "computed");  // still held
  ASSERT_TRUE(j->MarkFinal("t2", "posted").ok());
  ASSERT_TRUE(j->FlushMarks().ok());  // idle: written together
  EXPECT_EQ(stored_state("t1"), "posted");
  EXPECT_EQ(stored_state("t2"), "posted");
  // At most kMarksHeld are held.
  for (size_t i = 0; i < Journal::kMarksHeld; ++i) {
    const std::string id = "m" + std::to_string(i);
    ASSERT_TRUE(j->RecordComputed(id, "s", 9, "k", "{}").ok());
    ASSERT_TRUE(j->MarkFinal(id, "posted").ok());
  }
  EXPECT_EQ(stored_state("m0"), "posted");
  // A rejection is written at once.
  ASSERT_TRUE(j->RecordComputed("t3", "s", 3, "k3", "{}").ok());
  ASSERT_TRUE(j->MarkFinal("t3", "rejected").ok());
  EXPECT_EQ(stored_state("t3"), "rejected");
}

}  // namespace
}  // namespace passerelle::node
