// Authentication of people at the hub API.
//
// The hub asks an Authenticator who is behind a bearer token. Until the governance module lands,
// TokenListAuthenticator checks tokens against a list of SHA-256 hashes from the hub's
// configuration; governance provides its own Authenticator (users, roles, organisations) and the
// hub takes it instead — the hub's handlers only ever see a Principal.
//
// Nodes are not people: they authenticate with their TLS client certificate (net::PeerIdentity),
// checked by the hub against its list of federation members.
//
// Thread-safety: implementations are immutable after construction and safe to share.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::hub {

struct Principal {
  std::string subject;             // who: a user name
  std::vector<std::string> roles;  // what they may do (governance fills this)
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // `token` is the value after "Bearer ". kUnauthenticated when it is not valid.
  virtual Result<Principal> AuthenticateBearer(std::string_view token) const = 0;
};

// "sha256:<64 hex digits>" of a token (what hub.toml stores).
std::string HashToken(std::string_view token);
// A new random token (32 bytes from the CSPRNG, hex): for `passerelle pki token`.
std::string NewToken();

class TokenListAuthenticator final : public Authenticator {
 public:
  // `hashes`: subject -> "sha256:<hex>". Fails on a malformed hash.
  static Result<std::unique_ptr<TokenListAuthenticator>> Create(
      const std::map<std::string, std::string>& hashes);
  Result<Principal> AuthenticateBearer(std::string_view token) const override;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // (hash, subject)
};

}  // namespace passerelle::hub
