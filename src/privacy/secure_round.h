// The parameters of one securely aggregated study round, as the hub writes them into each task
// ("secagg.session", docs/protocol.md) and as a node reads them back: who takes part (node id ->
// Shamir index), the threshold, the vector length and the fixed-point encoding of the round.
// Both sides derive the same secagg::SessionConfig (hence the same session id) from that JSON.
//
// Fixed point for a round of n nodes: f = kRoundFractionalBits and max_abs = 2^(60 - f -
// bit_width(n)), so that n * (max_abs * 2^f + 1/2) < 2^63 (fixed_point.h): no sum can wrap.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"

namespace passerelle::privacy {

// Part of the wire format of secure rounds.
inline constexpr uint32_t kRoundFractionalBits = 20;

struct SecureRoundParams {
  secagg::SessionConfig config;
  std::map<std::string, uint32_t> indices;  // node id -> Shamir index (1..n)
  FixedPointOptions fixed;
};

// The parameters for `nodes` (any order) and a vector of `vector_length` values.
Result<SecureRoundParams> MakeSecureRound(const std::string& study_id, uint32_t round,
                                          const std::vector<std::string>& nodes,
                                          uint64_t vector_length);
nlohmann::json SecureRoundToJson(const SecureRoundParams& p);
// Validates untrusted JSON (a node reads it from the hub): every key, the indices (1..n, the
// sorted order of the node ids), the threshold and the fixed-point bounds (they must be the ones
// MakeSecureRound derives: a hub cannot weaken them).
Result<SecureRoundParams> SecureRoundFromJson(const std::string& study_id, uint32_t round,
                                              const nlohmann::json& j);

// ---- Signed advertisements (docs/secure-aggregation.md, "Signed advertisements") -------------
// Each node signs its encoded AdvertiseKeys with the key of its federation certificate
// (crypto/cert_sign.h); the hub relays certificate and signature with the key directory, and each
// node checks every peer's before deriving a pairwise mask, so a hub that substitutes a key is
// caught.

struct AdvertAttestation {
  std::string certificate;         // the signer's certificate, PEM; empty: unsigned
  std::vector<uint8_t> signature;  // DER
};

// What a node signs: "passerelle/secagg/v1/advertise\n" + node id + "\n" + hex(advert), where
// advert is secagg::Encode(session, AdvertiseKeys) (it holds the session id, the sender's index
// and both public keys).
std::string AdvertisementMessage(std::string_view node, std::span<const uint8_t> advert);

// The advertise result's payload: Blob(advert) Str(certificate) Blob(signature).
std::vector<uint8_t> EncodeSignedAdvert(std::span<const uint8_t> advert,
                                        const AdvertAttestation& attestation);
struct SignedAdvert {
  std::vector<uint8_t> advert;
  AdvertAttestation attestation;
};
Result<SignedAdvert> DecodeSignedAdvert(std::span<const uint8_t> bytes);

// The share_keys task's payload: Blob(directory) U32(count), then for each signed entry, by
// increasing sender index: U32(sender) Str(certificate) Blob(signature).
std::vector<uint8_t> EncodeSignedDirectory(
    std::span<const uint8_t> directory, const std::map<uint32_t, AdvertAttestation>& attestations);
struct SignedDirectory {
  std::vector<uint8_t> directory;
  std::map<uint32_t, AdvertAttestation> attestations;  // by sender index
};
Result<SignedDirectory> DecodeSignedDirectory(std::span<const uint8_t> bytes);

}  // namespace passerelle::privacy
