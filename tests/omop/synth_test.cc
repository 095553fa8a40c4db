#include "omop/synth/synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/date.h"
#include "common/files.h"
#include "common/strings.h"
#include "omop/cdm.h"
#include "omop/synth/profile.h"
#include "omop/synth/truth.h"
#include "omop/vocabulary.h"
#include "store/datasets.h"
#include "store/duckdb_source.h"
#include "synth_test_util.h"

namespace passerelle::omop::synth {
namespace {

using testing::Dbl;
using testing::Generated;
using testing::Int;

// ctest runs each test case in its own process, so each generates what it reads: the
// integrity checks share one population per profile inside one test case.
constexpr int64_t kPersons = 15000;
constexpr uint64_t kSeed = 11;

// ---- the shipped vocabulary ------------------------------------------------------------------

TEST(SynthVocabularyTest, ParsesAndHasTheRequiredBreadth) {
  const Vocabulary& v = Vocabulary::Shipped();
  ASSERT_TRUE(v.status().ok()) << v.status().ToString();
  int conditions = 0, ingredients = 0, measurements = 0, procedures = 0, visits = 0;
  for (const VocabConcept& c : v.concepts()) {
    if (c.standard != "S") continue;
    conditions += c.domain == "Condition";
    ingredients += c.domain == "Drug" && c.concept_class == "Ingredient";
    measurements += c.domain == "Measurement";
    procedures += c.domain == "Procedure";
    visits += c.domain == "Visit";
  }
  EXPECT_GE(conditions, 60);
  EXPECT_GE(ingredients, 40);
  EXPECT_GE(measurements, 15);
  EXPECT_GE(procedures, 20);
  EXPECT_GE(visits, 3);
  // A few ids that everything else relies on, checked against their names.
  EXPECT_EQ(v.Find(201826)->name, "Type 2 diabetes mellitus");
  EXPECT_EQ(v.Find(1503297)->name, "metformin");
  EXPECT_EQ(v.Find(3004410)->vocabulary, "LOINC");
  EXPECT_EQ(v.Find(9201)->name, "Inpatient Visit");
  EXPECT_EQ(v.Find(8532)->name, "FEMALE");
}

TEST(SynthVocabularyTest, EverySourceCodeMapsToAStandardConcept) {
  const Vocabulary& v = Vocabulary::Shipped();
  int sources = 0;
  for (const VocabConcept& c : v.concepts()) {
    if (c.id < kLocalConceptBase) {
      if (c.id != 0) {
        EXPECT_NE(c.standard, "") << c.id << " " << c.name;
      }
      continue;
    }
    if (c.standard == "C") continue;  // ATC classes: classification, no "Maps to"
    ++sources;
    int64_t target = v.MapsTo(c.id);
    ASSERT_NE(target, 0) << c.vocabulary << " " << c.code;
    EXPECT_EQ(v.Find(target)->standard, "S");
    EXPECT_EQ(v.Find(target)->domain, c.domain) << c.vocabulary << " " << c.code;
  }
  EXPECT_GT(sources, 400);
}

TEST(SynthVocabularyTest, AncestorsCoverClassesAndSelf) {
  const Vocabulary& v = Vocabulary::Shipped();
  std::vector<int64_t> sglt2 = IngredientsOfClass(truth::kSglt2AtcCode);
  EXPECT_EQ(sglt2, (std::vector<int64_t>{793293, 43526465, 44785829, 45774751}));
  std::vector<int64_t> statins = IngredientsOfClass(truth::kStatinAtcCode);
  EXPECT_EQ(statins.size(), 4u);
  EXPECT_TRUE(v.IsDescendantOf(443597, truth::kCkdConcept));  // CKD stage 3
  EXPECT_TRUE(v.IsDescendantOf(312327, 321588));              // acute MI is a heart disease
  EXPECT_TRUE(v.IsDescendantOf(201826, 201826));              // self row
  EXPECT_FALSE(v.IsDescendantOf(201820, 201826));
  for (const VocabAncestor& a : v.ancestors()) {
    EXPECT_LE(a.min_levels, a.max_levels);
  }
}

TEST(SynthVocabularyTest, BadDataIsRejectedWithItsLine) {
  auto r = Vocabulary::Parse("1\tx\tCondition\tSNOMED\tClinical Finding\tS\t1\n",
                             "CIM10\tE11\tdiabetes\tCondition\tICD10 code\t\t999\n", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("maps to 999"), std::string::npos) << r.status().message();
  r = Vocabulary::Parse("1\tx\tCondition\n", "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos);
}

// FR and QC codes of the same disease map to the same standard concept; where Québec's
// physician billing (ICD-9) is coarser, to an ancestor of it.
TEST(SynthVocabularyTest, FrenchAndQuebecCodesMapToTheSameStandardConcept) {
  const CodeSet& codes = CodeSet::Get();
  ASSERT_TRUE(codes.status().ok()) << codes.status().ToString();
  const Vocabulary& v = Vocabulary::Shipped();
  int same9 = 0, coarser9 = 0;
  for (const std::string& key : codes.ConditionKeys()) {
    const Coded& c = codes.Condition(key);
    ASSERT_NE(c.cim10.source, 0) << key;
    EXPECT_EQ(c.cim10.standard, c.icd10ca.standard) << key;
    if (c.icd9.source != 0) {
      if (c.icd9.standard == c.cim10.standard) {
        ++same9;
      } else {
        EXPECT_TRUE(v.IsDescendantOf(c.cim10.standard, c.icd9.standard)) << key;
        ++coarser9;
      }
    }
    if (c.icd10.source != 0) {
      EXPECT_EQ(c.icd10.standard, c.cim10.standard) << key;
    }
  }
  EXPECT_GE(same9, 60);
  EXPECT_GE(coarser9, 2);  // CKD stages and depression are coarser in RAMQ billing
  EXPECT_EQ(codes.Condition("t2d").cim10.standard, truth::kT2dConcept);
  EXPECT_EQ(codes.Condition("t2d").icd9.code, "250.00");
  EXPECT_EQ(codes.Condition("t2d").cim10.code, "E119");
}

TEST(SynthVocabularyTest, DrugAvailabilityDiffersByJurisdiction) {
  const CodeSet& codes = CodeSet::Get();
  EXPECT_EQ(codes.Product(Profile::kFrance, rx::kCanagliflozin).source, 0);
  EXPECT_NE(codes.Product(Profile::kQuebec, rx::kCanagliflozin).source, 0);
  EXPECT_NE(codes.Product(Profile::kFrance, rx::kVildagliptin).source, 0);
  EXPECT_EQ(codes.Product(Profile::kQuebec, rx::kVildagliptin).source, 0);
  EXPECT_EQ(codes.Product(Profile::kFrance, rx::kMetformin).code.size(), 13u);  // CIP13
  EXPECT_EQ(codes.Product(Profile::kQuebec, rx::kMetformin).code.size(), 8u);   // DIN
  Availability fr = AvailabilityOf(Profile::kFrance, rx::kDapagliflozin);
  EXPECT_EQ(FormatDate(fr.from), "2020-04-01");
}

// ---- options -----------------------------------------------------------------------------------

TEST(SynthOptionsTest, RejectsBadValuesWithOneClearMessage) {
  SynthOptions o;
  o.persons = 0;
  EXPECT_NE(ValidateOptions(o).message().find("persons must be between 1"), std::string::npos);
  o = {};
  o.end_date = o.start_date + 100;
  EXPECT_NE(ValidateOptions(o).message().find("at least 2 years"), std::string::npos);
  EXPECT_TRUE(ParseProfile("QC").ok());
  EXPECT_EQ(ParseProfile("uk").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateOptions({}).ok());
}

TEST(SynthOptionsTest, RefusesADatabaseThatHoldsACdm) {
  auto db = store::OpenDuckDb({});
  ASSERT_TRUE(db.ok());
  SynthOptions o;
  o.persons = 10;
  ASSERT_TRUE(GenerateSynthetic(o, **db).ok());
  auto again = GenerateSynthetic(o, **db);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

// ---- determinism -----------------------------------------------------------------------------

// A fingerprint of every CDM table's content: row count and an md5 over the sorted rows.
std::map<std::string, std::string> Fingerprint(store::DataSource& db) {
  std::map<std::string, std::string> out;
  for (const CdmTable& t : CdmTables()) {
    auto c = store::QueryAll(
        db,
        "SELECT count(*)::VARCHAR || ':' || coalesce(md5(string_agg(CAST(t AS VARCHAR), '\n' "
        "ORDER BY CAST(t AS VARCHAR))), '') FROM " +
            t.name + " t");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) out[t.name] = c->columns[0].strings[0];
  }
  return out;
}

TEST(SynthDeterminismTest, SameSeedSameRowsWhateverThreadsAndChunks) {
  SynthOptions o;
  o.persons = 3000;
  o.seed = 42;
  o.eras = true;
  auto a = store::OpenDuckDb({});
  auto b = store::OpenDuckDb({});
  auto c = store::OpenDuckDb({});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  o.threads = 1;
  o.chunk_persons = 500;
  ASSERT_TRUE(GenerateSynthetic(o, **a).ok());
  o.threads = 3;
  o.chunk_persons = 777;
  ASSERT_TRUE(GenerateSynthetic(o, **b).ok());
  o.seed = 43;
  ASSERT_TRUE(GenerateSynthetic(o, **c).ok());
  auto fa = Fingerprint(**a), fb = Fingerprint(**b), fc = Fingerprint(**c);
  EXPECT_EQ(fa, fb);
  EXPECT_NE(fa["person"], fc["person"]);
  EXPECT_NE(fa["drug_exposure"], fc["drug_exposure"]);
  // Ids are dense, in person order.
  EXPECT_EQ(Int(**a, "SELECT max(visit_occurrence_id) - count(*) FROM visit_occurrence"), 0);
  EXPECT_EQ(Int(**a,
                "SELECT count(*) FROM (SELECT visit_occurrence_id, person_id, lag(person_id) "
                "OVER (ORDER BY visit_occurrence_id) prev FROM visit_occurrence) "
                "WHERE person_id < prev"),
            0);
}

// ---- referential integrity -------------------------------------------------------------------

// Every event belongs to a person and lies inside one of its observation periods.
void CheckEventsInsideObservation(store::DataSource& db) {
  EXPECT_EQ(Int(db, "SELECT count(*) FROM person"), kPersons);
  EXPECT_EQ(Int(db, "SELECT count(DISTINCT person_id) FROM observation_period"), kPersons);
  int checked = 0;
  for (const CdmTable& t : CdmTables()) {
    if (!t.HasPersonId() || t.start_date.empty()) continue;
    if (Int(db, "SELECT count(*) FROM " + t.name) == 0) continue;
    ++checked;
    EXPECT_EQ(Int(db, "SELECT count(*) FROM " + t.name +
                          " e WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.person_id = "
                          "e.person_id)"),
              0)
        << t.name;
    std::string end_ok = t.end_date.empty() ? "TRUE"
                                            : "(e." + t.end_date + " IS NULL OR e." + t.end_date +
                                                  " <= o.observation_period_end_date)";
    EXPECT_EQ(Int(db, "SELECT count(*) FROM " + t.name +
                          " e WHERE NOT EXISTS (SELECT 1 FROM observation_period o WHERE "
                          "o.person_id = e.person_id AND e." +
                          t.start_date +
                          " BETWEEN o.observation_period_start_date AND "
                          "o.observation_period_end_date AND " +
                          end_ok + ")"),
              0)
        << t.name;
    if (!t.end_date.empty()) {
      EXPECT_EQ(
          Int(db, "SELECT count(*) FROM " + t.name + " WHERE " + t.end_date + " < " + t.start_date),
          0)
          << t.name;
    }
  }
  EXPECT_GE(checked, 8);
  // Visits referenced by events exist and belong to the same person.
  for (const char* t : {"condition_occurrence", "procedure_occurrence", "measurement"}) {
    EXPECT_EQ(Int(db, std::string("SELECT count(*) FROM ") + t +
                          " e LEFT JOIN visit_occurrence v USING (visit_occurrence_id) WHERE "
                          "e.visit_occurrence_id IS NOT NULL AND (v.person_id IS NULL OR "
                          "v.person_id <> e.person_id)"),
              0)
        << t;
  }
  // A death ends its person's observation.
  EXPECT_EQ(Int(db,
                "SELECT count(*) FROM death d JOIN observation_period o USING (person_id) "
                "WHERE d.death_date <> o.observation_period_end_date"),
            0);
  EXPECT_EQ(Int(db, "SELECT count(*) - count(DISTINCT person_id) FROM death"), 0);
}

// Every concept id exists in the vocabulary; event concepts are standard.
void CheckConcepts(store::DataSource& db) {
  int columns = 0;
  for (const CdmTable& t : CdmTables()) {
    if (t.category == "vocabulary") continue;
    for (const CdmColumn& c : t.columns) {
      if (!EndsWith(c.name, "_concept_id")) continue;
      ++columns;
      EXPECT_EQ(
          Int(db, "SELECT count(*) FROM " + t.name + " WHERE " + c.name + " IS NOT NULL AND " +
                      c.name + " NOT IN (SELECT concept_id FROM concept)"),
          0)
          << t.name << "." << c.name;
    }
  }
  EXPECT_GT(columns, 50);
  const std::pair<const char*, const char*> standard[] = {
      {"condition_occurrence", "condition_concept_id"},
      {"drug_exposure", "drug_concept_id"},
      {"procedure_occurrence", "procedure_concept_id"},
      {"measurement", "measurement_concept_id"},
      {"visit_occurrence", "visit_concept_id"}};
  for (const auto& [table, column] : standard) {
    EXPECT_EQ(Int(db, std::string("SELECT count(*) FROM ") + table + " JOIN concept c ON " +
                          "c.concept_id = " + column +
                          " WHERE c.standard_concept IS DISTINCT "
                          "FROM 'S'"),
              0)
        << table;
  }
  // Source concepts keep the local codes and map to the standard concept of the row.
  EXPECT_EQ(Int(db,
                "SELECT count(*) FROM condition_occurrence e JOIN concept_relationship r ON "
                "r.concept_id_1 = e.condition_source_concept_id AND r.relationship_id = "
                "'Maps to' WHERE r.concept_id_2 <> e.condition_concept_id"),
            0);
  EXPECT_EQ(Int(db,
                "SELECT count(*) FROM condition_occurrence e JOIN concept c ON "
                "c.concept_id = e.condition_source_concept_id WHERE c.concept_code <> "
                "e.condition_source_value"),
            0);
  EXPECT_EQ(Int(db, "SELECT count(*) FROM drug_exposure WHERE drug_source_concept_id IS NULL"), 0);
}

// Source codes are those of the jurisdiction.
void CheckCodes(store::DataSource& db, Profile profile) {
  const bool fr = profile == Profile::kFrance;
  auto vocabularies = [&](const std::string& sql) {
    std::set<std::string> out;
    auto c = store::QueryAll(db, sql);
    EXPECT_TRUE(c.ok());
    for (auto& s : c->columns[0].strings) out.insert(s);
    return out;
  };
  auto dx = vocabularies(
      "SELECT DISTINCT c.vocabulary_id FROM condition_occurrence e JOIN concept c ON "
      "c.concept_id = e.condition_source_concept_id");
  auto drugs = vocabularies(
      "SELECT DISTINCT c.vocabulary_id FROM drug_exposure e JOIN concept c ON "
      "c.concept_id = e.drug_source_concept_id");
  auto procs = vocabularies(
      "SELECT DISTINCT c.vocabulary_id FROM procedure_occurrence e JOIN concept c ON "
      "c.concept_id = e.procedure_source_concept_id");
  if (fr) {
    EXPECT_EQ(dx, (std::set<std::string>{"CIM10"}));
    EXPECT_EQ(drugs, (std::set<std::string>{"CIP13"}));
    EXPECT_EQ(procs, (std::set<std::string>{"CCAM"}));
    // France reports LDL cholesterol in g/L.
    EXPECT_EQ(Int(db,
                  "SELECT count(DISTINCT unit_concept_id) FROM measurement WHERE "
                  "measurement_concept_id = 3009966"),
              1);
    EXPECT_EQ(Int(db,
                  "SELECT min(unit_concept_id) FROM measurement WHERE "
                  "measurement_concept_id = 3009966"),
              8636);
  } else {
    EXPECT_EQ(dx, (std::set<std::string>{"ICD9CM", "ICD10CA"}));
    EXPECT_EQ(drugs, (std::set<std::string>{"DIN"}));
    EXPECT_EQ(procs, (std::set<std::string>{"CCI"}));
    // Inpatient diagnoses in ICD-10-CA, physician billing in ICD-9.
    EXPECT_EQ(Int(db,
                  "SELECT count(*) FROM condition_occurrence e JOIN visit_occurrence v "
                  "USING (visit_occurrence_id) JOIN concept c ON c.concept_id = "
                  "e.condition_source_concept_id WHERE v.visit_concept_id = 9201 AND "
                  "c.vocabulary_id <> 'ICD10CA'"),
              0);
    EXPECT_EQ(Int(db,
                  "SELECT min(unit_concept_id) FROM measurement WHERE "
                  "measurement_concept_id = 3009966"),
              8753);
  }
  // Every visit type appears; treatments follow guidelines (metformin is the commonest
  // diabetes drug).
  EXPECT_EQ(Int(db, "SELECT count(DISTINCT visit_concept_id) FROM visit_occurrence"), 3);
  EXPECT_EQ(Int(db,
                "SELECT drug_concept_id FROM drug_exposure WHERE drug_concept_id IN "
                "(SELECT descendant_concept_id FROM concept_ancestor a JOIN concept c ON "
                "c.concept_id = a.ancestor_concept_id WHERE c.concept_code IN ('A10A', "
                "'A10B')) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"),
            rx::kMetformin);
}

// Recorded period prevalences (persons with a diagnosis) match the profile's targets.
void CheckPrevalences(store::DataSource& db, Profile profile) {
  const std::pair<Chronic, int64_t> checks[] = {
      {kHypertension, 316866}, {kT2d, 201826},           {kDyslipidemia, 432867},
      {kObesity, 433736},      {kCkd, 46271022},         {kAfib, 313217},
      {kCopd, 255573},         {kAsthma, 317009},        {kDepression, 440383},
      {kHypothyroid, 140673},  {kOsteoarthritis, 80180}, {kCad, 317576},
      {kHeartFailure, 316139}, {kBreastCancer, 4112853}, {kGerd, 318800}};
  for (const auto& [disease, concept_id] : checks) {
    const double target = ChronicSpecs()[disease].prevalence[profile == Profile::kFrance ? 0 : 1];
    const double observed =
        Dbl(db, "SELECT count(DISTINCT person_id) / " + std::to_string(kPersons) +
                    ".0 FROM condition_occurrence WHERE condition_concept_id IN (SELECT "
                    "descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = " +
                    std::to_string(concept_id) + ")");
    // Sampling error (4 standard errors) plus 10% for the calibration sample; heart failure
    // also gains the cases that the planted effect (1) creates.
    double tolerance = 4 * std::sqrt(target * (1 - target) / kPersons) + 0.1 * target;
    if (disease == kHeartFailure) tolerance += 0.2 * target;
    EXPECT_NEAR(observed, target, tolerance) << ChronicSpecs()[disease].key;
  }
  // Age and sex structure: the population pyramid's share of persons aged 65+ at the start.
  const double old = Dbl(db,
                         "SELECT avg(CASE WHEN 2015 - year_of_birth >= 65 THEN 1 ELSE 0 "
                         "END) FROM person");
  EXPECT_NEAR(old, profile == Profile::kFrance ? 0.185 : 0.18, 0.03);
  const double female = Dbl(db,
                            "SELECT avg(CASE WHEN gender_concept_id = 8532 THEN 1.0 ELSE 0 "
                            "END) FROM person");
  EXPECT_NEAR(female, 0.51, 0.02);
  // Deaths: about 0.6 to 1.2% of persons a year.
  const double deaths = Dbl(db, "SELECT count(*) / " + std::to_string(kPersons) + ".0 FROM death");
  EXPECT_GT(deaths, 0.05);
  EXPECT_LT(deaths, 0.12);
}

class SynthIntegrityTest : public ::testing::TestWithParam<Profile> {};

TEST_P(SynthIntegrityTest, ReferencesConceptsCodesAndPrevalences) {
  store::DataSource& db = Generated(GetParam(), kPersons, kSeed);
  {
    SCOPED_TRACE("events inside observation periods");
    CheckEventsInsideObservation(db);
  }
  {
    SCOPED_TRACE("concepts");
    CheckConcepts(db);
  }
  {
    SCOPED_TRACE("codes of the jurisdiction");
    CheckCodes(db, GetParam());
  }
  {
    SCOPED_TRACE("prevalences");
    CheckPrevalences(db, GetParam());
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, SynthIntegrityTest,
                         ::testing::Values(Profile::kFrance, Profile::kQuebec),
                         [](const auto& param_info) {
                           return std::string(ProfileName(param_info.param));
                         });

TEST(SynthRegistryTest, RecordsTheDatasetAndTheTruth) {
  SynthReport report;
  store::DataSource& db = Generated(Profile::kQuebec, 2000, kSeed, &report);
  auto datasets = store::ListDatasets(db);
  ASSERT_TRUE(datasets.ok());
  ASSERT_EQ(datasets->size(), 1u);
  EXPECT_EQ((*datasets)[0].kind, "omop");
  EXPECT_EQ((*datasets)[0].rows, 2000);
  EXPECT_DOUBLE_EQ(Dbl(db, "SELECT value_as_number FROM metadata WHERE name = 'truth.hhf.sglt2'"),
                   truth::Hhf::kSglt2);
  EXPECT_EQ(Int(db, "SELECT count(*) FROM cdm_source WHERE cdm_version = '5.4'"), 1);
  EXPECT_TRUE(report.effects_planted);
  EXPECT_EQ(FormatDate(report.hhf_index_date), "2022-01-01");
  EXPECT_EQ(report.persons, 2000);
  int64_t rows = 0;
  for (const auto& [table, n] : report.tables) {
    EXPECT_EQ(Int(db, "SELECT count(*) FROM " + table), n) << table;
    rows += n;
  }
  EXPECT_EQ(rows, report.rows);
}

// ---- the file front door -----------------------------------------------------------------------

TEST(SynthFileTest, RefusesToOverwriteUnlessAskedAndLeavesNoTemporaryFile) {
  auto dir = TempDir::Create("synth");
  ASSERT_TRUE(dir.ok());
  const auto out = dir->path() / "fr.duckdb";
  SynthOptions o;
  o.persons = 50;
  ASSERT_TRUE(GenerateSyntheticFile(o, {.out = out}).ok());
  auto again = GenerateSyntheticFile(o, {.out = out});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("--replace"), std::string::npos);
  o.persons = 70;
  ASSERT_TRUE(GenerateSyntheticFile(o, {.out = out, .replace = true}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir->path() / "fr.duckdb.tmp"));
  auto db = store::OpenDuckDb({.path = out.string(), .read_only = true});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(Int(**db, "SELECT count(*) FROM person"), 70);
  auto missing = GenerateSyntheticFile(o, {.out = dir->path() / "no" / "x.duckdb"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace passerelle::omop::synth
