#include "analysis/analysis.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "../privacy/table_attacker.h"
#include "analysis/builtin.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

// Runs an analysis over several in-memory nodes the way hub and nodes do, without the network.
Result<json> RunLocally(const json& spec_json, std::vector<MemoryTable*> nodes,
                        const Thresholds& t = {}) {
  const Registry& reg = BuiltinRegistry();
  ASSIGN_OR_RETURN(auto spec, reg.ParseSpec(spec_json, "analysis"));
  const Analysis* a = reg.Find(spec->type);
  json state;
  ASSIGN_OR_RETURN(RoundInput input, a->Begin(*spec, state));
  for (int round = 0; round < 10; ++round) {
    ASSIGN_OR_RETURN(size_t len, a->ShareLength(*spec, round, input));
    std::vector<double> sum(len, 0.0);
    std::vector<json> metas;
    for (MemoryTable* node : nodes) {
      // Nodes parse the spec from its canonical JSON, as they do from a task.
      ASSIGN_OR_RETURN(auto node_spec, reg.ParseSpec(spec->ToJson(), "task"));
      ASSIGN_OR_RETURN(NodeShare share, ComputeShare(*a, *node, *node_spec, round, input, t));
      for (size_t i = 0; i < len; ++i) sum[i] += share.values[i];
      metas.push_back(share.meta);
    }
    ASSIGN_OR_RETURN(CombineOutcome out, a->Combine(*spec, round, input, sum, metas, state));
    if (!out.next) return out.result;
    input = *out.next;
  }
  return Status::Internal("too many rounds");
}

MemoryTable Site(int n, double offset, int diab_every) {
  MemoryTable t;
  MemoryTable::NumericColumn x, g;
  MemoryTable::TextColumn d;
  for (int i = 0; i < n; ++i) {
    x.push_back(i % 7 == 0 ? std::nullopt : std::optional<double>(offset + i * 0.5));
    g.push_back(i % 2);
    d.push_back(i % diab_every == 0 ? "yes" : "no");
  }
  t.AddNumeric("x", x);
  t.AddNumeric("g", g);
  t.AddCategorical("d", d);
  return t;
}

TEST(RegistryTest, UnknownAnalysisAndBadSpecsHaveClearErrors) {
  const Registry& reg = BuiltinRegistry();
  EXPECT_EQ(reg.Types(),
            (std::vector<std::string>{"count", "cox", "glm", "km", "summary", "table", "table1"}));
  auto r = reg.ParseSpec({{"id", "a"}, {"type", "regression"}}, "study.analyses[0]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "study.analyses[0].type: unknown analysis \"regression\" (known: count, cox, glm, km, "
            "summary, table, table1)");
  auto s = reg.ParseSpec({{"id", "a"}, {"type", "summary"}}, "a");
  EXPECT_NE(s.status().message().find("a.variables: required"), std::string::npos);
  auto t = reg.ParseSpec({{"id", "a"}, {"type", "table"}, {"rows", "g"}, {"colz", "d"}}, "a");
  EXPECT_NE(t.status().message().find("unknown key \"colz\""), std::string::npos);
  auto u = reg.ParseSpec({{"id", "a"}, {"type", "table"}, {"rows", "g"}, {"cols", "g"}}, "a");
  EXPECT_FALSE(u.ok());
}

TEST(AnalysisTest, PooledSummaryEqualsPooledData) {
  MemoryTable a = Site(100, 1.0, 5), b = Site(57, 3.0, 3);
  auto r = RunLocally({{"id", "s"}, {"type", "summary"}, {"variables", {"x"}}}, {&a, &b});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Direct computation on the union.
  std::vector<double> all;
  int missing = 0;
  for (auto [n, off] : {std::pair{100, 1.0}, std::pair{57, 3.0}}) {
    for (int i = 0; i < n; ++i) {
      if (i % 7 == 0) {
        ++missing;
        continue;
      }
      all.push_back(off + i * 0.5);
    }
  }
  double mean = 0;
  for (double v : all) mean += v;
  mean /= all.size();
  double ss = 0;
  for (double v : all) ss += (v - mean) * (v - mean);
  const json& x = (*r)["x"];
  EXPECT_EQ(x["n"], all.size());
  EXPECT_EQ(x["n_missing"], missing);
  EXPECT_NEAR(x["mean"].get<double>(), mean, 1e-12);
  EXPECT_NEAR(x["var"].get<double>(), ss / (all.size() - 1), 1e-9);
}

TEST(AnalysisTest, SummarySuppressedWhenFewRowsAtOneNode) {
  MemoryTable a = Site(100, 1.0, 5), b = Site(8, 3.0, 3);  // b: 6 non-missing x < min_rows
  auto r = RunLocally({{"id", "s"}, {"type", "summary"}, {"variables", {"x"}}}, {&a, &b});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)["x"]["mean"].is_null());
  EXPECT_EQ((*r)["x"]["suppressed"], "fewer than min_rows non-missing values at 1 node(s)");
  auto not_numeric = RunLocally({{"id", "s"}, {"type", "summary"}, {"variables", {"d"}}}, {&a});
  EXPECT_NE(not_numeric.status().message().find("not numeric"), std::string::npos);
}

TEST(AnalysisTest, CountAndItsMinRowsRule) {
  MemoryTable a = Site(100, 1.0, 5), b = Site(57, 3.0, 3), tiny = Site(4, 0, 2);
  auto r = RunLocally({{"id", "n"}, {"type", "count"}}, {&a, &b});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["n"], 157);
  auto s = RunLocally({{"id", "n"}, {"type", "count"}}, {&a, &tiny});
  EXPECT_TRUE((*s)["n"].is_null());
  EXPECT_NE((*s)["suppressed"].get<std::string>().find("1 node"), std::string::npos);
}

TEST(AnalysisTest, TableLevelsAreAlignedAcrossNodesAndCellsSum) {
  MemoryTable a = Site(200, 1.0, 4), b = Site(300, 3.0, 5);
  json spec = {{"id", "t"}, {"type", "table"}, {"rows", "g"}, {"cols", "d"}};
  auto pooled = RunLocally(spec, {&a, &b}, {.min_cell = 1});
  auto ra = RunLocally(spec, {&a}, {.min_cell = 1});
  auto rb = RunLocally(spec, {&b}, {.min_cell = 1});
  ASSERT_TRUE(pooled.ok() && ra.ok() && rb.ok()) << pooled.status().ToString();
  EXPECT_EQ((*pooled)["rows"], json({"0", "1"}));
  EXPECT_EQ((*pooled)["cols"], json({"no", "yes"}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      EXPECT_EQ((*pooled)["cells"][i][j].get<int64_t>(),
                (*ra)["cells"][i][j].get<int64_t>() + (*rb)["cells"][i][j].get<int64_t>());
    }
  }
  int64_t total = 0;
  for (auto& row : (*pooled)["cells"]) {
    for (auto& c : row) total += c.get<int64_t>();
  }
  EXPECT_EQ(total, 500);
}

// A table of g (rows) x d (cols) built from counts[i][j].
MemoryTable Grid(const std::vector<std::vector<int>>& counts) {
  MemoryTable a;
  MemoryTable::NumericColumn g;
  MemoryTable::TextColumn d;
  for (size_t i = 0; i < counts.size(); ++i) {
    for (size_t j = 0; j < counts[i].size(); ++j) {
      for (int k = 0; k < counts[i][j]; ++k) {
        g.push_back(static_cast<double>(i));
        d.push_back(std::string(1, static_cast<char>('a' + j)));
      }
    }
  }
  a.AddNumeric("g", g);
  a.AddCategorical("d", d);
  return a;
}

// The researcher's exact attack: the published cells plus the true row and column totals (from
// one-way tables or counts) as linear equations; returns the withheld cells they determine.
std::vector<std::pair<size_t, size_t>> Recoverable(const json& published,
                                                   const std::vector<std::vector<int>>& truth) {
  privacy::ProtectedTable t;
  t.rows = truth.size();
  t.cols = truth[0].size();
  int64_t total = 0;
  std::vector<int64_t> col(t.cols, 0);
  for (size_t i = 0; i < t.rows; ++i) {
    int64_t row = 0;
    for (size_t j = 0; j < t.cols; ++j) {
      const json& c = published["cells"][i][j];
      t.cells.push_back(
          {c.is_null() ? std::nullopt : std::optional<int64_t>(c.get<int64_t>()),
           c.is_null() ? privacy::CellStatus::kPrimary : privacy::CellStatus::kShown});
      row += truth[i][j];
      col[j] += truth[i][j];
    }
    t.row_totals.push_back({row, privacy::CellStatus::kShown});
    total += row;
  }
  for (int64_t c : col) t.col_totals.push_back({c, privacy::CellStatus::kShown});
  t.total = {total, privacy::CellStatus::kShown};
  return privacy::testing::RecoverableEntries(t);
}

size_t NullCells(const json& published) {
  size_t n = 0;
  for (const auto& row : published["cells"]) {
    for (const auto& c : row) n += c.is_null();
  }
  return n;
}

const json kGridSpec = {{"id", "t"}, {"type", "table"}, {"rows", "g"}, {"cols", "d"}};

TEST(AnalysisTest, SmallCellSuppressedWithSecondaryAndReason) {
  // (2, 2) has 3 rows, below min_cell 10.
  const std::vector<std::vector<int>> truth = {{50, 20, 30}, {40, 25, 60}, {35, 45, 3}};
  MemoryTable a = Grid(truth);
  auto r = RunLocally(kGridSpec, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& cells = (*r)["cells"];
  EXPECT_TRUE(cells[2][2].is_null());
  // A cycle of four withheld cells through it (the least a cell needs), the rest shown.
  EXPECT_EQ(NullCells(*r), 4u) << r->dump();
  EXPECT_EQ(cells[0][0], 50);
  EXPECT_TRUE(Recoverable(*r, truth).empty()) << r->dump();
  std::string reasons = (*r)["suppressed"].dump();
  EXPECT_NE(reasons.find("between 1 and min_cell-1 at 1 node(s)"), std::string::npos);
  EXPECT_NE(reasons.find("secondary suppression"), std::string::npos);
  // With a policy allowing cells of 3, nothing is suppressed.
  auto open = RunLocally(kGridSpec, {&a}, {.min_cell = 3});
  EXPECT_EQ((*open)["cells"][2][2], 3);
  EXPECT_TRUE((*open)["suppressed"].empty());
}

TEST(AnalysisTest, TwoByTwoWithASmallCellIsWithheldWhole) {
  // With the row total of g = 1 (43) known, hiding 3 and 20 only would give 3 = 43 - 40: a 2 x 2
  // table with a small cell has no protected pattern short of withholding every cell.
  const std::vector<std::vector<int>> truth = {{50, 20}, {40, 3}};
  MemoryTable a = Grid(truth);
  auto r = RunLocally(kGridSpec, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(NullCells(*r), 4u) << r->dump();
  EXPECT_TRUE(Recoverable(*r, truth).empty());
}

TEST(AnalysisTest, ZeroBesideAOnePersonRowIsWithheld) {
  // Row 2 holds one person, with d = a. The zeros in (2, b) and (2, c) would tell that person's
  // value with the level list; the whole row is withheld, with one flag for all its cells.
  const std::vector<std::vector<int>> truth = {{50, 20, 30}, {40, 25, 60}, {1, 0, 0}};
  MemoryTable a = Grid(truth);
  auto r = RunLocally(kGridSpec, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (int j = 0; j < 3; ++j) EXPECT_TRUE((*r)["cells"][2][j].is_null()) << r->dump();
  EXPECT_TRUE(Recoverable(*r, truth).empty()) << r->dump();
  std::set<std::string> row2_reasons;
  for (const auto& e : (*r)["suppressed"]) {
    if (e["row"] == "2") row2_reasons.insert(e["reason"].get<std::string>());
  }
  EXPECT_EQ(row2_reasons.size(), 1u) << "flags must not tell the zeros from the count";
  // Same for a column: d = c holds 2 persons.
  const std::vector<std::vector<int>> by_col = {{50, 20, 2}, {40, 25, 0}, {30, 35, 0}};
  MemoryTable b = Grid(by_col);
  auto rc = RunLocally(kGridSpec, {&b});
  ASSERT_TRUE(rc.ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*rc)["cells"][i][2].is_null()) << rc->dump();
  EXPECT_TRUE(Recoverable(*rc, by_col).empty()) << rc->dump();
}

TEST(AnalysisTest, PooledTableProtectsAgainstPooledMargins) {
  // Each node protects its own table; the union of their withheld cells has no recoverable cell
  // against the pooled totals either.
  const std::vector<std::vector<int>> ta = {{50, 20, 30}, {40, 25, 60}, {35, 45, 3}};
  const std::vector<std::vector<int>> tb = {{4, 30, 30}, {40, 25, 60}, {35, 45, 30}};
  MemoryTable a = Grid(ta), b = Grid(tb);
  auto r = RunLocally(kGridSpec, {&a, &b});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::vector<int>> pooled = ta;
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 3; ++j) pooled[i][j] += tb[i][j];
  }
  EXPECT_TRUE((*r)["cells"][2][2].is_null());
  EXPECT_TRUE((*r)["cells"][0][0].is_null());
  EXPECT_TRUE(Recoverable(*r, pooled).empty()) << r->dump();
}

TEST(AnalysisTest, OneWayTableWithOneSmallCountWithholdsASecond) {
  // Against the known total, one withheld count would be the total minus the others.
  MemoryTable a = Grid({{50}, {3}, {20}, {40}});
  auto r = RunLocally({{"id", "t"}, {"type", "table"}, {"rows", "g"}}, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)["counts"][1].is_null());
  EXPECT_TRUE((*r)["counts"][2].is_null());
  EXPECT_EQ((*r)["counts"][0], 50);
  EXPECT_EQ((*r)["counts"][3], 40);
}

TEST(AnalysisTest, Table1WithholdsARareLevelInEveryGroup) {
  // One person has d = "c", in group g = 1. Its count is withheld there; the zero in group 0 and
  // the level list would tell which group that person is in, so "c" is withheld in both groups.
  const std::vector<std::vector<int>> truth = {{60, 40, 0}, {30, 50, 1}};
  MemoryTable a = Grid(truth);
  auto r = RunLocally(
      {{"id", "t"}, {"type", "table1"}, {"by", "g"}, {"categorical", json::array({"d"})}}, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& groups = (*r)["variables"][0]["groups"];
  EXPECT_TRUE(groups["0"]["counts"]["c"].is_null()) << r->dump();
  EXPECT_TRUE(groups["1"]["counts"]["c"].is_null()) << r->dump();
  // Each group's n is released: a second cell of each group is withheld with it.
  for (const char* k : {"0", "1"}) {
    int withheld = 0;
    for (const auto& [level, c] : groups[k]["counts"].items()) withheld += c.is_null();
    EXPECT_GE(withheld, 2) << k << ": " << r->dump();
  }
}

TEST(AnalysisTest, TooManyLevelsIsRefusedByRule) {
  MemoryTable a = Site(300, 1.0, 4);
  auto r = RunLocally({{"id", "t"}, {"type", "table"}, {"rows", "x"}}, {&a}, {.max_levels = 20});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RefusalRule(r.status()), "max_levels");
  EXPECT_NE(r.status().message().find("variable \"x\""), std::string::npos);
}

TEST(AnalysisTest, OneWayTableWithGivenLevelsSkipsDiscovery) {
  MemoryTable a = Site(100, 1.0, 4);
  json spec = {{"id", "t"}, {"type", "table"}, {"rows", "d"}, {"row_levels", {"yes", "no"}}};
  auto parsed = BuiltinRegistry().ParseSpec(spec, "t");
  ASSERT_TRUE(parsed.ok());
  json state;
  auto in = BuiltinRegistry().Find("table")->Begin(**parsed, state);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->params["phase"], "counts");
  auto r = RunLocally(spec, {&a});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["rows"], json({"yes", "no"}));
  EXPECT_EQ((*r)["counts"], json({25, 75}));
}

TEST(AnalysisTest, NumericLevelsOrderNumerically) {
  MemoryTable a;
  MemoryTable::NumericColumn v;
  for (int i = 0; i < 300; ++i) v.push_back((i % 12) + 1);
  a.AddNumeric("m", v);
  auto r = RunLocally({{"id", "t"}, {"type", "table"}, {"rows", "m"}}, {&a});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["rows"][1], "2");
  EXPECT_EQ((*r)["rows"][11], "12");
}

TEST(AnalysisTest, RefusalRuleRoundTrip) {
  Status s = RefuseByRule("min_rows", "dataset too small at node fr");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(RefusalRule(s), "min_rows");
  EXPECT_EQ(RefusalRule(Status::PermissionDenied("other")), "");
}

}  // namespace
}  // namespace passerelle::analysis
