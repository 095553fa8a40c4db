// Moves a SQLite database's WAL checkpoints off the thread that writes it: the hub's state database
// and its governance database (whose commits happen on the hub's loop thread and audit forwarder).
//
// Why: in WAL mode with synchronous=NORMAL a commit is one write() to the WAL and no fsync; the
// fsyncs happen at checkpoints, which SQLite by default runs inside the commit that makes the WAL
// reach 1000 pages. On the hub that commit is a node's result or a round's dispatch on the one loop
// thread, which then stalls for two fsyncs and a few MB of writes (measured: 4-8 ms per fsync on
// the development machine, more under load) while 200 nodes wait for their tasks. The checkpointer
// turns the automatic checkpoint off on the loop thread's connection and runs PASSIVE checkpoints
// from its own thread and connection: a PASSIVE checkpoint never blocks the writer (it copies what
// the WAL holds up to the last commit, and the writer keeps appending meanwhile).
//
// Durability is unchanged: a committed transaction is in the WAL whether or not it was
// checkpointed, and SQLite replays the WAL when the database is opened again (the hub restart
// tests kill the hub between rounds and check that the study resumes). As with synchronous=NORMAL
// before, a power loss (not a process crash) may lose the last transactions; the nodes then re-post
// their results (idempotent) and re-fetch their tasks.
//
// Thread-safety: Start, the destructor and stats() from the owner; the background thread only
// touches its own connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/sqlite.h"
#include "common/status.h"

namespace passerelle {

struct CheckpointerOptions {
  // Names the database in log messages ("hub state", "governance").
  std::string name = "database";
  // How often the background thread runs a PASSIVE checkpoint. A checkpoint with nothing new in
  // the WAL costs a few microseconds and no fsync; with new frames, it copies them and fsyncs.
  std::chrono::milliseconds interval{100};
  // A PASSIVE checkpoint copies the WAL but cannot rewind it while the writer keeps committing
  // (SQLite restarts the WAL from its start only when a write begins with everything copied), so
  // under sustained load the WAL file would only grow. When it holds more frames than this after
  // a PASSIVE run, the checkpointer runs a TRUNCATE checkpoint, which briefly holds the write lock
  // (the hub's next commit waits for the few frames left and two fsyncs: about once per 16 MB of
  // WAL with 4 KB pages, instead of once per 4 MB on the loop thread).
  int64_t max_wal_frames = 4096;
};

struct CheckpointerStats {
  int64_t checkpoints = 0;  // runs that copied at least one frame
  int64_t frames = 0;       // frames copied into the database file, in total
  int64_t errors = 0;       // failed runs (logged; retried at the next interval)
  int64_t truncations = 0;  // TRUNCATE checkpoints run because the WAL outgrew max_wal_frames
};

class WalCheckpointer {
 public:
  // Turns off automatic checkpoints on `db` (the connection the loop thread writes with) and
  // starts the background thread on its own connection to `path`. For ":memory:" databases (no
  // WAL) it starts nothing and returns a checkpointer that does nothing.
  static Result<std::unique_ptr<WalCheckpointer>> Start(SqliteDb& db, const std::string& path,
                                                        CheckpointerOptions options = {});
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // Stops and joins the thread after a last checkpoint.
  ~WalCheckpointer();

  CheckpointerStats stats() const;

 private:
  WalCheckpointer(std::unique_ptr<SqliteDb> own, CheckpointerOptions options);
  void Loop();
  void RunOnce();

  std::unique_ptr<SqliteDb> db_;  // the thread's connection; null when there is nothing to do
  CheckpointerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  CheckpointerStats stats_;
  int64_t last_copied_ = 0;  // frames checkpointed at the last run (thread only, for stats)
  std::thread thread_;
};

}  // namespace passerelle
