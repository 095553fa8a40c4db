// Runs one task at a node, without the network: policy check, then each step's local step and
// disclosure rule (analysis::ComputeShare), producing the TaskResult to post. A refusal (policy
// or disclosure rule) or an error releases nothing: the result then carries no share, only the
// rule and a message (the hub names the node when it reports it) — never a value of the data.
//
// Thread-safety: ExecuteTask is reentrant; a DataProvider belongs to one thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/analysis_table.h"
#include "node/policy.h"
#include "protocol/messages.h"
#include "store/data_source.h"

namespace passerelle::node {

class CohortTables;  // node/cohort_provider.h

// Where the node's analysis tables come from.
class DataProvider {
 public:
  virtual ~DataProvider() = default;
  // The analysis table of `dataset`; NotFound when the node does not hold it.
  virtual Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(
      const std::string& dataset) = 0;
  // The analysis table of a task: OpenTable(task.dataset), or for a task with a cohort (an OMOP
  // study) the table built from it (node/cohort_provider.h); NotFound/Unimplemented otherwise.
  virtual Result<std::unique_ptr<analysis::AnalysisTable>> OpenForTask(const protocol::Task& task);
  // The table of `dataset` without the rows whose `id_column` (as text) is in `exclude`: record
  // linkage's deduplication (node/linkage.h, where the default, kFailedPrecondition, is defined).
  virtual Result<std::unique_ptr<analysis::AnalysisTable>> OpenTableExcluding(
      const std::string& dataset, const std::string& id_column,
      const std::vector<std::string>& exclude);
};

// Flat tables of the node's store (SQL pushdown).
class StoreDataProvider final : public DataProvider {
 public:
  explicit StoreDataProvider(std::unique_ptr<store::DataSource> source);
  ~StoreDataProvider() override;
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(const std::string& dataset) override;
  // Cohort tasks: the study's temporary analysis table (CohortTables).
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenForTask(const protocol::Task& task) override;
  // Defined in node/linkage.cc.
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTableExcluding(
      const std::string& dataset, const std::string& id_column,
      const std::vector<std::string>& exclude) override;

 private:
  std::unique_ptr<store::DataSource> source_;
  std::unique_ptr<CohortTables> cohorts_;  // declared after source_: dropped before it closes
};

// Tables held in memory (tests, benchmarks).
class MemoryDataProvider final : public DataProvider {
 public:
  void Add(const std::string& dataset, analysis::MemoryTable table) {
    tables_[dataset] = std::move(table);
  }
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(const std::string& dataset) override;

 private:
  std::map<std::string, analysis::MemoryTable> tables_;
};

protocol::TaskResult ExecuteTask(const protocol::Task& task, DataProvider& data,
                                 const NodePolicy& policy, const std::string& node_id,
                                 const analysis::Registry& registry);

}  // namespace passerelle::node
