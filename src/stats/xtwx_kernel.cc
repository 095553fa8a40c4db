#include "stats/xtwx_kernel.h"

#include <vector>

namespace passerelle::stats {

namespace xtwx_avx2 {
void Accumulate(const double* const* cols, size_t q, const double* w, const double* z, size_t n,
                double* xtwx, double* xtwz, double* scratch);
}  // namespace xtwx_avx2

namespace xtwx_portable {
#define XTWX_KERNEL_NAME Accumulate
#include "stats/xtwx_kernel_impl.inc"
#undef XTWX_KERNEL_NAME
}  // namespace xtwx_portable

namespace {

using KernelFn = void (*)(const double* const*, size_t, const double*, const double*, size_t,
                          double*, double*, double*);

bool CpuHasAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool force_portable = false;

bool UseAvx2() {
  static const bool use = CpuHasAvx2Fma();
  return use && !force_portable;
}

}  // namespace

void AccumulateWeightedCrossProduct(const double* const* cols, size_t q, const double* w,
                                    const double* z, size_t n, double* xtwx, double* xtwz) {
  if (q == 0 || n == 0) return;
  thread_local std::vector<double> scratch;
  const size_t need = (2 * q + 2) * xtwx_portable::kBlockRows;
  if (scratch.size() < need) scratch.resize(need);
  const KernelFn fn = UseAvx2() ? &xtwx_avx2::Accumulate : &xtwx_portable::Accumulate;
  fn(cols, q, w, z, n, xtwx, xtwz, scratch.data());
}

void ForcePortableWeightedCrossProductForTesting(bool portable) { force_portable = portable; }

const char* WeightedCrossProductIsa() { return UseAvx2() ? "avx2-fma" : "portable"; }

}  // namespace passerelle::stats
