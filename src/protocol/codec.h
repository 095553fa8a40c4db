// Encodings of the wire protocol v1 that are not JSON structure: base64 (RFC 4648, standard
// alphabet, padded), numeric vectors as base64 of little-endian IEEE-754 float64 values, and a
// JSON parser with limits on size and nesting for untrusted bodies.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace passerelle::protocol {

std::string Base64Encode(std::span<const uint8_t> bytes);
// Strict: standard alphabet, padding required, no whitespace. The error says where it failed.
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Wire format of a numeric vector (part of the protocol): base64 of n * 8 bytes, each value a
// little-endian IEEE-754 binary64. NaN and infinities are refused on decode (a share of a sum is
// always finite).
std::string EncodeVector(std::span<const double> values);
// REQUIRES nothing; refuses more than `max_values` values.
Result<std::vector<double>> DecodeVector(std::string_view text, size_t max_values = 1u << 24);

struct JsonLimits {
  // Largest accepted text, in bytes.
  size_t max_bytes = 4u << 20;
  // Deepest accepted nesting of arrays and objects.
  int max_depth = 32;
};

// Parses untrusted JSON text under `limits`. Errors say what is wrong and where (byte offset).
Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace passerelle::protocol
