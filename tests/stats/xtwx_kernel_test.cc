// The vectorised X'WX kernel against a plain triple loop, over shapes that exercise every tile and
// block remainder (q not a multiple of the tiles, n not a multiple of 4 or of the row block).
#include "stats/xtwx_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/random.h"

namespace passerelle::stats {
namespace {

void CheckShape(size_t n, size_t q, bool with_z) {
  Xoshiro256 rng(1000 * n + q);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0; };
  std::vector<double> x(n * q), w(n), z(n);
  for (double& v : x) v = uniform();
  for (double& v : w) v = uniform() + 1.0;
  for (double& v : z) v = uniform();
  std::vector<const double*> cols(q);
  for (size_t k = 0; k < q; ++k) cols[k] = x.data() + k * n;
  // Start from non-zero sums: the kernel adds to them; the lower triangle must stay untouched.
  std::vector<double> xtwx(q * q, 0.5), xtwz(q, 0.25);
  AccumulateWeightedCrossProduct(cols.data(), q, w.data(), with_z ? z.data() : nullptr, n,
                                 xtwx.data(), xtwz.data());
  for (size_t j = 0; j < q; ++j) {
    for (size_t k = 0; k < q; ++k) {
      if (k < j) {
        EXPECT_EQ(xtwx[j + k * q], 0.5) << "lower triangle written at " << j << "," << k;
        continue;
      }
      double expect = 0.5;
      for (size_t i = 0; i < n; ++i) expect += w[i] * x[j * n + i] * x[k * n + i];
      EXPECT_NEAR(xtwx[j + k * q], expect, 1e-12 * (1.0 + std::fabs(expect)))
          << "n=" << n << " q=" << q << " j=" << j << " k=" << k;
    }
    double expect_z = 0.25;
    if (with_z) {
      for (size_t i = 0; i < n; ++i) expect_z += w[i] * z[i] * x[j * n + i];
    }
    EXPECT_NEAR(xtwz[j], expect_z, 1e-12 * (1.0 + std::fabs(expect_z))) << "n=" << n << " q=" << q;
  }
}

TEST(XtwxKernelTest, MatchesPlainLoopsOverAllRemainders) {
  for (size_t q : {1u, 2u, 3u, 4u, 5u, 7u, 12u, 21u}) {
    for (size_t n : {1u, 3u, 4u, 63u, 64u, 65u, 200u, 513u}) {
      CheckShape(n, q, true);
      CheckShape(n, q, false);
    }
  }
}

TEST(XtwxKernelTest, PortableBuildMatchesToo) {
  ForcePortableWeightedCrossProductForTesting(true);
  EXPECT_STREQ(WeightedCrossProductIsa(), "portable");
  for (size_t q : {1u, 4u, 5u, 21u}) {
    for (size_t n : {3u, 64u, 65u, 513u}) CheckShape(n, q, true);
  }
  ForcePortableWeightedCrossProductForTesting(false);
}

TEST(XtwxKernelTest, ReportsItsBuild) {
  const std::string isa = WeightedCrossProductIsa();
  EXPECT_TRUE(isa == "avx2-fma" || isa == "portable") << isa;
}

}  // namespace
}  // namespace passerelle::stats
