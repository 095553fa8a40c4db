// ATLAS (Circe) import: the same cohort written in ATLAS JSON and in the native format gives the
// same definition and the same cohort; unsupported constructs are refused by JSON path.
#include "cohort/atlas.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cdm_fixture.h"

namespace passerelle::cohort {
namespace {

using fixtures::CdmFixture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// As ATLAS exports it (metadata fields and defaults included).
constexpr const char* kAtlas = R"({
  "cdmVersionRange": ">=5.0.0",
  "ConceptSets": [
    {"id": 0, "name": "Type 2 diabetes", "expression": {"items": [
      {"concept": {"CONCEPT_ID": 100, "CONCEPT_NAME": "T2DM", "STANDARD_CONCEPT": "S",
                   "INVALID_REASON": "V", "DOMAIN_ID": "Condition", "VOCABULARY_ID": "SNOMED"},
       "isExcluded": false, "includeDescendants": true, "includeMapped": false},
      {"concept": {"CONCEPT_ID": 102, "CONCEPT_NAME": "excluded child"},
       "isExcluded": true, "includeDescendants": false, "includeMapped": false}]}},
    {"id": 1, "name": "Metformin", "expression": {"items": [
      {"concept": {"CONCEPT_ID": 200}, "isExcluded": false, "includeDescendants": true,
       "includeMapped": false}]}},
    {"id": 2, "name": "HbA1c", "expression": {"items": [{"concept": {"CONCEPT_ID": 300}}]}}
  ],
  "PrimaryCriteria": {
    "CriteriaList": [{"ConditionOccurrence": {"CodesetId": 0, "ConditionTypeExclude": false}}],
    "ObservationWindow": {"PriorDays": 365, "PostDays": 0},
    "PrimaryCriteriaLimit": {"Type": "First"}
  },
  "QualifiedLimit": {"Type": "First"},
  "ExpressionLimit": {"Type": "First"},
  "InclusionRules": [
    {"name": "metformin in the prior year", "expression": {"Type": "ALL", "CriteriaList": [
      {"Criteria": {"DrugExposure": {"CodesetId": 1, "DrugTypeExclude": false}},
       "StartWindow": {"Start": {"Days": 365, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1},
                       "UseIndexEnd": false, "UseEventEnd": false},
       "RestrictVisit": false, "IgnoreObservationPeriod": false,
       "Occurrence": {"Type": 2, "Count": 1, "IsDistinct": false}}],
     "DemographicCriteriaList": [], "Groups": []}},
    {"name": "female adults", "expression": {"Type": "ALL", "CriteriaList": [],
     "DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "gte"},
                                  "Gender": [{"CONCEPT_ID": 8532, "CONCEPT_NAME": "FEMALE"}]}],
     "Groups": []}},
    {"name": "no HbA1c above 10 before", "expression": {"Type": "ALL", "CriteriaList": [
      {"Criteria": {"Measurement": {"CodesetId": 2, "MeasurementTypeExclude": false,
                                    "ValueAsNumber": {"Value": 10, "Op": "gt"}}},
       "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 0, "Coeff": 1}},
       "Occurrence": {"Type": 0, "Count": 0, "IsDistinct": false}}],
     "DemographicCriteriaList": [], "Groups": []}}
  ],
  "EndStrategy": {"CustomEra": {"DrugCodesetId": 1, "GapDays": 30, "Offset": 0}},
  "CensoringCriteria": [],
  "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
  "CensorWindow": {}
})";

// The same cohort in the native format.
constexpr const char* kNative = R"({
  "concept_sets": [
    {"id": "0", "name": "Type 2 diabetes", "concepts": [
      {"concept_id": 100, "descendants": true}, {"concept_id": 102, "exclude": true}]},
    {"id": "1", "name": "Metformin", "concepts": [{"concept_id": 200, "descendants": true}]},
    {"id": "2", "name": "HbA1c", "concepts": [300]}],
  "entry": {"events": [{"domain": "condition", "concept_set": "0"}],
            "prior_observation_days": 365, "limit": "first"},
  "inclusion_rules": [
    {"name": "metformin in the prior year", "criteria": [
      {"event": {"domain": "drug", "concept_set": "1"}, "window": {"start": -365, "end": 0},
       "occurrences": {"at_least": 1}}]},
    {"name": "female adults", "criteria": [{"age": {"min": 18}, "sex": ["female"]}]},
    {"name": "no HbA1c above 10 before", "criteria": [
      {"event": {"domain": "measurement", "concept_set": "2", "value": {"gt": 10}},
       "window": {"start": null, "end": 0}, "occurrences": {"exactly": 0}}]}],
  "exit": {"type": "drug_era", "concept_set": "1", "gap_days": 30}
})";

TEST(AtlasImportTest, MatchesTheNativeDefinition) {
  auto atlas = ImportAtlasCohort(kAtlas, "atlas.json");
  ASSERT_TRUE(atlas.ok()) << atlas.status().message();
  auto native = ParseCohortDefinition(kNative, "native.json");
  ASSERT_TRUE(native.ok()) << native.status().message();
  EXPECT_EQ(*atlas, *native) << CohortDefinitionToJson(*atlas);
}

TEST(AtlasImportTest, RoundTripThroughTheNativeFormatGivesTheSameCohort) {
  auto atlas = ImportAtlasCohort(kAtlas, "atlas.json");
  ASSERT_TRUE(atlas.ok()) << atlas.status().message();
  auto again = ParseCohortDefinition(CohortDefinitionToJson(*atlas), "exported.json");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*atlas, *again);

  // Women with T2DM; metformin eras; one had HbA1c > 10, one is a man, one had no metformin.
  CdmFixture f;
  f.Ancestor(100, 101);
  f.Ancestor(100, 102);
  for (int p = 1; p <= 5; ++p) {
    f.Observed(p, 1970, "2009-01-01", "2015-12-31", p == 4 ? kMaleConceptId : kFemaleConceptId);
  }
  f.Condition(1, 101, "2012-01-01");  // descendant of 100
  f.Drug(1, 200, "2011-12-15", "2012-01-14");
  f.Drug(1, 200, "2012-02-01", "2012-03-01");  // within the 30-day gap
  f.Condition(2, 100, "2012-01-01");
  f.Drug(2, 200, "2011-12-15", "2012-01-14");
  f.Measurement(2, 300, "2011-06-01", 11.0);  // excluded by rule 3
  f.Condition(3, 100, "2012-01-01");          // no metformin: rule 1
  f.Condition(4, 100, "2012-01-01");          // a man: rule 2
  f.Drug(4, 200, "2011-12-15", "2012-01-14");
  f.Condition(5, 102, "2012-01-01");  // the excluded concept: no entry
  f.Drug(5, 200, "2011-12-15", "2012-01-14");

  CohortCounts a = f.Run(*atlas);
  std::vector<std::string> rows_a = f.Rows();
  CohortCounts b = f.Run(*again);
  EXPECT_EQ(f.Rows(), rows_a);
  // The era of person 1 runs to the end of the second exposure.
  EXPECT_THAT(rows_a, ElementsAre("1:2012-01-01:2012-03-01"));
  EXPECT_EQ(a.entry_persons, 4);
  ASSERT_EQ(a.rules.size(), 3u);
  EXPECT_EQ(a.rules[0].persons, 3);  // persons 1, 2, 4
  EXPECT_EQ(a.rules[1].persons, 2);  // persons 1, 2
  EXPECT_EQ(a.rules[2].persons, 1);  // person 1
  EXPECT_EQ(a.rules[2].alone_persons, 3);
  EXPECT_EQ(b.cohort_persons, a.cohort_persons);
}

TEST(AtlasImportTest, ImportsLimitsEndOffsetsCensoringAndGroups) {
  auto def = ImportAtlasCohort(R"({
    "ConceptSets": [{"id": 3, "name": "x", "expression": {"items": [
                      {"concept": {"CONCEPT_ID": 5}, "includeMapped": true}]}}],
    "PrimaryCriteria": {"CriteriaList": [{"VisitOccurrence": {"CodesetId": 3, "First": true}},
                                         {"Death": {}}],
                        "ObservationWindow": {"PriorDays": 0, "PostDays": 30},
                        "PrimaryCriteriaLimit": {"Type": "All"}},
    "AdditionalCriteria": {"Type": "AT_LEAST", "Count": 1, "CriteriaList": [
       {"Criteria": {"ObservationPeriod": {}},
        "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 365, "Coeff": -1}},
        "EndWindow": {"Start": {"Days": 0, "Coeff": -1}, "End": {"Coeff": 1}, "UseEventEnd": true},
        "Occurrence": {"Type": 2, "Count": 1}}],
      "Groups": [{"Type": "ANY", "DemographicCriteriaList": [
         {"OccurrenceStartDate": {"Value": "2021-02-01", "Op": "bt", "Extent": "2021-02-28"}},
         {"Age": {"Value": 65, "Op": "!bt", "Extent": 80}}]}]},
    "QualifiedLimit": {"Type": "Last"},
    "ExpressionLimit": {"Type": "All"},
    "EndStrategy": {"DateOffset": {"DateField": "EndDate", "Offset": 7}},
    "CensoringCriteria": [{"Death": {}}],
    "CollapseSettings": {"CollapseType": "ERA", "EraPad": 30},
    "CensorWindow": {"StartDate": "2020-01-01", "EndDate": null}
  })",
                               "x.json");
  ASSERT_TRUE(def.ok()) << def.status().message();
  EXPECT_EQ(def->concept_sets[0].id, "3");
  EXPECT_TRUE(def->concept_sets[0].items[0].mapped);
  EXPECT_EQ(def->entry.events.size(), 2u);
  EXPECT_TRUE(def->entry.events[0].first_occurrence);
  EXPECT_EQ(def->entry.events[1].domain, Domain::kDeath);
  EXPECT_EQ(def->entry.post_observation_days, 30);
  EXPECT_EQ(def->entry.limit, Limit::kAll);
  ASSERT_TRUE(def->entry.additional_criteria.has_value());
  const Group& g = *def->entry.additional_criteria;
  EXPECT_EQ(g.match, GroupMatch::kAtLeast);
  ASSERT_EQ(g.criteria.size(), 1u);
  EXPECT_EQ(g.criteria[0].event.domain, Domain::kObservationPeriod);
  EXPECT_FALSE(g.criteria[0].window.start.has_value());
  EXPECT_EQ(g.criteria[0].window.end, -365);
  ASSERT_TRUE(g.criteria[0].end_window.has_value());
  EXPECT_EQ(g.criteria[0].end_window->start, 0);
  EXPECT_TRUE(g.criteria[0].end_window->on_event_end);
  ASSERT_EQ(g.groups.size(), 1u);
  EXPECT_EQ(g.groups[0].match, GroupMatch::kAny);
  EXPECT_EQ(g.groups[0].demographics[0].index_date.terms.size(), 2u);
  EXPECT_EQ(g.groups[0].demographics[1].age.terms[0].op, RangeOp::kNotBetween);
  EXPECT_EQ(def->entry.qualified_limit, Limit::kLast);
  EXPECT_EQ(def->inclusion_limit, Limit::kAll);
  EXPECT_EQ(def->exit.type, ExitType::kFixed);
  EXPECT_TRUE(def->exit.from_end);
  EXPECT_EQ(def->exit.offset_days, 7);
  EXPECT_EQ(def->censor_events.size(), 1u);
  EXPECT_EQ(def->era_pad_days, 30);
  EXPECT_TRUE(def->censor_window_start.has_value());
  EXPECT_FALSE(def->censor_window_end.has_value());
  // And it survives the native format.
  auto again = ParseCohortDefinition(CohortDefinitionToJson(*def), "y.json");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*def, *again);
}

TEST(AtlasImportTest, ImportsConditionStatusVisitTypeAndDateAdjustment) {
  auto def = ImportAtlasCohort(R"({
    "ConceptSets": [{"id": 1, "name": "hf", "expression": {"items": [
                      {"concept": {"CONCEPT_ID": 316139}, "includeDescendants": true}]}}],
    "PrimaryCriteria": {"CriteriaList": [
      {"ConditionOccurrence": {"CodesetId": 1,
        "ConditionStatus": [{"CONCEPT_ID": 32902, "CONCEPT_NAME": "Primary diagnosis"}],
        "VisitType": [{"CONCEPT_ID": 9201, "CONCEPT_NAME": "Inpatient Visit"}]}},
      {"ObservationPeriod": {"DateAdjustment": {"StartWith": "START_DATE", "StartOffset": 180,
                                                "EndWith": "START_DATE", "EndOffset": 180}}}]}
  })",
                               "x.json");
  ASSERT_TRUE(def.ok()) << def.status().message();
  const EventCriteria& hf = def->entry.events[0];
  EXPECT_THAT(hf.condition_status, ElementsAre(32902));
  EXPECT_THAT(hf.visit, ElementsAre(9201));
  const EventCriteria& op = def->entry.events[1];
  ASSERT_TRUE(op.date_adjustment.has_value());
  EXPECT_EQ(op.date_adjustment->start_offset, 180);
  EXPECT_FALSE(op.date_adjustment->end_from_end);
  auto again = ParseCohortDefinition(CohortDefinitionToJson(*def), "y.json");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*def, *again);
}

TEST(AtlasImportTest, UnsupportedConstructsAreRefusedByPath) {
  auto err = [](const std::string& primary_criteria, const std::string& rest = "") {
    auto r = ImportAtlasCohort(
        fmt::format(R"({{"ConceptSets": [], "PrimaryCriteria": {{"CriteriaList": [{}]}}{}}})",
                    primary_criteria, rest.empty() ? "" : ", " + rest),
        "atlas.json");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_THAT(err(R"({"DrugEra": {"CodesetId": 1}})"),
              HasSubstr("atlas.json: PrimaryCriteria.CriteriaList[0].DrugEra: criteria type not "
                        "supported"));
  EXPECT_THAT(err(R"({"ConditionOccurrence": {"ConditionType": [{"CONCEPT_ID": 32020}]}})"),
              HasSubstr("atlas.json: PrimaryCriteria.CriteriaList[0].ConditionOccurrence."
                        "ConditionType: not supported by Passerelle's ATLAS import"));
  EXPECT_THAT(err(R"({"ConditionOccurrence": {"CorrelatedCriteria": {"Type": "ALL",
                     "CriteriaList": [{"Criteria": {"Death": {}}}]}}})"),
              HasSubstr("ConditionOccurrence.CorrelatedCriteria: not supported"));
  EXPECT_THAT(err(R"({"Death": {}})", R"("InclusionRules": [{"name": "r", "expression":
                     {"Type": "ALL", "DemographicCriteriaList": [{"Race": [{"CONCEPT_ID": 1}]}]}}])"),
              HasSubstr("atlas.json: InclusionRules[0].expression.DemographicCriteriaList[0].Race: "
                        "not supported"));
  EXPECT_THAT(err(R"({"Death": {}})", R"("EndStrategy": {"CustomEra": {"DrugCodesetId": 1,
                     "GapUnit": "month"}})"),
              HasSubstr("EndStrategy.CustomEra.GapUnit: only \"day\" units are supported"));
  EXPECT_THAT(err(R"({"Death": {}})", R"("CensorWindow": {"StartDate": "2020-02-30"})"),
              HasSubstr("CensorWindow.StartDate: must be a date"));
  // Defaults are accepted silently; references are checked.
  EXPECT_EQ(err(R"({"ConditionOccurrence": {"ConditionTypeExclude": false, "StopReason": null,
                                            "ConditionType": []}})"),
            "ok");
  EXPECT_EQ(err(R"({"ConditionOccurrence": {"CodesetId": 7}})"),
            "atlas.json: entry event 1: concept set \"7\" is not defined in \"concept_sets\"");
}

TEST(AtlasImportTest, FormatIsDetected) {
  auto a = ParseAnyCohort(kAtlas, "a.json");
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto n = ParseAnyCohort(kNative, "n.json");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*a, *n);
  auto forced = ParseAnyCohort(kNative, "n.json", /*force_atlas=*/true);
  EXPECT_FALSE(forced.ok());
}

TEST(AtlasImportTest, ExampleFilesParse) {
  for (const char* name :
       {"t2dm_metformin_atlas.json", "t2dm_new_users.json", "hf_hospitalisation_atlas.json"}) {
    std::ifstream in(std::string(PASSERELLE_SOURCE_DIR) + "/examples/cohorts/" + name);
    ASSERT_TRUE(in.good()) << name;
    std::stringstream ss;
    ss << in.rdbuf();
    auto r = ParseAnyCohort(ss.str(), name);
    EXPECT_TRUE(r.ok()) << r.status().message();
  }
}

}  // namespace
}  // namespace passerelle::cohort
