#include "protocol/messages.h"

#include "common/http_status.h"

#include <fmt/format.h>

#include <cctype>
#include <set>

#include "protocol/codec.h"
#include "protocol/json_reader.h"

namespace passerelle::protocol {

using nlohmann::json;

namespace {

Status ValidateNodeName(std::string_view id, std::string_view path) {
  bool ok = !id.empty() && id.size() <= 63;
  for (char c : id) {
    ok &= std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  }
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("{}: \"{}\" is not a node id (1 to 63 of a-z, 0-9, '-', '_')", path,
                    id.size() > 64 ? std::string(id.substr(0, 64)) + "..." : std::string(id)));
  }
  return Status::Ok();
}

Status CheckVersion(const json& j, std::string_view path) {
  ASSIGN_OR_RETURN(auto v, GetOptionalInt(j, "protocol", path));
  if (v && *v != kProtocolVersion) {
    return Status::InvalidArgument(
        fmt::format("{}: protocol version {} is not supported (this side speaks {})", path, *v,
                    kProtocolVersion));
  }
  return Status::Ok();
}

json DisclosureToJson(const DisclosureRequest& d) {
  json j = json::object();
  if (d.min_cell) j["min_cell"] = *d.min_cell;
  if (d.min_rows) j["min_rows"] = *d.min_rows;
  return j;
}

Result<DisclosureRequest> DisclosureFromJson(const json& j, std::string_view path) {
  DisclosureRequest d;
  if (j.is_null()) return d;
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j, {"min_cell", "min_rows"}, path));
  ASSIGN_OR_RETURN(d.min_cell, GetOptionalInt(j, "min_cell", path));
  ASSIGN_OR_RETURN(d.min_rows, GetOptionalInt(j, "min_rows", path));
  for (auto [name, v] : {std::pair{"min_cell", d.min_cell}, std::pair{"min_rows", d.min_rows}}) {
    if (v && (*v < 0 || *v > 1'000'000)) {
      return Status::OutOfRange(
          fmt::format("{}.{}: must be between 0 and 1000000 (got {})", path, name, *v));
    }
  }
  return d;
}

Result<int> GetRound(const json& j, std::string_view key, std::string_view path, int min) {
  ASSIGN_OR_RETURN(int64_t r, GetInt(j, key, path));
  if (r < min || r > 1'000'000) {
    return Status::OutOfRange(
        fmt::format("{}: must be between {} and 1000000 (got {})", JsonPath(path, key), min, r));
  }
  return static_cast<int>(r);
}

Result<std::vector<double>> GetVector(const json& j, std::string_view key, std::string_view path) {
  ASSIGN_OR_RETURN(auto text, GetOptionalString(j, key, path));
  if (!text) return std::vector<double>();
  auto v = DecodeVector(*text, kMaxVectorValues);
  if (!v.ok()) return v.status().WithContext(JsonPath(path, key));
  return std::move(v).value();
}

// Cohort definitions are bounded by the body size; this bounds their nesting and breadth.
constexpr size_t kMaxCohortBytes = 1u << 20;

void CohortToJson(const std::optional<CohortRequest>& c, json& j) {
  if (!c) return;
  j["cohort"] = c->cohort;
  if (!c->covariates.empty()) j["covariates"] = c->covariates;
  if (!c->outcome.is_null()) j["outcome"] = c->outcome;
}

// "cohort" (object), "covariates" (array), "outcome" (object) of a study or a task.
Result<std::optional<CohortRequest>> CohortFromJson(const json& j, std::string_view path) {
  auto c = j.find("cohort");
  if (c == j.end()) {
    for (const char* key : {"covariates", "outcome"}) {
      if (j.contains(key)) {
        return Status::InvalidArgument(
            fmt::format("{}: \"{}\" is given without a \"cohort\"", JsonPath(path, key), key));
      }
    }
    return std::optional<CohortRequest>();
  }
  CohortRequest r;
  if (!c->is_object() || c->empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: expected a cohort definition (an object; a {{\"file\": ...}} reference is resolved "
        "by `passerelle study submit`)",
        JsonPath(path, "cohort")));
  }
  if (c->contains("file")) {
    return Status::InvalidArgument(fmt::format(
        "{}: the {{\"file\": ...}} reference was not resolved (submit the study with `passerelle "
        "study submit`, which reads the file)",
        JsonPath(path, "cohort")));
  }
  r.cohort = *c;
  if (auto v = j.find("covariates"); v != j.end()) {
    if (!v->is_array()) {
      return Status::InvalidArgument(JsonPath(path, "covariates") + ": expected an array");
    }
    r.covariates = *v;
  }
  if (auto o = j.find("outcome"); o != j.end() && !o->is_null()) {
    if (!o->is_object()) {
      return Status::InvalidArgument(JsonPath(path, "outcome") + ": expected an object");
    }
    r.outcome = *o;
  }
  json whole = json::object();
  CohortToJson(r, whole);
  if (whole.dump().size() > kMaxCohortBytes) {
    return Status::OutOfRange(
        fmt::format("{}: cohort, covariates and outcome exceed {} bytes", path, kMaxCohortBytes));
  }
  return std::optional<CohortRequest>(std::move(r));
}

// A cohort study runs on the node's CDM: "dataset" is then "omop" (the default).
Status CheckCohortDataset(const std::optional<CohortRequest>& cohort, std::string& dataset,
                          bool has_dataset, std::string_view path) {
  if (!cohort) return Status::Ok();
  if (has_dataset && dataset != kOmopDataset) {
    return Status::InvalidArgument(
        fmt::format("{}.dataset: a study with a \"cohort\" runs on the nodes' OMOP CDM, dataset "
                    "\"{}\" (got \"{}\")",
                    path, kOmopDataset, dataset.size() > 64 ? dataset.substr(0, 64) : dataset));
  }
  dataset = std::string(kOmopDataset);
  return Status::Ok();
}

json SecaggToJson(const SecaggWire& w, bool with_session) {
  json j = {{"phase", w.phase}, {"payload", w.payload}};
  if (with_session) j["session"] = w.session;
  return j;
}

// The secure-aggregation block of a task or a result; the payload stays base64 here (its binary
// message is decoded by the side that uses it, privacy/secagg.h).
Result<SecaggWire> SecaggFromJson(const json& j, std::string_view path, bool with_session) {
  RETURN_IF_ERROR(RequireObject(j, path));
  if (with_session) {
    RETURN_IF_ERROR(CheckKnownKeys(j, {"phase", "session", "payload"}, path));
  } else {
    RETURN_IF_ERROR(CheckKnownKeys(j, {"phase", "payload"}, path));
  }
  SecaggWire w;
  ASSIGN_OR_RETURN(w.phase, GetString(j, "phase", path));
  if (w.phase != "advertise" && w.phase != "share_keys" && w.phase != "masked_input" &&
      w.phase != "unmask") {
    return Status::InvalidArgument(fmt::format(
        "{}.phase: must be \"advertise\", \"share_keys\", \"masked_input\" or \"unmask\"", path));
  }
  ASSIGN_OR_RETURN(auto payload, GetOptionalString(j, "payload", path));
  w.payload = payload.value_or("");
  if (with_session) {
    auto s = j.find("session");
    if (s == j.end() || !s->is_object()) {
      return Status::InvalidArgument(fmt::format("{}.session: expected an object", path));
    }
    w.session = *s;
  }
  return w;
}

Result<json> PrivacyFromJson(const json& j, std::string_view path) {
  RETURN_IF_ERROR(RequireObject(j, path));
  return j;
}

}  // namespace

Status ValidateAnalysisId(std::string_view id, std::string_view path) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  }
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"{}\" is not a valid analysis id (1 to 64 of A-Z, a-z, 0-9, '_', '-', "
        "'.')",
        path, id.size() > 64 ? std::string(id.substr(0, 64)) + "..." : std::string(id)));
  }
  return Status::Ok();
}

Status ValidateDatasetName(std::string_view name, std::string_view path) {
  bool ok = !name.empty() && name.size() <= 63 &&
            (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  if (ok && name.substr(0, 11) == "_passerelle") ok = false;
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "{}: \"{}\" is not a dataset name ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)", path,
        name.size() > 64 ? std::string(name.substr(0, 64)) + "..." : std::string(name)));
  }
  return Status::Ok();
}

// ---- StudyDefinition -------------------------------------------------------------------------

json StudyDefinition::ToJson() const {
  json j = json::object();
  j["name"] = name;
  if (!description.empty()) j["description"] = description;
  j["dataset"] = dataset;
  CohortToJson(cohort, j);
  if (project) j["project"] = *project;
  if (!nodes.empty()) j["nodes"] = nodes;
  json d = DisclosureToJson(disclosure);
  if (!d.empty()) j["disclosure"] = d;
  j["analyses"] = json::array();
  for (const auto& a : analyses) j["analyses"].push_back(a.spec);
  if (!privacy.empty()) j["privacy"] = privacy;
  if (linkage) j["linkage"] = linkage->ToJson();
  return j;
}

Result<StudyDefinition> StudyDefinition::FromJson(const json& j) {
  const std::string path = "study";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(
      CheckKnownKeys(j,
                     {"name", "description", "dataset", "cohort", "covariates", "outcome",
                      "project", "nodes", "disclosure", "analyses", "privacy", "linkage"},
                     path));
  StudyDefinition s;
  ASSIGN_OR_RETURN(s.name, GetString(j, "name", path));
  if (s.name.empty() || s.name.size() > 200) {
    return Status::InvalidArgument("study.name: must be 1 to 200 characters");
  }
  ASSIGN_OR_RETURN(auto desc, GetOptionalString(j, "description", path));
  if (desc) {
    if (desc->size() > 10000) return Status::InvalidArgument("study.description: too long");
    s.description = *desc;
  }
  ASSIGN_OR_RETURN(s.cohort, CohortFromJson(j, path));
  if (j.contains("dataset") || !s.cohort) {
    ASSIGN_OR_RETURN(s.dataset, GetString(j, "dataset", path));
    RETURN_IF_ERROR(ValidateDatasetName(s.dataset, "study.dataset"));
  }
  RETURN_IF_ERROR(CheckCohortDataset(s.cohort, s.dataset, j.contains("dataset"), path));
  ASSIGN_OR_RETURN(s.project, GetOptionalString(j, "project", path));
  ASSIGN_OR_RETURN(auto nodes, GetOptionalStringArray(j, "nodes", path, kMaxNodesPerStudy));
  if (nodes) {
    std::set<std::string> seen;
    for (size_t i = 0; i < nodes->size(); ++i) {
      RETURN_IF_ERROR(ValidateNodeName((*nodes)[i], fmt::format("study.nodes[{}]", i)));
      if (!seen.insert((*nodes)[i]).second) {
        return Status::InvalidArgument(
            fmt::format("study.nodes[{}]: node \"{}\" listed twice", i, (*nodes)[i]));
      }
    }
    s.nodes = std::move(*nodes);
  }
  if (j.contains("disclosure")) {
    ASSIGN_OR_RETURN(s.disclosure, DisclosureFromJson(j["disclosure"], "study.disclosure"));
  }
  if (auto p = j.find("privacy"); p != j.end()) {
    // The hub checks the contents (privacy/study_privacy.h); the shape is checked here.
    RETURN_IF_ERROR(RequireObject(*p, "study.privacy"));
    RETURN_IF_ERROR(CheckKnownKeys(*p, {"secure_aggregation", "dp"}, "study.privacy"));
    ASSIGN_OR_RETURN(auto secure, GetOptionalBool(*p, "secure_aggregation", "study.privacy"));
    (void)secure;
    if (p->contains("dp")) RETURN_IF_ERROR(RequireObject((*p)["dp"], "study.privacy.dp"));
    s.privacy = *p;
  }
  auto it = j.find("analyses");
  if (it == j.end()) return Status::InvalidArgument("study.analyses: required");
  if (!it->is_array() || it->empty()) {
    return Status::InvalidArgument("study.analyses: expected a non-empty array of analyses");
  }
  if (it->size() > kMaxAnalysesPerStudy) {
    return Status::OutOfRange(
        fmt::format("study.analyses: at most {} analyses per study", kMaxAnalysesPerStudy));
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    std::string p = fmt::format("study.analyses[{}]", i);
    RETURN_IF_ERROR(RequireObject(a, p));
    AnalysisRequest r;
    ASSIGN_OR_RETURN(r.id, GetString(a, "id", p));
    RETURN_IF_ERROR(ValidateAnalysisId(r.id, p + ".id"));
    if (!ids.insert(r.id).second) {
      return Status::InvalidArgument(fmt::format("{}.id: \"{}\" is used twice", p, r.id));
    }
    ASSIGN_OR_RETURN(r.type, GetString(a, "type", p));
    r.spec = a;
    s.analyses.push_back(std::move(r));
  }
  if (j.contains("linkage")) {
    ASSIGN_OR_RETURN(s.linkage, LinkageUse::FromJson(j["linkage"], "study.linkage"));
  }
  return s;
}

// ---- Task ------------------------------------------------------------------------------------

json Task::ToJson() const {
  json j = json::object();
  j["protocol"] = kProtocolVersion;
  j["task_id"] = task_id;
  j["study_id"] = study_id;
  j["round"] = round;
  j["node"] = node;
  j["dataset"] = dataset;
  CohortToJson(cohort, j);
  if (!project.empty()) j["project"] = project;
  j["disclosure"] = DisclosureToJson(disclosure);
  j["steps"] = json::array();
  for (const auto& s : steps) {
    json step = {
        {"analysis_id", s.analysis_id}, {"type", s.type}, {"spec", s.spec}, {"round", s.round}};
    json input = {{"params", s.input.params}};
    if (!s.input.values.empty()) input["values"] = EncodeVector(s.input.values);
    step["input"] = std::move(input);
    j["steps"].push_back(std::move(step));
  }
  if (secagg) j["secagg"] = SecaggToJson(*secagg, true);
  if (!privacy.empty()) j["privacy"] = privacy;
  if (linkage) j["linkage"] = linkage->ToJson();
  return j;
}

Result<Task> Task::FromJson(const json& j) {
  const std::string path = "task";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(
      j,
      {"protocol", "task_id", "study_id", "round", "node", "dataset", "cohort", "covariates",
       "outcome", "project", "disclosure", "steps", "secagg", "privacy", "linkage"},
      path));
  RETURN_IF_ERROR(CheckVersion(j, path));
  Task t;
  ASSIGN_OR_RETURN(t.task_id, GetString(j, "task_id", path));
  ASSIGN_OR_RETURN(t.study_id, GetString(j, "study_id", path));
  ASSIGN_OR_RETURN(t.round, GetRound(j, "round", path, 1));
  ASSIGN_OR_RETURN(t.node, GetString(j, "node", path));
  RETURN_IF_ERROR(ValidateNodeName(t.node, "task.node"));
  ASSIGN_OR_RETURN(t.dataset, GetString(j, "dataset", path));
  RETURN_IF_ERROR(ValidateDatasetName(t.dataset, "task.dataset"));
  ASSIGN_OR_RETURN(t.cohort, CohortFromJson(j, path));
  RETURN_IF_ERROR(CheckCohortDataset(t.cohort, t.dataset, true, path));
  ASSIGN_OR_RETURN(auto project, GetOptionalString(j, "project", path));
  t.project = project.value_or("");
  if (j.contains("disclosure")) {
    ASSIGN_OR_RETURN(t.disclosure, DisclosureFromJson(j["disclosure"], "task.disclosure"));
  }
  auto it = j.find("steps");
  if (it == j.end() || !it->is_array() || it->empty() || it->size() > kMaxAnalysesPerStudy) {
    return Status::InvalidArgument("task.steps: expected an array of 1 to 100 steps");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& s = (*it)[i];
    std::string p = fmt::format("task.steps[{}]", i);
    RETURN_IF_ERROR(RequireObject(s, p));
    RETURN_IF_ERROR(CheckKnownKeys(s, {"analysis_id", "type", "spec", "round", "input"}, p));
    TaskStep step;
    ASSIGN_OR_RETURN(step.analysis_id, GetString(s, "analysis_id", p));
    RETURN_IF_ERROR(ValidateAnalysisId(step.analysis_id, p + ".analysis_id"));
    ASSIGN_OR_RETURN(step.type, GetString(s, "type", p));
    ASSIGN_OR_RETURN(step.round, GetRound(s, "round", p, 0));
    auto spec = s.find("spec");
    if (spec == s.end() || !spec->is_object()) {
      return Status::InvalidArgument(p + ".spec: expected an object");
    }
    step.spec = *spec;
    auto input = s.find("input");
    if (input != s.end()) {
      std::string ip = p + ".input";
      RETURN_IF_ERROR(RequireObject(*input, ip));
      RETURN_IF_ERROR(CheckKnownKeys(*input, {"params", "values"}, ip));
      auto params = input->find("params");
      if (params != input->end()) {
        if (!params->is_object())
          return Status::InvalidArgument(ip + ".params: expected an object");
        step.input.params = *params;
      }
      ASSIGN_OR_RETURN(step.input.values, GetVector(*input, "values", ip));
    }
    t.steps.push_back(std::move(step));
  }
  if (auto sa = j.find("secagg"); sa != j.end()) {
    ASSIGN_OR_RETURN(t.secagg, SecaggFromJson(*sa, "task.secagg", true));
  }
  if (auto p = j.find("privacy"); p != j.end()) {
    ASSIGN_OR_RETURN(t.privacy, PrivacyFromJson(*p, "task.privacy"));
  }
  if (j.contains("linkage")) {
    ASSIGN_OR_RETURN(t.linkage, LinkageUse::FromJson(j["linkage"], "task.linkage"));
  }
  return t;
}

// ---- TaskResult ------------------------------------------------------------------------------

std::string_view ResultStatusName(ResultStatus s) {
  switch (s) {
    case ResultStatus::kOk:
      return "ok";
    case ResultStatus::kRefused:
      return "refused";
    case ResultStatus::kError:
      return "error";
  }
  return "error";
}

json TaskResult::ToJson() const {
  json j = json::object();
  j["protocol"] = kProtocolVersion;
  j["task_id"] = task_id;
  j["study_id"] = study_id;
  j["round"] = round;
  j["node"] = node;
  j["status"] = std::string(ResultStatusName(status));
  if (!rule.empty()) j["rule"] = rule;
  if (!message.empty()) j["message"] = message;
  j["applied"] = {{"min_cell", applied.min_cell}, {"min_rows", applied.min_rows}};
  if (applied.rounding_base > 1) j["applied"]["rounding_base"] = applied.rounding_base;
  j["shares"] = json::array();
  for (const auto& s : shares) {
    j["shares"].push_back({{"analysis_id", s.analysis_id},
                           {"round", s.round},
                           {"values", EncodeVector(s.values)},
                           {"meta", s.meta}});
  }
  if (secagg) j["secagg"] = SecaggToJson(*secagg, false);
  if (!privacy.empty()) j["privacy"] = privacy;
  return j;
}

Result<TaskResult> TaskResult::FromJson(const json& j) {
  const std::string path = "result";
  RETURN_IF_ERROR(RequireObject(j, path));
  RETURN_IF_ERROR(CheckKnownKeys(j,
                                 {"protocol", "task_id", "study_id", "round", "node", "status",
                                  "rule", "message", "applied", "shares", "secagg", "privacy"},
                                 path));
  RETURN_IF_ERROR(CheckVersion(j, path));
  TaskResult r;
  ASSIGN_OR_RETURN(r.task_id, GetString(j, "task_id", path));
  ASSIGN_OR_RETURN(r.study_id, GetString(j, "study_id", path));
  ASSIGN_OR_RETURN(r.round, GetRound(j, "round", path, 1));
  ASSIGN_OR_RETURN(r.node, GetString(j, "node", path));
  RETURN_IF_ERROR(ValidateNodeName(r.node, "result.node"));
  ASSIGN_OR_RETURN(std::string status, GetString(j, "status", path));
  if (status == "ok") {
    r.status = ResultStatus::kOk;
  } else if (status == "refused") {
    r.status = ResultStatus::kRefused;
  } else if (status == "error") {
    r.status = ResultStatus::kError;
  } else {
    return Status::InvalidArgument(
        fmt::format("result.status: must be \"ok\", \"refused\" or \"error\" (got \"{}\")",
                    status.size() > 32 ? status.substr(0, 32) : status));
  }
  ASSIGN_OR_RETURN(auto rule, GetOptionalString(j, "rule", path));
  ASSIGN_OR_RETURN(auto message, GetOptionalString(j, "message", path));
  if ((rule && rule->size() > 200) || (message && message->size() > 4000)) {
    return Status::InvalidArgument("result: rule or message too long");
  }
  r.rule = rule.value_or("");
  r.message = message.value_or("");
  if (auto a = j.find("applied"); a != j.end()) {
    RETURN_IF_ERROR(RequireObject(*a, "result.applied"));
    RETURN_IF_ERROR(
        CheckKnownKeys(*a, {"min_cell", "min_rows", "rounding_base"}, "result.applied"));
    ASSIGN_OR_RETURN(auto mc, GetOptionalInt(*a, "min_cell", "result.applied"));
    ASSIGN_OR_RETURN(auto mr, GetOptionalInt(*a, "min_rows", "result.applied"));
    ASSIGN_OR_RETURN(auto rb, GetOptionalInt(*a, "rounding_base", "result.applied"));
    r.applied.min_cell = mc.value_or(0);
    r.applied.min_rows = mr.value_or(0);
    r.applied.rounding_base = rb.value_or(1);
    if (r.applied.rounding_base < 1) {
      return Status::InvalidArgument("result.applied.rounding_base: must be at least 1");
    }
  }
  auto it = j.find("shares");
  if (it != j.end()) {
    if (!it->is_array() || it->size() > kMaxAnalysesPerStudy) {
      return Status::InvalidArgument("result.shares: expected an array of at most 100 shares");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& s = (*it)[i];
      std::string p = fmt::format("result.shares[{}]", i);
      RETURN_IF_ERROR(RequireObject(s, p));
      RETURN_IF_ERROR(CheckKnownKeys(s, {"analysis_id", "round", "values", "meta"}, p));
      Share share;
      ASSIGN_OR_RETURN(share.analysis_id, GetString(s, "analysis_id", p));
      RETURN_IF_ERROR(ValidateAnalysisId(share.analysis_id, p + ".analysis_id"));
      ASSIGN_OR_RETURN(share.round, GetRound(s, "round", p, 0));
      ASSIGN_OR_RETURN(share.values, GetVector(s, "values", p));
      if (auto m = s.find("meta"); m != s.end() && !m->is_null()) {
        if (!m->is_object()) return Status::InvalidArgument(p + ".meta: expected an object");
        share.meta = *m;
      }
      r.shares.push_back(std::move(share));
    }
  }
  if (auto sa = j.find("secagg"); sa != j.end()) {
    ASSIGN_OR_RETURN(r.secagg, SecaggFromJson(*sa, "result.secagg", false));
  }
  if (auto p = j.find("privacy"); p != j.end()) {
    ASSIGN_OR_RETURN(r.privacy, PrivacyFromJson(*p, "result.privacy"));
  }
  if (r.status != ResultStatus::kOk && !r.shares.empty()) {
    return Status::InvalidArgument(
        "result.shares: a refused or failed task must not carry shares (it releases nothing)");
  }
  return r;
}

// ---- Errors ----------------------------------------------------------------------------------

std::string ErrorBody(const Status& status) {
  json j = {
      {"error",
       {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}};
  return j.dump();
}

Status StatusFromErrorBody(int http_status, std::string_view body) {
  return StatusFromHttpError(http_status, body);
}

}  // namespace passerelle::protocol
