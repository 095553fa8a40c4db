#include "stats/linalg.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

namespace passerelle::stats {

std::vector<double> UnpackSymmetric(const double* packed, size_t q) {
  std::vector<double> full(q * q);
  size_t k = 0;
  for (size_t i = 0; i < q; ++i) {
    for (size_t j = i; j < q; ++j) {
      full[i * q + j] = packed[k];
      full[j * q + i] = packed[k];
      ++k;
    }
  }
  return full;
}

Result<SymmetricInverse> InvertSymmetric(const std::vector<double>& full, size_t q,
                                         double tolerance,
                                         const std::vector<double>& column_scale) {
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  SymmetricInverse out;
  out.aliased.assign(q, 0);
  out.inverse.assign(q * q, 0.0);
  Eigen::Map<const Mat> a(full.data(), static_cast<Eigen::Index>(q), static_cast<Eigen::Index>(q));
  Eigen::VectorXd s = Eigen::VectorXd::Ones(static_cast<Eigen::Index>(q));
  for (size_t i = 0; i < q; ++i) {
    double d = a(i, i);
    if (!std::isfinite(d) || d <= 0.0) {
      out.aliased[i] = 1;
      s(i) = 0.0;
    } else if (column_scale.empty()) {
      s(i) = 1.0 / std::sqrt(d);
    } else {
      s(i) = column_scale[i];
    }
  }
  Mat m = s.asDiagonal() * a * s.asDiagonal();
  for (size_t i = 0; i < q; ++i) {
    for (size_t j = 0; j < q; ++j) {
      if (!out.aliased[i] && !out.aliased[j] && !std::isfinite(m(i, j))) {
        return Status::InvalidArgument("non-finite entry in a matrix to invert");
      }
    }
  }
  // LDL' in column order (as survival::cholesky2): a small pivot marks a redundant column.
  double largest = 0.0;
  for (size_t i = 0; i < q; ++i) {
    if (!out.aliased[i]) largest = std::max(largest, m(i, i));
  }
  const double eps = largest * tolerance;
  Mat l = m;  // lower triangle holds the factor
  for (size_t i = 0; i < q; ++i) {
    if (out.aliased[i]) continue;
    double pivot = l(i, i);
    if (pivot < eps || pivot <= 0.0) {
      out.aliased[i] = 1;
      continue;
    }
    for (size_t j = i + 1; j < q; ++j) {
      if (out.aliased[j]) continue;
      double t = l(j, i) / pivot;
      l(j, i) = t;
      l(j, j) -= t * t * pivot;
      for (size_t k = j + 1; k < q; ++k) {
        if (!out.aliased[k]) l(k, j) -= t * l(k, i);
      }
    }
  }
  std::vector<Eigen::Index> keep;
  for (size_t i = 0; i < q; ++i) {
    if (!out.aliased[i]) keep.push_back(static_cast<Eigen::Index>(i));
  }
  out.rank = static_cast<int>(keep.size());
  if (keep.empty()) return out;
  const auto r = static_cast<Eigen::Index>(keep.size());
  Eigen::MatrixXd sub(r, r);
  for (Eigen::Index i = 0; i < r; ++i) {
    for (Eigen::Index j = 0; j < r; ++j) sub(i, j) = m(keep[i], keep[j]);
  }
  Eigen::MatrixXd inv;
  Eigen::LLT<Eigen::MatrixXd> llt(sub);
  if (llt.info() == Eigen::Success) {
    inv = llt.solve(Eigen::MatrixXd::Identity(r, r));
  } else {
    inv = sub.ldlt().solve(Eigen::MatrixXd::Identity(r, r));
  }
  for (Eigen::Index i = 0; i < r; ++i) {
    for (Eigen::Index j = 0; j < r; ++j) {
      const auto gi = static_cast<size_t>(keep[i]);
      const auto gj = static_cast<size_t>(keep[j]);
      out.inverse[gi * q + gj] = inv(i, j) * s(keep[i]) * s(keep[j]);
    }
  }
  return out;
}

std::vector<double> MultiplyMatrix(const std::vector<double>& m, const std::vector<double>& b) {
  const size_t q = b.size();
  std::vector<double> y(q, 0.0);
  for (size_t i = 0; i < q; ++i) {
    double acc = 0.0;
    for (size_t j = 0; j < q; ++j) acc += m[i * q + j] * b[j];
    y[i] = acc;
  }
  return y;
}

}  // namespace passerelle::stats
