// Turns DuckDB's CSV reader errors into one clear line that names the file, the line and the
// column, and never repeats the offending row or value (a row of a site's data must not reach a
// log or a terminal it was not meant for).
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::store {

// E.g. "PERSON.csv: line 4, column \"year_of_birth\": not a valid BIGINT".
std::string DescribeCsvError(std::string_view file_label, std::string_view duckdb_message);

}  // namespace passerelle::store
