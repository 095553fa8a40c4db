// The DuckDB implementation of DataSource, on DuckDB's C API (duckdb.h stays inside the .cc).
// Thread-safety: as DataSource — one thread at a time per instance.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::store {

struct DuckDbOptions {
  // Database file; empty for an in-memory database.
  std::string path;
  // Open without write access (db info, node queries).
  bool read_only = false;
  // Worker threads; 0 lets DuckDB use every core.
  int threads = 0;
  // DuckDB memory limit, e.g. "2GB"; empty for DuckDB's default (80% of RAM).
  std::string memory_limit;
  // Refuse to create the file when it does not exist.
  bool must_exist = false;
};

Result<std::unique_ptr<DataSource>> OpenDuckDb(const DuckDbOptions& options);

}  // namespace passerelle::store
