#include "common/wal_checkpointer.h"

#include <pthread.h>

#include <algorithm>

#include "common/log.h"

namespace passerelle {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(SqliteDb& db,
                                                                const std::string& path,
                                                                CheckpointerOptions options) {
  if (path == ":memory:") {
    return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(nullptr, options));
  }
  RETURN_IF_ERROR(db.Execute("PRAGMA wal_autocheckpoint=0"));
  ASSIGN_OR_RETURN(auto own, SqliteDb::Open({.path = path, .must_exist = true}));
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(own), options));
}

WalCheckpointer::WalCheckpointer(std::unique_ptr<SqliteDb> own, CheckpointerOptions options)
    : db_(std::move(own)), options_(options) {
  if (db_) thread_ = std::thread([this] { Loop(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CheckpointerStats WalCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void WalCheckpointer::Loop() {
  pthread_setname_np(pthread_self(), "wal-checkpoint");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const bool stopping = cv_.wait_for(lock, options_.interval, [this] { return stop_; });
    lock.unlock();
    RunOnce();
    lock.lock();
    if (stopping) return;
  }
}

void WalCheckpointer::RunOnce() {
  // PASSIVE: copies what it can without waiting for (or blocking) the writer. Row: busy, frames in
  // the WAL, frames checkpointed (-1, -1 when the database is not in WAL mode).
  auto checkpoint = [this](const char* sql, int64_t& busy, int64_t& wal_frames,
                           int64_t& copied) -> Status {
    ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      busy = st.ColumnInt(0);
      wal_frames = std::max<int64_t>(st.ColumnInt(1), 0);
      copied = std::max<int64_t>(st.ColumnInt(2), 0);
    }
    return Status::Ok();
  };
  int64_t busy = 0, wal_frames = 0, copied = 0;
  Status error = checkpoint("PRAGMA wal_checkpoint(PASSIVE)", busy, wal_frames, copied);
  // `copied` counts every frame checkpointed since the WAL was last reset (it drops after a reset).
  int64_t fresh = copied >= last_copied_ ? copied - last_copied_ : copied;
  last_copied_ = copied;
  bool truncated = false;
  if (error.ok() && wal_frames > options_.max_wal_frames) {
    int64_t t_busy = 0, t_frames = 0, t_copied = 0;
    error = checkpoint("PRAGMA wal_checkpoint(TRUNCATE)", t_busy, t_frames, t_copied);
    // busy = 1: the writer kept its lock past the busy timeout; the next run tries again.
    if (error.ok() && t_busy == 0) {
      truncated = true;
      fresh += std::max<int64_t>(wal_frames - copied, 0);
      last_copied_ = 0;  // the WAL starts again from zero
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!error.ok()) {
    ++stats_.errors;
    log::Warn("{}: checkpoint failed (retried): {}", options_.name, error.message());
    return;
  }
  if (fresh > 0) {
    ++stats_.checkpoints;
    stats_.frames += fresh;
  }
  if (truncated) ++stats_.truncations;
}

}  // namespace passerelle
