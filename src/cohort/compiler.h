// Compilation of a cohort definition to SQL for a store dialect. The script builds work tables
// (temporary, named with a prefix) step by step as Circe does — concept sets, entry events,
// qualified events, inclusion-rule flags, included events, exits, eras — and writes the cohort
// table (subject_id, cohort_start_date, cohort_end_date). It runs inside the node's store: no row
// leaves it; only the attrition query's counts are read back.
//
// Backend differences (date arithmetic, types, table statements) go through store::Dialect, so a
// PostgreSQL store needs no change here.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "cohort/definition.h"
#include "common/status.h"
#include "store/dialect.h"

namespace passerelle::cohort {

struct CompileOptions {
  // Prefix of the temporary work tables; [A-Za-z_][A-Za-z0-9_]*. Two cohorts built in the same
  // session at the same time need different prefixes.
  std::string work_prefix = "_pc_";
  // The cohort table written: subject_id BIGINT, cohort_start_date DATE, cohort_end_date DATE.
  // Replaced when it exists. Not "cohort": that is a CDM 5.4 table of its own.
  std::string result_table = "_pc_cohort";
  // Whether the cohort table is temporary (dropped when the connection closes).
  bool temporary_result = true;
  // Schema holding the CDM tables; empty for the connection's default schema.
  std::string cdm_schema;
};

struct CompiledCohort {
  // Run in order: they drop leftovers, create the work tables and the cohort table.
  std::vector<std::string> statements;
  // One row of counts once `statements` ran (read by GenerateCohort; see AttritionColumns()).
  std::string attrition_query;
  // Drop the work tables (the cohort table stays).
  std::vector<std::string> cleanup;
  int rule_count = 0;

  // Everything as one script, statements ending in ";", for `passerelle cohort sql`.
  std::string Script() const;
};

Result<CompiledCohort> CompileCohort(const CohortDefinition& definition,
                                     const store::Dialect& dialect,
                                     const CompileOptions& options = {});

// Names of the attrition query's columns, in order, for `rule_count` rules.
std::vector<std::string> AttritionColumns(int rule_count);

}  // namespace passerelle::cohort
