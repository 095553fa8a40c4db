// The node's task journal (SQLite, WAL, migrations): what the node computed and whether the hub
// acknowledged it. A node that restarts re-posts every computed but unacknowledged result with the
// same Idempotency-Key, and answers a task the hub hands out again from the journal instead of
// computing it twice — so a result is released once, and counted once.
//
// Acknowledgements ("posted") are held in memory and written together, when the node is idle
// (FlushMarks, when a poll finds no task), when kMarksHeld are held, or when the journal closes,
// not in a commit each: a round then costs the node one journal commit, not two. Until then Find
// and Unposted see them. A crash loses only the marks held: the node re-posts those results at
// restart with their keys and the hub answers that it already has them.
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
  // Writes the acknowledgements not yet written.
  ~Journal();

  Result<std::optional<Entry>> Find(const std::string& task_id);
  // At most this many acknowledgements are held before they are written.
  static constexpr size_t kMarksHeld = 64;

  // Records a computed result before it is posted.
  Status RecordComputed(const std::string& task_id, const std::string& study_id, int round,
                        const std::string& idempotency_key, const std::string& result_json);
  // `state`: "posted" (acknowledged: written later, see above) or "rejected" (the hub will never
  // take it: written now).
  Status MarkFinal(const std::string& task_id, const std::string& state);
  // Writes the acknowledgements not yet written (the agent calls it when a poll finds no task).
  Status FlushMarks();
  // Computed results not yet acknowledged, oldest first.
  Result<std::vector<Entry>> Unposted();

 private:
  Journal(std::unique_ptr<SqliteDb> db, Clock& clock) : db_(std::move(db)), clock_(clock) {}
  // Writes the acknowledgements held in memory. REQUIRES: a transaction is open.
  Status WriteMarks();
  bool MarkHeld(const std::string& task_id) const;
  std::unique_ptr<SqliteDb> db_;
  Clock& clock_;
  std::vector<std::string> posted_unwritten_;  // acknowledged, not yet written
};

}  // namespace passerelle::node
