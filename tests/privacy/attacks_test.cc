// The attack suite: each test is written as a researcher would try to learn about one person
// from what a node releases, and each attack must fail against the privacy layer's functions.
// Attacks that need the running federation (a saturated GLM fitted end to end, differencing
// through the hub's study API) are listed in docs/privacy.md; their building blocks are here.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "common/files.h"
#include "common/random.h"
#include "privacy/accountant.h"
#include "privacy/differencing.h"
#include "privacy/disclosure.h"
#include "privacy/dp.h"
#include "privacy/dp_sampler.h"
#include "privacy/fixed_point.h"
#include "privacy/sqlite_state.h"
#include "table_attacker.h"

namespace passerelle::privacy {
namespace {

DisclosureOptions Policy() {
  DisclosureOptions o;
  o.suppress_at_or_below = 7;
  o.rounding_base = 1;  // the attacker gets exact numbers: suppression alone must hold
  return o;
}

// --- Small-cell extraction -----------------------------------------------------------------

TEST(Attack, SmallCellThroughATableAndItsMargins) {
  // "How many women over 90 in commune X have the rare disease?" The researcher asks for
  // disease x age-band by commune, hoping the 1 shows, or can be computed from the margins.
  std::vector<int64_t> cells{
      120, 95, 60, 1,   // commune X: the 1 is the target
      130, 88, 70, 14,  //
      110, 99, 65, 12,
  };
  auto t = ProtectTable(cells, 3, 4, Policy()).value();
  EXPECT_FALSE(t.cells[3].value.has_value());
  EXPECT_TRUE(testing::RecoverableEntries(t).empty());
  // The naive subtraction the researcher tries: row total minus the visible cells.
  if (t.row_totals[0].value) {
    int64_t visible = 0;
    int hidden = 0;
    for (size_t j = 0; j < 4; ++j) {
      if (t.cells[j].value)
        visible += *t.cells[j].value;
      else
        ++hidden;
    }
    EXPECT_GE(hidden, 2) << "row 0 would give the cell away: " << *t.row_totals[0].value - visible;
  }
}

TEST(Attack, SmallCellThroughTheMeanOfAOneRowSubgroup) {
  // "Mean age of patients with diagnosis D in commune X" when exactly one patient matches: the
  // mean is that person's age. The subset check refuses before any statistic is computed.
  DisclosureOptions o = Policy();
  EXPECT_EQ(CheckSubsetSize(1, o).code(), StatusCode::kPermissionDenied);
  // Padding the subgroup with a few others does not help below the minimum either.
  for (int64_t n = 1; n < o.min_subset_rows; ++n) EXPECT_FALSE(CheckSubsetSize(n, o).ok());
  // And the count of that subgroup in a table is withheld.
  EXPECT_FALSE(ProtectCount(1, o).value.has_value());
}

// --- Differencing ------------------------------------------------------------------------

TEST(Attack, DifferencingWithTwoNearlyIdenticalCohorts) {
  // Study 1: all diabetics (mean HbA1c). Study 2: diabetics born before 1990-03-02, i.e. all
  // but the neighbour the researcher knows. The difference of the two sums is her value.
  auto dir = TempDir::Create().value();
  auto state = SqlitePrivacyState::Open(dir.path() / "node.db").value();
  DifferencingGuard guard(*state, {.min_rows = 10});
  crypto::Bytes32 node_secret{};
  node_secret.fill(0x42);
  const uint32_t cells = PopulationFingerprint::DefaultCells(10);
  std::vector<int64_t> diabetics(480);
  std::iota(diabetics.begin(), diabetics.end(), 7000);
  auto fp = [&](const std::vector<int64_t>& ids) {
    return PopulationFingerprint::Build(node_secret, ids, cells).value();
  };
  ASSERT_TRUE(guard.CheckAndRecord("qc-chum", "P7", "study-1", fp(diabetics), 1).ok());

  std::vector<int64_t> all_but_target(diabetics.begin() + 1, diabetics.end());
  EXPECT_EQ(guard.CheckAndRecord("qc-chum", "P7", "study-2", fp(all_but_target), 2).code(),
            StatusCode::kPermissionDenied);
  // The researcher hides the difference among a few decoys: still fewer than min_rows.
  std::vector<int64_t> with_decoys = all_but_target;
  for (int64_t d = 0; d < 5; ++d) with_decoys.push_back(90000 + d);
  EXPECT_EQ(guard.CheckAndRecord("qc-chum", "P7", "study-3", fp(with_decoys), 3).code(),
            StatusCode::kPermissionDenied);
  // Or drops the target and adds one other person (same size, two persons apart).
  std::vector<int64_t> swapped = all_but_target;
  swapped.push_back(90100);
  EXPECT_EQ(guard.CheckAndRecord("qc-chum", "P7", "study-4", fp(swapped), 4).code(),
            StatusCode::kPermissionDenied);
}

// --- Averaging repeated noisy releases ------------------------------------------------------

TEST(Attack, AveragingRepeatedNoisyReleasesIsStoppedByTheBudget) {
  // The researcher asks for the same noisy count again and again and averages the answers.
  const double budget = 0.5, rho_per_release = 0.01;  // node policy and study setting
  const double sigma2 = 1.0 / (2 * rho_per_release);  // Delta = 1: rho = 1/(2 sigma^2)
  auto sampler = DiscreteGaussianSampler::Create(RationalAtLeast(sigma2).value()).value();
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "node.db";
  const int64_t true_count = 37;
  DeterministicRandom noise(99);
  std::vector<int64_t> answers;
  auto ask = [&](PrivacyLedger& ledger, int i) -> bool {
    ChargeRequest r{"fr-chu",
                    "P3",
                    "count-again-" + std::to_string(i),
                    GaussianRho(1, sampler.sigma2().ToDouble()),
                    budget,
                    "count",
                    i};
    if (!ledger.Charge(r).ok()) return false;
    answers.push_back(true_count + sampler.Sample(noise));
    return true;
  };
  {
    auto ledger = SqlitePrivacyState::Open(path).value();
    int i = 0;
    while (i < 1000 && ask(*ledger, i)) ++i;
    EXPECT_EQ(i, 50);  // 50 * 0.01 = 0.5
  }
  {
    auto ledger = SqlitePrivacyState::Open(path).value();  // the node restarts: no reset
    EXPECT_FALSE(ask(*ledger, 5000));
  }
  // The best the attacker has is the mean of 50 answers: its standard error is
  // sqrt(sigma2 / 50) = 1 person, so "37 or 38?" stays a guess. Over many simulated attackers
  // the error of that mean is indeed about 1.
  double sq = 0;
  const int attackers = 2000;
  for (int a = 0; a < attackers; ++a) {
    long double s = 0;
    for (int k = 0; k < 50; ++k) s += sampler.Sample(noise);
    const double err = static_cast<double>(s / 50);
    sq += err * err;
  }
  EXPECT_GT(std::sqrt(sq / attackers), 0.9);
  EXPECT_EQ(answers.size(), 50u);
}

// --- Extreme values -------------------------------------------------------------------------

TEST(Attack, ExtremeValuesThroughMinAndMax) {
  // "What is the maximum income in the cohort?" is one person's income.
  EXPECT_EQ(CheckStatisticAllowed(Statistic::kMax).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckStatisticAllowed(Statistic::kMin).code(), StatusCode::kPermissionDenied);
}

TEST(Attack, ExtremeValueThroughASumIsClippedToTheDeclaredBounds) {
  // The researcher knows one patient has a length of stay of 4000 days and asks for the sum,
  // with and without that patient, to read it off. The study declares [0, 365].
  std::vector<double> stays{3, 10, 7, 2, 30, 4000};
  std::vector<double> without(stays.begin(), stays.end() - 1);
  ClipInPlace(stays, 0, 365);
  ClipInPlace(without, 0, 365);
  const double with_sum = std::accumulate(stays.begin(), stays.end(), 0.0);
  const double without_sum = std::accumulate(without.begin(), without.end(), 0.0);
  EXPECT_LE(with_sum - without_sum, 365.0);            // at most the bound, whatever the true value
  EXPECT_EQ(LatticeSensitivity(365, 1).value(), 365);  // and the noise is scaled to that bound
  // A value past the secure-aggregation encoding bound is refused, without echoing it.
  auto codec = FixedPointCodec::Create({.fractional_bits = 16, .max_abs = 1e6, .max_nodes = 8});
  auto bad = codec->EncodeOne(4.2e9);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("4.2"), std::string::npos);
}

// --- Saturated models (library part) --------------------------------------------------------

TEST(Attack, SaturatedModelBuildingBlocks) {
  // A GLM with one dummy per patient reproduces each outcome; one with a dummy for a 2-person
  // group describes those two. Both are refused before any round runs. (End to end through the
  // analysis registry: see docs/privacy.md, "remaining attacks".)
  DisclosureOptions o = Policy();
  EXPECT_FALSE(CheckModelNotSaturated(40, 40, o).ok());
  EXPECT_FALSE(CheckModelNotSaturated(40, 14, o).ok());
  EXPECT_TRUE(CheckModelNotSaturated(40, 13, o).ok());
  std::vector<int64_t> ones{40, 20, 2};  // intercept, sex, a rare-condition dummy
  EXPECT_FALSE(CheckIndicatorColumns(ones, 40, o).ok());
}

}  // namespace
}  // namespace passerelle::privacy
