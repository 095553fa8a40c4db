// HTTPS server (front door of src/net's server side): Boost.Beast over Asio with C++20
// coroutines, one thread, hundreds of concurrent long-polling connections.
//
// - TLS 1.3 through a crypto::TlsContext; the verified client-certificate CN of each connection is
//   given to handlers in HttpRequest::peer (mTLS identity of nodes).
// - A handler receives the parsed request and a Responder, and answers now or later (long polls):
//   the connection waits, without a read timeout, until the responder is used. A Responder that is
//   dropped unused answers 500, so a connection never hangs on a forgotten request.
// - Limits: header and body sizes (413 with a JSON error body, read before parsing), handshake,
//   read and idle timeouts, a maximum number of connections.
// - Handlers, timers (RunAfter) and posted functions all run on the server's one loop thread, so
//   state touched only from them needs no locks.
//
// Thread-safety: Stop(), Post(), RunAfter() and Responder::Send() may be called from any thread;
// everything else from the owner. Handlers run on the loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "crypto/tls.h"
#include "net/http.h"

namespace passerelle::net {

struct ServerOptions {
  // Address to listen on; "0.0.0.0" for every interface.
  std::string host = "127.0.0.1";
  // TCP port; 0 lets the OS choose (read it back with port()).
  uint16_t port = 0;
  // Largest accepted request body, in bytes (larger: 413).
  size_t max_body_bytes = 4u << 20;
  // Largest accepted request header block, in bytes.
  size_t max_header_bytes = 16u << 10;
  // Time to complete the TLS handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Time to receive a whole request once its first byte arrived, and to write a response.
  std::chrono::milliseconds io_timeout{30'000};
  // Time a kept-alive connection may stay idle between requests.
  std::chrono::milliseconds idle_timeout{120'000};
  // Connections above this are closed at accept.
  size_t max_connections = 4096;
};

class ResponseSlot;

// Sends the one response of one request. Movable, not copyable; the first Send wins.
class Responder {
 public:
  explicit Responder(std::shared_ptr<ResponseSlot> slot) : slot_(std::move(slot)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void Send(HttpResponse response);
  // False once the response was sent or the connection is gone.
  bool pending() const;

 private:
  std::shared_ptr<ResponseSlot> slot_;
};

using Handler = std::function<void(HttpRequest&& request, Responder responder)>;

class HttpsServer {
 public:
  // Binds and listens at once (port() is valid on return); serves after Run() or Start().
  static Result<std::unique_ptr<HttpsServer>> Create(const ServerOptions& options,
                                                     const crypto::TlsContext& tls,
                                                     Handler handler);
  ~HttpsServer();  // stops and joins

  uint16_t port() const;

  // Runs the loop on the calling thread until Stop().
  void Run();
  // Runs the loop on an internal thread.
  void Start();
  // Closes the listener and every connection (waiting responders are dropped) and ends the loop.
  // Idempotent.
  void Stop();

  // Runs `fn` on the loop thread.
  void Post(std::function<void()> fn);
  // Runs `fn` on the loop thread after `delay`, unless cancelled. Returns an id for CancelTimer.
  uint64_t RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  void CancelTimer(uint64_t id);

  // Open connections (approximate when read off the loop thread).
  size_t connection_count() const;

  struct Impl;

 private:
  explicit HttpsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace passerelle::net
