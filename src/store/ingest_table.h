// Ingest of a flat research table (cohort-study style: one row per participant or per
// observation) from CSV or Parquet into a node database, through DuckDB's own readers: column
// types inferred from the whole file, empty fields read as missing, column names kept exactly as
// written ("age.60", "LAB_TSC"). Several tables can live in one database.
// Thread-safety: as DataSource.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::store {

struct TableIngestOptions {
  std::string name;            // dataset (table) name; see ValidateDatasetName
  std::filesystem::path from;  // .csv (optionally .csv.gz) or .parquet
  bool replace = false;        // replace a table of the same name instead of refusing
  // Field values read as missing in CSV, besides the empty field.
  std::vector<std::string> extra_null_strings;
  char delimiter = ',';
};

struct TableIngestReport {
  std::string name;
  int64_t rows = 0;
  Schema columns;
};

// Loads the file as one transaction: on any error the database is unchanged.
Result<TableIngestReport> IngestTable(DataSource& source, const TableIngestOptions& options);

}  // namespace passerelle::store
