// Typed reads of untrusted JSON objects with errors that say where the problem is, e.g.
//   analyses[2].variables: expected an array of strings (got a number)
// Used by the wire messages and by analysis specs (study files), so that every input boundary
// reports mistakes the same way.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace passerelle::protocol {

// "a string", "a number", ... for messages.
std::string_view JsonTypeName(const nlohmann::json& j);

// `path` names the object ("study", "analyses[1]"); keys are appended as "path.key".
Status RequireObject(const nlohmann::json& j, std::string_view path);
// Refuses keys outside `known`, naming the first unknown one and the accepted ones.
Status CheckKnownKeys(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                      std::string_view path);

Result<std::string> GetString(const nlohmann::json& obj, std::string_view key,
                              std::string_view path);
Result<std::optional<std::string>> GetOptionalString(const nlohmann::json& obj,
                                                     std::string_view key, std::string_view path);
// Integers only (1.5 is refused; 2.0 is accepted as 2).
Result<int64_t> GetInt(const nlohmann::json& obj, std::string_view key, std::string_view path);
Result<std::optional<int64_t>> GetOptionalInt(const nlohmann::json& obj, std::string_view key,
                                              std::string_view path);
Result<std::optional<double>> GetOptionalDouble(const nlohmann::json& obj, std::string_view key,
                                                std::string_view path);
Result<std::optional<bool>> GetOptionalBool(const nlohmann::json& obj, std::string_view key,
                                            std::string_view path);
// An array of strings; `max_items` bounds its length.
Result<std::vector<std::string>> GetStringArray(const nlohmann::json& obj, std::string_view key,
                                                std::string_view path, size_t max_items = 10000);
Result<std::optional<std::vector<std::string>>> GetOptionalStringArray(const nlohmann::json& obj,
                                                                       std::string_view key,
                                                                       std::string_view path,
                                                                       size_t max_items = 10000);

// "path.key" (or "key" when path is empty).
std::string JsonPath(std::string_view path, std::string_view key);

}  // namespace passerelle::protocol
