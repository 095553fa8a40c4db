#include "protocol/codec.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace passerelle::protocol {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static_assert(std::endian::native == std::endian::little ||
              std::endian::native == std::endian::big);

uint64_t ToLittle(uint64_t v) {
  if constexpr (std::endian::native == std::endian::little) return v;
  return __builtin_bswap64(v);
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument(
        fmt::format("base64: length {} is not a multiple of 4", text.size()));
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        // Padding only in the last group, only in its last two places, and only at the end.
        if (i + 4 != text.size() || k < 2) {
          return Status::InvalidArgument(fmt::format("base64: misplaced '=' at offset {}", i + k));
        }
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad > 0) {
        return Status::InvalidArgument(fmt::format("base64: data after '=' at offset {}", i + k));
      }
      v[k] = DecodeChar(c);
      if (v[k] < 0) {
        return Status::InvalidArgument(
            fmt::format("base64: invalid character at offset {}", i + k));
      }
    }
    uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | v[3];
    out.push_back(static_cast<uint8_t>(w >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(w >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(w));
    // Canonical form: the unused bits of the last group must be zero.
    if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)) {
      return Status::InvalidArgument("base64: non-canonical padding bits");
    }
  }
  return out;
}

std::string EncodeVector(std::span<const double> values) {
  std::vector<uint8_t> bytes(values.size() * 8);
  for (size_t i = 0; i < values.size(); ++i) {
    uint64_t bits = ToLittle(std::bit_cast<uint64_t>(values[i]));
    std::memcpy(bytes.data() + i * 8, &bits, 8);
  }
  return Base64Encode(bytes);
}

Result<std::vector<double>> DecodeVector(std::string_view text, size_t max_values) {
  if (text.size() / 4 * 3 / 8 > max_values + 1) {
    return Status::OutOfRange(fmt::format("vector: more than {} values", max_values));
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Base64Decode(text));
  if (bytes.size() % 8 != 0) {
    return Status::InvalidArgument(
        fmt::format("vector: {} bytes is not a whole number of float64 values", bytes.size()));
  }
  size_t n = bytes.size() / 8;
  if (n > max_values)
    return Status::OutOfRange(fmt::format("vector: more than {} values", max_values));
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, bytes.data() + i * 8, 8);
    out[i] = std::bit_cast<double>(ToLittle(bits));
    if (!std::isfinite(out[i])) {
      return Status::InvalidArgument(fmt::format("vector: value {} is not finite", i));
    }
  }
  return out;
}

Result<nlohmann::json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::OutOfRange(fmt::format("JSON body of {} bytes exceeds the limit of {} bytes",
                                          text.size(), limits.max_bytes));
  }
  // Nesting check before parsing, so that a hostile document cannot make the parser recurse.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth) {
        return Status::InvalidArgument(
            fmt::format("JSON nesting deeper than {} levels at byte {}", limits.max_depth, i));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("malformed JSON at byte {}: {}", e.byte, std::string_view(e.what())));
  } catch (const nlohmann::json::exception& e) {
    // E.g. a number beyond double's range (1e999): found by fuzz/protocol_messages_fuzz.
    return Status::InvalidArgument(fmt::format("malformed JSON: {}", std::string_view(e.what())));
  }
}

}  // namespace passerelle::protocol
