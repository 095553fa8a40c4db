// HTTPS client for nodes and the command line (front door of src/net's client side).
//
// Synchronous calls with timeouts, on a private Asio loop driven by the calling thread; the
// connection is kept alive between requests and re-opened when the server closed it. The hub's
// certificate is verified against the federation CA and must name the host of the URL; a node
// presents its own certificate (mutual TLS) when the TLS context holds one.
//
// Thread-safety: one thread makes requests; Cancel() may be called from any thread and makes the
// request in flight, and every later one, fail with kAborted.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "crypto/tls.h"
#include "net/http.h"

namespace passerelle::net {

struct ClientOptions {
  // "https://host:port" of the hub.
  std::string base_url;
  // Time to connect and complete the TLS handshake.
  std::chrono::milliseconds connect_timeout{5'000};
  // Default time for a whole request (send and receive); long polls pass their own.
  std::chrono::milliseconds request_timeout{30'000};
  // Largest accepted response body, in bytes.
  size_t max_response_bytes = 64u << 20;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpsClient {
 public:
  static Result<std::unique_ptr<HttpsClient>> Create(const ClientOptions& options,
                                                     const crypto::TlsContext& tls);
  ~HttpsClient();

  // Sends one request to `target` (a path under the base URL, e.g. "/v1/health") and returns the
  // response, whatever its HTTP status. A transport failure (no connection, TLS refused, timeout)
  // is a kUnavailable or kDeadlineExceeded Status. `timeout` 0 means options.request_timeout.
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {}, const Headers& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // Convenience: JSON in, JSON out; a non-2xx answer becomes the Status its error body describes.
  Result<std::string> Call(std::string_view method, std::string_view target,
                           std::string_view body = {}, const Headers& headers = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  void Cancel();
  // Closes the kept-alive connection (the next request opens a new one).
  void Close();

  struct Impl;

 private:
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace passerelle::net
