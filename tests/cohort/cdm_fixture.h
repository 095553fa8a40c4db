// A small hand-built OMOP CDM in an in-memory DuckDB, for cohort tests: every CDM table created
// with omop::CreateTableSql, rows added one by one with readable dates.
#pragma once

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cohort/cohort.h"
#include "cohort/definition.h"
#include "omop/cdm.h"
#include "store/duckdb_source.h"

namespace passerelle::cohort::fixtures {

class CdmFixture {
 public:
  // In memory, or in the DuckDB file `path`.
  explicit CdmFixture(const std::string& path = "") {
    auto s = store::OpenDuckDb({.path = path, .threads = 1});
    EXPECT_TRUE(s.ok()) << s.status().message();
    db_ = std::move(s).value();
    for (const auto& t : omop::CdmTables()) {
      Exec(omop::CreateTableSql(t, db_->dialect()));
    }
  }

  store::DataSource& db() { return *db_; }
  void Close() { db_.reset(); }

  void Exec(const std::string& sql) {
    Status st = db_->Execute(sql);
    ASSERT_TRUE(st.ok()) << st.message() << "\n" << sql;
  }

  static std::string D(const std::string& date) { return "DATE '" + date + "'"; }
  static std::string OrNull(const std::string& date) { return date.empty() ? "NULL" : D(date); }

  void Person(int64_t id, int year_of_birth, int64_t gender = kMaleConceptId) {
    Exec(
        fmt::format("INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
                    "race_concept_id, ethnicity_concept_id) VALUES ({}, {}, {}, 0, 0)",
                    id, gender, year_of_birth));
  }
  void ObservationPeriod(int64_t person, const std::string& start, const std::string& end) {
    Exec(
        fmt::format("INSERT INTO observation_period (observation_period_id, person_id, "
                    "observation_period_start_date, observation_period_end_date, "
                    "period_type_concept_id) VALUES ({}, {}, {}, {}, 44814724)",
                    ++next_id_, person, D(start), D(end)));
  }
  // A person observed from `start` to `end`.
  void Observed(int64_t id, int year_of_birth, const std::string& start, const std::string& end,
                int64_t gender = kMaleConceptId) {
    Person(id, year_of_birth, gender);
    ObservationPeriod(id, start, end);
  }
  void Condition(int64_t person, int64_t concept_id, const std::string& start,
                 const std::string& end = "") {
    Exec(
        fmt::format("INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
                    "condition_concept_id, condition_start_date, condition_end_date, "
                    "condition_type_concept_id) VALUES ({}, {}, {}, {}, {}, 32020)",
                    ++next_id_, person, concept_id, D(start), OrNull(end)));
  }
  void Drug(int64_t person, int64_t concept_id, const std::string& start, const std::string& end,
            int days_supply = 0) {
    Exec(
        fmt::format("INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
                    "drug_exposure_start_date, drug_exposure_end_date, days_supply, "
                    "drug_type_concept_id) VALUES ({}, {}, {}, {}, {}, {}, 32838)",
                    ++next_id_, person, concept_id, D(start), OrNull(end),
                    days_supply > 0 ? std::to_string(days_supply) : "NULL"));
  }
  void Procedure(int64_t person, int64_t concept_id, const std::string& date) {
    Exec(
        fmt::format("INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
                    "procedure_concept_id, procedure_date, procedure_type_concept_id) VALUES "
                    "({}, {}, {}, {}, 32817)",
                    ++next_id_, person, concept_id, D(date)));
  }
  // `value` NaN stores NULL.
  void Measurement(int64_t person, int64_t concept_id, const std::string& date, double value,
                   int64_t unit = 0) {
    Exec(
        fmt::format("INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
                    "measurement_date, measurement_type_concept_id, value_as_number, "
                    "unit_concept_id) VALUES ({}, {}, {}, {}, 32817, {}, {})",
                    ++next_id_, person, concept_id, D(date),
                    value == value ? fmt::format("{}", value) : "NULL", unit));
  }
  void Observation(int64_t person, int64_t concept_id, const std::string& date) {
    Exec(
        fmt::format("INSERT INTO observation (observation_id, person_id, observation_concept_id, "
                    "observation_date, observation_type_concept_id) VALUES ({}, {}, {}, {}, "
                    "32817)",
                    ++next_id_, person, concept_id, D(date)));
  }
  // Returns the visit_occurrence_id.
  int64_t Visit(int64_t person, int64_t concept_id, const std::string& start,
                const std::string& end) {
    Exec(
        fmt::format("INSERT INTO visit_occurrence (visit_occurrence_id, person_id, "
                    "visit_concept_id, visit_start_date, visit_end_date, visit_type_concept_id) "
                    "VALUES ({}, {}, {}, {}, {}, 32817)",
                    ++next_id_, person, concept_id, D(start), D(end)));
    return next_id_;
  }
  // A condition recorded during visit `visit_id` with a status (e.g. 32902 primary diagnosis).
  void ConditionInVisit(int64_t person, int64_t concept_id, const std::string& start,
                        int64_t visit_id, int64_t status) {
    Exec(
        fmt::format("INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
                    "condition_concept_id, condition_start_date, condition_type_concept_id, "
                    "visit_occurrence_id, condition_status_concept_id) VALUES ({}, {}, {}, {}, "
                    "32020, {}, {})",
                    ++next_id_, person, concept_id, D(start), visit_id, status));
  }
  void Death(int64_t person, const std::string& date) {
    Exec(fmt::format("INSERT INTO death (person_id, death_date) VALUES ({}, {})", person, D(date)));
  }
  // A vocabulary row; `invalid_reason` "D" marks a deprecated concept.
  void Concept(int64_t id, const std::string& invalid_reason = "") {
    Exec(
        fmt::format("INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, "
                    "concept_class_id, concept_code, valid_start_date, valid_end_date, "
                    "invalid_reason) VALUES ({0}, 'c{0}', 'Condition', 'SNOMED', 'Clinical "
                    "Finding', '{0}', DATE '1970-01-01', DATE '2099-12-31', {1})",
                    id, invalid_reason.empty() ? "NULL" : "'" + invalid_reason + "'"));
  }
  void Ancestor(int64_t ancestor, int64_t descendant) {
    Exec(
        fmt::format("INSERT INTO concept_ancestor (ancestor_concept_id, descendant_concept_id, "
                    "min_levels_of_separation, max_levels_of_separation) VALUES ({}, {}, 1, 1)",
                    ancestor, descendant));
  }
  void MapsTo(int64_t source, int64_t standard) {
    Exec(
        fmt::format("INSERT INTO concept_relationship (concept_id_1, concept_id_2, "
                    "relationship_id, valid_start_date, valid_end_date) VALUES ({}, {}, 'Maps "
                    "to', DATE '1970-01-01', DATE '2099-12-31')",
                    source, standard));
  }

  // Runs the cohort; fails the test on error.
  CohortCounts Run(const CohortDefinition& def) {
    auto r = GenerateCohort(*db_, def, {.result_table = "result"});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : CohortCounts{};
  }
  CohortCounts Run(const std::string& native_json) {
    auto def = ParseCohortDefinition(native_json, "test.json");
    EXPECT_TRUE(def.ok()) << def.status().message();
    if (!def.ok()) return {};
    return Run(*def);
  }

  // The cohort table as "person:start:end" strings, sorted.
  std::vector<std::string> Rows() {
    auto c = store::QueryAll(*db_,
                             "SELECT subject_id, CAST(cohort_start_date AS VARCHAR), "
                             "CAST(cohort_end_date AS VARCHAR) FROM result ORDER BY 1, 2");
    EXPECT_TRUE(c.ok()) << c.status().message();
    std::vector<std::string> out;
    if (!c.ok()) return out;
    for (size_t i = 0; i < c->size(); ++i) {
      out.push_back(fmt::format("{}:{}:{}", c->columns[0].ints[i], c->columns[1].strings[i],
                                c->columns[2].strings[i]));
    }
    return out;
  }

 private:
  std::unique_ptr<store::DataSource> db_;
  int64_t next_id_ = 1000;
};

}  // namespace passerelle::cohort::fixtures
