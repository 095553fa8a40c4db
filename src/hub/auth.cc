#include "hub/auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>

#include "common/random.h"

namespace passerelle::hub {

std::string HashToken(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

std::string NewToken() {
  std::array<uint8_t, 32> bytes{};
  SystemRandom::Default().Fill(bytes);
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

Result<std::unique_ptr<TokenListAuthenticator>> TokenListAuthenticator::Create(
    const std::map<std::string, std::string>& hashes) {
  auto a = std::unique_ptr<TokenListAuthenticator>(new TokenListAuthenticator());
  for (const auto& [subject, hash] : hashes) {
    bool ok = hash.size() == 7 + 64 && hash.compare(0, 7, "sha256:") == 0;
    for (size_t i = 7; ok && i < hash.size(); ++i) {
      ok = std::isxdigit(static_cast<unsigned char>(hash[i])) &&
           !std::isupper(static_cast<unsigned char>(hash[i]));
    }
    if (!ok) {
      return Status::InvalidArgument(fmt::format(
          "auth.tokens.{}: expected \"sha256:\" and 64 lower-case hex digits (see `passerelle pki "
          "token`)",
          subject));
    }
    a->entries_.emplace_back(hash, subject);
  }
  return a;
}

Result<Principal> TokenListAuthenticator::AuthenticateBearer(std::string_view token) const {
  if (token.empty()) return Status::Unauthenticated("empty bearer token");
  std::string hash = HashToken(token);
  const Principal* found = nullptr;
  Principal p;
  // Compare against every entry in constant time per entry, so timing says nothing of which.
  for (const auto& [h, subject] : entries_) {
    if (h.size() == hash.size() && CRYPTO_memcmp(h.data(), hash.data(), h.size()) == 0) {
      p.subject = subject;
      found = &p;
    }
  }
  if (!found) return Status::Unauthenticated("the bearer token is not valid for this hub");
  p.roles = {"researcher"};
  return p;
}

}  // namespace passerelle::hub
