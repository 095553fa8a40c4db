// The database file an ingest writes to. Opening creates it when absent; a failed ingest leaves
// the file system as it was: it rolls back its transaction, and a file this ingest created is
// removed with its write-ahead log.
// Thread-safety: one owner.
#pragma once

#include <filesystem>
#include <memory>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::store {

class IngestTarget {
 public:
  static Result<IngestTarget> Open(const std::filesystem::path& path);
  IngestTarget(IngestTarget&&) noexcept = default;
  IngestTarget& operator=(IngestTarget&&) noexcept = default;
  ~IngestTarget();

  DataSource& source() { return *source_; }
  bool created() const { return created_; }
  // Closes the database; when `succeeded` is false, removes a file that Open created.
  void Finish(bool succeeded);

 private:
  IngestTarget(std::unique_ptr<DataSource> s, std::filesystem::path p, bool created)
      : source_(std::move(s)), path_(std::move(p)), created_(created) {}
  std::unique_ptr<DataSource> source_;
  std::filesystem::path path_;
  bool created_ = false;
};

}  // namespace passerelle::store
