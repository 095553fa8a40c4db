// Authentication of callers at the hub API, by the governance service (src/governance): people
// present a bearer token ("psl_<id>_<secret>", Argon2id-hashed in the hub's governance state,
// revocable, with an expiry), nodes their TLS client certificate (CN = node id, a node registered
// in the governance state). There is no other way in: the hub has no token list of its own.
//
// What each caller may then do is governance's Authorize (auth.h there, one action per endpoint);
// the hub's handlers call it before they act (src/hub/governance_api.h).
//
// Thread-safety: the functions are as thread-safe as the Authorizer they are given (the
// GovernanceService is).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "governance/auth.h"
#include "governance/types.h"

namespace passerelle::hub {

// The study engine's view of who submitted a study (what it records).
struct Principal {
  std::string subject;             // a user name
  std::vector<std::string> roles;  // governance roles, as strings ("researcher", "committee:QC")
};

// The engine's principal of a governance principal.
Principal EnginePrincipal(const governance::Principal& p);

// The person behind an Authorization header value ("Bearer psl_..."). kUnauthenticated when the
// header is missing or malformed, or the token is unknown, wrong, revoked, expired or its user
// disabled (the message says which, with its rule).
Result<governance::Principal> AuthenticatePerson(governance::Authorizer& authorizer,
                                                 std::string_view authorization_header);

// The node behind a verified TLS client certificate's CN. kUnauthenticated when no certificate
// was presented or the node is not registered in the governance state.
Result<governance::Principal> AuthenticateNode(governance::Authorizer& authorizer,
                                               std::string_view cert_cn);

}  // namespace passerelle::hub
