#include "privacy/dp.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

namespace passerelle::privacy {

double Clip(double x, double lo, double hi) {
  if (std::isnan(x)) return lo;
  return x < lo ? lo : (x > hi ? hi : x);
}

size_t ClipInPlace(std::span<double> values, double lo, double hi) {
  size_t changed = 0;
  for (double& v : values) {
    const double c = Clip(v, lo, hi);
    if (c != v || std::isnan(v)) ++changed;
    v = c;
  }
  return changed;
}

double ClipL2InPlace(std::span<double> v, double bound) {
  long double ss = 0;
  for (double x : v) ss += static_cast<long double>(x) * x;
  const double norm = static_cast<double>(std::sqrt(ss));
  if (!(norm > bound)) return 1.0;
  // Divide rather than multiply by bound/norm, then check, so rounding never leaves it above.
  double factor = bound / norm;
  for (double& x : v) x *= factor;
  long double after = 0;
  for (double x : v) after += static_cast<long double>(x) * x;
  if (std::sqrt(after) > bound) {
    const double shrink = std::nextafter(1.0, 0.0);
    for (double& x : v) x *= shrink;
    factor *= shrink;
  }
  return factor;
}

Result<int64_t> Quantize(double x, double granularity) {
  if (!(granularity > 0) || !std::isfinite(granularity)) {
    return Status::InvalidArgument("granularity must be a positive finite number");
  }
  const double q = x / granularity;
  if (!std::isfinite(q) || std::fabs(q) >= std::ldexp(1.0, 62)) {
    return Status::OutOfRange("value too large for the lattice (clip it first)");
  }
  return static_cast<int64_t>(std::llround(q));
}

Result<int64_t> LatticeSensitivity(double bound, double granularity) {
  if (!(granularity > 0) || !(bound >= 0) || !std::isfinite(bound) || !std::isfinite(granularity)) {
    return Status::InvalidArgument("bound and granularity must be finite, granularity > 0");
  }
  const double q = std::ceil(bound / granularity);
  if (q >= std::ldexp(1.0, 62)) return Status::OutOfRange("sensitivity too large for the lattice");
  // |round(v / g)| <= round(bound / g) <= ceil(bound / g) for |v| <= bound.
  return static_cast<int64_t>(q);
}

double GaussianRho(double l2_sensitivity, double sigma2) {
  return l2_sensitivity * l2_sensitivity / (2.0 * sigma2);
}

double LaplaceRho(double l1_sensitivity, double scale) {
  const double eps = l1_sensitivity / scale;
  return eps * eps / 2.0;
}

Result<double> DistributedGaussianRho(double l2_sensitivity, double sigma2_per_share,
                                      uint32_t shares, uint64_t dimension) {
  if (shares < 1 || dimension < 1) {
    return Status::InvalidArgument("distributed Gaussian: shares and dimension must be >= 1");
  }
  if (!(sigma2_per_share > 0) || !(l2_sensitivity >= 0)) {
    return Status::InvalidArgument("distributed Gaussian: variance must be > 0");
  }
  if (shares >= 2 && sigma2_per_share < 1.0) {
    return Status::InvalidArgument(
        "distributed Gaussian: each share needs variance >= 1 lattice step^2 for the "
        "Kairouz-Liu-Steinke bound to apply");
  }
  const double pi2 = std::numbers::pi * std::numbers::pi;
  double tau = 0;
  for (uint32_t k = 1; k < shares; ++k) {
    tau += std::exp(-2.0 * pi2 * sigma2_per_share * k / (k + 1.0));
  }
  tau *= 10.0;
  const double eps2 = l2_sensitivity * l2_sensitivity / (shares * sigma2_per_share) +
                      2.0 * tau * static_cast<double>(dimension);
  return eps2 / 2.0;
}

double ZcdpToEpsilon(double rho, double delta) {
  return rho + 2.0 * std::sqrt(rho * std::log(1.0 / delta));
}

Result<DistributedGaussianPlan> PlanDistributedGaussian(double l2_sensitivity, uint64_t dimension,
                                                        uint32_t shares, double rho_target) {
  if (!(rho_target > 0) || !std::isfinite(rho_target)) {
    return Status::InvalidArgument("distributed Gaussian: rho must be a positive number");
  }
  if (!(l2_sensitivity > 0) || shares < 1) {
    return Status::InvalidArgument("distributed Gaussian: sensitivity must be > 0 and shares >= 1");
  }
  double sigma2 = l2_sensitivity * l2_sensitivity / (2.0 * rho_target * shares);
  if (shares >= 2 && sigma2 < 1.0) sigma2 = 1.0;
  for (int iter = 0; iter < 200; ++iter) {
    ASSIGN_OR_RETURN(Rational r, RationalAtLeast(sigma2));
    ASSIGN_OR_RETURN(double rho,
                     DistributedGaussianRho(l2_sensitivity, r.ToDouble(), shares, dimension));
    if (rho <= rho_target) return DistributedGaussianPlan{r, rho};
    sigma2 *= 1.0 + std::max(1e-6, (rho - rho_target) / rho_target);
  }
  return Status::InvalidArgument(
      fmt::format("distributed Gaussian: no variance reaches rho = {} for dimension {}", rho_target,
                  dimension));
}

Status AddNoiseShare(std::span<int64_t> values, const DistributedGaussianPlan& plan,
                     RandomSource& random) {
  ASSIGN_OR_RETURN(DiscreteGaussianSampler sampler,
                   DiscreteGaussianSampler::Create(plan.sigma2_per_share));
  std::vector<int64_t> noisy(values.begin(), values.end());
  constexpr int64_t kLimit = int64_t{1} << 62;
  for (int64_t& v : noisy) {
    const int64_t e = sampler.Sample(random);  // |e| < 2^62 by the sampler's limits
    if (v > kLimit || v < -kLimit || (e > 0 && v > kLimit - e) || (e < 0 && v < -kLimit - e)) {
      return Status::OutOfRange(
          "a noisy sum would leave the lattice's range; clip the values or "
          "use a coarser granularity");
    }
    v += e;
  }
  std::copy(noisy.begin(), noisy.end(), values.begin());
  return Status::Ok();
}

}  // namespace passerelle::privacy
