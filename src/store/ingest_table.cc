#include "store/ingest_table.h"

#include <fmt/format.h>

#include "common/clock.h"
#include "common/strings.h"
#include "store/csv_error.h"
#include "store/datasets.h"

namespace passerelle::store {

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
  Status st = source.Execute(
      fmt::format("CREATE TABLE {} AS SELECT * FROM {}", d.QuoteIdentifier(options.name), reader));
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
