// The linkage key: the secret that every party encoding records for one linkage shares, and that
// the linkage unit (the hub) never holds. Without it, a CLK cannot be recomputed from a guessed
// identity (a dictionary attack needs the key), and CLKs made under different keys are unrelated.
//
// Derivation (libsodium's keyed BLAKE2b, `crypto_generichash`):
//   master      = BLAKE2b-256(key = "passerelle/pprl/v1/master-key", message = secret)
//   subkey(L)   = BLAKE2b-256(key = master, message = L)   for a purpose label L
//   key check   = first 16 bytes of subkey("passerelle/pprl/v1/key-check")
// The secret is the content of a key file (at least 32 bytes: `passerelle pprl keygen` writes 32
// random bytes) or, in the federation, the secret the nodes agree over X25519 (see docs/pprl.md).
// The key check lets a matcher verify that two CLK files were made with the same key without
// learning anything about the key (it is a PRF output).
//
// Thread-safety: a LinkageKey is immutable after construction; const methods are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "common/random.h"
#include "common/status.h"

namespace passerelle::pprl {

// Initialises libsodium once (thread-safe). Returns an Internal error when it cannot.
Status EnsureSodium();

class LinkageKey {
 public:
  static constexpr size_t kMinSecretBytes = 32;
  static constexpr size_t kMaxSecretBytes = 1 << 16;
  static constexpr size_t kSubkeyBytes = 32;
  static constexpr size_t kCheckBytes = 16;
  using Subkey = std::array<uint8_t, kSubkeyBytes>;
  using Check = std::array<uint8_t, kCheckBytes>;

  // From raw secret bytes. REQUIRES (checked): kMinSecretBytes <= size <= kMaxSecretBytes and the
  // bytes are not trivially constant (fewer than 8 distinct byte values is refused).
  static Result<LinkageKey> FromSecret(std::span<const uint8_t> secret);
  // From a key file (raw bytes, at least 32 of them). Refuses a file that others can read.
  static Result<LinkageKey> ReadFile(const std::filesystem::path& path);
  // Writes a new key file of 32 bytes from `random`, mode 0600; refuses to overwrite.
  static Status GenerateFile(const std::filesystem::path& path, RandomSource& random);

  LinkageKey(const LinkageKey& other) = default;
  LinkageKey& operator=(const LinkageKey& other) = default;
  ~LinkageKey();

  // A subkey for one purpose; different labels give independent keys.
  Subkey Derive(std::string_view label) const;
  // Public fingerprint of the key, stored in CLK files (see above).
  Check KeyCheck() const;

 private:
  LinkageKey() = default;
  std::array<uint8_t, kSubkeyBytes> master_{};
};

}  // namespace passerelle::pprl
