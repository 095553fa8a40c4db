// The catalog: parsing, the disclosure of counts, search by words, variables and concepts with
// FTS5 and with the LIKE fallback.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/date.h"
#include "common/sqlite.h"
#include "governance/catalog.h"

namespace passerelle::governance {
namespace {

constexpr std::string_view kDescription = R"({
  "node": "qc-node",
  "name": "cartagene",
  "title": "CARTaGENE cohort",
  "description": "Population cohort of Québec adults aged 40 to 69, with biobank samples.",
  "population": "Québec adults 40-69",
  "coverage": {"from": "2009-01-01", "to": "2023-12-31"},
  "keywords": ["diabète", "cardiovasculaire"],
  "persons": 43000,
  "tables": [
    {"name": "participants", "description": "One row per participant", "rows": 43000,
     "variables": [
       {"name": "age", "type": "integer", "description": "Age at recruitment", "non_null": 43000},
       {"name": "hba1c", "type": "double", "description": "Glycated haemoglobin",
        "concepts": ["LOINC:4548-4"], "non_null": "suppressed"},
       {"name": "t2d", "type": "boolean", "description": "Type 2 diabetes",
        "concepts": ["SNOMED:44054006", "ICD10:E11"]}
     ]}
  ]
})";

TEST(CatalogJson, ParsesAndRoundTrips) {
  auto d = ParseDatasetDescription(kDescription);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->Ref(), "qc-node/cartagene");
  EXPECT_EQ(*d->coverage_from, ParseDate("2009-01-01").value());
  ASSERT_EQ(d->tables.size(), 1u);
  ASSERT_EQ(d->tables[0].variables.size(), 3u);
  EXPECT_TRUE(d->tables[0].variables[1].non_null->suppressed());
  EXPECT_EQ(d->tables[0].variables[2].concepts[1], "ICD10:E11");
  auto again = ParseDatasetDescription(DatasetDescriptionToJson(*d));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(DatasetDescriptionToJson(*again), DatasetDescriptionToJson(*d));
}

TEST(CatalogJson, RefusesBadInputNamingTheField) {
  struct Bad {
    std::string json;
    std::string words;
  };
  std::vector<Bad> bad = {
      {R"({"node": "n", "name": "d"})", "title"},
      {R"({"node": "N!", "name": "d", "title": "t"})", "node"},
      {R"({"node": "n", "name": "d", "title": "t", "extra": 1})", "unknown key \"extra\""},
      {R"({"node": "n", "name": "d", "title": "t", "coverage": {"from": "2020-02-30"}})",
       "coverage.from"},
      {R"({"node": "n", "name": "d", "title": "t",
           "coverage": {"from": "2021-01-01", "to": "2020-01-01"}})",
       "after"},
      {R"({"node": "n", "name": "d", "title": "t", "persons": -3})", "persons"},
      {R"({"node": "n", "name": "d", "title": "t", "tables": [{"name": "x", "variables":
           [{"name": "v", "concepts": [1]}]}]})",
       "tables[0].variables[0].concepts[0]"},
      {"not json", "not JSON"},
  };
  for (const Bad& b : bad) {
    auto d = ParseDatasetDescription(b.json);
    ASSERT_FALSE(d.ok()) << b.json;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find(b.words), std::string::npos) << d.status().ToString();
  }
}

TEST(CatalogCounts, ProtectCountsSuppressesAndRounds) {
  DatasetDescription d;
  d.node = "n";
  d.name = "d";
  d.title = "t";
  d.persons = PublishedCount{1234};
  CatalogTable t;
  t.name = "x";
  t.rows = PublishedCount{0};
  for (int64_t v : {5, 10, 14, 15, 11}) {
    CatalogVariable var;
    var.name = "v" + std::to_string(v);
    var.non_null = PublishedCount{v};
    t.variables.push_back(var);
  }
  d.tables.push_back(t);
  EXPECT_EQ(CheckCountsProtected(d, 10).code(), StatusCode::kInvalidArgument);
  ProtectCounts(d, {.min_cell = 10, .round_to = 10});
  EXPECT_EQ(*d.persons->value, 1230);
  EXPECT_EQ(*d.tables[0].rows->value, 0);
  EXPECT_TRUE(d.tables[0].variables[0].non_null->suppressed());
  EXPECT_EQ(*d.tables[0].variables[1].non_null->value, 10);
  EXPECT_EQ(*d.tables[0].variables[2].non_null->value, 10);
  EXPECT_EQ(*d.tables[0].variables[3].non_null->value, 20);
  EXPECT_EQ(*d.tables[0].variables[4].non_null->value, 10);
  EXPECT_TRUE(CheckCountsProtected(d, 10).ok());
  // Rounding never publishes a count below the minimum.
  DatasetDescription e = d;
  e.persons = PublishedCount{12};
  ProtectCounts(e, {.min_cell = 12, .round_to = 10});
  EXPECT_EQ(*e.persons->value, 20);
}

class CatalogSearchTest : public ::testing::TestWithParam<CatalogSearchMode> {
 protected:
  void SetUp() override {
    SqliteOptions o;
    o.path = ":memory:";
    db_ = SqliteDb::Open(o).value();
    auto store = CatalogStore::Open(*db_, clock_, {.search = GetParam(), .min_cell = 10});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Publish(std::string(kDescription), Jurisdiction::kQC);
    Publish(R"({"node": "fr-node", "name": "snds-diabetes", "title": "SNDS diabetes extract",
      "description": "Reimbursed care of patients with diabetes in France",
      "keywords": ["diabetes", "pharmacy"],
      "tables": [{"name": "patients", "variables": [
        {"name": "age", "type": "integer"},
        {"name": "sex", "type": "string"},
        {"name": "t2d", "concepts": ["ICD10:E11"]}]}]})",
            Jurisdiction::kFR);
    Publish(R"({"node": "fr-node", "name": "cancer", "title": "Cancer registry",
      "description": "Incident cancers, Île-de-France",
      "tables": [{"name": "cases", "variables": [{"name": "stage"}, {"name": "age"}]}]})",
            Jurisdiction::kFR);
  }
  void Publish(const std::string& json, Jurisdiction j) {
    auto d = ParseDatasetDescription(json);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    auto p = store_->Publish(*d, j);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
  }
  std::vector<std::string> Find(CatalogQuery q) {
    auto hits = store_->Search(q);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<std::string> out;
    if (hits.ok()) {
      for (const auto& h : *hits) out.push_back(h.node + "/" + h.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> Find(std::string text) { return Find(CatalogQuery{.text = text}); }

  FakeClock clock_{1'700'000'000'000'000};
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<CatalogStore> store_;
};

using V = std::vector<std::string>;

TEST_P(CatalogSearchTest, UsesTheAskedEngine) {
  EXPECT_EQ(store_->uses_fts5(), GetParam() != CatalogSearchMode::kLike);
}

TEST_P(CatalogSearchTest, ByWords) {
  EXPECT_EQ(Find("pharmacy"), (V{"fr-node/snds-diabetes"}));
  EXPECT_EQ(Find("diabetes"), (V{"fr-node/snds-diabetes", "qc-node/cartagene"}));  // "Type 2 ..."
  EXPECT_EQ(Find("cohort"), (V{"qc-node/cartagene"}));
  EXPECT_EQ(Find("CANCER registry"), (V{"fr-node/cancer"}));
  EXPECT_EQ(Find("haemoglobin"), (V{"qc-node/cartagene"}));  // a variable's description
  EXPECT_EQ(Find("diab"), (V{"fr-node/snds-diabetes", "qc-node/cartagene"}));  // prefix / substring
  EXPECT_EQ(Find("cohort pharmacy"), V{});  // all words must match
  EXPECT_EQ(Find(""), (V{"fr-node/cancer", "fr-node/snds-diabetes", "qc-node/cartagene"}));
  EXPECT_EQ(Find("\"; DROP TABLE catalog_datasets; --"), V{});
  EXPECT_EQ(Find("e11"), (V{"fr-node/snds-diabetes", "qc-node/cartagene"}));  // concept codes
}

TEST_P(CatalogSearchTest, ByVariablesConceptsAndJurisdiction) {
  EXPECT_EQ(Find(CatalogQuery{.variables = {"age"}}),
            (V{"fr-node/cancer", "fr-node/snds-diabetes", "qc-node/cartagene"}));
  EXPECT_EQ(Find(CatalogQuery{.variables = {"AGE", "sex"}}), (V{"fr-node/snds-diabetes"}));
  EXPECT_EQ(Find(CatalogQuery{.concepts = {"icd10:e11"}}),
            (V{"fr-node/snds-diabetes", "qc-node/cartagene"}));
  EXPECT_EQ(Find(CatalogQuery{.concepts = {"SNOMED:44054006"}}), (V{"qc-node/cartagene"}));
  EXPECT_EQ(Find(CatalogQuery{.concepts = {"ICD10:E11"}, .jurisdiction = Jurisdiction::kFR}),
            (V{"fr-node/snds-diabetes"}));
  EXPECT_EQ(Find(CatalogQuery{.text = "registry", .variables = {"age"}}), (V{"fr-node/cancer"}));
  EXPECT_EQ(Find(CatalogQuery{.text = "registry", .variables = {"sex"}}), V{});
}

TEST_P(CatalogSearchTest, RepublishingReplacesTheDescription) {
  auto before = store_->Get("fr-node", "cancer");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->version, 1);
  EXPECT_EQ(before->jurisdiction, Jurisdiction::kFR);
  Publish(R"({"node": "fr-node", "name": "cancer", "title": "Tumour registry",
    "tables": [{"name": "cases", "variables": [{"name": "grade"}]}]})",
          Jurisdiction::kFR);
  auto after = store_->Get("fr-node", "cancer");
  EXPECT_EQ(after->version, 2);
  EXPECT_EQ(after->title, "Tumour registry");
  EXPECT_EQ(Find("registry"), (V{"fr-node/cancer"}));
  EXPECT_EQ(Find("incident"), V{});  // the old description's words are gone
  EXPECT_EQ(Find("tumour"), (V{"fr-node/cancer"}));
  EXPECT_EQ(Find(CatalogQuery{.variables = {"stage"}}), V{});
  EXPECT_EQ(Find(CatalogQuery{.variables = {"grade"}}), (V{"fr-node/cancer"}));
  EXPECT_EQ(store_->Get("fr-node", "nope").status().code(), StatusCode::kNotFound);
}

TEST_P(CatalogSearchTest, RefusesUnprotectedCounts) {
  auto d = ParseDatasetDescription(
      R"({"node": "fr-node", "name": "tiny", "title": "Tiny", "persons": 4})");
  ASSERT_TRUE(d.ok());
  auto p = store_->Publish(*d, Jurisdiction::kFR);
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("[rule: catalog_counts]"), std::string::npos);
  EXPECT_FALSE(store_->Exists("fr-node", "tiny").value());
}

TEST_P(CatalogSearchTest, LimitIsChecked) {
  EXPECT_EQ(store_->Search(CatalogQuery{.limit = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Search(CatalogQuery{.limit = 1})->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, CatalogSearchTest,
                         ::testing::Values(CatalogSearchMode::kFts5, CatalogSearchMode::kLike),
                         [](const auto& param_info) {
                           return param_info.param == CatalogSearchMode::kFts5 ? "Fts5" : "Like";
                         });

TEST(CatalogFts5, FoldsAccentsAndRanks) {
  SqliteOptions o;
  o.path = ":memory:";
  auto db = SqliteDb::Open(o).value();
  FakeClock clock(0);
  auto store = CatalogStore::Open(*db, clock, {.search = CatalogSearchMode::kAuto}).value();
  ASSERT_TRUE(store->uses_fts5()) << "Debian's libsqlite3 has FTS5";
  auto d1 = ParseDatasetDescription(
      R"({"node": "q", "name": "a", "title": "Diabète de type 2", "description": "diabète"})");
  auto d2 = ParseDatasetDescription(
      R"({"node": "q", "name": "b", "title": "Hospital stays", "description": "some diabetes"})");
  ASSERT_TRUE(store->Publish(*d1, Jurisdiction::kQC).ok());
  ASSERT_TRUE(store->Publish(*d2, Jurisdiction::kQC).ok());
  auto hits = store->Search({.text = "diabete"});
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 2u);      // "diabète" folds to "diabete", a prefix of "diabetes"
  EXPECT_EQ((*hits)[0].name, "a");  // two matches rank above one
  EXPECT_GT((*hits)[0].score, (*hits)[1].score);
  EXPECT_EQ(store->Search({.text = "DIABÈTE"})->size(), 2u);
}

}  // namespace
}  // namespace passerelle::governance
