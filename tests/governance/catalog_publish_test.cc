// A node publishes its catalog over HTTP (its certificate): descriptions built from its own DuckDB
// (a flat table and an OMOP CDM), counts under its disclosure rule; a researcher then finds the
// datasets through the hub's API by words, by a variable and by concepts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "hub_fixture.h"
#include "node/catalog_publish.h"
#include "store/duckdb_source.h"
#include "world.h"

namespace passerelle::governance::testing {
namespace {

using nlohmann::json;

// 57 rows in "lab" (3 with a rare marker); an OMOP CDM of 30 persons, 25 with condition 201826
// and 3 with condition 4242, observed from 2015-01-17 to 2023-12-09 (coverage is published in
// whole months: 2015-01-01 to 2023-12-31).
std::unique_ptr<store::DataSource> NodeDatabase() {
  auto db = store::OpenDuckDb({});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  auto& s = **db;
  for (const char* sql : {
           "CREATE TABLE lab AS SELECT i AS person_id, 5.0 + (i % 7) AS hba1c, "
           "CASE WHEN i < 3 THEN 1 END AS rare_marker FROM range(57) t(i)",
           "CREATE TABLE person AS SELECT i AS person_id, CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 "
           "END AS gender_concept_id, 1950 + i AS year_of_birth FROM range(30) t(i)",
           "CREATE TABLE observation_period AS SELECT i AS observation_period_id, i AS person_id, "
           "DATE '2015-01-17' + CAST(i AS INTEGER) AS observation_period_start_date, "
           "DATE '2023-12-09' - CAST(i AS INTEGER) AS observation_period_end_date "
           "FROM range(30) t(i)",
           "CREATE TABLE condition_occurrence AS SELECT i AS condition_occurrence_id, i AS "
           "person_id, CASE WHEN i < 25 THEN 201826 ELSE 4242 END AS condition_concept_id "
           "FROM range(28) t(i)",
           "CREATE TABLE concept AS SELECT 201826 AS concept_id, 'ICD10' AS vocabulary_id, 'E11' "
           "AS concept_code UNION ALL SELECT 4242, 'ICD10', 'Q87'",
       }) {
    EXPECT_TRUE(s.Execute(sql).ok()) << sql;
  }
  return std::move(db).value();
}

TEST(CatalogPublish, NodePublishesAndResearcherFindsByVariableAndConcept) {
  World world;
  world.Populate();
  DeterministicRandom random(3);
  HubHarness harness(world.gov(), world.clock(), random, {"fr-node", "qc-node"});

  auto config = Config::Parse(R"(
[policy]
min_cell = 10
[catalog]
round_to = 5
[catalog.datasets.lab]
title = "Glycated haemoglobin lab results"
description = "HbA1c measurements from hospital laboratories"
population = "adults followed for diabetes, France"
keywords = ["laboratory", "glycemia"]
concepts.hba1c = ["LOINC:4548-4"]
[catalog.datasets.omop]
title = "Hospital EHR in OMOP CDM"
population = "inpatients, France"
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto options = node::LoadCatalogConfig(*config, ".");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  auto db = NodeDatabase();
  auto built = node::BuildCatalog(*db, "fr-node", *options);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_EQ(built->size(), 2u);  // "lab" and "omop"; the CDM tables are not datasets of their own

  const auto& cert = harness.node_cert("fr-node");
  auto published = node::PublishCatalog(*built, harness.url(),
                                        {harness.ca().cert_pem, cert.cert_pem, cert.key_pem});
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_EQ(*published, 2);

  // Another node's certificate may not publish for fr-node.
  const auto& qc = harness.node_cert("qc-node");
  EXPECT_FALSE(
      node::PublishCatalog(*built, harness.url(), {harness.ca().cert_pem, qc.cert_pem, qc.key_pem})
          .ok());

  auto search = [&](const std::string& query) {
    auto r = harness.Person(world.token("alice"), "GET", "/v1/catalog?" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> refs;
    for (const auto& h : json::parse(r.body)) {
      refs.insert(h["node"].get<std::string>() + "/" + h["name"].get<std::string>());
    }
    return refs;
  };
  EXPECT_EQ(search("variable=rare_marker"), std::set<std::string>{"fr-node/lab"});
  EXPECT_EQ(search("q=glycemia"), std::set<std::string>{"fr-node/lab"});
  EXPECT_EQ(search("concept=LOINC%3A4548-4"), std::set<std::string>{"fr-node/lab"});
  EXPECT_EQ(search("concept=OMOP%3A201826"), std::set<std::string>{"fr-node/omop"});
  EXPECT_EQ(search("concept=ICD10%3AE11"), std::set<std::string>{"fr-node/omop"});
  // A concept held by 3 persons (< min_cell) is not published at all.
  EXPECT_TRUE(search("concept=OMOP%3A4242").empty());
  EXPECT_TRUE(search("concept=ICD10%3AQ87").empty());

  // Counts: rounded to 5, the rare marker (3 persons) suppressed; OMOP persons and coverage.
  auto lab =
      json::parse(harness.Person(world.token("alice"), "GET", "/v1/catalog/fr-node/lab").body);
  EXPECT_EQ(lab["persons"], 55);  // 57 rounded to a multiple of 5
  const auto& vars = lab["tables"][0]["variables"];
  bool saw_rare = false;
  for (const auto& v : vars) {
    if (v["name"] == "rare_marker") {
      saw_rare = true;
      EXPECT_EQ(v["non_null"], "suppressed") << v.dump();
    }
    if (v["name"] == "hba1c") {
      EXPECT_EQ(v["non_null"], 55);
    }
  }
  EXPECT_TRUE(saw_rare);
  EXPECT_EQ(lab.dump().find("\"3\""), std::string::npos);
  auto omop =
      json::parse(harness.Person(world.token("alice"), "GET", "/v1/catalog/fr-node/omop").body);
  EXPECT_EQ(omop["persons"], 30);
  EXPECT_EQ(omop["coverage"]["from"], "2015-01-01");
  EXPECT_EQ(omop["coverage"]["to"], "2023-12-31");
  EXPECT_EQ(omop["title"], "Hospital EHR in OMOP CDM");
  EXPECT_EQ(omop["jurisdiction"], "FR");
}

TEST(CatalogPublish, ConfigErrorsAreNamed) {
  auto config = Config::Parse("[catalog]\nround_to = 0\n");
  ASSERT_TRUE(config.ok());
  auto o = node::LoadCatalogConfig(*config, ".");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("round_to"), std::string::npos);
  auto db = NodeDatabase();
  node::CatalogPublishOptions served;
  served.served = {"missing"};
  auto b = node::BuildCatalog(*db, "fr-node", served);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace passerelle::governance::testing
