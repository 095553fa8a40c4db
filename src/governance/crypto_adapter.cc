#include "governance/crypto_adapter.h"

#include <algorithm>

#include "crypto/argon2.h"
#include "crypto/hash.h"
#include "crypto/sign.h"

namespace passerelle::governance::internal {

// Each function is a call to src/crypto (libsodium underneath); this file only adapts names.

Bytes32 Sha256(std::span<const uint8_t> data) { return crypto::Sha256(data); }

Bytes32 Sha256Concat(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return crypto::Sha256Builder().Add(a).Add(b).Finish();
}

Bytes32 Ed25519PublicKey(std::span<const uint8_t, 32> seed) {
  return crypto::SigningKey::FromSeed(seed).public_key();
}

Bytes64 Ed25519Sign(std::span<const uint8_t, 32> seed, std::span<const uint8_t, 32> public_key,
                    std::span<const uint8_t> message) {
  crypto::VerifyKey pk;
  std::copy(public_key.begin(), public_key.end(), pk.begin());
  return crypto::SignWithKeyPair(seed, pk, message);
}

bool Ed25519Verify(std::span<const uint8_t, 32> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t, 64> signature) {
  crypto::VerifyKey key;
  crypto::Signature sig;
  std::copy(public_key.begin(), public_key.end(), key.begin());
  std::copy(signature.begin(), signature.end(), sig.begin());
  return crypto::VerifySignature(key, message, sig);
}

Result<std::string> Argon2idHash(std::string_view secret, const Argon2Cost& cost) {
  return crypto::HashPassword(secret, {.ops_limit = cost.ops_limit, .mem_limit = cost.mem_limit});
}

bool Argon2idVerify(std::string_view encoded, std::string_view secret) {
  return crypto::VerifyPassword(encoded, secret);
}

// libsodium's crypto_pwhash_argon2id_OPSLIMIT_MIN and _MEMLIMIT_MIN.
Argon2Cost Argon2MinimumCost() { return {1, 8192}; }

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return crypto::ConstantTimeEquals(a, b);
}

void SecureZero(std::span<uint8_t> data) { crypto::SecureZero(data); }

std::string ToHex(std::span<const uint8_t> data) { return crypto::ToHex(data); }

Result<std::vector<uint8_t>> FromHex(std::string_view hex) { return crypto::FromHex(hex); }

}  // namespace passerelle::governance::internal
