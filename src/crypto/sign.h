// Ed25519 signatures (RFC 8032) on libsodium, with keys generated from an injected RandomSource
// so that tests are reproducible and production uses the kernel's CSPRNG.
//
// Thread-safety: pure functions; a SigningKey is a value (its secret is zeroed on destruction).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::crypto {

using VerifyKey = Bytes32;  // Ed25519 public key
using Signature = Bytes64;

class SigningKey {
 public:
  // A fresh key pair from 32 random bytes of `random`.
  static SigningKey Generate(RandomSource& random);
  // The key pair of a 32-byte seed (RFC 8032 private key).
  static SigningKey FromSeed(std::span<const uint8_t, 32> seed);

  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey() { SecureZero(secret_); }

  const VerifyKey& public_key() const { return public_; }
  Signature Sign(std::span<const uint8_t> message) const;

 private:
  SigningKey() = default;
  Bytes64 secret_{};  // libsodium's seed || public key form
  VerifyKey public_{};
};

// The signature of `message` by the key pair (seed, public_key), without deriving the public key
// again (that scalar multiplication costs as much as the signature): for a signer that keeps its
// seed and public key and signs often (the audit logs). `public_key` must be the seed's.
Signature SignWithKeyPair(std::span<const uint8_t, 32> seed, const VerifyKey& public_key,
                          std::span<const uint8_t> message);

// True when `signature` is a valid signature of `message` under `key`.
bool VerifySignature(const VerifyKey& key, std::span<const uint8_t> message,
                     const Signature& signature);

}  // namespace passerelle::crypto
