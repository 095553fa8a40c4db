#include "common/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

namespace passerelle {
namespace {

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return StatusCode::kAlreadyExists;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return StatusCode::kIoError;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return StatusCode::kInternal;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

// ---- Statement ------------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_error_(std::move(other.bind_error_)) {
  other.stmt_ = nullptr;
}

void Statement::Release() {
  if (!stmt_) return;
  if (db_) {
    db_->ReturnToCache(stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = other.db_;
    stmt_ = other.stmt_;
    bind_error_ = std::move(other.bind_error_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { Release(); }

void Statement::RecordBindError(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.ok()) {
    bind_error_ = db_->ErrorStatus(fmt::format("binding parameter {} of `{}`", index, sql()), rc);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  RecordBindError(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  RecordBindError(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  RecordBindError(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const uint8_t> bytes) {
  RecordBindError(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT),
                  index);
  return *this;
}

Statement& Statement::BindNull(int index) {
  RecordBindError(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : BindNull(index);
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Result<bool> Statement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->ErrorStatus(fmt::format("running `{}`", sql()), rc);
}

Result<int64_t> Statement::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  return static_cast<int64_t>(sqlite3_changes(sqlite3_db_handle(stmt_)));
}

void Statement::Reset(bool clear_bindings) {
  sqlite3_reset(stmt_);
  if (clear_bindings) sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::ColumnDouble(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::vector<uint8_t> Statement::ColumnBlob(int column) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

std::optional<std::string> Statement::ColumnOptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return ColumnText(column);
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_); }

std::string_view Statement::sql() const {
  const char* s = stmt_ ? sqlite3_sql(stmt_) : nullptr;
  return s ? std::string_view(s) : std::string_view();
}

// ---- SqliteDb -------------------------------------------------------------------------------

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("SQLite database: no path given");
  const bool memory = options.path == ":memory:";
  if (!memory && options.must_exist && !std::filesystem::exists(options.path)) {
    return Status::NotFound(fmt::format("{}: no such database file", options.path));
  }
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    if (raw) sqlite3_close(raw);
    return Status(CodeFor(rc),
                  fmt::format("{}: cannot open SQLite database: {}", options.path, msg));
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw, options.path));
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  if (options.synchronous != "NORMAL" && options.synchronous != "FULL" &&
      options.synchronous != "OFF") {
    return Status::InvalidArgument(fmt::format(
        "SQLite synchronous must be NORMAL, FULL or OFF (got {})", options.synchronous));
  }
  if (!options.read_only) {
    if (!memory) RETURN_IF_ERROR(db->Execute("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(db->Execute(fmt::format("PRAGMA synchronous={}", options.synchronous)));
  }
  RETURN_IF_ERROR(db->Execute("PRAGMA foreign_keys=ON"));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, list] : cache_) {
    for (sqlite3_stmt* st : list) sqlite3_finalize(st);
  }
  if (db_) sqlite3_close_v2(db_);
}

void SqliteDb::ReturnToCache(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  const char* text = sqlite3_sql(stmt);
  std::string_view sql = text ? std::string_view(text) : std::string_view();
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    if (cache_.size() >= kStatementCacheTexts || sql.empty()) {
      sqlite3_finalize(stmt);
      return;
    }
    it = cache_.emplace(std::string(sql), std::vector<sqlite3_stmt*>()).first;
  }
  if (it->second.size() >= 4) {
    sqlite3_finalize(stmt);
    return;
  }
  it->second.push_back(stmt);
}

Status SqliteDb::ErrorStatus(std::string_view what, int rc) const {
  return Status(CodeFor(rc), fmt::format("{}: {}: {}", path_, what, sqlite3_errmsg(db_)));
}

Status SqliteDb::Execute(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status(
        CodeFor(rc),
        fmt::format("{}: running `{}`: {}", path_,
                    sql.size() > 120 ? std::string(sql.substr(0, 120)) + "..." : std::string(sql),
                    msg));
  }
  return Status::Ok();
}

Result<Statement> SqliteDb::Prepare(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end() && !it->second.empty()) {
    sqlite3_stmt* reused = it->second.back();
    it->second.pop_back();
    return Statement(this, reused);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return ErrorStatus(fmt::format("preparing `{}`", sql), rc);
  if (stmt == nullptr) return Status::InvalidArgument(fmt::format("empty SQL statement `{}`", sql));
  return Statement(this, stmt);
}

Result<int> SqliteDb::SchemaVersion() {
  ASSIGN_OR_RETURN(Statement st, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal(fmt::format("{}: PRAGMA user_version returned no row", path_));
  return static_cast<int>(st.ColumnInt(0));
}

Status SqliteDb::Migrate(std::span<const SqliteMigration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::Internal(
          fmt::format("migration {} has version {}, expected {}", i, migrations[i].version, i + 1));
    }
  }
  ASSIGN_OR_RETURN(int current, SchemaVersion());
  if (current > static_cast<int>(migrations.size())) {
    return Status::FailedPrecondition(fmt::format(
        "{}: the database has schema version {} but this program knows only up to {}; use a "
        "newer passerelle",
        path_, current, migrations.size()));
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(*this));
    Status st = Execute(m.sql);
    if (!st.ok()) return st.WithContext(fmt::format("schema migration {}", m.version));
    RETURN_IF_ERROR(Execute(fmt::format("PRAGMA user_version={}", m.version)));
    RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

Result<std::pair<int64_t, int64_t>> SqliteDb::ChangeStamp() {
  ASSIGN_OR_RETURN(Statement q, Prepare("PRAGMA data_version"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return ErrorStatus("PRAGMA data_version", SQLITE_ERROR);
  return std::pair<int64_t, int64_t>(q.ColumnInt(0), sqlite3_total_changes64(db_));
}

// ---- SqliteTransaction ----------------------------------------------------------------------

Result<SqliteTransaction> SqliteTransaction::Begin(SqliteDb& db) {
  RETURN_IF_ERROR(db.Execute("BEGIN IMMEDIATE"));
  return SqliteTransaction(&db);
}

SqliteTransaction::~SqliteTransaction() {
  if (db_) db_->Execute("ROLLBACK").PermitUncheckedError();
}

Status SqliteTransaction::Commit() {
  if (!db_) return Status::FailedPrecondition("transaction already finished");
  SqliteDb* db = db_;
  db_ = nullptr;
  Status st = db->Execute("COMMIT");
  if (!st.ok()) db->Execute("ROLLBACK").PermitUncheckedError();
  return st;
}

Status SqliteTransaction::Rollback() {
  if (!db_) return Status::FailedPrecondition("transaction already finished");
  SqliteDb* db = db_;
  db_ = nullptr;
  return db->Execute("ROLLBACK");
}

}  // namespace passerelle
