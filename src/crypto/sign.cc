#include "crypto/sign.h"

#include <sodium.h>

#include <algorithm>

namespace passerelle::crypto {

SigningKey SigningKey::Generate(RandomSource& random) {
  Bytes32 seed;
  random.Fill(seed);
  SigningKey k = FromSeed(seed);
  SecureZero(seed);
  return k;
}

SigningKey SigningKey::FromSeed(std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  SigningKey k;
  crypto_sign_ed25519_seed_keypair(k.public_.data(), k.secret_.data(), seed.data());
  return k;
}

Signature SigningKey::Sign(std::span<const uint8_t> message) const {
  Signature sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

Signature SignWithKeyPair(std::span<const uint8_t, 32> seed, const VerifyKey& public_key,
                          std::span<const uint8_t> message) {
  EnsureSodium();
  Bytes64 secret;  // libsodium's secret key form: seed || public key
  std::copy(seed.begin(), seed.end(), secret.begin());
  std::copy(public_key.begin(), public_key.end(), secret.begin() + 32);
  Signature sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, message.data(), message.size(), secret.data());
  SecureZero(secret);
  return sig;
}

bool VerifySignature(const VerifyKey& key, std::span<const uint8_t> message,
                     const Signature& signature) {
  EnsureSodium();
  return crypto_sign_ed25519_verify_detached(signature.data(), message.data(), message.size(),
                                             key.data()) == 0;
}

}  // namespace passerelle::crypto
