#include "privacy/pprl/encode_source.h"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <unordered_set>

#include "common/date.h"
#include "common/strings.h"
#include "store/csv_error.h"
#include "store/data_source.h"
#include "store/duckdb_source.h"

namespace passerelle::pprl {
namespace {

// The text of a cell, or nullopt when NULL.
std::optional<std::string> CellText(const store::ColumnVector& col, size_t row) {
  if (col.IsNull(row)) return std::nullopt;
  switch (col.type) {
    case store::ColumnType::kString:
      return col.strings[row];
    case store::ColumnType::kInt64:
    case store::ColumnType::kBool:
      return std::to_string(col.ints[row]);
    case store::ColumnType::kDate:
      return FormatDate(static_cast<int32_t>(col.ints[row]));
    case store::ColumnType::kDouble:
      return fmt::format("{}", col.doubles[row]);
    case store::ColumnType::kTimestamp: {
      // Microseconds since the epoch: keep the calendar day.
      int64_t us = col.ints[row];
      int64_t days = us / 86400000000LL - (us % 86400000000LL < 0 ? 1 : 0);
      return FormatDate(static_cast<int32_t>(days));
    }
  }
  return std::nullopt;
}

Result<size_t> FindColumn(const store::Schema& schema, std::string_view name,
                          std::string_view what) {
  for (size_t i = 0; i < schema.size(); ++i) {
    if (Trim(schema[i].name) == Trim(name)) return i;
  }
  std::string names;
  for (const auto& c : schema) names += (names.empty() ? "" : ", ") + std::string(Trim(c.name));
  return Status::InvalidArgument(
      fmt::format("{} \"{}\" is not a column of the input (columns: {})", what, name, names));
}

// Encodes every row of a query result. Errors of the data source itself go through
// `source_error` (which may rewrite them so that no row data reaches a message).
template <typename SourceError>
Result<ClkSet> EncodeRows(const Encoder& encoder, store::QueryResult* result, EncodeReport* report,
                          SourceError source_error) {
  const LinkageSchema& schema = encoder.schema();
  const store::Schema& cols = result->schema();
  ASSIGN_OR_RETURN(size_t id_col, FindColumn(cols, schema.id_column, "the id column"));
  std::vector<size_t> field_cols;
  for (const FieldSpec& f : schema.fields) {
    ASSIGN_OR_RETURN(size_t c,
                     FindColumn(cols, f.column, fmt::format("field \"{}\": column", f.name)));
    field_cols.push_back(c);
  }
  ClkSet set(encoder.Header());
  std::vector<FieldReport> fields = NewFieldReport(schema);
  std::vector<uint64_t> clk(encoder.output_words());
  std::vector<uint64_t> keys;
  std::vector<std::optional<std::string>> texts(field_cols.size());
  std::vector<std::optional<std::string_view>> values(field_cols.size());
  std::unordered_set<std::string> seen_ids;
  size_t row_number = 0;
  for (;;) {
    Result<std::optional<store::Chunk>> next = result->Next();
    if (!next.ok()) return source_error(next.status());
    std::optional<store::Chunk>& chunk = *next;
    if (!chunk) break;
    for (size_t r = 0; r < chunk->size(); ++r) {
      ++row_number;
      std::optional<std::string> id = CellText(chunk->columns[id_col], r);
      if (id) id = std::string(Trim(*id));
      if (!id || id->empty()) {
        return Status::InvalidArgument(
            fmt::format("record {}: the id column \"{}\" is empty", row_number, schema.id_column));
      }
      if (id->size() > ClkSet::kMaxIdBytes) {
        return Status::InvalidArgument(fmt::format("record {}: the id is longer than {} bytes",
                                                   row_number, ClkSet::kMaxIdBytes));
      }
      if (!seen_ids.insert(*id).second) {
        return Status::InvalidArgument(fmt::format(
            "record {}: the id column \"{}\" repeats an earlier record's id (ids must be unique)",
            row_number, schema.id_column));
      }
      for (size_t f = 0; f < field_cols.size(); ++f) {
        texts[f] = CellText(chunk->columns[field_cols[f]], r);
        values[f] = texts[f] ? std::optional<std::string_view>(*texts[f]) : std::nullopt;
      }
      encoder.Encode(values, clk, &keys, &fields);
      set.Append(std::move(*id), clk, keys);
    }
  }
  if (report != nullptr) {
    report->records = set.size();
    report->fields = std::move(fields);
  }
  return set;
}

}  // namespace

Result<ClkSet> EncodeQuery(const Encoder& encoder, store::DataSource& source, std::string_view sql,
                           EncodeReport* report) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::QueryResult> result, source.Query(sql));
  return EncodeRows(encoder, result.get(), report, [](const Status& s) { return s; });
}

Result<ClkSet> EncodeCsvFile(const Encoder& encoder, const std::filesystem::path& csv,
                             char delimiter, EncodeReport* report) {
  const std::string label = csv.filename().string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(csv, ec)) {
    return Status::NotFound(fmt::format("{}: no such file", csv.string()));
  }
  if (std::filesystem::file_size(csv, ec) == 0) {
    return Status::InvalidArgument(
        fmt::format("{}: the file is empty (a header line is needed)", label));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::DataSource> db, store::OpenDuckDb({}));
  const store::Dialect& d = db->dialect();
  const std::string sql = fmt::format(
      "SELECT * FROM read_csv({}, header = true, all_varchar = true, delim = {}, quote = '\"', "
      "escape = '\"', nullstr = '', strict_mode = true, normalize_names = false)",
      d.QuoteLiteral(csv.string()), d.QuoteLiteral(std::string(1, delimiter)));
  auto csv_error = [&](const Status& s) {
    return Status::InvalidArgument(store::DescribeCsvError(label, s.message()));
  };
  Result<std::unique_ptr<store::QueryResult>> result = db->Query(sql);
  if (!result.ok()) return csv_error(result.status());
  Result<ClkSet> set = EncodeRows(encoder, result->get(), report, csv_error);
  if (!set.ok() && !StartsWith(set.status().message(), label)) {
    return set.status().WithContext(label);
  }
  return set;
}

}  // namespace passerelle::pprl
