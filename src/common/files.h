// Small file-system helpers with Status errors.
// Thread-safety: functions are reentrant; a TempDir belongs to one owner.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace passerelle {

// A fresh directory under the system's temporary folder, removed with its contents on destruction.
class TempDir {
 public:
  static Result<TempDir> Create(std::string_view prefix = "passerelle");
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

Result<std::string> ReadFileToString(const std::filesystem::path& path);
// Writes via a temporary file and rename, so readers never see a partial file.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace passerelle
