// GCC 12 needs <utility> before Asio's awaitable.hpp (see ARCHITECTURE.md).
#include <utility>

#include "net/server.h"

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <pthread.h>

#include <atomic>
#include <limits>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include "common/log.h"
#include "net/request_parse.h"

namespace passerelle::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

// The meeting point of a request's handler and its connection: the connection waits on `timer`
// until `response` is set (or the connection closes).
class ResponseSlot {
 public:
  explicit ResponseSlot(asio::io_context& ioc) : ioc_(ioc), timer_(ioc) {}

  asio::io_context& ioc_;
  asio::steady_timer timer_;
  std::optional<HttpResponse> response_;  // loop thread only
  std::atomic<bool> sent_{false};         // a Send happened (any thread)
  std::atomic<bool> closed_{false};       // the connection went away
};

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (slot_ && !slot_->sent_ && !slot_->closed_) {
      Send(HttpResponse::Error(Status::Internal("the request was dropped without an answer")));
    }
    slot_ = std::move(other.slot_);
  }
  return *this;
}

Responder::~Responder() {
  if (slot_ && !slot_->sent_ && !slot_->closed_) {
    Send(HttpResponse::Error(Status::Internal("the request was dropped without an answer")));
  }
}

void Responder::Send(HttpResponse response) {
  if (!slot_) return;
  std::shared_ptr<ResponseSlot> slot = std::move(slot_);
  if (slot->sent_.exchange(true) || slot->closed_) return;
  asio::dispatch(slot->ioc_, [slot, r = std::move(response)]() mutable {
    if (slot->closed_) return;
    slot->response_ = std::move(r);
    slot->timer_.cancel();
  });
}

bool Responder::pending() const { return slot_ && !slot_->sent_ && !slot_->closed_; }

namespace {

struct Session {
  Session(tcp::socket socket, asio::ssl::context& ctx) : stream(std::move(socket), ctx) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  std::shared_ptr<ResponseSlot> slot;  // of the request being answered
  std::string remote;

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream).socket().close(ec);
    if (slot) {
      slot->closed_ = true;
      slot->timer_.cancel();
    }
  }
};

}  // namespace

struct HttpsServer::Impl {
  Impl(const ServerOptions& o, const crypto::TlsContext& tls, Handler h)
      : options(o),
        ssl_ctx(tls.NewReference()),
        acceptor(ioc),
        handler(std::move(h)),
        work(asio::make_work_guard(ioc)) {}

  ServerOptions options;
  asio::io_context ioc{1};
  asio::ssl::context ssl_ctx;
  tcp::acceptor acceptor;
  Handler handler;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> connections{0};
  std::unordered_set<Session*> sessions;  // loop thread only
  std::atomic<uint64_t> next_timer{1};
  std::map<uint64_t, std::unique_ptr<asio::steady_timer>> timers;  // loop thread only
  uint16_t port = 0;

  awaitable<void> Listen();
  awaitable<void> Serve(std::shared_ptr<Session> s);
  awaitable<void> WriteResponse(Session& s, HttpResponse r, unsigned version, bool keep_alive,
                                beast::error_code& ec);
};

awaitable<void> HttpsServer::Impl::Listen() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket(ioc);
    co_await acceptor.async_accept(socket, redirect_error(use_awaitable, ec));
    if (stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors and the like: back off a little instead of spinning.
      log::Warn("hub: accept failed: {}", ec.message());
      asio::steady_timer t(ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    if (connections >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(std::move(socket), ssl_ctx);
    asio::co_spawn(ioc, Serve(std::move(session)), asio::detached);
  }
}

awaitable<void> HttpsServer::Impl::WriteResponse(Session& s, HttpResponse r, unsigned version,
                                                 bool keep_alive, beast::error_code& ec) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "passerelle");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  beast::get_lowest_layer(s.stream).expires_after(options.io_timeout);
  co_await http::async_write(s.stream, res, redirect_error(use_awaitable, ec));
}

awaitable<void> HttpsServer::Impl::Serve(std::shared_ptr<Session> s) {
  ++connections;
  sessions.insert(s.get());
  struct Unregister {
    Impl* impl;
    Session* s;
    ~Unregister() {
      impl->sessions.erase(s);
      --impl->connections;
    }
  } unregister{this, s.get()};
  beast::error_code ec;
  {
    auto ep = beast::get_lowest_layer(s->stream).socket().remote_endpoint(ec);
    if (!ec) s->remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }
  auto& lowest = beast::get_lowest_layer(s->stream);
  lowest.expires_after(options.handshake_timeout);
  co_await s->stream.async_handshake(asio::ssl::stream_base::server,
                                     redirect_error(use_awaitable, ec));
  if (ec) {
    // A certificate from another CA ends here: the handshake fails before any request.
    log::Info("tls: handshake with {} refused: {}", s->remote, ec.message());
    s->Close();
    co_return;
  }
  PeerIdentity peer{crypto::VerifiedPeerCommonName(s->stream.native_handle()), s->remote};

  beast::flat_buffer buffer;
  bool graceful = true;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // checked below
    lowest.expires_after(options.idle_timeout);
    co_await http::async_read_header(s->stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == http::error::header_limit) {
        co_await WriteResponse(*s,
                               HttpResponse::Error(400, Status::InvalidArgument(fmt::format(
                                                            "request headers exceed {} bytes",
                                                            options.max_header_bytes))),
                               11, false, ec);
      } else if (ec != http::error::end_of_stream && ec != http::error::partial_message &&
                 ec.category() == http::make_error_code(http::error::bad_method).category()) {
        co_await WriteResponse(
            *s, HttpResponse::Error(400, Status::InvalidArgument("malformed HTTP request")), 11,
            false, ec);
      }
      graceful = ec != beast::error::timeout;
      break;
    }
    auto length = parser.content_length();
    const unsigned version = parser.get().version();
    if (length && *length > options.max_body_bytes) {
      auto r = HttpResponse::Error(
          413, Status::OutOfRange(fmt::format("request body of {} bytes exceeds the limit of {} "
                                              "bytes",
                                              *length, options.max_body_bytes)));
      co_await WriteResponse(*s, std::move(r), version, false, ec);
      // Drain what the client is still sending (bounded), so that it can read the answer instead
      // of seeing its connection reset.
      uint64_t to_drain = std::min<uint64_t>(*length, 64u << 20);
      uint64_t drained = buffer.size();
      buffer.consume(buffer.size());
      lowest.expires_after(std::chrono::seconds(2));
      while (!ec && drained < to_drain) {
        size_t n = co_await s->stream.async_read_some(buffer.prepare(64 * 1024),
                                                      redirect_error(use_awaitable, ec));
        drained += n;
      }
      break;
    }
    parser.body_limit(options.max_body_bytes);
    lowest.expires_after(options.io_timeout);
    co_await http::async_read(s->stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == http::error::body_limit) {
        co_await WriteResponse(
            *s,
            HttpResponse::Error(
                413, Status::OutOfRange(fmt::format("request body exceeds the limit of {} bytes",
                                                    options.max_body_bytes))),
            version, false, ec);
      }
      break;
    }
    const bool keep_alive = parser.get().keep_alive();
    HttpRequest request;
    const bool bad_query = !ToHttpRequest(parser.release(), request).ok();
    request.peer = peer;

    s->slot = std::make_shared<ResponseSlot>(ioc);
    if (bad_query) {
      Responder(s->slot).Send(
          HttpResponse::Error(400, Status::InvalidArgument("malformed query string")));
    } else {
      try {
        handler(std::move(request), Responder(s->slot));
      } catch (const std::exception& e) {
        log::Error("http: handler failed: {}", e.what());
        Responder(s->slot).Send(HttpResponse::Error(Status::Internal("internal error")));
      }
    }
    // Long polls wait here, without a read timeout, until their responder is used.
    lowest.expires_never();
    while (!s->slot->response_ && !s->slot->closed_ && !stopping) {
      s->slot->timer_.expires_at(asio::steady_timer::time_point::max());
      co_await s->slot->timer_.async_wait(redirect_error(use_awaitable, ec));
    }
    if (!s->slot->response_) {
      graceful = false;
      break;
    }
    HttpResponse response = std::move(*s->slot->response_);
    s->slot.reset();
    co_await WriteResponse(*s, std::move(response), version, keep_alive && !stopping, ec);
    if (ec || !keep_alive) break;
  }
  if (s->slot) {
    s->slot->closed_ = true;
    s->slot.reset();
  }
  if (graceful && !stopping && beast::get_lowest_layer(s->stream).socket().is_open()) {
    lowest.expires_after(std::chrono::seconds(1));
    co_await s->stream.async_shutdown(redirect_error(use_awaitable, ec));
  }
  s->Close();
}

HttpsServer::HttpsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpsServer>> HttpsServer::Create(const ServerOptions& options,
                                                         const crypto::TlsContext& tls,
                                                         Handler handler) {
  if (!tls.native()) return Status::InvalidArgument("HTTPS server: no TLS context");
  auto impl = std::make_unique<Impl>(options, tls, std::move(handler));
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("listen address \"{}\" is not an IP address", options.host));
  }
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable(
        fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  asio::co_spawn(impl->ioc, impl->Listen(), asio::detached);
  return std::unique_ptr<HttpsServer>(new HttpsServer(std::move(impl)));
}

HttpsServer::~HttpsServer() {
  Stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t HttpsServer::port() const { return impl_->port; }

void HttpsServer::Run() { impl_->ioc.run(); }

void HttpsServer::Start() {
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "https-server");  // for top, perf and gdb
    impl_->ioc.run();
  });
}

void HttpsServer::Stop() {
  if (impl_->stopping.exchange(true)) return;
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    std::vector<Session*> live(impl->sessions.begin(), impl->sessions.end());
    for (Session* s : live) s->Close();
    for (auto& [id, timer] : impl->timers) timer->cancel();
    impl->timers.clear();
    impl->work.reset();
  });
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) {
    impl_->thread.join();
  }
}

void HttpsServer::Post(std::function<void()> fn) { asio::post(impl_->ioc, std::move(fn)); }

uint64_t HttpsServer::RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  uint64_t id = impl_->next_timer++;
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl, id, delay, fn = std::move(fn)]() mutable {
    if (impl->stopping) return;
    auto timer = std::make_unique<asio::steady_timer>(impl->ioc, delay);
    timer->async_wait([impl, id, fn = std::move(fn)](const beast::error_code& ec) {
      if (ec) return;
      impl->timers.erase(id);
      fn();
    });
    impl->timers.emplace(id, std::move(timer));
  });
  return id;
}

void HttpsServer::CancelTimer(uint64_t id) {
  Impl* impl = impl_.get();
  asio::post(impl->ioc, [impl, id] {
    auto it = impl->timers.find(id);
    if (it == impl->timers.end()) return;
    it->second->cancel();
    impl->timers.erase(it);
  });
}

size_t HttpsServer::connection_count() const { return impl_->connections; }

}  // namespace passerelle::net
