#include "privacy/pprl/dice.h"

#include <fmt/format.h>

#include <cmath>

#include "privacy/pprl/dice_kernels.h"

namespace passerelle::pprl {
namespace internal {
namespace {

template <size_t W>
size_t ScanPortableFixed(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  size_t n = 0;
  const uint64_t* a = in.a;
  for (size_t j = 0; j < in.nb; ++j) {
    const uint64_t* b = in.b + j * W;
    uint32_t c = 0;
    for (size_t w = 0; w < W; ++w) c += static_cast<uint32_t>(__builtin_popcountll(a[w] & b[w]));
    if (c >= in.need_a[in.pb[j]]) {
      out_j[n] = static_cast<uint32_t>(j);
      out_c[n] = static_cast<uint16_t>(c);
      ++n;
    }
  }
  return n;
}

}  // namespace

uint32_t CommonPortable(const uint64_t* a, const uint64_t* b, size_t stride) {
  uint32_t c = 0;
  for (size_t w = 0; w < stride; ++w) c += static_cast<uint32_t>(__builtin_popcountll(a[w] & b[w]));
  return c;
}

size_t ScanPortable(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  switch (in.stride) {
    case 8:
      return ScanPortableFixed<8>(in, out_j, out_c);
    case 16:
      return ScanPortableFixed<16>(in, out_j, out_c);
    case 32:
      return ScanPortableFixed<32>(in, out_j, out_c);
    default:
      break;
  }
  return ScanAnyStride(in, out_j, out_c, CommonPortable);
}

}  // namespace internal

std::string_view DiceKernelName(DiceKernel kernel) {
  switch (kernel) {
    case DiceKernel::kAuto:
      return "auto";
    case DiceKernel::kPortable:
      return "portable";
    case DiceKernel::kPopcnt:
      return "popcnt";
    case DiceKernel::kAvx2:
      return "avx2";
    case DiceKernel::kAvx512:
      return "avx512";
  }
  return "?";
}

Result<DiceKernel> ParseDiceKernel(std::string_view name) {
  for (DiceKernel k : {DiceKernel::kAuto, DiceKernel::kPortable, DiceKernel::kPopcnt,
                       DiceKernel::kAvx2, DiceKernel::kAvx512}) {
    if (DiceKernelName(k) == name) return k;
  }
  return Status::InvalidArgument(
      fmt::format("unknown kernel \"{}\" (use auto, portable, popcnt, avx2 or avx512)", name));
}

bool DiceKernelAvailable(DiceKernel kernel) {
  switch (kernel) {
    case DiceKernel::kAuto:
    case DiceKernel::kPortable:
      return true;
    case DiceKernel::kPopcnt:
      return internal::CpuHasPopcnt();
    case DiceKernel::kAvx2:
      return internal::CpuHasAvx2();
    case DiceKernel::kAvx512:
      return internal::CpuHasAvx512Popcnt();
  }
  return false;
}

DiceKernel BestDiceKernel() {
  static const DiceKernel best = [] {
    for (DiceKernel k : {DiceKernel::kAvx512, DiceKernel::kAvx2, DiceKernel::kPopcnt}) {
      if (DiceKernelAvailable(k)) return k;
    }
    return DiceKernel::kPortable;
  }();
  return best;
}

std::vector<DiceKernel> AvailableDiceKernels() {
  std::vector<DiceKernel> out;
  for (DiceKernel k :
       {DiceKernel::kPortable, DiceKernel::kPopcnt, DiceKernel::kAvx2, DiceKernel::kAvx512}) {
    if (DiceKernelAvailable(k)) out.push_back(k);
  }
  return out;
}

double DiceReference(std::span<const uint64_t> a, std::span<const uint64_t> b) {
  uint32_t ca = 0, cb = 0, common = 0;
  for (size_t i = 0; i < a.size() * 64; ++i) {
    const bool x = (a[i / 64] >> (i % 64)) & 1;
    const bool y = (b[i / 64] >> (i % 64)) & 1;
    ca += x;
    cb += y;
    common += x && y;
  }
  return DiceScore(common, ca, cb);
}

Result<DiceThreshold> DiceThreshold::Create(double threshold, uint32_t bits) {
  if (!(threshold > 0.0 && threshold <= 1.0)) {
    return Status::InvalidArgument(
        fmt::format("the Dice threshold must be in (0, 1] (got {})", threshold));
  }
  if (bits == 0 || bits > 16384) {
    return Status::InvalidArgument(fmt::format("CLK length {} is out of range", bits));
  }
  DiceThreshold t;
  t.threshold_ = threshold;
  t.need_.resize(2 * static_cast<size_t>(bits) + 1);
  for (uint32_t s = 0; s <= 2 * bits; ++s) {
    // Start below the answer (2c/s < t there, with a margin far above rounding) and step up
    // with exactly the comparison DiceScore makes.
    const double guess = std::floor(threshold * s / 2.0) - 2.0;
    uint32_t c = guess > 0 ? static_cast<uint32_t>(guess) : 0;
    while (c <= bits && DiceScore(c, s, 0) < threshold) ++c;
    t.need_[s] = static_cast<uint16_t>(c);  // bits + 1 when never reached
  }
  return t;
}

size_t DiceScan(DiceKernel kernel, const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  switch (kernel) {
    case DiceKernel::kAvx512:
      return internal::ScanAvx512(in, out_j, out_c);
    case DiceKernel::kAvx2:
      return internal::ScanAvx2(in, out_j, out_c);
    case DiceKernel::kPopcnt:
      return internal::ScanPopcnt(in, out_j, out_c);
    case DiceKernel::kAuto:
      return DiceScan(BestDiceKernel(), in, out_j, out_c);
    case DiceKernel::kPortable:
      break;
  }
  return internal::ScanPortable(in, out_j, out_c);
}

uint32_t CommonBits(DiceKernel kernel, const uint64_t* a, const uint64_t* b, size_t stride) {
  switch (kernel) {
    case DiceKernel::kAvx512:
      return internal::CommonAvx512(a, b, stride);
    case DiceKernel::kAvx2:
      return internal::CommonAvx2(a, b, stride);
    case DiceKernel::kPopcnt:
      return internal::CommonPopcnt(a, b, stride);
    case DiceKernel::kAuto:
      return CommonBits(BestDiceKernel(), a, b, stride);
    case DiceKernel::kPortable:
      break;
  }
  return internal::CommonPortable(a, b, stride);
}

}  // namespace passerelle::pprl
