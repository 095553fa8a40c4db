// TLS contexts for the federation (OpenSSL 3): TLS 1.3 only, the federation CA as the only trust
// anchor, and mutual authentication where a node talks to the hub.
//
//   server (hub):  presents the hub certificate; asks every client for a certificate and verifies
//                  a presented one against the federation CA during the handshake (a certificate
//                  from another CA fails the handshake). People connect without a certificate and
//                  authenticate with a bearer token; node endpoints require a verified
//                  certificate, whose CN is the node id (PeerCommonName).
//   client (node): verifies the hub's certificate against the federation CA and the hub's host
//                  name, and presents the node certificate.
//   client (CLI):  verifies the hub; no client certificate.
//
// The context is an OpenSSL SSL_CTX, reference counted; src/net wraps it for Asio, so neither
// Asio nor OpenSSL headers leak from here.
//
// Thread-safety: a TlsContext is immutable after creation and may be shared by threads.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

struct ssl_ctx_st;
struct ssl_st;

namespace passerelle::crypto {

// PEM material. Empty strings mean "absent".
struct TlsMaterial {
  std::string ca_pem;    // trust anchor(s): the federation CA
  std::string cert_pem;  // own certificate
  std::string key_pem;   // own private key
};

// Reads the three files; an empty path leaves that part absent. Errors name the file.
Result<TlsMaterial> LoadTlsMaterial(const std::filesystem::path& ca,
                                    const std::filesystem::path& cert,
                                    const std::filesystem::path& key);

enum class ClientCertMode {
  kNone,      // do not ask for a client certificate
  kOptional,  // ask; verify one if presented (a bad one fails the handshake)
  kRequired,  // ask; the handshake fails without a valid one
};

class TlsContext {
 public:
  // REQUIRES: material has cert and key; a CA when mode != kNone.
  static Result<TlsContext> Server(const TlsMaterial& material, ClientCertMode mode);
  // REQUIRES: material has a CA (to verify the server). Cert and key are optional (mTLS).
  static Result<TlsContext> Client(const TlsMaterial& material);

  TlsContext(const TlsContext& other);
  TlsContext& operator=(const TlsContext& other);
  TlsContext(TlsContext&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  TlsContext& operator=(TlsContext&& other) noexcept;
  ~TlsContext();

  // Borrowed pointer, valid while this object lives.
  ssl_ctx_st* native() const { return ctx_; }
  // A new reference that the caller owns (e.g. handed to asio::ssl::context, which frees it).
  ssl_ctx_st* NewReference() const;

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_ = nullptr;
};

// The subject CN of the certificate the peer presented and that verified against the CA; empty
// when the peer presented none or it did not verify.
std::string VerifiedPeerCommonName(ssl_st* ssl);

// Configures `ssl` (a client connection) to check that the server certificate names `host` (a DNS
// name or an IP address), and to send `host` as SNI when it is a name.
Status SetExpectedServerName(ssl_st* ssl, std::string_view host);

// The OpenSSL error queue as text; clears it.
std::string DrainOpenSslErrors();

}  // namespace passerelle::crypto
