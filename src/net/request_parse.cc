#include "net/request_parse.h"

#include <fmt/format.h>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cctype>
#include <string>

namespace passerelle::net {

namespace http = boost::beast::http;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status ToHttpRequest(http::request<http::string_body>&& req, HttpRequest& out) {
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  const size_t q = out.target.find('?');
  out.path = out.target.substr(0, q);
  for (const auto& field : req)
    out.headers[Lower(field.name_string())] = std::string(field.value());
  out.body = std::move(req.body());
  if (q == std::string::npos) return Status::Ok();
  auto parsed = ParseQuery(std::string_view(out.target).substr(q + 1));
  if (!parsed.ok()) return Status::InvalidArgument("malformed query string");
  out.query = std::move(parsed).value();
  return Status::Ok();
}

Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const RequestLimits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_done() && used < bytes.size()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    // need_more with nothing consumed: the buffer ends inside the head (incomplete request).
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
    }
  }
  if (ec == http::error::header_limit) {
    return Status::OutOfRange(
        fmt::format("request headers exceed {} bytes", limits.max_header_bytes));
  }
  if (ec == http::error::body_limit) {
    return Status::OutOfRange(
        fmt::format("request body exceeds the limit of {} bytes", limits.max_body_bytes));
  }
  if (ec) return Status::InvalidArgument(fmt::format("malformed HTTP request: {}", ec.message()));
  if (!parser.is_done()) return Status::InvalidArgument("incomplete HTTP request");
  if (used != bytes.size()) {
    return Status::InvalidArgument(
        fmt::format("{} bytes after the end of the request", bytes.size() - used));
  }
  HttpRequest out;
  RETURN_IF_ERROR(ToHttpRequest(parser.release(), out));
  return out;
}

}  // namespace passerelle::net
