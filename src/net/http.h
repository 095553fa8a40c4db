// Plain HTTP request and response values exchanged between src/net and its users (hub, node,
// CLI), so that Boost.Beast stays inside net's .cc files.
//
// Thread-safety: values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace passerelle::net {

// Who is on the other end of a connection, as the TLS handshake established it.
struct PeerIdentity {
  // Subject CN of the client certificate, when one was presented and verified against the
  // federation CA; empty otherwise. For a node this is its node id.
  std::string cert_cn;
  // "address:port" of the remote end, for logs.
  std::string remote;
};

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: "/v1/tasks/next?wait=20"
  std::string path;                            // target without the query: "/v1/tasks/next"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  PeerIdentity peer;

  // The header's value, or "" when absent. `name` in lower case.
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse Json(int status, std::string body);
  // A JSON error body ({"error": {"code", "message"}}) with the HTTP status for the code.
  static HttpResponse Error(const Status& status);
  static HttpResponse Error(int http_status, const Status& status);
  bool ok() const { return status >= 200 && status < 300; }
};

// The HTTP status that carries a Status code (400, 401, 403, 404, 409, 429, 503, 504, 500).
int HttpStatusFor(StatusCode code);

// Splits "a=1&b=x%20y" into decoded pairs; a malformed escape is an error.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);
std::string UrlEncode(std::string_view s);

// "https://host:port[/prefix]" -> parts. Only https is accepted.
struct Url {
  std::string host;
  uint16_t port = 443;
  std::string prefix;  // path prefix without trailing '/', usually ""
};
Result<Url> ParseUrl(std::string_view url);

}  // namespace passerelle::net
