#include "crypto/prg.h"

#include <sodium.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace passerelle::crypto {
namespace {

// Values per keystream chunk: 32 KiB, a multiple of the 64-byte ChaCha20 block, small enough to
// stay in the L1/L2 cache while it is added into the accumulator.
constexpr size_t kChunkValues = 4096;
constexpr size_t kValuesPerBlock = 8;
alignas(64) const std::array<uint8_t, kChunkValues * 8> kZeros{};

enum class Op { kSet, kAdd, kSubtract };

void Apply(const Bytes32& seed, std::span<uint64_t> out, Op op) {
  EnsureSodium();
  if (out.size() > kPrgMaxValues) std::abort();  // REQUIRES violated: a bug in the caller.
  static constexpr std::array<uint8_t, 12> kNonce{};
  alignas(64) std::array<uint64_t, kChunkValues> chunk;
  for (size_t start = 0; start < out.size(); start += kChunkValues) {
    const size_t n = std::min(kChunkValues, out.size() - start);
    const size_t bytes = ((n + kValuesPerBlock - 1) / kValuesPerBlock) * 64;
    crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(chunk.data()), kZeros.data(),
                                       bytes, kNonce.data(),
                                       static_cast<uint32_t>(start / kValuesPerBlock), seed.data());
    if constexpr (std::endian::native == std::endian::big) {
      for (size_t i = 0; i < n; ++i) chunk[i] = __builtin_bswap64(chunk[i]);
    }
    uint64_t* dst = out.data() + start;
    switch (op) {
      case Op::kSet:
        std::memcpy(dst, chunk.data(), n * sizeof(uint64_t));
        break;
      case Op::kAdd:
        for (size_t i = 0; i < n; ++i) dst[i] += chunk[i];
        break;
      case Op::kSubtract:
        for (size_t i = 0; i < n; ++i) dst[i] -= chunk[i];
        break;
    }
  }
  sodium_memzero(chunk.data(), sizeof chunk);
}

}  // namespace

void PrgAccumulate(std::span<const PrgTerm> terms, std::span<uint64_t> acc) {
  EnsureSodium();
  if (acc.size() > kPrgMaxValues) std::abort();  // REQUIRES violated: a bug in the caller.
  static constexpr std::array<uint8_t, 12> kNonce{};
  alignas(64) std::array<uint64_t, kChunkValues> chunk;
  for (size_t start = 0; start < acc.size(); start += kChunkValues) {
    const size_t n = std::min(kChunkValues, acc.size() - start);
    const size_t bytes = ((n + kValuesPerBlock - 1) / kValuesPerBlock) * 64;
    uint64_t* dst = acc.data() + start;
    for (const PrgTerm& t : terms) {
      crypto_stream_chacha20_ietf_xor_ic(
          reinterpret_cast<uint8_t*>(chunk.data()), kZeros.data(), bytes, kNonce.data(),
          static_cast<uint32_t>(start / kValuesPerBlock), t.seed->data());
      if constexpr (std::endian::native == std::endian::big) {
        for (size_t i = 0; i < n; ++i) chunk[i] = __builtin_bswap64(chunk[i]);
      }
      if (t.subtract) {
        for (size_t i = 0; i < n; ++i) dst[i] -= chunk[i];
      } else {
        for (size_t i = 0; i < n; ++i) dst[i] += chunk[i];
      }
    }
  }
  sodium_memzero(chunk.data(), sizeof chunk);
}

void PrgExpand(const Bytes32& seed, std::span<uint64_t> out) { Apply(seed, out, Op::kSet); }
void PrgAdd(const Bytes32& seed, std::span<uint64_t> acc) { Apply(seed, acc, Op::kAdd); }
void PrgSubtract(const Bytes32& seed, std::span<uint64_t> acc) { Apply(seed, acc, Op::kSubtract); }

void ChaCha20Keystream(const Bytes32& key, std::span<const uint8_t, 12> nonce, uint32_t counter,
                       std::span<uint8_t> out) {
  EnsureSodium();
  std::memset(out.data(), 0, out.size());
  crypto_stream_chacha20_ietf_xor_ic(out.data(), out.data(), out.size(), nonce.data(), counter,
                                     key.data());
}

}  // namespace passerelle::crypto
