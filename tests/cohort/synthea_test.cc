// End to end on Synthea27Nj (OMOP CDM 5.4, 28 persons, empty concept_ancestor): ingest, a cohort
// on conditions present in the extract, checked against an independent SQL query written by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "cohort/cohort.h"
#include "cohort/features.h"
#include "omop/ingest.h"
#include "store/duckdb_source.h"

namespace passerelle::cohort {
namespace {

const std::string kSynthea = std::string(PASSERELLE_SHARED_DATA) + "/eunomia/Synthea27Nj_5.4.zip";

// Viral sinusitis, acute viral pharyngitis, acute bronchitis: the first one with a year of prior
// observation; adults at index; a drug (any) dispensed within 30 days; exit 30 days later.
constexpr const char* kCohort = R"({
  "name": "adults with a first acute respiratory infection treated within 30 days",
  "concept_sets": [{"id": "ari", "concepts": [40481087, 4112343, 260139]}],
  "entry": {"events": [{"domain": "condition", "concept_set": "ari"}],
            "prior_observation_days": 365, "limit": "first"},
  "inclusion_rules": [
    {"name": "adult", "criteria": [{"age": {"min": 18}}]},
    {"name": "treated", "criteria": [{"event": {"domain": "drug"},
                                      "window": {"start": 0, "end": 30}}]}],
  "exit": {"type": "fixed", "offset_days": 30}
})";

// The same population by hand: first qualifying event per person, then the two rules.
constexpr const char* kIndependent = R"(
  WITH ev AS (
    SELECT co.person_id, co.condition_start_date AS d, op.observation_period_start_date AS s,
           op.observation_period_end_date AS e
    FROM condition_occurrence co
    JOIN observation_period op ON op.person_id = co.person_id
     AND co.condition_start_date BETWEEN op.observation_period_start_date
                                     AND op.observation_period_end_date
    WHERE co.condition_concept_id IN (40481087, 4112343, 260139)
      AND co.condition_start_date >= op.observation_period_start_date + 365),
  first AS (
    SELECT person_id, d, s, e FROM (
      SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY d) AS rn FROM ev) x
    WHERE rn = 1)
  SELECT f.person_id, CAST(f.d AS VARCHAR),
         CAST(CASE WHEN f.d + 30 > f.e THEN f.e ELSE f.d + 30 END AS VARCHAR)
  FROM first f JOIN person p ON p.person_id = f.person_id
  WHERE year(f.d) - p.year_of_birth >= 18
    AND EXISTS (SELECT 1 FROM drug_exposure de
                WHERE de.person_id = f.person_id
                  AND de.drug_exposure_start_date BETWEEN f.d AND f.d + 30
                  AND de.drug_exposure_start_date BETWEEN f.s AND f.e)
  ORDER BY 1, 2)";

std::vector<std::string> Lines(store::DataSource& db, const std::string& sql) {
  auto c = store::QueryAll(db, sql);
  EXPECT_TRUE(c.ok()) << c.status().message();
  std::vector<std::string> out;
  if (!c.ok()) return out;
  for (size_t r = 0; r < c->size(); ++r) {
    out.push_back(fmt::format("{}:{}:{}", c->columns[0].ints[r], c->columns[1].strings[r],
                              c->columns[2].strings[r]));
  }
  return out;
}

// One test: the ingest is the slow part (seconds on a loaded machine).
TEST(SyntheaTest, CohortAndAnalysisTableMatchIndependentQueries) {
  auto opened = store::OpenDuckDb({.threads = 2});
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<store::DataSource> db_ = std::move(opened).value();
  auto ingested = omop::IngestOmop(*db_, {.from = kSynthea});
  ASSERT_TRUE(ingested.ok()) << ingested.status().message();
  ASSERT_EQ(ingested->persons, 28);

  // The extract has no concept_ancestor rows: concepts match themselves.
  auto ancestors = store::QueryInt(*db_, "SELECT COUNT(*) FROM concept_ancestor");
  ASSERT_TRUE(ancestors.ok());
  EXPECT_EQ(*ancestors, 0);

  auto def = ParseCohortDefinition(kCohort, "ari.json");
  ASSERT_TRUE(def.ok()) << def.status().message();
  auto counts = GenerateCohort(*db_, *def, {.result_table = "ari"});
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  std::vector<std::string> expected = Lines(*db_, kIndependent);
  std::vector<std::string> got =
      Lines(*db_,
            "SELECT subject_id, CAST(cohort_start_date AS VARCHAR), CAST(cohort_end_date AS "
            "VARCHAR) FROM ari ORDER BY 1, 2");
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(counts->cohort_persons, static_cast<int64_t>(expected.size()));
  // Attrition: 25 persons enter; 15 adults; the treated among them.
  EXPECT_EQ(counts->entry_persons, 25);
  ASSERT_EQ(counts->rules.size(), 2u);
  EXPECT_EQ(counts->rules[0].persons, 15);
  EXPECT_EQ(counts->rules[1].persons, counts->cohort_persons);
  EXPECT_EQ(counts->rules[1].alone_persons, 5);

  // The analysis table of the same cohort.
  std::string study = fmt::format(R"({{
    "cohort": {},
    "covariates": [{{"type": "age"}}, {{"type": "sex"}},
                   {{"type": "visit", "window": {{"start": -365, "end": -1}},
                     "statistic": "count", "name": "visits"}},
                   {{"type": "measurement", "concepts": [3025315],
                     "window": {{"start": -365, "end": 0}}, "statistic": "latest_value",
                     "name": "weight"}}],
    "outcome": {{"type": "time_to_event", "event": {{"domain": "drug"}},
                 "window": {{"start": 31}}}}
  }})",
                                  kCohort);
  auto spec = ParseCohortStudySpecText(study, "study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto info = BuildAnalysisTable(*db_, *spec, "ari_table");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->rows, info->cohort.cohort_persons);
  EXPECT_GT(info->rows, 0);
  // Ages are those of the cohort by hand; times are never negative; events are 0/1.
  auto check = store::QueryAll(*db_,
                               "SELECT MIN(age), MIN(time), MAX(event), COUNT(weight), "
                               "SUM(CASE WHEN sex IN ('female', 'male') THEN 1 ELSE 0 END) "
                               "FROM ari_table");
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_GE(check->columns[0].ints[0], 18);
  EXPECT_GE(check->columns[1].ints[0], 0);
  EXPECT_LE(check->columns[2].ints[0], 1);
  EXPECT_EQ(check->columns[4].ints[0], info->rows);
  // Visits in the year before index, by hand for the same persons (cohort table "ari").
  auto visits_by_hand = store::QueryInt(*db_, R"(
      SELECT SUM(n) FROM (
        SELECT c.subject_id, COUNT(v.visit_occurrence_id) AS n FROM ari c
        LEFT JOIN visit_occurrence v ON v.person_id = c.subject_id
         AND v.visit_start_date BETWEEN c.cohort_start_date - 365 AND c.cohort_start_date - 1
        GROUP BY c.subject_id) x)");
  ASSERT_TRUE(visits_by_hand.ok()) << visits_by_hand.status().message();
  EXPECT_EQ(*store::QueryInt(*db_, "SELECT SUM(visits) FROM ari_table"), *visits_by_hand);
}

}  // namespace
}  // namespace passerelle::cohort
