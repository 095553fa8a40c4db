#include "hub/state_checkpointer.h"

#include <pthread.h>

#include <algorithm>

#include "common/log.h"

namespace passerelle::hub {

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
  auto st = db_->Prepare("PRAGMA wal_checkpoint(PASSIVE)");
  Status error;
  int64_t copied = 0;
  if (!st.ok()) {
    error = st.status();
  } else {
    auto row = st->Step();
    if (!row.ok()) {
      error = row.status();
    } else if (*row) {
      copied = st->ColumnInt(2);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!error.ok()) {
    ++stats_.errors;
    log::Warn("hub: state checkpoint failed (retried): {}", error.message());
    return;
  }
  // `copied` counts every frame checkpointed since the WAL was last reset; new ones are the growth.
  // After a WAL reset the count starts again from zero.
  copied = std::max<int64_t>(copied, 0);
  const int64_t fresh = copied >= last_copied_ ? copied - last_copied_ : copied;
  if (fresh > 0) {
    ++stats_.checkpoints;
    stats_.frames += fresh;
  }
  last_copied_ = copied;
}

}  // namespace passerelle::hub
