// Factories of the built-in analyses (registered by MakeBuiltinRegistry in analysis.h):
//   count    1 round: rows of the dataset; share [n, suppressed].
//   summary  1 round: per numeric variable n, n_missing, mean, var (sample variance, as R's var);
//            share per variable [n, Σx, Σx², n_missing, suppressed].
//   table    2 rounds (1 when the study gives the levels): a "levels" round where each node
//            reports the distinct values it has (meta, in clear, like DataSHIELD's ds.levels),
//            then a "counts" round over the agreed grid; share [cells, primary flags, secondary
//            flags, small-table flag].
// Each file documents its disclosure rule.
#pragma once

#include <memory>

#include "analysis/analysis.h"

namespace passerelle::analysis {

std::unique_ptr<Analysis> MakeCountAnalysis();
std::unique_ptr<Analysis> MakeSummaryAnalysis();
std::unique_ptr<Analysis> MakeTableAnalysis();
// Models over src/stats (glm.cc, cox.cc, km.cc document their rounds and disclosure rules).
std::unique_ptr<Analysis> MakeGlmAnalysis();
std::unique_ptr<Analysis> MakeCoxAnalysis();
std::unique_ptr<Analysis> MakeKmAnalysis();
std::unique_ptr<Analysis> MakeTable1Analysis();  // table1.cc: characteristics by group

// Validates a variable name given in a study: 1 to 128 characters, no control characters.
Status ValidateVariableName(std::string_view name, std::string_view path);

// An integer count from a sum of counts (sums of integers below 2^53 are exact in a double).
int64_t CountFromSum(double v);

}  // namespace passerelle::analysis
