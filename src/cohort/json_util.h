// Strict JSON reading with located errors, shared by the cohort parsers (native format, ATLAS
// import, study specs). Internal to src/cohort.
//
// `where` strings locate a value for the user: "cohort.json: inclusion rule 2". Errors read
// `<where>: "<key>" must be ... (got ...)`. Values from the input are echoed only when they are
// short scalars of the definition itself (never patient data).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace passerelle::cohort::internal {

using Json = nlohmann::json;

Status JsonError(std::string_view where, std::string_view message);
std::string Sub(std::string_view where, std::string_view part);  // "where: part"
// A short rendering of a JSON value for messages (truncated).
std::string Brief(const Json& value);

// Parses text; errors name `origin` and the byte offset.
Result<Json> ParseJsonText(std::string_view text, std::string_view origin);

Status ExpectObject(const Json& value, std::string_view where);
// Refuses keys not in `allowed`, naming the first unknown one and the allowed set.
Status CheckKeys(const Json& object, std::string_view where,
                 std::initializer_list<std::string_view> allowed);

// The member `key`, or null when absent or JSON null.
const Json* Find(const Json& object, std::string_view key);

Result<std::optional<int64_t>> OptInt(const Json& object, std::string_view key,
                                      std::string_view where, int64_t min, int64_t max);
Result<std::optional<double>> OptNumber(const Json& object, std::string_view key,
                                        std::string_view where);
Result<std::optional<std::string>> OptString(const Json& object, std::string_view key,
                                             std::string_view where);
Result<std::optional<bool>> OptBool(const Json& object, std::string_view key,
                                    std::string_view where);
// A date "YYYY-MM-DD" as days since the epoch.
Result<std::optional<int32_t>> OptDate(const Json& object, std::string_view key,
                                       std::string_view where);

// An integer value (also 12.0) in [min, max].
Result<int64_t> AsInt(const Json& value, std::string_view what, std::string_view where, int64_t min,
                      int64_t max);

}  // namespace passerelle::cohort::internal
