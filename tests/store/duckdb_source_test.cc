#include "store/duckdb_source.h"

#include <gtest/gtest.h>

#include "common/files.h"

namespace passerelle::store {
namespace {

std::unique_ptr<DataSource> Memory() {
  auto s = OpenDuckDb({});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

TEST(DuckDbSourceTest, TypesAndNullsRoundTrip) {
  auto db = Memory();
  ASSERT_TRUE(db->Execute("CREATE TABLE t (b BOOLEAN, i INTEGER, h BIGINT, d DOUBLE, "
                          "m DECIMAL(10,3), s VARCHAR, dt DATE, ts TIMESTAMP)")
                  .ok());
  ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (true, 7, 9000000000, 2.5, 1.125, "
                          "'a string longer than twelve bytes', DATE '2020-03-01', "
                          "TIMESTAMP '1970-01-02 00:00:01'), (NULL, NULL, NULL, NULL, NULL, NULL, "
                          "NULL, NULL)")
                  .ok());
  auto c = QueryAll(*db, "SELECT * FROM t");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 2u);
  const auto& cols = c->columns;
  EXPECT_EQ(cols[0].type, ColumnType::kBool);
  EXPECT_EQ(cols[0].ints[0], 1);
  EXPECT_EQ(cols[1].ints[0], 7);
  EXPECT_EQ(cols[2].ints[0], 9000000000);
  EXPECT_DOUBLE_EQ(cols[3].doubles[0], 2.5);
  EXPECT_EQ(cols[4].type, ColumnType::kDouble);
  EXPECT_DOUBLE_EQ(cols[4].doubles[0], 1.125);
  EXPECT_EQ(cols[5].strings[0], "a string longer than twelve bytes");
  EXPECT_EQ(cols[6].type, ColumnType::kDate);
  EXPECT_EQ(cols[6].ints[0], 18322);  // 2020-03-01
  EXPECT_EQ(cols[7].ints[0], 86401000000);
  for (const auto& col : cols) EXPECT_TRUE(col.IsNull(1));
  for (const auto& col : cols) EXPECT_FALSE(col.IsNull(0));
}

TEST(DuckDbSourceTest, StreamsLargeResultsInChunks) {
  auto db = Memory();
  auto r = db->Query("SELECT i, i * 0.5 AS half FROM range(100000) t(i)");
  ASSERT_TRUE(r.ok());
  size_t chunks = 0, rows = 0;
  int64_t sum = 0;
  for (;;) {
    auto next = (*r)->Next();
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    ++chunks;
    rows += (*next)->size();
    for (int64_t v : (*next)->columns[0].ints) sum += v;
  }
  EXPECT_EQ(rows, 100000u);
  EXPECT_GT(chunks, 10u);  // DuckDB's vectors hold 2048 rows
  EXPECT_EQ(sum, int64_t{100000} * 99999 / 2);
}

TEST(DuckDbSourceTest, SumOfBigintsReadsAsInteger) {
  auto db = Memory();
  auto n = QueryInt(*db, "SELECT sum(i) FROM range(1000) t(i)");  // HUGEINT in DuckDB
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 499500);
}

TEST(DuckDbSourceTest, BulkAppendWithNulls) {
  auto db = Memory();
  ASSERT_TRUE(
      db->Execute("CREATE TABLE p (id BIGINT, name VARCHAR, score DOUBLE, born DATE)").ok());
  auto app = db->OpenAppender("p");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  Chunk chunk;
  chunk.columns = {ColumnVector(ColumnType::kInt64), ColumnVector(ColumnType::kString),
                   ColumnVector(ColumnType::kDouble), ColumnVector(ColumnType::kDate)};
  for (int i = 0; i < 5000; ++i) {
    chunk.columns[0].AppendInt(i);
    if (i % 3 == 0) {
      chunk.columns[1].AppendNull();
    } else {
      chunk.columns[1].AppendString("person-" + std::to_string(i));
    }
    chunk.columns[2].AppendDouble(i / 4.0);
    chunk.columns[3].AppendInt(10000 + i);
  }
  ASSERT_TRUE((*app)->AppendChunk(chunk).ok());
  ASSERT_TRUE((*app)->Close().ok());
  EXPECT_EQ(*QueryInt(*db, "SELECT count(*) FROM p"), 5000);
  EXPECT_EQ(*QueryInt(*db, "SELECT count(*) FROM p WHERE name IS NULL"), 1667);
  auto c = QueryAll(*db, "SELECT name, score, born FROM p WHERE id = 4999");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->columns[0].strings[0], "person-4999");
  EXPECT_DOUBLE_EQ(c->columns[1].doubles[0], 4999 / 4.0);
  EXPECT_EQ(c->columns[2].ints[0], 14999);
}

TEST(DuckDbSourceTest, AppendRejectsWrongShape) {
  auto db = Memory();
  ASSERT_TRUE(db->Execute("CREATE TABLE p (id BIGINT, name VARCHAR)").ok());
  auto app = db->OpenAppender("p");
  ASSERT_TRUE(app.ok());
  Chunk one;
  one.columns = {ColumnVector(ColumnType::kInt64)};
  one.columns[0].AppendInt(1);
  EXPECT_EQ((*app)->AppendChunk(one).code(), StatusCode::kInvalidArgument);
  Chunk wrong;
  wrong.columns = {ColumnVector(ColumnType::kString), ColumnVector(ColumnType::kString)};
  wrong.columns[0].AppendString("x");
  wrong.columns[1].AppendString("y");
  EXPECT_EQ((*app)->AppendChunk(wrong).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(db->OpenAppender("missing").ok());
}

TEST(DuckDbSourceTest, TransactionRollsBackUnlessCommitted) {
  auto db = Memory();
  ASSERT_TRUE(db->Execute("CREATE TABLE t (x INTEGER)").ok());
  {
    auto tx = Transaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(db->Execute("CREATE TABLE u (y INTEGER)").ok());
    // destroyed without Commit: rolled back
  }
  EXPECT_EQ(*QueryInt(*db, "SELECT count(*) FROM t"), 0);
  EXPECT_FALSE(*db->HasTable("u"));
  {
    auto tx = Transaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(*QueryInt(*db, "SELECT count(*) FROM t"), 1);
}

TEST(DuckDbSourceTest, ListsAndDescribesTables) {
  auto db = Memory();
  ASSERT_TRUE(db->Execute("CREATE TABLE b (\"age.60\" INTEGER, \"LAB_TSC\" DOUBLE); "
                          "CREATE TABLE a (s VARCHAR)")
                  .ok());
  auto tables = db->ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, (std::vector<std::string>{"a", "b"}));
  auto schema = db->DescribeTable("b");
  ASSERT_TRUE(schema.ok());
  ASSERT_EQ(schema->size(), 2u);
  EXPECT_EQ((*schema)[0].name, "age.60");
  EXPECT_EQ((*schema)[0].type, ColumnType::kInt64);
  EXPECT_EQ((*schema)[1].type, ColumnType::kDouble);
  EXPECT_EQ(db->DescribeTable("nope").status().code(), StatusCode::kNotFound);
}

TEST(DuckDbSourceTest, SqlErrorsAreStatuses) {
  auto db = Memory();
  auto r = db->Query("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("syntax error"), std::string::npos) << r.status().message();
  EXPECT_FALSE(db->Execute("SELECT * FROM missing_table").ok());
  auto t = db->Query("SELECT [1, 2] AS l");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("cast it in SQL"), std::string::npos);
}

TEST(DuckDbSourceTest, FileDatabasePersistsAndOpensReadOnly) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string path = (dir->path() / "node.duckdb").string();
  {
    auto db = OpenDuckDb({.path = path});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Execute("CREATE TABLE t AS SELECT 42 AS x").ok());
  }
  auto ro = OpenDuckDb({.path = path, .read_only = true});
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ(*QueryInt(**ro, "SELECT x FROM t"), 42);
  EXPECT_FALSE((*ro)->Execute("INSERT INTO t VALUES (1)").ok());
  auto missing = OpenDuckDb({.path = (dir->path() / "none.duckdb").string(), .read_only = true});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace passerelle::store
