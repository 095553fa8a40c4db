// The dataset registry of a node database: the table `_passerelle_datasets` records each dataset
// that was ingested (an OMOP CDM or a flat research table), where it came from and its size.
// `db info`, the catalog and the node read it. Thread-safety: as DataSource.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::store {

inline constexpr std::string_view kDatasetsTable = "_passerelle_datasets";

struct DatasetRecord {
  std::string name;    // the table name for flat tables; "omop" for the CDM
  std::string kind;    // "omop" or "table"
  std::string source;  // file or folder it was loaded from (file name only)
  int64_t rows = 0;    // rows of a flat table; persons of an OMOP CDM
  int64_t loaded_at_micros = 0;
};

Status EnsureDatasetRegistry(DataSource& source);
// Inserts or replaces the record with the same name.
Status RecordDataset(DataSource& source, const DatasetRecord& record);
Status ForgetDataset(DataSource& source, std::string_view name);
// Empty when the registry does not exist.
Result<std::vector<DatasetRecord>> ListDatasets(DataSource& source);

// Whether `name` is acceptable as a dataset/table name: [A-Za-z_][A-Za-z0-9_]{0,62}, not starting
// with "_passerelle". Returns an error that says why not.
Status ValidateDatasetName(std::string_view name);

}  // namespace passerelle::store
