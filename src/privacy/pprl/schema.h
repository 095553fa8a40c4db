// The linkage schema: which columns identify a person, how each is normalised and tokenised, how
// many bits each token sets (its weight), the CLK length, the hardening applied, and the blocking
// keys. Every party of a linkage must use the same schema (and key); the schema's fingerprint is
// stored in CLK files so that a matcher refuses to compare encodings made differently.
// The JSON format is documented in docs/pprl.md; examples/pprl/febrl-schema.json is an example.
//
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::pprl {

// What a field holds; decides its normalisation.
enum class FieldType {
  kName,  // accents and case folded, letters and digits only ("Côté-Lefèvre" -> "cotelefevre")
  kText,  // accents and case folded, words separated by one space ("12, rue St-Denis" ->
          // "12 rue st denis")
  kCode,  // like kName: postcodes, codes ("H2X 1Y4" -> "h2x1y4")
  kDate,  // read with the field's date formats, canonical YYYYMMDD
};

// How a normalised value becomes tokens.
enum class Tokenizer {
  kBigrams,    // padded character bigrams: "anne" -> _a an nn ne e_ (by code point)
  kUnigrams,   // single characters (a transposition such as 2118 / 2181 keeps every token)
  kExact,      // the whole value is one token
  kDateParts,  // dates only: year, month, day and the whole date as four tokens
};

enum class HashFunction {
  kBlake2b,     // keyed BLAKE2b-512 (libsodium crypto_generichash)
  kHmacSha256,  // HMAC-SHA-256 (libsodium crypto_auth_hmacsha256)
};

struct FieldSpec {
  std::string name;    // unique in the schema; part of the per-field hashing key
  std::string column;  // input column (defaults to `name`)
  FieldType type = FieldType::kText;
  Tokenizer tokens = Tokenizer::kBigrams;
  // Bits set per token: the field's weight. 0 leaves the field out of the CLK (it can still feed
  // a blocking key). At most kMaxK.
  int k = 0;
  std::vector<std::string> date_formats;  // kDate only; empty = DefaultDateFormats()
  // Hashing domain (defaults to `name`): fields of one domain hash their tokens with the same key,
  // so a value that moved between them (given name and surname swapped, a frequent error) still
  // sets the same bits.
  std::string domain;

  const std::string& HashDomain() const { return domain.empty() ? name : domain; }
};

// Transformation of a field value into a blocking-key component.
enum class BlockTransform {
  kExact,    // the normalised value
  kSoundex,  // Soundex of the normalised value (names)
  kPrefix,   // the first `prefix` code points of the normalised value
  kYear,     // dates: the year
};

struct BlockingSpec {
  std::string name;  // unique; part of the hashed key, so two schemes never share a key
  struct Part {
    std::string field;  // a FieldSpec name
    BlockTransform transform = BlockTransform::kExact;
    int prefix = 0;  // kPrefix only
  };
  std::vector<Part> parts;  // a record gets this key only when every part is present
};

// Hardening applied after the Bloom filter is built, in this order (docs/pprl.md):
struct Hardening {
  // XOR folding (Schnell, Borgs and Encheva 2016): bit i of the output is bit i XOR bit i + L/2
  // of the filter; the CLK has L/2 bits. REQUIRES: bits % 128 == 0.
  bool xor_fold = false;
  // Balanced Bloom filter (Schnell and Borgs 2016): the filter followed by its
  // complement, permuted with a permutation derived from the linkage key; twice as long, and
  // every CLK has exactly half its bits set (the number of set bits no longer tells the length
  // of the identity).
  bool balance = false;
  // BLIP (Alaggan, Gambs and Kermarrec 2012; for PPRL Schnell and Borgs 2016): each output
  // bit flipped independently with this probability, from a cryptographic random source. Gives
  // each bit ln((1 - p) / p)-differential privacy. In [0, 0.5); 0 = off.
  double blip_flip_probability = 0.0;
};

struct LinkageSchema {
  static constexpr int kMaxK = 256;
  static constexpr int kMinBits = 64;
  static constexpr int kMaxBits = 16384;  // after hardening; the kernels count in 16 bits

  std::string id_column;  // the column that identifies a record in its file
  int bits = 1024;        // Bloom filter length L before hardening; multiple of 64
  HashFunction hash = HashFunction::kBlake2b;
  int default_k = 20;  // bits per token for fields without "k" or "weight"
  Hardening hardening;
  std::vector<FieldSpec> fields;
  std::vector<BlockingSpec> blocking;

  // CLK length after hardening.
  int OutputBits() const;
  // BLAKE2b-256 of a canonical description of everything that changes an encoding (not of the
  // JSON text: formatting and key order do not matter).
  std::array<uint8_t, 32> Fingerprint() const;
  // Checks the invariants documented on each field.
  Status Validate() const;
};

// Parses and validates a schema; errors name the file (`label`) and the offending key.
Result<LinkageSchema> ParseSchema(std::string_view json_text, std::string_view label = "schema");
Result<LinkageSchema> ReadSchemaFile(const std::filesystem::path& path);

}  // namespace passerelle::pprl
