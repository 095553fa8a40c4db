#include "crypto/cert_sign.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace passerelle::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::unique_ptr<BIO, BioFree> MemBio(std::string_view text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Parsing PEM with OpenSSL 3's decoders costs far more than the signature itself (perf: about 1 ms
// for a private key, against 0.1 ms for an ECDSA signature), and a node signs and verifies with
// the same keys and CA in every secure round. So the parsed private keys and CA stores are kept,
// keyed by their PEM text, in a small thread-safe cache (OpenSSL keys and stores are reference
// counted and safe to use from several threads once built). A few entries: one per node of the
// process (several in the sandbox).
template <typename T, void (*Free)(T*)>
class ParsedCache {
 public:
  using Ptr = std::shared_ptr<T>;
  template <typename Parse>
  Ptr Get(std::string_view pem, Parse parse) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = entries_.find(pem);
      if (it != entries_.end()) return it->second;
    }
    T* raw = parse(pem);
    if (!raw) return nullptr;
    Ptr p(raw, [](T* t) { Free(t); });
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.emplace(std::string(pem), p);
    return p;
  }

 private:
  static constexpr size_t kMaxEntries = 32;
  std::mutex mu_;
  std::map<std::string, Ptr, std::less<>> entries_;
};

auto& PrivateKeys() {
  static ParsedCache<EVP_PKEY, EVP_PKEY_free> cache;
  return cache;
}

auto& CaStores() {
  static ParsedCache<X509_STORE, X509_STORE_free> cache;
  return cache;
}

EVP_PKEY* ParsePrivateKey(std::string_view pem) {
  auto bio = MemBio(pem);
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  ERR_clear_error();
  return key;
}

// A store of the CA certificates in `pem` (one or more); null when there is none.
X509_STORE* ParseCaStore(std::string_view pem) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  auto ca_bio = MemBio(pem);
  int anchors = 0;
  while (store && ca_bio) {
    std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
    if (!ca) break;
    if (X509_STORE_add_cert(store.get(), ca.get()) == 1) ++anchors;
  }
  ERR_clear_error();
  return anchors > 0 ? store.release() : nullptr;
}

std::string SubjectCn(X509* cert) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

Result<std::vector<uint8_t>> SignWithCertificateKey(std::string_view key_pem,
                                                    std::span<const uint8_t> message) {
  auto key = PrivateKeys().Get(key_pem, ParsePrivateKey);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t len = 0;
  std::vector<uint8_t> signature;
  if (!key || !md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, message.data(), message.size()) != 1) {
    ERR_clear_error();
    return Status::Internal("cannot sign with this node's certificate key");
  }
  signature.resize(len);
  if (EVP_DigestSign(md.get(), signature.data(), &len, message.data(), message.size()) != 1) {
    ERR_clear_error();
    return Status::Internal("cannot sign with this node's certificate key");
  }
  signature.resize(len);
  return signature;
}

Status VerifyCertificateSignature(std::string_view ca_pem, std::string_view certificate_pem,
                                  std::string_view node, std::span<const uint8_t> message,
                                  std::span<const uint8_t> signature) {
  auto fail = [](std::string why) {
    ERR_clear_error();
    return Status::Unauthenticated(std::move(why));
  };
  auto cert_bio = MemBio(certificate_pem);
  std::unique_ptr<X509, X509Free> cert(
      cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return fail("unreadable certificate");
  auto store = CaStores().Get(ca_pem, ParseCaStore);
  if (!store) return fail("no federation CA to check it against");
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1 ||
      X509_verify_cert(ctx.get()) != 1) {
    return fail("its certificate is not a node certificate of the federation CA");
  }
  const std::string cn = SubjectCn(cert.get());
  if (cn != node) {
    return fail(fmt::format("its certificate was issued to \"{}\"", cn.empty() ? "?" : cn));
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (!md || !pub || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pub) != 1 ||
      EVP_DigestVerify(md.get(), signature.data(), signature.size(), message.data(),
                       message.size()) != 1) {
    return fail("bad signature");
  }
  return Status::Ok();
}

}  // namespace passerelle::crypto
