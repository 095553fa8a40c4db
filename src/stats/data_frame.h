// Plain in-memory columns: what a node hands to the statistics layer (its analysis table).
//
// A DataFrame is a list of named columns of equal length. A column is numeric (std::vector<double>,
// NaN marks a missing value, as R's NA) or of strings (with a parallel missing flag). Nothing here
// reads files or databases: the node fills a DataFrame from its store and passes it in.
//
// Thread-safety: a value type; const access from several threads is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::stats {

struct DataColumn {
  std::string name;
  bool is_string = false;
  // !is_string: the values; NaN is a missing value (R's NA).
  std::vector<double> numbers;
  // is_string: the values.
  std::vector<std::string> strings;
  // is_string: 1 marks a missing value; empty means that no value is missing.
  std::vector<uint8_t> missing;

  static DataColumn Numeric(std::string name, std::vector<double> values);
  static DataColumn String(std::string name, std::vector<std::string> values,
                           std::vector<uint8_t> missing = {});

  size_t size() const { return is_string ? strings.size() : numbers.size(); }
  bool IsMissing(size_t row) const;
};

class DataFrame {
 public:
  DataFrame() = default;

  // Adds a column. Errors: an empty or duplicate name, a length different from the other
  // columns', a string column whose `missing` flags are neither empty nor of its length.
  Status AddColumn(DataColumn column);

  // The column called `name`, or null.
  const DataColumn* Find(std::string_view name) const;
  // Like Find, with an error that names the column and the available ones.
  Result<const DataColumn*> Get(std::string_view name) const;

  // Frees the values of column `name` (it keeps its name and the frame its row count; reading
  // its values afterwards is a programming error) and returns the bytes freed. No-op for an
  // unknown name.
  size_t ReleaseColumnData(std::string_view name);

  size_t rows() const { return rows_; }
  const std::vector<DataColumn>& columns() const { return columns_; }

 private:
  std::vector<DataColumn> columns_;
  size_t rows_ = 0;
};

// Asks the allocator to return freed memory to the system (glibc: malloc_trim; a no-op
// elsewhere). It walks the heap: call it after freeing a lot, not after every free.
void ReturnFreedMemory();

}  // namespace passerelle::stats
