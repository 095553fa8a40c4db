// Ingest of an OMOP CDM 5.4 extract — a folder or a zip of CSV files, one per table, file names
// in any case — into typed CDM tables of a node database, through DuckDB's own CSV reader.
//
// What it checks, as a data steward would:
//   errors (nothing is loaded):  a missing PERSON file; a file with a missing required column;
//     a value that does not parse as its column's type (file, line and column named); a missing
//     person_id; an event whose person is not in PERSON; a person_id twice in PERSON.
//   warnings (loaded, reported): events dated outside every observation period of their person;
//     end dates before start dates; concept ids absent from the loaded vocabulary; empty values in
//     other required columns; files and columns that are not part of CDM 5.4 (ignored).
// Absent optional tables and empty files are allowed. The whole ingest is one transaction.
//
// Thread-safety: as DataSource.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"
#include "store/ingest_table.h"

namespace passerelle::omop {

struct OmopIngestOptions {
  std::filesystem::path from;  // a folder of CSV files or a .zip of them
  bool replace = false;        // replace CDM tables already in the database instead of refusing
  // Receives one human-readable line per step ("measurement: 10040 rows"); may be empty.
  std::function<void(std::string_view)> progress;
  // Optional rewrite of each CDM table's columns on their way in (pseudonymisation,
  // privacy/pseudonymize.h); the table name given is the CDM name. Empty = store as read.
  store::ColumnRewrite rewrite;
};

struct OmopTableReport {
  std::string table;  // CDM table name
  std::string file;   // file name it came from
  int64_t rows = 0;
};

struct OmopIngestReport {
  std::vector<OmopTableReport> tables;
  std::vector<std::string> warnings;
  int64_t persons = 0;
  std::optional<int32_t> first_date, last_date;  // observation period range (days since epoch)
};

// Loads the extract into `source` as one transaction: on error the database is unchanged.
Result<OmopIngestReport> IngestOmop(store::DataSource& source, const OmopIngestOptions& options);

}  // namespace passerelle::omop
