// Internal: the per-ISA Dice kernels behind dice.h's dispatch. Each x86 kernel is compiled with a
// function-level target attribute (never a file-wide -m flag), so no code that runs before the
// CPU check can contain instructions the CPU lacks.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "privacy/pprl/dice.h"

namespace passerelle::pprl::internal {

size_t ScanPortable(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c);
uint32_t CommonPortable(const uint64_t* a, const uint64_t* b, size_t stride);

// x86-64 only; on other architectures these are never called (DiceKernelAvailable is false).
bool CpuHasPopcnt();
bool CpuHasAvx2();
bool CpuHasAvx512Popcnt();
size_t ScanPopcnt(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c);
size_t ScanAvx2(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c);
size_t ScanAvx512(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c);
uint32_t CommonPopcnt(const uint64_t* a, const uint64_t* b, size_t stride);
uint32_t CommonAvx2(const uint64_t* a, const uint64_t* b, size_t stride);
uint32_t CommonAvx512(const uint64_t* a, const uint64_t* b, size_t stride);

// The scan of rows of any stride with a kernel's common-bit count: the generic path shared by the
// portable and POPCNT kernels (the fixed-stride paths are unrolled per kernel).
template <typename CommonFn>
size_t ScanAnyStride(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c, CommonFn common) {
  size_t n = 0;
  for (size_t j = 0; j < in.nb; ++j) {
    const uint32_t c = common(in.a, in.b + j * in.stride, in.stride);
    if (c >= in.need_a[in.pb[j]]) {
      out_j[n] = static_cast<uint32_t>(j);
      out_c[n] = static_cast<uint16_t>(c);
      ++n;
    }
  }
  return n;
}

}  // namespace passerelle::pprl::internal
