// Kaplan-Meier survival by group on a time grid, from per-interval counts summed over nodes.
//
// The grid g_0 < g_1 < ... < g_m (given by the study; g_0 is the origin) cuts time into the
// intervals (g_{j-1}, g_j], j = 1..m. For each group and interval a node counts
//   n_risk:   rows at risk at the start of the interval: start <= g_{j-1} < stop
//   n_event:  of those, rows with an event and g_{j-1} < stop <= g_j
//   n_censor: of those, rows censored with g_{j-1} < stop <= g_j
// (right-censored data: start = -infinity). A row entering inside an interval counts from the next
// interval on. Rows ending after g_m are at risk through the last interval.
// The hub computes S(g_j) = prod_{i <= j} (1 - d_i / n_i), Greenwood's variance and R's confidence
// intervals (survfit's conf.type "log" by default, also "log-log" and "plain").
//
// Exactness: for right-censored data this equals survfit(Surv(time', event) ~ group) at the grid
// times, where time' is each time rounded up to the grid; when the grid holds every distinct start
// and stop time it equals survfit(Surv(start, stop, event) ~ group) exactly.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stats/data_frame.h"
#include "stats/design.h"

namespace passerelle::stats {

// "Surv(time, event) ~ group" (or "~ 1", or several grouping variables, first varying slowest)
// as a ModelSpec whose right-hand-side variables are all factors; run DescribeData and
// MergeSchemas on it to agree on the groups.
Result<ModelSpec> KmModelSpec(std::string_view formula);

// R's strata labels of the groups ("female=0", or "all" without grouping variable).
Result<std::vector<std::string>> KmGroupLabels(const ModelSpec& spec, const DataSchema& agreed);

// Layout of a node's answer: for each group, for each interval j = 1..m, the triple
// (n_risk, n_event, n_censor).
size_t KmResponseSize(size_t groups, size_t intervals);

// Node side. Errors: a grid that is not strictly increasing or has fewer than two points, an
// event value other than 0/1, values outside the agreed groups.
Result<std::vector<double>> KmLocalStep(const ModelSpec& spec, const DataSchema& agreed,
                                        const DataFrame& frame, const std::vector<double>& grid);

// Node-side disclosure: refuses (kPermissionDenied) when a non-zero event or censoring count is
// below min_cell. The node's policy may instead coarsen the grid; the message gives no count.
Status CheckKmDisclosure(const std::vector<double>& node_counts, int64_t min_cell);

enum class KmConfType { kLog, kLogLog, kPlain };

struct KmOptions {
  double conf_level = 0.95;
  KmConfType conf_type = KmConfType::kLog;  // survfit's default
};

struct KmCurve {
  std::string group;
  // One entry per interval end g_1..g_m.
  std::vector<double> time, n_risk, n_event, n_censor;
  std::vector<double> surv;
  std::vector<double> std_err;       // of S (summary.survfit's std.err), Greenwood
  std::vector<double> lower, upper;  // NaN where undefined (as R's NA)
};

struct KmResult {
  std::vector<KmCurve> curves;
  double conf_level = 0.95;
  KmConfType conf_type = KmConfType::kLog;
};

// Hub side: curves from the sum over nodes.
Result<KmResult> KmCombine(const std::vector<std::string>& groups, const std::vector<double>& grid,
                           const std::vector<double>& sum, const KmOptions& options = {});

}  // namespace passerelle::stats
