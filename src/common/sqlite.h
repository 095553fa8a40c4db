// A small RAII wrapper over SQLite for durable state (hub state, node journal, later governance,
// audit logs and privacy ledgers).
//
// - SqliteDb::Open opens (or creates) a database in WAL mode with foreign keys on and a busy
//   timeout, so that a reader never blocks the writer and a crash never loses a committed
//   transaction.
// - Migrate applies numbered schema migrations exactly once each, in order, each in its own
//   transaction; the applied version is kept in `PRAGMA user_version`. A database newer than the
//   code (a version above the last migration) is refused rather than silently misread.
// - Statement is a prepared statement with typed binds (1-based, as SQLite) and column reads
//   (0-based, as SQLite); Step() says whether a row is available. Prepare() keeps a small cache
//   of compiled statements per SQL text: a Statement that goes away is reset and returned to the
//   cache, so hot paths (the hub's per-result updates) do not re-parse their SQL.
// - SqliteTransaction rolls back on destruction unless committed (BEGIN IMMEDIATE: the write lock
//   is taken at the start, so a transaction never fails half-way with SQLITE_BUSY).
//
// Thread-safety: a SqliteDb and its statements belong to one thread at a time (the connection is
// opened with SQLITE_OPEN_NOMUTEX). Open one connection per thread; WAL lets them share the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace passerelle {

struct SqliteOptions {
  // Database file; ":memory:" for a private in-memory database (no WAL then).
  std::string path;
  // Refuse to create the file when it does not exist.
  bool must_exist = false;
  bool read_only = false;
  // How long a statement waits for another connection's lock before failing, in milliseconds.
  int busy_timeout_ms = 5000;
  // PRAGMA synchronous: "NORMAL" is durable across process crashes in WAL mode (a power loss may
  // lose the last transactions); "FULL" also survives power loss.
  std::string synchronous = "NORMAL";
};

// One numbered schema step. Versions start at 1 and increase by one; the SQL may hold several
// statements. A migration, once released, is never edited: add a new one.
struct SqliteMigration {
  int version;
  std::string_view sql;
};

class SqliteDb;

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). Errors name the statement.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::span<const uint8_t> bytes);
  Statement& BindNull(int index);
  // Binds a value, or NULL when absent.
  Statement& Bind(int index, const std::optional<std::string>& text);
  Statement& Bind(int index, const std::optional<int64_t>& value);

  // Runs one step: true when a row is available, false when done. A bind error recorded above is
  // returned here.
  Result<bool> Step();
  // Steps to completion, ignoring rows (INSERT/UPDATE/DELETE). Returns the rows changed.
  Result<int64_t> Run();
  // Makes the statement runnable again; keeps bindings unless `clear_bindings`.
  void Reset(bool clear_bindings = true);

  // Column reads of the current row (0-based). REQUIRES: the last Step() returned true.
  bool IsNull(int column) const;
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;
  std::vector<uint8_t> ColumnBlob(int column) const;
  std::optional<std::string> ColumnOptionalText(int column) const;
  int ColumnCount() const;

  std::string_view sql() const;

 private:
  friend class SqliteDb;
  Statement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void RecordBindError(int rc, int index);
  void Release();
  SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_error_;
};

class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const SqliteOptions& options);
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements that return no rows.
  Status Execute(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);

  // Applies the migrations above the current version. REQUIRES: versions are 1, 2, ... in order.
  Status Migrate(std::span<const SqliteMigration> migrations);
  // The schema version (PRAGMA user_version); 0 for a new database.
  Result<int> SchemaVersion();

  // The rowid of the last INSERT on this connection.
  int64_t LastInsertRowId() const;
  // A stamp that changes whenever the database's content may have changed: a commit by this
  // connection (rows it changed, in total) or by another connection (PRAGMA data_version). For
  // caches of rows that are read far more often than written.
  Result<std::pair<int64_t, int64_t>> ChangeStamp();
  const std::string& path() const { return path_; }

  // "path: what: sqlite message" for the last error on this connection.
  Status ErrorStatus(std::string_view what, int rc) const;

  // Distinct SQL texts whose compiled statements are kept for reuse.
  static constexpr size_t kStatementCacheTexts = 64;

 private:
  friend class Statement;
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // Takes back a finished statement; finalizes it when the cache is full.
  void ReturnToCache(sqlite3_stmt* stmt);
  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> cache_;  // idle statements
};

// Rolls back on destruction unless committed.
class SqliteTransaction {
 public:
  // BEGIN IMMEDIATE.
  static Result<SqliteTransaction> Begin(SqliteDb& db);
  SqliteTransaction(SqliteTransaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  Status Commit();
  Status Rollback();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;  // null once finished
};

}  // namespace passerelle
