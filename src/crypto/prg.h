// A pseudorandom generator expanding a 32-byte seed into a vector of uint64 values: the ChaCha20
// keystream (RFC 8439, libsodium's IETF variant) under key = seed, nonce = 12 zero bytes, block
// counter from 0, read as consecutive little-endian 64-bit words. Used for the masks of secure
// aggregation, where element i of the expansion is keystream bytes [8i, 8i+8).
//
// A seed must be used for one purpose only (derive seeds per session and pair). At most 2^35
// values can be drawn from one seed (2^32 ChaCha20 blocks).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::crypto {

inline constexpr uint64_t kPrgMaxValues = uint64_t{1} << 35;

// out[i] = PRG(seed)[i]. REQUIRES: out.size() <= kPrgMaxValues.
void PrgExpand(const Bytes32& seed, std::span<uint64_t> out);
// acc[i] += PRG(seed)[i] (mod 2^64). REQUIRES: acc.size() <= kPrgMaxValues.
void PrgAdd(const Bytes32& seed, std::span<uint64_t> acc);
// acc[i] -= PRG(seed)[i] (mod 2^64). REQUIRES: acc.size() <= kPrgMaxValues.
void PrgSubtract(const Bytes32& seed, std::span<uint64_t> acc);

// One term of a sum of expansions: +PRG(seed) or -PRG(seed).
struct PrgTerm {
  const Bytes32* seed = nullptr;
  bool subtract = false;
};
// acc[i] += sum over terms of (+/-) PRG(seed)[i] (mod 2^64), computed chunk by chunk so that
// `acc` is read and written once however many terms there are (what masking with many peers
// needs). REQUIRES: acc.size() <= kPrgMaxValues; every seed non-null.
void PrgAccumulate(std::span<const PrgTerm> terms, std::span<uint64_t> acc);

// Raw ChaCha20-IETF keystream from a given block counter (for test vectors).
void ChaCha20Keystream(const Bytes32& key, std::span<const uint8_t, 12> nonce, uint32_t counter,
                       std::span<uint8_t> out);

}  // namespace passerelle::crypto
