// Request routing by method and path pattern ("/v1/studies/{id}/result"), for handlers of
// HttpsServer. Unknown paths answer 404, known paths with another method 405, both with a JSON
// error body naming the path.
//
// Thread-safety: build the router before serving; Dispatch is then read-only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"
#include "net/server.h"

namespace passerelle::net {

using PathParams = std::map<std::string, std::string>;
using RouteHandler =
    std::function<void(HttpRequest&& request, const PathParams& params, Responder responder)>;

class Router {
 public:
  // `pattern` segments in braces capture one path segment: "/v1/tasks/{task_id}/result".
  void Add(std::string method, std::string_view pattern, RouteHandler handler);
  void Dispatch(HttpRequest&& request, Responder responder) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace passerelle::net
