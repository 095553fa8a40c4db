#include "crypto/pki.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "common/files.h"

namespace passerelle::crypto {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

// The OpenSSL error queue as text (and cleared).
std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status SslError(std::string_view what) {
  return Status::Internal(fmt::format("{}: {}", what, OpenSslErrors()));
}

Result<PKeyPtr> NewKey() {
  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating an EC P-256 key");
  return key;
}

Result<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return SslError("encoding a private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("encoding a certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<PKeyPtr> KeyFromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return Status::InvalidArgument("not a PEM private key");
  }
  return key;
}

Result<X509Ptr> CertFromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    ERR_clear_error();
    return Status::InvalidArgument("not a PEM certificate");
  }
  return cert;
}

Status SetRandomSerial(X509* cert, RandomSource& random) {
  std::array<uint8_t, 16> bytes;
  random.Fill(bytes);
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and not zero
  BnPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)))
    return SslError("setting a serial number");
  return Status::Ok();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return SslError(fmt::format("building extension {}={}", OBJ_nid2sn(nid), value));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return SslError("adding an extension");
  return Status::Ok();
}

std::string NameCn(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(const_cast<X509_NAME*>(name), NID_commonName, -1);
  if (idx < 0) return {};
  X509_NAME_ENTRY* e = X509_NAME_get_entry(name, idx);
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(e);
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

// A new certificate with subject CN `cn`, valid `days` from now, for `key`.
Result<X509Ptr> NewCert(EVP_PKEY* key, std::string_view cn, int days, RandomSource& random) {
  if (days <= 0 || days > 36500) {
    return Status::InvalidArgument(fmt::format("validity must be 1 to 36500 days (got {})", days));
  }
  X509Ptr cert(X509_new());
  if (!cert) return SslError("allocating a certificate");
  X509_set_version(cert.get(), 2);  // v3
  RETURN_IF_ERROR(SetRandomSerial(cert.get(), random));
  // Backdate by an hour so that small clock differences between sites do not matter.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn_s(cn);
  if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>("Passerelle"), -1, -1,
                                  0) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(cn_s.c_str()), -1, -1,
                                  0)) {
    return SslError("setting the subject name");
  }
  return cert;
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Status ValidateHubName(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return Status::InvalidArgument("hub name must be 1 to 253 characters (a DNS name)");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return Status::InvalidArgument(
          fmt::format("hub name \"{}\": only letters, digits, '-' and '.' are allowed", name));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateNodeId(std::string_view id) {
  if (id.empty() || id.size() > 63) {
    return Status::InvalidArgument(
        fmt::format("node id \"{}\" must be 1 to 63 characters long", id));
  }
  if (!(std::islower(static_cast<unsigned char>(id[0])) ||
        std::isdigit(static_cast<unsigned char>(id[0])))) {
    return Status::InvalidArgument(
        fmt::format("node id \"{}\" must start with a lower-case letter or a digit", id));
  }
  for (char c : id) {
    bool ok = std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    if (!ok) {
      return Status::InvalidArgument(fmt::format(
          "node id \"{}\": only lower-case letters, digits, '-' and '_' are allowed", id));
    }
  }
  return Status::Ok();
}

Result<KeyAndCert> CreateCa(const CaOptions& options, RandomSource& random) {
  if (options.name.empty()) return Status::InvalidArgument("the CA name must not be empty");
  ASSIGN_OR_RETURN(PKeyPtr key, NewKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), options.name, options.valid_days, random));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return SslError("signing the CA");
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, KeyToPem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, CertToPem(cert.get()));
  return out;
}

Result<KeyAndCert> IssueCertificate(const KeyAndCert& ca, CertRole role, std::string_view name,
                                    const IssueOptions& options, RandomSource& random) {
  if (role == CertRole::kNode) {
    RETURN_IF_ERROR(ValidateNodeId(name));
  } else {
    RETURN_IF_ERROR(ValidateHubName(name));
  }
  auto ca_key_r = KeyFromPem(ca.key_pem);
  if (!ca_key_r.ok()) return ca_key_r.status().WithContext("CA key");
  auto ca_cert_r = CertFromPem(ca.cert_pem);
  if (!ca_cert_r.ok()) return ca_cert_r.status().WithContext("CA certificate");
  PKeyPtr ca_key = std::move(ca_key_r).value();
  X509Ptr ca_cert = std::move(ca_cert_r).value();
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the CA key does not match the CA certificate");
  }
  ASSIGN_OR_RETURN(PKeyPtr key, NewKey());
  ASSIGN_OR_RETURN(X509Ptr cert, NewCert(key.get(), name, options.valid_days, random));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509* c = cert.get();
  X509* i = ca_cert.get();
  RETURN_IF_ERROR(AddExtension(c, i, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(c, i, NID_key_usage, "critical,digitalSignature,keyAgreement"));
  RETURN_IF_ERROR(AddExtension(c, i, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtension(c, i, NID_authority_key_identifier, "keyid:always"));
  if (role == CertRole::kHub) {
    RETURN_IF_ERROR(AddExtension(c, i, NID_ext_key_usage, "serverAuth"));
    std::string san = fmt::format("DNS:{},DNS:localhost,IP:127.0.0.1", name);
    for (const auto& d : options.dns_names) {
      RETURN_IF_ERROR(ValidateHubName(d));
      san += ",DNS:" + d;
    }
    for (const auto& ip : options.ip_addresses) {
      for (char ch : ip) {
        if (!(std::isxdigit(static_cast<unsigned char>(ch)) || ch == '.' || ch == ':'))
          return Status::InvalidArgument(fmt::format("\"{}\" is not an IP address", ip));
      }
      san += ",IP:" + ip;
    }
    RETURN_IF_ERROR(AddExtension(c, i, NID_subject_alt_name, san));
  } else {
    RETURN_IF_ERROR(AddExtension(c, i, NID_ext_key_usage, "clientAuth"));
  }
  if (X509_sign(c, ca_key.get(), EVP_sha256()) == 0) return SslError("signing a certificate");
  KeyAndCert out;
  ASSIGN_OR_RETURN(out.key_pem, KeyToPem(key.get()));
  ASSIGN_OR_RETURN(out.cert_pem, CertToPem(c));
  return out;
}

Result<CertificateInfo> ReadCertificateInfo(std::string_view cert_pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, CertFromPem(cert_pem));
  CertificateInfo info;
  info.subject_cn = NameCn(X509_get_subject_name(cert.get()));
  info.issuer_cn = NameCn(X509_get_issuer_name(cert.get()));
  info.not_before_unix = AsnTimeToUnix(X509_get0_notBefore(cert.get()));
  info.not_after_unix = AsnTimeToUnix(X509_get0_notAfter(cert.get()));
  info.is_ca = X509_check_ca(cert.get()) != 0;
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  if (bn) {
    char* hex = BN_bn2hex(bn.get());
    info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  return info;
}

Status CheckKeyMatchesCertificate(std::string_view key_pem, std::string_view cert_pem) {
  ASSIGN_OR_RETURN(PKeyPtr key, KeyFromPem(key_pem));
  ASSIGN_OR_RETURN(X509Ptr cert, CertFromPem(cert_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the private key does not match the certificate");
  }
  return Status::Ok();
}

Status WritePrivateFile(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IoError(
        fmt::format("{}: cannot create: {}", tmp.string(), std::strerror(errno)));
  }
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IoError(fmt::format("{}: write failed: {}", tmp.string(), std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::IoError(fmt::format("{}: cannot flush: {}", tmp.string(), std::strerror(errno)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot rename: {}", path.string(), ec.message()));
  return Status::Ok();
}

Status InitCaDir(const std::filesystem::path& dir, const CaOptions& options, bool overwrite) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Status::IoError(fmt::format("{}: cannot create folder: {}", dir.string(), ec.message()));
  if (!overwrite &&
      (std::filesystem::exists(dir / "ca.key") || std::filesystem::exists(dir / "ca.crt"))) {
    return Status::AlreadyExists(fmt::format(
        "{}: a CA already exists there (ca.key/ca.crt); refusing to replace it", dir.string()));
  }
  ASSIGN_OR_RETURN(KeyAndCert ca, CreateCa(options));
  RETURN_IF_ERROR(WritePrivateFile(dir / "ca.key", ca.key_pem));
  return WriteFileAtomic(dir / "ca.crt", ca.cert_pem);
}

Result<KeyAndCert> LoadCaDir(const std::filesystem::path& dir) {
  KeyAndCert ca;
  ASSIGN_OR_RETURN(ca.key_pem, ReadFileToString(dir / "ca.key"));
  ASSIGN_OR_RETURN(ca.cert_pem, ReadFileToString(dir / "ca.crt"));
  return ca;
}

Result<IssuedFiles> IssueToDir(const std::filesystem::path& dir, CertRole role,
                               std::string_view name, const IssueOptions& options, bool overwrite) {
  if (name == "ca") return Status::InvalidArgument("\"ca\" is reserved for the CA's own files");
  ASSIGN_OR_RETURN(KeyAndCert ca, LoadCaDir(dir));
  IssuedFiles files{dir / (std::string(name) + ".key"), dir / (std::string(name) + ".crt")};
  if (!overwrite && (std::filesystem::exists(files.key) || std::filesystem::exists(files.cert))) {
    return Status::AlreadyExists(
        fmt::format("{}: a certificate for \"{}\" exists already", dir.string(), name));
  }
  ASSIGN_OR_RETURN(KeyAndCert issued, IssueCertificate(ca, role, name, options));
  RETURN_IF_ERROR(WritePrivateFile(files.key, issued.key_pem));
  RETURN_IF_ERROR(WriteFileAtomic(files.cert, issued.cert_pem));
  return files;
}

}  // namespace passerelle::crypto
