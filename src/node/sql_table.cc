#include "node/sql_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "store/duckdb_source.h"

namespace passerelle::node {

using analysis::VariableKind;

Result<std::unique_ptr<SqlTable>> SqlTable::Open(store::DataSource& source,
                                                 const std::string& dataset) {
  ASSIGN_OR_RETURN(bool has, source.HasTable(dataset));
  if (!has) {
    return Status::NotFound(
        fmt::format("dataset \"{}\" is not present in this node's database", dataset));
  }
  ASSIGN_OR_RETURN(store::Schema schema, source.DescribeTable(dataset));
  return std::unique_ptr<SqlTable>(new SqlTable(source, dataset, std::move(schema)));
}

Result<std::unique_ptr<SqlTable>> SqlTable::OpenBuilt(store::DataSource& source,
                                                      const std::string& table) {
  ASSIGN_OR_RETURN(store::Schema schema, source.DescribeTable(table));
  return std::unique_ptr<SqlTable>(new SqlTable(source, table, std::move(schema)));
}

std::string SqlTable::Q(const std::string& identifier) const {
  return source_.dialect().QuoteIdentifier(identifier);
}

Result<store::ColumnType> SqlTable::TypeOf(const std::string& variable) const {
  for (const auto& c : schema_) {
    if (c.name == variable) return c.type;
  }
  return Status::NotFound(
      fmt::format("variable \"{}\" is not in dataset \"{}\"", variable, dataset_));
}

std::string SqlTable::LevelExpr(const std::string& variable) const {
  return fmt::format("CAST({} AS VARCHAR)", Q(variable));
}

Result<int64_t> SqlTable::RowCount() {
  return store::QueryInt(source_, fmt::format("SELECT count(*) FROM {}", Q(dataset_)));
}

Result<std::vector<analysis::VariableInfo>> SqlTable::Variables() {
  std::vector<analysis::VariableInfo> out;
  for (const auto& c : schema_) {
    VariableKind kind = VariableKind::kOther;
    switch (c.type) {
      case store::ColumnType::kInt64:
      case store::ColumnType::kDouble:
        kind = VariableKind::kNumeric;
        break;
      case store::ColumnType::kString:
      case store::ColumnType::kBool:
        kind = VariableKind::kCategorical;
        break;
      default:
        break;
    }
    out.push_back({c.name, kind});
  }
  return out;
}

Result<std::vector<analysis::Moments>> SqlTable::NumericMoments(
    const std::vector<std::string>& variables) {
  if (variables.empty()) return std::vector<analysis::Moments>();
  // Compensated summation where the store has it, so that the pooled mean does not depend on the
  // order in which DuckDB's threads add.
  const bool kahan = source_.dialect().kind() == store::DialectKind::kDuckDb;
  const char* sum = kahan ? "fsum" : "sum";
  std::string select;
  for (const auto& v : variables) {
    ASSIGN_OR_RETURN(store::ColumnType t, TypeOf(v));
    if (t != store::ColumnType::kInt64 && t != store::ColumnType::kDouble) {
      return Status::InvalidArgument(
          fmt::format("variable \"{}\" of dataset \"{}\" is not numeric", v, dataset_));
    }
    std::string x = fmt::format("CAST({} AS DOUBLE)", Q(v));
    if (!select.empty()) select += ", ";
    select += fmt::format("count({0}), count(*) - count({0}), {1}({0}), {1}({0} * {0})", x, sum);
  }
  ASSIGN_OR_RETURN(store::Chunk chunk,
                   store::QueryAll(source_, fmt::format("SELECT {} FROM {}", select, Q(dataset_))));
  if (chunk.size() != 1 || chunk.columns.size() != 4 * variables.size()) {
    return Status::Internal("moments query returned an unexpected shape");
  }
  std::vector<analysis::Moments> out;
  for (size_t i = 0; i < variables.size(); ++i) {
    const auto& n = chunk.columns[4 * i];
    const auto& miss = chunk.columns[4 * i + 1];
    const auto& s = chunk.columns[4 * i + 2];
    const auto& ss = chunk.columns[4 * i + 3];
    analysis::Moments m;
    m.n = n.IsNull(0) ? 0 : n.ints[0];
    m.n_missing = miss.IsNull(0) ? 0 : miss.ints[0];
    m.sum = s.IsNull(0) ? 0.0 : s.doubles[0];
    m.sum_sq = ss.IsNull(0) ? 0.0 : ss.doubles[0];
    out.push_back(m);
  }
  return out;
}

Result<std::vector<analysis::LevelCount>> SqlTable::Levels(const std::string& variable,
                                                           size_t limit) {
  RETURN_IF_ERROR(TypeOf(variable).status());
  ASSIGN_OR_RETURN(store::Chunk chunk,
                   store::QueryAll(source_, fmt::format("SELECT {0} AS level, count(*) FROM {1} "
                                                        "WHERE {2} IS NOT NULL GROUP BY 1 ORDER "
                                                        "BY 1 LIMIT {3}",
                                                        LevelExpr(variable), Q(dataset_),
                                                        Q(variable), limit + 1)));
  std::vector<analysis::LevelCount> out;
  for (size_t i = 0; i < chunk.size(); ++i) {
    out.push_back({chunk.columns[0].strings[i], chunk.columns[1].ints[i]});
  }
  return out;
}

Result<std::vector<analysis::CellCount>> SqlTable::CrossCounts(const std::string& row,
                                                               const std::string& col) {
  RETURN_IF_ERROR(TypeOf(row).status());
  std::string sql;
  if (col.empty()) {
    sql = fmt::format("SELECT {0}, '' , count(*) FROM {1} WHERE {2} IS NOT NULL GROUP BY 1",
                      LevelExpr(row), Q(dataset_), Q(row));
  } else {
    RETURN_IF_ERROR(TypeOf(col).status());
    sql = fmt::format(
        "SELECT {0}, {1}, count(*) FROM {2} WHERE {3} IS NOT NULL AND {4} IS NOT NULL GROUP BY "
        "1, 2",
        LevelExpr(row), LevelExpr(col), Q(dataset_), Q(row), Q(col));
  }
  ASSIGN_OR_RETURN(store::Chunk chunk, store::QueryAll(source_, sql));
  std::vector<analysis::CellCount> out;
  for (size_t i = 0; i < chunk.size(); ++i) {
    out.push_back(
        {chunk.columns[0].strings[i], chunk.columns[1].strings[i], chunk.columns[2].ints[i]});
  }
  return out;
}

Result<std::vector<std::vector<double>>> SqlTable::ReadNumeric(
    const std::vector<std::string>& variables) {
  std::vector<std::vector<double>> out(variables.size());
  if (variables.empty()) return out;
  std::string select;
  for (const auto& v : variables) {
    ASSIGN_OR_RETURN(store::ColumnType t, TypeOf(v));
    if (t != store::ColumnType::kInt64 && t != store::ColumnType::kDouble) {
      return Status::InvalidArgument(
          fmt::format("variable \"{}\" of dataset \"{}\" is not numeric", v, dataset_));
    }
    if (!select.empty()) select += ", ";
    select += fmt::format("CAST({} AS DOUBLE)", Q(v));
  }
  ASSIGN_OR_RETURN(auto result,
                   source_.Query(fmt::format("SELECT {} FROM {}", select, Q(dataset_))));
  for (;;) {
    ASSIGN_OR_RETURN(auto chunk, result->Next());
    if (!chunk) break;
    for (size_t c = 0; c < variables.size(); ++c) {
      const auto& col = chunk->columns[c];
      for (size_t i = 0; i < col.size(); ++i) {
        out[c].push_back(col.IsNull(i) ? std::numeric_limits<double>::quiet_NaN() : col.doubles[i]);
      }
    }
  }
  return out;
}

std::string SqlTable::CacheKey() const {
  return fmt::format("sql:{}:{}", static_cast<const void*>(&source_), dataset_);
}

Result<std::vector<analysis::ColumnData>> SqlTable::ReadColumns(
    const std::vector<std::string>& variables, const analysis::ReadOptions& options) {
  std::vector<analysis::ColumnData> out(variables.size());
  if (variables.empty()) return out;
  std::string select, where;
  for (size_t k = 0; k < variables.size(); ++k) {
    const std::string& v = variables[k];
    ASSIGN_OR_RETURN(store::ColumnType t, TypeOf(v));
    out[k].name = v;
    if (!select.empty()) select += ", ";
    switch (t) {
      case store::ColumnType::kInt64:
      case store::ColumnType::kDouble:
        select += fmt::format("CAST({} AS DOUBLE)", Q(v));
        break;
      case store::ColumnType::kString:
      case store::ColumnType::kBool:
        out[k].is_text = true;
        select += LevelExpr(v);
        break;
      default:
        return Status::InvalidArgument(fmt::format(
            "variable \"{}\" of dataset \"{}\" is neither numeric nor categorical", v, dataset_));
    }
    if (options.complete_cases) {
      where += fmt::format("{} {} IS NOT NULL", where.empty() ? " WHERE" : " AND", Q(v));
    }
  }
  // An upper bound (the table's rows): reserving it touches no page beyond those written.
  ASSIGN_OR_RETURN(int64_t rows, RowCount());
  for (auto& c : out) {
    if (c.is_text) {
      c.texts.reserve(static_cast<size_t>(rows));
      c.missing.reserve(static_cast<size_t>(rows));
    } else {
      c.numbers.reserve(static_cast<size_t>(rows));
    }
  }
  ASSIGN_OR_RETURN(auto result,
                   source_.Query(fmt::format("SELECT {} FROM {}{}", select, Q(dataset_), where)));
  for (;;) {
    ASSIGN_OR_RETURN(auto chunk, result->Next());
    if (!chunk) break;
    for (size_t k = 0; k < variables.size(); ++k) {
      const auto& col = chunk->columns[k];
      auto& dst = out[k];
      if (!dst.is_text &&
          std::find(col.valid.begin(), col.valid.end(), uint8_t{0}) == col.valid.end()) {
        dst.numbers.insert(dst.numbers.end(), col.doubles.begin(), col.doubles.end());
        continue;
      }
      for (size_t i = 0; i < col.size(); ++i) {
        if (dst.is_text) {
          dst.missing.push_back(col.IsNull(i) ? 1 : 0);
          dst.texts.push_back(col.IsNull(i) ? std::string() : col.strings[i]);
        } else {
          dst.numbers.push_back(col.IsNull(i) ? std::numeric_limits<double>::quiet_NaN()
                                              : col.doubles[i]);
        }
      }
    }
  }
  result.reset();
  if (options.release_store_cache) ReleaseStoreCache();
  return out;
}

namespace {

// DuckDB's default memory limit as current_setting() shows it (from a throwaway in-memory
// instance, once per process); empty if it cannot be read.
const std::string& DefaultDuckDbMemoryLimit() {
  static const std::string value = []() -> std::string {
    auto db = store::OpenDuckDb({});
    if (!db.ok()) return "";
    auto c = store::QueryAll(**db, "SELECT current_setting('memory_limit')");
    if (!c.ok() || c->columns.empty() || c->columns[0].strings.empty()) return "";
    return c->columns[0].strings[0];
  }();
  return value;
}

}  // namespace

void SqlTable::ReleaseStoreCache() {
  // DuckDB evicts its unpinned buffers when its memory limit is lowered below what it holds; the
  // limit is then set back. current_setting() shows the limit truncated, so a configured limit
  // could not be put back exactly: this runs only when the limit shows as DuckDB's default, and
  // sets it back to within 0.05 of the unit shown (e.g. 100.55 GiB for "100.5 GiB"). And only
  // for file-backed databases without temporary tables: evicting in-memory blocks would write
  // them to DuckDB's temporary directory instead of dropping them. Best effort: a failure
  // (another query pinning memory) changes nothing.
  const std::string& default_limit = DefaultDuckDbMemoryLimit();
  if (default_limit.empty()) return;
  auto current = store::QueryAll(
      source_,
      "SELECT current_setting('memory_limit'), "
      "(SELECT count(*) FROM duckdb_tables() WHERE temporary), "
      "(SELECT count(*) FROM duckdb_databases() WHERE NOT internal AND path IS NULL)");
  if (!current.ok() || current->columns.size() != 3) return;
  const auto& cols = current->columns;
  if (cols[0].strings.size() != 1 || cols[1].ints.size() != 1 || cols[2].ints.size() != 1) return;
  if (cols[0].strings[0] != default_limit || cols[1].ints[0] != 0 || cols[2].ints[0] != 0) return;
  // The default shown as "<x> <unit>", truncated to one decimal; x + 0.05 shows as the same text
  // again (RESET would change the setting but not the buffer pool's limit).
  char* end = nullptr;
  const double x = std::strtod(default_limit.c_str(), &end);
  const std::string unit = end != nullptr ? std::string(end) : std::string();
  if (!(x > 0) || unit.find('\'') != std::string::npos) return;
  if (source_.Execute("SET memory_limit = '1MB'").ok()) {
    (void)source_.Execute(fmt::format("SET memory_limit = '{:.2f}{}'", x + 0.05, unit));
  }
}

}  // namespace passerelle::node
