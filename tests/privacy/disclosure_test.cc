// Output rules: small counts, rounding, tables with secondary suppression, subsets, categories,
// models, extremes.
#include <gtest/gtest.h>

#include "common/random.h"
#include "privacy/disclosure.h"
#include "table_attacker.h"

namespace passerelle::privacy {
namespace {

using testing::RecoverableEntries;

DisclosureOptions NoRounding(int64_t k = 7) {
  DisclosureOptions o;
  o.suppress_at_or_below = k;
  o.rounding_base = 1;
  return o;
}

size_t Withheld(const ProtectedTable& t) {
  size_t n = !t.total.value;
  for (const auto* v : {&t.cells, &t.row_totals, &t.col_totals}) {
    for (const auto& c : *v) n += !c.value;
  }
  return n;
}

TEST(Disclosure, CountsAtOrBelowKAreWithheldOthersRounded) {
  DisclosureOptions o;  // k = 7, base 5
  EXPECT_FALSE(ProtectCount(7, o).value);
  EXPECT_EQ(ProtectCount(7, o).status, CellStatus::kPrimary);
  EXPECT_FALSE(ProtectCount(1, o).value);
  EXPECT_FALSE(ProtectCount(0, o).value);
  EXPECT_EQ(ProtectCount(8, o).value, 10);
  EXPECT_EQ(ProtectCount(12, o).value, 10);
  EXPECT_EQ(ProtectCount(13, o).value, 15);
  o.suppress_zeros = false;
  EXPECT_EQ(ProtectCount(0, o).value, 0);
  EXPECT_EQ(RoundToBase(-13, 5), -15);
  EXPECT_EQ(RoundToBase(17, 1), 17);
}

TEST(Disclosure, OneSmallCellInATableForcesMoreWithholding) {
  // 2 x 3 table; the 3 would be recoverable from its row total without secondary suppression.
  std::vector<int64_t> cells{3, 40, 52, 60, 45, 70};
  auto t = ProtectTable(cells, 2, 3, NoRounding()).value();
  EXPECT_EQ(t.cells[0].status, CellStatus::kPrimary);
  EXPECT_TRUE(RecoverableEntries(t).empty());
  EXPECT_GE(Withheld(t), 4u);  // a cycle: at least two in row 0 and two in column 0
  // Large cells elsewhere are shown unchanged (no rounding here).
  EXPECT_EQ(t.cells[5].value, 70);
  EXPECT_EQ(t.total.value, 270);
}

TEST(Disclosure, NoSmallCellsNothingWithheldAndRoundingApplies) {
  std::vector<int64_t> cells{11, 22, 33, 44};
  DisclosureOptions o;
  auto t = ProtectTable(cells, 2, 2, o).value();
  EXPECT_EQ(Withheld(t), 0u);
  EXPECT_EQ(t.cells[0].value, 10);
  EXPECT_EQ(t.cells[1].value, 20);
  EXPECT_EQ(t.row_totals[0].value, 35);  // 33 rounded; margins are rounded on their own
  EXPECT_EQ(t.total.value, 110);
}

TEST(Disclosure, HistogramWithOneSmallBin) {
  std::vector<int64_t> counts{50, 3, 40};
  auto t = ProtectCounts(counts, NoRounding()).value();
  EXPECT_FALSE(t.cells[1].value);
  // Either another bin or the total goes, so 3 = total - 50 - 40 is impossible.
  const bool total_hidden = !t.total.value;
  const bool other_hidden = !t.cells[0].value || !t.cells[2].value;
  EXPECT_TRUE(total_hidden || other_hidden);
  EXPECT_TRUE(RecoverableEntries(t).empty());
}

TEST(Disclosure, TwoPerLineIsNotEnoughAndTheBridgeRuleCatchesIt) {
  // Two 2x2 blocks of small cells joined by one small cell at (1, 2): every line holds two
  // withheld cells, yet (1, 2) = (rows 0-1 totals - visible) - (cols 0-1 totals - visible).
  std::vector<int64_t> cells{
      2,  3,  50, 60,  //
      4,  5,  6,  70,  //
      80, 90, 2,  3,   //
      85, 95, 4,  5,
  };
  // The attacker wins against primary suppression alone (shows the attacker is not toothless).
  ProtectedTable primary_only;
  primary_only.rows = primary_only.cols = 4;
  for (int64_t c : cells) {
    primary_only.cells.push_back(c <= 7 ? ProtectedCell{} : ProtectedCell{c, CellStatus::kShown});
  }
  int64_t total = 0;
  for (size_t i = 0; i < 4; ++i) {
    int64_t r = 0, col = 0;
    for (size_t j = 0; j < 4; ++j) {
      r += cells[i * 4 + j];
      col += cells[j * 4 + i];
    }
    primary_only.row_totals.push_back({r, CellStatus::kShown});
    primary_only.col_totals.push_back({col, CellStatus::kShown});
    total += r;
  }
  primary_only.total = {total, CellStatus::kShown};
  auto leaks = RecoverableEntries(primary_only);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0], (std::pair<size_t, size_t>{1, 2}));

  auto t = ProtectTable(cells, 4, 4, NoRounding()).value();
  EXPECT_TRUE(RecoverableEntries(t).empty());
  size_t secondary = 0;
  for (const auto& c : t.cells) secondary += c.status == CellStatus::kSecondary;
  EXPECT_GE(secondary, 1u);
}

TEST(Disclosure, RandomTablesNeverLeakAWithheldEntry) {
  Xoshiro256 g(2024);
  int tables_with_suppression = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const size_t rows = 1 + g.Below(6), cols = 1 + g.Below(6);
    std::vector<int64_t> cells(rows * cols);
    for (auto& c : cells)
      c = g.Below(4) == 0 ? static_cast<int64_t>(g.Below(8))
                          : 8 + static_cast<int64_t>(g.Below(200));
    auto t = ProtectTable(cells, rows, cols, NoRounding());
    ASSERT_TRUE(t.ok());
    auto leaks = RecoverableEntries(*t);
    EXPECT_TRUE(leaks.empty()) << "trial " << trial << ": " << rows << "x" << cols << " leaks ("
                               << leaks[0].first << "," << leaks[0].second << ")";
    tables_with_suppression += Withheld(*t) > 0;
    // Shown cells are exactly the counts (no rounding), and are all above k.
    for (size_t i = 0; i < cells.size(); ++i) {
      if (t->cells[i].value) {
        EXPECT_EQ(*t->cells[i].value, cells[i]);
        EXPECT_GT(cells[i], 7);
      }
    }
  }
  EXPECT_GT(tables_with_suppression, 200);
}

TEST(Disclosure, TableInputIsValidated) {
  std::vector<int64_t> cells{1, 2, 3};
  EXPECT_FALSE(ProtectTable(cells, 2, 2, {}).ok());
  std::vector<int64_t> neg{1, -2};
  EXPECT_FALSE(ProtectTable(neg, 1, 2, {}).ok());
  DisclosureOptions bad;
  bad.rounding_base = 0;
  EXPECT_FALSE(ProtectTable(cells, 1, 3, bad).ok());
}

TEST(Disclosure, SubsetsCategoriesModelsAndExtremes) {
  DisclosureOptions o;  // min subset 10, k 7, 50 categories, 33% parameters
  EXPECT_EQ(CheckSubsetSize(9, o).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckSubsetSize(9, o).message().find("9"), std::string::npos);  // size not revealed
  EXPECT_TRUE(CheckSubsetSize(10, o).ok());
  std::vector<int64_t> levels{120, 5, 300};
  EXPECT_EQ(CheckCategories(levels, o).code(), StatusCode::kPermissionDenied);
  std::vector<int64_t> ok_levels{120, 0, 300};
  EXPECT_TRUE(CheckCategories(ok_levels, o).ok());
  std::vector<int64_t> many(51, 100);
  EXPECT_FALSE(CheckCategories(many, o).ok());
  EXPECT_TRUE(CheckModelNotSaturated(100, 33, o).ok());
  EXPECT_EQ(CheckModelNotSaturated(100, 34, o).code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(CheckModelNotSaturated(5, 1, o).ok());
  std::vector<int64_t> ones{100, 50, 3};
  EXPECT_EQ(CheckIndicatorColumns(ones, 100, o).code(), StatusCode::kPermissionDenied);
  std::vector<int64_t> ones_ok{100, 50, 92};
  EXPECT_TRUE(CheckIndicatorColumns(ones_ok, 100, o).ok());
  std::vector<int64_t> almost_all{100, 95};  // 5 zeros single out five persons
  EXPECT_FALSE(CheckIndicatorColumns(almost_all, 100, o).ok());
  EXPECT_EQ(CheckStatisticAllowed(Statistic::kMax).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckStatisticAllowed(Statistic::kMin).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckStatisticAllowed(Statistic::kMean).ok());
}

}  // namespace
}  // namespace passerelle::privacy
