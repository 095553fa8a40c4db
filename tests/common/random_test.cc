#include "common/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <set>

namespace passerelle {
namespace {

TEST(RandomTest, DeterministicSourceRepeatsBySeed) {
  DeterministicRandom a(42), b(42), c(43);
  std::array<uint8_t, 37> x{}, y{}, z{};
  a.Fill(x);
  b.Fill(y);
  c.Fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(RandomTest, SystemRandomIsNotConstant) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 16; ++i) seen.insert(SystemRandom::Default().NextU64());
  EXPECT_EQ(seen.size(), 16u);
}

TEST(RandomTest, UniformStaysInBoundsAndIsRoughlyFlat) {
  DeterministicRandom r(7);
  std::array<int, 6> counts{};
  for (int i = 0; i < 60000; ++i) {
    uint64_t v = r.Uniform(6);
    ASSERT_LT(v, 6u);
    counts[v]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // > 4 sigma
}

TEST(RandomTest, XoshiroDoublesHaveUniformMoments) {
  Xoshiro256 g(2024);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double u = g.NextDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.003);
  EXPECT_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
  for (int i = 0; i < 1000; ++i) ASSERT_LT(g.Below(13), 13u);
}

}  // namespace
}  // namespace passerelle
