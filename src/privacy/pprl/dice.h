// Dice similarity of CLKs, and the popcount kernels that compute it in bulk.
//
//   Dice(a, b) = 2 |a AND b| / (|a| + |b|)          (0 when both are empty)
//
// A kernel scans one CLK of A against a contiguous run of CLKs of B and reports the B rows whose
// Dice coefficient reaches the threshold. Kernels, chosen at run time from what the CPU offers:
//   kAvx512    AVX-512F + VPOPCNTDQ: 512-bit AND and VPOPCNTQ, four B rows reduced at once
//   kAvx2      AVX2: nibble-table popcount (Mula, Kurz and Lemire 2018) with VPSHUFB and VPSADBW
//   kPopcnt    64-bit scalar POPCNT instruction (x86-64 with POPCNT)
//   kPortable  __builtin_popcountll compiled for the baseline ISA: runs everywhere
// All give exactly the same results (the same integer counts and the same threshold test).
//
// The threshold test is done in integers: a pair with popcounts pa, pb and common count c passes
// iff c >= need[pa + pb], where need[s] is the smallest c with DiceScore(c, s) >= threshold, so
// every kernel agrees with the floating-point definition bit for bit.
//
// Thread-safety: pure functions; a DiceThreshold is immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::pprl {

enum class DiceKernel { kAuto, kPortable, kPopcnt, kAvx2, kAvx512 };

std::string_view DiceKernelName(DiceKernel kernel);
// "auto", "portable", "popcnt", "avx2", "avx512".
Result<DiceKernel> ParseDiceKernel(std::string_view name);
// Whether this CPU (and OS) can run the kernel; kAuto and kPortable always can.
bool DiceKernelAvailable(DiceKernel kernel);
// The fastest available kernel.
DiceKernel BestDiceKernel();
// Every available kernel except kAuto, slowest first.
std::vector<DiceKernel> AvailableDiceKernels();

// 2c / (pa + pb) as a double; 0 when pa + pb == 0.
inline double DiceScore(uint32_t common, uint32_t pa, uint32_t pb) {
  const uint32_t s = pa + pb;
  return s == 0 ? 0.0 : 2.0 * common / static_cast<double>(s);
}

// Reference implementation (bit by bit), for tests.
double DiceReference(std::span<const uint64_t> a, std::span<const uint64_t> b);

// need[s] for s in [0, 2 * bits]: the smallest common count that reaches the threshold.
class DiceThreshold {
 public:
  // REQUIRES (checked by Create): 0 < threshold <= 1, 0 < bits <= 16384.
  static Result<DiceThreshold> Create(double threshold, uint32_t bits);
  double threshold() const { return threshold_; }
  // Never-reached counts are stored as bits + 1.
  const uint16_t* need() const { return need_.data(); }
  bool Passes(uint32_t common, uint32_t pa, uint32_t pb) const { return common >= need_[pa + pb]; }

 private:
  double threshold_ = 1.0;
  std::vector<uint16_t> need_;
};

// One scan: CLK `a` (popcount pa) against rows [0, nb) of B.
struct DiceScanInput {
  const uint64_t* a = nullptr;  // `stride` words, 64-byte aligned
  uint32_t pa = 0;
  const uint64_t* b = nullptr;   // nb rows of `stride` words, 64-byte aligned
  const uint16_t* pb = nullptr;  // popcounts of the B rows
  size_t nb = 0;
  size_t stride = 0;                 // words per row, a multiple of 8; padding words are zero
  const uint16_t* need_a = nullptr;  // DiceThreshold::need() + pa
  uint16_t min_need = 0;             // a lower bound of need_a[pb[j]] over the run (a prefilter)
};

// Appends the passing rows (index j in [0, nb) and common count) to out_j / out_c, which must
// have room for nb entries; returns how many were written.
// REQUIRES: DiceKernelAvailable(kernel); kernel != kAuto.
size_t DiceScan(DiceKernel kernel, const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c);

// |a AND b| over `stride` words with the given kernel's instruction set (for blocked matching).
uint32_t CommonBits(DiceKernel kernel, const uint64_t* a, const uint64_t* b, size_t stride);

}  // namespace passerelle::pprl
