#include "hub/governance_api.h"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <optional>
#include <utility>

#include "common/log.h"
#include "common/strings.h"
#include "governance/api_json.h"
#include "governance/audit.h"
#include "governance/catalog.h"
#include "hub/auth.h"
#include "net/server.h"

namespace passerelle::hub {

namespace gov = passerelle::governance;
using net::HttpRequest;
using net::HttpResponse;
using net::PathParams;
using net::Responder;
using nlohmann::json;

namespace {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

Reply Ok(std::string body) { return Reply{200, std::move(body)}; }
Reply Created(std::string body) { return Reply{201, std::move(body)}; }
Reply NoContent() { return Reply{204, ""}; }

// Who may call an endpoint at all (what they may do is the service's Authorize).
enum class Caller { kPerson, kPersonOrNode, kAnyone };

using Handler =
    std::function<Result<Reply>(const gov::Principal&, const HttpRequest&, const PathParams&)>;

Result<int64_t> ParseInt(std::string_view text, std::string_view what) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(fmt::format("{}: expected an integer (got \"{}\")", what, text));
  }
  return v;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string part(Trim(std::string_view(text).substr(start, comma - start)));
    if (!part.empty()) out.push_back(std::move(part));
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<gov::Principal> GovernanceApi::Person(const HttpRequest& req) {
  return AuthenticatePerson(gov_, req.Header("authorization"));
}

Result<gov::Principal> GovernanceApi::Node(const HttpRequest& req) {
  ASSIGN_OR_RETURN(gov::Principal p, AuthenticateNode(gov_, req.peer.cert_cn));
  RETURN_IF_ERROR(gov_.Authorize(p, gov::Action::kTaskFetch, gov::Resource::Node(p.name)));
  if (!engine_.IsMember(p.name)) {
    return Status::PermissionDenied(
        fmt::format("node \"{}\" is not a member of this federation (hub.nodes)", p.name));
  }
  return p;
}

Result<std::string> GovernanceApi::AuthorizeSubmit(const gov::Principal& p, const json& study) {
  if (!study.is_object() || !study.contains("project") || !study["project"].is_string() ||
      study["project"].get<std::string>().empty()) {
    return Status::InvalidArgument(
        "study.project: required: every study belongs to an active project of the joint call "
        "(see `passerelle project list` and docs/governance.md)");
  }
  std::string project = study["project"].get<std::string>();
  RETURN_IF_ERROR(gov_.AuthorizeStudy(p, project));
  return project;
}

Status GovernanceApi::AuthorizeStudy(const gov::Principal& p, const std::string& study_id,
                                     gov::Action action) {
  ASSIGN_OR_RETURN(std::string project, engine_.StudyProject(study_id));
  if (project.empty()) {
    // A study recorded before governance: nobody's project, so nobody reads it over the API.
    return Status::PermissionDenied(fmt::format(
        "study {} belongs to no project; its results are not readable [rule: project_member]",
        study_id));
  }
  return AuthorizeProject(p, project, action);
}

Status GovernanceApi::AuthorizeProject(const gov::Principal& p, const std::string& project,
                                       gov::Action action) {
  if (project.empty()) {
    return Status::PermissionDenied(
        "this resource belongs to no project; it is not readable [rule: project_member]");
  }
  return gov_.Authorize(p, action, gov::Resource::Project(project));
}

json GovernanceApi::FilterStudies(const gov::Principal& p, const json& list) {
  json out = json::array();
  for (const auto& s : list) {
    std::string project = s.value("project", "");
    if (project.empty()) continue;
    if (gov_.Authorize(p, gov::Action::kStudyRead, gov::Resource::Project(project)).ok()) {
      out.push_back(s);
    }
  }
  return out;
}

Status GovernanceApi::CheckRound(const std::string& study_id, const std::string& project) {
  if (project.empty()) {
    return Status::FailedPrecondition(
        fmt::format("study {} belongs to no project [rule: approvals]", study_id));
  }
  return gov_.CheckProjectActive(project);
}

void GovernanceApi::Audit(const gov::AuditRecord& record) {
  Status st = outbox_.Add(record);
  if (!st.ok()) {
    log::Error("hub: could not record \"{}\" in the audit outbox: {}", record.action, st.message());
    return;
  }
  forwarder_.Notify();
}

void GovernanceApi::BeginSubmit(const gov::Principal& p, const std::string& project) {
  gov::AuditRecord r;
  r.actor = p.name;
  r.action = "study.submit";
  r.project = project;
  if (!p.token_id.empty()) r.details["token"] = p.token_id;
  pending_submit_ = std::move(r);
  submit_recorded_for_.clear();
}

void GovernanceApi::OnStudySubmitted(const gov::Principal& p, const std::string& study_id,
                                     const std::string& project) {
  if (submit_recorded_for_ == study_id) {  // written before its first round's task.create entries
    submit_recorded_for_.clear();
    pending_submit_.reset();
    return;
  }
  gov::AuditRecord r;
  r.actor = p.name;
  r.action = "study.submit";
  r.project = project;
  r.study = study_id;
  if (!p.token_id.empty()) r.details["token"] = p.token_id;
  pending_submit_.reset();
  Audit(r);
}

void GovernanceApi::OnTaskCreated(const protocol::Task& task, const std::string& payload) {
  if (pending_submit_) {  // a submit in progress: its entry precedes its tasks, same transaction
    pending_submit_->study = task.study_id;
    submit_recorded_for_ = task.study_id;
    Audit(*pending_submit_);
    pending_submit_.reset();
  }
  Audit(gov::AuditRecord::TaskCreate(task.task_id, task.study_id, task.round, task.project,
                                     task.node, payload));
}

void GovernanceApi::OnResultAccepted(const protocol::TaskResult& result, std::string_view body) {
  auto project = engine_.StudyProject(result.study_id);
  gov::AuditRecord r =
      gov::AuditRecord::ResultAccept(result.node, result.task_id, result.study_id, result.round,
                                     project.ok() ? *project : "", body);
  r.details["status"] = std::string(protocol::ResultStatusName(result.status));
  Audit(r);
}

void GovernanceApi::OnStudyChanged(const std::string& study_id) {
  if (finished_audited_.count(study_id)) return;
  auto finished = engine_.IsFinished(study_id);  // cheap: most changes are a new round
  if (!finished.ok() || !*finished) return;
  auto status = engine_.StudyStatus(study_id);
  if (!status.ok()) return;
  const std::string state = status->value("state", "");
  if (state != "completed" && state != "failed") return;
  finished_audited_.insert(study_id);
  gov::AuditRecord r;
  r.actor = "system";
  r.action = state == "completed" ? "study.complete" : "study.fail";
  r.study = study_id;
  auto project = engine_.StudyProject(study_id);
  if (project.ok()) r.project = *project;
  r.details["rounds"] = std::to_string(status->value("round", 0));
  Audit(r);
}

// ---- endpoints ----------------------------------------------------------------------------------

void GovernanceApi::AddRoutes(net::Router& router) {
  auto add = [&](const char* method, const char* pattern, Caller caller, Handler h) {
    router.Add(
        method, pattern,
        [this, caller, h = std::move(h)](HttpRequest&& req, const PathParams& params, Responder r) {
          Result<gov::Principal> who = gov::Principal{};
          if (caller == Caller::kPerson ||
              (caller == Caller::kPersonOrNode && req.peer.cert_cn.empty())) {
            who = Person(req);
          } else if (caller == Caller::kPersonOrNode) {
            who = AuthenticateNode(gov_, req.peer.cert_cn);
          }
          if (!who.ok()) return r.Send(HttpResponse::Error(who.status()));
          Result<Reply> reply = h(*who, req, params);
          if (!reply.ok()) return r.Send(HttpResponse::Error(reply.status()));
          HttpResponse resp = HttpResponse::Json(reply->status, std::move(reply->body));
          resp.content_type = reply->content_type;
          r.Send(std::move(resp));
        });
  };
  constexpr Caller kPerson = Caller::kPerson;
  gov::GovernanceService& g = gov_;

  // -- who am I, organisations, nodes
  add("GET", "/v1/whoami", Caller::kPersonOrNode,
      [](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        return Ok(gov::ToJson(p));
      });
  add("POST", "/v1/organisations", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::Organisation o, gov::OrganisationFromJson(req.body));
        RETURN_IF_ERROR(g.AddOrganisation(p, o));
        return Created(gov::ToJson(o));
      });
  add("GET", "/v1/organisations", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListOrganisations(p));
        return Ok(gov::ToJsonArray(list));
      });
  add("POST", "/v1/nodes", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams&) -> Result<Reply> {
        json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("id") || !body["id"].is_string() ||
            !body.contains("organisation") || !body["organisation"].is_string() ||
            body.size() != 2) {
          return Status::InvalidArgument(
              "node: expected {\"id\": string, \"organisation\": string}");
        }
        const std::string id = body["id"].get<std::string>();
        RETURN_IF_ERROR(g.RegisterNode(p, id, body["organisation"].get<std::string>()));
        ASSIGN_OR_RETURN(gov::NodeInfo n, g.GetNode(id));
        return Created(gov::ToJson(n));
      });
  add("GET", "/v1/nodes", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListNodes(p));
        return Ok(gov::ToJsonArray(list));
      });

  // -- users and tokens
  add("POST", "/v1/users", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::NewUserRequest u, gov::NewUserFromJson(req.body));
        ASSIGN_OR_RETURN(gov::IssuedToken t, g.AddUser(p, u.user, u.validity_days));
        return Created(gov::ToJson(t));
      });
  add("GET", "/v1/users", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListUsers(p));
        return Ok(gov::ToJsonArray(list));
      });
  add("GET", "/v1/users/{name}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::User u, g.GetUser(p, a.at("name")));
        return Ok(gov::ToJson(u));
      });
  add("POST", "/v1/users/{name}/disable", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        RETURN_IF_ERROR(g.DisableUser(p, a.at("name")));
        return NoContent();
      });
  add("POST", "/v1/users/{name}/tokens", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::TokenRequest t,
                         gov::TokenRequestFromJson(req.body.empty() ? "{}" : req.body));
        ASSIGN_OR_RETURN(gov::IssuedToken issued,
                         g.IssueToken(p, a.at("name"), t.label, t.validity_days));
        return Created(gov::ToJson(issued));
      });
  add("GET", "/v1/users/{name}/tokens", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListTokens(p, a.at("name")));
        return Ok(gov::ToJsonArray(list));
      });
  add("DELETE", "/v1/tokens/{id}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        RETURN_IF_ERROR(g.RevokeToken(p, a.at("id")));
        return NoContent();
      });

  // -- calls, applications, reviews, selection
  add("POST", "/v1/calls", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::CallInput in, gov::CallInputFromJson(req.body));
        ASSIGN_OR_RETURN(gov::Call c, g.CreateCall(p, in));
        return Created(gov::ToJson(c));
      });
  add("GET", "/v1/calls", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListCalls(p));
        return Ok(gov::ToJsonArray(list));
      });
  add("GET", "/v1/calls/{id}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::Call c, g.GetCall(p, a.at("id")));
        return Ok(gov::ToJson(c));
      });
  add("POST", "/v1/calls/{id}/applications", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::ApplicationInput in,
                         gov::ApplicationInputFromJson(req.body, a.at("id")));
        ASSIGN_OR_RETURN(gov::Application app, g.SubmitApplication(p, in));
        return Created(gov::ToJson(app));
      });
  add("GET", "/v1/calls/{id}/applications", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListApplications(p, a.at("id")));
        return Ok(gov::ToJsonArray(list));
      });
  add("GET", "/v1/calls/{id}/ranking", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.RankApplications(p, a.at("id")));
        return Ok(gov::ToJsonArray(list));
      });
  add("POST", "/v1/calls/{id}/selection", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto apps, gov::SelectionFromJson(req.body));
        ASSIGN_OR_RETURN(auto projects, g.SelectProjects(p, a.at("id"), apps));
        return Created(gov::ToJsonArray(projects));
      });
  add("GET", "/v1/applications/{id}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::Application app, g.GetApplication(p, a.at("id")));
        return Ok(gov::ToJson(app));
      });
  add("POST", "/v1/applications/{id}/reviews", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::ReviewRequest rv, gov::ReviewFromJson(req.body));
        RETURN_IF_ERROR(g.SubmitReview(p, a.at("id"), rv.score, rv.comment));
        return Created("{}");
      });
  add("GET", "/v1/applications/{id}/reviews", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListReviews(p, a.at("id")));
        return Ok(gov::ToJsonArray(list));
      });

  // -- projects
  add("GET", "/v1/projects", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListProjects(p));
        return Ok(gov::ToJsonArray(list));
      });
  add("GET", "/v1/projects/{id}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::Project pr, g.GetProject(p, a.at("id")));
        return Ok(gov::ToJson(pr));
      });
  add("GET", "/v1/projects/{id}/status", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        RETURN_IF_ERROR(
            g.Authorize(p, gov::Action::kProjectRead, gov::Resource::Project(a.at("id"))));
        Status active = g.CheckProjectActive(a.at("id"));
        if (active.ok()) return Ok(json{{"active", true}}.dump());
        if (active.code() != StatusCode::kFailedPrecondition) return active;
        std::string rule;
        const std::string& m = active.message();
        size_t at = m.rfind("[rule: ");
        if (at != std::string::npos && m.back() == ']') rule = m.substr(at + 7, m.size() - at - 8);
        return Ok(json{{"active", false}, {"rule", rule}, {"message", m}}.dump());
      });
  add("POST", "/v1/projects/{id}/dsa", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(std::string ref, gov::DsaFromJson(req.body));
        RETURN_IF_ERROR(g.RecordDataSharingAgreement(p, a.at("id"), ref));
        return NoContent();
      });
  add("POST", "/v1/projects/{id}/decisions/{jurisdiction}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::Jurisdiction j, gov::ParseJurisdiction(a.at("jurisdiction")));
        ASSIGN_OR_RETURN(gov::DecisionRequest d, gov::DecisionFromJson(req.body));
        ASSIGN_OR_RETURN(gov::Project pr,
                         g.RecordDecision(p, a.at("id"), j, d.decision, d.comment));
        return Created(gov::ToJson(pr));
      });
  add("POST", "/v1/projects/{id}/amendments", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::AmendmentInput in, gov::AmendmentInputFromJson(req.body));
        ASSIGN_OR_RETURN(gov::Amendment am, g.ProposeAmendment(p, a.at("id"), in));
        return Created(gov::ToJson(am));
      });
  add("GET", "/v1/projects/{id}/amendments", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(auto list, g.ListAmendments(p, a.at("id")));
        return Ok(gov::ToJsonArray(list));
      });
  add("POST", "/v1/projects/{id}/amendments/{n}/decisions/{jurisdiction}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(int64_t n, ParseInt(a.at("n"), "amendment number"));
        ASSIGN_OR_RETURN(gov::Jurisdiction j, gov::ParseJurisdiction(a.at("jurisdiction")));
        ASSIGN_OR_RETURN(gov::DecisionRequest d, gov::DecisionFromJson(req.body));
        ASSIGN_OR_RETURN(gov::Amendment am,
                         g.DecideAmendment(p, a.at("id"), n, j, d.decision, d.comment));
        return Created(gov::ToJson(am));
      });
  add("POST", "/v1/projects/{id}/close", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(std::string reason, gov::CloseFromJson(req.body));
        ASSIGN_OR_RETURN(gov::Project pr, g.CloseProject(p, a.at("id"), reason));
        return Ok(gov::ToJson(pr));
      });

  // -- catalog
  add("PUT", "/v1/catalog/{node}/{dataset}", Caller::kPersonOrNode,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::DatasetDescription d, gov::ParseDatasetDescription(req.body));
        if (d.node != a.at("node") || d.name != a.at("dataset")) {
          return Status::InvalidArgument(
              fmt::format("dataset description: node and name (\"{}/{}\") must be those of the "
                          "path (\"{}/{}\")",
                          d.node, d.name, a.at("node"), a.at("dataset")));
        }
        ASSIGN_OR_RETURN(gov::DatasetDescription stored, g.PublishDataset(p, d));
        return Ok(gov::DatasetDescriptionToJson(stored));
      });
  add("GET", "/v1/catalog", kPerson,
      [&g](const gov::Principal& p, const HttpRequest& req, const PathParams&) -> Result<Reply> {
        gov::CatalogQuery q;
        auto get = [&](const char* k) {
          auto it = req.query.find(k);
          return it == req.query.end() ? std::string() : it->second;
        };
        q.text = get("q");
        q.variables = SplitList(get("variable"));
        q.concepts = SplitList(get("concept"));
        if (!get("jurisdiction").empty()) {
          ASSIGN_OR_RETURN(q.jurisdiction, gov::ParseJurisdiction(get("jurisdiction")));
        }
        if (!get("limit").empty()) {
          ASSIGN_OR_RETURN(int64_t limit, ParseInt(get("limit"), "limit"));
          q.limit = static_cast<int>(std::clamp<int64_t>(limit, 0, 100000));
        }
        ASSIGN_OR_RETURN(auto hits, g.SearchCatalog(p, q));
        return Ok(gov::ToJsonArray(hits));
      });
  add("GET", "/v1/catalog/{node}/{dataset}", kPerson,
      [&g](const gov::Principal& p, const HttpRequest&, const PathParams& a) -> Result<Reply> {
        ASSIGN_OR_RETURN(gov::DatasetDescription d, g.GetDataset(p, a.at("node"), a.at("dataset")));
        return Ok(gov::DatasetDescriptionToJson(d));
      });

  // -- audit
  add("GET", "/v1/audit/export", kPerson,
      [this, &g](const gov::Principal& p, const HttpRequest&, const PathParams&) -> Result<Reply> {
        RETURN_IF_ERROR(g.Authorize(p, gov::Action::kAuditExport, gov::Resource{}));
        // The entries still in the outbox first: the export holds every change made so far.
        RETURN_IF_ERROR(forwarder_.Flush());
        ASSIGN_OR_RETURN(std::string log, g.ExportAuditLog(p));
        return Reply{200, std::move(log), "application/x-ndjson"};
      });
  add("GET", "/v1/audit/public-key", Caller::kAnyone,
      [&g](const gov::Principal&, const HttpRequest&, const PathParams&) -> Result<Reply> {
        auto key = g.audit_public_key();
        if (!key) return Status::FailedPrecondition("the hub has no audit key");
        return Ok(json{{"public_key", gov::FormatPublicKey(*key)}}.dump());
      });
}

}  // namespace passerelle::hub
