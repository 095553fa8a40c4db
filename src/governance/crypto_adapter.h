// PRIVATE to src/governance: the one place where governance reaches cryptographic primitives.
//
// Each function is a one-line call to src/crypto (hash.h, sign.h, argon2.h; libsodium underneath):
// the governance files keep their names, and no governance file includes sodium.h.
//
// Thread-safety: pure functions (src/crypto initialises libsodium once, thread-safely).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::governance::internal {

using Bytes32 = std::array<uint8_t, 32>;
using Bytes64 = std::array<uint8_t, 64>;

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// SHA-256 (FIPS 180-4).
Bytes32 Sha256(std::span<const uint8_t> data);
inline Bytes32 Sha256(std::string_view data) { return Sha256(AsBytes(data)); }
// SHA-256 of the concatenation a || b.
Bytes32 Sha256Concat(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Ed25519 (RFC 8032): the public key of a 32-byte seed, a signature, a verification.
Bytes32 Ed25519PublicKey(std::span<const uint8_t, 32> seed);
// `public_key` is the seed's (Ed25519PublicKey): given, so that each signature does not derive it.
Bytes64 Ed25519Sign(std::span<const uint8_t, 32> seed, std::span<const uint8_t, 32> public_key,
                    std::span<const uint8_t> message);
bool Ed25519Verify(std::span<const uint8_t, 32> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t, 64> signature);

// Argon2id (RFC 9106) in the standard encoded form "$argon2id$v=19$m=...,t=...,p=1$salt$hash",
// with a fresh salt from libsodium's CSPRNG (crypto::HashPassword).
struct Argon2Cost {
  uint64_t ops_limit = 2;        // passes over memory
  size_t mem_limit = 19u << 20;  // bytes
};
Result<std::string> Argon2idHash(std::string_view secret, const Argon2Cost& cost);
// True when `secret` matches `encoded`.
bool Argon2idVerify(std::string_view encoded, std::string_view secret);
// The smallest cost libsodium accepts (for tests only: it protects nothing).
Argon2Cost Argon2MinimumCost();

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);
void SecureZero(std::span<uint8_t> data);

// Lower-case hexadecimal; FromHex accepts either case, even length.
std::string ToHex(std::span<const uint8_t> data);
Result<std::vector<uint8_t>> FromHex(std::string_view hex);

}  // namespace passerelle::governance::internal
