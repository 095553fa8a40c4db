#include "governance/api_json.h"

#include <fmt/format.h>

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "common/date.h"

namespace passerelle::governance {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Date(const std::optional<int32_t>& d) {
  if (!d) return nullptr;
  return FormatDate(*d);
}

json Jurisdictions(const std::vector<Jurisdiction>& js) {
  json a = json::array();
  for (Jurisdiction j : js) a.push_back(JurisdictionName(j));
  return a;
}

json DatasetsJson(const std::vector<DatasetRef>& ds) {
  json a = json::array();
  for (const DatasetRef& d : ds) a.push_back(d.ToString());
  return a;
}

json DecisionsJson(const std::vector<DecisionRecord>& ds) {
  json a = json::array();
  for (const DecisionRecord& d : ds) {
    a.push_back({{"jurisdiction", JurisdictionName(d.jurisdiction)},
                 {"decision", DecisionName(d.decision)},
                 {"member", d.member},
                 {"comment", d.comment},
                 {"decided_on", FormatDate(d.decided_on)}});
  }
  return a;
}

json RolesJson(const std::vector<Role>& roles) {
  json a = json::array();
  for (const Role& r : roles) a.push_back(RoleToString(r));
  return a;
}

// A strict reader of one request object.
class Body {
 public:
  static Result<Body> Parse(std::string_view text, std::initializer_list<std::string_view> keys) {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception&) {
      return Status::InvalidArgument("request body: not JSON");
    }
    if (!j.is_object()) return Status::InvalidArgument("request body: must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool known = false;
      for (auto k : keys) known = known || it.key() == k;
      if (!known)
        return Status::InvalidArgument(fmt::format("request body: unknown key \"{}\"", it.key()));
    }
    return Body(std::move(j));
  }

  bool Has(const char* k) const { return j_.contains(k) && !j_[k].is_null(); }

  Status Str(const char* k, std::string& out, bool required = true) const {
    if (!Has(k)) return required ? Missing(k) : Status::Ok();
    if (!j_[k].is_string()) return Wrong(k, "a string");
    out = j_[k].get<std::string>();
    return Status::Ok();
  }
  Status Int(const char* k, int& out, bool required = true) const {
    if (!Has(k)) return required ? Missing(k) : Status::Ok();
    if (!j_[k].is_number_integer() || j_[k].get<int64_t>() < INT32_MIN ||
        j_[k].get<int64_t>() > INT32_MAX) {
      return Wrong(k, "an integer");
    }
    out = j_[k].get<int>();
    return Status::Ok();
  }
  Status OptInt(const char* k, std::optional<int>& out) const {
    if (!Has(k)) return Status::Ok();
    int v = 0;
    RETURN_IF_ERROR(Int(k, v));
    out = v;
    return Status::Ok();
  }
  Status Bool(const char* k, bool& out, bool required = true) const {
    if (!Has(k)) return required ? Missing(k) : Status::Ok();
    if (!j_[k].is_boolean()) return Wrong(k, "true or false");
    out = j_[k].get<bool>();
    return Status::Ok();
  }
  Status Date(const char* k, int32_t& out) const {
    std::string s;
    RETURN_IF_ERROR(Str(k, s));
    auto d = ParseDate(s);
    if (!d.ok()) return Status::InvalidArgument(fmt::format("\"{}\": {}", k, d.status().message()));
    out = *d;
    return Status::Ok();
  }
  Status Strings(const char* k, std::vector<std::string>& out, bool required = true) const {
    if (!Has(k)) return required ? Missing(k) : Status::Ok();
    if (!j_[k].is_array()) return Wrong(k, "an array of strings");
    for (const json& v : j_[k]) {
      if (!v.is_string()) return Wrong(k, "an array of strings");
      out.push_back(v.get<std::string>());
    }
    return Status::Ok();
  }

 private:
  explicit Body(json j) : j_(std::move(j)) {}
  static Status Missing(const char* k) {
    return Status::InvalidArgument(fmt::format("request body: \"{}\" is required", k));
  }
  static Status Wrong(const char* k, const char* what) {
    return Status::InvalidArgument(fmt::format("request body: \"{}\" must be {}", k, what));
  }
  json j_;
};

}  // namespace

std::string ToJson(const Organisation& o) {
  return Dump({{"id", o.id}, {"name", o.name}, {"jurisdiction", JurisdictionName(o.jurisdiction)}});
}

std::string ToJson(const NodeInfo& n) {
  return Dump({{"id", n.id},
               {"organisation", n.organisation},
               {"jurisdiction", JurisdictionName(n.jurisdiction)}});
}

std::string ToJson(const User& u) {
  return Dump({{"name", u.name},
               {"display_name", u.display_name},
               {"organisation", u.organisation},
               {"jurisdiction", JurisdictionName(u.jurisdiction)},
               {"roles", RolesJson(u.roles)},
               {"created_at", u.created_at},
               {"disabled", u.disabled}});
}

std::string ToJson(const Principal& p) {
  const char* kind = p.kind == Principal::Kind::kUser   ? "user"
                     : p.kind == Principal::Kind::kNode ? "node"
                                                        : "local-operator";
  json j{{"kind", kind},
         {"name", p.name},
         {"organisation", p.organisation},
         {"roles", RolesJson(p.roles)}};
  j["jurisdiction"] = p.jurisdiction ? json(JurisdictionName(*p.jurisdiction)) : json(nullptr);
  if (!p.token_id.empty()) j["token_id"] = p.token_id;
  return Dump(j);
}

std::string ToJson(const IssuedToken& t) {
  return Dump({{"token", t.token}, {"id", t.id}, {"user", t.user}, {"expires_at", t.expires_at}});
}

std::string ToJson(const TokenInfo& t) {
  json j{{"id", t.id},
         {"user", t.user},
         {"label", t.label},
         {"created_at", t.created_at},
         {"expires_at", t.expires_at}};
  j["revoked_at"] = t.revoked_at ? json(*t.revoked_at) : json(nullptr);
  return Dump(j);
}

std::string ToJson(const Call& c) {
  json axes = json::array();
  for (Axis a : c.axes) axes.push_back(AxisName(a));
  return Dump({{"id", c.id},
               {"title", c.title},
               {"description", c.description},
               {"axes", axes},
               {"opens_on", FormatDate(c.opens_on)},
               {"closes_on", FormatDate(c.closes_on)},
               {"projects_to_fund", c.projects_to_fund},
               {"joint", c.joint},
               {"access_months", c.access_months},
               {"min_reviews", c.min_reviews},
               {"selected_on", Date(c.selected_on)},
               {"created_by", c.created_by}});
}

std::string ToJson(const Application& a) {
  const ApplicationInput& in = a.input;
  return Dump({{"id", in.id},
               {"call", in.call_id},
               {"title", in.title},
               {"axis", AxisName(in.axis)},
               {"summary", in.summary},
               {"lead", in.lead},
               {"team", in.team},
               {"datasets", DatasetsJson(in.datasets)},
               {"legal_basis", in.legal_basis},
               {"pia_done", in.pia_done},
               {"pia_reference", in.pia_reference},
               {"pia_required", a.pia_required},
               {"jurisdictions", Jurisdictions(a.jurisdictions)},
               {"state", ApplicationStateName(a.state)},
               {"submitted_at", a.submitted_at}});
}

std::string ToJson(const Review& r) {
  return Dump({{"application", r.application},
               {"reviewer", r.reviewer},
               {"score", r.score},
               {"comment", r.comment},
               {"created_at", r.created_at}});
}

std::string ToJson(const RankedApplication& r) {
  return Dump({{"id", r.id},
               {"title", r.title},
               {"mean_score", r.mean_score},
               {"reviews", r.reviews},
               {"state", ApplicationStateName(r.state)}});
}

std::string ToJson(const Project& p) {
  json j{{"id", p.id},
         {"call", p.call_id},
         {"title", p.title},
         {"axis", AxisName(p.axis)},
         {"lead", p.lead},
         {"members", p.members},
         {"datasets", DatasetsJson(p.datasets)},
         {"jurisdictions", Jurisdictions(p.jurisdictions)},
         {"state", ProjectStateName(p.state)},
         {"access_months", p.access_months},
         {"start_on", Date(p.start_on)},
         {"end_on", Date(p.end_on)},
         {"closed_on", Date(p.closed_on)},
         {"close_reason", p.close_reason},
         {"legal_basis", p.legal_basis},
         {"pia_done", p.pia_done},
         {"pia_reference", p.pia_reference},
         {"dsa_reference", p.dsa_reference},
         {"decisions", DecisionsJson(p.decisions)}};
  j["last_day"] = p.end_on ? json(FormatDate(*p.end_on - 1)) : json(nullptr);
  return Dump(j);
}

std::string ToJson(const Amendment& a) {
  return Dump({{"id", a.id},
               {"project", a.project},
               {"kind", AmendmentKindName(a.input.kind)},
               {"value", a.input.value},
               {"reason", a.input.reason},
               {"proposed_by", a.proposed_by},
               {"state", AmendmentStateName(a.state)},
               {"jurisdictions", Jurisdictions(a.jurisdictions)},
               {"decisions", DecisionsJson(a.decisions)}});
}

std::string ToJson(const CatalogHit& h) {
  json j{{"node", h.node}, {"name", h.name}, {"title", h.title}, {"score", h.score}};
  j["jurisdiction"] = h.jurisdiction ? json(JurisdictionName(*h.jurisdiction)) : json(nullptr);
  return Dump(j);
}

std::string ToJson(const NodeApproval& a) {
  return Dump({{"project", a.project},
               {"approved", a.approved},
               {"custodian", a.custodian},
               {"note", a.note},
               {"start_on", FormatDate(a.start_on)},
               {"end_on", FormatDate(a.end_on)},
               {"last_day", FormatDate(a.end_on - 1)},
               {"datasets", a.datasets},
               {"recorded_at", a.recorded_at}});
}

std::string ToJson(const ReconcileReport& r) {
  return Dump({{"node", r.node},
               {"ok", r.ok()},
               {"tasks_checked", r.tasks_checked},
               {"results_checked", r.results_checked},
               {"problems", r.problems},
               {"notes", r.notes}});
}

Result<Organisation> OrganisationFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"id", "name", "jurisdiction"}));
  Organisation o;
  std::string j;
  RETURN_IF_ERROR(b.Str("id", o.id));
  RETURN_IF_ERROR(b.Str("name", o.name));
  RETURN_IF_ERROR(b.Str("jurisdiction", j));
  ASSIGN_OR_RETURN(o.jurisdiction, ParseJurisdiction(j));
  return o;
}

Result<NewUserRequest> NewUserFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"name", "display_name", "organisation", "roles",
                                              "validity_days"}));
  NewUserRequest r;
  RETURN_IF_ERROR(b.Str("name", r.user.name));
  RETURN_IF_ERROR(b.Str("display_name", r.user.display_name, false));
  RETURN_IF_ERROR(b.Str("organisation", r.user.organisation));
  std::vector<std::string> roles;
  RETURN_IF_ERROR(b.Strings("roles", roles));
  for (const std::string& role : roles) {
    ASSIGN_OR_RETURN(Role parsed, ParseRole(role));
    r.user.roles.push_back(parsed);
  }
  RETURN_IF_ERROR(b.OptInt("validity_days", r.validity_days));
  return r;
}

Result<TokenRequest> TokenRequestFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body.empty() ? "{}" : body, {"label", "validity_days"}));
  TokenRequest r;
  RETURN_IF_ERROR(b.Str("label", r.label, false));
  RETURN_IF_ERROR(b.OptInt("validity_days", r.validity_days));
  return r;
}

Result<CallInput> CallInputFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(
      Body b, Body::Parse(body, {"id", "title", "description", "axes", "opens_on", "closes_on",
                                 "projects_to_fund", "joint", "access_months", "min_reviews"}));
  CallInput c;
  RETURN_IF_ERROR(b.Str("id", c.id));
  RETURN_IF_ERROR(b.Str("title", c.title));
  RETURN_IF_ERROR(b.Str("description", c.description, false));
  std::vector<std::string> axes;
  RETURN_IF_ERROR(b.Strings("axes", axes, false));
  for (const std::string& a : axes) {
    ASSIGN_OR_RETURN(Axis axis, ParseAxis(a));
    c.axes.push_back(axis);
  }
  RETURN_IF_ERROR(b.Date("opens_on", c.opens_on));
  RETURN_IF_ERROR(b.Date("closes_on", c.closes_on));
  RETURN_IF_ERROR(b.Int("projects_to_fund", c.projects_to_fund));
  RETURN_IF_ERROR(b.Bool("joint", c.joint, false));
  RETURN_IF_ERROR(b.OptInt("access_months", c.access_months));
  RETURN_IF_ERROR(b.OptInt("min_reviews", c.min_reviews));
  return c;
}

Result<ApplicationInput> ApplicationInputFromJson(std::string_view body, std::string_view call_id) {
  ASSIGN_OR_RETURN(Body b,
                   Body::Parse(body, {"id", "title", "axis", "summary", "lead", "team", "datasets",
                                      "legal_basis", "pia_done", "pia_reference"}));
  ApplicationInput in;
  in.call_id = std::string(call_id);
  std::string axis;
  RETURN_IF_ERROR(b.Str("id", in.id));
  RETURN_IF_ERROR(b.Str("title", in.title));
  RETURN_IF_ERROR(b.Str("axis", axis));
  ASSIGN_OR_RETURN(in.axis, ParseAxis(axis));
  RETURN_IF_ERROR(b.Str("summary", in.summary));
  RETURN_IF_ERROR(b.Str("lead", in.lead));
  RETURN_IF_ERROR(b.Strings("team", in.team, false));
  std::vector<std::string> ds;
  RETURN_IF_ERROR(b.Strings("datasets", ds));
  for (const std::string& d : ds) {
    ASSIGN_OR_RETURN(DatasetRef ref, DatasetRef::Parse(d));
    in.datasets.push_back(ref);
  }
  RETURN_IF_ERROR(b.Str("legal_basis", in.legal_basis));
  RETURN_IF_ERROR(b.Bool("pia_done", in.pia_done));
  RETURN_IF_ERROR(b.Str("pia_reference", in.pia_reference, false));
  return in;
}

Result<ReviewRequest> ReviewFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"score", "comment"}));
  ReviewRequest r;
  RETURN_IF_ERROR(b.Int("score", r.score));
  RETURN_IF_ERROR(b.Str("comment", r.comment, false));
  return r;
}

Result<std::vector<std::string>> SelectionFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"applications"}));
  std::vector<std::string> out;
  RETURN_IF_ERROR(b.Strings("applications", out));
  return out;
}

Result<std::string> DsaFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"reference"}));
  std::string ref;
  RETURN_IF_ERROR(b.Str("reference", ref));
  return ref;
}

Result<DecisionRequest> DecisionFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"decision", "comment"}));
  DecisionRequest r;
  std::string d;
  RETURN_IF_ERROR(b.Str("decision", d));
  if (d == "approve") {
    r.decision = Decision::kApprove;
  } else if (d == "refuse") {
    r.decision = Decision::kRefuse;
  } else {
    return Status::InvalidArgument("request body: \"decision\" must be \"approve\" or \"refuse\"");
  }
  RETURN_IF_ERROR(b.Str("comment", r.comment, false));
  return r;
}

Result<AmendmentInput> AmendmentInputFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"kind", "value", "reason"}));
  AmendmentInput in;
  std::string kind;
  RETURN_IF_ERROR(b.Str("kind", kind));
  ASSIGN_OR_RETURN(in.kind, ParseAmendmentKind(kind));
  RETURN_IF_ERROR(b.Str("value", in.value));
  RETURN_IF_ERROR(b.Str("reason", in.reason));
  return in;
}

Result<std::string> CloseFromJson(std::string_view body) {
  ASSIGN_OR_RETURN(Body b, Body::Parse(body, {"reason"}));
  std::string reason;
  RETURN_IF_ERROR(b.Str("reason", reason));
  return reason;
}

}  // namespace passerelle::governance
