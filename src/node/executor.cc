#include "node/executor.h"

#include <fmt/format.h>

#include "common/log.h"
#include "node/cohort_provider.h"
#include "node/privacy_step.h"
#include "node/sql_table.h"

namespace passerelle::node {

Result<std::unique_ptr<analysis::AnalysisTable>> DataProvider::OpenForTask(
    const protocol::Task& task) {
  if (task.cohort) {
    return Status::FailedPrecondition(
        "this node's data provider does not build OMOP cohort tables");
  }
  return OpenTable(task.dataset);
}

StoreDataProvider::StoreDataProvider(std::unique_ptr<store::DataSource> source)
    : source_(std::move(source)), cohorts_(std::make_unique<CohortTables>(*source_)) {}

StoreDataProvider::~StoreDataProvider() = default;

Result<std::unique_ptr<analysis::AnalysisTable>> StoreDataProvider::OpenForTask(
    const protocol::Task& task) {
  if (task.cohort) return cohorts_->Open(task);
  return OpenTable(task.dataset);
}

Result<std::unique_ptr<analysis::AnalysisTable>> StoreDataProvider::OpenTable(
    const std::string& dataset) {
  ASSIGN_OR_RETURN(auto table, SqlTable::Open(*source_, dataset));
  return std::unique_ptr<analysis::AnalysisTable>(std::move(table));
}

Result<std::unique_ptr<analysis::AnalysisTable>> MemoryDataProvider::OpenTable(
    const std::string& dataset) {
  auto it = tables_.find(dataset);
  if (it == tables_.end()) {
    return Status::NotFound(fmt::format("dataset \"{}\" is not present at this node", dataset));
  }
  return std::unique_ptr<analysis::AnalysisTable>(
      std::make_unique<analysis::MemoryTable>(it->second));
}

protocol::TaskResult ExecuteTask(const protocol::Task& task, DataProvider& data,
                                 const NodePolicy& policy, const std::string& node_id,
                                 const analysis::Registry& registry) {
  protocol::TaskResult r;
  r.task_id = task.task_id;
  r.study_id = task.study_id;
  r.round = task.round;
  r.node = node_id;
  auto refuse = [&](std::string rule, std::string message) {
    r.status = protocol::ResultStatus::kRefused;
    r.rule = std::move(rule);
    r.message = std::move(message);
    r.shares.clear();
    log::Warn("node {}: task {} refused (rule {}): {}", node_id, task.task_id, r.rule, r.message);
    return r;
  };
  auto fail = [&](std::string message) {
    r.status = protocol::ResultStatus::kError;
    r.message = std::move(message);
    r.shares.clear();
    log::Warn("node {}: task {} failed: {}", node_id, task.task_id, r.message);
    return r;
  };

  PolicyDecision decision = CheckTask(policy, node_id, task, registry);
  if (decision.refused) return refuse(decision.rule, decision.message);
  const analysis::Thresholds& t = decision.thresholds;
  r.applied = {t.min_cell, t.min_rows, t.rounding_base};

  auto table = data.OpenForTask(task);
  if (!table.ok()) return fail(table.status().message());
  auto rows = (*table)->RowCount();
  if (!rows.ok()) return fail(rows.status().message());
  if (*rows < t.min_rows) {
    return refuse("min_rows", fmt::format("dataset \"{}\" has fewer rows than min_rows ({}); no "
                                          "statistic is released",
                                          task.dataset, t.min_rows));
  }
  for (size_t i = 0; i < task.steps.size(); ++i) {
    const protocol::TaskStep& step = task.steps[i];
    const analysis::Analysis* a = registry.Find(step.type);
    auto spec = registry.ParseSpec(step.spec, fmt::format("task.steps[{}].spec", i));
    if (!spec.ok()) return fail(spec.status().message());
    analysis::RoundInput input{step.input.params, step.input.values};
    auto share =
        ComputeNodeShare(*a, **table, **spec, step.round, input, t, task.secagg.has_value());
    if (!share.ok()) {
      std::string rule = analysis::RefusalRule(share.status());
      std::string message = fmt::format("analysis {} ({}): {}", step.analysis_id, step.type,
                                        share.status().message());
      if (!rule.empty()) return refuse(rule, message);
      return fail(message);
    }
    r.shares.push_back(
        {step.analysis_id, step.round, std::move(share->values), std::move(share->meta)});
  }
  r.status = protocol::ResultStatus::kOk;
  return r;
}

}  // namespace passerelle::node
