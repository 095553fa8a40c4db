// The hub state's storage: WAL checkpoints off the loop thread (common/wal_checkpointer.h), and
// crash safety of what the engine commits, with a real file database and a child process that
// dies without closing anything (the closest a unit test gets to `kill -9` of the hub).
#include "common/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/files.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "hub/engine.h"

namespace passerelle::hub {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

int64_t QueryInt(SqliteDb& db, std::string_view sql) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  auto row = st->Step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return st->ColumnInt(0);
}

// Waits (bounded) until `pred` holds; the checkpointer runs on its own thread.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class StateStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(std::move(TempDir::Create("hub-state-test")).value());
    path_ = (dir_->path() / "hub.sqlite").string();
  }
  std::unique_ptr<TempDir> dir_;
  std::string path_;
};

TEST_F(StateStorageTest, CheckpointsRunOffTheWritingConnection) {
  auto db = std::move(SqliteDb::Open({.path = path_})).value();
  ASSERT_TRUE(db->Execute("CREATE TABLE t (x INTEGER, pad TEXT)").ok());
  auto cp = WalCheckpointer::Start(*db, path_, {.interval = 5ms});
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  // The writing connection no longer checkpoints by itself...
  EXPECT_EQ(QueryInt(*db, "PRAGMA wal_autocheckpoint"), 0);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (1, printf('%.2000c', 'x'))").ok());
  }
  // ...the checkpointer copies the WAL into the database file.
  EXPECT_TRUE(Eventually([&] { return (*cp)->stats().frames >= 50; }))
      << "frames " << (*cp)->stats().frames;
  EXPECT_GE((*cp)->stats().checkpoints, 1);
  EXPECT_EQ((*cp)->stats().errors, 0);
  // A reader that opens the file sees every committed row.
  auto other = std::move(SqliteDb::Open({.path = path_, .read_only = true})).value();
  EXPECT_EQ(QueryInt(*other, "SELECT count(*) FROM t"), 50);
}

TEST_F(StateStorageTest, WalThatOutgrowsItsLimitIsTruncated) {
  auto db = std::move(SqliteDb::Open({.path = path_})).value();
  ASSERT_TRUE(db->Execute("CREATE TABLE t (x INTEGER, pad TEXT)").ok());
  // Interval long enough that the inserts below all land before the first run.
  auto cp = WalCheckpointer::Start(*db, path_, {.interval = 20ms, .max_wal_frames = 10});
  ASSERT_TRUE(cp.ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (1, printf('%.2000c', 'x'))").ok());
  }
  EXPECT_TRUE(Eventually([&] { return (*cp)->stats().truncations >= 1; }));
  EXPECT_TRUE(Eventually([&] { return std::filesystem::file_size(path_ + "-wal") == 0; }));
  EXPECT_GE((*cp)->stats().frames, 40);
  // The writer carries on after the truncation, and nothing was lost.
  ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (2, '')").ok());
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM t"), 41);
}

TEST_F(StateStorageTest, InMemoryDatabaseNeedsNoCheckpointer) {
  auto db = std::move(SqliteDb::Open({.path = ":memory:"})).value();
  auto cp = WalCheckpointer::Start(*db, ":memory:");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ((*cp)->stats().checkpoints, 0);
}

// A child process runs the hub's engine on the file database and dies (_exit, no destructor, no
// sqlite3_close: the process is gone as after kill -9) right after the commit that completes
// round 1 of a two-round study. `checkpoint_interval` large: nothing was checkpointed, the whole
// state is only in the WAL; small: part of it was copied into the database file.
void RunRoundOneThenCrash(const std::string& path, std::chrono::milliseconds checkpoint_interval) {
  FakeClock clock{1'000'000};
  DeterministicRandom random{7};
  auto db = std::move(SqliteDb::Open({.path = path})).value();
  auto engine = std::move(StudyEngine::Open(*db, analysis::BuiltinRegistry(), clock, random,
                                            {.nodes = {"fr", "qc"}, .task_timeout = 10s}))
                    .value();
  auto cp = std::move(WalCheckpointer::Start(*db, path, {.interval = checkpoint_interval})).value();
  auto id = engine->Submit({{"name", "t"},
                            {"dataset", "d"},
                            {"analyses", {{{"id", "t"}, {"type", "table"}, {"rows", "g"}}}}},
                           {"alice", {}});
  if (!id.ok()) _exit(2);
  for (const char* node : {"fr", "qc"}) {
    auto task = engine->NextTask(node);
    if (!task.ok() || !task->has_value()) _exit(3);
    protocol::TaskResult r;
    r.task_id = (*task)->task_id;
    r.study_id = *id;
    r.round = 1;
    r.node = node;
    r.shares.push_back(
        {"t", 0, {}, {{"rows", std::string(node) == "fr" ? json{"b", "a"} : json{"c"}}}});
    r.shares[0].meta["cols"] = {""};
    if (!engine->AcceptResult(node, r.task_id, "k", r).ok()) _exit(4);
  }
  std::this_thread::sleep_for(checkpoint_interval < 1s ? 50ms : 0ms);
  _exit(0);  // crash: no close, no final checkpoint
}

void ExpectRoundTwoAfterRestart(const std::string& path, int64_t* checkpointed_frames) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) RunRoundOneThenCrash(path, *checkpointed_frames > 0 ? 1ms : 1h);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // The WAL is still there: the child never closed the database.
  ASSERT_TRUE(std::filesystem::exists(path + "-wal"));

  // The hub restarts: SQLite recovers the WAL, the engine resumes at round 2.
  FakeClock clock{2'000'000};
  DeterministicRandom random{8};
  auto db = std::move(SqliteDb::Open({.path = path})).value();
  auto engine = StudyEngine::Open(*db, analysis::BuiltinRegistry(), clock, random,
                                  {.nodes = {"fr", "qc"}, .task_timeout = 10s});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto fr = (*engine)->NextTask("fr");
  ASSERT_TRUE(fr.ok() && fr->has_value());
  EXPECT_EQ((*fr)->round, 2);
  EXPECT_EQ((*fr)->steps[0].input.params["rows"], json({"a", "b", "c"}));
  EXPECT_EQ(QueryInt(*db, "SELECT count(*) FROM tasks WHERE state = 'done'"), 2);
  auto cp = WalCheckpointer::Start(*db, path, {.interval = 1ms});
  ASSERT_TRUE(cp.ok());
  EXPECT_TRUE(Eventually([&] { return (*cp)->stats().checkpoints > 0; }));
  *checkpointed_frames = (*cp)->stats().frames;
}

TEST_F(StateStorageTest, RoundCommittedOnlyInTheWalSurvivesACrash) {
  int64_t frames = 0;  // the child checkpoints nothing
  ExpectRoundTwoAfterRestart(path_, &frames);
  // Everything the child committed was still in the WAL; the restarted hub's checkpointer copied
  // it into the database file.
  EXPECT_GT(frames, 0);
}

TEST_F(StateStorageTest, RoundSurvivesACrashAfterPartialCheckpoints) {
  int64_t frames = 1;  // the child checkpoints every millisecond while it works
  ExpectRoundTwoAfterRestart(path_, &frames);
}

}  // namespace
}  // namespace passerelle::hub
