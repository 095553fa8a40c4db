#include "common/sqlite.h"

#include <gtest/gtest.h>

#include "common/files.h"

namespace passerelle {
namespace {

constexpr SqliteMigration kMigrations[] = {
    {1, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, x REAL)"},
    {2, "ALTER TABLE t ADD COLUMN note TEXT; CREATE INDEX t_x ON t(x)"},
};

TEST(SqliteTest, MigratesOnceAndKeepsDataAcrossReopen) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string path = (dir->path() / "state.sqlite").string();
  {
    auto db = SqliteDb::Open({.path = path});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Migrate(std::span(kMigrations, 1)).ok());
    EXPECT_EQ(*(*db)->SchemaVersion(), 1);
    ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
    EXPECT_EQ(*(*db)->SchemaVersion(), 2);
    auto st = (*db)->Prepare("INSERT INTO t(name, x, note) VALUES (?, ?, ?)");
    ASSERT_TRUE(st.ok());
    st->Bind(1, "a").Bind(2, 1.5).Bind(3, std::optional<std::string>());
    EXPECT_EQ(*st->Run(), 1);
    st->Reset();
    st->Bind(1, "a").Bind(2, 2.0).BindNull(3);
    auto dup = st->Run();
    EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  }
  auto db = SqliteDb::Open({.path = path, .must_exist = true});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());  // no-op
  auto q = (*db)->Prepare("SELECT name, x, note FROM t");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "a");
  EXPECT_DOUBLE_EQ(q->ColumnDouble(1), 1.5);
  EXPECT_TRUE(q->IsNull(2));
  EXPECT_FALSE(*q->Step());
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnText(0), "wal");
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = SqliteDb::Open({.path = ":memory:"});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate(kMigrations).ok());
  {
    auto tx = SqliteTransaction::Begin(**db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*db)->Execute("INSERT INTO t(name) VALUES ('gone')").ok());
  }
  {
    auto tx = SqliteTransaction::Begin(**db);
    ASSERT_TRUE((*db)->Execute("INSERT INTO t(name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto q = (*db)->Prepare("SELECT group_concat(name) FROM t");
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "kept");
}

TEST(SqliteTest, RefusesNewerSchemaAndBadSql) {
  auto db = SqliteDb::Open({.path = ":memory:"});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Execute("PRAGMA user_version=7").ok());
  auto st = (*db)->Migrate(kMigrations);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("schema version 7"), std::string::npos);
  EXPECT_FALSE((*db)->Prepare("SELEC 1").ok());
  EXPECT_EQ(SqliteDb::Open({.path = "/nonexistent/x.sqlite", .must_exist = true}).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace passerelle
