#include "store/data_source.h"

#include <fmt/format.h>

namespace passerelle::store {

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return "boolean";
    case ColumnType::kInt64:
      return "integer";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kString:
      return "varchar";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

void ColumnVector::Reserve(size_t n) {
  valid.reserve(n);
  switch (type) {
    case ColumnType::kDouble:
      doubles.reserve(n);
      break;
    case ColumnType::kString:
      strings.reserve(n);
      break;
    default:
      ints.reserve(n);
  }
}

void ColumnVector::Clear() {
  ints.clear();
  doubles.clear();
  strings.clear();
  valid.clear();
}

void ColumnVector::AppendNull() {
  switch (type) {
    case ColumnType::kDouble:
      doubles.push_back(0);
      break;
    case ColumnType::kString:
      strings.emplace_back();
      break;
    default:
      ints.push_back(0);
  }
  valid.push_back(0);
}

void ColumnVector::AppendFrom(const ColumnVector& other, size_t row) {
  switch (type) {
    case ColumnType::kDouble:
      doubles.push_back(other.doubles[row]);
      break;
    case ColumnType::kString:
      strings.push_back(other.strings[row]);
      break;
    default:
      ints.push_back(other.ints[row]);
  }
  valid.push_back(other.valid[row]);
}

Result<bool> DataSource::HasTable(std::string_view table) {
  ASSIGN_OR_RETURN(auto tables, ListTables());
  for (auto& t : tables) {
    if (t == table) return true;
  }
  return false;
}

Result<Chunk> ReadAll(QueryResult& result) {
  Chunk all;
  for (const auto& c : result.schema()) all.columns.emplace_back(c.type);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<Chunk> next, result.Next());
    if (!next) break;
    for (size_t c = 0; c < all.columns.size(); ++c) {
      auto& dst = all.columns[c];
      auto& src = next->columns[c];
      dst.valid.insert(dst.valid.end(), src.valid.begin(), src.valid.end());
      dst.ints.insert(dst.ints.end(), src.ints.begin(), src.ints.end());
      dst.doubles.insert(dst.doubles.end(), src.doubles.begin(), src.doubles.end());
      for (auto& s : src.strings) dst.strings.push_back(std::move(s));
    }
  }
  return all;
}

Result<Chunk> QueryAll(DataSource& source, std::string_view sql) {
  ASSIGN_OR_RETURN(auto result, source.Query(sql));
  return ReadAll(*result);
}

Result<int64_t> QueryInt(DataSource& source, std::string_view sql, int64_t if_null) {
  ASSIGN_OR_RETURN(Chunk c, QueryAll(source, sql));
  if (c.columns.size() != 1 || c.size() != 1) {
    return Status::Internal(fmt::format("expected one value from: {}", sql));
  }
  const ColumnVector& col = c.columns[0];
  if (col.IsNull(0)) return if_null;
  if (col.type == ColumnType::kDouble) return static_cast<int64_t>(col.doubles[0]);
  if (col.type == ColumnType::kString)
    return Status::Internal("expected a number from: " + std::string(sql));
  return col.ints[0];
}

Result<Transaction> Transaction::Begin(DataSource& source) {
  RETURN_IF_ERROR(source.Begin());
  return Transaction(&source);
}

Transaction::~Transaction() {
  if (source_) source_->Rollback().PermitUncheckedError();
}

Status Transaction::Commit() {
  if (!source_) return Status::FailedPrecondition("transaction already finished");
  DataSource* s = source_;
  source_ = nullptr;
  Status st = s->Commit();
  if (!st.ok()) s->Rollback().PermitUncheckedError();
  return st;
}

Status Transaction::Rollback() {
  if (!source_) return Status::Ok();
  DataSource* s = source_;
  source_ = nullptr;
  return s->Rollback();
}

}  // namespace passerelle::store
