// Password hashing with Argon2id (RFC 9106, libsodium's crypto_pwhash), in the standard encoded
// form "$argon2id$v=19$m=...,t=...,p=1$salt$hash" that carries its own parameters and salt. For
// people's passwords and bearer tokens kept hashed at the hub.
//
// Thread-safety: pure functions (each call uses mem_limit bytes of memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace passerelle::crypto {

struct PasswordHashOptions {
  // Passes over memory; libsodium's "interactive" level by default (2).
  uint64_t ops_limit = 2;
  // Memory in bytes; libsodium's "interactive" level by default (64 MiB).
  size_t mem_limit = size_t{64} << 20;
};

// The encoded Argon2id hash of `password` with a fresh random salt (libsodium's CSPRNG).
Result<std::string> HashPassword(std::string_view password,
                                 const PasswordHashOptions& options = {});

// True when `password` matches `encoded` (constant time in the password).
bool VerifyPassword(std::string_view encoded, std::string_view password);

// True when `encoded` was made with weaker parameters than `options` and should be re-hashed at
// the next successful login.
bool PasswordNeedsRehash(std::string_view encoded, const PasswordHashOptions& options = {});

}  // namespace passerelle::crypto
