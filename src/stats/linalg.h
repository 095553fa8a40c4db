// Internal: the small dense linear algebra the hub-side solvers need (Eigen stays in linalg.cc).
// Not a front door of the module; used by glm.cc and cox.cc.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace passerelle::stats {

// Packed symmetric matrices travel as their upper triangle, row by row:
// (0,0) (0,1) ... (0,q-1) (1,1) (1,2) ... (q-1,q-1).
inline size_t PackedSize(size_t q) { return q * (q + 1) / 2; }
// The full q x q matrix (row-major) of a packed upper triangle.
std::vector<double> UnpackSymmetric(const double* packed, size_t q);

struct SymmetricInverse {
  int rank = 0;
  std::vector<uint8_t> aliased;  // 1 for a redundant column
  // q x q, row-major: the inverse of the non-aliased block, zero in aliased rows and columns.
  std::vector<double> inverse;
};

// Inverts a symmetric non-negative definite matrix, leaving out redundant columns the way
// survival's cholesky2 does: a Cholesky (LDL') in column order in which a column whose pivot is
// below `tolerance` times the largest diagonal is redundant. The test runs on S M S, S diagonal:
// `column_scale` when given (survival scales covariates to unit mean absolute deviation), else
// the scaling to unit diagonal, so that the test reads "1 - R^2 of the column on the earlier
// ones < tolerance". A zero or non-finite diagonal is redundant. Error: a non-finite entry
// elsewhere.
Result<SymmetricInverse> InvertSymmetric(const std::vector<double>& full, size_t q,
                                         double tolerance,
                                         const std::vector<double>& column_scale = {});

// y = M b for a q x q row-major M.
std::vector<double> MultiplyMatrix(const std::vector<double>& m, const std::vector<double>& b);

}  // namespace passerelle::stats
