// Features and outcomes of a cohort, in the style of OHDSI FeatureExtraction: the analysis table
// that the registry's analyses read at a node when a study names a "cohort" instead of a
// "dataset". One row per person of the cohort (their first cohort period; its start is the index
// date); no identifier column. Built by SQL inside the store: no row is read into this process.
//
// In a study file (docs/cohorts.md, "Study files"):
//   "cohort":     a native cohort definition, or {"atlas": <ATLAS cohort JSON>}
//   "covariates": [{"type": "age"}, {"type": "sex"},
//                  {"type": "condition", "concept_set": "hf", "window": {"start": -365,
//                   "end": -1}, "name": "prior_hf"},
//                  {"type": "measurement", "concepts": [3004410], "window": {...},
//                   "statistic": "latest_value", "name": "hba1c"},
//                  {"type": "visit", "window": {...}, "statistic": "count"}, ...]
//   "outcome":    {"type": "binary", "event": {...}, "window": {"start": 1, "end": 365}} or
//                 {"type": "time_to_event", "event": {...}, "window": {"start": 1},
//                  "censor_at": ["cohort_end", "death"]}
//
// Columns: age (INTEGER, year(index) - year_of_birth), sex (text "female"/"male"/"other") or
// female (0/1), one column per covariate (0/1 for "any", a count for "count", a DOUBLE for
// "latest_value", NULL when there is none), and the outcome (0/1 for binary; time (days) and event
// (0/1) for time to event). Names default as documented in docs/cohorts.md.
//
// Thread-safety: as the DataSource it borrows.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cohort/cohort.h"
#include "cohort/definition.h"
#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::cohort {

enum class CovariateType { kAge, kSex, kEvent };
enum class SexCoding {
  kLabel,   // text "female", "male" or "other"
  kFemale,  // 1 for gender concept 8532, else 0
  kMale,    // 1 for gender concept 8507, else 0
};
enum class Statistic {
  kAny,          // 0/1: at least one event in the window
  kCount,        // number of events in the window
  kLatestValue,  // value_as_number of the latest event in the window (measurement, observation)
};

struct CovariateSpec {
  CovariateType type = CovariateType::kAge;
  std::string name;                          // the column; unique; [a-z_][a-z0-9_]{0,62}
  SexCoding sex_coding = SexCoding::kLabel;  // kSex
  // kEvent:
  Domain domain = Domain::kCondition;
  std::string concept_set;  // a set of the cohort or of CohortStudySpec::concept_sets; "" = any
  Window window;            // on the event's start: days relative to the index date; absent
                            // bounds are unbounded
  std::optional<Window> end_window;  // also on the event's end (e.g. "ongoing at index")
  Statistic statistic = Statistic::kAny;
  friend bool operator==(const CovariateSpec&, const CovariateSpec&) = default;
};

enum class OutcomeType { kBinary, kTimeToEvent };

struct OutcomeSpec {
  OutcomeType type = OutcomeType::kBinary;
  EventCriteria event;
  // Risk window relative to the index date; absent end = until censoring.
  std::optional<int32_t> window_start = 1;
  std::optional<int32_t> window_end;
  // Time to event: censor at the cohort exit and at death (the end of observation always
  // censors: events after it are not recorded).
  bool censor_at_exit = true;
  bool censor_at_death = true;
  std::string column;        // binary: the 0/1 column ("outcome")
  std::string time_column;   // time to event ("time")
  std::string event_column;  // time to event ("event")
  friend bool operator==(const OutcomeSpec&, const OutcomeSpec&) = default;
};

struct CohortStudySpec {
  CohortDefinition cohort;
  // Concept sets written inline in covariates and the outcome ("concepts": [...]), with
  // generated ids that start with '_'.
  std::vector<ConceptSet> concept_sets;
  std::vector<CovariateSpec> covariates;
  std::optional<OutcomeSpec> outcome;
};

// Reads "cohort", "covariates" and "outcome" of a study object (other keys are the study file's
// and are ignored). `origin` names the input in errors ("study.json").
Result<CohortStudySpec> ParseCohortStudySpec(const nlohmann::json& study, std::string_view origin);
Result<CohortStudySpec> ParseCohortStudySpecText(std::string_view json_text,
                                                 std::string_view origin);

struct AnalysisColumn {
  std::string name;
  std::string type;         // "integer", "real" or "text"
  std::string description;  // e.g. "condition hf in [-365, -1] days: any"
};

struct AnalysisTableInfo {
  std::string table;
  int64_t rows = 0;  // persons
  std::vector<AnalysisColumn> columns;
  CohortCounts cohort;  // attrition of the cohort (node-local; not for release)
};

struct BuildOptions {
  // Prefix of the temporary work tables; [A-Za-z_][A-Za-z0-9_]*.
  std::string work_prefix = "_pf_";
  // Whether the analysis table is temporary. The node's SqlTable lists only non-temporary tables,
  // hence the default.
  bool temporary = false;
  // Schema holding the CDM tables; empty for the connection's default schema.
  std::string cdm_schema;
};

// Builds the cohort, then the analysis table `table_name` (replaced when it exists).
Result<AnalysisTableInfo> BuildAnalysisTable(store::DataSource& source, const CohortStudySpec& spec,
                                             std::string_view table_name,
                                             const BuildOptions& options);
Result<AnalysisTableInfo> BuildAnalysisTable(store::DataSource& source, const CohortStudySpec& spec,
                                             std::string_view table_name);

}  // namespace passerelle::cohort
