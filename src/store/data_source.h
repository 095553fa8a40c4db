// The node's data store: the DataSource interface (front door of src/store) and the columnar
// values it exchanges. A DataSource runs SQL, streams typed columnar results in chunks,
// bulk-appends chunks, runs transactions and lists tables and columns. DuckDB implements it now
// (duckdb_source.h); PostgreSQL (libpq) is the second backend and needs nothing more than this.
//
// Values: dates are days since 1970-01-01, timestamps microseconds since the epoch (UTC), integers
// of every width int64, floating and decimal values double. A NULL is a 0 in `valid`.
//
// Thread-safety: a DataSource and its results belong to one thread at a time. Open one per
// thread for parallel work.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/dialect.h"

namespace passerelle::store {

enum class ColumnType { kBool, kInt64, kDouble, kString, kDate, kTimestamp };
std::string_view ColumnTypeName(ColumnType type);

struct ColumnSchema {
  std::string name;
  ColumnType type;
};
using Schema = std::vector<ColumnSchema>;

// One column of a chunk. By type, the values are in `ints` (bool, int64, date, timestamp),
// `doubles` or `strings`; the other vectors stay empty. Invariant: the used vector and `valid`
// have the same size.
struct ColumnVector {
  ColumnType type = ColumnType::kInt64;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;
  std::vector<uint8_t> valid;  // 1 = a value, 0 = NULL

  explicit ColumnVector(ColumnType t = ColumnType::kInt64) : type(t) {}
  size_t size() const { return valid.size(); }
  bool IsNull(size_t row) const { return valid[row] == 0; }
  void Reserve(size_t n);
  void Clear();
  void AppendNull();
  void AppendInt(int64_t v) {
    ints.push_back(v);
    valid.push_back(1);
  }
  void AppendDouble(double v) {
    doubles.push_back(v);
    valid.push_back(1);
  }
  void AppendString(std::string v) {
    strings.push_back(std::move(v));
    valid.push_back(1);
  }
  // Appends row `row` of `other` (same type).
  void AppendFrom(const ColumnVector& other, size_t row);
};

struct Chunk {
  std::vector<ColumnVector> columns;
  size_t size() const { return columns.empty() ? 0 : columns.front().size(); }
};

// A streaming query result.
class QueryResult {
 public:
  virtual ~QueryResult() = default;
  virtual const Schema& schema() const = 0;
  // The next chunk of rows, or nullopt after the last one.
  virtual Result<std::optional<Chunk>> Next() = 0;
};

// Bulk insertion into one table. Chunks carry the table's columns in table order.
class Appender {
 public:
  virtual ~Appender() = default;
  virtual Status AppendChunk(const Chunk& chunk) = 0;
  // Writes what is buffered; the appender stays usable. Also done on Close().
  virtual Status Flush() = 0;
  // Flushes and releases the table; the appender is unusable afterwards.
  virtual Status Close() = 0;
};

class DataSource {
 public:
  virtual ~DataSource() = default;

  virtual const Dialect& dialect() const = 0;

  // Runs statements that return no rows (DDL, INSERT ... SELECT, several statements).
  virtual Status Execute(std::string_view sql) = 0;
  // Runs one query and streams its rows.
  virtual Result<std::unique_ptr<QueryResult>> Query(std::string_view sql) = 0;
  virtual Result<std::unique_ptr<Appender>> OpenAppender(std::string_view table) = 0;

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // User tables of the default schema, sorted by name.
  virtual Result<std::vector<std::string>> ListTables() = 0;
  virtual Result<Schema> DescribeTable(std::string_view table) = 0;
  Result<bool> HasTable(std::string_view table);
};

// Reads a whole result into one chunk (for small results: counts, aggregates, metadata).
Result<Chunk> ReadAll(QueryResult& result);
Result<Chunk> QueryAll(DataSource& source, std::string_view sql);
// The single integer a query returns (e.g. SELECT count(*)); NULL reads as `if_null`.
Result<int64_t> QueryInt(DataSource& source, std::string_view sql, int64_t if_null = 0);

// Rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(DataSource& source);
  Transaction(Transaction&& other) noexcept : source_(other.source_) { other.source_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();
  Status Rollback();

 private:
  explicit Transaction(DataSource* s) : source_(s) {}
  DataSource* source_;  // null once finished
};

}  // namespace passerelle::store
