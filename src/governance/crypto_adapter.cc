#include "governance/crypto_adapter.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace passerelle::governance::internal {
namespace {

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no safe cryptography is possible then
  });
}

}  // namespace

Bytes32 Sha256(std::span<const uint8_t> data) {
  EnsureSodium();
  Bytes32 out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Bytes32 Sha256Concat(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  EnsureSodium();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, a.data(), a.size());
  crypto_hash_sha256_update(&state, b.data(), b.size());
  Bytes32 out;
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Bytes32 Ed25519PublicKey(std::span<const uint8_t, 32> seed) {
  EnsureSodium();
  Bytes32 pk;
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk;
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  sodium_memzero(sk.data(), sk.size());
  return pk;
}

Bytes64 Ed25519Sign(std::span<const uint8_t, 32> seed, std::span<const uint8_t> message) {
  EnsureSodium();
  Bytes32 pk;
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk;
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  Bytes64 sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk.data());
  sodium_memzero(sk.data(), sk.size());
  return sig;
}

bool Ed25519Verify(std::span<const uint8_t, 32> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t, 64> signature) {
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Result<std::string> Argon2idHash(std::string_view secret, const Argon2Cost& cost) {
  EnsureSodium();
  if (cost.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      cost.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return Status::InvalidArgument("argon2id cost below libsodium's minimum");
  }
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, secret.data(), secret.size(), cost.ops_limit,
                                 cost.mem_limit) != 0) {
    return Status::ResourceExhausted("argon2id: out of memory while hashing a secret");
  }
  return std::string(out);
}

bool Argon2idVerify(std::string_view encoded, std::string_view secret) {
  EnsureSodium();
  std::string z(encoded);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_argon2id_str_verify(z.c_str(), secret.data(), secret.size()) == 0;
}

Argon2Cost Argon2MinimumCost() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  EnsureSodium();
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecureZero(std::span<uint8_t> data) { sodium_memzero(data.data(), data.size()); }

std::string ToHex(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Result<std::vector<uint8_t>> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex text of odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not a hexadecimal digit");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace passerelle::governance::internal
