// Ingest of a flat research table (cohort-study style: one row per participant or per
// observation) from CSV or Parquet into a node database, through DuckDB's own readers: column
// types inferred from the whole file, empty fields read as missing, column names kept exactly as
// written ("age.60", "LAB_TSC"). Several tables can live in one database.
// Thread-safety: as DataSource.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::store {

// A column on its way into the database: its name in the target table, the SQL expression that
// reads it from the source, and its SQL type (DATE, TIMESTAMP, VARCHAR, BIGINT, DOUBLE, ...).
struct IngestColumn {
  std::string name;
  std::string expr;
  std::string sql_type;
};
// An optional rewrite of the columns inside the ingest's INSERT/CREATE ... SELECT (used for
// pseudonymisation, privacy/pseudonymize.h): given the target table and its columns as read,
// returns the SQL expression to store for each column, in order. The values as read are never
// written to the database when a rewrite is set.
using ColumnRewrite = std::function<Result<std::vector<std::string>>(
    std::string_view table, const std::vector<IngestColumn>& columns)>;

struct TableIngestOptions {
  std::string name;            // dataset (table) name; see ValidateDatasetName
  std::filesystem::path from;  // .csv (optionally .csv.gz) or .parquet
  bool replace = false;        // replace a table of the same name instead of refusing
  // Field values read as missing in CSV, besides the empty field.
  std::vector<std::string> extra_null_strings;
  char delimiter = ',';
  // Optional rewrite of the columns (pseudonymisation); empty = store them as read.
  ColumnRewrite rewrite;
};

struct TableIngestReport {
  std::string name;
  int64_t rows = 0;
  Schema columns;
};

// Loads the file as one transaction: on any error the database is unchanged.
Result<TableIngestReport> IngestTable(DataSource& source, const TableIngestOptions& options);

}  // namespace passerelle::store
