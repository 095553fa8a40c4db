#include "crypto/argon2.h"

#include <sodium.h>

#include "crypto/hash.h"

namespace passerelle::crypto {

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options) {
  EnsureSodium();
  if (options.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      options.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return Status::InvalidArgument("Argon2id: ops_limit or mem_limit below libsodium's minimum");
  }
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), options.ops_limit,
                                 options.mem_limit) != 0) {
    return Status::ResourceExhausted("Argon2id: not enough memory to hash the password");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
  EnsureSodium();
  std::string z(encoded);  // NUL-terminated copy
  return crypto_pwhash_argon2id_str_verify(z.c_str(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view encoded, const PasswordHashOptions& options) {
  EnsureSodium();
  std::string z(encoded);
  return crypto_pwhash_argon2id_str_needs_rehash(z.c_str(), options.ops_limit, options.mem_limit) !=
         0;
}

}  // namespace passerelle::crypto
