// glm, cox and km through `passerelle sandbox` (the sandbox library: a hub and one node per study
// file in one process, over the real protocol: TLS 1.3, mTLS, long polls, JSON state at the hub),
// compared with R's glm / coxph / survfit on the pooled data (tests/stats/golden, written by
// tools/golden/make_golden.R; R is not needed here).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "sandbox/report.h"
#include "sandbox/sandbox.h"
#include "store/data_source.h"
#include "store/duckdb_source.h"
#include "tests/stats/shared_data.h"

namespace passerelle::sandbox {
namespace {

using nlohmann::json;
using stats::testing::LoadGolden;
using stats::testing::Num;
using stats::testing::Nums;
using stats::testing::RelErr;
using namespace std::chrono_literals;

// The issue asks for 1e-6; the federated fits agree with R far better.
constexpr double kTol = 1e-9;

class ModelSandboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto d = TempDir::Create("model-sandbox");
    ASSERT_TRUE(d.ok());
    dir_ = new TempDir(std::move(d).value());
  }
  // The three sites' databases of `prefix`, created on first use (ctest runs each test alone).
  static void CreateSites(const std::string& prefix) {
    if (std::filesystem::exists(Path(prefix, 3))) return;
    for (int i = 1; i <= 3; ++i) {
      auto db = store::OpenDuckDb({.path = Path(prefix, i).string()});
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      const std::string csv = std::string(PASSERELLE_SHARED_DATA) + "/datashield/" + prefix +
                              std::to_string(i) + ".csv";
      const std::string select = stats::testing::SiteSelect(prefix == "CNSIM" ? "CNSIM" : "EXPAND");
      Status st = (*db)->Execute("CREATE TABLE d AS SELECT " + select + " FROM read_csv('" + csv +
                                 "', header = true, all_varchar = true)");
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path Path(const std::string& prefix, int i) {
    return dir_->path() / (prefix + std::to_string(i) + ".duckdb");
  }
  static std::vector<SandboxNode> Nodes(const std::string& prefix) {
    CreateSites(prefix);
    std::vector<SandboxNode> n;
    for (int i = 1; i <= 3; ++i)
      n.push_back({"site" + std::to_string(i), Path(prefix, i), nullptr});
    return n;
  }
  static Result<json> Run(const std::string& prefix, const json& analysis,
                          FederationOptions options = {}) {
    json study = {{"name", "models"}, {"dataset", "d"}, {"analyses", json::array({analysis})}};
    ASSIGN_OR_RETURN(json r, RunSandbox(study, Nodes(prefix), options, 120s));
    return r["analyses"][analysis["id"].get<std::string>()];
  }
  static TempDir* dir_;
};

TempDir* ModelSandboxTest::dir_ = nullptr;

// The glm result JSON against a golden of make_golden.R.
void ExpectGlmGolden(const std::string& golden, const json& r) {
  const json g = LoadGolden(golden);
  const auto names = g["names"].get<std::vector<std::string>>();
  ASSERT_EQ(r["coefficients"].size(), names.size()) << r.dump();
  double max_coef = 0, max_se = 0, max_other = 0;
  const auto est = Nums(g["estimate"]), se = Nums(g["std_error"]), stat = Nums(g["statistic"]),
             pv = Nums(g["p_value"]), lo = Nums(g["ci_lower"]), hi = Nums(g["ci_upper"]);
  for (size_t i = 0; i < names.size(); ++i) {
    const json& c = r["coefficients"][i];
    EXPECT_EQ(c["term"], names[i]);
    EXPECT_EQ(c.value("aliased", false), std::isnan(est[i])) << names[i];
    max_coef = std::max(max_coef, RelErr(Num(c["estimate"]), est[i]));
    max_se = std::max(max_se, RelErr(Num(c["std_error"]), se[i]));
    for (auto [key, want] : {std::pair{"statistic", stat[i]}, std::pair{"p_value", pv[i]},
                             std::pair{"ci_low", lo[i]}, std::pair{"ci_high", hi[i]}}) {
      max_other = std::max(max_other, RelErr(Num(c[key]), want));
    }
  }
  EXPECT_LT(max_coef, kTol) << golden;
  EXPECT_LT(max_se, kTol) << golden;
  EXPECT_LT(max_other, kTol) << golden;
  EXPECT_LT(RelErr(Num(r["deviance"]), Num(g["deviance"])), kTol);
  EXPECT_LT(RelErr(Num(r["null_deviance"]), Num(g["null_deviance"])), kTol);
  const double aic = Num(g["aic"]);
  if (std::isfinite(aic)) {
    EXPECT_LT(RelErr(Num(r["aic"]), aic), kTol);
  } else {
    EXPECT_TRUE(r["aic"].is_null());  // R: Inf (a non-integer poisson outcome)
  }
  EXPECT_EQ(r["df_residual"].get<double>(), Num(g["df_residual"]));
  EXPECT_EQ(r["iterations"].get<double>(), Num(g["iterations"]));
  EXPECT_TRUE(r["converged"].get<bool>());
  std::printf("[sandbox golden] %-36s max rel err: coef %.1e  se %.1e  z/p/ci %.1e\n",
              golden.c_str(), max_coef, max_se, max_other);
}

void ExpectCoxGolden(const std::string& golden, const json& r) {
  const json g = LoadGolden(golden);
  const auto names = g["names"].get<std::vector<std::string>>();
  ASSERT_EQ(r["coefficients"].size(), names.size()) << r.dump();
  const auto est = Nums(g["estimate"]), se = Nums(g["std_error"]), z = Nums(g["z"]),
             pv = Nums(g["p_value"]), lo = Nums(g["hr_lower"]), hi = Nums(g["hr_upper"]);
  double max_coef = 0, max_se = 0, max_other = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const json& c = r["coefficients"][i];
    EXPECT_EQ(c["term"], names[i]);
    max_coef = std::max(max_coef, RelErr(Num(c["estimate"]), est[i]));
    max_se = std::max(max_se, RelErr(Num(c["std_error"]), se[i]));
    for (auto [key, want] : {std::pair{"statistic", z[i]}, std::pair{"p_value", pv[i]},
                             std::pair{"hr_ci_low", lo[i]}, std::pair{"hr_ci_high", hi[i]}}) {
      max_other = std::max(max_other, RelErr(Num(c[key]), want));
    }
    if (!std::isnan(est[i])) {
      EXPECT_LT(RelErr(Num(c["hazard_ratio"]), std::exp(est[i])), kTol);
    }
  }
  EXPECT_LT(max_coef, kTol) << golden;
  EXPECT_LT(max_se, kTol) << golden;
  EXPECT_LT(max_other, kTol) << golden;
  EXPECT_LT(RelErr(Num(r["loglik"][0]), Num(g["loglik_null"])), kTol);
  EXPECT_LT(RelErr(Num(r["loglik"][1]), Num(g["loglik"])), kTol);
  EXPECT_LT(RelErr(Num(r["lr_test"]["statistic"]), Num(g["lr"])), kTol);
  EXPECT_LT(RelErr(Num(r["wald_test"]["statistic"]), Num(g["wald"])), kTol);
  EXPECT_LT(RelErr(Num(r["score_test"]["statistic"]), Num(g["score"])), kTol);
  EXPECT_EQ(r["n"].get<double>(), Num(g["n"]));
  EXPECT_EQ(r["events"].get<double>(), Num(g["events"]));
  EXPECT_EQ(r["iterations"].get<double>(), Num(g["iterations"]));
  std::printf("[sandbox golden] %-36s max rel err: coef %.1e  se %.1e  z/p/ci %.1e\n",
              golden.c_str(), max_coef, max_se, max_other);
}

TEST_F(ModelSandboxTest, GaussianCnsimEqualsR) {
  auto r = Run(
      "CNSIM",
      {{"id", "m"}, {"type", "glm"}, {"family", "gaussian"}, {"formula", "LAB_TSC ~ LAB_TRIG"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The figures.
  EXPECT_NEAR((*r)["coefficients"][0]["estimate"].get<double>(), 5.69711418, 5e-9);
  EXPECT_NEAR((*r)["coefficients"][1]["estimate"].get<double>(), 0.07529977, 5e-9);
  EXPECT_EQ((*r)["statistic"], "t");
  ExpectGlmGolden("glm_gaussian_cnsim", *r);
}

TEST_F(ModelSandboxTest, BinomialCnsimEqualsR) {
  auto r = Run("CNSIM", {{"id", "m"},
                         {"type", "glm"},
                         {"family", "binomial"},
                         {"formula", "DIS_DIAB ~ GENDER*PM_BMI_CONTINUOUS + LAB_HDL"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR((*r)["coefficients"][0]["estimate"].get<double>(), -6.742636692, 5e-9);
  EXPECT_NEAR((*r)["deviance"].get<double>(), 1036.031361, 5e-6);
  EXPECT_FALSE((*r)["separation"].get<bool>());
  ExpectGlmGolden("glm_binomial_cnsim", *r);
}

TEST_F(ModelSandboxTest, TextFactorAndNumericFactorEqualR) {
  // BMI_CAT is a text column (levels agreed in the schema round); factor() of a numeric code.
  auto r = Run("CNSIM", {{"id", "m"},
                         {"type", "glm"},
                         {"family", "gaussian"},
                         {"formula", "LAB_HDL ~ BMI_CAT * GENDER"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGlmGolden("glm_gaussian_string_factor_cnsim", *r);
  auto f = Run("CNSIM", {{"id", "m"},
                         {"type", "glm"},
                         {"family", "binomial"},
                         {"formula", "DIS_DIAB ~ factor(PM_BMI_CATEGORICAL)*LAB_HDL"}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ExpectGlmGolden("glm_binomial_factor_interaction_cnsim", *f);
}

TEST_F(ModelSandboxTest, AliasedTermIsNullLikeR) {
  auto r = Run("CNSIM", {{"id", "m"},
                         {"type", "glm"},
                         {"family", "binomial"},
                         {"formula", "DIS_DIAB ~ GENDER + LAB_HDL + factor(GENDER)"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGlmGolden("glm_binomial_aliased_cnsim", *r);
  EXPECT_TRUE((*r)["coefficients"][3]["aliased"].get<bool>());
  EXPECT_TRUE((*r)["coefficients"][3]["estimate"].is_null());
}

TEST_F(ModelSandboxTest, PoissonExpandEqualsR) {
  auto r = Run("EXPAND_WITH_MISSING", {{"id", "m"},
                                       {"type", "glm"},
                                       {"family", "poisson"},
                                       {"formula", "survtime ~ time.id + female"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGlmGolden("glm_poisson_expand", *r);
  // With an offset (R refits the intercept-only model for the null deviance: more rounds).
  auto o = Run("EXPAND_WITH_MISSING", {{"id", "m"},
                                       {"type", "glm"},
                                       {"family", "poisson"},
                                       {"formula", "cens ~ female + age.60"},
                                       {"offset", "LOG_SURVTIME"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ExpectGlmGolden("glm_poisson_offset_expand", *o);
}

TEST_F(ModelSandboxTest, CoxStratifiedBySiteEqualsR) {
  struct Case {
    const char* golden;
    const char* start;
    const char* stop;
    const char* ties;
    const char* formula;
  };
  // Continuous times (no ties), then times rounded to half-units: many tied events, where Efron
  // and Breslow differ.
  for (const Case& c :
       {Case{"cox_efron_expand", "starttime", "endtime", "efron",
             "~ age.60 + female + noise.56 + pm10.16 + bmi.26"},
        Case{"cox_breslow_expand", "starttime", "endtime", "breslow",
             "~ age.60 + female + noise.56 + pm10.16 + bmi.26"},
        Case{"cox_efron_ties_expand", "START_R", "END_R", "efron", "~ age.60 + female + pm10.16"},
        Case{"cox_breslow_ties_expand", "START_R", "END_R", "breslow",
             "~ age.60 + female + pm10.16"}}) {
    auto r = Run("EXPAND_WITH_MISSING", {{"id", "c"},
                                         {"type", "cox"},
                                         {"start", c.start},
                                         {"time", c.stop},
                                         {"event", "cens"},
                                         {"ties", c.ties},
                                         {"formula", c.formula}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ExpectCoxGolden(c.golden, *r);
  }
}

TEST_F(ModelSandboxTest, CoxWithTextFactorAndInnerStrataEqualsR) {
  auto r = Run("EXPAND_WITH_MISSING",
               {{"id", "c"},
                {"type", "cox"},
                {"start", "starttime"},
                {"time", "endtime"},
                {"event", "cens"},
                {"formula", "~ age.60 + BMI_GRP + pm10.16:BMI_GRP + strata(female)"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectCoxGolden("cox_factor_strata_expand", *r);
}

TEST_F(ModelSandboxTest, KaplanMeierOnAGridEqualsR) {
  const json g = LoadGolden("km_right_grid_expand");
  std::vector<double> grid = g["grid"].get<std::vector<double>>();
  json km = {{"id", "k"},          {"type", "km"},
             {"time", "survtime"}, {"event", "cens"},
             {"group", "female"},  {"times", std::vector<double>(grid.begin() + 1, grid.end())}};
  FederationOptions open;
  open.policy.min_cell = 1;  // every count released, to compare with R
  auto r = Run("EXPAND_WITH_MISSING", km, open);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["group_order"], json({"0", "1"}));
  double max_err = 0;
  for (const json& curve : g["curves"]) {
    std::string level = curve["group"].get<std::string>().substr(std::string("female=").size());
    const json& got = (*r)["groups"][level];
    for (auto [mine, theirs] : {std::pair{"n_risk", "n_risk"},
                                {"n_event", "n_event"},
                                {"survival", "surv"},
                                {"std_err", "std_err"},
                                {"ci_low", "lower"},
                                {"ci_high", "upper"}}) {
      const auto want = Nums(curve[theirs]);
      ASSERT_EQ(got[mine].size(), want.size()) << mine;
      for (size_t j = 0; j < want.size(); ++j) {
        max_err = std::max(max_err, RelErr(Num(got[mine][j]), want[j]));
      }
    }
  }
  EXPECT_LT(max_err, kTol);
  EXPECT_TRUE((*r)["suppressed"].empty());

  // The default policy (min_cell 10): a site's small event counts suppress those intervals, and
  // the survival from there on.
  auto s = Run("EXPAND_WITH_MISSING", km);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_FALSE((*s)["suppressed"].empty());
  const json& first = (*s)["suppressed"][0];
  const json& curve = (*s)["groups"][first["group"].get<std::string>()];
  size_t at = 0;
  while ((*s)["times"][at] != first["time"]) ++at;
  EXPECT_TRUE(curve["n_event"][at].is_null());
  EXPECT_TRUE(curve["survival"].back().is_null());
  if (at > 0) {
    EXPECT_FALSE(curve["survival"][at - 1].is_null());
  }
}

TEST_F(ModelSandboxTest, DisclosureRefusalReachesTheResearcher) {
  // min_cell 2000: every CNSIM site has fewer diabetics than that.
  FederationOptions strict;
  strict.policy.min_cell = 2000;
  auto r =
      Run("CNSIM",
          {{"id", "m"}, {"type", "glm"}, {"family", "binomial"}, {"formula", "DIS_DIAB ~ LAB_HDL"}},
          strict);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rule binomial_min_cell"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace passerelle::sandbox

namespace passerelle::sandbox {
namespace {

// glm, cox and km results rendered as text and CSV, from one real study through the sandbox.
TEST_F(ModelSandboxTest, ModelResultsRenderAsTextAndCsv) {
  CreateSites("EXPAND_WITH_MISSING");
  json study = {{"name", "models"},
                {"dataset", "d"},
                {"analyses",
                 {{{"id", "g"},
                   {"type", "glm"},
                   {"family", "poisson"},
                   {"formula", "survtime ~ time.id + female"}},
                  {{"id", "c"},
                   {"type", "cox"},
                   {"start", "starttime"},
                   {"time", "endtime"},
                   {"event", "cens"},
                   {"formula", "~ age.60 + female"}},
                  {{"id", "k"},
                   {"type", "km"},
                   {"time", "survtime"},
                   {"event", "cens"},
                   {"times", {1.0, 2.0}}}}}};
  FederationOptions open;
  open.policy.min_cell = 1;
  auto r = RunSandbox(study, Nodes("EXPAND_WITH_MISSING"), open, 120s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& g = (*r)["analyses"]["g"];
  const json& c = (*r)["analyses"]["c"];
  const std::string text = ResultToText(*r);
  EXPECT_NE(text.find("[g] glm poisson survtime ~ time.id + female"), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("{:.6g}", g["coefficients"][1]["estimate"].get<double>())),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[c] cox Surv(starttime, endtime, cens) ~ age.60 + female, ties efron"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(fmt::format("{:.6g}", c["coefficients"][0]["hazard_ratio"].get<double>())),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("likelihood ratio test"), std::string::npos) << text;
  EXPECT_NE(text.find("[k] km"), std::string::npos) << text;
  EXPECT_EQ(text.find("[g] glm: {"), std::string::npos) << "raw JSON dump instead of a table";

  const std::string csv = ResultToCsv(*r);
  EXPECT_NE(csv.find(fmt::format("g,glm,survtime ~ time.id + female,female,,estimate,{:.17g},",
                                 g["coefficients"][2]["estimate"].get<double>())),
            std::string::npos)
      << csv;
  EXPECT_NE(
      csv.find("c,cox,\"Surv(starttime, endtime, cens) ~ age.60 + female\",lr_test,,p_value,"),
      std::string::npos)
      << csv;
  const json& k = (*r)["analyses"]["k"];
  ASSERT_TRUE(k.contains("group_order")) << k.dump();
  const std::string level = k["group_order"][0].get<std::string>();
  EXPECT_NE(csv.find(fmt::format("k,km,,{},1,survival,{:.17g},", level,
                                 k["groups"][level]["survival"][0].get<double>())),
            std::string::npos)
      << csv;
}

}  // namespace
}  // namespace passerelle::sandbox

#include "analysis/analysis_table.h"
#include "node/sql_table.h"

namespace passerelle::sandbox {
namespace {

// A model's read drops DuckDB's cached pages (memory used falls) and puts the memory limit back;
// with a temporary table present nothing is evicted (it would be spilled, not dropped).
TEST(SqlTableCacheTest, ReleaseAfterAReadRestoresTheLimit) {
  auto dir = TempDir::Create("sql-cache");
  ASSERT_TRUE(dir.ok());
  auto db = store::OpenDuckDb({.path = (dir->path() / "t.duckdb").string()});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)
                  ->Execute("CREATE TABLE d AS SELECT i::DOUBLE AS x, (i % 7)::DOUBLE AS y "
                            "FROM range(400000) t(i)")
                  .ok());
  ASSERT_TRUE((*db)->Execute("CHECKPOINT").ok());
  auto limit = [&] {
    auto c = store::QueryAll(**db, "SELECT current_setting('memory_limit')");
    return c.ok() ? c->columns[0].strings[0] : std::string("?");
  };
  auto used = [&] {
    return store::QueryInt(**db, "SELECT sum(memory_usage_bytes) FROM duckdb_memory()", -1);
  };
  const std::string before = limit();
  auto table = node::SqlTable::Open(**db, "d");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto kept = (*table)->ReadColumns({"x", "y"}, {.complete_cases = true});
  ASSERT_TRUE(kept.ok());
  auto cached = used();
  ASSERT_TRUE(cached.ok());
  auto read =
      (*table)->ReadColumns({"x", "y"}, {.complete_cases = true, .release_store_cache = true});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)[0].numbers.size(), 400000u);
  EXPECT_EQ((*read)[1].numbers[8], 1.0);
  EXPECT_EQ(limit(), before);
  auto released = used();
  ASSERT_TRUE(released.ok());
  EXPECT_LT(*released, *cached) << "cached pages not dropped";

  Status temp = (*db)->Execute("CREATE TEMP TABLE tmp AS SELECT * FROM d");
  ASSERT_TRUE(temp.ok()) << temp.ToString();
  auto again = (*table)->ReadColumns({"x"}, {.complete_cases = true, .release_store_cache = true});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(limit(), before);
  auto with_temp = used();
  ASSERT_TRUE(with_temp.ok());
  EXPECT_GT(*with_temp, *released) << "a temporary table's blocks were evicted";
  ASSERT_TRUE((*db)->Execute("DROP TABLE tmp").ok());

  // A configured limit (shown rounded, so it could not be restored exactly) is left alone.
  ASSERT_TRUE((*db)->Execute("SET memory_limit = '3GB'").ok());
  const std::string configured = limit();
  auto kept2 = (*table)->ReadColumns({"x", "y"}, {.complete_cases = true});
  ASSERT_TRUE(kept2.ok());
  auto cached2 = used();
  auto read2 =
      (*table)->ReadColumns({"x", "y"}, {.complete_cases = true, .release_store_cache = true});
  ASSERT_TRUE(read2.ok());
  EXPECT_EQ(limit(), configured);
  EXPECT_EQ(used().value_or(-1), cached2.value_or(-2));
}

}  // namespace
}  // namespace passerelle::sandbox
