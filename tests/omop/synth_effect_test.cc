// The planted effects are recovered from the generated CDM by the analyses that
// docs/synthetic-data.md describes, rebuilt here in SQL and fitted with a small IRLS (Eigen).
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "omop/synth/synth.h"
#include "omop/synth/truth.h"
#include "store/data_source.h"
#include "synth_test_util.h"

namespace passerelle::omop::synth {
namespace {

using testing::Generated;

// Persons per jurisdiction; both are pooled, as a federated analysis would pool the sites.
constexpr int64_t kPersons = 60000;
constexpr uint64_t kSeed = 7;
// Each coefficient must lie within its 99% Wald interval (several are checked at once).
constexpr double kZ = 2.576;

struct Fit {
  Eigen::VectorXd beta;
  Eigen::VectorXd se;
  int iterations = 0;
};

enum class Family { kBinomial, kPoisson };

// Iteratively reweighted least squares for a logistic (binomial, logit link) or Poisson (log link
// with an offset) GLM; standard errors from the inverse Fisher information, as R's glm reports.
Fit Irls(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, Family family,
         const Eigen::VectorXd* offset = nullptr) {
  const Eigen::Index n = x.rows(), p = x.cols();
  Fit f;
  f.beta = Eigen::VectorXd::Zero(p);
  Eigen::MatrixXd info(p, p);
  for (f.iterations = 1; f.iterations <= 50; ++f.iterations) {
    Eigen::VectorXd eta = x * f.beta;
    if (offset != nullptr) eta += *offset;
    Eigen::VectorXd mu(n), w(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (family == Family::kBinomial) {
        mu[i] = 1 / (1 + std::exp(-eta[i]));
        w[i] = mu[i] * (1 - mu[i]);
      } else {
        mu[i] = std::exp(eta[i]);
        w[i] = mu[i];
      }
    }
    info = x.transpose() * w.asDiagonal() * x;
    Eigen::VectorXd step = info.ldlt().solve(x.transpose() * (y - mu));
    f.beta += step;
    if (step.cwiseAbs().maxCoeff() < 1e-10) break;
  }
  f.se = info.inverse().diagonal().cwiseSqrt();
  return f;
}

// Rows of a query as doubles (NULL as NaN).
std::vector<std::vector<double>> Rows(store::DataSource& db, const std::string& sql) {
  auto c = store::QueryAll(db, sql);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::vector<double>> rows;
  if (!c.ok()) return rows;
  for (size_t r = 0; r < c->size(); ++r) {
    std::vector<double> row;
    for (const auto& col : c->columns) {
      if (col.IsNull(r)) {
        row.push_back(std::nan(""));
      } else if (col.type == store::ColumnType::kDouble) {
        row.push_back(col.doubles[r]);
      } else {
        row.push_back(static_cast<double>(col.ints[r]));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Effect (1)'s analysis table, as docs/synthetic-data.md describes it: age, female, hba1c, ckd,
// sglt2, hhf for the T2D cohort at the index date.
const char* kHhfSql = R"sql(
WITH idx AS (SELECT DATE '2022-01-01' AS d, 2022 AS y),
t2d AS (SELECT person_id, min(condition_start_date) AS first_date FROM condition_occurrence
        WHERE condition_concept_id = 201826 GROUP BY person_id),
cohort AS (
  SELECT p.person_id, idx.y - p.year_of_birth AS age,
         CASE WHEN p.gender_concept_id = 8532 THEN 1 ELSE 0 END AS female
  FROM person p JOIN t2d USING (person_id) JOIN observation_period o USING (person_id), idx
  WHERE t2d.first_date < idx.d - 90 AND idx.y - p.year_of_birth >= 18
    AND o.observation_period_start_date <= idx.d - 365
    AND o.observation_period_end_date >= idx.d + 365),
hba1c AS (SELECT person_id, arg_max(value_as_number, measurement_date) AS v
          FROM measurement, idx
          WHERE measurement_concept_id = 3004410 AND measurement_date < idx.d
          GROUP BY person_id),
ckd AS (SELECT DISTINCT person_id FROM condition_occurrence c, idx
        WHERE c.condition_start_date < idx.d AND c.condition_concept_id IN
          (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 46271022)),
sglt2 AS (SELECT DISTINCT person_id FROM drug_exposure e, idx
          WHERE e.drug_exposure_start_date <= idx.d AND e.drug_exposure_end_date >= idx.d
            AND e.drug_concept_id IN (SELECT a.descendant_concept_id FROM concept_ancestor a
              JOIN concept c ON c.concept_id = a.ancestor_concept_id
              WHERE c.vocabulary_id = 'ATC' AND c.concept_code = 'A10BK')),
hhf AS (SELECT DISTINCT c.person_id FROM condition_occurrence c
        JOIN visit_occurrence v USING (visit_occurrence_id), idx
        WHERE v.visit_concept_id = 9201 AND c.condition_status_concept_id = 32902
          AND v.visit_start_date BETWEEN idx.d + 1 AND idx.d + 365
          AND c.condition_concept_id IN
            (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = 316139))
SELECT c.age, c.female, h.v AS hba1c,
       CASE WHEN ckd.person_id IS NULL THEN 0 ELSE 1 END AS ckd,
       CASE WHEN s.person_id IS NULL THEN 0 ELSE 1 END AS sglt2,
       CASE WHEN hhf.person_id IS NULL THEN 0 ELSE 1 END AS hhf
FROM cohort c LEFT JOIN hba1c h USING (person_id) LEFT JOIN ckd USING (person_id)
  LEFT JOIN sglt2 s USING (person_id) LEFT JOIN hhf USING (person_id)
)sql";

// Effect (2)'s analysis table: covariates at entry (observation start + 180 days), days of
// follow-up to the first MACE or the end of observation, and the event.
const char* kMaceSql = R"sql(
WITH e AS (SELECT p.person_id, o.observation_period_start_date + 180 AS entry,
                  o.observation_period_end_date AS stop, p.year_of_birth, p.gender_concept_id
           FROM person p JOIN observation_period o USING (person_id)),
cohort AS (SELECT * FROM e WHERE stop > entry AND year(entry) - year_of_birth >= 18),
first_dx AS (SELECT c.person_id, min(c.condition_start_date) AS d FROM condition_occurrence c
             WHERE c.condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                              WHERE ancestor_concept_id = 316866)
             GROUP BY c.person_id),
t2d AS (SELECT person_id, min(condition_start_date) AS d FROM condition_occurrence
        WHERE condition_concept_id = 201826 GROUP BY person_id),
statin AS (SELECT DISTINCT e.person_id FROM drug_exposure d JOIN cohort e USING (person_id)
           WHERE d.drug_exposure_start_date <= e.entry AND d.drug_exposure_end_date >= e.entry
             AND d.drug_concept_id IN (SELECT a.descendant_concept_id FROM concept_ancestor a
               JOIN concept c ON c.concept_id = a.ancestor_concept_id
               WHERE c.vocabulary_id = 'ATC' AND c.concept_code = 'C10AA')),
mace AS (SELECT c.person_id, min(v.visit_start_date) AS d FROM condition_occurrence c
         JOIN visit_occurrence v USING (visit_occurrence_id)
         WHERE v.visit_concept_id = 9201 AND c.condition_status_concept_id = 32902
           AND c.condition_concept_id IN (312327, 443454)
         GROUP BY c.person_id)
SELECT year(k.entry) - k.year_of_birth AS age,
       CASE WHEN k.gender_concept_id = 8507 THEN 1 ELSE 0 END AS male,
       CASE WHEN t.d <= k.entry THEN 1 ELSE 0 END AS t2d,
       CASE WHEN h.d <= k.entry THEN 1 ELSE 0 END AS htn,
       CASE WHEN s.person_id IS NULL THEN 0 ELSE 1 END AS statin,
       CASE WHEN m.d IS NULL THEN k.stop - k.entry ELSE m.d - k.entry END AS days,
       CASE WHEN m.d IS NULL THEN 0 ELSE 1 END AS event,
       CASE WHEN m.d <= k.entry THEN 1 ELSE 0 END AS before_entry
FROM cohort k LEFT JOIN t2d t USING (person_id) LEFT JOIN first_dx h USING (person_id)
  LEFT JOIN statin s USING (person_id) LEFT JOIN mace m USING (person_id)
)sql";

std::vector<std::vector<double>> Pooled(const std::string& sql) {
  std::vector<std::vector<double>> rows;
  for (Profile p : {Profile::kFrance, Profile::kQuebec}) {
    auto r = Rows(Generated(p, kPersons, kSeed), sql);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  return rows;
}

void ExpectWithin(const Fit& f, const std::vector<double>& truth,
                  const std::vector<std::string>& names) {
  for (size_t j = 0; j < truth.size(); ++j) {
    std::printf("  %-14s truth %+.3f estimate %+.3f se %.3f\n", names[j].c_str(), truth[j],
                f.beta[j], f.se[j]);
    EXPECT_NEAR(f.beta[j], truth[j], kZ * f.se[j])
        << names[j] << ": estimate " << f.beta[j] << " (se " << f.se[j] << "), truth " << truth[j];
  }
}

// (1) Pooled logistic regression of one-year HHF recovers the planted coefficients.
void CheckHeartFailureRisk() {
  auto rows = Pooled(kHhfSql);
  ASSERT_GT(rows.size(), 2500u);
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd x(n, 6);
  Eigen::VectorXd y(n);
  int events = 0, treated = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& r = rows[i];
    ASSERT_FALSE(std::isnan(r[2])) << "every cohort member has an HbA1c before the index date";
    x.row(i) << 1, (r[0] - 65) / 10, r[1], r[2] - 7, r[3], r[4];
    y[i] = r[5];
    events += static_cast<int>(r[5]);
    treated += static_cast<int>(r[4]);
  }
  // The SQL rebuilds exactly the generator's cohort and events.
  SynthReport fr, qc;
  Generated(Profile::kFrance, kPersons, kSeed, &fr);
  Generated(Profile::kQuebec, kPersons, kSeed, &qc);
  EXPECT_EQ(n, fr.hhf_cohort + qc.hhf_cohort);
  EXPECT_EQ(events, fr.hhf_events + qc.hhf_events);
  EXPECT_EQ(treated, fr.hhf_sglt2 + qc.hhf_sglt2);
  EXPECT_GT(events, 100);
  EXPECT_GT(treated, 300);
  std::printf("  (1) %lld persons, %d events, %d on an SGLT2 inhibitor\n",
              static_cast<long long>(n), events, treated);
  Fit f = Irls(x, y, Family::kBinomial);
  using H = truth::Hhf;
  ExpectWithin(f,
               {H::kIntercept, H::kAgePerDecade, H::kFemale, H::kHba1cPerPoint, H::kCkd, H::kSglt2},
               {"intercept", "age", "female", "hba1c", "ckd", "sglt2"});
  // The interval is informative: SGLT2 inhibitors are protective beyond doubt.
  EXPECT_LT(f.beta[5] + kZ * f.se[5], 0);
}

// (3) Who is treated depends on age and CKD as planted, and the naive odds ratio is biased
// towards harm relative to the adjusted one.
void CheckConfoundedAssignment() {
  auto rows = Pooled(kHhfSql);
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd ps_x(n, 3), naive_x(n, 2), adjusted_x(n, 3);
  Eigen::VectorXd treated(n), hhf(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& r = rows[i];
    const double age = (r[0] - 65) / 10;
    ps_x.row(i) << 1, age, r[3];
    treated[i] = r[4];
    hhf[i] = r[5];
    naive_x.row(i) << 1, r[4];
  }
  Fit ps = Irls(ps_x, treated, Family::kBinomial);
  using A = truth::Sglt2Assignment;
  ExpectWithin(ps, {A::kIntercept, A::kAgePerDecade, A::kCkd}, {"intercept", "age", "ckd"});
  // Adjust through the propensity score (its logit as a covariate).
  for (Eigen::Index i = 0; i < n; ++i) {
    adjusted_x.row(i) << 1, rows[i][4], ps_x.row(i).dot(ps.beta);
  }
  Fit naive = Irls(naive_x, hhf, Family::kBinomial);
  Fit adjusted = Irls(adjusted_x, hhf, Family::kBinomial);
  std::printf("  naive log OR %+.3f, PS-adjusted %+.3f\n", naive.beta[1], adjusted.beta[1]);
  EXPECT_GT(naive.beta[1], adjusted.beta[1]);
  EXPECT_GT(naive.beta[1] - adjusted.beta[1], 0.1);
}

// (2) Time to first MACE: an exponential proportional-hazards model (Poisson GLM with the log
// of follow-up time as offset) recovers the planted hazard ratios, statin's included.
void CheckMaceHazards() {
  auto rows = Pooled(kMaceSql);
  ASSERT_GT(rows.size(), 50000u);
  std::vector<const std::vector<double>*> kept;
  for (const auto& r : rows) {
    EXPECT_EQ(r[7], 0) << "no MACE is recorded before entry";
    if (r[5] > 0) kept.push_back(&r);
  }
  const Eigen::Index n = static_cast<Eigen::Index>(kept.size());
  Eigen::MatrixXd x(n, 6);
  Eigen::VectorXd y(n), offset(n);
  int events = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& r = *kept[i];
    x.row(i) << 1, (r[0] - 60) / 10, r[1], r[2], r[3], r[4];
    y[i] = r[6];
    offset[i] = std::log(r[5] / 365.25);
    events += static_cast<int>(r[6]);
  }
  EXPECT_GT(events, 1000);
  std::printf("  (2) %lld persons, %d first events\n", static_cast<long long>(n), events);
  Fit f = Irls(x, y, Family::kPoisson, &offset);
  using M = truth::Mace;
  ExpectWithin(
      f, {std::log(M::kBaseRatePerYear), M::kAgePerDecade, M::kMale, M::kT2d, M::kHtn, M::kStatin},
      {"log base rate", "age", "male", "t2d", "htn", "statin"});
}

// One test case, so that ctest (one process per case) generates the populations once.
TEST(SynthEffectTest, PlantedEffectsAreRecoveredFromThePooledCdms) {
  {
    SCOPED_TRACE("(1) heart-failure hospitalisation, pooled logistic regression");
    CheckHeartFailureRisk();
  }
  {
    SCOPED_TRACE("(3) confounded SGLT2 assignment");
    CheckConfoundedAssignment();
  }
  {
    SCOPED_TRACE("(2) time to first MACE, exponential proportional hazards");
    CheckMaceHazards();
  }
}

}  // namespace
}  // namespace passerelle::omop::synth
