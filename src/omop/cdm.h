// The OMOP Common Data Model 5.4: its tables, their columns, types and required (NOT NULL)
// columns, as published in the CDM 5.4 specification (OHDSI CommonDataModel, field level), plus
// the facts about event tables that ingest checks and cohorts need.
//
// Types: the specification's `integer` columns are stored as BIGINT (the CDM allows bigint ids
// and Québec/French identifiers do not fit 32 bits), `NUMERIC` as DOUBLE, `varchar(n)`/`TEXT` as
// VARCHAR, `date` as DATE and `datetime` as TIMESTAMP.
//
// Thread-safety: immutable tables built on first use; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/dialect.h"

namespace passerelle::omop {

enum class CdmType { kInteger, kNumeric, kVarchar, kDate, kTimestamp };

struct CdmColumn {
  std::string name;
  CdmType type;
  bool required;  // NOT NULL in the specification
};

struct CdmTable {
  std::string name;  // lower case, as in the specification
  std::string
      category;  // clinical, health_system, economics, derived, metadata, vocabulary, results
  std::vector<CdmColumn> columns;
  // For event tables: the date an event happens on (checked against observation periods) and,
  // where the table has one, the end date. Empty otherwise.
  std::string start_date;
  std::string end_date;

  const CdmColumn* FindColumn(std::string_view column) const;
  bool HasPersonId() const { return FindColumn("person_id") != nullptr; }
};

// All 39 tables of CDM 5.4, in the specification's order.
const std::vector<CdmTable>& CdmTables();
// Case-insensitive look-up; null when `name` is not a CDM table.
const CdmTable* FindCdmTable(std::string_view name);

// SQL type of a CDM column in `dialect`.
std::string_view SqlType(CdmType type, const store::Dialect& dialect);
// CREATE TABLE statement for `table` (no constraints: checks are done by ingest, with messages).
std::string CreateTableSql(const CdmTable& table, const store::Dialect& dialect);

}  // namespace passerelle::omop
