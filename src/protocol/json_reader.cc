#include "protocol/json_reader.h"

#include <fmt/format.h>

#include <cmath>

namespace passerelle::protocol {

using nlohmann::json;

std::string_view JsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

std::string JsonPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

Status RequireObject(const json& j, std::string_view path) {
  if (!j.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: expected an object (got {})",
                                               path.empty() ? "body" : path, JsonTypeName(j)));
  }
  return Status::Ok();
}

Status CheckKnownKeys(const json& obj, std::initializer_list<std::string_view> known,
                      std::string_view path) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (auto k : known) ok |= (k == key);
    if (!ok) {
      std::string list;
      for (auto k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return Status::InvalidArgument(
          fmt::format("{}: unknown key \"{}\" (accepted: {})", path.empty() ? "body" : path,
                      key.size() > 64 ? key.substr(0, 64) + "..." : key, list));
    }
  }
  return Status::Ok();
}

Result<std::optional<std::string>> GetOptionalString(const json& obj, std::string_view key,
                                                     std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a string (got {})", JsonPath(path, key), JsonTypeName(*it)));
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> GetString(const json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(auto v, GetOptionalString(obj, key, path));
  if (!v) return Status::InvalidArgument(fmt::format("{}: required", JsonPath(path, key)));
  return *v;
}

Result<std::optional<int64_t>> GetOptionalInt(const json& obj, std::string_view key,
                                              std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) {
      return Status::OutOfRange(fmt::format("{}: integer too large", JsonPath(path, key)));
    }
    return std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return Status::InvalidArgument(
      fmt::format("{}: expected an integer (got {})", JsonPath(path, key), JsonTypeName(*it)));
}

Result<int64_t> GetInt(const json& obj, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(auto v, GetOptionalInt(obj, key, path));
  if (!v) return Status::InvalidArgument(fmt::format("{}: required", JsonPath(path, key)));
  return *v;
}

Result<std::optional<double>> GetOptionalDouble(const json& obj, std::string_view key,
                                                std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a number (got {})", JsonPath(path, key), JsonTypeName(*it)));
  }
  return std::optional<double>(it->get<double>());
}

Result<std::optional<bool>> GetOptionalBool(const json& obj, std::string_view key,
                                            std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected true or false (got {})", JsonPath(path, key), JsonTypeName(*it)));
  }
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::vector<std::string>>> GetOptionalStringArray(const json& obj,
                                                                       std::string_view key,
                                                                       std::string_view path,
                                                                       size_t max_items) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) {
    return Status::InvalidArgument(fmt::format("{}: expected an array of strings (got {})",
                                               JsonPath(path, key), JsonTypeName(*it)));
  }
  if (it->size() > max_items) {
    return Status::OutOfRange(
        fmt::format("{}: more than {} items", JsonPath(path, key), max_items));
  }
  std::vector<std::string> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& e = (*it)[i];
    if (!e.is_string()) {
      return Status::InvalidArgument(fmt::format("{}[{}]: expected a string (got {})",
                                                 JsonPath(path, key), i, JsonTypeName(e)));
    }
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> GetStringArray(const json& obj, std::string_view key,
                                                std::string_view path, size_t max_items) {
  ASSIGN_OR_RETURN(auto v, GetOptionalStringArray(obj, key, path, max_items));
  if (!v) return Status::InvalidArgument(fmt::format("{}: required", JsonPath(path, key)));
  return std::move(*v);
}

}  // namespace passerelle::protocol
