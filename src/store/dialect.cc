#include "store/dialect.h"

#include "common/date.h"

namespace passerelle::store {

namespace {
std::string Quote(std::string_view s, char q) {
  std::string out;
  out.reserve(s.size() + 2);
  out += q;
  for (char c : s) {
    if (c == q) out += q;
    out += c;
  }
  out += q;
  return out;
}
}  // namespace

std::string Dialect::QuoteIdentifier(std::string_view name) const { return Quote(name, '"'); }
std::string Dialect::QuoteLiteral(std::string_view text) const { return Quote(text, '\''); }

std::string Dialect::DateLiteral(int days) const { return "DATE '" + FormatDate(days) + "'"; }

std::string Dialect::AddDays(std::string_view date_expr, std::string_view days) const {
  // Both DuckDB and PostgreSQL accept date + integer -> date.
  return "(CAST(" + std::string(date_expr) + " AS DATE) + CAST(" + std::string(days) +
         " AS INTEGER))";
}

std::string Dialect::DaysBetween(std::string_view a, std::string_view b) const {
  // In both backends date - date is an integer number of days.
  return "(CAST(" + std::string(b) + " AS DATE) - CAST(" + std::string(a) + " AS DATE))";
}

std::string Dialect::CreateTableAs(std::string_view table, std::string_view select,
                                   bool temporary) const {
  // Same syntax in DuckDB and PostgreSQL; a temporary table lives until the session ends.
  return std::string(temporary ? "CREATE TEMPORARY TABLE " : "CREATE TABLE ") +
         QuoteIdentifier(table) + " AS " + std::string(select);
}

std::string Dialect::DropTableIfExists(std::string_view table) const {
  return "DROP TABLE IF EXISTS " + QuoteIdentifier(table);
}

std::string Dialect::DropTemporaryTableIfExists(std::string_view table) const {
  return std::string("DROP TABLE IF EXISTS ") +
         (kind_ == DialectKind::kDuckDb ? "temp." : "pg_temp.") + QuoteIdentifier(table);
}

std::string Dialect::YearOf(std::string_view date_expr) const {
  // EXTRACT gives BIGINT in DuckDB and NUMERIC in PostgreSQL: cast to one type.
  return "CAST(EXTRACT(YEAR FROM " + std::string(date_expr) + ") AS INTEGER)";
}

std::string Dialect::CastDouble(std::string_view expr) const {
  return "CAST(" + std::string(expr) + " AS " + std::string(DoubleType()) + ")";
}

std::string_view Dialect::DoubleType() const {
  return kind_ == DialectKind::kDuckDb ? "DOUBLE" : "DOUBLE PRECISION";
}

std::string_view Dialect::TextType() const {
  return kind_ == DialectKind::kDuckDb ? "VARCHAR" : "TEXT";
}

const Dialect& Dialect::DuckDb() {
  static const Dialect d(DialectKind::kDuckDb);
  return d;
}
const Dialect& Dialect::Postgres() {
  static const Dialect d(DialectKind::kPostgres);
  return d;
}

}  // namespace passerelle::store
