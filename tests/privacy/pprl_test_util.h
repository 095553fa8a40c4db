// Helpers shared by the PPRL tests: deterministic keys and small schemas.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/random.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/schema.h"

namespace passerelle::pprl::testing {

// A linkage key from 32 bytes of a seeded (non-cryptographic) stream: reproducible in tests.
inline LinkageKey TestKey(uint64_t seed) {
  DeterministicRandom r(seed);
  std::vector<uint8_t> secret(32);
  r.Fill(secret);
  return LinkageKey::FromSecret(secret).value();
}

// A small person schema; `hardening` is spliced into "clk".
inline LinkageSchema PersonSchema(const std::string& hardening = "", int bits = 1024) {
  const std::string json = R"({"version": 1, "id": "id", "clk": {"bits": )" + std::to_string(bits) +
                           R"(, "k": 10)" +
                           (hardening.empty() ? "" : ", \"hardening\": " + hardening) + R"(},
    "fields": [
      {"name": "given", "type": "name", "domain": "names"},
      {"name": "family", "type": "name", "domain": "names"},
      {"name": "birth", "type": "date", "k": 15},
      {"name": "city", "type": "text", "k": 8}],
    "blocking": [{"name": "by-family", "parts": [{"field": "family", "transform": "soundex"}]}]})";
  return ParseSchema(json).value();
}

}  // namespace passerelle::pprl::testing
