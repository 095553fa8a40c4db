// The federation's public-key infrastructure (OpenSSL 3, X.509).
//
// A federation has one certificate authority (CA) that the sites control. It issues:
//   - one server certificate for the hub (CN = hub name; subjectAltName holds the hub's DNS names
//     and IP addresses, plus "localhost" and 127.0.0.1 for loopback use),
//   - one client certificate per node, whose subject CN *is* the node id: the hub identifies a
//     node by the CN of the certificate it presented in the mutual TLS handshake.
// Keys are ECDSA P-256; certificates are signed with SHA-256 and carry the extended key usage of
// their role (serverAuth for the hub, clientAuth for nodes), so a node certificate cannot serve as
// a hub and the other way round.
//
// Files written by the *Dir functions: `ca.key`/`ca.crt`, then `<name>.key`/`<name>.crt`, PEM;
// private keys are created with mode 0600.
//
// Thread-safety: functions are reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "common/status.h"

namespace passerelle::crypto {

// A private key and its certificate, PEM encoded.
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

enum class CertRole { kHub, kNode };

struct CaOptions {
  // Subject CN of the CA.
  std::string name = "Passerelle federation CA";
  // Validity from now, in days.
  int valid_days = 3650;
};

struct IssueOptions {
  // Validity from now, in days.
  int valid_days = 825;
  // Hub only: extra subjectAltName entries. "localhost" and 127.0.0.1 are always added.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};

// What a certificate says about itself.
struct CertificateInfo {
  std::string subject_cn;
  std::string issuer_cn;
  int64_t not_before_unix = 0;  // seconds since the epoch
  int64_t not_after_unix = 0;
  bool is_ca = false;
  std::string serial_hex;
};

// Whether `id` is acceptable as a node id (also the CN): 1 to 63 characters of [a-z0-9_-],
// starting with a letter or digit. The error says why not.
Status ValidateNodeId(std::string_view id);

// A new self-signed CA. Serial numbers come from `random`.
Result<KeyAndCert> CreateCa(const CaOptions& options,
                            RandomSource& random = SystemRandom::Default());

// A certificate for `name` in `role`, signed by `ca`. REQUIRES: `ca` came from CreateCa (or an
// equivalent CA on disk). A node name must pass ValidateNodeId.
Result<KeyAndCert> IssueCertificate(const KeyAndCert& ca, CertRole role, std::string_view name,
                                    const IssueOptions& options,
                                    RandomSource& random = SystemRandom::Default());

Result<CertificateInfo> ReadCertificateInfo(std::string_view cert_pem);

// Checks that `key_pem` is the private key of `cert_pem`.
Status CheckKeyMatchesCertificate(std::string_view key_pem, std::string_view cert_pem);

// Files. InitCaDir refuses to overwrite an existing CA unless `overwrite`.
Status InitCaDir(const std::filesystem::path& dir, const CaOptions& options,
                 bool overwrite = false);
Result<KeyAndCert> LoadCaDir(const std::filesystem::path& dir);
struct IssuedFiles {
  std::filesystem::path key;
  std::filesystem::path cert;
};
// Issues `name` with the CA of `dir` and writes `<dir>/<name>.key` and `<dir>/<name>.crt`.
Result<IssuedFiles> IssueToDir(const std::filesystem::path& dir, CertRole role,
                               std::string_view name, const IssueOptions& options,
                               bool overwrite = false);

// Writes a file with mode 0600 (for private keys and tokens), atomically.
Status WritePrivateFile(const std::filesystem::path& path, std::string_view contents);

}  // namespace passerelle::crypto
