// Output rules (statistical disclosure control) as pure functions: what a node checks on a
// statistic before it leaves, whether or not differential privacy is also applied.
//
//  - Small counts: a count at or below k (`suppress_at_or_below`, node policy, e.g. 7) is
//    withheld; shown counts are rounded to a base (e.g. 5).
//  - Tables: secondary suppression so that no withheld entry can be recovered exactly from the
//    other entries and the margins. The rule, on the table extended by its row totals, column
//    totals and grand total (each line of which adds up to its margin): a withheld entry is
//    exactly recoverable from the published ones if and only if it is a bridge of the bipartite
//    graph whose vertices are the lines and whose edges are the withheld entries (the cycle
//    space of that graph is the null space of the margin equations). ProtectTable therefore
//    withholds further entries, smallest first, until (1) no line has exactly one withheld
//    entry and (2) no withheld entry is a bridge, i.e. every withheld entry lies on a cycle of
//    withheld entries. Rule (1) alone (the usual "two per line") is not enough: two 2x2 blocks
//    joined by one withheld cell satisfy it and that cell is recoverable.
//    Residual risk (documented, not handled): interval bounds on withheld cells, and
//    differencing across several overlapping tables (the differencing guard and DP cover those).
//  - Minimum subset size: no statistic on fewer than `min_subset_rows` rows (the mean of a
//    one-row subgroup is that person's value).
//  - Categories: at most `max_categories` levels, each with more than k rows.
//  - Models: no saturated model (parameters at most `max_parameter_fraction` of the rows, after
//    DataSHIELD's nfilter.glm) and no indicator column that singles out a small group.
//  - Extremes: min and max are refused (each is one person's value); use clipped, noisy sums.
//
// Messages never contain a count that was withheld or the size of a refused subset.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::privacy {

struct DisclosureOptions {
  // Counts c with c <= k are withheld (node policy; a study may raise it, never lower it).
  int64_t suppress_at_or_below = 7;
  // Also withhold zero counts (a zero beside a small margin is disclosive). Off only for
  // structural zeros the study declares.
  bool suppress_zeros = true;
  // Shown counts are rounded to the nearest multiple of this (ties up); 1 = no rounding.
  int64_t rounding_base = 5;
  // Fewest rows any statistic may be computed on.
  int64_t min_subset_rows = 10;
  // Most levels a categorical variable may have in a table or a model.
  int64_t max_categories = 50;
  // Largest number of model parameters as a fraction of the rows (DataSHIELD nfilter.glm).
  double max_parameter_fraction = 0.33;
};

Status ValidateDisclosureOptions(const DisclosureOptions& options);

enum class CellStatus : uint8_t { kShown = 0, kPrimary = 1, kSecondary = 2 };

struct ProtectedCell {
  std::optional<int64_t> value;  // rounded; empty when withheld
  CellStatus status = CellStatus::kShown;
};

// Nearest multiple of `base` (ties away from zero). REQUIRES: base >= 1.
int64_t RoundToBase(int64_t value, int64_t base);
// A single count: withheld at or below k, else rounded.
ProtectedCell ProtectCount(int64_t count, const DisclosureOptions& options);

struct ProtectedTable {
  size_t rows = 0, cols = 0;
  std::vector<ProtectedCell> cells;       // row-major, rows * cols
  std::vector<ProtectedCell> row_totals;  // rows
  std::vector<ProtectedCell> col_totals;  // cols
  ProtectedCell total;
};

// Protects a rows x cols table of non-negative counts (row-major) with its margins.
Result<ProtectedTable> ProtectTable(std::span<const int64_t> cells, size_t rows, size_t cols,
                                    const DisclosureOptions& options);
// A one-way table (histogram) and its total: ProtectTable with one row.
Result<ProtectedTable> ProtectCounts(std::span<const int64_t> counts,
                                     const DisclosureOptions& options);

// Refuses (kPermissionDenied) a statistic on fewer than min_subset_rows rows.
Status CheckSubsetSize(int64_t rows, const DisclosureOptions& options);
// Refuses more than max_categories levels, or a non-empty level with at most k rows.
Status CheckCategories(std::span<const int64_t> level_counts, const DisclosureOptions& options);
// Refuses a model with more than max_parameter_fraction * rows parameters (or rows below the
// minimum subset).
Status CheckModelNotSaturated(int64_t rows, int64_t parameters, const DisclosureOptions& options);
// Refuses a 0/1 column of a design matrix with at most k ones or at most k zeros: its coefficient
// would describe those few rows. `ones[j]` is the number of rows where column j is 1.
Status CheckIndicatorColumns(std::span<const int64_t> ones, int64_t rows,
                             const DisclosureOptions& options);

enum class Statistic { kCount, kSum, kMean, kVariance, kQuantile, kMin, kMax };
// Refuses the statistics that release one person's value (min, max).
Status CheckStatisticAllowed(Statistic statistic);

}  // namespace passerelle::privacy
