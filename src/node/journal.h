// The node's task journal (SQLite, WAL, migrations): what the node computed and whether the hub
// acknowledged it. A node that restarts re-posts every computed but unacknowledged result with the
// same Idempotency-Key, and answers a task the hub hands out again from the journal instead of
// computing it twice — so a result is released once, and counted once.
//
// Thread-safety: one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/sqlite.h"
#include "common/status.h"

namespace passerelle::node {

class Journal {
 public:
  struct Entry {
    std::string task_id;
    std::string state;            // "computed", "posted", "rejected"
    std::string idempotency_key;  // sent with every post of this result
    std::string result_json;      // the TaskResult, as posted
  };

  static Result<std::unique_ptr<Journal>> Open(const std::filesystem::path& path, Clock& clock);

  Result<std::optional<Entry>> Find(const std::string& task_id);
  // Records a computed result before it is posted.
  Status RecordComputed(const std::string& task_id, const std::string& study_id, int round,
                        const std::string& idempotency_key, const std::string& result_json);
  // `state`: "posted" (acknowledged) or "rejected" (the hub will never take it).
  Status MarkFinal(const std::string& task_id, const std::string& state);
  // Computed results not yet acknowledged, oldest first.
  Result<std::vector<Entry>> Unposted();

 private:
  Journal(std::unique_ptr<SqliteDb> db, Clock& clock) : db_(std::move(db)), clock_(clock) {}
  std::unique_ptr<SqliteDb> db_;
  Clock& clock_;
};

}  // namespace passerelle::node
