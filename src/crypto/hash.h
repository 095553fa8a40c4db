// Hashing, message authentication and byte helpers on libsodium: SHA-256, BLAKE2b (optionally
// keyed), HMAC-SHA-256, constant-time comparison, secure zeroing, hex.
//
// All primitives come from libsodium (audited); nothing here is home-made cryptography. libsodium
// is initialised on first use; a process where it cannot initialise is unusable and aborts.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::crypto {

using Bytes32 = std::array<uint8_t, 32>;
using Bytes64 = std::array<uint8_t, 64>;

// Initialises libsodium once (idempotent, thread-safe). Aborts the process if it cannot, since
// no key, mask or noise could be produced safely then.
void EnsureSodium();

// The bytes of a string, for hashing text.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// SHA-256 (FIPS 180-4).
Bytes32 Sha256(std::span<const uint8_t> data);
inline Bytes32 Sha256(std::string_view data) { return Sha256(AsBytes(data)); }

// Incremental SHA-256 for messages built from parts.
class Sha256Builder {
 public:
  Sha256Builder();
  Sha256Builder& Add(std::span<const uint8_t> data);
  Sha256Builder& Add(std::string_view data) { return Add(AsBytes(data)); }
  Sha256Builder& AddU32(uint32_t v);  // little-endian
  Sha256Builder& AddU64(uint64_t v);  // little-endian
  Bytes32 Finish();

 private:
  alignas(16) std::array<uint8_t, 128> state_;  // crypto_hash_sha256_state, kept opaque
};

// BLAKE2b (RFC 7693) with a 32-byte output. REQUIRES: key.size() <= 64 (empty = unkeyed).
Bytes32 Blake2b256(std::span<const uint8_t> data, std::span<const uint8_t> key = {});
// BLAKE2b with `out_len` bytes of output (16..64) and an optional key (0..64 bytes).
Result<std::vector<uint8_t>> Blake2b(std::span<const uint8_t> data, size_t out_len,
                                     std::span<const uint8_t> key = {});

// HMAC-SHA-256 (RFC 2104 / FIPS 198-1) with a key of any length.
Bytes32 HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// Equal sizes and contents, in time independent of the contents.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);
// Zeroes memory in a way the compiler cannot remove.
void SecureZero(std::span<uint8_t> data);

// Lower-case hexadecimal.
std::string ToHex(std::span<const uint8_t> data);
// Parses hexadecimal (either case, even length, no separators).
Result<std::vector<uint8_t>> FromHex(std::string_view hex);

}  // namespace passerelle::crypto
