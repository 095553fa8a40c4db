// Extraction of a zip archive of CSV files into a folder (libzip), for ingest. Skips folders,
// macOS resource forks (`__MACOSX/`, `._*`) and hidden files; refuses entries that would escape
// the target folder. Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <vector>

#include "common/status.h"

namespace passerelle::omop {

// Extracts the regular files of `zip` into `dest`; returns the extracted paths.
Result<std::vector<std::filesystem::path>> ExtractZip(const std::filesystem::path& zip,
                                                      const std::filesystem::path& dest);

}  // namespace passerelle::omop
