// Signatures with the key of a federation certificate (ECDSA P-256 or whatever key the
// certificate holds, SHA-256; OpenSSL 3), for messages the hub relays between nodes and must not
// be able to forge: the PPRL linkage's ephemeral keys (node/linkage.h) and the secure-aggregation
// advertisements (node/privacy_step.h, docs/secure-aggregation.md).
//
// A verifier checks three things: the certificate chains to the federation CA as a client (node)
// certificate, its subject CN is the node the message claims to come from, and the signature over
// the message is valid under the certificate's public key. A hub (whose certificate is a server
// certificate) or a certificate of another CA cannot pass.
//
// Thread-safety: safe from any thread. Parsed private keys and CA stores are cached by PEM text
// (cert_sign.cc says why).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::crypto {

// Signs `message` with the PEM private key `key_pem` (DER signature).
Result<std::vector<uint8_t>> SignWithCertificateKey(std::string_view key_pem,
                                                    std::span<const uint8_t> message);

// kUnauthenticated, with a short reason, unless `certificate_pem` chains to `ca_pem` (one or more
// PEM certificates) as a client certificate, has subject CN `node`, and `signature` is its key's
// signature of `message`.
Status VerifyCertificateSignature(std::string_view ca_pem, std::string_view certificate_pem,
                                  std::string_view node, std::span<const uint8_t> message,
                                  std::span<const uint8_t> signature);

}  // namespace passerelle::crypto
