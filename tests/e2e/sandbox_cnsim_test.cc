// The federation end to end in one process: three nodes holding CNSIM1/2/3 as dataset "cnsim",
// through the real protocol (TLS 1.3, mTLS, long polls).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "sandbox/sandbox.h"
#include "store/data_source.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle::sandbox {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kData = PASSERELLE_SHARED_DATA;

class SandboxCnsimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("cnsim-sandbox");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(d).value());
    for (int i = 1; i <= 3; ++i) {
      auto path = dir_->path() / ("site" + std::to_string(i) + ".duckdb");
      auto db = store::OpenDuckDb({.path = path.string()});
      ASSERT_TRUE(db.ok());
      auto r = store::IngestTable(
          **db,
          {.name = "cnsim", .from = kData + "/datashield/CNSIM" + std::to_string(i) + ".csv"});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<SandboxNode> Nodes() {
    std::vector<SandboxNode> n;
    for (int i = 1; i <= 3; ++i) {
      n.push_back({"site" + std::to_string(i),
                   dir_->path() / ("site" + std::to_string(i) + ".duckdb"), nullptr});
    }
    return n;
  }
  // GENDER x DIS_DIAB counts of one site, straight from its database.
  static std::map<std::pair<std::string, std::string>, int64_t> SiteTable(int i) {
    auto db = store::OpenDuckDb(
        {.path = (dir_->path() / ("site" + std::to_string(i) + ".duckdb")).string(),
         .read_only = true});
    auto chunk = store::QueryAll(**db,
                                 "SELECT CAST(GENDER AS VARCHAR), CAST(DIS_DIAB AS VARCHAR), "
                                 "count(*) FROM cnsim WHERE GENDER IS NOT NULL AND DIS_DIAB IS "
                                 "NOT NULL GROUP BY 1, 2");
    std::map<std::pair<std::string, std::string>, int64_t> out;
    for (size_t r = 0; r < chunk->size(); ++r) {
      out[{chunk->columns[0].strings[r], chunk->columns[1].strings[r]}] = chunk->columns[2].ints[r];
    }
    return out;
  }
  static TempDir* dir_;
};

TempDir* SandboxCnsimTest::dir_ = nullptr;

const json kStudy = json::parse(R"({
  "name": "cnsim-descriptives",
  "dataset": "cnsim",
  "analyses": [
    {"id": "n",  "type": "count"},
    {"id": "s1", "type": "summary", "variables": ["LAB_TSC", "LAB_HDL"]},
    {"id": "t1", "type": "table", "rows": "GENDER", "cols": "DIS_DIAB"}
  ]
})");

TEST_F(SandboxCnsimTest, PooledMeanAndTableEqualPooledData) {
  FederationOptions opts;
  opts.policy.min_cell = 5;  // CNSIM1 has a cell of 9: allowed here, to compare with the sum
  auto r = RunSandbox(kStudy, Nodes(), opts, 60s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& res = *r;
  EXPECT_EQ(res["nodes"], json({"site1", "site2", "site3"}));
  EXPECT_EQ(res["analyses"]["n"]["n"], 2163 + 3088 + 4128);
  const json& tsc = res["analyses"]["s1"]["LAB_TSC"];
  EXPECT_EQ(tsc["n"], 7825);
  EXPECT_NEAR(tsc["mean"].get<double>(), 5.85192485623003, 1e-9);
  EXPECT_EQ(tsc["n"].get<int64_t>() + tsc["n_missing"].get<int64_t>(), 2163 + 3088 + 4128);
  EXPECT_GT(tsc["var"].get<double>(), 0.5);

  const json& t = res["analyses"]["t1"];
  ASSERT_EQ(t["rows"], json({"0", "1"}));
  ASSERT_EQ(t["cols"], json({"0", "1"}));
  EXPECT_TRUE(t["suppressed"].empty());
  std::map<std::pair<std::string, std::string>, int64_t> sum;
  for (int i = 1; i <= 3; ++i) {
    for (auto& [k, v] : SiteTable(i)) sum[k] += v;
  }
  for (size_t i = 0; i < 2; ++i) {
    for (size_t j = 0; j < 2; ++j) {
      std::pair<std::string, std::string> key{t["rows"][i].get<std::string>(),
                                              t["cols"][j].get<std::string>()};
      EXPECT_EQ(t["cells"][i][j].get<int64_t>(), sum[key]) << i << "," << j;
    }
  }
  EXPECT_EQ(t["cells"][1][1], 9 + 16 + 24);
  EXPECT_EQ(res["disclosure"]["site1"]["min_cell"], 5);
}

TEST_F(SandboxCnsimTest, SmallCellSuppressedByDefaultPolicy) {
  // Default policy: min_cell 10. CNSIM1 has 9 men... (GENDER 1) with diabetes: suppressed there.
  // Its row and column totals may be known (one-way tables), and in a 2 x 2 table no cell can be
  // shown without giving the 9 back, so site1 withholds its whole table (secondary suppression).
  json study = {
      {"name", "t"},
      {"dataset", "cnsim"},
      {"analyses", {{{"id", "t1"}, {"type", "table"}, {"rows", "GENDER"}, {"cols", "DIS_DIAB"}}}}};
  auto r = RunSandbox(study, Nodes(), {}, 60s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& t = (*r)["analyses"]["t1"];
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) EXPECT_TRUE(t["cells"][i][j].is_null()) << t.dump();
  }
  ASSERT_EQ(t["suppressed"].size(), 4u);
  EXPECT_EQ(t["suppressed"][3]["row"], "1");
  EXPECT_EQ(t["suppressed"][3]["reason"],
            "count, or its row or column total, between 1 and min_cell-1 at 1 node(s)");
  EXPECT_EQ((*r)["disclosure"]["site2"]["min_cell"], 10);
}

TEST_F(SandboxCnsimTest, StudyMayRaiseButNotLowerThresholds) {
  json study = {
      {"name", "t"},
      {"dataset", "cnsim"},
      {"disclosure", {{"min_cell", 1}}},
      {"analyses", {{{"id", "t1"}, {"type", "table"}, {"rows", "GENDER"}, {"cols", "DIS_DIAB"}}}}};
  auto r = RunSandbox(study, Nodes(), {}, 60s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)["analyses"]["t1"]["cells"][1][1].is_null());  // node policy 10 still applies
  study["disclosure"]["min_cell"] = 30;
  FederationOptions open;
  open.policy.min_cell = 5;
  auto r2 = RunSandbox(study, Nodes(), open, 60s);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)["disclosure"]["site3"]["min_cell"], 30);
  EXPECT_TRUE((*r2)["analyses"]["t1"]["cells"][0][1].is_null());  // site1's 21 < 30
}

TEST_F(SandboxCnsimTest, RefusalNamesNodeAndRule) {
  FederationOptions opts;
  opts.policy.analyses = {"count"};
  auto r = RunSandbox(kStudy, Nodes(), opts, 60s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("refused the task (rule analyses)"), std::string::npos)
      << r.status().message();
  // Whichever node answers first is named.
  EXPECT_NE(r.status().message().find("node site"), std::string::npos) << r.status().message();
}

TEST_F(SandboxCnsimTest, UnknownVariableFailsWithNodeNamed) {
  json study = {{"name", "bad"},
                {"dataset", "cnsim"},
                {"analyses", {{{"id", "s"}, {"type", "summary"}, {"variables", {"NOPE"}}}}}};
  auto r = RunSandbox(study, Nodes(), {}, 60s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                "could not run the task: analysis s (summary): variable \"NOPE\" is not "
                "in the dataset"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace passerelle::sandbox
