// Encoding of a record into a cryptographic long-term key (CLK; Schnell, Bachteler and Reiher
// 2011): one Bloom filter of L bits for all identifying fields of a record.
//
// For each field: the raw value is normalised (normalize.h, by the field's type), cut into tokens
// (padded bigrams, the exact value, or date parts), and each token sets k bits, k being the
// field's weight. The k positions come from a keyed hash of the token with a key that depends on
// the linkage key and the field's name:
//   field key  = subkey("passerelle/pprl/v1/field/" + field domain)        (key.h; the domain
//                is the field's name unless the schema groups fields, e.g. both names)
//   block c    = BLAKE2b-512(key = field key, message = token || u8 c)   or
//                HMAC-SHA-256(field key, token || u8 c)                    (schema "hash")
//   position j = (little-endian u32 number j of the concatenated blocks c = 0, 1, ...) mod L
// Every position is an independent PRF output: there is no double hashing (h1 + j * h2), whose
// structure the attacks of Niedermeyer et al. (2014) and Kroll and Steinmetzer (2015) exploit.
// For L not a power of two the modulo has a bias below L / 2^32.
//
// Then the hardening of the schema is applied (schema.h: XOR folding, balancing, BLIP, in that
// order). Blocking keys: for each blocking scheme whose fields are all present, the first 8 bytes
// (little-endian) of BLAKE2b-256(key = subkey("passerelle/pprl/v1/blocking"), message = scheme
// name and transformed field values, length-prefixed).
//
// Thread-safety: Encode is const and thread-safe when BLIP is off; with BLIP it draws from the
// RandomSource, so one thread at a time (or one Encoder per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/key.h"
#include "privacy/pprl/schema.h"

namespace passerelle::pprl {

// Counts about an encoding run (never values).
struct FieldReport {
  std::string name;
  size_t missing = 0;        // empty after normalisation, or an unreadable date
  size_t invalid_dates = 0;  // dates that matched a format but are not calendar days (kept)
};

class Encoder {
 public:
  // `blip_random` gives BLIP's randomness (SystemRandom in production; a seeded source in tests).
  // REQUIRES: blip_random is not null when schema.hardening.blip_flip_probability > 0, and
  // outlives the Encoder.
  static Result<Encoder> Create(const LinkageSchema& schema, const LinkageKey& key,
                                RandomSource* blip_random = nullptr);
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();

  const LinkageSchema& schema() const;
  // The header CLK sets made by this encoder carry.
  ClkHeader Header() const;
  int output_bits() const;
  size_t output_words() const { return static_cast<size_t>(output_bits()) / 64; }

  // Encodes one record. values[i] is the raw value of schema().fields[i] (nullopt = missing).
  // Writes output_words() words to `clk` and the record's blocking keys to `block_keys`.
  // `report`, when given, has one entry per field and is incremented.
  // REQUIRES: values.size() == schema().fields.size(), clk.size() == output_words().
  void Encode(std::span<const std::optional<std::string_view>> values, std::span<uint64_t> clk,
              std::vector<uint64_t>* block_keys, std::vector<FieldReport>* report = nullptr) const;

  // The tokens of a value of field `field` after normalisation (empty when missing); for tests
  // and for explaining an encoding.
  std::vector<std::string> Tokens(size_t field, std::string_view value) const;
  // The Bloom filter positions of one token of a field (before hardening).
  std::vector<uint32_t> Positions(size_t field, std::string_view token) const;

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh report with one entry per schema field.
std::vector<FieldReport> NewFieldReport(const LinkageSchema& schema);

}  // namespace passerelle::pprl
