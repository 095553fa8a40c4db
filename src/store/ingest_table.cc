#include "store/ingest_table.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/strings.h"
#include "store/csv_error.h"
#include "store/datasets.h"

namespace passerelle::store {
namespace {

std::string_view SqlTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kBool:
      return "BOOLEAN";
    case ColumnType::kInt64:
      return "BIGINT";
    case ColumnType::kDouble:
      return "DOUBLE";
    case ColumnType::kString:
      return "VARCHAR";
    case ColumnType::kDate:
      return "DATE";
    case ColumnType::kTimestamp:
      return "TIMESTAMP";
  }
  return "VARCHAR";
}

}  // namespace

Result<TableIngestReport> IngestTable(DataSource& source, const TableIngestOptions& options) {
  RETURN_IF_ERROR(ValidateDatasetName(options.name));
  const Dialect& d = source.dialect();
  const std::string label = options.from.filename().string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(options.from, ec)) {
    return Status::NotFound(fmt::format("{}: no such file", options.from.string()));
  }
  const std::string lower = AsciiLower(options.from.string());
  std::string reader;
  if (EndsWith(lower, ".parquet")) {
    reader = fmt::format("read_parquet({})", d.QuoteLiteral(options.from.string()));
  } else if (EndsWith(lower, ".csv") || EndsWith(lower, ".csv.gz") || EndsWith(lower, ".tsv") ||
             EndsWith(lower, ".txt")) {
    if (std::filesystem::file_size(options.from, ec) == 0) {
      return Status::InvalidArgument(
          fmt::format("{}: the file is empty (a header line is needed)", label));
    }
    std::string nulls = d.QuoteLiteral("");
    for (const auto& n : options.extra_null_strings) nulls += ", " + d.QuoteLiteral(n);
    reader = fmt::format(
        "read_csv({}, header = true, skip = 0, delim = {}, quote = '\"', escape = '\"', "
        "nullstr = [{}], sample_size = -1, strict_mode = true, normalize_names = false)",
        d.QuoteLiteral(options.from.string()), d.QuoteLiteral(std::string(1, options.delimiter)),
        nulls);
  } else {
    return Status::InvalidArgument(
        fmt::format("{}: unknown file type (use .csv, .csv.gz, .tsv or .parquet)", label));
  }

  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(source));
  ASSIGN_OR_RETURN(bool exists, source.HasTable(options.name));
  if (exists) {
    if (!options.replace) {
      return Status::AlreadyExists(
          fmt::format("table \"{}\" already exists in the database (use --replace to replace it)",
                      options.name));
    }
    RETURN_IF_ERROR(source.Execute("DROP TABLE " + d.QuoteIdentifier(options.name)));
  }
  std::string select_list = "*";
  if (options.rewrite) {
    // The file's columns and types as DuckDB reads them, then one expression per column.
    auto probe = source.Query(fmt::format("SELECT * FROM {} LIMIT 0", reader));
    if (!probe.ok())
      return Status::InvalidArgument(DescribeCsvError(label, probe.status().message()));
    std::vector<IngestColumn> columns;
    for (const auto& c : (*probe)->schema()) {
      columns.push_back({c.name, d.QuoteIdentifier(c.name), std::string(SqlTypeName(c.type))});
    }
    ASSIGN_OR_RETURN(std::vector<std::string> exprs, options.rewrite(options.name, columns));
    if (exprs.size() != columns.size()) {
      return Status::Internal("column rewrite returned the wrong number of expressions");
    }
    select_list.clear();
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) select_list += ", ";
      select_list += exprs[i] + " AS " + columns[i].expr;
    }
  }
  Status st = source.Execute(fmt::format("CREATE TABLE {} AS SELECT {} FROM {}",
                                         d.QuoteIdentifier(options.name), select_list, reader));
  if (!st.ok()) return Status::InvalidArgument(DescribeCsvError(label, st.message()));

  TableIngestReport report;
  report.name = options.name;
  ASSIGN_OR_RETURN(report.rows,
                   QueryInt(source, "SELECT count(*) FROM " + d.QuoteIdentifier(options.name)));
  ASSIGN_OR_RETURN(report.columns, source.DescribeTable(options.name));
  DatasetRecord rec{options.name, "table", label, report.rows, SystemClock::Default().NowMicros()};
  RETURN_IF_ERROR(RecordDataset(source, rec));
  RETURN_IF_ERROR(tx.Commit());
  return report;
}

}  // namespace passerelle::store
