// The x86-64 Dice kernels (POPCNT, AVX2, AVX-512 VPOPCNTDQ). Every function that uses an
// extension carries a target attribute; callers reach them only after the CPU check.
#include "privacy/pprl/dice_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// GCC 12's AVX-512 headers initialise "undefined" operands from themselves (`__m512i __Y = __Y;`),
// which -Wuninitialized reports at every inlined use of _mm512_slli_epi64 and the reductions.
// The values are don't-cares by design; silence the false positive for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define PPRL_POPCNT __attribute__((target("popcnt")))
#define PPRL_AVX2 __attribute__((target("avx2,popcnt")))
#define PPRL_AVX512 __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))

namespace passerelle::pprl::internal {
namespace {

// Four 16-bit counts packed in one u64 (field r = count of row r): true when any count may reach
// `min_need`. Counts are <= 16384 and min_need <= 16385, so adding 0x8000 - min_need to a field
// sets its top bit exactly when count >= min_need and never carries into the next field.
inline bool AnyReaches(uint64_t packed, uint16_t min_need) {
  const uint64_t add = (uint64_t{0x8000} - min_need) * 0x0001000100010001ULL;
  return ((packed + add) & 0x8000800080008000ULL) != 0;
}

// Emits the rows j0..j0+3 whose packed count passes the exact test.
inline size_t EmitFour(const DiceScanInput& in, size_t j0, uint64_t packed, uint32_t* out_j,
                       uint16_t* out_c, size_t n) {
  for (size_t r = 0; r < 4; ++r) {
    const auto c = static_cast<uint16_t>(packed >> (16 * r));
    if (c >= in.need_a[in.pb[j0 + r]]) {
      out_j[n] = static_cast<uint32_t>(j0 + r);
      out_c[n] = c;
      ++n;
    }
  }
  return n;
}

// --- POPCNT ---------------------------------------------------------------------------------

template <size_t W>
PPRL_POPCNT size_t ScanPopcntFixed(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  size_t n = 0;
  const uint64_t* a = in.a;
  for (size_t j = 0; j < in.nb; ++j) {
    const uint64_t* b = in.b + j * W;
    uint64_t c = 0;
    for (size_t w = 0; w < W; ++w) c += static_cast<uint64_t>(_mm_popcnt_u64(a[w] & b[w]));
    if (c >= in.need_a[in.pb[j]]) {
      out_j[n] = static_cast<uint32_t>(j);
      out_c[n] = static_cast<uint16_t>(c);
      ++n;
    }
  }
  return n;
}

// --- AVX2 -----------------------------------------------------------------------------------

// Per-byte popcounts of one 256-bit vector (nibble lookup).
PPRL_AVX2 inline __m256i ByteCounts(__m256i x) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(x, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

// |a AND b| per 64-bit lane (four lanes) over `stride` words; byte sums are flushed through
// VPSADBW every 31 vectors so that no byte exceeds 31 * 8 = 248.
PPRL_AVX2 inline __m256i LaneCountsAvx2(const uint64_t* a, const uint64_t* b, size_t stride) {
  __m256i total = _mm256_setzero_si256();
  size_t v = 0;
  const size_t vectors = stride / 4;
  while (v < vectors) {
    const size_t end = v + 31 < vectors ? v + 31 : vectors;
    __m256i acc = _mm256_setzero_si256();
    for (; v < end; ++v) {
      const __m256i x =
          _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 4 * v)),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 4 * v)));
      acc = _mm256_add_epi8(acc, ByteCounts(x));
    }
    total = _mm256_add_epi64(total, _mm256_sad_epu8(acc, _mm256_setzero_si256()));
  }
  return total;
}

template <size_t W>
PPRL_AVX2 inline __m256i LaneCountsAvx2Fixed(const uint64_t* a, const uint64_t* b) {
  static_assert(W % 4 == 0 && W / 4 <= 31);
  __m256i acc = _mm256_setzero_si256();
  for (size_t v = 0; v < W / 4; ++v) {
    const __m256i x =
        _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 4 * v)),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 4 * v)));
    acc = _mm256_add_epi8(acc, ByteCounts(x));
  }
  return _mm256_sad_epu8(acc, _mm256_setzero_si256());
}

PPRL_AVX2 inline uint64_t HorizontalSumAvx2(__m256i v) {
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(s)) +
         static_cast<uint64_t>(_mm_extract_epi64(s, 1));
}

// Four rows' lane counts packed into 16-bit fields of each lane, then summed across lanes.
PPRL_AVX2 inline uint64_t PackFourAvx2(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
  const __m256i w =
      _mm256_or_si256(_mm256_or_si256(c0, _mm256_slli_epi64(c1, 16)),
                      _mm256_or_si256(_mm256_slli_epi64(c2, 32), _mm256_slli_epi64(c3, 48)));
  return HorizontalSumAvx2(w);
}

// Lane counts of one row: unrolled for the common strides (W != 0), looped otherwise.
template <size_t W>
PPRL_AVX2 inline __m256i RowCountsAvx2(const uint64_t* a, const uint64_t* r, size_t stride) {
  if constexpr (W != 0) {
    return LaneCountsAvx2Fixed<W>(a, r);
  } else {
    return LaneCountsAvx2(a, r, stride);
  }
}

template <size_t W>
PPRL_AVX2 size_t ScanAvx2Fixed(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  size_t n = 0;
  const uint64_t* a = in.a;
  const size_t s = in.stride;
  size_t j = 0;
  for (; j + 4 <= in.nb; j += 4) {
    const uint64_t* r = in.b + j * s;
    const uint64_t packed =
        PackFourAvx2(RowCountsAvx2<W>(a, r, s), RowCountsAvx2<W>(a, r + s, s),
                     RowCountsAvx2<W>(a, r + 2 * s, s), RowCountsAvx2<W>(a, r + 3 * s, s));
    if (AnyReaches(packed, in.min_need)) n = EmitFour(in, j, packed, out_j, out_c, n);
  }
  for (; j < in.nb; ++j) {
    const uint64_t c = HorizontalSumAvx2(LaneCountsAvx2(a, in.b + j * s, s));
    if (c >= in.need_a[in.pb[j]]) {
      out_j[n] = static_cast<uint32_t>(j);
      out_c[n] = static_cast<uint16_t>(c);
      ++n;
    }
  }
  return n;
}

// --- AVX-512 VPOPCNTDQ -------------------------------------------------------------------------

template <size_t W>
PPRL_AVX512 inline __m512i LaneCountsAvx512Fixed(const uint64_t* a, const uint64_t* b) {
  __m512i acc = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_loadu_si512(a), _mm512_loadu_si512(b)));
  for (size_t v = 1; v < W / 8; ++v) {
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(
                                    _mm512_loadu_si512(a + 8 * v), _mm512_loadu_si512(b + 8 * v))));
  }
  return acc;
}

PPRL_AVX512 inline __m512i LaneCountsAvx512(const uint64_t* a, const uint64_t* b, size_t stride) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t v = 0; v < stride / 8; ++v) {
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(
                                    _mm512_loadu_si512(a + 8 * v), _mm512_loadu_si512(b + 8 * v))));
  }
  return acc;
}

PPRL_AVX512 inline uint64_t PackFourAvx512(__m512i c0, __m512i c1, __m512i c2, __m512i c3) {
  // (c0 | c1 << 16) | (c2 << 32 | c3 << 48); lanes hold counts < 2^15, so OR equals ADD.
  const __m512i lo = _mm512_or_si512(c0, _mm512_slli_epi64(c1, 16));
  const __m512i hi = _mm512_or_si512(_mm512_slli_epi64(c2, 32), _mm512_slli_epi64(c3, 48));
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(_mm512_or_si512(lo, hi)));
}

template <size_t W>
PPRL_AVX512 size_t ScanAvx512Fixed(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  size_t n = 0;
  const uint64_t* a = in.a;
  const uint64_t* b = in.b;
  const size_t s = in.stride;
  size_t j = 0;
  if constexpr (W != 0) {
    for (; j + 4 <= in.nb; j += 4) {
      const uint64_t* r = b + j * W;
      const uint64_t packed = PackFourAvx512(
          LaneCountsAvx512Fixed<W>(a, r), LaneCountsAvx512Fixed<W>(a, r + W),
          LaneCountsAvx512Fixed<W>(a, r + 2 * W), LaneCountsAvx512Fixed<W>(a, r + 3 * W));
      if (AnyReaches(packed, in.min_need)) n = EmitFour(in, j, packed, out_j, out_c, n);
    }
  } else {
    for (; j + 4 <= in.nb; j += 4) {
      const uint64_t* r = b + j * s;
      const uint64_t packed =
          PackFourAvx512(LaneCountsAvx512(a, r, s), LaneCountsAvx512(a, r + s, s),
                         LaneCountsAvx512(a, r + 2 * s, s), LaneCountsAvx512(a, r + 3 * s, s));
      if (AnyReaches(packed, in.min_need)) n = EmitFour(in, j, packed, out_j, out_c, n);
    }
  }
  for (; j < in.nb; ++j) {
    const auto c =
        static_cast<uint64_t>(_mm512_reduce_add_epi64(LaneCountsAvx512(a, b + j * s, s)));
    if (c >= in.need_a[in.pb[j]]) {
      out_j[n] = static_cast<uint32_t>(j);
      out_c[n] = static_cast<uint16_t>(c);
      ++n;
    }
  }
  return n;
}

}  // namespace

bool CpuHasPopcnt() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("popcnt");
}

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

bool CpuHasAvx512Popcnt() {
  __builtin_cpu_init();
  // GCC's check also requires the OS to save the ZMM and mask registers (XCR0).
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
         __builtin_cpu_supports("popcnt");
}

PPRL_POPCNT uint32_t CommonPopcnt(const uint64_t* a, const uint64_t* b, size_t stride) {
  uint64_t c = 0;
  for (size_t w = 0; w < stride; ++w) c += static_cast<uint64_t>(_mm_popcnt_u64(a[w] & b[w]));
  return static_cast<uint32_t>(c);
}

PPRL_AVX2 uint32_t CommonAvx2(const uint64_t* a, const uint64_t* b, size_t stride) {
  return static_cast<uint32_t>(HorizontalSumAvx2(LaneCountsAvx2(a, b, stride)));
}

PPRL_AVX512 uint32_t CommonAvx512(const uint64_t* a, const uint64_t* b, size_t stride) {
  return static_cast<uint32_t>(_mm512_reduce_add_epi64(LaneCountsAvx512(a, b, stride)));
}

size_t ScanPopcnt(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  switch (in.stride) {
    case 8:
      return ScanPopcntFixed<8>(in, out_j, out_c);
    case 16:
      return ScanPopcntFixed<16>(in, out_j, out_c);
    case 32:
      return ScanPopcntFixed<32>(in, out_j, out_c);
    default:
      break;
  }
  return ScanAnyStride(in, out_j, out_c, CommonPopcnt);
}

size_t ScanAvx2(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  switch (in.stride) {
    case 8:
      return ScanAvx2Fixed<8>(in, out_j, out_c);
    case 16:
      return ScanAvx2Fixed<16>(in, out_j, out_c);
    case 32:
      return ScanAvx2Fixed<32>(in, out_j, out_c);
    default:
      return ScanAvx2Fixed<0>(in, out_j, out_c);
  }
}

size_t ScanAvx512(const DiceScanInput& in, uint32_t* out_j, uint16_t* out_c) {
  switch (in.stride) {
    case 8:
      return ScanAvx512Fixed<8>(in, out_j, out_c);
    case 16:
      return ScanAvx512Fixed<16>(in, out_j, out_c);
    case 32:
      return ScanAvx512Fixed<32>(in, out_j, out_c);
    default:
      return ScanAvx512Fixed<0>(in, out_j, out_c);
  }
}

}  // namespace passerelle::pprl::internal

#else  // not x86-64: only the portable kernel exists.

namespace passerelle::pprl::internal {
bool CpuHasPopcnt() { return false; }
bool CpuHasAvx2() { return false; }
bool CpuHasAvx512Popcnt() { return false; }
size_t ScanPopcnt(const DiceScanInput& in, uint32_t* j, uint16_t* c) {
  return ScanPortable(in, j, c);
}
size_t ScanAvx2(const DiceScanInput& in, uint32_t* j, uint16_t* c) {
  return ScanPortable(in, j, c);
}
size_t ScanAvx512(const DiceScanInput& in, uint32_t* j, uint16_t* c) {
  return ScanPortable(in, j, c);
}
uint32_t CommonPopcnt(const uint64_t* a, const uint64_t* b, size_t s) {
  return CommonPortable(a, b, s);
}
uint32_t CommonAvx2(const uint64_t* a, const uint64_t* b, size_t s) {
  return CommonPortable(a, b, s);
}
uint32_t CommonAvx512(const uint64_t* a, const uint64_t* b, size_t s) {
  return CommonPortable(a, b, s);
}
}  // namespace passerelle::pprl::internal

#endif
