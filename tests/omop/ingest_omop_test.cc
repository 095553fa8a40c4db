#include "omop/ingest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "common/files.h"
#include "store/datasets.h"
#include "store/duckdb_source.h"

namespace passerelle::omop {
namespace {

const std::string kEunomia = std::string(PASSERELLE_SHARED_DATA) + "/eunomia/Synthea27Nj_5.4.zip";

class IngestOmopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
    auto s = store::OpenDuckDb({.path = (dir_->path() / "node.duckdb").string()});
    ASSERT_TRUE(s.ok());
    db_ = std::move(s).value();
  }
  // A minimal valid CDM folder that each bad-input test breaks in one way.
  std::filesystem::path MiniCdm(const std::map<std::string, std::string>& overrides = {}) {
    std::map<std::string, std::string> files = {
        {"PERSON.csv",
         "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n"
         "1,8507,1960,0,0\n2,8532,1975,0,0\n"},
        {"observation_period.csv",
         "observation_period_id,person_id,observation_period_start_date,"
         "observation_period_end_date,period_type_concept_id\n"
         "1,1,2010-01-01,2020-12-31,44814724\n2,2,2012-06-01,2021-12-31,44814724\n"},
        {"Condition_Occurrence.csv",
         "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,"
         "condition_type_concept_id\n"
         "10,1,201826,2015-03-04,32020\n11,2,201826,2011-01-01,32020\n"},
        {"concept.csv",
         "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,"
         "concept_code,valid_start_date,valid_end_date,invalid_reason\n"
         "201826,Type 2 diabetes mellitus,Condition,SNOMED,Clinical Finding,S,44054006,"
         "1970-01-01,2099-12-31,\n"},
        {"CARE_SITE.csv", ""},
    };
    for (const auto& [k, v] : overrides) files[k] = v;
    auto folder = dir_->path() / "cdm";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    for (const auto& [name, text] : files) {
      if (text == "<absent>") continue;
      std::ofstream(folder / name) << text;
    }
    return folder;
  }

  // Snapshot of what the database holds, to show a failed ingest changed nothing.
  std::string Snapshot() {
    std::string out;
    auto tables = db_->ListTables();
    for (const auto& t : *tables) {
      out += t + ":" +
             std::to_string(*store::QueryInt(*db_, "SELECT count(*) FROM \"" + t + "\"")) + ";";
    }
    return out;
  }

  void ExpectFailureLeavesDatabase(const std::filesystem::path& from, const std::string& message) {
    std::string before = Snapshot();
    auto r = IngestOmop(*db_, {.from = from});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), message);
    EXPECT_EQ(Snapshot(), before);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<store::DataSource> db_;
};

TEST_F(IngestOmopTest, LoadsSynthea27NjAsItIs) {
  std::vector<std::string> progress;
  auto r = IngestOmop(
      *db_, {.from = kEunomia, .progress = [&](std::string_view l) { progress.emplace_back(l); }});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->persons, 28);
  const std::map<std::string, int64_t> expected = {{"cdm_source", 1},
                                                   {"concept", 2294},
                                                   {"concept_relationship", 266588},
                                                   {"condition_era", 469},
                                                   {"condition_occurrence", 470},
                                                   {"death", 3},
                                                   {"device_exposure", 1},
                                                   {"drug_exposure", 883},
                                                   {"measurement", 10040},
                                                   {"observation", 8099},
                                                   {"observation_period", 28},
                                                   {"person", 28},
                                                   {"procedure_occurrence", 1649},
                                                   {"provider", 67},
                                                   {"visit_detail", 1791},
                                                   {"visit_occurrence", 1791},
                                                   {"vocabulary", 1}};
  std::map<std::string, int64_t> loaded;
  for (const auto& t : r->tables) loaded[t.table] = t.rows;
  for (const auto& [table, rows] : expected) {
    EXPECT_EQ(loaded[table], rows) << table;
    EXPECT_EQ(*store::QueryInt(*db_, "SELECT count(*) FROM " + table), rows) << table;
  }
  // Empty files (e.g. CONCEPT_ANCESTOR.csv with only a header) give empty tables; tables absent
  // from the extract exist too, so queries never meet a missing table.
  EXPECT_EQ(*store::QueryInt(*db_, "SELECT count(*) FROM concept_ancestor"), 0);
  EXPECT_EQ(*store::QueryInt(*db_, "SELECT count(*) FROM note"), 0);
  // Typed columns: dates are dates, including CONDITION_ERA's "2005-05-07 00:00:00" values.
  auto c = store::QueryAll(*db_,
                           "SELECT typeof(condition_era_start_date), "
                           "typeof(value_as_number) FROM condition_era, measurement LIMIT 1");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->columns[0].strings[0], "DATE");
  EXPECT_EQ(c->columns[1].strings[0], "DOUBLE");
  // The macOS resource forks in the zip are not tables, and the vocabulary shard is partial:
  // concept ids missing from it are warned about, not fatal.
  bool concept_warning = false;
  for (const auto& w : r->warnings)
    concept_warning |= w.find("not in the vocabulary") != std::string::npos;
  EXPECT_TRUE(concept_warning);
  EXPECT_FALSE(progress.empty());
  auto recs = store::ListDatasets(*db_);
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].kind, "omop");
  EXPECT_EQ((*recs)[0].rows, 28);
}

TEST_F(IngestOmopTest, RefusesSecondCdmUnlessReplace) {
  ASSERT_TRUE(IngestOmop(*db_, {.from = MiniCdm()}).ok());
  auto again = IngestOmop(*db_, {.from = MiniCdm()});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  auto replaced = IngestOmop(*db_, {.from = MiniCdm(), .replace = true});
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(*store::QueryInt(*db_, "SELECT count(*) FROM person"), 2);
}

TEST_F(IngestOmopTest, WarnsAboutDatesOutsideObservationAndUnknownConcepts) {
  auto r =
      IngestOmop(*db_, {.from = MiniCdm({{"Condition_Occurrence.csv",
                                          "condition_occurrence_id,person_id,condition_concept_id,"
                                          "condition_start_date,condition_type_concept_id,extra\n"
                                          "10,1,201826,2009-03-04,32020,x\n"
                                          "11,2,4321,2013-01-01,32020,y\n"}})});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto has = [&](const std::string& s) {
    for (const auto& w : r->warnings) {
      if (w == s) return true;
    }
    return false;
  };
  EXPECT_TRUE(
      has("Condition_Occurrence.csv: 1 rows dated outside every observation period of "
          "their person"));
  EXPECT_TRUE(
      has("Condition_Occurrence.csv: 1 rows have a condition_concept_id that is not in the "
          "vocabulary"));
  EXPECT_TRUE(
      has("Condition_Occurrence.csv: column \"extra\" is not part of CDM 5.4 "
          "condition_occurrence; ignored"));
}

TEST_F(IngestOmopTest, MissingInputs) {
  ExpectFailureLeavesDatabase(dir_->path() / "nowhere",
                              (dir_->path() / "nowhere").string() + ": no such file or folder");
  ExpectFailureLeavesDatabase(MiniCdm({{"PERSON.csv", "<absent>"}}),
                              "cdm: no PERSON.csv found (an OMOP CDM extract needs at least the "
                              "person table)");
}

TEST_F(IngestOmopTest, CorruptZip) {
  auto zip = dir_->path() / "broken.zip";
  std::ofstream(zip) << "PK\x03\x04 this is not really a zip archive";
  std::string before = Snapshot();
  auto r = IngestOmop(*db_, {.from = zip});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("broken.zip: not a readable zip archive", 0), 0u)
      << r.status().message();
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(IngestOmopTest, MissingRequiredColumn) {
  ExpectFailureLeavesDatabase(
      MiniCdm({{"PERSON.csv",
                "person_id,gender_concept_id,race_concept_id,ethnicity_concept_id\n"
                "1,8507,0,0\n"}}),
      "PERSON.csv: missing required column \"year_of_birth\" of CDM table person");
}

TEST_F(IngestOmopTest, UnparseableDateNamesLineAndColumn) {
  ExpectFailureLeavesDatabase(
      MiniCdm({{"observation_period.csv",
                "observation_period_id,person_id,observation_period_start_date,"
                "observation_period_end_date,period_type_concept_id\n"
                "1,1,2010-01-01,2020-12-31,44814724\n2,2,31/12/2012,2021-12-31,44814724\n"}}),
      "observation_period.csv: line 3, column \"observation_period_start_date\": not a valid date "
      "(expected YYYY-MM-DD)");
}

TEST_F(IngestOmopTest, UnparseableNumberNamesLineAndColumn) {
  ExpectFailureLeavesDatabase(
      MiniCdm({{"PERSON.csv",
                "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n"
                "1,8507,1960,0,0\n2,8532,nineteen,0,0\n"}}),
      "PERSON.csv: line 3, column \"year_of_birth\": not a valid bigint");
}

TEST_F(IngestOmopTest, EventOfUnknownPersonIsAnError) {
  ExpectFailureLeavesDatabase(
      MiniCdm({{"Condition_Occurrence.csv",
                "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,"
                "condition_type_concept_id\n10,1,201826,2015-03-04,32020\n11,99,201826,2015-01-01,"
                "32020\n"}}),
      "Condition_Occurrence.csv: 1 rows refer to a person_id that is not in PERSON.csv");
}

TEST_F(IngestOmopTest, FailureAfterEarlierSuccessKeepsFirstLoad) {
  ASSERT_TRUE(IngestOmop(*db_, {.from = MiniCdm()}).ok());
  ExpectFailureLeavesDatabase(
      MiniCdm({{"PERSON.csv",
                "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n"
                "1,8507,1960,0,0\n1,8532,1975,0,0\n"}}),
      "the database already holds an OMOP CDM (table person); use --replace to replace it");
  std::string before = Snapshot();
  auto dup = IngestOmop(*db_, {.from = MiniCdm({{"PERSON.csv",
                                                 "person_id,gender_concept_id,year_of_birth,"
                                                 "race_concept_id,ethnicity_concept_id\n"
                                                 "1,8507,1960,0,0\n1,8532,1975,0,0\n"}}),
                               .replace = true});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "PERSON.csv: 1 person_id values appear more than once");
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(*store::QueryInt(*db_, "SELECT count(*) FROM condition_occurrence"), 2);
}

}  // namespace
}  // namespace passerelle::omop
