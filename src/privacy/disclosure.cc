#include "privacy/disclosure.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <tuple>

namespace passerelle::privacy {

Status ValidateDisclosureOptions(const DisclosureOptions& o) {
  if (o.suppress_at_or_below < 0 || o.rounding_base < 1 || o.min_subset_rows < 1 ||
      o.max_categories < 1 || !(o.max_parameter_fraction > 0) || o.max_parameter_fraction > 1) {
    return Status::InvalidArgument(
        "disclosure options: thresholds must be >= 0, rounding base, minimum subset and "
        "category limit >= 1, parameter fraction in (0, 1]");
  }
  return Status::Ok();
}

int64_t RoundToBase(int64_t value, int64_t base) {
  if (base <= 1) return value;
  const int64_t mag = value < 0 ? -value : value;
  const int64_t r = (mag + base / 2) / base * base;
  return value < 0 ? -r : r;
}

namespace {
bool Withheld(int64_t c, const DisclosureOptions& o) {
  if (c == 0) return o.suppress_zeros;
  return c <= o.suppress_at_or_below;
}
}  // namespace

ProtectedCell ProtectCount(int64_t count, const DisclosureOptions& o) {
  if (Withheld(count, o)) return {std::nullopt, CellStatus::kPrimary};
  return {RoundToBase(count, o.rounding_base), CellStatus::kShown};
}

namespace {

// The table extended by its margins: (R+1) x (C+1) entries; line vertices are the R+1 extended
// rows (ids 0..R) and the C+1 extended columns (ids R+1..R+C+1); entry (i, j) joins row i and
// column j.
class Extended {
 public:
  Extended(std::span<const int64_t> cells, size_t rows, size_t cols)
      : R_(rows), C_(cols), value_((rows + 1) * (cols + 1), 0), status_(value_.size()) {
    for (size_t i = 0; i < rows; ++i) {
      for (size_t j = 0; j < cols; ++j) {
        const int64_t v = cells[i * cols + j];
        At(i, j) = v;
        At(i, cols) += v;
        At(rows, j) += v;
        At(rows, cols) += v;
      }
    }
  }
  size_t R() const { return R_; }
  size_t C() const { return C_; }
  int64_t& At(size_t i, size_t j) { return value_[i * (C_ + 1) + j]; }
  CellStatus& StatusAt(size_t i, size_t j) { return status_[i * (C_ + 1) + j]; }
  bool Hidden(size_t i, size_t j) { return StatusAt(i, j) != CellStatus::kShown; }

  // Withheld entries in extended row i / column j.
  size_t HiddenInRow(size_t i) {
    size_t n = 0;
    for (size_t j = 0; j <= C_; ++j) n += Hidden(i, j);
    return n;
  }
  size_t HiddenInCol(size_t j) {
    size_t n = 0;
    for (size_t i = 0; i <= R_; ++i) n += Hidden(i, j);
    return n;
  }

  // Rule (1): a line with exactly one withheld entry gets a second one. Prefer an entry whose
  // crossing line also has exactly one (fixes both), then one whose crossing line already has
  // two or more (creates no new single), then the smallest value, then inner cells.
  bool FixSingleLine() {
    for (size_t i = 0; i <= R_; ++i) {
      if (HiddenInRow(i) == 1) {
        std::vector<std::pair<size_t, size_t>> cand;
        for (size_t j = 0; j <= C_; ++j) {
          if (!Hidden(i, j)) cand.emplace_back(i, j);
        }
        Hide(Best(cand, /*crossing_is_col=*/true));
        return true;
      }
    }
    for (size_t j = 0; j <= C_; ++j) {
      if (HiddenInCol(j) == 1) {
        std::vector<std::pair<size_t, size_t>> cand;
        for (size_t i = 0; i <= R_; ++i) {
          if (!Hidden(i, j)) cand.emplace_back(i, j);
        }
        Hide(Best(cand, /*crossing_is_col=*/false));
        return true;
      }
    }
    return false;
  }

  // Rule (2): a withheld entry that is a bridge gets a cycle through it, by withholding the
  // smallest entry joining the two sides the bridge separates.
  // With fix = false, only reports whether a withheld entry is a bridge.
  bool FixBridge(bool fix = true) {
    const size_t V = R_ + C_ + 2;
    for (size_t i = 0; i <= R_; ++i) {
      for (size_t j = 0; j <= C_; ++j) {
        if (!Hidden(i, j)) continue;
        // The two sides entry (i, j) joins, without using it.
        const std::vector<uint8_t> a = Reach(i, {i, j}, V);
        if (a[R_ + 1 + j]) continue;  // on a cycle: not recoverable
        if (!fix) return true;
        const std::vector<uint8_t> b = Reach(R_ + 1 + j, {i, j}, V);
        std::vector<std::pair<size_t, size_t>> cand;
        for (size_t r = 0; r <= R_; ++r) {
          for (size_t c = 0; c <= C_; ++c) {
            if (Hidden(r, c)) continue;
            if ((a[r] && b[R_ + 1 + c]) || (b[r] && a[R_ + 1 + c])) cand.emplace_back(r, c);
          }
        }
        if (cand.empty()) continue;  // cannot happen once rule (1) holds; see disclosure.h
        Hide(Best(cand, true));
        return true;
      }
    }
    return false;
  }

  void Hide(std::pair<size_t, size_t> e) { StatusAt(e.first, e.second) = CellStatus::kSecondary; }

 private:
  // Vertices reachable from `start` (a row id) over withheld entries except `skip`.
  std::vector<uint8_t> Reach(size_t start, std::pair<size_t, size_t> skip, size_t V) {
    std::vector<uint8_t> seen(V, 0);
    std::vector<size_t> stack{start};
    seen[start] = 1;
    while (!stack.empty()) {
      const size_t v = stack.back();
      stack.pop_back();
      if (v <= R_) {
        for (size_t j = 0; j <= C_; ++j) {
          if (Hidden(v, j) && std::make_pair(v, j) != skip && !seen[R_ + 1 + j]) {
            seen[R_ + 1 + j] = 1;
            stack.push_back(R_ + 1 + j);
          }
        }
      } else {
        const size_t j = v - R_ - 1;
        for (size_t i = 0; i <= R_; ++i) {
          if (Hidden(i, j) && std::make_pair(i, j) != skip && !seen[i]) {
            seen[i] = 1;
            stack.push_back(i);
          }
        }
      }
    }
    return seen;
  }
  std::pair<size_t, size_t> Best(const std::vector<std::pair<size_t, size_t>>& cand,
                                 bool crossing_is_col) {
    auto key = [&](std::pair<size_t, size_t> e) {
      const size_t crossing = crossing_is_col ? HiddenInCol(e.second) : HiddenInRow(e.first);
      const int cls = crossing == 1 ? 0 : (crossing >= 2 ? 1 : 2);
      const bool margin = e.first == R_ || e.second == C_;
      return std::make_tuple(cls, At(e.first, e.second), margin, e.first, e.second);
    };
    return *std::min_element(cand.begin(), cand.end(),
                             [&](auto a, auto b) { return key(a) < key(b); });
  }

  size_t R_, C_;
  std::vector<int64_t> value_;
  std::vector<CellStatus> status_;
};

}  // namespace

Result<ProtectedTable> ProtectTable(std::span<const int64_t> cells, size_t rows, size_t cols,
                                    const DisclosureOptions& o) {
  RETURN_IF_ERROR(ValidateDisclosureOptions(o));
  if (rows == 0 || cols == 0 || cells.size() != rows * cols) {
    return Status::InvalidArgument(fmt::format(
        "table protection: {} cells given for a {} x {} table", cells.size(), rows, cols));
  }
  if (rows > 1000 || cols > 1000) {
    return Status::InvalidArgument("table protection: at most 1000 rows and 1000 columns");
  }
  for (int64_t c : cells) {
    if (c < 0) return Status::InvalidArgument("table protection: counts must be >= 0");
  }
  Extended e(cells, rows, cols);
  for (size_t i = 0; i <= rows; ++i) {
    for (size_t j = 0; j <= cols; ++j) {
      if (Withheld(e.At(i, j), o)) e.StatusAt(i, j) = CellStatus::kPrimary;
    }
  }
  for (;;) {
    if (e.FixSingleLine()) continue;
    if (e.FixBridge()) continue;
    break;
  }
  if (e.FixBridge(/*fix=*/false)) {
    // Unreachable by the argument in disclosure.h; fail closed if it ever happens.
    for (size_t i = 0; i <= rows; ++i) {
      for (size_t j = 0; j <= cols; ++j) {
        if (!e.Hidden(i, j)) e.Hide({i, j});
      }
    }
  }
  ProtectedTable out;
  out.rows = rows;
  out.cols = cols;
  auto cell = [&](size_t i, size_t j) -> ProtectedCell {
    if (e.Hidden(i, j)) return {std::nullopt, e.StatusAt(i, j)};
    return {RoundToBase(e.At(i, j), o.rounding_base), CellStatus::kShown};
  };
  for (size_t i = 0; i < rows; ++i) {
    for (size_t j = 0; j < cols; ++j) out.cells.push_back(cell(i, j));
    out.row_totals.push_back(cell(i, cols));
  }
  for (size_t j = 0; j < cols; ++j) out.col_totals.push_back(cell(rows, j));
  out.total = cell(rows, cols);
  return out;
}

Result<ProtectedTable> ProtectCounts(std::span<const int64_t> counts, const DisclosureOptions& o) {
  return ProtectTable(counts, 1, counts.size(), o);
}

Status CheckSubsetSize(int64_t rows, const DisclosureOptions& o) {
  if (rows < o.min_subset_rows) {
    return Status::PermissionDenied(fmt::format(
        "the analysis subset has fewer than {} rows; the node does not release statistics on so "
        "few persons",
        o.min_subset_rows));
  }
  return Status::Ok();
}

Status CheckCategories(std::span<const int64_t> level_counts, const DisclosureOptions& o) {
  if (static_cast<int64_t>(level_counts.size()) > o.max_categories) {
    return Status::PermissionDenied(fmt::format(
        "a categorical variable has {} levels; the node allows at most {} (group levels)",
        level_counts.size(), o.max_categories));
  }
  for (size_t i = 0; i < level_counts.size(); ++i) {
    const int64_t c = level_counts[i];
    if (c > 0 && c <= o.suppress_at_or_below) {
      return Status::PermissionDenied(fmt::format(
          "level {} of a categorical variable has {} or fewer rows; merge it with another level",
          i + 1, o.suppress_at_or_below));
    }
  }
  return Status::Ok();
}

Status CheckModelNotSaturated(int64_t rows, int64_t parameters, const DisclosureOptions& o) {
  RETURN_IF_ERROR(CheckSubsetSize(rows, o));
  if (parameters < 1) return Status::InvalidArgument("a model needs at least one parameter");
  if (static_cast<double>(parameters) > o.max_parameter_fraction * static_cast<double>(rows)) {
    return Status::PermissionDenied(fmt::format(
        "the model has too many parameters for its rows (at most {:.0f}% of the rows allowed): "
        "a saturated model reproduces individual values; remove terms",
        o.max_parameter_fraction * 100));
  }
  return Status::Ok();
}

Status CheckIndicatorColumns(std::span<const int64_t> ones, int64_t rows,
                             const DisclosureOptions& o) {
  for (size_t j = 0; j < ones.size(); ++j) {
    const int64_t one = ones[j], zero = rows - ones[j];
    if (one < 0 || zero < 0) {
      return Status::InvalidArgument("indicator column counts exceed the number of rows");
    }
    // An all-0 or all-1 column (e.g. the intercept) singles no one out.
    if ((one > 0 && one <= o.suppress_at_or_below) ||
        (zero > 0 && zero <= o.suppress_at_or_below)) {
      return Status::PermissionDenied(fmt::format(
          "design column {} is 1 (or 0) on {} or fewer rows: its coefficient would describe "
          "those persons; merge categories or drop the term",
          j + 1, o.suppress_at_or_below));
    }
  }
  return Status::Ok();
}

Status CheckStatisticAllowed(Statistic s) {
  if (s == Statistic::kMin || s == Statistic::kMax) {
    return Status::PermissionDenied(
        "minimum and maximum are one person's value; the node does not release them (ask for "
        "quantiles or a clipped, noisy mean instead)");
  }
  return Status::Ok();
}

}  // namespace passerelle::privacy
