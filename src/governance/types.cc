#include "governance/types.h"

#include <fmt/format.h>

#include "common/date.h"
#include "common/strings.h"

namespace passerelle::governance {

std::string_view JurisdictionName(Jurisdiction j) {
  switch (j) {
    case Jurisdiction::kFR:
      return "FR";
    case Jurisdiction::kQC:
      return "QC";
  }
  return "?";
}

Result<Jurisdiction> ParseJurisdiction(std::string_view text) {
  if (EqualsIgnoreCase(text, "FR")) return Jurisdiction::kFR;
  if (EqualsIgnoreCase(text, "QC")) return Jurisdiction::kQC;
  return Status::InvalidArgument(
      fmt::format("unknown jurisdiction \"{}\" (expected FR or QC)", text));
}

std::string_view RoleKindName(RoleKind kind) {
  switch (kind) {
    case RoleKind::kAdministrator:
      return "administrator";
    case RoleKind::kCommitteeMember:
      return "committee";
    case RoleKind::kResearcher:
      return "researcher";
    case RoleKind::kCustodian:
      return "custodian";
  }
  return "?";
}

std::string RoleToString(const Role& role) {
  if (role.scope.empty()) return std::string(RoleKindName(role.kind));
  return fmt::format("{}:{}", RoleKindName(role.kind), role.scope);
}

Result<Role> ParseRole(std::string_view text) {
  std::string_view kind = text;
  std::string_view scope;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    kind = text.substr(0, colon);
    scope = text.substr(colon + 1);
  }
  if (kind == "administrator" || kind == "researcher") {
    if (!scope.empty()) {
      return Status::InvalidArgument(fmt::format("role \"{}\" takes no scope", text));
    }
    return Role{kind == "administrator" ? RoleKind::kAdministrator : RoleKind::kResearcher, ""};
  }
  if (kind == "committee") {
    auto j = ParseJurisdiction(scope);
    if (!j.ok()) {
      return Status::InvalidArgument(
          fmt::format("role \"{}\": a committee role names its jurisdiction: committee:FR or "
                      "committee:QC",
                      text));
    }
    return Role{RoleKind::kCommitteeMember, std::string(JurisdictionName(*j))};
  }
  if (kind == "custodian") {
    Status st = ValidateId(scope, "custodian node");
    if (!st.ok()) {
      return Status::InvalidArgument(
          fmt::format("role \"{}\": a custodian role names its node: custodian:<node id> ({})",
                      text, st.message()));
    }
    return Role{RoleKind::kCustodian, std::string(scope)};
  }
  return Status::InvalidArgument(fmt::format(
      "unknown role \"{}\" (expected administrator, researcher, committee:FR, committee:QC or "
      "custodian:<node>)",
      text));
}

std::string_view AxisName(Axis axis) {
  switch (axis) {
    case Axis::kAiApplications:
      return "ai-applications";
    case Axis::kPopulationModels:
      return "population-models";
    case Axis::kPatientBenefit:
      return "patient-benefit";
  }
  return "?";
}

Result<Axis> ParseAxis(std::string_view text) {
  for (Axis a : kAllAxes) {
    if (text == AxisName(a)) return a;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown axis \"{}\" (expected ai-applications, population-models or patient-benefit)",
      text));
}

bool Principal::HasRole(RoleKind k) const {
  for (const Role& r : roles) {
    if (r.kind == k) return true;
  }
  return false;
}

bool Principal::HasRole(RoleKind k, std::string_view scope) const {
  for (const Role& r : roles) {
    if (r.kind == k && r.scope == scope) return true;
  }
  return false;
}

std::vector<std::string> Principal::RoleStrings() const {
  std::vector<std::string> out;
  for (const Role& r : roles) out.push_back(RoleToString(r));
  return out;
}

Principal Principal::LocalOperator() {
  Principal p;
  p.kind = Kind::kLocalOperator;
  p.name = "local-operator";
  p.roles = {Role{RoleKind::kAdministrator, ""}};
  return p;
}

Status RuleViolation(StatusCode code, std::string_view rule_name, std::string_view message) {
  return Status(code, fmt::format("{} [rule: {}]", message, rule_name));
}

Status ValidateId(std::string_view id, std::string_view what) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  bool ok = !id.empty() && id.size() <= 64 && ok_char(id[0]) && id[0] != '.' && id[0] != '_' &&
            id[0] != '-';
  for (char c : id) ok = ok && ok_char(c);
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "{} \"{}\" is not a valid identifier: use 1 to 64 characters among a-z, 0-9, '.', '_' "
        "and '-', starting with a letter or digit",
        what, id));
  }
  return Status::Ok();
}

int32_t AddMonths(int32_t days, int months) {
  CivilDate d = CivilFromDays(days);
  int total = d.year * 12 + (d.month - 1) + months;
  int year = total / 12;
  int month = total % 12 + 1;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int last = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return DaysFromCivil(year, month, d.day > last ? last : d.day);
}

}  // namespace passerelle::governance
