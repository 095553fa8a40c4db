// The data an analysis sees at a node: the AnalysisTable interface.
//
// A node builds one AnalysisTable per task from its store (a flat dataset table now; an OMOP
// cohort with features later) and hands it to the analyses' local steps. The interface offers
// aggregate primitives that a SQL store computes by itself (pushdown: the database does the sums
// and the rows never enter this process), plus a column read for analyses that need the rows in
// memory (iterative models). analysis/ knows nothing of the store or of the network; the node
// implements this interface over store::DataSource (node/sql_table.h), tests and benchmarks use
// MemoryTable below.
//
// Level text: categorical values are compared as text; integers render without a decimal point
// ("0", "1"), booleans as "true"/"false", strings as written.
//
// Thread-safety: an AnalysisTable belongs to one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace passerelle::analysis {

enum class VariableKind {
  kNumeric,      // integers and reals
  kCategorical,  // text and booleans
  kOther,        // dates, timestamps: usable by later analyses only
};

struct VariableInfo {
  std::string name;
  VariableKind kind = VariableKind::kNumeric;
};

// Sufficient statistics of one numeric variable.
struct Moments {
  int64_t n = 0;          // non-missing values
  int64_t n_missing = 0;  // missing values
  double sum = 0;         // Σx over non-missing values
  double sum_sq = 0;      // Σx² over non-missing values
};

struct LevelCount {
  std::string level;
  int64_t count = 0;
};

struct CellCount {
  std::string row;
  std::string col;
  int64_t count = 0;
};

// One column read into memory by ReadColumns.
struct ColumnData {
  std::string name;
  bool is_text = false;            // a categorical variable, read as level text
  std::vector<double> numbers;     // !is_text: the values, NaN for missing
  std::vector<std::string> texts;  // is_text: the level texts ("" where missing)
  std::vector<uint8_t> missing;    // is_text: 1 marks a missing value
  size_t size() const { return is_text ? texts.size() : numbers.size(); }
};

struct ReadOptions {
  // Only the rows where every requested variable is present (R's na.omit), filtered by the store.
  bool complete_cases = false;
  // After the read, ask the store to drop its cached pages of the table (a DuckDB store keeps a
  // copy of what it read; a model that keeps its own matrix does not need it). Tables without a
  // cache ignore it. Lowers the node's peak memory by about one copy of the columns read.
  bool release_store_cache = false;
};

class AnalysisTable {
 public:
  virtual ~AnalysisTable() = default;

  virtual Result<int64_t> RowCount() = 0;
  virtual Result<std::vector<VariableInfo>> Variables() = 0;
  // Moments of each of `variables`, in order. Errors: an unknown or non-numeric variable.
  virtual Result<std::vector<Moments>> NumericMoments(
      const std::vector<std::string>& variables) = 0;
  // Distinct non-missing values of `variable` with their counts, at most `limit` of them (a
  // longer list is cut at `limit` + 1 entries so that callers can tell).
  virtual Result<std::vector<LevelCount>> Levels(const std::string& variable, size_t limit) = 0;
  // Counts of the (row, col) value pairs over rows where both are non-missing. An empty `col`
  // counts by `row` only (col text "").
  virtual Result<std::vector<CellCount>> CrossCounts(const std::string& row,
                                                     const std::string& col) = 0;
  // The values of numeric variables, one vector per variable, NaN for missing.
  virtual Result<std::vector<std::vector<double>>> ReadNumeric(
      const std::vector<std::string>& variables) = 0;
  // The values of `variables` (distinct names), one ColumnData per variable in order: numeric
  // variables as doubles, categorical ones as level text (see above). Errors: an unknown variable,
  // a variable of kind kOther (dates, timestamps). The default: kFailedPrecondition.
  virtual Result<std::vector<ColumnData>> ReadColumns(const std::vector<std::string>& variables,
                                                      const ReadOptions& options);
  // A key naming the data behind this table while it does not change (e.g. a read-only database
  // table), so that multi-round analyses may keep what they built from it between rounds; empty
  // (the default): do not keep anything.
  virtual std::string CacheKey() const { return {}; }

  // Finds a variable by exact name; NotFound names it and the dataset otherwise.
  Result<VariableInfo> FindVariable(const std::string& name);
};

// An AnalysisTable held in memory (tests, benchmarks, rehearsals on small data).
class MemoryTable final : public AnalysisTable {
 public:
  using NumericColumn = std::vector<std::optional<double>>;
  using TextColumn = std::vector<std::optional<std::string>>;

  // REQUIRES: every column has the same length.
  void AddNumeric(std::string name, NumericColumn values);
  void AddCategorical(std::string name, TextColumn values);

  Result<int64_t> RowCount() override;
  Result<std::vector<VariableInfo>> Variables() override;
  Result<std::vector<Moments>> NumericMoments(const std::vector<std::string>& variables) override;
  Result<std::vector<LevelCount>> Levels(const std::string& variable, size_t limit) override;
  Result<std::vector<CellCount>> CrossCounts(const std::string& row,
                                             const std::string& col) override;
  Result<std::vector<std::vector<double>>> ReadNumeric(
      const std::vector<std::string>& variables) override;
  Result<std::vector<ColumnData>> ReadColumns(const std::vector<std::string>& variables,
                                              const ReadOptions& options) override;

 private:
  using Column = std::variant<NumericColumn, TextColumn>;
  Result<const Column*> Find(const std::string& name) const;
  // The level text of row `i`, or nullopt when missing.
  static std::optional<std::string> LevelText(const Column& c, size_t i);
  std::vector<std::string> order_;
  std::map<std::string, Column> columns_;
  size_t rows_ = 0;
};

}  // namespace passerelle::analysis
