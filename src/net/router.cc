#include "net/router.h"

#include <fmt/format.h>

namespace passerelle::net {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

}  // namespace

void Router::Add(std::string method, std::string_view pattern, RouteHandler handler) {
  Route r;
  r.method = std::move(method);
  for (auto s : SplitPath(pattern)) r.segments.emplace_back(s);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::Dispatch(HttpRequest&& request, Responder responder) const {
  auto parts = SplitPath(request.path);
  bool path_matched = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    PathParams params;
    bool match = true;
    for (size_t i = 0; i < parts.size() && match; ++i) {
      const std::string& seg = route.segments[i];
      if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
        if (parts[i].empty() || parts[i].size() > 256)
          match = false;
        else
          params[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
      } else {
        match = seg == parts[i];
      }
    }
    if (!match) continue;
    path_matched = true;
    if (route.method != request.method) continue;
    route.handler(std::move(request), params, std::move(responder));
    return;
  }
  std::string shown =
      request.path.size() > 200 ? request.path.substr(0, 200) + "..." : request.path;
  if (path_matched) {
    auto r = HttpResponse::Error(405, Status::InvalidArgument(fmt::format("{} is not allowed on {}",
                                                                          request.method, shown)));
    responder.Send(std::move(r));
  } else {
    responder.Send(HttpResponse::Error(
        404, Status::NotFound(fmt::format("no such endpoint: {} {}", request.method, shown))));
  }
}

}  // namespace passerelle::net
