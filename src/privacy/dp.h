// Differential privacy on sums: clipping to the bounds a study declares, the integer lattice on
// which noise is added, the zero-concentrated DP (zCDP, Bun and Steinke, TCC 2016) cost of each
// mechanism, and the plan of a noise share per node so that no party ever sees a noise-free sum.
//
// How a node releases a noisy sum (see docs/privacy.md):
//  1. clip each person's value to the study's bounds [lo, hi] (Clip, ClipL2InPlace);
//  2. quantise it to the lattice of step `granularity` (Quantize): the sum is then an integer k,
//     and one person changes it by at most LatticeSensitivity(max(|lo|,|hi|), granularity);
//  3. add an integer noise share from the exact samplers of dp_sampler.h;
//  4. charge the release's rho to the project's ledger (accountant.h) before anything leaves.
//
// Distributed noise (every node adds a share): the sum of h independent discrete Gaussians of
// variance s^2 each is not exactly a discrete Gaussian. DistributedGaussianRho uses the bound of
// Kairouz, Liu and Steinke, "The Distributed Discrete Gaussian Mechanism for Federated Learning
// with Secure Aggregation" (ICML 2021, Theorem 1): the sum is (eps^2/2)-zCDP with
//     eps^2 = Delta_2^2 / (h s^2) + 2 tau d,   tau = 10 * sum_{k=1}^{h-1} exp(-2 pi^2 s^2 k/(k+1)),
// for L2 sensitivity Delta_2 and dimension d (we take the larger constant 2 tau d of the
// published variants, which is conservative). h counts only the shares one can rely on: by
// default the secure-aggregation threshold t, since a sum is never released with fewer.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "common/random.h"
#include "common/status.h"
#include "privacy/dp_sampler.h"

namespace passerelle::privacy {

// ---- Clipping and the lattice -----------------------------------------------------------------

// x clamped to [lo, hi]; NaN becomes lo (a missing value must have been handled before).
// REQUIRES: lo <= hi.
double Clip(double x, double lo, double hi);
// Clamps every value; returns how many were changed.
size_t ClipInPlace(std::span<double> values, double lo, double hi);
// Scales `v` so that its Euclidean norm is at most `bound`; returns the factor applied (<= 1).
double ClipL2InPlace(std::span<double> v, double bound);

// round(x / granularity) as an integer. REQUIRES: granularity > 0; |x / granularity| < 2^62.
Result<int64_t> Quantize(double x, double granularity);
// ceil(bound / granularity): the most one clipped, quantised value can change a lattice sum.
Result<int64_t> LatticeSensitivity(double bound, double granularity);

// ---- zCDP costs ------------------------------------------------------------------------------

// Discrete Gaussian of variance sigma2 on an integer query of L2 sensitivity Delta:
// rho = Delta^2 / (2 sigma2) (Canonne, Kamath, Steinke 2020, Theorem 4 and Theorem 14).
double GaussianRho(double l2_sensitivity, double sigma2);
// Discrete Laplace of scale b on a query of L1 sensitivity Delta is (Delta/b)-DP, hence
// (Delta/b)^2/2-zCDP (Bun and Steinke 2016, Proposition 1.4).
double LaplaceRho(double l1_sensitivity, double scale);
// The sum of `shares` discrete Gaussian shares of variance sigma2_per_share each (formula above).
// REQUIRES (checked): shares >= 1, dimension >= 1, sigma2_per_share >= 1 when shares >= 2.
Result<double> DistributedGaussianRho(double l2_sensitivity, double sigma2_per_share,
                                      uint32_t shares, uint64_t dimension);
// (epsilon, delta)-DP implied by rho-zCDP: rho + 2 sqrt(rho ln(1/delta)) (Bun and Steinke,
// Proposition 1.3). REQUIRES: 0 < delta < 1.
double ZcdpToEpsilon(double rho, double delta);

// The per-node variance (an exact rational, rounded up) that keeps the distributed sum's cost at
// or below rho_target, and the cost it actually has.
struct DistributedGaussianPlan {
  Rational sigma2_per_share;
  double rho = 0;  // <= rho_target
};
Result<DistributedGaussianPlan> PlanDistributedGaussian(double l2_sensitivity, uint64_t dimension,
                                                        uint32_t shares, double rho_target);

// Adds this node's noise share, an independent N_Z(0, plan.sigma2_per_share) draw per value, to
// integer lattice sums in place. Fails (and leaves `values` unchanged) if a noisy value would
// leave [-2^62, 2^62]: clip and choose the granularity so that sums stay far below that.
Status AddNoiseShare(std::span<int64_t> values, const DistributedGaussianPlan& plan,
                     RandomSource& random);

}  // namespace passerelle::privacy
