// A researcher's exact attack on a published table: every withheld entry that the published
// entries and the margin equations determine uniquely (linear algebra over the reals: an
// unknown is determined iff its unit vector lies in the row space of the equations).
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "privacy/disclosure.h"

namespace passerelle::privacy::testing {

// Rank of a dense matrix by Gaussian elimination with partial pivoting (entries are small
// integers, so a tolerance of 1e-9 is safe).
inline size_t Rank(std::vector<std::vector<double>> m) {
  if (m.empty()) return 0;
  const size_t cols = m[0].size();
  size_t rank = 0;
  for (size_t c = 0; c < cols && rank < m.size(); ++c) {
    size_t piv = rank;
    for (size_t r = rank; r < m.size(); ++r) {
      if (std::fabs(m[r][c]) > std::fabs(m[piv][c])) piv = r;
    }
    if (std::fabs(m[piv][c]) < 1e-9) continue;
    std::swap(m[piv], m[rank]);
    for (size_t r = 0; r < m.size(); ++r) {
      if (r == rank) continue;
      const double f = m[r][c] / m[rank][c];
      if (f == 0) continue;
      for (size_t k = c; k < cols; ++k) m[r][k] -= f * m[rank][k];
    }
    ++rank;
  }
  return rank;
}

// Withheld entries (i, j) of the extended (rows+1) x (cols+1) table that the margin equations
// determine; the margin row is i == rows, the margin column j == cols.
inline std::vector<std::pair<size_t, size_t>> RecoverableEntries(const ProtectedTable& t) {
  const size_t R = t.rows, C = t.cols;
  auto hidden = [&](size_t i, size_t j) {
    const ProtectedCell* c;
    if (i < R && j < C) {
      c = &t.cells[i * C + j];
    } else if (i < R) {
      c = &t.row_totals[i];
    } else if (j < C) {
      c = &t.col_totals[j];
    } else {
      c = &t.total;
    }
    return !c->value.has_value();
  };
  std::vector<std::pair<size_t, size_t>> unknowns;
  std::vector<std::vector<int>> index(R + 1, std::vector<int>(C + 1, -1));
  for (size_t i = 0; i <= R; ++i) {
    for (size_t j = 0; j <= C; ++j) {
      if (hidden(i, j)) {
        index[i][j] = static_cast<int>(unknowns.size());
        unknowns.emplace_back(i, j);
      }
    }
  }
  const size_t n = unknowns.size();
  std::vector<std::vector<double>> eq;
  for (size_t i = 0; i <= R; ++i) {  // sum_{j<C} E[i][j] - E[i][C] = 0
    std::vector<double> row(n, 0);
    for (size_t j = 0; j <= C; ++j) {
      if (index[i][j] >= 0) row[index[i][j]] = j < C ? 1 : -1;
    }
    eq.push_back(row);
  }
  for (size_t j = 0; j <= C; ++j) {  // sum_{i<R} E[i][j] - E[R][j] = 0
    std::vector<double> row(n, 0);
    for (size_t i = 0; i <= R; ++i) {
      if (index[i][j] >= 0) row[index[i][j]] = i < R ? 1 : -1;
    }
    eq.push_back(row);
  }
  const size_t base = Rank(eq);
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t u = 0; u < n; ++u) {
    auto with = eq;
    std::vector<double> unit(n, 0);
    unit[u] = 1;
    with.push_back(unit);
    if (Rank(with) == base) out.push_back(unknowns[u]);
  }
  return out;
}

}  // namespace passerelle::privacy::testing
