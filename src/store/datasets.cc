#include "store/datasets.h"

#include <fmt/format.h>

#include "common/strings.h"

namespace passerelle::store {

Status EnsureDatasetRegistry(DataSource& source) {
  const Dialect& d = source.dialect();
  return source.Execute(
      fmt::format("CREATE TABLE IF NOT EXISTS {} (name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, "
                  "source VARCHAR, rows BIGINT, loaded_at_micros BIGINT)",
                  d.QuoteIdentifier(kDatasetsTable)));
}

Status RecordDataset(DataSource& source, const DatasetRecord& r) {
  RETURN_IF_ERROR(EnsureDatasetRegistry(source));
  RETURN_IF_ERROR(ForgetDataset(source, r.name));
  const Dialect& d = source.dialect();
  return source.Execute(fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {}, {})",
                                    d.QuoteIdentifier(kDatasetsTable), d.QuoteLiteral(r.name),
                                    d.QuoteLiteral(r.kind), d.QuoteLiteral(r.source), r.rows,
                                    r.loaded_at_micros));
}

Status ForgetDataset(DataSource& source, std::string_view name) {
  ASSIGN_OR_RETURN(bool has, source.HasTable(kDatasetsTable));
  if (!has) return Status::Ok();
  const Dialect& d = source.dialect();
  return source.Execute(fmt::format("DELETE FROM {} WHERE name = {}",
                                    d.QuoteIdentifier(kDatasetsTable), d.QuoteLiteral(name)));
}

Result<std::vector<DatasetRecord>> ListDatasets(DataSource& source) {
  std::vector<DatasetRecord> out;
  ASSIGN_OR_RETURN(bool has, source.HasTable(kDatasetsTable));
  if (!has) return out;
  ASSIGN_OR_RETURN(Chunk c,
                   QueryAll(source, fmt::format("SELECT name, kind, source, rows, "
                                                "loaded_at_micros FROM {} ORDER BY name",
                                                source.dialect().QuoteIdentifier(kDatasetsTable))));
  for (size_t i = 0; i < c.size(); ++i) {
    DatasetRecord r;
    r.name = c.columns[0].strings[i];
    r.kind = c.columns[1].strings[i];
    r.source = c.columns[2].IsNull(i) ? "" : c.columns[2].strings[i];
    r.rows = c.columns[3].IsNull(i) ? 0 : c.columns[3].ints[i];
    r.loaded_at_micros = c.columns[4].IsNull(i) ? 0 : c.columns[4].ints[i];
    out.push_back(std::move(r));
  }
  return out;
}

Status ValidateDatasetName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("dataset name \"{}\" {}", name, why));
  };
  if (name.empty() || name.size() > 63) return bad("must have 1 to 63 characters");
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return bad("must start with a letter or '_'");
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) {
      return bad("may only contain letters, digits and '_'");
    }
  }
  if (StartsWith(AsciiLower(name), "_passerelle")) return bad("is reserved");
  return Status::Ok();
}

}  // namespace passerelle::store
