#include "stats/distributions.h"

#include <gtest/gtest.h>

#include "tests/stats/shared_data.h"

namespace passerelle::stats {
namespace {

using testing::Nums;
using testing::RelErr;

TEST(DistributionsTest, MatchR) {
  auto g = testing::LoadGolden("distributions");
  auto z = Nums(g["z"]), up = Nums(g["normal_upper"]);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_LT(RelErr(NormalUpper(z[i]), up[i]), 1e-12) << z[i];
  auto t = Nums(g["t"]), df = Nums(g["t_df"]), tp = Nums(g["t_two_sided"]);
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_LT(RelErr(StudentTwoSidedP(t[i], df[i]), tp[i]), 1e-10) << t[i] << " df " << df[i];
    EXPECT_LT(RelErr(StudentTwoSidedP(-t[i], df[i]), tp[i]), 1e-10);
  }
  auto x = Nums(g["chisq_x"]), cdf = Nums(g["chisq_df"]), cp = Nums(g["chisq_upper"]);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LT(RelErr(ChiSquareUpper(x[i], cdf[i]), cp[i]), 1e-10) << x[i] << " df " << cdf[i];
  }
  auto p = Nums(g["p"]), q = Nums(g["normal_quantile"]);
  for (size_t i = 0; i < p.size(); ++i) {
    if (q[i] == 0) {
      EXPECT_NEAR(NormalQuantile(p[i]), 0.0, 1e-15);
    } else {
      EXPECT_LT(RelErr(NormalQuantile(p[i]), q[i]), 1e-14) << p[i];
    }
  }
}

TEST(DistributionsTest, EdgeCases) {
  EXPECT_DOUBLE_EQ(NormalCdf(0), 0.5);
  EXPECT_EQ(StudentTwoSidedP(0, 5), 1.0);
  EXPECT_EQ(ChiSquareUpper(0, 3), 1.0);
  EXPECT_TRUE(std::isnan(StudentTwoSidedP(1, 0)));
  EXPECT_TRUE(std::isinf(NormalQuantile(0)));
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
}

}  // namespace
}  // namespace passerelle::stats
