// What a node publishes about its data to the hub's catalog (governance/catalog.h): one
// description per dataset it serves, built from its own database (tables, variables, counts,
// OMOP person count, coverage dates and the concepts it holds) plus the custodian's words
// (title, description, population, keywords, concepts of flat variables) from node.toml
// `[catalog]` or a JSON file named there. Every count goes through the node's disclosure rule
// (ProtectCounts with [policy] min_cell) before it leaves the node; an OMOP concept is listed
// only when at least min_cell persons have it.
//
// node.toml:
//   [catalog]
//   publish = true                # at node start (default true); `passerelle node publish` always
//   round_to = 10                 # counts rounded to a multiple of this (default 10)
//   file = "catalog.json"         # optional: {"datasets": {"<name>": {...as below...}}}
//   [catalog.datasets.<name>]     # <name>: a flat table of the database, or "omop"
//   title = "...", description = "...", population = "...", keywords = ["...", ...]
//   concepts.<variable> = ["LOINC:4548-4", ...]   # concept codes of a flat table's variable
// A dataset the node serves but the custodian did not describe is published with its name as
// title and only the computed parts.
//
// Thread-safety: functions only; the DataSource is used by the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "crypto/tls.h"
#include "governance/catalog.h"
#include "store/data_source.h"

namespace passerelle::node {

// The custodian's words for one dataset.
struct CatalogEntryText {
  std::string title;
  std::string description;
  std::string population;
  std::vector<std::string> keywords;
  std::map<std::string, std::vector<std::string>> concepts;  // variable -> codes
};

struct CatalogPublishOptions {
  // Publish at node start (`passerelle node`); `passerelle node publish` ignores it.
  bool publish_at_start = true;
  // Descriptions by dataset name (merged from the JSON file and node.toml; node.toml wins).
  std::map<std::string, CatalogEntryText> datasets;
  // The node's disclosure rule: min_cell from [policy], round_to from [catalog] (default 10).
  governance::CountDisclosure disclosure;
  // The datasets the node serves ([policy] datasets; empty: every flat table, and "omop" when
  // the database holds an OMOP CDM).
  std::vector<std::string> served;
  // At most this many concepts listed per OMOP concept column.
  int max_concepts_per_variable = 500;
};

// Reads [catalog] (and the file it names, relative to `base_dir`) plus [policy] min_cell and
// datasets.
Result<CatalogPublishOptions> LoadCatalogConfig(const Config& config,
                                                const std::filesystem::path& base_dir);

// Builds the descriptions of the datasets `node_id` serves from `db`, counts already protected.
Result<std::vector<governance::DatasetDescription>> BuildCatalog(
    store::DataSource& db, const std::string& node_id, const CatalogPublishOptions& options);

// PUTs each description to the hub (/v1/catalog/{node}/{name}) with the node's certificate.
// Returns how many were published; fails at the first refusal, naming the dataset.
Result<int> PublishCatalog(const std::vector<governance::DatasetDescription>& descriptions,
                           const std::string& hub_url, const crypto::TlsMaterial& tls);

}  // namespace passerelle::node
