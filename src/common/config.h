// Configuration files (TOML). A Config is an immutable parsed document; keys are dotted paths
// ("hub.listen", "policy.min_cell"). Getters distinguish an absent key (the default applies)
// from a key of the wrong type (an error naming the file and the key).
//
// Thread-safety: a Config is immutable after loading; share it freely.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle {

class Config {
 public:
  // Parses a TOML file; errors name the file, line and column.
  static Result<Config> LoadFile(const std::filesystem::path& path);
  // Parses TOML text; `source` names it in errors.
  static Result<Config> Parse(std::string_view text, std::string source = "config");

  const std::string& source() const { return source_; }
  bool Has(std::string_view key) const;

  // Value at `key`, `fallback` when absent, an error when present with another type.
  Result<std::string> GetString(std::string_view key, std::string fallback) const;
  Result<int64_t> GetInt(std::string_view key, int64_t fallback) const;
  Result<double> GetDouble(std::string_view key, double fallback) const;  // accepts integers
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  Result<std::vector<std::string>> GetStringList(std::string_view key,
                                                 std::vector<std::string> fallback) const;
  // Keys directly under a table (empty when absent); for "[nodes.*]"-style sections.
  std::vector<std::string> TableKeys(std::string_view key) const;

  // Keys present in the file that are not in `known` (dotted, leaves only): report typos.
  std::vector<std::string> UnknownKeys(const std::vector<std::string>& known) const;

  struct Impl;

 private:
  Config(std::shared_ptr<const Impl> impl, std::string source)
      : impl_(std::move(impl)), source_(std::move(source)) {}
  std::shared_ptr<const Impl> impl_;
  std::string source_;
};

}  // namespace passerelle
