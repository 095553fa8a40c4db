// Authenticated encryption: XChaCha20-Poly1305 (IETF construction, libsodium), with a random
// 24-byte nonce drawn from an injected RandomSource and sent in front of the ciphertext.
//
// Sealed format: nonce (24 bytes) || ciphertext (plaintext size) || Poly1305 tag (16 bytes).
// Opening fails with kUnauthenticated when a single bit of the sealed bytes or of the associated
// data differs from what was sealed: that is how tampering is detected.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::crypto {

inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadTagBytes = 16;
inline constexpr size_t kAeadOverhead = kAeadNonceBytes + kAeadTagBytes;

std::vector<uint8_t> AeadSeal(const Bytes32& key, std::span<const uint8_t> plaintext,
                              std::span<const uint8_t> associated_data, RandomSource& random);

Result<std::vector<uint8_t>> AeadOpen(const Bytes32& key, std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data);

}  // namespace passerelle::crypto
