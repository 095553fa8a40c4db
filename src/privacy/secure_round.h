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
#include <string>
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

}  // namespace passerelle::privacy
