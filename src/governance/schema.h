// Numbered schema migrations per component, so that several components (governance, catalog,
// audit, node approvals) can live in one SQLite file beside another owner's tables without sharing
// `PRAGMA user_version` (which src/common/sqlite.h's SqliteDb::Migrate uses for the whole file).
//
// Each component's applied version is a row of the table `component_schema(component, version)`.
// A migration runs exactly once, in order, in one transaction with the version bump; a database
// whose component is newer than the code is refused. Same contract as SqliteDb::Migrate otherwise:
// a released migration is never edited, a new one is added.
//
// Thread-safety: as the SqliteDb it is given (one thread at a time).
#pragma once

#include <span>
#include <string_view>

#include "common/sqlite.h"
#include "common/status.h"

namespace passerelle::governance {

// REQUIRES: migrations have versions 1, 2, ... in order; no transaction is open on `db`.
Status MigrateComponent(SqliteDb& db, std::string_view component,
                        std::span<const SqliteMigration> migrations);

// The applied version of `component` (0 when never migrated).
Result<int> ComponentVersion(SqliteDb& db, std::string_view component);

// A SAVEPOINT: nests inside the caller's transaction (committing or rolling back with it), or is
// a transaction of its own when none is open. Rolled back on destruction unless released.
class Savepoint {
 public:
  // REQUIRES: `name` is a plain SQL identifier.
  static Result<Savepoint> Begin(SqliteDb& db, std::string name);
  Savepoint(Savepoint&& other) noexcept : db_(other.db_), name_(std::move(other.name_)) {
    other.db_ = nullptr;
  }
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  Savepoint& operator=(Savepoint&&) = delete;
  ~Savepoint();
  Status Release();

 private:
  Savepoint(SqliteDb* db, std::string name) : db_(db), name_(std::move(name)) {}
  SqliteDb* db_;  // null once released
  std::string name_;
};

}  // namespace passerelle::governance
