// Exact samplers for differential privacy: Bernoulli(p), Bernoulli(exp(-gamma)), the discrete
// Laplace and the discrete Gaussian, after Canonne, Kamath and Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020), Algorithms 1-3.
//
// Every parameter is an exact rational and every step is integer arithmetic on uniform integers
// drawn from the injected RandomSource; no floating-point number is ever sampled or computed on
// the way to a noise value. This is what defeats the floating-point attacks of Mironov
// ("On Significance of the Least Significant Bits for Differential Privacy", CCS 2012): the
// output distribution is exactly the stated one, whatever the platform. Intermediate values use
// 256-bit integers, so the parameter limits below are enforced rather than assumed.
//
// Limits: a Rational has num < 2^62 and 1 <= den <= 2^32; a discrete Gaussian needs
// sigma^2 >= 2^-32 and sigma < 2^31; a discrete Laplace scale must be in [2^-32, 2^62).
//
// Thread-safety: pure functions of their RandomSource (which belongs to one thread).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "common/status.h"

namespace passerelle::privacy {

// num / den, both positive integers (num may be 0 where a probability is meant).
struct Rational {
  uint64_t num = 0;
  uint64_t den = 1;
  double ToDouble() const { return static_cast<double>(num) / static_cast<double>(den); }
};

inline constexpr uint64_t kMaxRationalNum = uint64_t{1} << 62;
inline constexpr uint64_t kMaxRationalDen = uint64_t{1} << 32;

// The smallest k / 2^32 (or k / 2^j with a smaller j for large x, so that k < 2^62) that is >= x:
// rounding noise parameters up only adds noise. REQUIRES x > 0 and finite.
Result<Rational> RationalAtLeast(double x);

// Bernoulli(num/den). REQUIRES: num <= den, den >= 1.
bool SampleBernoulli(Rational p, RandomSource& random);
// Bernoulli(exp(-gamma)) for a rational gamma >= 0 (CKS Algorithm 1).
bool SampleBernoulliExpNeg(Rational gamma, RandomSource& random);

// Discrete Laplace: P(x) proportional to exp(-|x| / scale), x in Z (CKS Algorithm 2).
class DiscreteLaplaceSampler {
 public:
  static Result<DiscreteLaplaceSampler> Create(Rational scale);
  int64_t Sample(RandomSource& random) const;
  Rational scale() const { return scale_; }

 private:
  explicit DiscreteLaplaceSampler(Rational s) : scale_(s) {}
  Rational scale_;  // t / s in CKS notation: t = num, s = den
};

// Discrete Gaussian: P(x) proportional to exp(-x^2 / (2 sigma^2)), x in Z (CKS Algorithm 3).
class DiscreteGaussianSampler {
 public:
  static Result<DiscreteGaussianSampler> Create(Rational sigma2);
  int64_t Sample(RandomSource& random) const;
  // `n` independent samples.
  std::vector<int64_t> SampleVector(size_t n, RandomSource& random) const;
  Rational sigma2() const { return sigma2_; }

 private:
  DiscreteGaussianSampler(Rational s2, uint64_t t) : sigma2_(s2), t_(t) {}
  Rational sigma2_;
  uint64_t t_;  // floor(sigma) + 1, the Laplace scale of the proposal
};

}  // namespace passerelle::privacy
