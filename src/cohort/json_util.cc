#include "cohort/json_util.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "common/date.h"

namespace passerelle::cohort::internal {

Status JsonError(std::string_view where, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", where, message));
}

std::string Sub(std::string_view where, std::string_view part) {
  return fmt::format("{}: {}", where, part);
}

std::string Brief(const Json& value) {
  std::string s = value.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

Result<Json> ParseJsonText(std::string_view text, std::string_view origin) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(fmt::format(
        "{}: not valid JSON (at byte {}); check brackets, commas and quotes", origin, e.byte));
  }
}

Status ExpectObject(const Json& value, std::string_view where) {
  if (!value.is_object()) {
    return JsonError(where, fmt::format("must be a JSON object (got {})", Brief(value)));
  }
  return Status::Ok();
}

Status CheckKeys(const Json& object, std::string_view where,
                 std::initializer_list<std::string_view> allowed) {
  RETURN_IF_ERROR(ExpectObject(object, where));
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == it.key();
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return JsonError(where,
                       fmt::format("unknown key \"{}\" (expected one of: {})", it.key(), list));
    }
  }
  return Status::Ok();
}

const Json* Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<int64_t> AsInt(const Json& value, std::string_view what, std::string_view where, int64_t min,
                      int64_t max) {
  int64_t v = 0;
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return JsonError(where, fmt::format("{} is too large (got {})", what, Brief(value)));
    }
    v = value.get<int64_t>();
  } else if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15) {
      return JsonError(where,
                       fmt::format("{} must be a whole number (got {})", what, Brief(value)));
    }
    v = static_cast<int64_t>(d);
  } else {
    return JsonError(where, fmt::format("{} must be a whole number (got {})", what, Brief(value)));
  }
  if (v < min || v > max) {
    if (max == std::numeric_limits<int64_t>::max()) {
      return JsonError(where, fmt::format("{} must be >= {} (got {})", what, min, v));
    }
    return JsonError(where,
                     fmt::format("{} must be between {} and {} (got {})", what, min, max, v));
  }
  return v;
}

Result<std::optional<int64_t>> OptInt(const Json& object, std::string_view key,
                                      std::string_view where, int64_t min, int64_t max) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(int64_t i, AsInt(*v, fmt::format("\"{}\"", key), where, min, max));
  return std::optional<int64_t>(i);
}

Result<std::optional<double>> OptNumber(const Json& object, std::string_view key,
                                        std::string_view where) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) {
    return JsonError(where, fmt::format("\"{}\" must be a number (got {})", key, Brief(*v)));
  }
  return std::optional<double>(v->get<double>());
}

Result<std::optional<std::string>> OptString(const Json& object, std::string_view key,
                                             std::string_view where) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) {
    return JsonError(where, fmt::format("\"{}\" must be a string (got {})", key, Brief(*v)));
  }
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<bool>> OptBool(const Json& object, std::string_view key,
                                    std::string_view where) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) {
    return JsonError(where, fmt::format("\"{}\" must be true or false (got {})", key, Brief(*v)));
  }
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int32_t>> OptDate(const Json& object, std::string_view key,
                                       std::string_view where) {
  ASSIGN_OR_RETURN(auto s, OptString(object, key, where));
  if (!s) return std::optional<int32_t>();
  auto d = ParseDate(*s);
  if (!d.ok()) {
    return JsonError(where, fmt::format("\"{}\" must be a date YYYY-MM-DD (got \"{}\")", key, *s));
  }
  return std::optional<int32_t>(*d);
}

}  // namespace passerelle::cohort::internal
