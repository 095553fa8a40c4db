// How the HTTPS server turns the bytes of one request into an HttpRequest, as functions that need
// no connection: the server uses ToHttpRequest on what Beast parsed from the socket, and
// ParseHttpRequest runs the same parser and conversion on a buffer (for the fuzz target and tests).
// Internal to src/net: this header includes Beast; users of net include server.h / http.h.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/status.h"
#include "net/http.h"

namespace passerelle::net {

// Fills `out` (method, target, path, query, lower-case headers, body) from a parsed request, moving
// its body. A malformed query string is an InvalidArgument (the server answers 400); `out` then
// holds everything but the query.
Status ToHttpRequest(boost::beast::http::request<boost::beast::http::string_body>&& request,
                     HttpRequest& out);

struct RequestLimits {
  // As ServerOptions::max_header_bytes and max_body_bytes.
  size_t max_header_bytes = 16u << 10;
  size_t max_body_bytes = 4u << 20;
};

// Parses exactly one complete request from `bytes` with the server's parser settings and limits.
// An incomplete request, trailing bytes, a malformed head, a header block or body over the limits
// and a malformed query are InvalidArgument / OutOfRange with a message saying which.
Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const RequestLimits& limits = {});

}  // namespace passerelle::net
