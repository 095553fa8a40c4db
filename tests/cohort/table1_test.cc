// The table1 analysis (src/analysis/table1.cc) on in-memory tables standing for nodes: pooled
// counts, percentages, means and SDs equal the direct computation; the small-cell rules suppress
// at the node (primary, secondary, small groups) and the hub reports nulls with reasons.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

// Runs an analysis over `nodes` as the hub and the nodes would (sum of the shares).
Result<json> RunTable1(const json& spec_json, std::vector<MemoryTable>& nodes, Thresholds t = {}) {
  const Registry& registry = BuiltinRegistry();
  const Analysis* a = registry.Find("table1");
  if (!a) return Status::NotFound("table1 not registered");
  ASSIGN_OR_RETURN(auto spec, registry.ParseSpec(spec_json, "t1"));
  json state;
  ASSIGN_OR_RETURN(RoundInput input, a->Begin(*spec, state));
  for (int round = 0; round < 5; ++round) {
    ASSIGN_OR_RETURN(size_t len, a->ShareLength(*spec, round, input));
    std::vector<double> sum(len, 0.0);
    std::vector<json> metas;
    for (auto& n : nodes) {
      ASSIGN_OR_RETURN(NodeShare share, ComputeShare(*a, n, *spec, round, input, t));
      for (size_t i = 0; i < len; ++i) sum[i] += share.values[i];
      metas.push_back(share.meta);
    }
    ASSIGN_OR_RETURN(CombineOutcome out, a->Combine(*spec, round, input, sum, metas, state));
    if (!out.next) return out.result;
    input = *out.next;
  }
  return Status::Internal("too many rounds");
}

MemoryTable Node(const std::string& site, int rows, int women, int smokers_missing, double age0) {
  MemoryTable t;
  MemoryTable::TextColumn s, sex;
  MemoryTable::NumericColumn age, smoker;
  for (int i = 0; i < rows; ++i) {
    s.push_back(site);
    sex.push_back(i < women ? "female" : "male");
    age.push_back(i % 7 == 0 ? std::nullopt : std::optional<double>(age0 + 0.5 * i));
    smoker.push_back(i < smokers_missing ? std::nullopt : std::optional<double>(i % 3 == 0));
  }
  t.AddCategorical("site", s);
  t.AddCategorical("sex", sex);
  t.AddNumeric("age", age);
  t.AddNumeric("smoker", smoker);
  return t;
}

TEST(Table1Test, PooledByGroupEqualsDirectComputation) {
  std::vector<MemoryTable> nodes = {Node("fr", 120, 70, 0, 40), Node("qc", 90, 40, 0, 50)};
  auto r = RunTable1(json::parse(R"({"id": "t1", "type": "table1", "by": "site",
                               "categorical": ["sex", "smoker"], "continuous": ["age"]})"),
                     nodes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& t = *r;
  EXPECT_EQ(t["groups"], json({"fr", "qc", "overall"}));
  EXPECT_EQ(t["n"], json({{"fr", 120}, {"qc", 90}, {"overall", 210}}));
  const json& sex = t["variables"][0];
  EXPECT_EQ(sex["levels"], json({"female", "male"}));
  EXPECT_EQ(sex["groups"]["fr"]["counts"], json({{"female", 70}, {"male", 50}, {"missing", 0}}));
  EXPECT_EQ(sex["groups"]["overall"]["counts"]["female"], 110);
  EXPECT_NEAR(sex["groups"]["qc"]["percent"]["female"].get<double>(), 100.0 * 40 / 90, 1e-12);
  EXPECT_NEAR(sex["groups"]["overall"]["percent"]["male"].get<double>(), 100.0 * 100 / 210, 1e-12);
  const json& smoker = t["variables"][1];
  EXPECT_EQ(smoker["levels"], json({"0", "1"}));
  EXPECT_EQ(smoker["groups"]["fr"]["counts"]["1"], 40);
  // Continuous, by hand.
  for (auto [site, rows, age0] : {std::tuple{"fr", 120, 40.0}, std::tuple{"qc", 90, 50.0}}) {
    double n = 0, s = 0, ss = 0;
    for (int i = 0; i < rows; ++i) {
      if (i % 7 == 0) continue;
      double x = age0 + 0.5 * i;
      n += 1;
      s += x;
      ss += x * x;
    }
    const json& g = t["variables"][2]["groups"][site];
    EXPECT_EQ(g["n"], static_cast<int64_t>(n));
    EXPECT_EQ(g["missing"], rows - static_cast<int64_t>(n));
    EXPECT_NEAR(g["mean"].get<double>(), s / n, 1e-12);
    EXPECT_NEAR(g["sd"].get<double>(), std::sqrt((ss - s * s / n) / (n - 1)), 1e-9);
  }
  EXPECT_TRUE(t["suppressed"].empty());
}

TEST(Table1Test, SmallCellsAreSuppressedWithASecondCellAndReported) {
  // fr: 3 women (primary), so the men are suppressed too (secondary: n is released).
  std::vector<MemoryTable> nodes = {Node("fr", 60, 3, 0, 40), Node("qc", 80, 40, 0, 50)};
  auto r = RunTable1(json::parse(R"({"id": "t1", "type": "table1", "by": "site",
                               "categorical": ["sex"], "continuous": ["age"]})"),
                     nodes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& sex = (*r)["variables"][0]["groups"];
  EXPECT_TRUE(sex["fr"]["counts"]["female"].is_null());
  EXPECT_TRUE(sex["fr"]["counts"]["male"].is_null());
  EXPECT_EQ(sex["fr"]["counts"]["missing"], 0);
  EXPECT_EQ(sex["qc"]["counts"]["female"], 40);
  EXPECT_TRUE(sex["overall"]["counts"]["female"].is_null());  // a sum with a hole
  EXPECT_EQ(sex["overall"]["counts"]["missing"], 0);
  ASSERT_EQ((*r)["suppressed"].size(), 2u);
  EXPECT_NE((*r)["suppressed"][0]["reason"].get<std::string>().find("min_cell"), std::string::npos);
  EXPECT_NE((*r)["suppressed"][1]["reason"].get<std::string>().find("secondary"),
            std::string::npos);
  // The missing count is a cell too: 4 missing smokers out of 60 are not released.
  nodes = {Node("fr", 60, 30, 4, 40)};
  r = RunTable1(json::parse(R"({"id": "t1", "type": "table1", "categorical": ["smoker"]})"), nodes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& smoker = (*r)["variables"][0]["groups"]["overall"]["counts"];
  EXPECT_TRUE(smoker["missing"].is_null());
  EXPECT_TRUE(smoker["1"].is_null());  // the smallest other cell (18 < 38)
  EXPECT_EQ(smoker["0"], 38);
}

TEST(Table1Test, SmallGroupsReleaseNothingAndTakeAnotherWithThem) {
  // One node with three groups: "a" is small (5 < min_rows 10), so the smallest other ("b") is
  // suppressed too; "c" is released.
  MemoryTable t;
  MemoryTable::TextColumn g;
  MemoryTable::NumericColumn x;
  for (int i = 0; i < 5; ++i) g.push_back("a");
  for (int i = 0; i < 20; ++i) g.push_back("b");
  for (int i = 0; i < 30; ++i) g.push_back("c");
  for (size_t i = 0; i < g.size(); ++i) x.push_back(static_cast<double>(i));
  t.AddCategorical("g", g);
  t.AddNumeric("x", x);
  std::vector<MemoryTable> nodes = {t};
  auto r = RunTable1(
      json::parse(R"({"id": "t1", "type": "table1", "by": "g", "continuous": ["x"]})"), nodes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)["n"]["a"].is_null());
  EXPECT_TRUE((*r)["n"]["b"].is_null());
  EXPECT_EQ((*r)["n"]["c"], 30);
  EXPECT_TRUE((*r)["n"]["overall"].is_null());
  const json& xs = (*r)["variables"][0]["groups"];
  EXPECT_TRUE(xs["a"]["mean"].is_null());
  EXPECT_TRUE(xs["overall"]["mean"].is_null());
  EXPECT_NEAR(xs["c"]["mean"].get<double>(), 25 + 14.5, 1e-12);
}

TEST(Table1Test, SpecsAreCheckedAndTooManyLevelsAreRefused) {
  const Registry& registry = BuiltinRegistry();
  for (const char* bad : {R"({"id": "t", "type": "table1"})",
                          R"({"id": "t", "type": "table1", "categorical": ["a", "a"]})",
                          R"({"id": "t", "type": "table1", "by": "a", "categorical": ["a"]})",
                          R"({"id": "t", "type": "table1", "continuous": ["a"], "bogus": 1})"}) {
    EXPECT_FALSE(registry.ParseSpec(json::parse(bad), "t").ok()) << bad;
  }
  MemoryTable t;
  MemoryTable::TextColumn id;
  for (int i = 0; i < 200; ++i) id.push_back(std::to_string(i) + "p");
  t.AddCategorical("id", id);
  std::vector<MemoryTable> nodes = {t};
  auto r =
      RunTable1(json::parse(R"({"id": "t1", "type": "table1", "categorical": ["id"]})"), nodes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RefusalRule(r.status()), "max_levels");
}

}  // namespace
}  // namespace passerelle::analysis
