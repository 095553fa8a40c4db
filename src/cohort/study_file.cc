#include "cohort/study_file.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "cohort/atlas.h"
#include "cohort/features.h"

namespace passerelle::cohort {

using nlohmann::json;

namespace {

constexpr size_t kMaxCohortFileBytes = 1u << 20;

Result<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::NotFound(fmt::format("{}: cannot read: {}", path.string(), ec.message()));
  if (size > kMaxCohortFileBytes) {
    return Status::OutOfRange(
        fmt::format("{}: larger than {} bytes", path.string(), kMaxCohortFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("{}: cannot open", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<json> ResolveStudyCohort(json study, const std::filesystem::path& base_dir,
                                std::string_view origin) {
  if (!study.is_object() || !study.contains("cohort")) return study;
  json& cohort = study["cohort"];
  if (cohort.is_object() && cohort.contains("file")) {
    const std::string where = fmt::format("{}: cohort", origin);
    if (cohort.size() != 1 || !cohort["file"].is_string()) {
      return Status::InvalidArgument(
          fmt::format("{}: a reference is {{\"file\": \"path\"}} and nothing else", where));
    }
    std::filesystem::path path = cohort["file"].get<std::string>();
    if (path.is_relative()) path = base_dir / path;
    auto text = ReadSmallFile(path);
    if (!text.ok()) return text.status().WithContext(where);
    json def = json::parse(*text, nullptr, false);
    if (def.is_discarded() || !def.is_object()) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: not a JSON object", where, path.string()));
    }
    if (LooksLikeAtlas(def)) {
      cohort = json{{"atlas", std::move(def)}};
    } else {
      cohort = std::move(def);
    }
  }
  auto spec = ParseCohortStudySpec(study, origin);
  if (!spec.ok()) return spec.status();
  return study;
}

}  // namespace passerelle::cohort
