// The node's AnalysisTable over a flat dataset table of its store: every aggregate is pushed down
// to the database as one SQL query (DuckDB does the sums; rows never enter this process), with
// identifiers quoted by the store's dialect.
//
// Thread-safety: as the DataSource it borrows (one thread).
#pragma once

#include <memory>
#include <string>

#include "analysis/analysis_table.h"
#include "store/data_source.h"

namespace passerelle::node {

class SqlTable final : public analysis::AnalysisTable {
 public:
  // Fails with NotFound when `dataset` is not a table of `source`.
  static Result<std::unique_ptr<SqlTable>> Open(store::DataSource& source,
                                                const std::string& dataset);
  // A table the node built itself (a temporary table, which Open's listing of datasets leaves
  // out on purpose): node/cohort_provider.h.
  static Result<std::unique_ptr<SqlTable>> OpenBuilt(store::DataSource& source,
                                                     const std::string& table);

  Result<int64_t> RowCount() override;
  Result<std::vector<analysis::VariableInfo>> Variables() override;
  Result<std::vector<analysis::Moments>> NumericMoments(
      const std::vector<std::string>& variables) override;
  Result<std::vector<analysis::LevelCount>> Levels(const std::string& variable,
                                                   size_t limit) override;
  Result<std::vector<analysis::CellCount>> CrossCounts(const std::string& row,
                                                       const std::string& col) override;
  Result<std::vector<std::vector<double>>> ReadNumeric(
      const std::vector<std::string>& variables) override;
  // Complete cases are filtered by the database (WHERE ... IS NOT NULL); the columns are reserved
  // for the table's row count, so that they are allocated once.
  Result<std::vector<analysis::ColumnData>> ReadColumns(
      const std::vector<std::string>& variables, const analysis::ReadOptions& options) override;
  // The data source and the dataset: a node's database does not change during a study.
  std::string CacheKey() const override;

 private:
  SqlTable(store::DataSource& s, std::string dataset, store::Schema schema)
      : source_(s), dataset_(std::move(dataset)), schema_(std::move(schema)) {}
  Result<store::ColumnType> TypeOf(const std::string& variable) const;
  std::string Q(const std::string& identifier) const;
  // A level's text: CAST(... AS VARCHAR), booleans as true/false.
  std::string LevelExpr(const std::string& variable) const;
  // Asks the database to drop its cached pages of the table (after a large read).
  void ReleaseStoreCache();

  store::DataSource& source_;
  std::string dataset_;
  store::Schema schema_;
};

}  // namespace passerelle::node
