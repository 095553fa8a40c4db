// SQL fragments shared by the cohort compiler and the feature builder: CDM table references,
// concept-set expansion, event queries per domain, ranges, era collapsing. Internal to
// src/cohort; every backend difference goes through store::Dialect.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cohort/definition.h"
#include "store/dialect.h"

namespace passerelle::cohort::internal {

// Where a domain's events live in the CDM.
struct DomainTable {
  std::string_view table;        // CDM table
  std::string_view key;          // row id column (person_id for death)
  std::string_view concept_col;  // standard concept column; empty for observation_period
  std::string_view start;        // start date column
  std::string_view end;          // end date column; empty when the table has none
  std::string_view visit;        // visit_occurrence_id column; empty when none
  std::string_view value;        // value_as_number column; empty when none
  int order;                     // tie-break between domains on the same day
};
const DomainTable& TableOf(Domain domain);

class SqlParts {
 public:
  SqlParts(const store::Dialect& dialect, std::string cdm_schema)
      : d_(dialect), cdm_schema_(std::move(cdm_schema)) {}

  const store::Dialect& dialect() const { return d_; }
  // A CDM table, schema-qualified when a schema is set, quoted.
  std::string Cdm(std::string_view table) const;
  std::string Q(std::string_view identifier) const { return d_.QuoteIdentifier(identifier); }
  std::string AddDays(std::string_view date, int64_t days) const;

  // SELECT codeset_id, concept_id: the expansion of `set` (see definition.h), tagged `codeset_id`.
  std::string CodesetSelect(const ConceptSet& set, int codeset_id) const;
  // The end date of a row `alias` of the domain's table, as Circe: a missing end is the day after
  // the start (drugs: start + days_supply first).
  std::string EndExpr(Domain domain, std::string_view alias) const;
  // A SELECT of the events matching `event` with columns person_id, event_key, start_date,
  // end_date, concept_id, visit_occurrence_id, domain_order. `codeset_id` < 0 means any concept;
  // otherwise concepts are read from `codesets_table` (a work table of CodesetSelect rows).
  std::string EventSelect(const EventCriteria& event, int codeset_id,
                          std::string_view codesets_table) const;
  // `expr` tested against every term of `range` ("TRUE" when empty).
  std::string RangeSql(const Range& range, std::string_view expr, bool dates) const;
  // Age at a date: year(date) - year_of_birth (as Circe and FeatureExtraction).
  std::string AgeSql(std::string_view date_expr, std::string_view person_alias) const;
  // Collapses (person_id, start_date, end_date) rows of `input` (a SELECT or table) into eras:
  // periods that overlap or lie within `pad_days` merge; the era end is the last end.
  std::string CollapseSelect(std::string_view input, int32_t pad_days) const;

  static std::string IdList(const std::vector<int64_t>& ids);

 private:
  const store::Dialect& d_;
  std::string cdm_schema_;
};

}  // namespace passerelle::cohort::internal
