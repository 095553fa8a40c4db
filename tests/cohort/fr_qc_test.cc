// The same cohort definition on a French and a Québec synthetic CDM (src/omop/synth): their source
// codes differ (CIM-10 against ICD-10-CA / ICD-9-CM, CIP13 against DIN), both are mapped to the
// same standard concepts, and the definition finds the same kind of population in both. The study
// parts of examples/cohorts/ (hhf_study.json, mace_study.json) rebuild the planted effects'
// analysis tables; their sizes are checked against the generator's own counts.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "../omop/synth_test_util.h"
#include "cohort/cohort.h"
#include "cohort/definition.h"
#include "cohort/features.h"
#include "omop/synth/truth.h"

namespace passerelle::cohort {
namespace {

using omop::synth::Profile;
using omop::synth::SynthReport;
using omop::synth::testing::Dbl;
using omop::synth::testing::Generated;
using omop::synth::testing::Int;

constexpr int64_t kPersons = 4000;
constexpr uint64_t kSeed = 20261128;

std::string Example(const std::string& name) {
  std::ifstream in(std::string(PASSERELLE_SOURCE_DIR) + "/examples/cohorts/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << name;
  return ss.str();
}

store::DataSource& Db(Profile p, SynthReport* report = nullptr) {
  return Generated(p, kPersons, kSeed, report);
}

// Persons with a T2D record (standard concept), and the vocabulary range of its source concepts:
// local concepts are 2000000000 + 10000000 x vocabulary rank (CIM10 1, ICD10CA 2, ICD9CM 3).
struct T2dCoding {
  int64_t persons = 0;
  int64_t min_vocab = 0;
  int64_t max_vocab = 0;
};

T2dCoding Coding(store::DataSource& db) {
  T2dCoding c;
  c.persons = Int(db,
                  "SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE "
                  "condition_concept_id = 201826");
  c.min_vocab = Int(db,
                    "SELECT min((condition_source_concept_id - 2000000000) // 10000000) FROM "
                    "condition_occurrence WHERE condition_concept_id = 201826");
  c.max_vocab = Int(db,
                    "SELECT max((condition_source_concept_id - 2000000000) // 10000000) FROM "
                    "condition_occurrence WHERE condition_concept_id = 201826");
  return c;
}

// (Each test case generates both databases again under ctest: two cases, not four.)
void CheckSourceCodesDifferButMapToTheSameStandardConcept() {
  T2dCoding fr = Coding(Db(Profile::kFrance));
  T2dCoding qc = Coding(Db(Profile::kQuebec));
  // France codes diagnoses in CIM-10 only; Québec in ICD-10-CA (hospital) and ICD-9-CM (billing).
  EXPECT_EQ(fr.min_vocab, 1);
  EXPECT_EQ(fr.max_vocab, 1);
  EXPECT_GE(qc.min_vocab, 2);
  EXPECT_LE(qc.max_vocab, 3);
  // Period prevalence of diagnosed T2D near the profiles' targets (5.5% and 7.5%).
  EXPECT_NEAR(static_cast<double>(fr.persons) / kPersons, 0.055, 0.015);
  EXPECT_NEAR(static_cast<double>(qc.persons) / kPersons, 0.075, 0.015);
}

TEST(FrQcCohortTest, SameDefinitionSelectsTheSameKindOfPopulationWhateverTheCoding) {
  CheckSourceCodesDifferButMapToTheSameStandardConcept();
  auto def = ParseCohortDefinition(Example("t2dm_new_users.json"), "t2dm_new_users.json");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  struct Side {
    CohortCounts counts;
    T2dCoding coding;
    double mean_age = 0;
    double female = 0;
  } side[2];
  const Profile profiles[2] = {Profile::kFrance, Profile::kQuebec};
  for (int i = 0; i < 2; ++i) {
    store::DataSource& db = Db(profiles[i]);
    CompileOptions o;
    o.result_table = "_t_frqc_cohort";
    auto counts = GenerateCohort(db, *def, o);
    ASSERT_TRUE(counts.ok()) << counts.status().ToString();
    side[i].counts = *counts;
    side[i].coding = Coding(db);
    side[i].mean_age = Dbl(db,
                           "SELECT avg(year(c.cohort_start_date) - p.year_of_birth) FROM "
                           "_t_frqc_cohort c JOIN person p ON p.person_id = c.subject_id");
    side[i].female = Dbl(db,
                         "SELECT avg(CASE WHEN p.gender_concept_id = 8532 THEN 1.0 ELSE 0 END) "
                         "FROM _t_frqc_cohort c JOIN person p ON p.person_id = c.subject_id");
    // The cohort is what the definition says, by hand on the standard concepts: the first T2D
    // record (descendants of 201826), a year of observation before it, 18 or older, no heart
    // failure (descendants of 316139) on or before it.
    int64_t by_hand = Int(db, R"(
      WITH first_t2d AS (
        SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
        WHERE condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                       WHERE ancestor_concept_id = 201826)
        GROUP BY person_id)
      SELECT count(*) FROM first_t2d f
      JOIN person p USING (person_id)
      JOIN observation_period op ON op.person_id = f.person_id
        AND f.d BETWEEN op.observation_period_start_date + 365 AND op.observation_period_end_date
      WHERE year(f.d) - p.year_of_birth >= 18
        AND NOT EXISTS (SELECT 1 FROM condition_occurrence h
                        WHERE h.person_id = f.person_id AND h.condition_start_date <= f.d
                          AND h.condition_concept_id IN (
                            SELECT descendant_concept_id FROM concept_ancestor
                            WHERE ancestor_concept_id = 316139)))");
    EXPECT_EQ(counts->cohort_persons, by_hand) << (i == 0 ? "fr" : "qc");
  }
  const Side& fr = side[0];
  const Side& qc = side[1];
  ASSERT_GT(fr.counts.cohort_persons, 30);
  ASSERT_GT(qc.counts.cohort_persons, 30);
  // Of the persons with diagnosed T2D, a similar share are new adult cases with a year of
  // observation and no prior heart failure (the rest were diagnosed before observation started).
  const double share_fr = static_cast<double>(fr.counts.cohort_persons) / fr.coding.persons;
  const double share_qc = static_cast<double>(qc.counts.cohort_persons) / qc.coding.persons;
  EXPECT_GT(share_fr, 0.1);
  EXPECT_GT(share_qc, 0.1);
  EXPECT_NEAR(share_fr, share_qc, 0.15) << share_fr << " vs " << share_qc;
  // Adults of a similar age and sex mix.
  EXPECT_GE(fr.mean_age, 45);
  EXPECT_GE(qc.mean_age, 45);
  EXPECT_NEAR(fr.mean_age, qc.mean_age, 6.0);
  EXPECT_NEAR(fr.female, qc.female, 0.15);
  // Each rule removes persons on both sides alike (the age rule almost none).
  ASSERT_EQ(fr.counts.rules.size(), 2u);
  ASSERT_EQ(qc.counts.rules.size(), 2u);
}

// The hhf study part rebuilds effect (1)'s cohort: exactly the generator's persons, events and
// treated persons, in both jurisdictions.
void CheckHhfStudyMatchesTheGeneratorsCohort() {
  auto spec = ParseCohortStudySpecText(Example("hhf_study.json"), "hhf_study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  for (Profile p : {Profile::kFrance, Profile::kQuebec}) {
    SynthReport report;
    store::DataSource& db = Db(p, &report);
    ASSERT_TRUE(report.effects_planted);
    auto info = BuildAnalysisTable(db, *spec, "_t_hhf");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->rows, report.hhf_cohort);
    EXPECT_EQ(Int(db, "SELECT sum(hhf) FROM _t_hhf"), report.hhf_events);
    EXPECT_EQ(Int(db, "SELECT sum(sglt2) FROM _t_hhf"), report.hhf_sglt2);
    // Every member has an HbA1c before the index date.
    EXPECT_EQ(Int(db, "SELECT count(*) FROM _t_hhf WHERE hba1c IS NULL"), 0);
    EXPECT_GT(report.hhf_cohort, 50);
  }
}

// The mace study part: adults 180 days into observation, time to the first MACE.
TEST(FrQcCohortTest, ExampleStudiesRebuildThePlantedEffectsCohorts) {
  CheckHhfStudyMatchesTheGeneratorsCohort();
  auto spec = ParseCohortStudySpecText(Example("mace_study.json"), "mace_study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  for (Profile p : {Profile::kFrance, Profile::kQuebec}) {
    store::DataSource& db = Db(p);
    auto info = BuildAnalysisTable(db, *spec, "_t_mace");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    // By hand: persons observed 180 days after the start of observation, adults then.
    int64_t by_hand = Int(db, R"(
      SELECT count(*) FROM observation_period op JOIN person p USING (person_id)
      WHERE op.observation_period_start_date + 180 <= op.observation_period_end_date
        AND year(op.observation_period_start_date + 180) - p.year_of_birth >= 18)");
    EXPECT_EQ(info->rows, by_hand);
    const int64_t events = Int(db, "SELECT sum(mace_event) FROM _t_mace");
    EXPECT_GT(events, 10);
    EXPECT_EQ(Int(db, "SELECT count(*) FROM _t_mace WHERE mace_time < 1"), 0);
    // Events as the generator plants them: an inpatient primary diagnosis of AMI or stroke.
    EXPECT_EQ(events, Int(db, R"(
      SELECT count(DISTINCT c.person_id) FROM condition_occurrence c
      JOIN visit_occurrence v ON v.visit_occurrence_id = c.visit_occurrence_id
      JOIN observation_period op ON op.person_id = c.person_id
      JOIN person p ON p.person_id = c.person_id
      WHERE c.condition_concept_id IN (312327, 443454) AND c.condition_status_concept_id = 32902
        AND v.visit_concept_id = 9201
        AND c.condition_start_date > op.observation_period_start_date + 180
        AND c.condition_start_date <= op.observation_period_end_date
        AND year(op.observation_period_start_date + 180) - p.year_of_birth >= 18)"));
  }
}

}  // namespace
}  // namespace passerelle::cohort
