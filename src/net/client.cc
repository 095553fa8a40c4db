// GCC 12 needs <utility> before Asio's awaitable.hpp (see ARCHITECTURE.md).
#include <utility>

#include "net/client.h"

#include "common/http_status.h"

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <cctype>
#include <nlohmann/json.hpp>

namespace passerelle::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

using Stream = beast::ssl_stream<beast::tcp_stream>;

struct HttpsClient::Impl {
  Impl(const ClientOptions& o, Url u, const crypto::TlsContext& tls)
      : options(o), url(std::move(u)), ssl_ctx(tls.NewReference()) {}

  ClientOptions options;
  Url url;
  asio::io_context ioc{1};
  asio::ssl::context ssl_ctx;
  std::unique_ptr<Stream> stream;
  beast::flat_buffer buffer;
  std::atomic<bool> cancelled{false};

  Status TransportError(std::string_view what, const beast::error_code& ec) const {
    if (cancelled) return Status::Aborted("request cancelled");
    std::string where = fmt::format("hub {}:{}", url.host, url.port);
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded(fmt::format("{}: {} timed out", where, what));
    }
    return Status::Unavailable(fmt::format("{}: {} failed: {}", where, what, ec.message()));
  }

  void Drop() {
    if (!stream) return;
    beast::error_code ec;
    beast::get_lowest_layer(*stream).socket().close(ec);
    stream.reset();
    buffer.consume(buffer.size());
  }

  awaitable<void> Connect(Status* out) {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                   redirect_error(use_awaitable, ec));
    if (ec) {
      *out = TransportError("name resolution", ec);
      co_return;
    }
    auto s = std::make_unique<Stream>(ioc, ssl_ctx);
    Status st = crypto::SetExpectedServerName(s->native_handle(), url.host);
    if (!st.ok()) {
      *out = st;
      co_return;
    }
    auto& lowest = beast::get_lowest_layer(*s);
    lowest.expires_after(options.connect_timeout);
    co_await lowest.async_connect(results, redirect_error(use_awaitable, ec));
    if (ec || cancelled) {
      *out = TransportError("connecting", ec);
      co_return;
    }
    lowest.socket().set_option(tcp::no_delay(true), ec);
    co_await s->async_handshake(asio::ssl::stream_base::client, redirect_error(use_awaitable, ec));
    if (ec || cancelled) {
      *out = TransportError("TLS handshake", ec);
      co_return;
    }
    stream = std::move(s);
    *out = Status::Ok();
  }

  // One attempt on the current (or a new) connection. `*reused` says whether the attempt went
  // over a kept-alive connection, whose failure before any answer deserves one retry.
  awaitable<void> Attempt(const http::request<http::string_body>& req,
                          std::chrono::milliseconds timeout, Result<HttpResponse>* out,
                          bool* reused) {
    *reused = stream != nullptr;
    if (!stream) {
      Status st;
      co_await Connect(&st);
      if (!st.ok()) {
        Drop();
        *out = st;
        co_return;
      }
    }
    beast::error_code ec;
    auto& lowest = beast::get_lowest_layer(*stream);
    lowest.expires_after(timeout);
    co_await http::async_write(*stream, req, redirect_error(use_awaitable, ec));
    if (ec || cancelled) {
      Drop();
      *out = TransportError("sending the request", ec);
      co_return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    co_await http::async_read(*stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec || cancelled) {
      Drop();
      *out = TransportError("reading the answer", ec);
      co_return;
    }
    auto& res = parser.get();
    HttpResponse r;
    r.status = static_cast<int>(res.result_int());
    r.content_type = std::string(res[http::field::content_type]);
    for (const auto& f : res) {
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    r.body = std::move(res.body());
    if (!res.keep_alive()) Drop();
    *out = std::move(r);
  }
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(const ClientOptions& options,
                                                         const crypto::TlsContext& tls) {
  if (!tls.native()) return Status::InvalidArgument("HTTPS client: no TLS context");
  ASSIGN_OR_RETURN(Url url, ParseUrl(options.base_url));
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::make_unique<Impl>(options, url, tls)));
}

Result<HttpResponse> HttpsClient::Send(std::string_view method, std::string_view target,
                                       std::string_view body, const Headers& headers,
                                       std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (d.cancelled) return Status::Aborted("request cancelled");
  if (timeout.count() <= 0) timeout = d.options.request_timeout;
  http::request<http::string_body> req;
  req.method(http::string_to_verb(method));
  if (req.method() == http::verb::unknown) {
    return Status::InvalidArgument(fmt::format("unknown HTTP method {}", method));
  }
  req.target(d.url.prefix + std::string(target));
  req.version(11);
  req.set(http::field::host, d.url.host);
  req.set(http::field::user_agent, "passerelle/0.1");
  req.keep_alive(true);
  bool idempotent = req.method() == http::verb::get;
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "idempotency-key") idempotent = true;
  }
  if (!body.empty() || req.method() == http::verb::post || req.method() == http::verb::put) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  Result<HttpResponse> out = Status::Internal("request did not run");
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    asio::co_spawn(d.ioc, d.Attempt(req, timeout, &out, &reused), asio::detached);
    d.ioc.restart();
    d.ioc.run();
    if (out.ok() || !reused || !idempotent || d.cancelled) break;
    if (out.status().code() == StatusCode::kDeadlineExceeded) break;
    // The server closed the kept-alive connection: try once on a fresh one.
  }
  return out;
}

Result<std::string> HttpsClient::Call(std::string_view method, std::string_view target,
                                      std::string_view body, const Headers& headers,
                                      std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(HttpResponse r, Send(method, target, body, headers, timeout));
  if (r.ok()) return std::move(r.body);
  // Error body of protocol v1: {"error": {"code": "...", "message": "..."}}.
  return StatusFromHttpError(r.status, r.body, "the hub answered HTTP");
}

void HttpsClient::Cancel() {
  impl_->cancelled = true;
  Impl* d = impl_.get();
  asio::post(d->ioc, [d] {
    if (d->stream) {
      beast::error_code ec;
      beast::get_lowest_layer(*d->stream).socket().cancel(ec);
      beast::get_lowest_layer(*d->stream).socket().close(ec);
    }
  });
}

void HttpsClient::Close() { impl_->Drop(); }

}  // namespace passerelle::net
