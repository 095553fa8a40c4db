// X25519 key agreement (RFC 7748) and key derivation, on libsodium.
//
// A shared secret is never used directly as a key: DeriveKey hashes it with both public keys and
// a context string (BLAKE2b-256), so that keys for different purposes and sessions are
// independent. Key pairs are generated from an injected RandomSource.
//
// Thread-safety: pure functions; X25519KeyPair is a value whose secret is zeroed on destruction.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::crypto {

struct X25519KeyPair {
  Bytes32 secret_key{};
  Bytes32 public_key{};

  // A fresh pair from 32 random bytes of `random` (clamped by X25519 itself).
  static X25519KeyPair Generate(RandomSource& random);
  // The pair of a given secret key.
  static X25519KeyPair FromSecret(std::span<const uint8_t, 32> secret_key);

  X25519KeyPair() = default;
  X25519KeyPair(const X25519KeyPair&) = default;
  X25519KeyPair& operator=(const X25519KeyPair&) = default;
  ~X25519KeyPair() { SecureZero(secret_key); }
};

// The X25519 public key of a secret key.
Bytes32 X25519PublicKey(std::span<const uint8_t, 32> secret_key);

// X25519(secret_key, peer_public_key). Fails (kInvalidArgument) when the peer's key is a
// low-order point, which would make the shared secret all zeros.
Result<Bytes32> X25519SharedSecret(std::span<const uint8_t, 32> secret_key,
                                   std::span<const uint8_t, 32> peer_public_key);

// key = BLAKE2b-256(shared || public_a || public_b || context): a 32-byte key for one purpose.
// Callers put the two public keys in an order both sides agree on (e.g. by node index).
Bytes32 DeriveKey(std::span<const uint8_t, 32> shared, std::span<const uint8_t, 32> public_a,
                  std::span<const uint8_t, 32> public_b, std::span<const uint8_t> context);

}  // namespace passerelle::crypto
