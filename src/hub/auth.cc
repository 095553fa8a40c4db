#include "hub/auth.h"

#include "common/strings.h"

namespace passerelle::hub {

Principal EnginePrincipal(const governance::Principal& p) {
  return Principal{p.name, p.RoleStrings()};
}

Result<governance::Principal> AuthenticatePerson(governance::Authorizer& authorizer,
                                                 std::string_view authorization_header) {
  std::string_view h = Trim(authorization_header);
  if (h.empty()) {
    return Status::Unauthenticated(
        "missing bearer token: pass --token or set PASSERELLE_TOKEN (Authorization: Bearer "
        "psl_...; see `passerelle user token`)");
  }
  if (h.size() < 7 || !EqualsIgnoreCase(h.substr(0, 7), "bearer ")) {
    return Status::Unauthenticated("the Authorization header must be \"Bearer <token>\"");
  }
  std::string_view token = Trim(h.substr(7));
  if (token.empty()) return Status::Unauthenticated("empty bearer token");
  return authorizer.Authenticate(token);
}

Result<governance::Principal> AuthenticateNode(governance::Authorizer& authorizer,
                                               std::string_view cert_cn) {
  if (cert_cn.empty()) {
    return Status::Unauthenticated(
        "this endpoint is for nodes: connect with the node's certificate issued by the "
        "federation CA");
  }
  return authorizer.NodePrincipal(cert_cn);
}

}  // namespace passerelle::hub
