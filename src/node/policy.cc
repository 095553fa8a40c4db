#include "node/policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace passerelle::node {

Result<NodePolicy> LoadPolicy(const Config& config) {
  NodePolicy p;
  ASSIGN_OR_RETURN(p.min_cell, config.GetInt("policy.min_cell", p.min_cell));
  ASSIGN_OR_RETURN(p.min_rows, config.GetInt("policy.min_rows", p.min_rows));
  ASSIGN_OR_RETURN(p.max_levels, config.GetInt("policy.max_levels", p.max_levels));
  ASSIGN_OR_RETURN(p.rounding_base, config.GetInt("policy.rounding_base", p.rounding_base));
  if (p.rounding_base < 1 || p.rounding_base > 1000) {
    return Status::InvalidArgument(
        fmt::format("{}: policy.rounding_base must be in [1, 1000]", config.source()));
  }
  ASSIGN_OR_RETURN(p.glm_max_params_ratio,
                   config.GetDouble("policy.glm_max_params_ratio", p.glm_max_params_ratio));
  if (!(p.glm_max_params_ratio > 0 && p.glm_max_params_ratio <= 1)) {
    return Status::InvalidArgument(
        fmt::format("{}: policy.glm_max_params_ratio must lie in (0, 1]", config.source()));
  }
  ASSIGN_OR_RETURN(p.analyses, config.GetStringList("policy.analyses", p.analyses));
  ASSIGN_OR_RETURN(p.datasets, config.GetStringList("policy.datasets", p.datasets));
  ASSIGN_OR_RETURN(p.require_secure_aggregation,
                   config.GetBool("policy.require_secure_aggregation", false));
  ASSIGN_OR_RETURN(p.dp_rho_budget, config.GetDouble("policy.dp_rho_budget", p.dp_rho_budget));
  ASSIGN_OR_RETURN(p.min_population_difference,
                   config.GetInt("policy.min_population_difference", 0));
  if (!(p.dp_rho_budget >= 0) || p.min_population_difference < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: policy.dp_rho_budget and policy.min_population_difference must be >= 0",
                    config.source()));
  }
  if (p.min_cell < 1 || p.min_rows < 1 || p.max_levels < 1) {
    return Status::InvalidArgument(
        fmt::format("{}: policy.min_cell, policy.min_rows and policy.max_levels must be at least 1",
                    config.source()));
  }
  return p;
}

PolicyDecision CheckTask(const NodePolicy& policy, const std::string& /*node_id*/,
                         const protocol::Task& task, const analysis::Registry& registry) {
  PolicyDecision d;
  auto refuse = [&](std::string rule, std::string why) {
    d.refused = true;
    d.rule = std::move(rule);
    d.message = std::move(why);
    return d;
  };
  if (!policy.datasets.empty() && std::find(policy.datasets.begin(), policy.datasets.end(),
                                            task.dataset) == policy.datasets.end()) {
    return refuse(
        "datasets",
        fmt::format("dataset \"{}\" is not served by this node (policy.datasets)", task.dataset));
  }
  for (const auto& step : task.steps) {
    if (!registry.Find(step.type)) {
      return refuse("analyses",
                    fmt::format("analysis \"{}\" is not in this node's registry", step.type));
    }
    if (std::find(policy.analyses.begin(), policy.analyses.end(), step.type) ==
        policy.analyses.end()) {
      return refuse(
          "analyses",
          fmt::format("this node does not run analysis \"{}\" (policy.analyses)", step.type));
    }
  }
  // A study may raise a threshold, never lower it.
  d.thresholds.min_cell = std::max(policy.min_cell, task.disclosure.min_cell.value_or(0));
  d.thresholds.min_rows = std::max(policy.min_rows, task.disclosure.min_rows.value_or(0));
  d.thresholds.max_levels = policy.max_levels;
  d.thresholds.glm_max_params_ratio = policy.glm_max_params_ratio;
  d.thresholds.rounding_base = policy.rounding_base;
  return d;
}

}  // namespace passerelle::node
