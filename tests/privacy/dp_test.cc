// Exact DP samplers against theory (moments, tails, pmf) with fixed seeds and tolerances of
// several standard errors; the zCDP formulas; clipping and the lattice.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>

#include "common/random.h"
#include "privacy/dp.h"
#include "privacy/dp_sampler.h"

namespace passerelle::privacy {
namespace {

struct Moments {
  double mean = 0, var = 0;
};
Moments Of(const std::vector<int64_t>& v) {
  long double s = 0, ss = 0;
  for (int64_t x : v) {
    s += x;
    ss += static_cast<long double>(x) * x;
  }
  const long double n = static_cast<long double>(v.size());
  Moments m;
  m.mean = static_cast<double>(s / n);
  m.var = static_cast<double>(ss / n - (s / n) * (s / n));
  return m;
}

// Exact pmf of the discrete Gaussian (normalised over |x| <= 60 sigma + 60).
std::map<int64_t, double> GaussianPmf(double sigma2) {
  const int64_t lim = static_cast<int64_t>(60 * std::sqrt(sigma2)) + 60;
  std::map<int64_t, double> p;
  double z = 0;
  for (int64_t x = -lim; x <= lim; ++x) {
    p[x] = std::exp(-static_cast<double>(x * x) / (2 * sigma2));
    z += p[x];
  }
  for (auto& [x, v] : p) v /= z;
  return p;
}

TEST(DpSampler, BernoulliMatchesItsProbability) {
  DeterministicRandom r(1);
  const int n = 200000;
  int ones = 0;
  for (int i = 0; i < n; ++i) ones += SampleBernoulli({1, 3}, r);
  EXPECT_NEAR(ones / double(n), 1.0 / 3, 4 * std::sqrt(2.0 / 9 / n));
  EXPECT_FALSE(SampleBernoulli({0, 5}, r));
  EXPECT_TRUE(SampleBernoulli({5, 5}, r));
}

TEST(DpSampler, BernoulliExpNegMatchesExpMinusGamma) {
  DeterministicRandom r(2);
  const int n = 100000;
  for (Rational g : {Rational{0, 1}, Rational{1, 2}, Rational{1, 1}, Rational{5, 2}, Rational{7, 3},
                     Rational{10, 1}}) {
    int ones = 0;
    for (int i = 0; i < n; ++i) ones += SampleBernoulliExpNeg(g, r);
    const double p = std::exp(-g.ToDouble());
    EXPECT_NEAR(ones / double(n), p, 5 * std::sqrt(p * (1 - p) / n) + 1e-9)
        << g.num << "/" << g.den;
  }
}

TEST(DpSampler, DiscreteLaplaceMomentsAndTails) {
  DeterministicRandom r(3);
  for (Rational scale : {Rational{2, 1}, Rational{1, 2}, Rational{10, 3}}) {
    auto s = DiscreteLaplaceSampler::Create(scale).value();
    std::vector<int64_t> v(200000);
    for (auto& x : v) x = s.Sample(r);
    const double q = std::exp(-1.0 / scale.ToDouble());
    const double var = 2 * q / ((1 - q) * (1 - q));
    Moments m = Of(v);
    EXPECT_NEAR(m.mean, 0, 5 * std::sqrt(var / v.size()));
    // The variance of the sample variance for this law is about var^2 (kurtosis ~ 6): 6 SE.
    EXPECT_NEAR(m.var, var, 6 * var * std::sqrt(6.0 / v.size())) << scale.ToDouble();
    // P(|X| >= k) = 2 q^k / (1 + q).
    for (int k : {1, 3, 6}) {
      double tail = 2 * std::pow(q, k) / (1 + q);
      size_t c = 0;
      for (int64_t x : v) c += std::llabs(x) >= k;
      EXPECT_NEAR(c / double(v.size()), tail, 5 * std::sqrt(tail * (1 - tail) / v.size()) + 1e-5)
          << "scale " << scale.ToDouble() << " k " << k;
    }
  }
}

TEST(DpSampler, DiscreteGaussianPmfMomentsAndTails) {
  DeterministicRandom r(4);
  for (Rational s2 : {Rational{4, 1}, Rational{1, 3}, Rational{25, 2}}) {
    auto s = DiscreteGaussianSampler::Create(s2).value();
    const int n = 200000;
    std::vector<int64_t> v = s.SampleVector(n, r);
    auto pmf = GaussianPmf(s2.ToDouble());
    double var = 0;
    for (auto [x, p] : pmf) var += p * x * x;
    Moments m = Of(v);
    EXPECT_NEAR(m.mean, 0, 5 * std::sqrt(var / n));
    EXPECT_NEAR(m.var, var, 5 * var * std::sqrt(2.0 / n)) << s2.ToDouble();
    // Every cell of the pmf with enough mass, within 5 standard errors.
    std::map<int64_t, int> counts;
    for (int64_t x : v) ++counts[x];
    for (auto [x, p] : pmf) {
      if (p * n < 20) continue;
      EXPECT_NEAR(counts[x] / double(n), p, 5 * std::sqrt(p * (1 - p) / n))
          << "sigma2 " << s2.ToDouble() << " x " << x;
    }
    // Tails beyond 2 and 3 sigma.
    for (double k : {2.0, 3.0}) {
      const double cut = k * std::sqrt(s2.ToDouble());
      double tail = 0;
      for (auto [x, p] : pmf) tail += std::fabs(double(x)) >= cut ? p : 0;
      size_t c = 0;
      for (int64_t x : v) c += std::fabs(double(x)) >= cut;
      EXPECT_NEAR(c / double(n), tail, 5 * std::sqrt(tail * (1 - tail) / n) + 1e-5);
    }
  }
}

TEST(DpSampler, LargeSigmaKeepsItsVarianceAndSmallOnesWork) {
  DeterministicRandom r(5);
  auto big = DiscreteGaussianSampler::Create({1000000, 1}).value();  // sigma = 1000
  Moments m = Of(big.SampleVector(50000, r));
  EXPECT_NEAR(m.var, 1e6, 5 * 1e6 * std::sqrt(2.0 / 50000));
  auto tiny = DiscreteGaussianSampler::Create({1, 1000}).value();  // almost always 0
  std::vector<int64_t> t = tiny.SampleVector(1000, r);
  EXPECT_EQ(std::count(t.begin(), t.end(), 0), 1000);
}

TEST(DpSampler, SameSeedSameNoiseAndParametersAreChecked) {
  auto s = DiscreteGaussianSampler::Create({9, 1}).value();
  DeterministicRandom a(42), b(42);
  EXPECT_EQ(s.SampleVector(100, a), s.SampleVector(100, b));
  EXPECT_FALSE(DiscreteGaussianSampler::Create({0, 1}).ok());
  EXPECT_FALSE(DiscreteGaussianSampler::Create({1, 0}).ok());
  EXPECT_FALSE(DiscreteGaussianSampler::Create({1, (uint64_t{1} << 33)}).ok());
  EXPECT_FALSE(DiscreteLaplaceSampler::Create({0, 1}).ok());
  auto q = RationalAtLeast(0.1).value();
  EXPECT_GE(static_cast<long double>(q.num) / q.den, 0.1L);
  EXPECT_LT(static_cast<long double>(q.num) / q.den - 0.1L, 1e-9L);
  auto big = RationalAtLeast(1e15).value();
  EXPECT_GE(static_cast<long double>(big.num) / big.den, 1e15L);
  EXPECT_FALSE(RationalAtLeast(-1).ok());
  EXPECT_FALSE(RationalAtLeast(std::nan("")).ok());
}

TEST(DpSampler, SumOfNodeSharesHasTheSummedVariance) {
  // Three nodes each add N_Z(0, s2); the sum's variance is 3 * Var(N_Z(0, s2)).
  DeterministicRandom r(6);
  auto s = DiscreteGaussianSampler::Create({3, 1}).value();
  double var1 = 0;
  for (auto [x, p] : GaussianPmf(3)) var1 += p * x * x;
  std::vector<int64_t> sums(100000);
  for (auto& x : sums) x = s.Sample(r) + s.Sample(r) + s.Sample(r);
  EXPECT_NEAR(Of(sums).var, 3 * var1, 5 * 3 * var1 * std::sqrt(2.0 / sums.size()));
}

TEST(Dp, ZcdpCosts) {
  EXPECT_DOUBLE_EQ(GaussianRho(1, 2), 0.25);
  EXPECT_DOUBLE_EQ(LaplaceRho(2, 4), 0.125);
  // One share: exactly the central discrete Gaussian.
  EXPECT_DOUBLE_EQ(DistributedGaussianRho(3, 10, 1, 5).value(), GaussianRho(3, 10));
  // h shares of variance s2 behave like one of variance h s2, plus a tiny tau term.
  const double rho = DistributedGaussianRho(2, 25, 3, 10).value();
  EXPECT_GE(rho, GaussianRho(2, 75));
  EXPECT_NEAR(rho, GaussianRho(2, 75), 1e-12);
  // With little noise per share the tau term dominates and the bound is honest about it.
  EXPECT_GT(DistributedGaussianRho(1, 1, 10, 1000).value(), GaussianRho(1, 10));
  EXPECT_FALSE(DistributedGaussianRho(1, 0.5, 3, 1).ok());
  EXPECT_NEAR(ZcdpToEpsilon(0.5, 1e-6), 0.5 + 2 * std::sqrt(0.5 * std::log(1e6)), 1e-12);
}

TEST(Dp, PlanMeetsTheTargetWithoutWastingIt) {
  for (uint32_t h : {1u, 2u, 3u, 7u}) {
    auto plan = PlanDistributedGaussian(120, 20, h, 0.05);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_LE(plan->rho, 0.05);
    EXPECT_GT(plan->rho, 0.05 * 0.999);
    EXPECT_DOUBLE_EQ(plan->rho,
                     DistributedGaussianRho(120, plan->sigma2_per_share.ToDouble(), h, 20).value());
  }
  EXPECT_FALSE(PlanDistributedGaussian(1, 1, 3, 0).ok());
}

TEST(Dp, NoiseShareIsAddedInPlaceWithThePlannedVariance) {
  auto plan = PlanDistributedGaussian(4, 1, 3, 0.02).value();
  DeterministicRandom r(8);
  std::vector<int64_t> sums(50000, 1000);
  ASSERT_TRUE(AddNoiseShare(sums, plan, r).ok());
  Moments m = Of(sums);
  const double s2 = plan.sigma2_per_share.ToDouble();
  EXPECT_NEAR(m.mean, 1000, 5 * std::sqrt(s2 / sums.size()));
  EXPECT_NEAR(m.var, s2, 5 * s2 * std::sqrt(2.0 / sums.size()));
  // Three nodes' shares together give the variance the plan's cost was computed for.
  EXPECT_NEAR(3 * s2, 4.0 * 4.0 / (2 * 0.02), 0.01 * 3 * s2);
  // At the edge of the range a draw that would overflow is refused and nothing is changed.
  std::vector<int64_t> edge{int64_t{1} << 62, 0};
  std::vector<int64_t> before;
  Status st = Status::Ok();
  for (int i = 0; i < 40 && st.ok(); ++i) {
    edge[0] = int64_t{1} << 62;
    before = edge;
    st = AddNoiseShare(edge, plan, r);
  }
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(edge, before);
}

TEST(Dp, ClippingAndLattice) {
  EXPECT_EQ(Clip(5, 0, 3), 3);
  EXPECT_EQ(Clip(-1, 0, 3), 0);
  EXPECT_EQ(Clip(std::nan(""), 0, 3), 0);
  std::vector<double> v{1, 5, -2, 2};
  EXPECT_EQ(ClipInPlace(v, 0, 3), 2u);
  EXPECT_EQ(v, (std::vector<double>{1, 3, 0, 2}));
  std::vector<double> w{3, 4};
  EXPECT_DOUBLE_EQ(ClipL2InPlace(w, 1), 0.2);
  EXPECT_LE(std::hypot(w[0], w[1]), 1.0);
  std::vector<double> small{0.1, 0.1};
  EXPECT_EQ(ClipL2InPlace(small, 1), 1.0);
  EXPECT_EQ(Quantize(2.26, 0.25).value(), 9);
  EXPECT_EQ(Quantize(-2.26, 0.25).value(), -9);
  EXPECT_FALSE(Quantize(1e300, 1e-10).ok());
  EXPECT_EQ(LatticeSensitivity(120, 0.25).value(), 480);
  EXPECT_EQ(LatticeSensitivity(1, 0.3).value(), 4);
}

}  // namespace
}  // namespace passerelle::privacy
