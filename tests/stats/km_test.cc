#include "stats/km.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/stats/shared_data.h"

namespace passerelle::stats {
namespace {

using testing::Nums;
using testing::RelErr;

// Schema round, each site's counts summed, curves at the hub.
KmResult FitSites(const std::vector<DataFrame>& frames, const std::string& formula,
                  const std::vector<double>& grid) {
  auto spec = KmModelSpec(formula);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  std::vector<DataSchema> schemas;
  for (const auto& f : frames) {
    auto s = DescribeData(*spec, f);
    EXPECT_TRUE(s.ok());
    schemas.push_back(*s);
  }
  auto merged = MergeSchemas(schemas);
  EXPECT_TRUE(merged.ok());
  auto groups = KmGroupLabels(*spec, *merged);
  EXPECT_TRUE(groups.ok());
  std::vector<double> sum;
  for (const auto& f : frames) {
    auto part = KmLocalStep(*spec, *merged, f, grid);
    EXPECT_TRUE(part.ok()) << part.status().ToString();
    if (sum.empty()) sum.assign(part->size(), 0.0);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*part)[i];
  }
  auto r = KmCombine(*groups, grid, sum);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

void CompareWithR(const std::string& golden, const KmResult& r) {
  auto g = testing::LoadGolden(golden);
  ASSERT_EQ(r.curves.size(), g["curves"].size());
  double max_err = 0;
  for (size_t c = 0; c < r.curves.size(); ++c) {
    const auto& gc = g["curves"][c];
    const KmCurve& k = r.curves[c];
    EXPECT_EQ(k.group, gc["group"].get<std::string>());
    const auto time = Nums(gc["time"]), n_risk = Nums(gc["n_risk"]), n_event = Nums(gc["n_event"]),
               surv = Nums(gc["surv"]), se = Nums(gc["std_err"]), lo = Nums(gc["lower"]),
               hi = Nums(gc["upper"]);
    ASSERT_EQ(k.time.size(), time.size());
    for (size_t j = 0; j < time.size(); ++j) {
      EXPECT_EQ(k.time[j], time[j]);
      EXPECT_EQ(k.n_event[j], n_event[j]) << k.group << " at " << time[j];
      if (n_event[j] > 0) {
        EXPECT_EQ(k.n_risk[j], n_risk[j]) << k.group << " at " << time[j];
      }
      for (auto [a, b] : {std::pair{k.surv[j], surv[j]}, std::pair{k.std_err[j], se[j]},
                          std::pair{k.lower[j], lo[j]}, std::pair{k.upper[j], hi[j]}}) {
        max_err = std::max(max_err, RelErr(a, b));
      }
    }
  }
  EXPECT_LT(max_err, 1e-12) << golden;
  std::printf("[golden] %-32s max rel err (surv, se, CI): %.1e\n", golden.c_str(), max_err);
}

TEST(KmTest, RightCensoredOnACoarseGridEqualsRWithTimesRoundedUp) {
  auto frames = testing::LoadSites("EXPAND_WITH_MISSING", 3);
  ASSERT_TRUE(frames.ok());
  std::vector<double> grid;
  for (int i = 0; i <= 12; ++i) grid.push_back(0.5 * i);
  CompareWithR("km_right_grid_expand", FitSites(*frames, "Surv(survtime, cens) ~ female", grid));
}

TEST(KmTest, CountingProcessOnTheGridOfAllTimesEqualsR) {
  auto frames = testing::LoadSites("EXPAND_NO_MISSING", 1);
  ASSERT_TRUE(frames.ok());
  auto g = testing::LoadGolden("km_counting_exact_nomissing1");
  CompareWithR("km_counting_exact_nomissing1",
               FitSites(*frames, "Surv(starttime, endtime, cens) ~ female", Nums(g["grid"])));
}

TEST(KmTest, CountsAndDisclosure) {
  DataFrame f;
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("t", {0.5, 1.5, 1.5, 2.5, 9})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("e", {1, 0, 1, 1, 1})).ok());
  auto spec = KmModelSpec("Surv(t, e) ~ 1");
  ASSERT_TRUE(spec.ok());
  auto schema = DescribeData(*spec, f);
  ASSERT_TRUE(schema.ok());
  auto groups = KmGroupLabels(*spec, *schema);
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(*groups, std::vector<std::string>{"all"});
  auto counts = KmLocalStep(*spec, *schema, f, {0, 1, 2, 3});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::vector<double>{5, 1, 0, 4, 1, 1, 2, 1, 0}));
  EXPECT_TRUE(CheckKmDisclosure(*counts, 1).ok());
  EXPECT_EQ(CheckKmDisclosure(*counts, 2).code(), StatusCode::kPermissionDenied);
  auto r = KmCombine(*groups, {0, 1, 2, 3}, *counts);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->curves[0].surv[0], 0.8);
  EXPECT_DOUBLE_EQ(r->curves[0].surv[1], 0.8 * 0.75);
  EXPECT_DOUBLE_EQ(r->curves[0].surv[2], 0.8 * 0.75 * 0.5);
  EXPECT_FALSE(KmLocalStep(*spec, *schema, f, {0, 2, 1}).ok());
  EXPECT_FALSE(KmCombine(*groups, {0, 1}, *counts).ok());
}

}  // namespace
}  // namespace passerelle::stats
