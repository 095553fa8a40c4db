// Fuzzes the hub's request path before any handler logic: the HTTP/1.1 parser with the server's
// limits and settings (net::ParseHttpRequest, the same conversion the server applies to what it
// reads from a socket: query decoding, header folding to lower case), then routing by method and
// path pattern with the hub's route table. Properties: the parsed path is a prefix of the target;
// a request is answered exactly once (a handler or the router's 404/405).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/request_parse.h"
#include "net/router.h"

namespace {

const passerelle::net::Router& HubLikeRouter(int* handled) {
  static passerelle::net::Router* router = [handled] {
    auto* r = new passerelle::net::Router();
    for (const char* method : {"GET", "POST"}) {
      for (const char* pattern :
           {"/v1/health", "/v1/analyses", "/v1/studies", "/v1/studies/{id}",
            "/v1/studies/{id}/result", "/v1/tasks/next", "/v1/tasks/{task_id}/result"}) {
        r->Add(method, pattern,
               [handled](passerelle::net::HttpRequest&& req, const passerelle::net::PathParams& p,
                         passerelle::net::Responder) {
                 ++*handled;
                 for (const auto& [name, value] : p) {
                   // A captured segment is one non-empty path segment of bounded size.
                   if (value.empty() || value.size() > 256 ||
                       value.find('/') != std::string::npos ||
                       req.path.find(value) == std::string::npos) {
                     std::abort();
                   }
                 }
               });
      }
    }
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int handled = 0;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto req = passerelle::net::ParseHttpRequest(
      bytes, {.max_header_bytes = 16u << 10, .max_body_bytes = 64u << 10});
  if (!req.ok()) return 0;
  if (req->target.compare(0, req->path.size(), req->path) != 0) std::abort();
  for (const auto& [name, value] : req->headers) {
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') std::abort();  // header names are folded to lower case
    }
  }
  // No io_context here: the responder has no connection, so its answer goes nowhere; what is
  // checked is that routing terminates and captures well-formed parameters.
  HubLikeRouter(&handled).Dispatch(std::move(req).value(), passerelle::net::Responder(nullptr));
  return 0;
}
