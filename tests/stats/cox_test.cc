#include "stats/cox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/stats/shared_data.h"

namespace passerelle::stats {
namespace {

using testing::LoadGolden;
using testing::LoadSites;
using testing::Num;
using testing::Nums;
using testing::RelErr;

constexpr double kTol = 1e-9;

// Schema round, layout and each site's Cox data, as the federation runs them.
std::vector<CoxData> Prepare(const std::vector<DataFrame>& frames, const std::string& formula) {
  auto spec = CoxModelSpec(formula);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  std::vector<DataSchema> schemas;
  for (const auto& f : frames) {
    auto s = DescribeData(*spec, f);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    schemas.push_back(*s);
  }
  auto merged = MergeSchemas(schemas);
  EXPECT_TRUE(merged.ok());
  auto layout = LayoutModel(*spec, *merged);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  std::vector<CoxData> out;
  for (const auto& f : frames) {
    auto d = BuildCoxData(*layout, f);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    out.push_back(std::move(*d));
  }
  return out;
}

// The rounds by hand: each site's sums, added, combined at the hub.
CoxResult FitSites(const std::vector<CoxData>& sites, CoxTies ties) {
  CoxOptions options;
  options.ties = ties;
  auto state = CoxBegin(options, sites.front().column_names);
  EXPECT_TRUE(state.ok());
  while (!state->done()) {
    std::vector<double> sum;
    for (const auto& d : sites) {
      auto part = CoxLocalStep(d, state->request);
      EXPECT_TRUE(part.ok()) << part.status().ToString();
      if (sum.empty()) sum.assign(part->size(), 0.0);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*part)[i];
    }
    Status st = CoxCombine(*state, sum);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) break;
  }
  auto r = CoxFinish(*state);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

void CompareWithR(const std::string& golden, const CoxResult& r) {
  auto g = LoadGolden(golden);
  const auto names = g["names"].get<std::vector<std::string>>();
  ASSERT_EQ(r.coefficients.size(), names.size());
  const auto est = Nums(g["estimate"]), se = Nums(g["std_error"]), z = Nums(g["z"]),
             pv = Nums(g["p_value"]), lo = Nums(g["hr_lower"]), hi = Nums(g["hr_upper"]);
  double max_coef = 0, max_se = 0, max_other = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const CoxCoefficient& c = r.coefficients[i];
    EXPECT_EQ(c.name, names[i]);
    EXPECT_EQ(c.aliased, std::isnan(est[i])) << c.name;
    max_coef = std::max(max_coef, RelErr(c.estimate, est[i]));
    max_se = std::max(max_se, RelErr(c.std_error, se[i]));
    for (auto [a, b] : {std::pair{c.z, z[i]}, std::pair{c.p_value, pv[i]},
                        std::pair{c.hr_lower, lo[i]}, std::pair{c.hr_upper, hi[i]}}) {
      max_other = std::max(max_other, RelErr(a, b));
    }
  }
  double max_tests = 0;
  for (auto [a, b] :
       {std::pair{r.loglik_null, Num(g["loglik_null"])}, std::pair{r.loglik, Num(g["loglik"])},
        std::pair{r.likelihood_ratio.statistic, Num(g["lr"])},
        std::pair{r.likelihood_ratio.p_value, Num(g["lr_p"])},
        std::pair{r.wald.statistic, Num(g["wald"])}, std::pair{r.wald.p_value, Num(g["wald_p"])},
        std::pair{r.score.statistic, Num(g["score"])},
        std::pair{r.score.p_value, Num(g["score_p"])}}) {
    max_tests = std::max(max_tests, RelErr(a, b));
  }
  EXPECT_LT(max_coef, kTol) << golden;
  EXPECT_LT(max_se, kTol) << golden;
  EXPECT_LT(max_other, kTol) << golden;
  EXPECT_LT(max_tests, kTol) << golden;
  EXPECT_EQ(r.likelihood_ratio.df, Num(g["lr_df"]));
  EXPECT_EQ(r.n, static_cast<int64_t>(Num(g["n"])));
  EXPECT_EQ(r.events, static_cast<int64_t>(Num(g["events"])));
  EXPECT_EQ(r.iterations, Num(g["iterations"])) << golden;
  EXPECT_TRUE(r.converged);
  std::printf("[golden] %-32s max rel err: coef %.1e  se %.1e  z/p/HR CI %.1e  loglik/tests %.1e\n",
              golden.c_str(), max_coef, max_se, max_other, max_tests);
}

struct CoxCase {
  const char* golden;
  const char* data;
  int sites;
  const char* formula;  // federated: each site is its own stratum, no strata(site)
  CoxTies ties;
};

class CoxGoldenTest : public ::testing::TestWithParam<CoxCase> {};

TEST_P(CoxGoldenTest, FederatedFitEqualsRPooledStratifiedFit) {
  const CoxCase& c = GetParam();
  auto frames = LoadSites(c.data, c.sites);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  CompareWithR(c.golden, FitSites(Prepare(*frames, c.formula), c.ties));
}

constexpr const char* kCovariates =
    "Surv(starttime, endtime, cens) ~ age.60 + female + noise.56 + pm10.16 + bmi.26";

INSTANTIATE_TEST_SUITE_P(
    Golden, CoxGoldenTest,
    ::testing::Values(
        CoxCase{"cox_efron_expand", "EXPAND_WITH_MISSING", 3, kCovariates, CoxTies::kEfron},
        CoxCase{"cox_breslow_expand", "EXPAND_WITH_MISSING", 3, kCovariates, CoxTies::kBreslow},
        CoxCase{"cox_efron_ties_expand", "EXPAND_WITH_MISSING", 3,
                "Surv(START_R, END_R, cens) ~ age.60 + female + pm10.16", CoxTies::kEfron},
        CoxCase{"cox_breslow_ties_expand", "EXPAND_WITH_MISSING", 3,
                "Surv(START_R, END_R, cens) ~ age.60 + female + pm10.16", CoxTies::kBreslow},
        CoxCase{"cox_right_ties_expand", "EXPAND_WITH_MISSING", 3,
                "Surv(SURV_R, cens) ~ age.60 + female + bmi.26", CoxTies::kEfron},
        CoxCase{"cox_factor_strata_expand", "EXPAND_WITH_MISSING", 3,
                "Surv(starttime, endtime, cens) ~ age.60 + BMI_GRP + pm10.16:BMI_GRP + "
                "strata(female)",
                CoxTies::kEfron},
        CoxCase{"cox_aliased_expand", "EXPAND_WITH_MISSING", 3,
                "Surv(starttime, endtime, cens) ~ age.60 + factor(time.id)", CoxTies::kEfron},
        CoxCase{"cox_nomissing1", "EXPAND_NO_MISSING", 1, "Surv(starttime, endtime, cens) ~ age.60",
                CoxTies::kEfron}),
    [](const ::testing::TestParamInfo<CoxCase>& p) { return std::string(p.param.golden); });

TEST(CoxTest, IssueFigures) {
  auto frames = LoadSites("EXPAND_NO_MISSING", 1);
  ASSERT_TRUE(frames.ok());
  CoxResult r =
      FitSites(Prepare(*frames, "Surv(starttime, endtime, cens) ~ age.60"), CoxTies::kEfron);
  EXPECT_NEAR(r.coefficients[0].estimate, 0.03866929, 5e-9);
  EXPECT_NEAR(r.coefficients[0].std_error, 0.003451113, 5e-10);
}

TEST(CoxTest, PooledWithSiteStrataEqualsTheSumOfTheSites) {
  auto frames = LoadSites("EXPAND_WITH_MISSING", 3);
  ASSERT_TRUE(frames.ok());
  const std::string formula = "Surv(START_R, END_R, cens) ~ age.60 + female + pm10.16";
  std::vector<CoxData> sites = Prepare(*frames, formula);
  std::vector<CoxData> pooled = Prepare({testing::Pool(*frames)}, formula + " + strata(site)");
  ASSERT_EQ(pooled[0].strata, 3u);
  for (CoxTies ties : {CoxTies::kEfron, CoxTies::kBreslow}) {
    CoxRequest req;
    req.beta = {0.04, -0.6, 0.5};
    req.ties = ties;
    auto whole = CoxLocalStep(pooled[0], req);
    ASSERT_TRUE(whole.ok());
    std::vector<double> sum(whole->size(), 0.0);
    for (const auto& d : sites) {
      auto part = CoxLocalStep(d, req);
      ASSERT_TRUE(part.ok());
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += (*part)[i];
    }
    for (size_t i = 0; i < sum.size(); ++i) {
      EXPECT_NEAR(sum[i], (*whole)[i], 1e-10 * std::max(1.0, std::fabs((*whole)[i]))) << i;
    }
  }
}

TEST(CoxTest, GradientAndInformationAreDerivativesOfTheLogLikelihood) {
  auto frames = LoadSites("EXPAND_WITH_MISSING", 1);
  ASSERT_TRUE(frames.ok());
  std::vector<CoxData> d = Prepare(*frames, "Surv(START_R, END_R, cens) ~ age.60 + pm10.16");
  for (CoxTies ties : {CoxTies::kEfron, CoxTies::kBreslow}) {
    CoxRequest req{{0.03, 0.4}, ties};
    auto at = CoxLocalStep(d[0], req);
    ASSERT_TRUE(at.ok());
    const double h = 1e-5;
    for (size_t j = 0; j < 2; ++j) {
      CoxRequest up = req, down = req;
      up.beta[j] += h;
      down.beta[j] -= h;
      auto lu = CoxLocalStep(d[0], up);
      auto ld = CoxLocalStep(d[0], down);
      ASSERT_TRUE(lu.ok() && ld.ok());
      const double numeric_grad = ((*lu)[cox_slot::kLogLik] - (*ld)[cox_slot::kLogLik]) / (2 * h);
      EXPECT_NEAR(numeric_grad, (*at)[cox_slot::kHeader + j], 1e-4 * std::fabs(numeric_grad));
      // Information row j: minus the derivative of the gradient.
      for (size_t k = 0; k < 2; ++k) {
        const double dg = -((*lu)[cox_slot::kHeader + k] - (*ld)[cox_slot::kHeader + k]) / (2 * h);
        const size_t lo = std::min(j, k), hi = std::max(j, k);
        const size_t packed = lo == 0 ? hi : 2;  // p = 2: (0,0) (0,1) (1,1)
        const double info = (*at)[cox_slot::kHeader + 4 + packed];
        EXPECT_NEAR(dg, info, 1e-4 * std::fabs(info));
      }
    }
  }
}

TEST(CoxTest, ReportsNonConvergence) {
  auto frames = LoadSites("EXPAND_NO_MISSING", 1);
  ASSERT_TRUE(frames.ok());
  std::vector<CoxData> d = Prepare(*frames, "Surv(starttime, endtime, cens) ~ age.60 + female");
  CoxOptions options;
  options.max_iterations = 1;
  auto r = FitCox({&d[0]}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->converged);
  EXPECT_EQ(r->iterations, 1);
  ASSERT_FALSE(r->warnings.empty());
  options.max_iterations = 20;
  auto full = FitCox({&d[0]}, options);
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(full->converged);
  // One Newton step from 0 is close to, not at, the optimum.
  EXPECT_NEAR(r->coefficients[0].estimate, full->coefficients[0].estimate,
              0.1 * std::fabs(full->coefficients[0].estimate));
  EXPECT_NE(r->coefficients[0].estimate, full->coefficients[0].estimate);
}

TEST(CoxTest, ErrorsAndDisclosure) {
  EXPECT_FALSE(CoxModelSpec("y ~ x").ok());
  DataFrame f;
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("t", {1, 2, 3, 4})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("e", {1, 2, 0, 1})).ok());
  ASSERT_TRUE(f.AddColumn(DataColumn::Numeric("x", {0.5, 1, 2, 3})).ok());
  auto spec = CoxModelSpec("Surv(t, e) ~ x");
  ASSERT_TRUE(spec.ok());
  auto schema = DescribeData(*spec, f);
  ASSERT_TRUE(schema.ok());
  auto layout = LayoutModel(*spec, *schema);
  ASSERT_TRUE(layout.ok());
  auto bad = BuildCoxData(*layout, f);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("0 (censored) or 1 (event)"), std::string::npos);

  auto frames = LoadSites("EXPAND_NO_MISSING", 1);
  ASSERT_TRUE(frames.ok());
  std::vector<CoxData> d = Prepare(*frames, "Surv(starttime, endtime, cens) ~ age.60");
  CoxDisclosureOptions ok;
  EXPECT_TRUE(CheckCoxDisclosure(d[0], ok).ok());
  CoxDisclosureOptions events = ok;
  events.min_events = 100000;
  EXPECT_EQ(CheckCoxDisclosure(d[0], events).code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace passerelle::stats
