#include "store/ingest_target.h"

#include <fmt/format.h>

#include "store/duckdb_source.h"

namespace passerelle::store {

Result<IngestTarget> IngestTarget::Open(const std::filesystem::path& path) {
  std::error_code ec;
  bool existed = std::filesystem::exists(path, ec);
  if (!existed && path.has_parent_path() &&
      !std::filesystem::is_directory(path.parent_path(), ec)) {
    return Status::NotFound(
        fmt::format("{}: folder {} does not exist", path.string(), path.parent_path().string()));
  }
  DuckDbOptions opts;
  opts.path = path.string();
  ASSIGN_OR_RETURN(auto source, OpenDuckDb(opts));
  return IngestTarget(std::move(source), path, !existed);
}

void IngestTarget::Finish(bool succeeded) {
  if (!source_) return;
  source_.reset();  // closes the database (checkpoints on success)
  if (!succeeded && created_) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(std::filesystem::path(path_.string() + ".wal"), ec);
  }
}

IngestTarget::~IngestTarget() { Finish(false); }

}  // namespace passerelle::store
