// The hub's catalog of datasets: what each node publishes about the data it holds (never the data
// itself), and the search researchers use to choose the datasets an application requests.
//
// A description carries counts only after the node's own disclosure rules (ProtectCounts, run by
// the node before publishing): a count below the node's minimum cell size is published as
// "suppressed", the others rounded. The hub refuses a description with a count it would not
// publish itself (CheckCountsProtected with the hub's minimum).
//
// Search: words (title, description, population, keywords, table and variable names and
// descriptions, concepts), variables (exact names) and concepts (exact codes such as
// "SNOMED:44054006" or "ICD10:E11"). With SQLite's FTS5 (Debian's libsqlite3 has it) words are
// matched by prefix, case- and accent-insensitively (unicode61, remove_diacritics 2) and ranked by
// BM25; without it, a LIKE scan matches ASCII-case-insensitive substrings, unranked.
//
// Thread-safety: descriptions are values; a CatalogStore belongs to one thread at a time (as its
// SqliteDb).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "governance/types.h"

namespace passerelle::governance {

// A count as published: a number (already protected by the node), or suppressed.
struct PublishedCount {
  std::optional<int64_t> value;  // absent: suppressed (below the node's minimum cell size)
  bool suppressed() const { return !value.has_value(); }
};

struct CatalogVariable {
  std::string name;
  std::string type;  // "integer", "double", "string", "date", "boolean", ...
  std::string description;
  std::vector<std::string> concepts;       // vocabulary codes, "SNOMED:44054006"
  std::optional<PublishedCount> non_null;  // persons/rows with a value
};

struct CatalogTable {
  std::string name;
  std::string description;
  std::optional<PublishedCount> rows;
  std::vector<CatalogVariable> variables;
};

// One dataset of one node. JSON form (docs/governance.md, "Catalog"): {"node", "name", "title",
// "description", "population", "coverage": {"from": "YYYY-MM-DD", "to": ...}, "keywords": [...],
// "persons": 1230 | "suppressed", "tables": [{"name", "description", "rows", "variables":
// [{"name", "type", "description", "concepts": [...], "non_null"}]}]}.
struct DatasetDescription {
  std::string node;  // the publishing node's id
  std::string name;  // dataset name at that node ([a-z0-9._-], as ValidateId)
  std::string title;
  std::string description;
  std::string population;  // who is in it: "adults with type 2 diabetes, Québec, 2015-2023"
  std::optional<int32_t> coverage_from;  // days since the epoch
  std::optional<int32_t> coverage_to;
  std::vector<std::string> keywords;
  std::optional<PublishedCount> persons;
  std::vector<CatalogTable> tables;
  // Set by the store.
  std::optional<Jurisdiction> jurisdiction;  // of the node's organisation
  int64_t published_at = 0;                  // micros
  int64_t version = 0;                       // 1 for the first publication, +1 each time

  // "node/name".
  std::string Ref() const { return node + "/" + name; }
};

// Strict parse: unknown keys, wrong types, bad dates, negative counts are refused, naming the
// field. Store-set fields (jurisdiction, published_at, version) are ignored when present.
Result<DatasetDescription> ParseDatasetDescription(std::string_view json_text);
std::string DatasetDescriptionToJson(const DatasetDescription& d);

// The node's rule for counts it publishes.
struct CountDisclosure {
  // A count in [1, min_cell) is suppressed. 0 is published as 0.
  int64_t min_cell = 10;
  // Counts are rounded to the nearest multiple of this (1: no rounding).
  int64_t round_to = 10;
};
// Applies `rule` to every count of `d` (node side, before publishing).
void ProtectCounts(DatasetDescription& d, const CountDisclosure& rule);
// Fails, naming the field, when a count of `d` is in [1, min_cell) (hub side, on publish).
Status CheckCountsProtected(const DatasetDescription& d, int64_t min_cell);

struct CatalogQuery {
  std::string text;                    // words, all must match (empty: any)
  std::vector<std::string> variables;  // exact variable names, all must be present
  std::vector<std::string> concepts;   // exact concept codes, all must be present
  std::optional<Jurisdiction> jurisdiction;
  int limit = 50;  // at most this many hits (1..1000)
};

struct CatalogHit {
  std::string node;
  std::string name;
  std::string title;
  std::optional<Jurisdiction> jurisdiction;
  double score = 0;  // higher is better (FTS5: -bm25); 0 without FTS5
};

enum class CatalogSearchMode {
  kAuto,  // FTS5 when this SQLite has it, else LIKE
  kFts5,  // fail to open when FTS5 is missing
  kLike,  // never FTS5
};

struct CatalogOptions {
  CatalogSearchMode search = CatalogSearchMode::kAuto;
  // The hub's minimum cell size for published counts (CheckCountsProtected).
  int64_t min_cell = 10;
};

class CatalogStore {
 public:
  // Creates the catalog tables in `db` (component "catalog"). `db` and `clock` outlive the store.
  static Result<std::unique_ptr<CatalogStore>> Open(SqliteDb& db, Clock& clock,
                                                    const CatalogOptions& options = {});

  // Publishes (or replaces) a description; sets jurisdiction, published_at and version.
  // REQUIRES: the caller checked that the publisher may publish for d.node.
  Result<DatasetDescription> Publish(DatasetDescription d,
                                     std::optional<Jurisdiction> jurisdiction);
  Result<DatasetDescription> Get(std::string_view node, std::string_view name);
  Result<bool> Exists(std::string_view node, std::string_view name);
  Result<std::vector<CatalogHit>> Search(const CatalogQuery& query);
  // Every dataset, ordered by node then name.
  Result<std::vector<CatalogHit>> List();

  bool uses_fts5() const { return fts5_; }

 private:
  CatalogStore(SqliteDb& db, Clock& clock, CatalogOptions options, bool fts5)
      : db_(db), clock_(clock), options_(options), fts5_(fts5) {}
  Status IndexFts(const DatasetDescription& d);
  SqliteDb& db_;
  Clock& clock_;
  CatalogOptions options_;
  bool fts5_;
};

}  // namespace passerelle::governance
