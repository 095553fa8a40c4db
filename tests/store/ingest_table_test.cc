#include "store/ingest_table.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"
#include "store/csv_error.h"
#include "store/datasets.h"
#include "store/duckdb_source.h"

namespace passerelle::store {
namespace {

const std::string kData = PASSERELLE_SHARED_DATA;

class IngestTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
    auto s = OpenDuckDb({.path = (dir_->path() / "node.duckdb").string()});
    ASSERT_TRUE(s.ok());
    db_ = std::move(s).value();
  }
  std::filesystem::path Write(const std::string& name, const std::string& text) {
    auto p = dir_->path() / name;
    std::ofstream(p) << text;
    return p;
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<DataSource> db_;
};

TEST_F(IngestTableTest, Cnsim1KeepsRowsColumnsAndMissingValues) {
  auto r = IngestTable(*db_, {.name = "cnsim", .from = kData + "/datashield/CNSIM1.csv"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 2163);
  ASSERT_EQ(r->columns.size(), 11u);
  EXPECT_EQ(r->columns[0].name, "LAB_TSC");
  // Missing values are NULL, not zero or empty strings.
  EXPECT_EQ(*QueryInt(*db_, "SELECT count(LAB_TSC) FROM cnsim"), 1807);
  EXPECT_GT(*QueryInt(*db_, "SELECT count(*) - count(LAB_HDL) FROM cnsim"), 0);
  auto recs = ListDatasets(*db_);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].kind, "table");
  EXPECT_EQ((*recs)[0].rows, 2163);
}

TEST_F(IngestTableTest, ColumnNamesKeptAsWritten) {
  auto r =
      IngestTable(*db_, {.name = "expand", .from = kData + "/datashield/EXPAND_NO_MISSING1.csv"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  bool has_age60 = false;
  for (const auto& c : r->columns) has_age60 |= c.name == "age.60";
  EXPECT_TRUE(has_age60);
  EXPECT_GT(*QueryInt(*db_, "SELECT count(\"age.60\") FROM expand"), 0);
}

TEST_F(IngestTableTest, SeveralTablesInOneDatabaseAndReplace) {
  auto csv = Write("a.csv", "x,y\n1,2\n3,\n");
  ASSERT_TRUE(IngestTable(*db_, {.name = "t1", .from = csv}).ok());
  ASSERT_TRUE(IngestTable(*db_, {.name = "t2", .from = csv}).ok());
  auto again = IngestTable(*db_, {.name = "t1", .from = csv});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("--replace"), std::string::npos);
  auto csv2 = Write("b.csv", "z\n5\n6\n7\n");
  auto replaced = IngestTable(*db_, {.name = "t1", .from = csv2, .replace = true});
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*QueryInt(*db_, "SELECT count(*) FROM t1"), 3);
  EXPECT_EQ(*QueryInt(*db_, "SELECT count(*) FROM t2 WHERE y IS NULL"), 1);
}

TEST_F(IngestTableTest, ExtraNullStrings) {
  auto csv = Write("na.csv", "x,y\n1,NA\n2,3\n");
  auto r = IngestTable(*db_, {.name = "t", .from = csv, .extra_null_strings = {"NA"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns[1].type, ColumnType::kInt64);
  EXPECT_EQ(*QueryInt(*db_, "SELECT count(y) FROM t"), 1);
}

TEST_F(IngestTableTest, ParquetInput) {
  auto pq = dir_->path() / "x.parquet";
  ASSERT_TRUE(db_->Execute("COPY (SELECT range AS id, range * 1.5 AS v FROM range(10)) TO '" +
                           pq.string() + "' (FORMAT parquet)")
                  .ok());
  auto r = IngestTable(*db_, {.name = "pq", .from = pq});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 10);
}

TEST_F(IngestTableTest, BadInputLeavesDatabaseUnchanged) {
  auto good = Write("good.csv", "x\n1\n");
  ASSERT_TRUE(IngestTable(*db_, {.name = "keep", .from = good}).ok());

  auto missing = IngestTable(*db_, {.name = "t", .from = dir_->path() / "absent.csv"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("absent.csv: no such file"), std::string::npos);

  auto ragged = Write("ragged.csv", "a,b\n1,2\n3,4,5\n");
  auto r = IngestTable(*db_, {.name = "t", .from = ragged});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "ragged.csv: not a regular CSV file (do all rows have the same number of fields, and "
            "are quotes balanced?)");
  auto ragged2 = Write("ragged2.csv", "a,b\n1,2\n3,4\n5,6,7\n8,9\n");
  EXPECT_FALSE(IngestTable(*db_, {.name = "t", .from = ragged2}).ok());

  auto quote = Write("quote.csv", "a,b\n1,\"x\n");
  auto q = IngestTable(*db_, {.name = "t", .from = quote});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message().rfind("quote.csv: not a regular CSV file", 0), 0u)
      << q.status().message();

  auto empty = Write("empty.csv", "");
  EXPECT_NE(IngestTable(*db_, {.name = "t", .from = empty}).status().message().find("empty"),
            std::string::npos);

  EXPECT_EQ(IngestTable(*db_, {.name = "bad name", .from = good}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(IngestTable(*db_, {.name = "_passerelle_x", .from = good}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(IngestTable(*db_, {.name = "t", .from = Write("x.json", "{}")}).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(*db_->ListTables(), (std::vector<std::string>{"_passerelle_datasets", "keep"}));
  EXPECT_EQ(ListDatasets(*db_)->size(), 1u);
}

TEST(CsvErrorTest, NeverRepeatsTheRow) {
  std::string duck =
      "Conversion Error: CSV Error on Line: 4\nOriginal Line: 99,SECRET-NAME,2020-01-03\n"
      "Error when converting column \"year_of_birth\". Could not convert string \"SECRET-NAME\" "
      "to 'BIGINT'\n\nColumn year_of_birth is being converted as type BIGINT\n";
  std::string m = DescribeCsvError("PERSON.csv", duck);
  EXPECT_EQ(m, "PERSON.csv: line 4, column \"year_of_birth\": not a valid bigint");
  EXPECT_EQ(m.find("SECRET"), std::string::npos);
  std::string date = DescribeCsvError(
      "DEATH.csv",
      "Conversion Error: CSV Error on Line: 2\nOriginal Line: 1,2020-13-45\nError when "
      "converting column \"death_date\". Could not convert string \"2020-13-45\" to "
      "'DATE'\n");
  EXPECT_EQ(date,
            "DEATH.csv: line 2, column \"death_date\": not a valid date (expected YYYY-MM-DD)");
}

// Found by fuzzing: a quoted row that is not on a line of its own reached the fallback path.
TEST(CsvErrorTest, RegressionRowOnTheFirstLineIsCut) {
  std::string m = DescribeCsvError(
      "f.csv", "Conversion Error: CSV Error on Line: 4\x1bOriginal Line: 1,SECRET,2 whatever");
  EXPECT_EQ(m.find("SECRET"), std::string::npos) << m;
  std::string v =
      DescribeCsvError("f.csv", "Conversion Error: Could not convert string 'SECRET' to INT32");
  EXPECT_EQ(v.find("SECRET"), std::string::npos) << v;
  EXPECT_EQ(v, "f.csv: conversion Error: a value could not be converted");
}

}  // namespace
}  // namespace passerelle::store
