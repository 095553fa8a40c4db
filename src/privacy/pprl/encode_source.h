// Node side of PPRL: encodes the records of a data source (a query of the node's store, or a CSV
// file read by DuckDB's read_csv) into a ClkSet. Kept in its own target (passerelle_pprl_source)
// because it uses src/store, which the hub must never link; the rest of PPRL (passerelle_pprl)
// does not.
//
// Columns are found by name (surrounding spaces ignored, as in FEBRL's ", given_name" headers);
// every value is read as text. The id column must be present, non-empty and unique: errors give
// the row number, never a value.
//
// Thread-safety: one call per DataSource at a time (DataSource's rule); the Encoder is shared
// read-only unless BLIP is on (encoder.h).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "privacy/pprl/clk_set.h"
#include "privacy/pprl/encoder.h"

namespace passerelle::store {
class DataSource;
}

namespace passerelle::pprl {

struct EncodeReport {
  size_t records = 0;
  std::vector<FieldReport> fields;  // counts only, per schema field
};

// Encodes every row `sql` returns (it must return the schema's id and field columns).
Result<ClkSet> EncodeQuery(const Encoder& encoder, store::DataSource& source, std::string_view sql,
                           EncodeReport* report = nullptr);

// Encodes a CSV file with a header line, read through an in-memory DuckDB (read_csv, every column
// as text, empty = missing).
Result<ClkSet> EncodeCsvFile(const Encoder& encoder, const std::filesystem::path& csv,
                             char delimiter = ',', EncodeReport* report = nullptr);

}  // namespace passerelle::pprl
