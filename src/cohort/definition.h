// Cohort definitions: the model of an OHDSI-style (Circe/ATLAS) cohort and its native JSON format.
// Front door of src/cohort with compiler.h (SQL), cohort.h (running it) and features.h (the
// analysis table). The format is documented in docs/cohorts.md; atlas.h imports ATLAS JSON into
// the same model.
//
// A cohort is found in four steps (as Circe does):
//   1. entry events: events of the listed domains whose concept is in a concept set, inside an
//      observation period with the required prior and post observation; the first, last or all
//      of them per person (`entry.limit`); optionally filtered by additional criteria;
//   2. inclusion rules: each rule is a group of criteria evaluated for each entry event (counts of
//      events in windows around the index date, age, sex, calendar period); an event stays when it
//      passes every rule; attrition counts are kept after each rule;
//   3. exit: at the end of the observation period, at a fixed offset from the index date, at the
//      end of continuous drug exposure (eras with an allowed gap), or at a censoring event;
//   4. the person's periods are collapsed into eras (overlapping or within `era_pad_days`).
//
// Concept matching: concept sets are expanded to standard concept ids through concept_ancestor
// (descendants) and concept_relationship ("Maps to", for `mapped` items) and matched against the
// standard *_concept_id columns of the CDM tables. A concept always matches itself, even when the
// vocabulary tables are empty.
//
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::cohort {

enum class Domain {
  kCondition,          // condition_occurrence
  kDrug,               // drug_exposure
  kProcedure,          // procedure_occurrence
  kMeasurement,        // measurement
  kObservation,        // observation
  kVisit,              // visit_occurrence
  kDeath,              // death
  kObservationPeriod,  // observation_period (no concept; e.g. "365 days of prior observation")
  kFixedDate,          // a calendar date, once per observation period that contains it (native)
};
// "condition", "drug", "procedure", "measurement", "observation", "visit", "death",
// "observation_period", "fixed_date".
std::string_view DomainName(Domain domain);
std::optional<Domain> DomainFromName(std::string_view name);

// One concept of a concept set.
struct ConceptItem {
  int64_t concept_id = 0;
  bool descendants = false;  // also its descendants (concept_ancestor)
  bool exclude = false;      // remove it (and its descendants when `descendants`) from the set
  bool mapped = false;       // also the concepts that "Maps to" it (concept_relationship)
  friend bool operator==(const ConceptItem&, const ConceptItem&) = default;
};

struct ConceptSet {
  std::string id;  // referenced by criteria; [A-Za-z0-9_.-]{1,64}
  std::string name;
  std::vector<ConceptItem> items;
  friend bool operator==(const ConceptSet&, const ConceptSet&) = default;
};

// One comparison of a range. Numbers are doubles; dates are days since 1970-01-01.
enum class RangeOp { kMin, kMax, kGt, kLt, kEq, kNe, kNotBetween };
struct RangeTerm {
  RangeOp op = RangeOp::kMin;
  double value = 0;
  double extent = 0;  // upper bound of kNotBetween
  friend bool operator==(const RangeTerm&, const RangeTerm&) = default;
};
// A conjunction of comparisons; empty = no restriction.
struct Range {
  std::vector<RangeTerm> terms;
  bool empty() const { return terms.empty(); }
  friend bool operator==(const Range&, const Range&) = default;
};

// Moves an event's dates (Circe DateAdjustment): start = (start or end) + start_offset, end =
// (start or end) + end_offset. Filters (dates, age) test the unadjusted dates.
struct DateAdjustment {
  bool start_from_end = false;
  int32_t start_offset = 0;
  bool end_from_end = true;
  int32_t end_offset = 0;
  friend bool operator==(const DateAdjustment&, const DateAdjustment&) = default;
};

// Which events of a domain count (an entry event, a counted criterion, an exit or outcome event).
struct EventCriteria {
  Domain domain = Domain::kCondition;
  std::string concept_set;        // id of a concept set; empty = every event of the domain
  bool first_occurrence = false;  // only the person's first such event in their whole history
  Range value;                    // value_as_number (measurement, observation)
  std::vector<int64_t> unit;      // unit_concept_id in this list (measurement)
  Range start_date;               // the event's start date (days)
  Range age;                      // age at the event: year(start) - year_of_birth
  std::vector<int64_t> sex;       // gender_concept_id in this list
  std::vector<int64_t> condition_status;  // condition_status_concept_id in this list (condition)
  std::vector<int64_t> visit;             // visit_concept_id of the event's visit in this list
  std::optional<DateAdjustment> date_adjustment;
  std::optional<int32_t> fixed_date;  // kFixedDate: the date (days)
  friend bool operator==(const EventCriteria&, const EventCriteria&) = default;
};

// A window of days relative to the index date. An absent bound is unbounded: it reaches the start
// (or end) of the index event's observation period, or has no limit when the observation period
// is ignored.
struct Window {
  std::optional<int32_t> start;  // days, e.g. -365
  std::optional<int32_t> end;    // days, e.g. 0
  bool from_index_end = false;   // relative to the index event's end date instead of its start
  bool on_event_end = false;     // tests the counted event's end date instead of its start
  friend bool operator==(const Window&, const Window&) = default;
};

enum class CountOp { kExactly, kAtMost, kAtLeast };

// "at least / at most / exactly N events of `event` in `window`".
struct CountCriterion {
  EventCriteria event;
  Window window;
  std::optional<Window> end_window;  // a second window tested on the event's end (Circe EndWindow)
  CountOp op = CountOp::kAtLeast;
  int32_t count = 1;
  bool distinct = false;                   // count distinct concepts instead of events
  bool ignore_observation_period = false;  // count events outside the index observation period
  bool restrict_visit = false;             // only events of the index event's visit
  friend bool operator==(const CountCriterion&, const CountCriterion&) = default;
};

// Person-level conditions tested at the index date; all given parts must hold.
struct DemographicCriterion {
  Range age;                 // year(index) - year_of_birth
  std::vector<int64_t> sex;  // gender_concept_id in this list
  Range index_date;          // calendar period of the index date (days)
  friend bool operator==(const DemographicCriterion&, const DemographicCriterion&) = default;
};

enum class GroupMatch { kAll, kAny, kAtLeast, kAtMost };

// A boolean combination of criteria, evaluated for each index event.
struct Group {
  GroupMatch match = GroupMatch::kAll;
  int32_t count = 0;  // for kAtLeast / kAtMost: how many members must (may) hold
  std::vector<CountCriterion> criteria;
  std::vector<DemographicCriterion> demographics;
  std::vector<Group> groups;
  bool empty() const { return criteria.empty() && demographics.empty() && groups.empty(); }
  friend bool operator==(const Group&, const Group&) = default;
};

struct InclusionRule {
  std::string name;
  std::string description;
  Group group;
  friend bool operator==(const InclusionRule&, const InclusionRule&) = default;
};

enum class Limit { kFirst, kAll, kLast };

struct Entry {
  std::vector<EventCriteria> events;  // at least one
  int32_t prior_observation_days = 0;
  int32_t post_observation_days = 0;
  Limit limit = Limit::kFirst;
  std::optional<Group> additional_criteria;  // Circe AdditionalCriteria
  Limit qualified_limit = Limit::kFirst;     // applied only with additional criteria (as Circe)
  friend bool operator==(const Entry&, const Entry&) = default;
};

enum class ExitType {
  kObservationEnd,  // end of the observation period of the index event (the default)
  kFixed,           // `from` date + offset_days, at most the end of observation
  kDrugEra,         // end of the drug era (exposures of `concept_set`, `gap_days` allowed)
};

struct Exit {
  ExitType type = ExitType::kObservationEnd;
  // kFixed
  bool from_end = false;  // offset from the index event's end date instead of its start
  int32_t offset_days = 0;
  // kDrugEra
  std::string concept_set;
  int32_t gap_days = 0;                         // allowed gap between exposures
  int32_t persistence_days = 0;                 // added to the era end (Circe CustomEra Offset)
  std::optional<int32_t> days_supply_override;  // each exposure lasts this many days
  friend bool operator==(const Exit&, const Exit&) = default;
};

struct CohortDefinition {
  std::string name;
  std::string description;
  std::vector<ConceptSet> concept_sets;
  Entry entry;
  std::vector<InclusionRule> inclusion_rules;
  Limit inclusion_limit = Limit::kFirst;  // Circe ExpressionLimit
  Exit exit;
  std::vector<EventCriteria> censor_events;    // exit at the first of these on or after index
  std::optional<int32_t> censor_window_start;  // cohort periods clipped to this date range (days)
  std::optional<int32_t> censor_window_end;
  int32_t era_pad_days = 0;  // periods closer than this are merged

  const ConceptSet* FindConceptSet(std::string_view id) const;
  friend bool operator==(const CohortDefinition&, const CohortDefinition&) = default;
};

// Parses the native JSON format. `origin` names the input in errors ("cohort.json").
Result<CohortDefinition> ParseCohortDefinition(std::string_view json_text, std::string_view origin);
Result<CohortDefinition> CohortDefinitionFromJson(const nlohmann::json& json,
                                                  std::string_view origin);
// The native JSON of a definition (parses back to an equal definition).
std::string CohortDefinitionToJson(const CohortDefinition& definition);

// Checks references and bounds; parsers call it. Errors name `origin` and the place.
Status ValidateCohortDefinition(const CohortDefinition& definition, std::string_view origin);

// gender_concept_id of "female" (8532) and "male" (8507).
inline constexpr int64_t kFemaleConceptId = 8532;
inline constexpr int64_t kMaleConceptId = 8507;

}  // namespace passerelle::cohort
