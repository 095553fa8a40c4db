#include "governance/schema.h"

#include <fmt/format.h>

namespace passerelle::governance {
namespace {

Status EnsureTable(SqliteDb& db) {
  return db.Execute(
      "CREATE TABLE IF NOT EXISTS component_schema ("
      "  component TEXT PRIMARY KEY,"
      "  version INTEGER NOT NULL)");
}

}  // namespace

Result<int> ComponentVersion(SqliteDb& db, std::string_view component) {
  RETURN_IF_ERROR(EnsureTable(db));
  ASSIGN_OR_RETURN(Statement st,
                   db.Prepare("SELECT version FROM component_schema WHERE component = ?1"));
  st.Bind(1, component);
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<int>(st.ColumnInt(0)) : 0;
}

Status MigrateComponent(SqliteDb& db, std::string_view component,
                        std::span<const SqliteMigration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::Internal(fmt::format("{}: migration {} has version {} (expected {})",
                                          component, i, migrations[i].version, i + 1));
    }
  }
  ASSIGN_OR_RETURN(int current, ComponentVersion(db, component));
  if (current > static_cast<int>(migrations.size())) {
    return Status::FailedPrecondition(fmt::format(
        "{}: the {} schema is at version {}, newer than this program knows ({}); use a newer "
        "passerelle",
        db.path(), component, current, migrations.size()));
  }
  for (size_t i = static_cast<size_t>(current); i < migrations.size(); ++i) {
    ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
    Status st = db.Execute(migrations[i].sql);
    if (!st.ok()) {
      return st.WithContext(fmt::format("{} schema migration {}", component, i + 1));
    }
    ASSIGN_OR_RETURN(Statement up,
                     db.Prepare("INSERT INTO component_schema(component, version) VALUES(?1, ?2) "
                                "ON CONFLICT(component) DO UPDATE SET version = excluded.version"));
    up.Bind(1, component).Bind(2, static_cast<int64_t>(i + 1));
    ASSIGN_OR_RETURN(int64_t changed, up.Run());
    (void)changed;
    RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

Result<Savepoint> Savepoint::Begin(SqliteDb& db, std::string name) {
  RETURN_IF_ERROR(db.Execute("SAVEPOINT " + name));
  return Savepoint(&db, std::move(name));
}

Savepoint::~Savepoint() {
  if (db_) {
    db_->Execute("ROLLBACK TO " + name_ + "; RELEASE " + name_).PermitUncheckedError();
  }
}

Status Savepoint::Release() {
  SqliteDb* db = db_;
  db_ = nullptr;
  if (!db) return Status::Internal("savepoint " + name_ + " released twice");
  Status st = db->Execute("RELEASE " + name_);
  if (!st.ok()) db->Execute("ROLLBACK TO " + name_ + "; RELEASE " + name_).PermitUncheckedError();
  return st;
}

}  // namespace passerelle::governance
