// A node's own disclosure policy and the check of each task against it.
//
// The policy belongs to the data holder: a study may ask for stricter thresholds, never looser
// ones (the node applies max(policy, request)). A task is refused, as a whole and releasing
// nothing, when it asks for an analysis the node does not run or a dataset it does not serve, or
// when the dataset is smaller than min_rows; the refusal names the rule and the node.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "common/config.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace passerelle::node {

struct NodePolicy {
  // A table cell between 1 and min_cell - 1 is not released.
  int64_t min_cell = 10;
  // No statistic on fewer rows than this is released; a smaller dataset refuses every task.
  int64_t min_rows = 10;
  // A categorical variable with more distinct values than this is refused.
  int64_t max_levels = 100;
  // A model (glm, cox) with more parameters than this x the node's complete rows is refused.
  double glm_max_params_ratio = 0.33;
  // Released counts are rounded to the nearest multiple of this (1: none); analysis::Thresholds.
  int64_t rounding_base = 1;
  // The analyses this node runs (a subset of the registry).
  std::vector<std::string> analyses = {"count", "summary", "table", "table1", "glm", "cox", "km"};
  // The datasets this node serves; empty: every flat table of its database.
  std::vector<std::string> datasets;
  // Release only securely aggregated sums: a plain task is refused with rule
  // "require_secure_aggregation", and the hub restarts the study securely (docs/privacy.md).
  bool require_secure_aggregation = false;
  // zCDP budget (rho) of each project at this node for differentially private releases; a study
  // whose release would go past it is refused, saying what is left.
  double dp_rho_budget = 1.0;
  // Differencing defence: a study whose population differs from a recent one of the same
  // project by fewer than this many persons (and more than zero) is refused. 0: min_rows.
  int64_t min_population_difference = 0;
};

// Reads [policy] keys (min_cell, min_rows, max_levels, analyses, datasets) of `config`.
Result<NodePolicy> LoadPolicy(const Config& config);

// The outcome of checking a task against the policy.
struct PolicyDecision {
  bool refused = false;
  std::string rule;                 // when refused: "analyses", "datasets", ...
  std::string message;              // when refused: what the rule forbids (the hub adds the node)
  analysis::Thresholds thresholds;  // when accepted: what applies to this task
};

PolicyDecision CheckTask(const NodePolicy& policy, const std::string& node_id,
                         const protocol::Task& task, const analysis::Registry& registry);

}  // namespace passerelle::node
