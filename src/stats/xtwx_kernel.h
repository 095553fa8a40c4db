// Weighted cross-product kernel of the IRLS / Newton local steps: X'WX (upper triangle) and X'Wz
// over a block of rows of a column-major design, cache-blocked and register-tiled, with a runtime
// choice of an AVX2+FMA build on CPUs that have them (a portable build otherwise).
//
// Thread-safety: the functions are reentrant (no shared state besides the one-time CPU check).
#ifndef PASSERELLE_STATS_XTWX_KERNEL_H_
#define PASSERELLE_STATS_XTWX_KERNEL_H_

#include <cstddef>

namespace passerelle::stats {

// Adds sum_i w[i] * cols[j][i] * cols[k][i] to xtwx[j + k * q] for j <= k < q (column-major q x q;
// the strict lower triangle is left untouched) and, when z is not null, sum_i w[i] * z[i] *
// cols[j][i] to xtwz[j], over rows i in [0, n).
// REQUIRES: cols holds q pointers to at least n doubles each; w (and z when given) n doubles.
void AccumulateWeightedCrossProduct(const double* const* cols, size_t q, const double* w,
                                    const double* z, size_t n, double* xtwx, double* xtwz);

// Which build AccumulateWeightedCrossProduct runs on this CPU: "avx2-fma" or "portable".
[[nodiscard]] const char* WeightedCrossProductIsa();

// Tests only: runs the portable build even on an AVX2 CPU (false restores the CPU's choice).
// Not thread-safe against concurrent kernel calls.
void ForcePortableWeightedCrossProductForTesting(bool portable);

}  // namespace passerelle::stats

#endif  // PASSERELLE_STATS_XTWX_KERNEL_H_
