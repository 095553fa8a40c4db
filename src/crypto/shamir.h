// Shamir secret sharing (Shamir, CACM 1979) of 32-byte secrets over the prime field GF(p),
// p = 2^61 - 1 (a Mersenne prime: reduction is two shifts and an add).
//
// Encoding: the 32-byte secret is cut into 5 limbs, bytes [0,7), [7,14), [14,21), [21,28) and
// [28,32), each read little-endian (so limbs are < 2^56 < p). Each limb is shared with its own
// random polynomial of degree threshold-1 whose constant term is the limb; a share is the
// evaluation of the 5 polynomials at a non-zero x (the holder's index). Any `threshold` shares
// give the secret back by Lagrange interpolation at 0; fewer give no information about it.
//
// Wire form of a share (kShamirShareBytes = 44 bytes): x as uint32 little-endian, then the 5
// values y_0..y_4 as uint64 little-endian, each < p.
//
// Shares are not authenticated by themselves: a caller detects a tampered share either with
// extra shares (ShamirCombine checks they lie on the same polynomials) or by checking the
// recovered secret against a commitment (see privacy/secagg.h).
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::crypto {

inline constexpr uint64_t kShamirPrime = (uint64_t{1} << 61) - 1;
inline constexpr size_t kShamirLimbs = 5;
inline constexpr size_t kShamirShareBytes = 4 + 8 * kShamirLimbs;

struct ShamirShare {
  uint32_t x = 0;  // evaluation point, 1 <= x < p
  std::array<uint64_t, kShamirLimbs> y{};

  std::array<uint8_t, kShamirShareBytes> Encode() const;
  // Parses the 44-byte wire form; rejects a zero x and values >= p.
  static Result<ShamirShare> Decode(std::span<const uint8_t> bytes);
  friend bool operator==(const ShamirShare&, const ShamirShare&) = default;
};

// Splits `secret` into one share per evaluation point in `xs`.
// REQUIRES (checked): 1 <= threshold <= xs.size(); the xs are distinct and non-zero.
Result<std::vector<ShamirShare>> ShamirSplit(std::span<const uint8_t, 32> secret,
                                             uint32_t threshold, std::span<const uint32_t> xs,
                                             RandomSource& random);

// Evaluates at `x` the polynomials through `basis` (degree basis.size()-1); the result is the
// share a holder at `x` has if the basis shares are genuine.
Result<ShamirShare> ShamirInterpolate(std::span<const ShamirShare> basis, uint32_t x);

// The secret from at least `threshold` shares. The first `threshold` shares determine the
// polynomials; every further share must lie on them, else kDataLoss (a share was tampered with
// or corrupted). Also kDataLoss when the interpolated limbs do not encode 32 bytes.
Result<Bytes32> ShamirCombine(std::span<const ShamirShare> shares, uint32_t threshold);

}  // namespace passerelle::crypto
