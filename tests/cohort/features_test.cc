// The analysis table on a hand-built CDM: every value worked out by hand.
#include "cohort/features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "cdm_fixture.h"

namespace passerelle::cohort {
namespace {

using fixtures::CdmFixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// T2DM (100) on 2012-01-01 for persons 1-4; person 5 never has it.
//   person  born  sex     notes
//   1       1950  male    HF 2011-06-01; drug 2010-06-01, 2011-03-01, 2011-09-01;
//                         HbA1c 7.1 (2011-05-01), 8.2 (2011-11-01), 9.9 (2012-02-01);
//                         visits 2011-02-01, 2011-08-01; MI 2012-06-01 (day 152)
//   2       1980  female  HF 2010-06-01 (more than a year before); MI 2013-06-01 (day 517)
//   3       1990  male    HF on the index day; death 2012-03-01 (day 60)
//   4       1960  female  observed until 2012-12-31 only; MI 2013-02-01 (not observed)
//   5       1970  male    MI only
void Populate(CdmFixture& f) {
  f.Observed(1, 1950, "2009-01-01", "2015-12-31", kMaleConceptId);
  f.Observed(2, 1980, "2009-01-01", "2015-12-31", kFemaleConceptId);
  f.Observed(3, 1990, "2009-01-01", "2015-12-31", kMaleConceptId);
  f.Observed(4, 1960, "2009-01-01", "2012-12-31", kFemaleConceptId);
  f.Observed(5, 1970, "2009-01-01", "2015-12-31", kMaleConceptId);
  for (int p = 1; p <= 4; ++p) f.Condition(p, 100, "2012-01-01");
  f.Condition(1, 150, "2011-06-01");
  f.Drug(1, 200, "2010-06-01", "2010-06-01");
  f.Drug(1, 200, "2011-03-01", "2011-03-01");
  f.Drug(1, 200, "2011-09-01", "2011-09-01");
  f.Measurement(1, 300, "2011-05-01", 7.1);
  f.Measurement(1, 300, "2011-11-01", 8.2);
  f.Measurement(1, 300, "2012-02-01", 9.9);
  f.Visit(1, 9202, "2011-02-01", "2011-02-01");
  f.Visit(1, 9202, "2011-08-01", "2011-08-01");
  f.Condition(1, 160, "2012-06-01");
  f.Condition(2, 150, "2010-06-01");
  f.Condition(2, 160, "2013-06-01");
  f.Condition(3, 150, "2012-01-01");
  f.Death(3, "2012-03-01");
  f.Condition(4, 160, "2013-02-01");
  f.Condition(5, 160, "2012-06-01");
}

std::string Study(const std::string& exit, const std::string& covariates,
                  const std::string& outcome) {
  return fmt::format(R"({{
    "name": "features test",
    "cohort": {{
      "concept_sets": [{{"id": "t2dm", "concepts": [100]}}, {{"id": "hf", "concepts": [150]}},
                       {{"id": "mi", "concepts": [160]}}, {{"id": "hba1c", "concepts": [300]}}],
      "entry": {{"events": [{{"domain": "condition", "concept_set": "t2dm"}}]}},
      "exit": {}
    }},
    "covariates": [{}],
    "outcome": {}
  }})",
                     exit, covariates, outcome);
}

// Rows of the table ordered by the first column, every value as text ("NULL" for NULL).
std::vector<std::string> Table(store::DataSource& db, const std::string& table,
                               const std::string& columns) {
  auto c = store::QueryAll(db, fmt::format("SELECT {} FROM {} ORDER BY 1", columns, table));
  EXPECT_TRUE(c.ok()) << c.status().message();
  std::vector<std::string> out;
  if (!c.ok()) return out;
  for (size_t r = 0; r < c->size(); ++r) {
    std::string line;
    for (const auto& col : c->columns) {
      if (!line.empty()) line += ",";
      if (col.IsNull(r)) {
        line += "NULL";
      } else if (col.type == store::ColumnType::kDouble) {
        line += fmt::format("{}", col.doubles[r]);
      } else if (col.type == store::ColumnType::kString) {
        line += col.strings[r];
      } else {
        line += std::to_string(col.ints[r]);
      }
    }
    out.push_back(line);
  }
  return out;
}

TEST(FeaturesTest, CovariatesAndBinaryOutcome) {
  CdmFixture f;
  Populate(f);
  auto spec = ParseCohortStudySpecText(
      Study(R"({"type": "observation_end"})",
            R"({"type": "age"}, {"type": "sex"}, {"type": "sex", "coding": "female"},
               {"type": "condition", "concept_set": "hf", "window": {"start": -365, "end": -1}},
               {"type": "drug", "concepts": [200], "window": {"start": -365, "end": 0},
                "statistic": "count", "name": "drugs"},
               {"type": "drug", "concepts": [200], "window": {"start": -365, "end": 0}},
               {"type": "measurement", "concept_set": "hba1c",
                "window": {"start": -365, "end": 0}, "statistic": "latest_value",
                "name": "hba1c"},
               {"type": "visit", "window": {"start": -365, "end": -1}, "statistic": "count",
                "name": "visits"},
               {"type": "condition", "window": {"start": -30, "end": 0}, "name": "any_recent"})",
            R"({"type": "binary", "event": {"domain": "condition", "concept_set": "mi"},
                "window": {"start": 1, "end": 365}, "name": "mi_1y"})"),
      "study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->covariates[3].name, "condition_hf_m365_m1");
  EXPECT_EQ(spec->covariates[5].name, "drug_c6_m365_0");

  auto info = BuildAnalysisTable(f.db(), *spec, "analysis");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->rows, 4);
  EXPECT_EQ(info->cohort.cohort_persons, 4);
  std::vector<std::string> names;
  for (const auto& c : info->columns) names.push_back(c.name + ":" + c.type);
  EXPECT_THAT(names,
              ElementsAre("age:integer", "sex:text", "female:integer",
                          "condition_hf_m365_m1:integer", "drugs:integer", "drug_c6_m365_0:integer",
                          "hba1c:real", "visits:integer", "any_recent:integer", "mi_1y:integer"));
  EXPECT_THAT(Table(f.db(), "analysis",
                    "age, sex, female, condition_hf_m365_m1, drugs, drug_c6_m365_0, hba1c, "
                    "visits, any_recent, mi_1y"),
              ElementsAre("22,male,0,0,0,0,NULL,0,1,0",    // person 3
                          "32,female,1,0,0,0,NULL,0,1,0",  // person 2
                          "52,female,1,0,0,0,NULL,0,1,0",  // person 4: MI not observed
                          "62,male,0,1,2,1,8.2,2,1,1"));   // person 1
  // No identifier leaves the builder; work tables are gone; the table is a regular table.
  auto tables = f.db().ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_THAT(*tables, ::testing::Contains("analysis"));
  auto schema = f.db().DescribeTable("analysis");
  ASSERT_TRUE(schema.ok());
  for (const auto& c : *schema) EXPECT_NE(c.name, "person_id");
  auto work = store::QueryInt(
      f.db(), "SELECT COUNT(*) FROM duckdb_tables() WHERE table_name LIKE '\\_pf\\_%' ESCAPE '\\'");
  ASSERT_TRUE(work.ok()) << work.status().message();
  EXPECT_EQ(*work, 0);
}

TEST(FeaturesTest, TimeToEventWithCensoring) {
  CdmFixture f;
  Populate(f);
  auto build = [&](const std::string& censor_at) {
    auto spec = ParseCohortStudySpecText(
        Study(R"({"type": "fixed", "offset_days": 180})", R"({"type": "age"})",
              fmt::format(R"({{"type": "time_to_event",
                               "event": {{"domain": "condition", "concept_set": "mi"}},
                               "window": {{"start": 1}} {}}})",
                          censor_at)),
        "study.json");
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    auto info = BuildAnalysisTable(f.db(), *spec, "tte");
    EXPECT_TRUE(info.ok()) << info.status().message();
    return Table(f.db(), "tte", "age, time, event");
  };
  // Censored at the cohort exit (180 days), death and the end of observation.
  EXPECT_THAT(build(""), ElementsAre("22,60,0",     // death on day 60
                                     "32,180,0",    // MI on day 517, after the exit
                                     "52,180,0",    // exit before the end of observation
                                     "62,152,1"));  // MI on day 152
  // Censored at death (and the end of observation) only.
  EXPECT_THAT(build(R"(, "censor_at": ["death"])"),
              ElementsAre("22,60,0", "32,517,1",
                          "52,365,0",  // end of observation 2012-12-31; MI after it
                          "62,152,1"));
  // A risk window of 200 days ends follow-up too.
  auto spec = ParseCohortStudySpecText(
      Study(R"({"type": "observation_end"})", R"({"type": "age"})",
            R"({"type": "time_to_event", "event": {"domain": "condition", "concept_set": "mi"},
                "window": {"start": 1, "end": 200}, "name": "mi"})"),
      "study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_TRUE(BuildAnalysisTable(f.db(), *spec, "tte").ok());
  EXPECT_THAT(Table(f.db(), "tte", "age, mi_time, mi_event"),
              ElementsAre("22,60,0", "32,200,0", "52,200,0", "62,152,1"));
}

TEST(FeaturesTest, ExposureOngoingAtIndexAndMaleCoding) {
  CdmFixture f;
  Populate(f);
  f.Drug(2, 210, "2011-01-01", "2011-02-01");  // ended before index
  f.Drug(2, 210, "2011-12-15", "2012-01-20");  // ongoing at index
  f.Drug(4, 210, "2012-02-01", "2012-03-01");  // starts after index
  auto spec = ParseCohortStudySpecText(Study(R"({"type": "observation_end"})",
                                             R"({"type": "age"}, {"type": "sex", "coding": "male"},
               {"type": "drug", "concepts": [210], "window": {"end": 0},
                "end_window": {"start": 0}},
               {"type": "drug", "concepts": [210], "window": {"start": -365, "end": 0},
                "statistic": "count", "name": "n210"})",
                                             R"({"type": "binary", "event": {"domain": "death"}})"),
                                       "study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->covariates[2].name, "drug_c3_minf_0_end_0_pinf");
  ASSERT_TRUE(BuildAnalysisTable(f.db(), *spec, "t").ok());
  EXPECT_THAT(Table(f.db(), "t", "age, male, drug_c3_minf_0_end_0_pinf, n210, outcome"),
              ElementsAre("22,1,0,0,1", "32,0,1,2,0", "52,0,0,0,0", "62,1,0,0,0"));
}

TEST(FeaturesTest, AtlasCohortInAStudy) {
  CdmFixture f;
  Populate(f);
  auto spec = ParseCohortStudySpecText(R"({
    "cohort": {"atlas": {
      "ConceptSets": [{"id": 1, "name": "t2dm", "expression": {"items": [
                        {"concept": {"CONCEPT_ID": 100}}]}}],
      "PrimaryCriteria": {"CriteriaList": [{"ConditionOccurrence": {"CodesetId": 1}}]},
      "InclusionRules": [{"name": "50+", "expression": {"Type": "ALL",
                          "DemographicCriteriaList": [{"Age": {"Value": 50, "Op": "gte"}}]}}]}},
    "covariates": [{"type": "age"}]})",
                                       "study.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto info = BuildAnalysisTable(f.db(), *spec, "t");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_THAT(Table(f.db(), "t", "age"), ElementsAre("52", "62"));
  ASSERT_EQ(info->cohort.rules.size(), 1u);
  EXPECT_EQ(info->cohort.rules[0].name, "50+");
}

TEST(FeaturesTest, SpecErrorsNameThePlace) {
  auto err = [](const std::string& covariates, const std::string& outcome = "") {
    auto r = ParseCohortStudySpecText(
        fmt::format(R"({{"cohort": {{"concept_sets": [{{"id": "a", "concepts": [1]}}],
                                    "entry": {{"events": [{{"domain": "condition",
                                                           "concept_set": "a"}}]}}}},
                        "covariates": [{}]{}}})",
                    covariates, outcome.empty() ? "" : ", \"outcome\": " + outcome),
        "study.json");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err(R"({"type": "age"}, {"type": "age"})"),
            "study.json: covariate 2: column name \"age\" is used twice; set \"name\"");
  EXPECT_EQ(err(R"({"type": "condition", "concept_set": "a", "window": {"start": 0, "end": -5}})"),
            "study.json: covariate 1: \"window.start\" must be <= \"window.end\" (got 0 > -5)");
  EXPECT_EQ(err(R"({"type": "condition", "concept_set": "b", "window": {"end": 0}})"),
            "study.json: covariate 1: concept set \"b\" is not defined in the cohort's "
            "\"concept_sets\"");
  EXPECT_EQ(err(R"({"type": "condition", "window": {"end": 0}, "statistic": "latest_value"})"),
            "study.json: covariate 1: \"statistic\": \"latest_value\" applies to measurement and "
            "observation only");
  EXPECT_EQ(err(R"({"type": "drug", "concept_set": "a"})"),
            "study.json: covariate 1: \"window\" is required, e.g. {\"start\": -365, \"end\": 0} "
            "(days relative to the index date; null for unbounded)");
  EXPECT_EQ(err(R"({"type": "age", "name": "Age"})"),
            "study.json: covariate 1: column name \"Age\" must match [a-z_][a-z0-9_]* (at most 63 "
            "characters); set \"name\"");
  EXPECT_EQ(err(R"({"type": "age"})", R"({"type": "binary", "event": {"domain": "death"},
                                         "censor_at": ["death"]})"),
            "study.json: outcome: \"censor_at\" applies to \"type\": \"time_to_event\" only");
  EXPECT_EQ(err(R"({"type": "age"})", R"({"type": "survival", "event": {"domain": "death"}})"),
            "study.json: outcome: \"type\" must be \"binary\" or \"time_to_event\"");
  EXPECT_EQ(err(R"({"type": "age", "name": "event"})",
                R"({"type": "time_to_event", "event": {"domain": "death"}})"),
            "study.json: outcome: column name \"event\" is used twice; set \"name\"");
  EXPECT_THAT(err(R"({"type": "age"})", R"({"type": "binary", "event": {"domain": "death",
                                                                    "concepts": []}})"),
              HasSubstr("\"concepts\" must be a non-empty list"));
  EXPECT_EQ(err(R"({"type": "age"})"), "ok");
}

TEST(FeaturesTest, ExampleStudiesParseAndRun) {
  CdmFixture f;
  Populate(f);
  for (const char* name : {"t2dm_study.json", "hhf_study.json", "mace_study.json"}) {
    std::ifstream in(std::string(PASSERELLE_SOURCE_DIR) + "/examples/cohorts/" + name);
    ASSERT_TRUE(in.good()) << name;
    std::stringstream ss;
    ss << in.rdbuf();
    auto spec = ParseCohortStudySpecText(ss.str(), name);
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    EXPECT_GE(spec->covariates.size(), 5u);
    EXPECT_TRUE(spec->outcome.has_value());
    auto info = BuildAnalysisTable(f.db(), *spec, "example");
    ASSERT_TRUE(info.ok()) << name << ": " << info.status().message();
  }
  // The MACE cohort enters everyone observed 180 days, adults at entry: persons 1-5.
  EXPECT_EQ(*store::QueryInt(f.db(), "SELECT COUNT(*) FROM example"), 5);
}

}  // namespace
}  // namespace passerelle::cohort
