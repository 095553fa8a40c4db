// SQL dialects: what differs between the stores' SQL (quoting, date arithmetic, CSV access).
// Code that generates SQL (ingest, cohorts) asks the source's dialect instead of writing
// backend-specific SQL. Thread-safety: immutable.
#pragma once

#include <string>
#include <string_view>

namespace passerelle::store {

enum class DialectKind { kDuckDb, kPostgres };

class Dialect {
 public:
  explicit Dialect(DialectKind kind) : kind_(kind) {}
  DialectKind kind() const { return kind_; }
  std::string_view name() const { return kind_ == DialectKind::kDuckDb ? "duckdb" : "postgres"; }

  // "name" with embedded quotes doubled.
  std::string QuoteIdentifier(std::string_view name) const;
  // 'text' with embedded quotes doubled.
  std::string QuoteLiteral(std::string_view text) const;
  // A DATE literal from days since the epoch.
  std::string DateLiteral(int days) const;
  // Expression: `date_expr` plus `days` (an integer expression) days, as a DATE.
  std::string AddDays(std::string_view date_expr, std::string_view days) const;
  // Expression: whole days from `a` to `b` (b - a), as an integer.
  std::string DaysBetween(std::string_view a, std::string_view b) const;

  // Added for cohorts (SQL generators that build work tables):
  // Statement: CREATE [TEMPORARY] TABLE "table" AS <select>.
  std::string CreateTableAs(std::string_view table, std::string_view select, bool temporary) const;
  // Statement: DROP TABLE IF EXISTS "table".
  std::string DropTableIfExists(std::string_view table) const;
  // Statement: drops the temporary table `table` if it exists, never a regular table of the same
  // name (DuckDB: temp."table"; PostgreSQL: pg_temp."table").
  std::string DropTemporaryTableIfExists(std::string_view table) const;
  // Expression: the calendar year of a DATE, as an INTEGER.
  std::string YearOf(std::string_view date_expr) const;
  // Expression: `expr` cast to a floating-point number.
  std::string CastDouble(std::string_view expr) const;
  // Type names: DOUBLE (DuckDB) / DOUBLE PRECISION (PostgreSQL); BIGINT; INTEGER; VARCHAR / TEXT.
  std::string_view DoubleType() const;
  std::string_view BigIntType() const { return "BIGINT"; }
  std::string_view IntegerType() const { return "INTEGER"; }
  std::string_view TextType() const;

  static const Dialect& DuckDb();
  static const Dialect& Postgres();

 private:
  DialectKind kind_;
};

}  // namespace passerelle::store
