#include "crypto/tls.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/files.h"

namespace passerelle::crypto {
namespace {

Status TlsError(std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", what, DrainOpenSslErrors()));
}

Status AddCaCertificates(SSL_CTX* ctx, std::string_view ca_pem) {
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  if (!bio) return TlsError("reading the CA");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (;;) {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  if (added == 0) return Status::InvalidArgument("the CA file holds no PEM certificate");
  return Status::Ok();
}

Status UseCertAndKey(SSL_CTX* ctx, std::string_view cert_pem, std::string_view key_pem) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(cb);
  if (!cert) return TlsError("reading the certificate");
  int ok = SSL_CTX_use_certificate(ctx, cert);
  X509_free(cert);
  if (ok != 1) return TlsError("using the certificate");
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(kb);
  if (!key) return TlsError("reading the private key");
  ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1) return TlsError("using the private key");
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return TlsError("the private key does not match the certificate");
  }
  return Status::Ok();
}

Result<SSL_CTX*> NewContext(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) return TlsError("creating a TLS context");
  // TLS 1.3 only: no downgrade, forward secrecy and AEAD ciphers by construction.
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_verify_depth(ctx, 4);
  return ctx;
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

Result<TlsMaterial> LoadTlsMaterial(const std::filesystem::path& ca,
                                    const std::filesystem::path& cert,
                                    const std::filesystem::path& key) {
  TlsMaterial m;
  if (!ca.empty()) {
    ASSIGN_OR_RETURN(m.ca_pem, ReadFileToString(ca));
  }
  if (!cert.empty()) {
    ASSIGN_OR_RETURN(m.cert_pem, ReadFileToString(cert));
  }
  if (!key.empty()) {
    ASSIGN_OR_RETURN(m.key_pem, ReadFileToString(key));
  }
  return m;
}

Result<TlsContext> TlsContext::Server(const TlsMaterial& material, ClientCertMode mode) {
  if (material.cert_pem.empty() || material.key_pem.empty()) {
    return Status::InvalidArgument("a TLS server needs a certificate and a private key");
  }
  if (mode != ClientCertMode::kNone && material.ca_pem.empty()) {
    return Status::InvalidArgument("verifying client certificates needs the federation CA");
  }
  ASSIGN_OR_RETURN(SSL_CTX * raw, NewContext(TLS_server_method()));
  TlsContext ctx(raw);
  RETURN_IF_ERROR(UseCertAndKey(raw, material.cert_pem, material.key_pem).WithContext("server"));
  if (mode != ClientCertMode::kNone) {
    RETURN_IF_ERROR(AddCaCertificates(raw, material.ca_pem));
    int flags = SSL_VERIFY_PEER;
    if (mode == ClientCertMode::kRequired) flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, flags, nullptr);
  } else {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  // Sessions are not resumed across processes; a small cache keeps reconnects cheap.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  static const unsigned char kSidCtx[] = "passerelle-hub";
  SSL_CTX_set_session_id_context(raw, kSidCtx, sizeof(kSidCtx) - 1);
  return ctx;
}

Result<TlsContext> TlsContext::Client(const TlsMaterial& material) {
  if (material.ca_pem.empty()) {
    return Status::InvalidArgument("a TLS client needs the federation CA to verify the hub");
  }
  ASSIGN_OR_RETURN(SSL_CTX * raw, NewContext(TLS_client_method()));
  TlsContext ctx(raw);
  RETURN_IF_ERROR(AddCaCertificates(raw, material.ca_pem));
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  if (!material.cert_pem.empty() || !material.key_pem.empty()) {
    RETURN_IF_ERROR(UseCertAndKey(raw, material.cert_pem, material.key_pem).WithContext("client"));
  }
  return ctx;
}

TlsContext::TlsContext(const TlsContext& other) : ctx_(other.ctx_) {
  if (ctx_) SSL_CTX_up_ref(ctx_);
}

TlsContext& TlsContext::operator=(const TlsContext& other) {
  if (this != &other) {
    if (other.ctx_) SSL_CTX_up_ref(other.ctx_);
    if (ctx_) SSL_CTX_free(ctx_);
    ctx_ = other.ctx_;
  }
  return *this;
}

TlsContext& TlsContext::operator=(TlsContext&& other) noexcept {
  if (this != &other) {
    if (ctx_) SSL_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

ssl_ctx_st* TlsContext::NewReference() const {
  if (ctx_) SSL_CTX_up_ref(ctx_);
  return ctx_;
}

std::string VerifiedPeerCommonName(ssl_st* ssl) {
  if (!ssl) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* name = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
      unsigned char* utf8 = nullptr;
      int n = ASN1_STRING_to_UTF8(&utf8, s);
      if (n >= 0) {
        cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
        OPENSSL_free(utf8);
      }
    }
  }
  X509_free(cert);
  return cn;
}

Status SetExpectedServerName(ssl_st* ssl, std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  bool is_ip = inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str()) != 1) return TlsError("expected hub IP");
  } else {
    if (SSL_set1_host(ssl, h.c_str()) != 1) return TlsError("expected hub name");
    if (SSL_set_tlsext_host_name(ssl, h.c_str()) != 1) return TlsError("SNI");
  }
  return Status::Ok();
}

}  // namespace passerelle::crypto
