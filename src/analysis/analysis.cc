#include "analysis/analysis.h"

#include <fmt/format.h>

#include <cmath>

#include "analysis/builtin.h"
#include "privacy/disclosure.h"
#include "protocol/json_reader.h"

namespace passerelle::analysis {

namespace {
constexpr std::string_view kRefusalPrefix = "refused by rule ";
}

Result<RoundInput> Analysis::Begin(const AnalysisSpec&, nlohmann::json& state) const {
  state = nlohmann::json::object();
  return RoundInput{};
}

Status RefuseByRule(std::string_view rule, std::string_view why) {
  return Status::PermissionDenied(fmt::format("{}{}: {}", kRefusalPrefix, rule, why));
}

std::string RefusalRule(const Status& status) {
  if (status.code() != StatusCode::kPermissionDenied) return {};
  std::string_view m = status.message();
  size_t at = m.find(kRefusalPrefix);
  if (at == std::string_view::npos) return {};
  m.remove_prefix(at + kRefusalPrefix.size());
  return std::string(m.substr(0, m.find(':')));
}

Status Registry::Register(std::unique_ptr<Analysis> analysis) {
  std::string type(analysis->type());
  if (analyses_.count(type)) {
    return Status::AlreadyExists(fmt::format("analysis \"{}\" is already registered", type));
  }
  analyses_.emplace(std::move(type), std::move(analysis));
  return Status::Ok();
}

const Analysis* Registry::Find(std::string_view type) const {
  auto it = analyses_.find(type);
  return it == analyses_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::Types() const {
  std::vector<std::string> out;
  for (const auto& [name, a] : analyses_) out.push_back(name);
  return out;
}

Result<std::unique_ptr<AnalysisSpec>> Registry::ParseSpec(const nlohmann::json& j,
                                                          std::string_view path) const {
  RETURN_IF_ERROR(protocol::RequireObject(j, path));
  ASSIGN_OR_RETURN(std::string type, protocol::GetString(j, "type", path));
  const Analysis* a = Find(type);
  if (!a) {
    std::string known;
    for (const auto& t : Types()) known += (known.empty() ? "" : ", ") + t;
    return Status::InvalidArgument(fmt::format("{}.type: unknown analysis \"{}\" (known: {})", path,
                                               type.size() > 64 ? type.substr(0, 64) : type,
                                               known));
  }
  return a->ParseSpec(j, path);
}

std::unique_ptr<Registry> MakeBuiltinRegistry() {
  auto r = std::make_unique<Registry>();
  r->Register(MakeCountAnalysis()).PermitUncheckedError();
  r->Register(MakeSummaryAnalysis()).PermitUncheckedError();
  r->Register(MakeTableAnalysis()).PermitUncheckedError();
  r->Register(MakeGlmAnalysis()).PermitUncheckedError();
  r->Register(MakeCoxAnalysis()).PermitUncheckedError();
  r->Register(MakeKmAnalysis()).PermitUncheckedError();
  r->Register(MakeTable1Analysis()).PermitUncheckedError();
  return r;
}

const Registry& BuiltinRegistry() {
  static const Registry* registry = MakeBuiltinRegistry().release();
  return *registry;
}

Result<NodeShare> ComputeShare(const Analysis& analysis, AnalysisTable& data,
                               const AnalysisSpec& spec, int round, const RoundInput& input,
                               const Thresholds& thresholds) {
  ASSIGN_OR_RETURN(NodeShare share, analysis.LocalStep(data, spec, round, input, thresholds));
  RETURN_IF_ERROR(analysis.Disclose(spec, round, input, thresholds, share));
  ASSIGN_OR_RETURN(size_t expected, analysis.ShareLength(spec, round, input));
  if (share.values.size() != expected) {
    return Status::Internal(
        fmt::format("analysis {} ({}) round {}: share of {} values, expected {}", spec.id,
                    spec.type, round, share.values.size(), expected));
  }
  return share;
}

double RoundCount(double count, int64_t base) {
  if (base <= 1) return count;
  return static_cast<double>(privacy::RoundToBase(static_cast<int64_t>(std::llround(count)), base));
}

Status ParseCommonFields(const nlohmann::json& j, std::string_view path,
                         std::initializer_list<std::string_view> known, AnalysisSpec& spec) {
  RETURN_IF_ERROR(protocol::RequireObject(j, path));
  RETURN_IF_ERROR(protocol::CheckKnownKeys(j, known, path));
  ASSIGN_OR_RETURN(spec.id, protocol::GetString(j, "id", path));
  ASSIGN_OR_RETURN(spec.type, protocol::GetString(j, "type", path));
  return Status::Ok();
}

}  // namespace passerelle::analysis
