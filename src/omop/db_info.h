// What a node database holds: the OMOP CDM (persons, table row counts, observation date range)
// and the flat research tables (rows, columns). Read-only. Thread-safety: as DataSource.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::omop {

struct DbInfo {
  struct Omop {
    int64_t persons = 0;
    std::optional<int32_t> first_date, last_date;         // days since epoch
    std::vector<std::pair<std::string, int64_t>> tables;  // CDM table -> rows, spec order
  };
  struct Table {
    std::string name;
    int64_t rows = 0;
    store::Schema columns;
    std::string source;  // the file it was ingested from, when recorded
  };
  std::optional<Omop> omop;
  std::vector<Table> tables;  // flat tables, by name
};

Result<DbInfo> ReadDbInfo(store::DataSource& source);

// {"omop": {"persons": N, "first_date": "...", "last_date": "...", "tables": {"person": N, ...}}
//  | null, "tables": {"NAME": {"rows": N, "columns": [{"name":..., "type":...}], "source": ...}}}
std::string DbInfoToJson(const DbInfo& info);
// A readable summary for a terminal.
std::string DbInfoToText(const DbInfo& info, std::string_view db_label);

}  // namespace passerelle::omop
