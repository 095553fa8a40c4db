// OMOP studies through the federation: a study file with "cohort", "covariates" and "outcome"
// instead of "dataset", run by a French and a Québec node on synthetic CDMs (DuckDB files opened
// read-only), with count, summary, table and table1; plus the node's CohortTables (one temporary
// table per study, reused across rounds, dropped when evicted or at the end).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../omop/synth_test_util.h"
#include "analysis/analysis.h"
#include "cohort/study_file.h"
#include "common/files.h"
#include "node/cohort_provider.h"
#include "node/executor.h"
#include "omop/synth/synth.h"
#include "protocol/messages.h"
#include "sandbox/report.h"
#include "sandbox/sandbox.h"
#include "store/duckdb_source.h"

namespace passerelle {
namespace {

using nlohmann::json;
using omop::synth::Profile;
using omop::synth::SynthReport;
using namespace std::chrono_literals;

const std::string kExamples = std::string(PASSERELLE_SOURCE_DIR) + "/examples/cohorts";

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// ---- the study file -------------------------------------------------------------------------

TEST(OmopStudyFileTest, CohortFileReferenceIsResolvedAndChecked) {
  json study = {{"name", "s"},
                {"cohort", {{"file", "t2dm_new_users.json"}}},
                {"covariates", json::array({{{"type", "age"}}})},
                {"analyses", json::array({{{"id", "n"}, {"type", "count"}}})}};
  auto resolved = cohort::ResolveStudyCohort(study, kExamples, "study.json");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ((*resolved)["cohort"]["name"], "Adults with type 2 diabetes, first diagnosis");
  auto def = protocol::StudyDefinition::FromJson(*resolved);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->dataset, "omop");
  ASSERT_TRUE(def->cohort.has_value());
  EXPECT_EQ(def->cohort->covariates.size(), 1u);
  // An ATLAS export becomes {"atlas": ...}.
  study["cohort"] = {{"file", "t2dm_metformin_atlas.json"}};
  resolved = cohort::ResolveStudyCohort(study, kExamples, "study.json");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_TRUE((*resolved)["cohort"].contains("atlas"));
  // Mistakes show before submission, with their place.
  study["cohort"] = {{"file", "no-such-file.json"}};
  EXPECT_FALSE(cohort::ResolveStudyCohort(study, kExamples, "study.json").ok());
  study["cohort"] = {{"file", "t2dm_new_users.json"}};
  study["covariates"] = json::array({{{"type", "agee"}}});
  auto bad = cohort::ResolveStudyCohort(study, kExamples, "study.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("study.json"), std::string::npos) << bad.status().message();
  // An unresolved reference is refused by the protocol (the hub never reads files).
  study["covariates"] = json::array();
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(study).ok());
}

TEST(OmopStudyFileTest, ProtocolValidatesCohortStudies) {
  json base = {{"name", "s"},
               {"cohort", {{"entry", {{"events", json::array()}}}}},
               {"analyses", json::array({{{"id", "n"}, {"type", "count"}}})}};
  auto ok = protocol::StudyDefinition::FromJson(base);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->dataset, "omop");
  // Round trip through the hub's stored form and the task.
  auto again = protocol::StudyDefinition::FromJson(ok->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->cohort->cohort, base["cohort"]);
  protocol::Task t;
  t.task_id = "t";
  t.study_id = "st-1";
  t.node = "fr";
  t.dataset = again->dataset;
  t.cohort = again->cohort;
  t.steps.push_back({"n", "count", {{"id", "n"}, {"type", "count"}}, 0, {}});
  auto task = protocol::Task::FromJson(t.ToJson());
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  EXPECT_EQ(task->cohort->cohort, base["cohort"]);

  json j = base;
  j["dataset"] = "cnsim";  // a cohort runs on the CDM
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());
  j = base;
  j["cohort"] = json::array();
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());
  j = base;
  j["covariates"] = {{"type", "age"}};  // not an array
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());
  j = base;
  j["outcome"] = "hf";
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());
  j = base;
  j.erase("cohort");
  j["covariates"] = json::array();
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());  // covariates without a cohort
  j.erase("covariates");
  EXPECT_FALSE(protocol::StudyDefinition::FromJson(j).ok());  // neither dataset nor cohort
}

// ---- the node's cohort tables ------------------------------------------------------------

protocol::Task CohortTask(const std::string& study_id, const json& study_part) {
  protocol::Task t;
  t.task_id = study_id + "-r1-fr";
  t.study_id = study_id;
  t.node = "fr";
  t.dataset = "omop";
  protocol::CohortRequest c;
  c.cohort = study_part["cohort"];
  c.covariates = study_part.value("covariates", json::array());
  c.outcome = study_part.value("outcome", json());
  t.cohort = c;
  return t;
}

int64_t TempTables(store::DataSource& db) {
  return omop::synth::testing::Int(
      db,
      "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE '_passerelle%'");
}

TEST(CohortTablesTest, BuildsOncePerStudyEvictsAndDrops) {
  SynthReport report;
  store::DataSource& db =
      omop::synth::testing::Generated(Profile::kFrance, 4000, 20261128, &report);
  json hhf = ReadJson(kExamples + "/hhf_study.json");
  {
    node::CohortTables tables(db, {.max_studies = 2});
    auto t = tables.Open(CohortTask("st-a", hhf));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto rows = (*t)->RowCount();
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(*rows, report.hhf_cohort);
    // The node's id is the column "site"; no identifier, no date.
    auto vars = (*t)->Variables();
    ASSERT_TRUE(vars.ok());
    std::vector<std::string> names;
    for (const auto& v : *vars) names.push_back(v.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"age", "female", "hba1c", "ckd", "sglt2", "hhf", "site"}));
    auto levels = (*t)->Levels("site", 10);
    ASSERT_TRUE(levels.ok());
    ASSERT_EQ(levels->size(), 1u);
    EXPECT_EQ((*levels)[0].level, "fr");
    // Not a dataset: the node's dataset listing leaves it out.
    auto listed = db.ListTables();
    ASSERT_TRUE(listed.ok());
    for (const auto& name : *listed) EXPECT_NE(name.rfind("_passerelle_study", 0), 0u) << name;

    // A later round of the same study reuses the table: it still opens with the CDM's person
    // table renamed away.
    ASSERT_TRUE(db.Execute("ALTER TABLE person RENAME TO person_away").ok());
    auto again = tables.Open(CohortTask("st-a", hhf));
    EXPECT_TRUE(again.ok()) << again.status().ToString();
    auto other = tables.Open(CohortTask("st-b", hhf));  // a new study must build: fails
    EXPECT_FALSE(other.ok());
    ASSERT_TRUE(db.Execute("ALTER TABLE person_away RENAME TO person").ok());
    EXPECT_EQ(TempTables(db), 1);  // the failed build left nothing behind

    ASSERT_TRUE(tables.Open(CohortTask("st-b", hhf)).ok());
    ASSERT_TRUE(tables.Open(CohortTask("st-c", hhf)).ok());  // evicts st-a (least recent)
    EXPECT_EQ(tables.tables(),
              (std::vector<std::string>{"_passerelle_study_st_b", "_passerelle_study_st_c"}));
    EXPECT_EQ(TempTables(db), 2);
    ASSERT_TRUE(tables.Drop("st-b").ok());
    EXPECT_EQ(TempTables(db), 1);
  }
  EXPECT_EQ(TempTables(db), 0);  // dropped with the CohortTables
}

TEST(CohortTablesTest, BadCohortFailsTheTaskWithoutReleasingAnything) {
  // Refused before anything touches the data: an empty database will do.
  auto empty = store::OpenDuckDb({});
  ASSERT_TRUE(empty.ok());
  store::DataSource& db = **empty;
  json hhf = ReadJson(kExamples + "/hhf_study.json");
  hhf["covariates"].push_back({{"type", "age"}, {"name", "site"}});
  node::CohortTables tables(db);
  auto t = tables.Open(CohortTask("st-x", hhf));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("reserved"), std::string::npos) << t.status().message();
  EXPECT_EQ(TempTables(db), 0);
}

// ---- through the federation ----------------------------------------------------------------

class OmopSandboxTest : public ::testing::Test {
 protected:
  static constexpr int64_t kPersons = 4000;
  static void SetUpTestSuite() {
    auto d = TempDir::Create("omop-sandbox");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(d).value());
    for (auto [p, name] : {std::pair{Profile::kFrance, "fr"}, std::pair{Profile::kQuebec, "qc"}}) {
      omop::synth::SynthOptions o;
      o.profile = p;
      o.persons = kPersons;
      o.seed = 3;
      auto r = omop::synth::GenerateSyntheticFile(
          o, {.out = dir_->path() / (std::string(name) + ".duckdb")});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      (p == Profile::kFrance ? fr_ : qc_) = *r;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::vector<sandbox::SandboxNode> Nodes() {
    return {{"fr", dir_->path() / "fr.duckdb", nullptr},
            {"qc", dir_->path() / "qc.duckdb", nullptr}};
  }
  static inline TempDir* dir_ = nullptr;
  static inline SynthReport fr_, qc_;
};

TEST_F(OmopSandboxTest, HhfStudyOnFrenchAndQuebecNodes) {
  json study = ReadJson(kExamples + "/hhf_study.json");
  study["analyses"] = json::parse(R"([
    {"id": "n", "type": "count"},
    {"id": "measures", "type": "summary", "variables": ["age", "hba1c", "hhf"]},
    {"id": "hhf_by_sglt2", "type": "table", "rows": "sglt2", "cols": "hhf"},
    {"id": "table1", "type": "table1", "by": "site",
     "categorical": ["female", "ckd", "sglt2", "hhf"], "continuous": ["age", "hba1c"]}
  ])");
  auto resolved = cohort::ResolveStudyCohort(study, kExamples, "hhf_study.json");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  sandbox::FederationOptions opts;
  auto result = sandbox::RunSandbox(*resolved, Nodes(), opts, 120s);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const json& a = (*result)["analyses"];
  EXPECT_EQ((*result)["dataset"], "omop");
  const int64_t persons = fr_.hhf_cohort + qc_.hhf_cohort;
  const int64_t events = fr_.hhf_events + qc_.hhf_events;
  ASSERT_GT(fr_.hhf_cohort, 50);
  ASSERT_GT(qc_.hhf_cohort, 50);
  EXPECT_EQ(a["n"]["n"], persons);
  EXPECT_EQ(a["measures"]["hhf"]["n"], persons);
  EXPECT_NEAR(a["measures"]["hhf"]["mean"].get<double>(),
              static_cast<double>(events) / static_cast<double>(persons), 1e-12);
  EXPECT_EQ(a["measures"]["hba1c"]["n_missing"], 0);

  const json& t1 = a["table1"];
  EXPECT_EQ(t1["by"], "site");
  EXPECT_EQ(t1["groups"], json({"fr", "qc", "overall"}));
  EXPECT_EQ(t1["n"]["fr"], fr_.hhf_cohort);
  EXPECT_EQ(t1["n"]["qc"], qc_.hhf_cohort);
  EXPECT_EQ(t1["n"]["overall"], persons);
  // The outcome by jurisdiction: exact, or suppressed by the node's small-cell rule (min_cell 10).
  const json& hhf = t1["variables"][3];
  ASSERT_EQ(hhf["name"], "hhf");
  for (auto [site, report] : {std::pair{"fr", fr_}, std::pair{"qc", qc_}}) {
    const json& cell = hhf["groups"][site]["counts"]["1"];
    if (report.hhf_events >= 10 && report.hhf_cohort - report.hhf_events >= 10) {
      EXPECT_EQ(cell, report.hhf_events) << site;
      EXPECT_NEAR(hhf["groups"][site]["percent"]["1"].get<double>(),
                  100.0 * report.hhf_events / report.hhf_cohort, 1e-9);
    } else if (report.hhf_events > 0) {
      EXPECT_TRUE(cell.is_null()) << site;
      EXPECT_TRUE(hhf["groups"]["overall"]["counts"]["1"].is_null());
    }
  }
  bool any_suppressed = false;
  for (const auto& s : t1["suppressed"]) any_suppressed |= s["variable"] == "hhf";
  EXPECT_EQ(any_suppressed, fr_.hhf_events < 10 || qc_.hhf_events < 10);
  // Continuous: the pooled mean age is the summary's.
  const json& age = t1["variables"][4];
  ASSERT_EQ(age["name"], "age");
  EXPECT_NEAR(age["groups"]["overall"]["mean"].get<double>(),
              a["measures"]["age"]["mean"].get<double>(), 1e-9);
  EXPECT_NEAR(age["groups"]["overall"]["sd"].get<double>(),
              a["measures"]["age"]["sd"].get<double>(), 1e-9);
  EXPECT_EQ(age["groups"]["fr"]["n"], fr_.hhf_cohort);

  // Readable renderings: text (as `passerelle study result --format text`) and long CSV.
  const std::string text = sandbox::ResultToText(*result);
  EXPECT_NE(text.find("[table1] table1 by site"), std::string::npos) << text;
  EXPECT_NE(text.find("age, mean (SD)"), std::string::npos) << text;
  const std::string csv = sandbox::ResultToCsv(*result);
  EXPECT_NE(csv.find(fmt::format("table1,table1,,,fr,n,{},", fr_.hhf_cohort)), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("table1,table1,age,,overall,mean,"), std::string::npos) << csv;

  // The node databases were opened read-only and hold no study table afterwards.
  for (const auto& n : Nodes()) {
    auto db = store::OpenDuckDb({.path = n.duckdb.string(), .read_only = true, .must_exist = true});
    ASSERT_TRUE(db.ok());
    auto tables = (*db)->ListTables();
    ASSERT_TRUE(tables.ok());
    for (const auto& t : *tables) EXPECT_EQ(t.find("passerelle_study"), std::string::npos) << t;
  }
}

TEST_F(OmopSandboxTest, MaceStudyAndAFailingCohortNamesTheNode) {
  json study = ReadJson(kExamples + "/mace_study.json");
  study["analyses"] = json::parse(R"([
    {"id": "n", "type": "count"},
    {"id": "t1", "type": "table1", "categorical": ["male", "t2d", "htn", "statin", "mace_event"],
     "continuous": ["age", "mace_time"]}
  ])");
  auto result = sandbox::RunSandbox(study, Nodes(), {}, 120s);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const json& t1 = (*result)["analyses"]["t1"];
  EXPECT_EQ(t1["groups"], json({"overall"}));
  EXPECT_EQ(t1["n"]["overall"], (*result)["analyses"]["n"]["n"]);
  EXPECT_GT(t1["variables"][4]["groups"]["overall"]["counts"]["1"].get<int64_t>(), 10);

  // The example as it is: count, table1 by site and the Cox model stratified by site, on the
  // cohort table the nodes built (the node's "site" column is not in the formula).
  json example = ReadJson(kExamples + "/mace_study.json");
  if (analysis::BuiltinRegistry().Find("cox")) {
    sandbox::FederationOptions opts;
    opts.policy.analyses = analysis::BuiltinRegistry().Types();
    auto full = sandbox::RunSandbox(example, Nodes(), opts, 120s);
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    const json& a = (*full)["analyses"];
    const json& cox = a["mace_cox"];
    EXPECT_EQ(cox["n"], a["persons"]["n"]);
    EXPECT_EQ(cox["events"], a["table1"]["variables"][4]["groups"]["overall"]["counts"]["1"]);
    EXPECT_TRUE(cox["converged"].get<bool>());
    std::vector<std::string> terms;
    for (const auto& c : cox["coefficients"]) terms.push_back(c["term"]);
    EXPECT_EQ(terms, (std::vector<std::string>{"age", "male", "t2d", "htn", "statin"}));
    // Older age raises the hazard, as planted (log HR 0.055 per year).
    EXPECT_GT(cox["coefficients"][0]["hr_ci_high"].get<double>(), 1.0);
    EXPECT_LT(cox["coefficients"][0]["hr_ci_low"].get<double>(), 1.0 + 2 * 0.0565);
  }

  // A concept set that does not exist: each node fails the task, the study fails naming a node.
  study["outcome"]["event"]["concept_set"] = "no_such_set";
  result = sandbox::RunSandbox(study, Nodes(), {}, 120s);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("no_such_set"), std::string::npos)
      << result.status().message();
}

}  // namespace
}  // namespace passerelle
