// Running a cohort definition in a node's store: compiles it (compiler.h), runs the statements in
// the store, reads back the attrition counts and drops the work tables. The cohort table
// (subject_id, cohort_start_date, cohort_end_date) stays in the store for the feature builder; no
// row of it is read into this process.
//
// Attrition, as ATLAS reports it "by event": entry events, qualified events, then after each
// inclusion rule the events (and persons) passing that rule and all rules before it, plus the
// events passing the rule alone; then included events (after the inclusion limit) and the final
// eras. Counts are exact: they are for the data steward at the node (`passerelle cohort count`),
// not for release; anything that leaves the node goes through an analysis and its disclosure
// rules.
//
// Thread-safety: as the DataSource it borrows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cohort/compiler.h"
#include "cohort/definition.h"
#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::cohort {

struct RuleAttrition {
  std::string name;
  int64_t events = 0;        // qualified events passing rules 1..i
  int64_t persons = 0;       // persons with such an event
  int64_t alone_events = 0;  // qualified events passing rule i (whatever the others)
  int64_t alone_persons = 0;
};

struct CohortCounts {
  int64_t entry_events = 0;
  int64_t entry_persons = 0;
  int64_t qualified_events = 0;
  int64_t qualified_persons = 0;
  std::vector<RuleAttrition> rules;
  int64_t included_events = 0;
  int64_t included_persons = 0;
  int64_t cohort_eras = 0;  // rows of the cohort table
  int64_t cohort_persons = 0;
};

// Builds the cohort table `options.result_table` in `source` and returns the attrition.
// REQUIRES: the CDM tables exist in `source` (omop::IngestOmop creates all of them).
Result<CohortCounts> GenerateCohort(store::DataSource& source, const CohortDefinition& definition,
                                    const CompileOptions& options = {});

// A table for a terminal: the final count, and with `by_rule` the attrition rule by rule.
std::string CountsToText(const CohortCounts& counts, bool by_rule);
// {"entry": {"events": N, "persons": N}, "qualified": {...}, "rules": [{"name": ..., "events":
// N, "persons": N, "alone_events": N, "alone_persons": N}], "included": {...},
// "cohort": {"eras": N, "persons": N}}
std::string CountsToJson(const CohortCounts& counts);

}  // namespace passerelle::cohort
