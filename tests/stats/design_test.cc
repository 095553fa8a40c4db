#include "stats/design.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/stats/shared_data.h"

namespace passerelle::stats {
namespace {

constexpr double kNA = std::numeric_limits<double>::quiet_NaN();

ModelSpec Spec(const std::string& formula) {
  auto f = ParseFormula(formula);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  ModelSpec spec;
  spec.formula = *f;
  return spec;
}

// Column names, complete rows and column sums of R's model.matrix on the pooled CNSIM data.
TEST(DesignTest, MatchesRModelMatrix) {
  auto frames = testing::LoadSites("CNSIM", 3);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  auto golden = testing::LoadGolden("design_cnsim");
  for (const auto& g : golden["designs"]) {
    const std::string formula = g["formula"].get<std::string>();
    ModelSpec spec = Spec(formula);
    std::vector<DataSchema> schemas;
    for (const auto& frame : *frames) {
      auto s = DescribeData(spec, frame);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      schemas.push_back(*s);
    }
    auto merged = MergeSchemas(schemas);
    ASSERT_TRUE(merged.ok());
    auto layout = LayoutModel(spec, *merged);
    ASSERT_TRUE(layout.ok()) << formula << ": " << layout.status().ToString();
    EXPECT_EQ(layout->column_names(), g["names"].get<std::vector<std::string>>()) << formula;
    size_t rows = 0;
    std::vector<double> sums(layout->columns.size(), 0.0);
    for (const auto& frame : *frames) {
      auto d = BuildDesign(*layout, frame);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      rows += d->rows;
      for (size_t j = 0; j < d->cols; ++j) {
        for (size_t r = 0; r < d->rows; ++r) sums[j] += d->column(j)[r];
      }
    }
    EXPECT_EQ(rows, g["rows"].get<size_t>()) << formula;
    auto expected = testing::Nums(g["col_sums"]);
    ASSERT_EQ(sums.size(), expected.size());
    for (size_t j = 0; j < sums.size(); ++j) {
      EXPECT_LT(testing::RelErr(sums[j], expected[j]), 1e-12) << formula << " column " << j;
    }
  }
}

// Building X from a frame it consumes (columns released after their last use) gives the same
// design, also when a column is used both as a number and as a factor.
TEST(DesignTest, ConsumingTheFrameGivesTheSameDesign) {
  auto frames = testing::LoadSites("CNSIM", 1);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  for (const char* formula :
       {"DIS_DIAB ~ GENDER + LAB_HDL + factor(GENDER)", "DIS_DIAB ~ factor(GENDER) + GENDER",
        "LAB_TSC ~ factor(PM_BMI_CATEGORICAL)*LAB_HDL + BMI_CAT", "LAB_TSC ~ LAB_HDL:BMI_CAT"}) {
    ModelSpec spec = Spec(formula);
    auto schema = DescribeData(spec, frames->front());
    ASSERT_TRUE(schema.ok());
    auto layout = LayoutModel(spec, *schema);
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    auto kept = BuildDesign(*layout, frames->front());
    DataFrame copy = frames->front();
    auto consumed = BuildDesign(*layout, std::move(copy));
    ASSERT_TRUE(kept.ok() && consumed.ok()) << formula;
    EXPECT_EQ(kept->rows, consumed->rows) << formula;
    EXPECT_EQ(kept->x, consumed->x) << formula;
    EXPECT_EQ(kept->y, consumed->y) << formula;
    EXPECT_GT(kept->rows, 1000u);
  }
}

TEST(DesignTest, NodesAgreeOnLevelsThroughTheSchemaRound) {
  DataFrame a, b;
  ASSERT_TRUE(a.AddColumn(DataColumn::Numeric("y", {1, 2, 3})).ok());
  ASSERT_TRUE(a.AddColumn(DataColumn::String("g", {"b", "c", "b"})).ok());
  ASSERT_TRUE(b.AddColumn(DataColumn::Numeric("y", {4, 5})).ok());
  ASSERT_TRUE(b.AddColumn(DataColumn::String("g", {"a", "B"})).ok());
  ModelSpec spec = Spec("y ~ g");
  auto sa = DescribeData(spec, a);
  auto sb = DescribeData(spec, b);
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->variables[1].string_levels, (std::vector<std::string>{"b", "c"}));
  auto merged = MergeSchemas({*sa, *sb});
  ASSERT_TRUE(merged.ok());
  // Bytewise order, as R in the C locale: "B" < "a" < "b" < "c".
  EXPECT_EQ(merged->variables[1].string_levels, (std::vector<std::string>{"B", "a", "b", "c"}));
  auto layout = LayoutModel(spec, *merged);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->column_names(), (std::vector<std::string>{"(Intercept)", "ga", "gb", "gc"}));
  auto da = BuildDesign(*layout, a);
  ASSERT_TRUE(da.ok());
  EXPECT_EQ(da->cols, 4u);  // node a builds the columns of levels it does not have
  EXPECT_EQ(da->column(1)[0], 0.0);
  EXPECT_EQ(da->column(2)[0], 1.0);
  EXPECT_EQ(da->column(3)[1], 1.0);
  // A node whose level was not in the schema round is refused without quoting the value.
  auto single = LayoutModel(spec, *sa);
  ASSERT_TRUE(single.ok());
  auto refused = BuildDesign(*single, b);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().find("\"a\""), std::string::npos);
}

TEST(DesignTest, SchemaConflictsAreErrors) {
  DataFrame a, b;
  ASSERT_TRUE(a.AddColumn(DataColumn::Numeric("y", {1, 2})).ok());
  ASSERT_TRUE(a.AddColumn(DataColumn::Numeric("g", {1, 2})).ok());
  ASSERT_TRUE(b.AddColumn(DataColumn::Numeric("y", {1, 2})).ok());
  ASSERT_TRUE(b.AddColumn(DataColumn::String("g", {"1", "2"})).ok());
  ModelSpec spec = Spec("y ~ g");
  auto sa = DescribeData(spec, a);
  auto sb = DescribeData(spec, b);
  ASSERT_TRUE(sa.ok() && sb.ok());
  auto merged = MergeSchemas({*sa, *sb});
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find("\"g\""), std::string::npos);
  EXPECT_FALSE(DescribeData(Spec("y ~ nope"), a).ok());
}

TEST(DesignTest, CompleteCasesAndFactorLevels) {
  DataFrame f;
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("y", {1, kNA, 3, 4, 5})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("k", {1, 2, 3, 1, 3})).ok());
  ASSERT_TRUE(
      f.AddColumn(DataColumn::String("s", {"p", "q", "r", "p", "r"}, {0, 0, 0, 0, 1})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("w", {1, 1, 2, 1, 1})).ok());
  ModelSpec spec = Spec("y ~ factor(k) + s");
  spec.weights = "w";
  auto schema = DescribeData(spec, f);
  ASSERT_TRUE(schema.ok());
  // factor(k) over every row with k (R evaluates factor() before na.omit); s over complete rows.
  EXPECT_EQ(schema->variables[1].numeric_levels, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(schema->variables[2].string_levels, (std::vector<std::string>{"p", "r"}));
  auto layout = LayoutModel(spec, *schema);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->column_names(),
            (std::vector<std::string>{"(Intercept)", "factor(k)2", "factor(k)3", "sr"}));
  BuildOptions bo;
  bo.keep_frame_rows = true;
  auto d = BuildDesign(*layout, f, bo);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rows, 3u);
  EXPECT_EQ(d->rows_incomplete, 2u);
  EXPECT_EQ(d->frame_rows, (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(d->y, (std::vector<double>{1, 3, 4}));
  EXPECT_EQ(d->weights, (std::vector<double>{1, 2, 1}));
  // The all-zero column of level 2 (present only in an incomplete row) is R's aliased column.
  EXPECT_EQ(d->column(1)[0] + d->column(1)[1] + d->column(1)[2], 0.0);
}

TEST(DesignTest, FactorResponseAndErrors) {
  DataFrame f;
  ASSERT_TRUE(f.AddColumn(DataColumn::String("out", {"no", "yes", "no", "maybe"})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("x", {1, 2, 3, 4})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("one", {1, 1, 1, 1})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("w", {1, -1, 1, 1})).ok());
  ModelSpec spec = Spec("out ~ x");
  auto schema = DescribeData(spec, f);
  ASSERT_TRUE(schema.ok());
  auto layout = LayoutModel(spec, *schema);
  ASSERT_TRUE(layout.ok());
  auto d = BuildDesign(*layout, f);
  ASSERT_TRUE(d.ok());
  // First level ("maybe") is failure, every other level success (R's binomial).
  EXPECT_EQ(d->y, (std::vector<double>{1, 1, 1, 0}));

  ModelSpec one = Spec("x ~ factor(one)");
  auto s1 = DescribeData(one, f);
  ASSERT_TRUE(s1.ok());
  auto l1 = LayoutModel(one, *s1);
  ASSERT_FALSE(l1.ok());
  EXPECT_NE(l1.status().message().find("at least two"), std::string::npos);

  ModelSpec weighted = Spec("x ~ one");
  weighted.weights = "w";
  auto sw = DescribeData(weighted, f);
  ASSERT_TRUE(sw.ok());
  auto lw = LayoutModel(weighted, *sw);
  ASSERT_TRUE(lw.ok());
  EXPECT_FALSE(BuildDesign(*lw, f).ok());

  ModelSpec many = Spec("x ~ out");
  many.max_columns = 2;  // (Intercept) + 2 levels
  auto sm = DescribeData(many, f);
  ASSERT_TRUE(sm.ok());
  auto lm = LayoutModel(many, *sm);
  ASSERT_FALSE(lm.ok());
  EXPECT_NE(lm.status().message().find("more than 2 columns"), std::string::npos);

  ModelSpec empty = Spec("x ~ 0");
  auto se = DescribeData(empty, f);
  ASSERT_TRUE(se.ok());
  EXPECT_FALSE(LayoutModel(empty, *se).ok());
}

TEST(DesignTest, CoxCodingDropsTheIntercept) {
  DataFrame f;
  ASSERT_TRUE(f.AddColumn(DataColumn::String("g", {"a", "b", "c"})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("t", {1, 2, 3})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("e", {1, 0, 1})).ok());
  ModelSpec spec = Spec("Surv(t, e) ~ g");
  spec.drop_intercept = true;
  auto s = DescribeData(spec, f);
  ASSERT_TRUE(s.ok());
  auto layout = LayoutModel(spec, *s);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->column_names(), (std::vector<std::string>{"gb", "gc"}));
  EXPECT_FALSE(layout->has_intercept);
}

TEST(DesignTest, RNumberLabels) {
  EXPECT_EQ(RFormatNumber(1), "1");
  EXPECT_EQ(RFormatNumber(-3), "-3");
  EXPECT_EQ(RFormatNumber(0.5), "0.5");
  EXPECT_EQ(RFormatNumber(0.1), "0.1");
  EXPECT_EQ(RFormatNumber(100000), "1e+05");
  EXPECT_EQ(RFormatNumber(123456), "123456");
  EXPECT_EQ(RFormatNumber(0.0001), "1e-04");
  EXPECT_EQ(RFormatNumber(1.0 / 3.0), "0.333333333333333");
  EXPECT_EQ(RFormatNumber(2.5e-7), "2.5e-07");
}

}  // namespace
}  // namespace passerelle::stats
