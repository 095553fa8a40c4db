#include "crypto/kx.h"

#include <sodium.h>

namespace passerelle::crypto {

X25519KeyPair X25519KeyPair::Generate(RandomSource& random) {
  Bytes32 sk;
  random.Fill(sk);
  X25519KeyPair kp = FromSecret(sk);
  SecureZero(sk);
  return kp;
}

X25519KeyPair X25519KeyPair::FromSecret(std::span<const uint8_t, 32> secret_key) {
  X25519KeyPair kp;
  std::copy(secret_key.begin(), secret_key.end(), kp.secret_key.begin());
  kp.public_key = X25519PublicKey(secret_key);
  return kp;
}

Bytes32 X25519PublicKey(std::span<const uint8_t, 32> secret_key) {
  EnsureSodium();
  Bytes32 pk;
  crypto_scalarmult_curve25519_base(pk.data(), secret_key.data());
  return pk;
}

Result<Bytes32> X25519SharedSecret(std::span<const uint8_t, 32> secret_key,
                                   std::span<const uint8_t, 32> peer_public_key) {
  EnsureSodium();
  Bytes32 shared;
  if (crypto_scalarmult_curve25519(shared.data(), secret_key.data(), peer_public_key.data()) != 0) {
    return Status::InvalidArgument("X25519: the peer's public key is a low-order point");
  }
  return shared;
}

Bytes32 DeriveKey(std::span<const uint8_t, 32> shared, std::span<const uint8_t, 32> public_a,
                  std::span<const uint8_t, 32> public_b, std::span<const uint8_t> context) {
  EnsureSodium();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, shared.data(), shared.size());
  crypto_generichash_update(&st, public_a.data(), public_a.size());
  crypto_generichash_update(&st, public_b.data(), public_b.size());
  crypto_generichash_update(&st, context.data(), context.size());
  Bytes32 key;
  crypto_generichash_final(&st, key.data(), key.size());
  sodium_memzero(&st, sizeof st);
  return key;
}

}  // namespace passerelle::crypto
