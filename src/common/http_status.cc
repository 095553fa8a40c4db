#include "common/http_status.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

namespace passerelle {

Status StatusFromHttpError(int http_status, std::string_view body,
                           std::string_view fallback_prefix) {
  StatusCode code = StatusCode::kInternal;
  switch (http_status) {
    case 400:
    case 413:
    case 415:
      code = StatusCode::kInvalidArgument;
      break;
    case 401:
      code = StatusCode::kUnauthenticated;
      break;
    case 403:
      code = StatusCode::kPermissionDenied;
      break;
    case 404:
      code = StatusCode::kNotFound;
      break;
    case 409:
      code = StatusCode::kFailedPrecondition;
      break;
    case 429:
    case 502:
    case 503:
      code = StatusCode::kUnavailable;
      break;
    case 504:
      code = StatusCode::kDeadlineExceeded;
      break;
    default:
      break;
  }
  std::string message = fmt::format("{} {}", fallback_prefix, http_status);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    if (e.contains("message") && e["message"].is_string()) {
      message = e["message"].get<std::string>();
    }
    if (e.contains("code") && e["code"].is_string()) {
      const std::string name = e["code"].get<std::string>();
      for (int c = 1; c <= static_cast<int>(StatusCode::kInternal); ++c) {
        if (StatusCodeName(static_cast<StatusCode>(c)) == name) code = static_cast<StatusCode>(c);
      }
    }
  }
  return Status(code, message);
}

}  // namespace passerelle
