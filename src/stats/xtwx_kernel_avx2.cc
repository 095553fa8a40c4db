// AVX2+FMA build of the weighted cross-product kernel (this file is compiled with -mavx2 -mfma;
// xtwx_kernel.cc calls it only on CPUs that have both).
#include <cstddef>

namespace passerelle::stats::xtwx_avx2 {

#define XTWX_KERNEL_NAME Accumulate
#include "stats/xtwx_kernel_impl.inc"
#undef XTWX_KERNEL_NAME

}  // namespace passerelle::stats::xtwx_avx2
