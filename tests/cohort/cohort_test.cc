// One hand-built CDM per construct; the expected cohorts are worked out by hand in the comments.
#include "cohort/cohort.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cdm_fixture.h"
#include "cohort/compiler.h"
#include "common/files.h"

namespace passerelle::cohort {
namespace {

using fixtures::CdmFixture;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Concepts: 100 the condition of interest (101, 102, 103 its descendants), 200 a drug,
// 300 HbA1c, 9201/9202 inpatient/outpatient visits.
constexpr const char* kSets =
    R"({"id": "a", "concepts": [100]}, {"id": "drug", "concepts": [200]},
       {"id": "hba1c", "concepts": [300]}, {"id": "visit", "concepts": [9201, 9202]},
       {"id": "outpatient", "concepts": [9202]})";

std::string Cohort(const std::string& entry, const std::string& rest = "") {
  return fmt::format(R"({{"concept_sets": [{}], "entry": {}{}}})", kSets, entry,
                     rest.empty() ? "" : ", " + rest);
}

constexpr const char* kEntryA = R"({"events": [{"domain": "condition", "concept_set": "a"}]})";

// An inclusion rule with one criterion.
std::string Rule(const std::string& criterion) {
  return fmt::format(R"("inclusion_rules": [{{"name": "r", "criteria": [{}]}}])", criterion);
}

TEST(CohortEntryTest, FirstLastAndAllEvents) {
  CdmFixture f;
  for (int p = 1; p <= 3; ++p) f.Observed(p, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2010-03-01");
  f.Condition(1, 100, "2012-05-01");
  f.Condition(2, 100, "2011-01-01");
  f.Condition(3, 999, "2011-01-01");

  // First event per person, exit at the end of observation.
  auto c = f.Run(Cohort(kEntryA));
  EXPECT_EQ(c.entry_events, 2);
  EXPECT_EQ(c.cohort_persons, 2);
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-03-01:2015-12-31", "2:2011-01-01:2015-12-31"));

  // All events, 30 days each: three periods.
  c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}], "limit": "all"})",
                   R"("inclusion_limit": "all", "exit": {"type": "fixed", "offset_days": 30})"));
  EXPECT_EQ(c.entry_events, 3);
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-03-01:2010-03-31", "1:2012-05-01:2012-05-31",
                                    "2:2011-01-01:2011-01-31"));

  // Last event.
  f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}], "limit": "last"})",
               R"("exit": {"type": "fixed", "offset_days": 30})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2012-05-01:2012-05-31", "2:2011-01-01:2011-01-31"));

  // All events exiting at the end of observation overlap: person 1's two periods collapse.
  c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}], "limit": "all"})",
                   R"("inclusion_limit": "all")"));
  EXPECT_EQ(c.included_events, 3);
  EXPECT_EQ(c.cohort_eras, 2);
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-03-01:2015-12-31", "2:2011-01-01:2015-12-31"));
}

TEST(CohortEntryTest, PriorAndPostObservation) {
  CdmFixture f;
  f.Observed(1, 1960, "2010-01-01", "2012-12-31");
  f.Condition(1, 100, "2010-06-01");  // 151 days of prior observation
  f.Condition(1, 100, "2011-06-01");  // 516 days
  f.Observed(2, 1960, "2010-01-01", "2011-03-01");
  f.Condition(2, 100, "2011-01-15");  // 379 days before, 45 days after
  f.Observed(3, 1960, "2010-01-01", "2012-12-31");
  f.Condition(3, 100, "2008-05-01");  // outside every observation period

  // The first event that has a year of prior observation (Circe applies the window first).
  auto c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}],
                            "prior_observation_days": 365})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2011-06-01:2012-12-31", "2:2011-01-15:2011-03-01"));
  // Also 60 days after: person 2 has only 45.
  f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}],
                   "prior_observation_days": 365, "post_observation_days": 60})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2011-06-01:2012-12-31"));
  // Without requirements every event inside an observation period enters.
  c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}], "limit": "all"})"));
  EXPECT_EQ(c.entry_events, 3);
  EXPECT_EQ(c.entry_persons, 2);
}

TEST(CohortEntryTest, FirstOccurrenceInHistoryDiffersFromFirstQualifying) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2009-02-01");  // first ever, but only 31 days of prior observation
  f.Condition(1, 100, "2011-01-01");
  // The first diagnosis ever fails the prior-observation requirement: no entry.
  auto c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a",
                                        "first_occurrence": true}],
                            "prior_observation_days": 365})"));
  EXPECT_EQ(c.cohort_persons, 0);
  // The first event that qualifies is the 2011 one.
  f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}],
                   "prior_observation_days": 365})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2011-01-01:2015-12-31"));
}

TEST(CohortConceptSetTest, DescendantsExclusionsAndMappedConcepts) {
  CdmFixture f;
  f.Ancestor(100, 101);
  f.Ancestor(100, 102);
  f.Ancestor(100, 103);
  f.Concept(103, "D");  // deprecated: not a valid descendant
  f.MapsTo(500, 100);   // a source concept mapping to 100
  const int64_t concept_of[] = {100, 101, 102, 103, 500};
  for (int p = 1; p <= 5; ++p) {
    f.Observed(p, 1960, "2009-01-01", "2015-12-31");
    f.Condition(p, concept_of[p - 1], "2011-01-01");
  }
  auto count = [&](const std::string& items) {
    return f
        .Run(fmt::format(R"({{"concept_sets": [{{"id": "s", "concepts": [{}]}}],
                                  "entry": {{"events": [{{"domain": "condition",
                                                          "concept_set": "s"}}]}}}})",
                         items))
        .cohort_persons;
  };
  EXPECT_EQ(count("100"), 1);
  EXPECT_EQ(count(R"({"concept_id": 100, "descendants": true})"), 3);  // 100, 101, 102
  EXPECT_EQ(count(R"({"concept_id": 100, "descendants": true},
                     {"concept_id": 102, "exclude": true})"),
            2);
  EXPECT_EQ(count(R"({"concept_id": 100, "descendants": true},
                     {"concept_id": 101, "descendants": true, "exclude": true})"),
            2);
  EXPECT_EQ(count(R"({"concept_id": 100, "descendants": true, "mapped": true})"), 4);
  // A concept without rows in concept_ancestor still matches itself.
  EXPECT_EQ(count(R"({"concept_id": 101, "descendants": true})"), 1);
  // An empty set matches nothing.
  EXPECT_EQ(count(""), 0);
}

TEST(CohortWindowTest, CountsInWindowsAroundIndex) {
  CdmFixture f;
  // Index 2012-01-01 for everyone; observed from 2009.
  const char* drug_dates[] = {"2011-07-01",   // 184 days before
                              "2011-01-01",   // 365 days before: on the bound
                              "2010-12-31",   // 366 days before
                              "2012-01-01",   // the index day
                              "2012-01-02",   // after
                              "2008-06-01"};  // before the observation period
  for (int p = 1; p <= 6; ++p) {
    f.Observed(p, 1960, "2009-01-01", "2015-12-31");
    f.Condition(p, 100, "2012-01-01");
    f.Drug(p, 200, drug_dates[p - 1], drug_dates[p - 1]);
  }
  auto persons = [&](const std::string& criterion) {
    f.Run(Cohort(kEntryA, Rule(criterion)));
    std::vector<std::string> ids;
    for (const auto& r : f.Rows()) ids.push_back(r.substr(0, r.find(':')));
    return ids;
  };
  EXPECT_THAT(persons(R"({"event": {"domain": "drug", "concept_set": "drug"},
                          "window": {"start": -365, "end": 0}})"),
              ElementsAre("1", "2", "4"));
  // Unbounded start: any time before, inside the index observation period.
  EXPECT_THAT(persons(R"({"event": {"domain": "drug", "concept_set": "drug"},
                          "window": {"start": null, "end": -1}})"),
              ElementsAre("1", "2", "3"));
  EXPECT_THAT(persons(R"({"event": {"domain": "drug", "concept_set": "drug"},
                          "window": {"end": -1}, "ignore_observation_period": true})"),
              ElementsAre("1", "2", "3", "6"));
  EXPECT_THAT(persons(R"({"event": {"domain": "drug", "concept_set": "drug"},
                          "window": {"start": 1, "end": 30}})"),
              ElementsAre("5"));
}

TEST(CohortWindowTest, EndWindowTestsTheEventEnd) {
  CdmFixture f;
  for (int p = 1; p <= 2; ++p) f.Observed(p, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2012-01-01");
  f.Condition(2, 100, "2012-01-01");
  f.Drug(1, 200, "2011-12-01", "2012-01-10");  // ongoing at index
  f.Drug(2, 200, "2011-12-01", "2011-12-27");  // ended before
  f.Run(Cohort(kEntryA, Rule(R"({"event": {"domain": "drug", "concept_set": "drug"},
                                 "window": {"end": 0}, "end_window": {"start": 0}})")));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2012-01-01:2015-12-31"));
}

TEST(CohortOccurrenceTest, ExactlyAtMostAtLeastAndDistinct) {
  CdmFixture f;
  // Visits in the year before the 2012-01-01 index: 0, 1, 2 and 3 (two concepts for person 4).
  for (int p = 1; p <= 4; ++p) {
    f.Observed(p, 1960, "2009-01-01", "2015-12-31");
    f.Condition(p, 100, "2012-01-01");
  }
  f.Visit(2, 9202, "2011-05-01", "2011-05-01");
  f.Visit(3, 9202, "2011-05-01", "2011-05-01");
  f.Visit(3, 9202, "2011-06-01", "2011-06-01");
  f.Visit(4, 9202, "2011-05-01", "2011-05-01");
  f.Visit(4, 9202, "2011-06-01", "2011-06-01");
  f.Visit(4, 9201, "2011-07-01", "2011-07-03");
  auto count = [&](const std::string& occurrences, bool distinct = false) {
    return f
        .Run(Cohort(kEntryA,
                    Rule(fmt::format(R"({{"event": {{"domain": "visit", "concept_set": "visit"}},
                                          "window": {{"start": -365, "end": -1}},
                                          "occurrences": {}, "distinct": {}}})",
                                     occurrences, distinct ? "true" : "false"))))
        .cohort_persons;
  };
  EXPECT_EQ(count(R"({"exactly": 2})"), 1);
  EXPECT_EQ(count(R"({"at_most": 1})"), 2);
  EXPECT_EQ(count(R"({"at_least": 2})"), 2);
  EXPECT_EQ(count(R"({"exactly": 0})"), 1);
  EXPECT_EQ(count(R"({"at_least": 2})", /*distinct=*/true), 1);
}

TEST(CohortDemographicsTest, AgeSexAndCalendarPeriod) {
  CdmFixture f;
  f.Observed(1, 1950, "2009-01-01", "2015-12-31", kMaleConceptId);    // 60 at the 2010 index
  f.Observed(2, 1951, "2009-01-01", "2015-12-31", kFemaleConceptId);  // 59
  f.Observed(3, 1940, "2009-01-01", "2015-12-31", kFemaleConceptId);  // 72 at the 2012 index
  f.Condition(1, 100, "2010-06-01");
  f.Condition(2, 100, "2010-06-01");
  f.Condition(3, 100, "2012-06-01");
  auto count = [&](const std::string& rules) {
    return f.Run(Cohort(kEntryA, fmt::format(R"("inclusion_rules": [{}])", rules))).cohort_persons;
  };
  EXPECT_EQ(count(R"({"criteria": [{"age": {"min": 60}}]})"), 2);
  EXPECT_EQ(count(R"({"criteria": [{"age": {"min": 60, "max": 65}}]})"), 1);
  EXPECT_EQ(count(R"({"criteria": [{"age": {"lt": 60}}]})"), 1);
  EXPECT_EQ(count(R"({"criteria": [{"sex": ["female"]}]})"), 2);
  EXPECT_EQ(count(R"({"criteria": [{"index_date": {"min": "2011-01-01"}}]})"), 1);
  EXPECT_EQ(count(R"({"criteria": [{"index_date": {"not_between": ["2010-01-01",
                                                                   "2010-12-31"]}}]})"),
            1);
  const char* both = R"([{"age": {"min": 60}}, {"sex": ["female"]}])";
  EXPECT_EQ(count(fmt::format(R"({{"match": "all", "criteria": {}}})", both)), 1);
  EXPECT_EQ(count(fmt::format(R"({{"match": "any", "criteria": {}}})", both)), 3);
  EXPECT_EQ(count(fmt::format(R"({{"match": "at_least", "count": 2, "criteria": {}}})", both)), 1);
  EXPECT_EQ(count(fmt::format(R"({{"match": "at_most", "count": 0, "criteria": {}}})", both)), 0);
  // Two rules: both must hold.
  EXPECT_EQ(count(R"({"criteria": [{"age": {"min": 60}}]}, {"criteria": [{"sex": ["male"]}]})"), 1);
  // Nested group: (male) or (female and 70+).
  EXPECT_EQ(count(R"({"match": "any", "criteria": [
                       {"sex": ["male"]},
                       {"match": "all", "criteria": [{"sex": ["female"]}, {"age": {"min": 70}}]}]})"),
            2);
}

TEST(CohortValueTest, MeasurementValueRangesAndUnits) {
  CdmFixture f;
  const double values[] = {6.4, 6.5, std::nan(""), 9.0, 12.5};
  for (int p = 1; p <= 5; ++p) {
    f.Observed(p, 1960, "2009-01-01", "2015-12-31");
    f.Measurement(p, 300, "2011-01-01", values[p - 1], p == 4 ? 8554 : 0);
  }
  auto count = [&](const std::string& filter) {
    return f
        .Run(Cohort(fmt::format(R"({{"events": [{{"domain": "measurement",
                                                   "concept_set": "hba1c", {}}}]}})",
                                filter)))
        .cohort_persons;
  };
  EXPECT_EQ(count(R"("value": {"min": 6.5})"), 3);
  EXPECT_EQ(count(R"("value": {"gt": 6.5})"), 2);
  EXPECT_EQ(count(R"("value": {"min": 6.5, "max": 10})"), 2);
  EXPECT_EQ(count(R"("value": {"not_between": [6.5, 10]})"), 2);  // NULL never matches
  EXPECT_EQ(count(R"("unit": [8554])"), 1);
}

TEST(CohortExitTest, FixedOffsetCappedAtObservationEnd) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2010-01-01", "2010-01-10");
  f.Observed(2, 1960, "2009-01-01", "2015-12-31");
  f.Condition(2, 100, "2015-12-20");
  f.Run(Cohort(kEntryA, R"("exit": {"type": "fixed", "offset_days": 30})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-01-01:2010-01-31", "2:2015-12-20:2015-12-31"));
  f.Run(Cohort(kEntryA, R"("exit": {"type": "fixed", "from": "end", "offset_days": 5})"));
  // Person 2's condition has no end: it ends the day after it starts (as in Circe).
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-01-01:2010-01-15", "2:2015-12-20:2015-12-26"));
}

TEST(CohortExitTest, DrugEraWithGapPersistenceAndDaysSupply) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Drug(1, 200, "2010-01-01", "2010-01-30");
  f.Drug(1, 200, "2010-02-10", "2010-03-11");  // 11 days after the first ends
  f.Observed(2, 1960, "2009-01-01", "2015-12-31");
  f.Drug(2, 200, "2010-01-01", "", 30);  // no end date: start + days_supply = 2010-01-31
  f.Drug(2, 200, "2010-03-15", "", 30);  // 43 days later
  auto run = [&](const std::string& exit) {
    f.Run(Cohort(R"({"events": [{"domain": "drug", "concept_set": "drug"}]})",
                 fmt::format(R"("exit": {})", exit)));
    return f.Rows();
  };
  EXPECT_THAT(run(R"({"type": "drug_era", "concept_set": "drug", "gap_days": 15})"),
              ElementsAre("1:2010-01-01:2010-03-11", "2:2010-01-01:2010-01-31"));
  EXPECT_THAT(run(R"({"type": "drug_era", "concept_set": "drug", "gap_days": 5})"),
              ElementsAre("1:2010-01-01:2010-01-30", "2:2010-01-01:2010-01-31"));
  EXPECT_THAT(run(R"({"type": "drug_era", "concept_set": "drug", "gap_days": 15,
                      "persistence_days": 7})"),
              ElementsAre("1:2010-01-01:2010-03-18", "2:2010-01-01:2010-02-07"));
  EXPECT_THAT(run(R"({"type": "drug_era", "concept_set": "drug", "gap_days": 45})"),
              ElementsAre("1:2010-01-01:2010-03-11", "2:2010-01-01:2010-04-14"));
  EXPECT_THAT(run(R"({"type": "drug_era", "concept_set": "drug", "gap_days": 15,
                      "days_supply_override": 10})"),
              ElementsAre("1:2010-01-01:2010-01-11", "2:2010-01-01:2010-01-11"));
}

TEST(CohortExitTest, CensorEventsAndCensorWindow) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2010-01-01");
  f.Death(1, "2012-05-05");
  f.Observed(2, 1960, "2009-01-01", "2015-12-31");
  f.Condition(2, 100, "2010-01-01");
  f.Run(Cohort(kEntryA, R"("censor_events": [{"domain": "death"}])"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2010-01-01:2012-05-05", "2:2010-01-01:2015-12-31"));
  f.Run(Cohort(kEntryA, R"("censor_window": {"start": "2011-01-01", "end": "2013-12-31"})"));
  EXPECT_THAT(f.Rows(), ElementsAre("1:2011-01-01:2013-12-31", "2:2011-01-01:2013-12-31"));
}

TEST(CohortEraTest, OverlappingPeriodsCollapseWithEraPad) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2010-01-01");
  f.Condition(1, 100, "2010-01-20");
  f.Condition(1, 100, "2011-01-01");
  f.Condition(1, 100, "2011-01-05");  // overlaps the previous period: always merged
  auto run = [&](int pad) {
    f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}], "limit": "all"})",
                 fmt::format(R"("inclusion_limit": "all",
                                "exit": {{"type": "fixed", "offset_days": 10}},
                                "era_pad_days": {})",
                             pad)));
    return f.Rows();
  };
  EXPECT_THAT(run(0), ElementsAre("1:2010-01-01:2010-01-11", "1:2010-01-20:2010-01-30",
                                  "1:2011-01-01:2011-01-15"));
  EXPECT_THAT(run(8), ElementsAre("1:2010-01-01:2010-01-11", "1:2010-01-20:2010-01-30",
                                  "1:2011-01-01:2011-01-15"));
  EXPECT_THAT(run(9), ElementsAre("1:2010-01-01:2010-01-30", "1:2011-01-01:2011-01-15"));
}

TEST(CohortAttritionTest, CountsAfterEachRule) {
  CdmFixture f;
  // Rule 1: a drug in the year before. Rule 2: 60 or older.
  f.Observed(1, 1940, "2009-01-01", "2015-12-31");  // both
  f.Observed(2, 1980, "2009-01-01", "2015-12-31");  // rule 1 only
  f.Observed(3, 1940, "2009-01-01", "2015-12-31");  // rule 2 only
  f.Observed(4, 1980, "2009-01-01", "2015-12-31");  // neither
  for (int p = 1; p <= 4; ++p) f.Condition(p, 100, "2012-01-01");
  f.Drug(1, 200, "2011-06-01", "2011-06-01");
  f.Drug(2, 200, "2011-06-01", "2011-06-01");
  auto c = f.Run(Cohort(kEntryA, R"("inclusion_rules": [
      {"name": "treated", "criteria": [{"event": {"domain": "drug", "concept_set": "drug"},
                                        "window": {"start": -365, "end": 0}}]},
      {"name": "60+", "criteria": [{"age": {"min": 60}}]}])"));
  EXPECT_EQ(c.qualified_persons, 4);
  ASSERT_EQ(c.rules.size(), 2u);
  EXPECT_EQ(c.rules[0].name, "treated");
  EXPECT_EQ(c.rules[0].persons, 2);
  EXPECT_EQ(c.rules[0].alone_persons, 2);
  EXPECT_EQ(c.rules[1].persons, 1);
  EXPECT_EQ(c.rules[1].alone_persons, 2);
  EXPECT_EQ(c.included_persons, 1);
  EXPECT_EQ(c.cohort_persons, 1);
  std::string text = CountsToText(c, true);
  EXPECT_NE(text.find("rule 2: 60+"), std::string::npos) << text;
  EXPECT_NE(text.find("cohort: 1 persons, 1 periods"), std::string::npos) << text;
  EXPECT_NE(CountsToJson(c).find("\"alone_persons\": 2"), std::string::npos);
}

TEST(CohortEntryTest, EveryDomainCanEnter) {
  CdmFixture f;
  for (int p = 1; p <= 6; ++p) f.Observed(p, 1960, "2009-01-01", "2015-12-31");
  f.Procedure(1, 400, "2011-01-01");
  f.Observation(2, 401, "2011-01-01");
  f.Visit(3, 9201, "2011-01-01", "2011-01-04");
  f.Death(4, "2011-01-01");
  f.Measurement(5, 300, "2011-01-01", 7.0);
  f.Drug(6, 200, "2011-01-01", "2011-01-31");
  std::string sets = R"({"id": "p", "concepts": [400]}, {"id": "o", "concepts": [401]},
                        {"id": "v", "concepts": [9201]}, {"id": "m", "concepts": [300]},
                        {"id": "d", "concepts": [200]})";
  auto rows = [&](const std::string& event) {
    f.Run(fmt::format(R"({{"concept_sets": [{}], "entry": {{"events": [{}]}},
                           "exit": {{"type": "fixed", "from": "end", "offset_days": 0}}}})",
                      sets, event));
    return f.Rows();
  };
  EXPECT_THAT(rows(R"({"domain": "procedure", "concept_set": "p"})"),
              ElementsAre("1:2011-01-01:2011-01-02"));
  EXPECT_THAT(rows(R"({"domain": "observation", "concept_set": "o"})"),
              ElementsAre("2:2011-01-01:2011-01-02"));
  EXPECT_THAT(rows(R"({"domain": "visit", "concept_set": "v"})"),
              ElementsAre("3:2011-01-01:2011-01-04"));
  EXPECT_THAT(rows(R"({"domain": "death"})"), ElementsAre("4:2011-01-01:2011-01-02"));
  EXPECT_THAT(rows(R"({"domain": "measurement", "concept_set": "m"})"),
              ElementsAre("5:2011-01-01:2011-01-02"));
  EXPECT_THAT(rows(R"({"domain": "drug", "concept_set": "d"})"),
              ElementsAre("6:2011-01-01:2011-01-31"));
  // Several entry domains at once.
  EXPECT_EQ(rows(R"({"domain": "death"}, {"domain": "procedure", "concept_set": "p"})").size(), 2u);
  // Event-level age and sex filters.
  EXPECT_THAT(rows(R"({"domain": "drug", "concept_set": "d", "age": {"min": 52}})"), IsEmpty());
  EXPECT_THAT(rows(R"({"domain": "drug", "concept_set": "d", "age": {"min": 51},
                       "sex": ["male"]})"),
              ElementsAre("6:2011-01-01:2011-01-31"));
}

TEST(CohortEntryTest, ConditionStatusAndVisitOfTheEvent) {
  CdmFixture f;
  for (int p = 1; p <= 3; ++p) f.Observed(p, 1960, "2009-01-01", "2015-12-31");
  // Heart failure as primary diagnosis (32902) of an inpatient stay (9201): person 1 only.
  f.ConditionInVisit(1, 150, "2012-03-01", f.Visit(1, 9201, "2012-03-01", "2012-03-05"), 32902);
  f.ConditionInVisit(2, 150, "2012-03-01", f.Visit(2, 9202, "2012-03-01", "2012-03-01"), 32902);
  f.ConditionInVisit(3, 150, "2012-03-01", f.Visit(3, 9201, "2012-03-01", "2012-03-05"), 32901);
  auto run = [&](const std::string& filters) {
    f.Run(fmt::format(R"({{"concept_sets": [{{"id": "hf", "concepts": [150]}}],
                           "entry": {{"events": [{{"domain": "condition", "concept_set": "hf"{}}}]}}}})",
                      filters));
    return f.Rows().size();
  };
  EXPECT_EQ(run(""), 3u);
  EXPECT_EQ(run(R"(, "condition_status": [32902])"), 2u);
  EXPECT_EQ(run(R"(, "visit": [9201])"), 2u);
  EXPECT_EQ(run(R"(, "condition_status": [32902], "visit": [9201])"), 1u);
}

TEST(CohortEntryTest, DateAdjustmentAndFixedDate) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Observed(2, 1960, "2009-01-01", "2009-05-01");  // 120 days: day 180 is not observed
  f.Observed(3, 1960, "2011-06-01", "2016-12-31");  // less than a year before 2012-01-01
  // Entry 180 days after the start of observation (Circe DateAdjustment on ObservationPeriod).
  f.Run(R"({"entry": {"events": [{"domain": "observation_period",
                                   "date_adjustment": {"start_offset": 180, "end_from": "start",
                                                       "end_offset": 180}}]}})");
  EXPECT_THAT(f.Rows(), ElementsAre("1:2009-06-30:2015-12-31", "3:2011-11-28:2016-12-31"));
  // Everyone observed a year around 2012-01-01 enters on that date.
  f.Run(R"({"entry": {"events": [{"domain": "fixed_date", "date": "2012-01-01"}],
                      "prior_observation_days": 365, "post_observation_days": 365},
            "exit": {"type": "fixed", "offset_days": 365}})");
  EXPECT_THAT(f.Rows(), ElementsAre("1:2012-01-01:2012-12-31"));
}

TEST(CohortEntryTest, AdditionalCriteriaAndQualifiedLimit) {
  CdmFixture f;
  f.Observed(1, 1960, "2009-01-01", "2015-12-31");
  f.Condition(1, 100, "2010-01-01");  // no drug around it
  f.Condition(1, 100, "2011-01-01");
  f.Condition(1, 100, "2012-01-01");
  f.Drug(1, 200, "2011-01-10", "2011-01-10");
  f.Drug(1, 200, "2012-01-10", "2012-01-10");
  auto c = f.Run(Cohort(R"({"events": [{"domain": "condition", "concept_set": "a"}],
                            "limit": "all",
                            "additional_criteria": {"criteria": [
                               {"event": {"domain": "drug", "concept_set": "drug"},
                                "window": {"start": 0, "end": 30}}]},
                            "qualified_limit": "first"})",
                        R"("exit": {"type": "fixed", "offset_days": 1})"));
  EXPECT_EQ(c.entry_events, 3);
  EXPECT_EQ(c.qualified_events, 1);
  EXPECT_THAT(f.Rows(), ElementsAre("1:2011-01-01:2011-01-02"));
}

// Regression: the default cohort table was named "cohort", the CDM 5.4 table of that name, and
// replacing it dropped the CDM table (and failed on read-only databases).
TEST(CohortRunTest, RunsOnAReadOnlyDatabaseAndLeavesItUnchanged) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string path = (dir->path() / "node.duckdb").string();
  {
    CdmFixture f(path);
    f.Observed(1, 1960, "2009-01-01", "2015-12-31");
    f.Condition(1, 100, "2011-01-01");
    f.Close();
  }
  auto db = store::OpenDuckDb({.path = path, .read_only = true});
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto before = (*db)->ListTables();
  ASSERT_TRUE(before.ok());
  auto def = ParseCohortDefinition(Cohort(kEntryA), "c.json");
  ASSERT_TRUE(def.ok());
  auto counts = GenerateCohort(**db, *def);
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  EXPECT_EQ(counts->cohort_persons, 1);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM _pc_cohort"), 1);
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM main.cohort"), 0);  // the CDM table
  auto after = (*db)->ListTables();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  // Only the cohort table is left among the temporary tables.
  EXPECT_EQ(*store::QueryInt(**db, "SELECT COUNT(*) FROM duckdb_tables() WHERE temporary"), 1);
}

TEST(CohortCompileTest, PostgresScriptUsesPortableSql) {
  auto def = ParseCohortDefinition(
      Cohort(kEntryA, R"("inclusion_rules": [{"criteria": [{"age": {"min": 18}}]}],
                         "exit": {"type": "drug_era", "concept_set": "drug", "gap_days": 30})"),
      "c.json");
  ASSERT_TRUE(def.ok()) << def.status().message();
  auto pg = CompileCohort(*def, store::Dialect::Postgres(), {.result_table = "t2dm"});
  ASSERT_TRUE(pg.ok());
  std::string script = pg->Script();
  EXPECT_NE(script.find("CREATE TEMPORARY TABLE \"_pc_codesets\""), std::string::npos);
  EXPECT_NE(script.find("CREATE TEMPORARY TABLE \"t2dm\""), std::string::npos);
  EXPECT_NE(script.find("EXTRACT(YEAR FROM"), std::string::npos);
  EXPECT_NE(script.find("DROP TABLE IF EXISTS pg_temp.\"_pc_codesets\""), std::string::npos);
  // No DuckDB-only functions.
  for (const char* duck : {"arg_max", "date_diff", "QUALIFY", "list_", "::"}) {
    EXPECT_EQ(script.find(duck), std::string::npos) << duck;
  }
  auto bad = CompileCohort(*def, store::Dialect::DuckDb(), {.result_table = "x; DROP"});
  EXPECT_FALSE(bad.ok());
}

TEST(CohortValidationTest, ErrorsNameTheFileAndThePlace) {
  auto err = [](const std::string& json) {
    auto r = ParseCohortDefinition(json, "cohort.json");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(err(Cohort(kEntryA, R"("inclusion_rules": [
      {"criteria": [{"age": {"min": 18}}]},
      {"criteria": [{"event": {"domain": "drug", "concept_set": "drug"},
                     "window": {"start": 30, "end": 0}}]}])")),
            "cohort.json: inclusion rule 2: criterion 1: \"window.start\" must be <= "
            "\"window.end\" (got 30 > 0)");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "condition", "concept_set": "nope"}]})")),
            "cohort.json: entry event 1: concept set \"nope\" is not defined in \"concept_sets\"");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domian": "condition"}]})")),
            "cohort.json: entry event 1: unknown key \"domian\" (expected one of: domain, "
            "concept_set, first_occurrence, value, unit, start_date, age, sex, condition_status, "
            "visit, date_adjustment, date)");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "fixed_date"}]})")),
            "cohort.json: entry event 1: \"date\" is required with domain \"fixed_date\"");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "drug", "condition_status": [32902]}]})")),
            "cohort.json: entry event 1: \"condition_status\" applies to condition only (domain "
            "is \"drug\")");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "diagnosis"}]})")),
            "cohort.json: entry event 1: \"domain\" must be one of condition, drug, procedure, "
            "measurement, observation, visit, death, observation_period, fixed_date (got "
            "\"diagnosis\")");
  EXPECT_EQ(err(Cohort(R"({"events": []})")),
            "cohort.json: entry: \"events\" must list at least one entry event");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "condition", "value": {"min": 1}}]})")),
            "cohort.json: entry event 1: \"value\" applies to measurement and observation only "
            "(domain is \"condition\")");
  EXPECT_EQ(err(Cohort(kEntryA, R"("exit": {"type": "drug_era", "gap_days": 3})")),
            "cohort.json: exit: \"concept_set\" is required with \"type\": \"drug_era\"");
  EXPECT_EQ(err(Cohort(R"({"events": [{"domain": "condition"}], "prior_observation_days": -1})")),
            "cohort.json: entry: \"prior_observation_days\" must be between 0 and 100000 (got -1)");
  EXPECT_EQ(err(R"({"concept_sets": [{"id": "a", "concepts": [1]}, {"id": "a", "concepts": [2]}],
                   "entry": {"events": [{"domain": "death"}]}})"),
            "cohort.json: concept set 2: concept set id \"a\" is used twice");
  EXPECT_EQ(err("{\"entry\": "),
            "cohort.json: not valid JSON (at byte 11); check brackets, "
            "commas and quotes");
  EXPECT_EQ(err(Cohort(kEntryA, R"("inclusion_rules": [{"criteria": [
      {"event": {"domain": "drug"}, "occurrences": {"at_least": 1, "at_most": 2}}]}])")),
            "cohort.json: inclusion rule 1: criterion 1: \"occurrences\" must have exactly one of "
            "\"exactly\", \"at_most\", \"at_least\"");
}

TEST(CohortFormatTest, NativeJsonRoundTrips) {
  std::string json = Cohort(
      R"({"events": [{"domain": "measurement", "concept_set": "hba1c", "value": {"min": 6.5},
                      "unit": [8554], "start_date": {"min": "2010-01-01"}, "visit": [9201],
                      "date_adjustment": {"start_offset": -1, "end_from": "start"}},
                     {"domain": "condition", "condition_status": [32902]},
                     {"domain": "fixed_date", "date": "2020-02-29"}],
          "prior_observation_days": 365, "limit": "all",
          "additional_criteria": {"match": "any", "criteria": [{"sex": ["female", 0]}]},
          "qualified_limit": "last"})",
      R"("inclusion_rules": [{"name": "x", "description": "y", "match": "at_least", "count": 1,
          "criteria": [{"event": {"domain": "drug", "concept_set": "drug", "first_occurrence": true},
                        "window": {"start": -30, "end": null, "index": "end"},
                        "end_window": {"start": 0, "event": "start"},
                        "occurrences": {"at_most": 3}, "distinct": true, "restrict_visit": true},
                       {"age": {"not_between": [1, 2]}},
                       {"match": "all", "criteria": [{"index_date": {"max": "2020-01-01"}}]}]}],
          "inclusion_limit": "last",
          "exit": {"type": "drug_era", "concept_set": "drug", "gap_days": 30,
                   "persistence_days": 5, "days_supply_override": 2},
          "censor_events": [{"domain": "death"}],
          "censor_window": {"start": "2001-01-01"}, "era_pad_days": 3)");
  auto a = ParseCohortDefinition(json, "a.json");
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = ParseCohortDefinition(CohortDefinitionToJson(*a), "b.json");
  ASSERT_TRUE(b.ok()) << b.status().message() << "\n" << CohortDefinitionToJson(*a);
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(a->entry.additional_criteria.has_value());
  EXPECT_TRUE(a->inclusion_rules[0].group.criteria[0].end_window.has_value());
  EXPECT_FALSE(a->inclusion_rules[0].group.criteria[0].end_window->on_event_end);
}

}  // namespace
}  // namespace passerelle::cohort
