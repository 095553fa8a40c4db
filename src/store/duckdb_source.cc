#include "store/duckdb_source.h"

#include <duckdb.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace passerelle::store {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

// RAII owners of C handles.
struct LogicalTypeHandle {
  duckdb_logical_type t = nullptr;
  explicit LogicalTypeHandle(duckdb_logical_type x) : t(x) {}
  ~LogicalTypeHandle() {
    if (t) duckdb_destroy_logical_type(&t);
  }
  LogicalTypeHandle(const LogicalTypeHandle&) = delete;
  LogicalTypeHandle& operator=(const LogicalTypeHandle&) = delete;
};

struct DataChunkHandle {
  duckdb_data_chunk c = nullptr;
  explicit DataChunkHandle(duckdb_data_chunk x) : c(x) {}
  ~DataChunkHandle() {
    if (c) duckdb_destroy_data_chunk(&c);
  }
  DataChunkHandle(const DataChunkHandle&) = delete;
  DataChunkHandle& operator=(const DataChunkHandle&) = delete;
};

Status SqlError(std::string_view what, const char* message) {
  return Status::InvalidArgument(
      fmt::format("{}: {}", what, message ? message : "unknown DuckDB error"));
}

// How a DuckDB column maps onto our ColumnType, and what is needed to decode it.
struct ColumnDecoder {
  duckdb_type physical = DUCKDB_TYPE_INVALID;  // the DuckDB type id
  ColumnType type = ColumnType::kInt64;
  duckdb_type decimal_internal = DUCKDB_TYPE_INVALID;
  double decimal_divisor = 1.0;
};

Result<ColumnDecoder> MakeDecoder(duckdb_logical_type lt, const std::string& name) {
  ColumnDecoder d;
  d.physical = duckdb_get_type_id(lt);
  switch (d.physical) {
    case DUCKDB_TYPE_BOOLEAN:
      d.type = ColumnType::kBool;
      break;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
      d.type = ColumnType::kInt64;
      break;
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
      d.type = ColumnType::kDouble;
      break;
    case DUCKDB_TYPE_DECIMAL: {
      d.type = ColumnType::kDouble;
      d.decimal_internal = duckdb_decimal_internal_type(lt);
      d.decimal_divisor = 1.0;
      for (int i = 0; i < duckdb_decimal_scale(lt); ++i) d.decimal_divisor *= 10.0;
      break;
    }
    case DUCKDB_TYPE_VARCHAR:
      d.type = ColumnType::kString;
      break;
    case DUCKDB_TYPE_DATE:
      d.type = ColumnType::kDate;
      break;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
      d.type = ColumnType::kTimestamp;
      break;
    default:
      return Status::InvalidArgument(fmt::format(
          "column \"{}\" has a DuckDB type (id {}) that the store does not read; cast it in SQL "
          "to a number, text, date or timestamp",
          name, static_cast<int>(d.physical)));
  }
  return d;
}

Status DecodeVector(duckdb_vector vec, idx_t n, const ColumnDecoder& d, const std::string& name,
                    ColumnVector& out) {
  void* data = duckdb_vector_get_data(vec);
  uint64_t* validity = duckdb_vector_get_validity(vec);
  out.valid.resize(n);
  for (idx_t i = 0; i < n; ++i) out.valid[i] = duckdb_validity_row_is_valid(validity, i) ? 1 : 0;
  auto ints = [&](auto* p) {
    out.ints.resize(n);
    for (idx_t i = 0; i < n; ++i) out.ints[i] = static_cast<int64_t>(p[i]);
  };
  switch (d.physical) {
    case DUCKDB_TYPE_BOOLEAN: {
      // Read bytes, not bool: a NULL slot may hold any byte.
      auto* p = static_cast<uint8_t*>(data);
      out.ints.resize(n);
      for (idx_t i = 0; i < n; ++i) out.ints[i] = p[i] != 0;
      break;
    }
    case DUCKDB_TYPE_TINYINT:
      ints(static_cast<int8_t*>(data));
      break;
    case DUCKDB_TYPE_SMALLINT:
      ints(static_cast<int16_t*>(data));
      break;
    case DUCKDB_TYPE_INTEGER:
      ints(static_cast<int32_t*>(data));
      break;
    case DUCKDB_TYPE_BIGINT:
      ints(static_cast<int64_t*>(data));
      break;
    case DUCKDB_TYPE_UTINYINT:
      ints(static_cast<uint8_t*>(data));
      break;
    case DUCKDB_TYPE_USMALLINT:
      ints(static_cast<uint16_t*>(data));
      break;
    case DUCKDB_TYPE_UINTEGER:
      ints(static_cast<uint32_t*>(data));
      break;
    case DUCKDB_TYPE_UBIGINT: {
      auto* p = static_cast<uint64_t*>(data);
      out.ints.resize(n);
      for (idx_t i = 0; i < n; ++i) {
        if (out.valid[i] && p[i] > static_cast<uint64_t>(INT64_MAX)) {
          return Status::OutOfRange(fmt::format("column \"{}\": value exceeds int64", name));
        }
        out.ints[i] = static_cast<int64_t>(p[i]);
      }
      break;
    }
    case DUCKDB_TYPE_HUGEINT: {
      auto* p = static_cast<duckdb_hugeint*>(data);
      out.ints.resize(n);
      for (idx_t i = 0; i < n; ++i) {
        const duckdb_hugeint& h = p[i];
        bool fits = (h.upper == 0 && h.lower <= static_cast<uint64_t>(INT64_MAX)) ||
                    (h.upper == -1 && h.lower >= static_cast<uint64_t>(INT64_MIN));
        if (out.valid[i] && !fits) {
          return Status::OutOfRange(fmt::format("column \"{}\": value exceeds int64", name));
        }
        out.ints[i] = static_cast<int64_t>(h.lower);
      }
      break;
    }
    case DUCKDB_TYPE_FLOAT: {
      auto* p = static_cast<float*>(data);
      out.doubles.assign(p, p + n);
      break;
    }
    case DUCKDB_TYPE_DOUBLE: {
      auto* p = static_cast<double*>(data);
      out.doubles.assign(p, p + n);
      break;
    }
    case DUCKDB_TYPE_DECIMAL: {
      out.doubles.resize(n);
      for (idx_t i = 0; i < n; ++i) {
        double raw = 0;
        switch (d.decimal_internal) {
          case DUCKDB_TYPE_SMALLINT:
            raw = static_cast<int16_t*>(data)[i];
            break;
          case DUCKDB_TYPE_INTEGER:
            raw = static_cast<int32_t*>(data)[i];
            break;
          case DUCKDB_TYPE_BIGINT:
            raw = static_cast<double>(static_cast<int64_t*>(data)[i]);
            break;
          default: {
            const duckdb_hugeint& h = static_cast<duckdb_hugeint*>(data)[i];
            raw = static_cast<double>(h.upper) * 18446744073709551616.0 +
                  static_cast<double>(h.lower);
          }
        }
        out.doubles[i] = raw / d.decimal_divisor;
      }
      break;
    }
    case DUCKDB_TYPE_VARCHAR: {
      auto* p = static_cast<duckdb_string_t*>(data);
      out.strings.resize(n);
      for (idx_t i = 0; i < n; ++i) {
        if (!out.valid[i]) continue;
        out.strings[i].assign(duckdb_string_t_data(&p[i]), duckdb_string_t_length(p[i]));
      }
      break;
    }
    case DUCKDB_TYPE_DATE:
      ints(static_cast<int32_t*>(data));
      break;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      ints(static_cast<int64_t*>(data));
      break;
    case DUCKDB_TYPE_TIMESTAMP_S: {
      ints(static_cast<int64_t*>(data));
      for (auto& v : out.ints) v *= 1000000;
      break;
    }
    case DUCKDB_TYPE_TIMESTAMP_MS: {
      ints(static_cast<int64_t*>(data));
      for (auto& v : out.ints) v *= 1000;
      break;
    }
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      ints(static_cast<int64_t*>(data));
      for (auto& v : out.ints) v /= 1000;
      break;
    }
    default:
      return Status::Internal("unreachable column type");
  }
  return Status::Ok();
}

class DuckDbQueryResult final : public QueryResult {
 public:
  DuckDbQueryResult() { std::memset(&result_, 0, sizeof result_); }
  ~DuckDbQueryResult() override { duckdb_destroy_result(&result_); }

  Status Init() {
    idx_t ncol = duckdb_column_count(&result_);
    for (idx_t c = 0; c < ncol; ++c) {
      std::string name = duckdb_column_name(&result_, c);
      LogicalTypeHandle lt(duckdb_column_logical_type(&result_, c));
      ASSIGN_OR_RETURN(ColumnDecoder d, MakeDecoder(lt.t, name));
      schema_.push_back({name, d.type});
      decoders_.push_back(d);
    }
    return Status::Ok();
  }

  duckdb_result* raw() { return &result_; }
  const Schema& schema() const override { return schema_; }

  Result<std::optional<Chunk>> Next() override {
    if (done_) return std::optional<Chunk>();
    DataChunkHandle chunk(duckdb_fetch_chunk(result_));
    if (!chunk.c) {
      done_ = true;
      // A streaming query reports failures met while producing rows here.
      if (duckdb_result_error(&result_) != nullptr) {
        return SqlError("query failed", duckdb_result_error(&result_));
      }
      return std::optional<Chunk>();
    }
    idx_t n = duckdb_data_chunk_get_size(chunk.c);
    Chunk out;
    out.columns.reserve(schema_.size());
    for (idx_t c = 0; c < schema_.size(); ++c) {
      ColumnVector col(schema_[c].type);
      RETURN_IF_ERROR(DecodeVector(duckdb_data_chunk_get_vector(chunk.c, c), n, decoders_[c],
                                   schema_[c].name, col));
      out.columns.push_back(std::move(col));
    }
    return std::optional<Chunk>(std::move(out));
  }

 private:
  duckdb_result result_;
  Schema schema_;
  std::vector<ColumnDecoder> decoders_;
  bool done_ = false;
};

class DuckDbAppender final : public Appender {
 public:
  DuckDbAppender(duckdb_appender a, std::string table) : app_(a), table_(std::move(table)) {
    idx_t n = duckdb_appender_column_count(app_);
    for (idx_t i = 0; i < n; ++i) types_.push_back(duckdb_appender_column_type(app_, i));
    for (auto t : types_) ids_.push_back(duckdb_get_type_id(t));
  }
  ~DuckDbAppender() override {
    if (app_) {
      duckdb_appender_close(app_);
      duckdb_appender_destroy(&app_);
    }
    for (auto& t : types_) duckdb_destroy_logical_type(&t);
  }

  Status AppendChunk(const Chunk& chunk) override {
    if (!app_) return Status::FailedPrecondition("appender for " + table_ + " is closed");
    if (chunk.columns.size() != types_.size()) {
      return Status::InvalidArgument(fmt::format("append to {}: chunk has {} columns, table has {}",
                                                 table_, chunk.columns.size(), types_.size()));
    }
    const size_t rows = chunk.size();
    for (const auto& col : chunk.columns) {
      if (col.size() != rows) {
        return Status::InvalidArgument(
            fmt::format("append to {}: columns of unequal length", table_));
      }
    }
    const idx_t cap = duckdb_vector_size();
    DataChunkHandle dc(duckdb_create_data_chunk(types_.data(), types_.size()));
    for (size_t start = 0; start < rows; start += cap) {
      const idx_t n = std::min<idx_t>(cap, rows - start);
      duckdb_data_chunk_reset(dc.c);
      for (size_t c = 0; c < types_.size(); ++c) {
        RETURN_IF_ERROR(FillVector(duckdb_data_chunk_get_vector(dc.c, c), ids_[c], chunk.columns[c],
                                   start, n, c));
      }
      duckdb_data_chunk_set_size(dc.c, n);
      if (duckdb_append_data_chunk(app_, dc.c) == DuckDBError) {
        return SqlError("append to " + table_, duckdb_appender_error(app_));
      }
    }
    return Status::Ok();
  }

  Status Flush() override {
    if (!app_) return Status::Ok();
    if (duckdb_appender_flush(app_) == DuckDBError) {
      return SqlError("append to " + table_, duckdb_appender_error(app_));
    }
    return Status::Ok();
  }

  Status Close() override {
    if (!app_) return Status::Ok();
    Status st;
    if (duckdb_appender_close(app_) == DuckDBError) {
      st = SqlError("append to " + table_, duckdb_appender_error(app_));
    }
    duckdb_appender_destroy(&app_);
    app_ = nullptr;
    return st;
  }

 private:
  Status FillVector(duckdb_vector vec, duckdb_type id, const ColumnVector& col, size_t start,
                    idx_t n, size_t index) {
    void* data = duckdb_vector_get_data(vec);
    bool any_null = false;
    for (idx_t i = 0; i < n; ++i) any_null |= col.valid[start + i] == 0;
    if (any_null) {
      duckdb_vector_ensure_validity_writable(vec);
      uint64_t* validity = duckdb_vector_get_validity(vec);
      for (idx_t i = 0; i < n; ++i) {
        if (!col.valid[start + i]) duckdb_validity_set_row_invalid(validity, i);
      }
    }
    auto need = [&](bool ok) -> Status {
      if (ok) return Status::Ok();
      return Status::InvalidArgument(
          fmt::format("append to {}: column {} is {} but the table column has another type", table_,
                      index, ColumnTypeName(col.type)));
    };
    const bool is_int = col.type == ColumnType::kInt64 || col.type == ColumnType::kBool ||
                        col.type == ColumnType::kDate || col.type == ColumnType::kTimestamp;
    auto put_ints = [&](auto* p) {
      for (idx_t i = 0; i < n; ++i) {
        p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(col.ints[start + i]);
      }
    };
    switch (id) {
      case DUCKDB_TYPE_BOOLEAN:
        RETURN_IF_ERROR(need(is_int));
        put_ints(static_cast<bool*>(data));
        break;
      case DUCKDB_TYPE_TINYINT:
        RETURN_IF_ERROR(need(is_int));
        put_ints(static_cast<int8_t*>(data));
        break;
      case DUCKDB_TYPE_SMALLINT:
        RETURN_IF_ERROR(need(is_int));
        put_ints(static_cast<int16_t*>(data));
        break;
      case DUCKDB_TYPE_INTEGER:
        RETURN_IF_ERROR(need(is_int));
        put_ints(static_cast<int32_t*>(data));
        break;
      case DUCKDB_TYPE_BIGINT:
        RETURN_IF_ERROR(need(is_int));
        put_ints(static_cast<int64_t*>(data));
        break;
      case DUCKDB_TYPE_DATE:
        RETURN_IF_ERROR(need(col.type == ColumnType::kDate || col.type == ColumnType::kInt64));
        put_ints(static_cast<int32_t*>(data));
        break;
      case DUCKDB_TYPE_TIMESTAMP: {
        RETURN_IF_ERROR(need(is_int));
        auto* p = static_cast<int64_t*>(data);
        for (idx_t i = 0; i < n; ++i) {
          int64_t v = col.ints[start + i];
          p[i] = col.type == ColumnType::kDate ? v * kMicrosPerDay : v;
        }
        break;
      }
      case DUCKDB_TYPE_DOUBLE:
      case DUCKDB_TYPE_FLOAT: {
        bool dbl = col.type == ColumnType::kDouble;
        RETURN_IF_ERROR(need(dbl || col.type == ColumnType::kInt64));
        for (idx_t i = 0; i < n; ++i) {
          double v = dbl ? col.doubles[start + i] : static_cast<double>(col.ints[start + i]);
          if (id == DUCKDB_TYPE_DOUBLE) {
            static_cast<double*>(data)[i] = v;
          } else {
            static_cast<float*>(data)[i] = static_cast<float>(v);
          }
        }
        break;
      }
      case DUCKDB_TYPE_VARCHAR: {
        RETURN_IF_ERROR(need(col.type == ColumnType::kString));
        for (idx_t i = 0; i < n; ++i) {
          if (!col.valid[start + i]) continue;
          const std::string& s = col.strings[start + i];
          duckdb_vector_assign_string_element_len(vec, i, s.data(), s.size());
        }
        break;
      }
      default:
        return Status::InvalidArgument(fmt::format(
            "append to {}: column {} has a type the appender does not write", table_, index));
    }
    return Status::Ok();
  }

  duckdb_appender app_;
  std::string table_;
  std::vector<duckdb_logical_type> types_;
  std::vector<duckdb_type> ids_;
};

class DuckDbSource final : public DataSource {
 public:
  DuckDbSource(duckdb_database db, duckdb_connection con) : db_(db), con_(con) {}
  ~DuckDbSource() override {
    duckdb_disconnect(&con_);
    duckdb_close(&db_);
  }

  const Dialect& dialect() const override { return Dialect::DuckDb(); }

  Status Execute(std::string_view sql) override {
    duckdb_result res;
    std::string q(sql);
    if (duckdb_query(con_, q.c_str(), &res) == DuckDBError) {
      Status st = SqlError("SQL failed", duckdb_result_error(&res));
      duckdb_destroy_result(&res);
      return st;
    }
    duckdb_destroy_result(&res);
    return Status::Ok();
  }

  Result<std::unique_ptr<QueryResult>> Query(std::string_view sql) override {
    std::string q(sql);
    duckdb_prepared_statement stmt = nullptr;
    if (duckdb_prepare(con_, q.c_str(), &stmt) == DuckDBError) {
      Status st = SqlError("SQL failed", duckdb_prepare_error(stmt));
      duckdb_destroy_prepare(&stmt);
      return st;
    }
    duckdb_pending_result pending = nullptr;
    if (duckdb_pending_prepared_streaming(stmt, &pending) == DuckDBError) {
      Status st = SqlError("SQL failed", duckdb_pending_error(pending));
      duckdb_destroy_pending(&pending);
      duckdb_destroy_prepare(&stmt);
      return st;
    }
    auto result = std::make_unique<DuckDbQueryResult>();
    duckdb_state state = duckdb_execute_pending(pending, result->raw());
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&stmt);
    if (state == DuckDBError) return SqlError("SQL failed", duckdb_result_error(result->raw()));
    RETURN_IF_ERROR(result->Init());
    return std::unique_ptr<QueryResult>(std::move(result));
  }

  Result<std::unique_ptr<Appender>> OpenAppender(std::string_view table) override {
    duckdb_appender app = nullptr;
    std::string t(table);
    if (duckdb_appender_create(con_, nullptr, t.c_str(), &app) == DuckDBError) {
      Status st = SqlError("cannot append to table " + t, duckdb_appender_error(app));
      duckdb_appender_destroy(&app);
      return st;
    }
    return std::unique_ptr<Appender>(std::make_unique<DuckDbAppender>(app, t));
  }

  Status Begin() override { return Execute("BEGIN TRANSACTION"); }
  Status Commit() override { return Execute("COMMIT"); }
  Status Rollback() override { return Execute("ROLLBACK"); }

  Result<std::vector<std::string>> ListTables() override {
    ASSIGN_OR_RETURN(Chunk c, QueryAll(*this,
                                       "SELECT table_name FROM duckdb_tables() WHERE schema_name = "
                                       "'main' AND NOT internal AND NOT temporary "
                                       "ORDER BY table_name"));
    std::vector<std::string> out;
    if (c.columns.empty()) return out;
    for (auto& s : c.columns[0].strings) out.push_back(s);
    return out;
  }

  Result<Schema> DescribeTable(std::string_view table) override {
    std::string sql = fmt::format(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = {} "
        "ORDER BY column_index",
        dialect().QuoteLiteral(table));
    ASSIGN_OR_RETURN(Chunk names, QueryAll(*this, sql));
    if (names.size() == 0) return Status::NotFound(fmt::format("no table \"{}\"", table));
    // Reading zero rows gives each column's mapped type with the store's own decoder.
    ASSIGN_OR_RETURN(
        auto res, Query(fmt::format("SELECT * FROM {} LIMIT 0", dialect().QuoteIdentifier(table))));
    return res->schema();
  }

 private:
  duckdb_database db_;
  duckdb_connection con_;
};

}  // namespace

Result<std::unique_ptr<DataSource>> OpenDuckDb(const DuckDbOptions& options) {
  if (!options.path.empty()) {
    std::error_code ec;
    bool exists = std::filesystem::exists(options.path, ec);
    if ((options.must_exist || options.read_only) && !exists) {
      return Status::NotFound(fmt::format("{}: no such database file", options.path));
    }
  }
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    return Status::Internal("cannot create a DuckDB configuration");
  }
  auto set = [&](const char* k, const std::string& v) { duckdb_set_config(config, k, v.c_str()); };
  // The node never downloads code: extensions come built in or not at all.
  set("autoinstall_known_extensions", "false");
  set("autoload_known_extensions", "true");
  if (options.read_only) set("access_mode", "READ_ONLY");
  if (options.threads > 0) set("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) set("memory_limit", options.memory_limit);

  duckdb_database db = nullptr;
  char* err = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  duckdb_state st = duckdb_open_ext(path, &db, config, &err);
  duckdb_destroy_config(&config);
  if (st == DuckDBError) {
    std::string msg =
        fmt::format("{}: cannot open database: {}",
                    options.path.empty() ? ":memory:" : options.path, err ? err : "unknown error");
    if (err) duckdb_free(err);
    return Status::IoError(msg);
  }
  duckdb_connection con = nullptr;
  if (duckdb_connect(db, &con) == DuckDBError) {
    duckdb_close(&db);
    return Status::Internal("cannot connect to the DuckDB database");
  }
  return std::unique_ptr<DataSource>(std::make_unique<DuckDbSource>(db, con));
}

}  // namespace passerelle::store
