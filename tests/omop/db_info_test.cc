#include "omop/db_info.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "omop/ingest.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle::omop {
namespace {

const std::string kData = PASSERELLE_SHARED_DATA;

TEST(DbInfoTest, OmopAndFlatTablesInJson) {
  auto db = store::OpenDuckDb({});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(IngestOmop(**db, {.from = kData + "/eunomia/Synthea27Nj_5.4.zip"}).ok());
  ASSERT_TRUE(
      store::IngestTable(**db, {.name = "cnsim", .from = kData + "/datashield/CNSIM1.csv"}).ok());
  auto info = ReadDbInfo(**db);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto j = nlohmann::json::parse(DbInfoToJson(*info));
  EXPECT_EQ(j["omop"]["persons"], 28);
  EXPECT_EQ(j["omop"]["tables"]["person"], 28);
  EXPECT_EQ(j["omop"]["tables"]["measurement"], 10040);
  EXPECT_EQ(j["omop"]["tables"].size(), 39u);
  EXPECT_TRUE(j["omop"]["first_date"].is_string());
  EXPECT_EQ(j["tables"].size(), 1u);
  EXPECT_EQ(j["tables"]["cnsim"]["rows"], 2163);
  EXPECT_EQ(j["tables"]["cnsim"]["columns"].size(), 11u);
  EXPECT_EQ(j["tables"]["cnsim"]["columns"][0]["name"], "LAB_TSC");
  std::string text = DbInfoToText(*info, "node.duckdb");
  EXPECT_NE(text.find("OMOP CDM 5.4: 28 persons"), std::string::npos) << text;
  EXPECT_NE(text.find("cnsim"), std::string::npos);
}

TEST(DbInfoTest, FlatOnlyDatabaseHasNullOmop) {
  auto db = store::OpenDuckDb({});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(
      store::IngestTable(**db, {.name = "cnsim", .from = kData + "/datashield/CNSIM2.csv"}).ok());
  auto info = ReadDbInfo(**db);
  ASSERT_TRUE(info.ok());
  auto j = nlohmann::json::parse(DbInfoToJson(*info));
  EXPECT_TRUE(j["omop"].is_null());
  EXPECT_EQ(j["tables"]["cnsim"]["rows"], 3088);
}

}  // namespace
}  // namespace passerelle::omop
