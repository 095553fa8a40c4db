// Pseudonymisation at ingest: source identifiers are replaced by a keyed hash, dates optionally
// shifted by a per-person offset, free-text fields dropped, all before a value is written to the
// node's database, so the original identifiers never reach the database file.
//
// The site secret lives in a key file outside the database (WriteNewSiteKeyFile, mode 0600):
//   line 1  "passerelle-site-key-v1"
//   line 2  64 hexadecimal digits (32 random bytes)
// Two keys are derived from it: K_id = HMAC-SHA256(site, "passerelle pseudonym v1") and
// K_date = HMAC-SHA256(site, "passerelle date shift v1").
//
//   pseudonym(v)   = lower-case hex of the first 16 bytes of HMAC-SHA256(K_id, text(v))
//                    (32 characters; the same value gets the same pseudonym in every table and
//                    every ingest with the same key, so joins and re-loads keep working)
//   shift(person)  = (first 8 bytes of HMAC-SHA256(K_date, text(person_id)) as a big-endian
//                    integer) mod (2D + 1) - D days, for --shift-dates D: the same for every date
//                    of a person, so intervals within a person are kept exactly.
// text(v) is the value's text as DuckDB casts it to VARCHAR (an integer in decimal).
//
// The rewrite happens inside the ingest's INSERT ... SELECT as DuckDB SQL (HMAC built from
// sha256() over blobs), so nothing is written before it is pseudonymised; Pseudonym() and
// DateShiftDays() are the C++ reference the tests compare the SQL against.
//
// OMOP CDM columns (OmopRules(); docs/privacy.md explains each):
//   pseudonymised: person.person_source_value, provider.provider_source_value, provider.npi,
//     provider.dea, care_site.care_site_source_value, location.location_source_value,
//     visit_occurrence.visit_source_value, visit_detail.visit_detail_source_value,
//     note.note_source_value, specimen.specimen_source_id, payer_plan_period.family_source_value,
//     device_exposure.unique_device_id, device_exposure.production_id
//   dropped (stored as NULL): note.note_text, note.note_title, note_nlp.snippet,
//     note_nlp.lexical_variant, provider.provider_name, location.address_1, location.address_2,
//     location.latitude, location.longitude, drug_exposure.sig, drug_exposure.stop_reason,
//     condition_occurrence.stop_reason, observation.value_as_string
//   shifted (with --shift-dates): every DATE and TIMESTAMP column of a table with a person_id;
//     person's year/month/day_of_birth are recomputed from the shifted birth date.
// person_id and the other *_id columns are surrogate keys and are kept (a site whose person_id
// is a real identifier must renumber before export).
// Flat tables: the columns named by --id-columns are pseudonymised (the first is the person for
// date shifting), --drop-columns are dropped, and every DATE/TIMESTAMP column is shifted.
//
// Thread-safety: a Pseudonymizer is immutable and may be shared; functions are pure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"

namespace passerelle::privacy {

inline constexpr std::string_view kSiteKeyHeader = "passerelle-site-key-v1";

struct SiteKey {
  crypto::Bytes32 bytes{};
  SiteKey() = default;
  SiteKey(const SiteKey&) = default;
  SiteKey& operator=(const SiteKey&) = default;
  ~SiteKey() { crypto::SecureZero(bytes); }
};

// Creates `path` with a fresh key, readable and writable by its owner only (0600). Refuses to
// overwrite an existing file (a new key would give every person a new pseudonym).
Status WriteNewSiteKeyFile(const std::filesystem::path& path, RandomSource& random);
// Reads a key file; refuses one that group or others may read or write.
Result<SiteKey> ReadSiteKeyFile(const std::filesystem::path& path);
// The parser of a key file's text (`source` names it in errors); what ReadSiteKeyFile uses.
Result<SiteKey> ParseSiteKeyText(std::string_view text, std::string_view source);

struct PseudonymKeys {
  crypto::Bytes32 id_key{};
  crypto::Bytes32 date_key{};
  ~PseudonymKeys() {
    crypto::SecureZero(id_key);
    crypto::SecureZero(date_key);
  }
};
PseudonymKeys DerivePseudonymKeys(const SiteKey& key);

// C++ reference of the SQL (see above).
std::string Pseudonym(const PseudonymKeys& keys, std::string_view value);
int32_t DateShiftDays(const PseudonymKeys& keys, std::string_view person, int32_t max_days);

// A column on its way into the database.
struct RewriteColumn {
  std::string name;      // column name in the target table (CDM name for OMOP)
  std::string expr;      // SQL expression that reads it from the source
  std::string sql_type;  // DATE, TIMESTAMP, VARCHAR, BIGINT, DOUBLE, BOOLEAN, ...
};

struct PseudonymizeOptions {
  // Largest date shift in days (D above); 0 = dates unchanged. At most 3650.
  int32_t shift_dates_max_days = 0;
  // Flat tables: columns replaced by pseudonyms; the first is the person key for date shifting.
  std::vector<std::string> id_columns;
  // Flat tables: free-text columns stored as NULL.
  std::vector<std::string> drop_columns;
};

enum class ColumnAction { kKeep, kPseudonymize, kDrop, kShiftDate };

struct OmopColumnRule {
  std::string_view table;
  std::string_view column;
  ColumnAction action;  // kPseudonymize or kDrop
};
// The OMOP CDM 5.4 identifier and free-text columns listed above.
std::span<const OmopColumnRule> OmopRules();

class Pseudonymizer {
 public:
  static Result<Pseudonymizer> ForOmop(const SiteKey& key, const PseudonymizeOptions& options);
  static Result<Pseudonymizer> ForTable(const SiteKey& key, const PseudonymizeOptions& options);

  // For each column of `table` as read, the SQL expression to store (its own `expr` when
  // unchanged), in the same order. Flat tables: fails when an --id-columns/--drop-columns name
  // is not a column, or dates are to be shifted without a person column.
  Result<std::vector<std::string>> RewriteColumns(std::string_view table,
                                                  const std::vector<RewriteColumn>& columns) const;

  // DuckDB SQL for a pseudonym of `value_expr` and for the shift in days (INTEGER) of a person.
  std::string PseudonymSql(std::string_view value_expr) const;
  std::string DateShiftSql(std::string_view person_expr) const;

 private:
  Pseudonymizer(bool omop, const SiteKey& key, PseudonymizeOptions options);
  bool omop_;
  PseudonymizeOptions options_;
  std::string id_ipad_hex_, id_opad_hex_, date_ipad_hex_, date_opad_hex_;
};

}  // namespace passerelle::privacy
