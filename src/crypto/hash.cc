#include "crypto/hash.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace passerelle::crypto {

static_assert(sizeof(crypto_hash_sha256_state) <= 128);

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "passerelle: fatal: libsodium could not initialise\n");
      std::abort();
    }
  });
}

Bytes32 Sha256(std::span<const uint8_t> data) {
  EnsureSodium();
  Bytes32 out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256Builder::Sha256Builder() {
  EnsureSodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()));
}

Sha256Builder& Sha256Builder::Add(std::span<const uint8_t> data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()), data.data(),
                            data.size());
  return *this;
}

Sha256Builder& Sha256Builder::AddU32(uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return Add(std::span<const uint8_t>(b, 4));
}

Sha256Builder& Sha256Builder::AddU64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return Add(std::span<const uint8_t>(b, 8));
}

Bytes32 Sha256Builder::Finish() {
  Bytes32 out;
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_.data()), out.data());
  return out;
}

Bytes32 Blake2b256(std::span<const uint8_t> data, std::span<const uint8_t> key) {
  EnsureSodium();
  Bytes32 out;
  // REQUIRES: key.size() <= crypto_generichash_KEYBYTES_MAX (64); a longer key is a bug.
  if (key.size() > crypto_generichash_KEYBYTES_MAX) std::abort();
  crypto_generichash(out.data(), out.size(), data.data(), data.size(),
                     key.empty() ? nullptr : key.data(), key.size());
  return out;
}

Result<std::vector<uint8_t>> Blake2b(std::span<const uint8_t> data, size_t out_len,
                                     std::span<const uint8_t> key) {
  EnsureSodium();
  if (out_len < crypto_generichash_BYTES_MIN || out_len > crypto_generichash_BYTES_MAX) {
    return Status::InvalidArgument("BLAKE2b: output length must be between 16 and 64 bytes");
  }
  if (key.size() > crypto_generichash_KEYBYTES_MAX) {
    return Status::InvalidArgument("BLAKE2b: key must be at most 64 bytes");
  }
  std::vector<uint8_t> out(out_len);
  crypto_generichash(out.data(), out.size(), data.data(), data.size(),
                     key.empty() ? nullptr : key.data(), key.size());
  return out;
}

Bytes32 HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  EnsureSodium();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  Bytes32 out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void SecureZero(std::span<uint8_t> data) {
  if (!data.empty()) sodium_memzero(data.data(), data.size());
}

std::string ToHex(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

Result<std::vector<uint8_t>> FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument("hexadecimal text must have an even number of digits");
  }
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("hexadecimal text has a character that is not 0-9 or a-f");
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace passerelle::crypto
