#include "omop/cdm.h"

#include <gtest/gtest.h>

#include <set>

namespace passerelle::omop {
namespace {

TEST(CdmTest, HasAllTablesOfCdm54) {
  const auto& tables = CdmTables();
  EXPECT_EQ(tables.size(), 39u);
  std::set<std::string> cats;
  for (const auto& t : tables) cats.insert(t.category);
  EXPECT_EQ(cats, (std::set<std::string>{"clinical", "health_system", "economics", "derived",
                                         "metadata", "vocabulary", "results"}));
  for (const char* name : {"person",
                           "observation_period",
                           "visit_occurrence",
                           "visit_detail",
                           "condition_occurrence",
                           "drug_exposure",
                           "procedure_occurrence",
                           "device_exposure",
                           "measurement",
                           "observation",
                           "death",
                           "note",
                           "note_nlp",
                           "specimen",
                           "fact_relationship",
                           "location",
                           "care_site",
                           "provider",
                           "payer_plan_period",
                           "cost",
                           "drug_era",
                           "dose_era",
                           "condition_era",
                           "episode",
                           "episode_event",
                           "metadata",
                           "cdm_source",
                           "concept",
                           "vocabulary",
                           "domain",
                           "concept_class",
                           "concept_relationship",
                           "relationship",
                           "concept_synonym",
                           "concept_ancestor",
                           "source_to_concept_map",
                           "drug_strength",
                           "cohort",
                           "cohort_definition"}) {
    EXPECT_NE(FindCdmTable(name), nullptr) << name;
  }
}

TEST(CdmTest, ColumnsTypesAndRequiredness) {
  const CdmTable* person = FindCdmTable("PERSON");
  ASSERT_NE(person, nullptr);
  EXPECT_EQ(person->columns.size(), 18u);
  EXPECT_EQ(person->columns[0].name, "person_id");
  EXPECT_TRUE(person->columns[0].required);
  EXPECT_EQ(person->FindColumn("birth_datetime")->type, CdmType::kTimestamp);
  EXPECT_FALSE(person->FindColumn("month_of_birth")->required);
  const CdmTable* m = FindCdmTable("measurement");
  EXPECT_EQ(m->columns.size(), 23u);
  EXPECT_EQ(m->FindColumn("value_as_number")->type, CdmType::kNumeric);
  EXPECT_EQ(m->FindColumn("measurement_date")->type, CdmType::kDate);
  EXPECT_EQ(m->start_date, "measurement_date");
  EXPECT_EQ(FindCdmTable("drug_exposure")->end_date, "drug_exposure_end_date");
  EXPECT_TRUE(FindCdmTable("drug_exposure")->FindColumn("drug_exposure_end_date")->required);
  EXPECT_EQ(FindCdmTable("note_nlp")->FindColumn("offset")->type, CdmType::kVarchar);
  EXPECT_EQ(FindCdmTable("not_a_table"), nullptr);
}

TEST(CdmTest, CreateTableSqlQuotesKeywords) {
  std::string sql = CreateTableSql(*FindCdmTable("note_nlp"), store::Dialect::DuckDb());
  EXPECT_NE(sql.find("\"offset\" VARCHAR"), std::string::npos) << sql;
  EXPECT_NE(sql.find("\"note_nlp_id\" BIGINT"), std::string::npos);
}

}  // namespace
}  // namespace passerelle::omop
