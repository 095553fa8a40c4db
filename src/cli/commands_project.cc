// passerelle project
// apply|review|dsa|decide|show|list|check|amend|amendments|amendment-decide|close passerelle node
// approve|revoke|approvals|check   (a node custodian's own approvals)
//
// Also RegisterGovernanceCommands, which registers every governance command (org, user, call,
// project, node approvals, catalog, audit).
//
// Project commands act on the hub's governance state file (see commands_user.cc for --state,
// --audit-key and --token). Node commands act on a node's state file, signed with the node's own
// audit key. Dates on the command line are days, and "--until" days are the last day included;
// the API and JSON output carry "end_on" (exclusive) and "last_day".
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/governance_cli.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/random.h"
#include "common/strings.h"
#include "governance/api_json.h"
#include "governance/local.h"

namespace passerelle::cli {

// Defined in commands_user.cc, commands_call.cc, commands_catalog.cc and commands_audit.cc;
// RegisterGovernanceCommands below is the one entry point cli.cc calls.
void RegisterUserCommands(CLI::App& app, CliContext& ctx);
void RegisterCallCommands(CLI::App& app, CliContext& ctx);
void RegisterCatalogCommands(CLI::App& app, CliContext& ctx);
void RegisterAuditCommands(CLI::App& app, CliContext& ctx);

namespace {

namespace gov = passerelle::governance;

Result<gov::Jurisdiction> JurisdictionFlag(const std::string& text) {
  auto j = gov::ParseJurisdiction(text);
  if (!j.ok()) return j.status().WithContext("--jurisdiction");
  return j;
}

Result<int32_t> DateFlag(const std::string& text, std::string_view flag) {
  auto d = ParseDate(text);
  if (!d.ok()) return d.status().WithContext(flag);
  return d;
}

std::string Window(const gov::Project& p) {
  if (!p.start_on || !p.end_on) return "no window yet";
  return fmt::format("window {} through {}", FormatDate(*p.start_on), FormatDate(*p.end_on - 1));
}

std::string ProjectText(const gov::Project& p) {
  std::vector<std::string> js, ds, decisions;
  for (gov::Jurisdiction j : p.jurisdictions) js.emplace_back(gov::JurisdictionName(j));
  for (const auto& d : p.datasets) ds.push_back(d.ToString());
  for (const auto& d : p.decisions) {
    decisions.push_back(fmt::format("{} {} ({}, {})", gov::JurisdictionName(d.jurisdiction),
                                    gov::DecisionName(d.decision), d.member,
                                    FormatDate(d.decided_on)));
  }
  return fmt::format(
      "{}\t{}\t{}\n  lead {}; members {}\n  datasets {}\n  jurisdictions {}; decisions: {}\n  {}; "
      "DSA {}; PIA {}{}",
      p.id, gov::ProjectStateName(p.state), p.title, p.lead, Join(p.members, ","), Join(ds, ", "),
      Join(js, ","), decisions.empty() ? "none" : Join(decisions, "; "), Window(p),
      p.dsa_reference.empty() ? "not recorded" : p.dsa_reference,
      p.pia_done ? (p.pia_reference.empty() ? "done" : p.pia_reference) : "not done",
      p.closed_on ? fmt::format("\n  closed {} ({})", FormatDate(*p.closed_on), p.close_reason)
                  : "");
}

struct ProjectArgs : HubArgs {
  std::string id, call, title, axis, summary, legal_basis, pia_reference, reference, jurisdiction,
      comment, reason, extend_until, add_member, remove_member, add_dataset;
  std::vector<std::string> members, datasets;
  bool pia_done = false, approve = false, refuse = false;
  int score = -1;
  int64_t amendment = 0;
};

Result<gov::Decision> DecisionFlags(const ProjectArgs& a) {
  if (a.approve == a.refuse) {
    return Status::InvalidArgument("give exactly one of --approve and --refuse");
  }
  return a.approve ? gov::Decision::kApprove : gov::Decision::kRefuse;
}

void AddDecisionFlags(CLI::App* c, ProjectArgs& a) {
  c->add_option("--jurisdiction", a.jurisdiction, "The committee's jurisdiction: FR or QC")
      ->required();
  c->add_flag("--approve", a.approve, "Approve");
  c->add_flag("--refuse", a.refuse, "Refuse");
  c->add_option("--comment", a.comment, "The decision's reference or comment");
}

void RegisterProject(CLI::App& app, CliContext& ctx) {
  CLI::App* project =
      app.add_subcommand("project", "Applications, reviews, decisions and projects (hub)");
  project->require_subcommand(1);

  auto apply = std::make_shared<ProjectArgs>();
  CLI::App* c = project->add_subcommand("apply", "Apply to a call, as the team's lead (--token)");
  c->add_option("--call", apply->call, "Call id")->required();
  c->add_option("--id", apply->id, "Application id: the project's id if selected")->required();
  c->add_option("--title", apply->title, "Title")->required();
  c->add_option("--axis", apply->axis, "ai-applications, population-models or patient-benefit")
      ->required();
  c->add_option("--summary", apply->summary, "Summary")->required();
  c->add_option("--member", apply->members, "Team member (repeatable; the lead is added)");
  c->add_option("--dataset", apply->datasets, "Dataset of the catalog, node/name (repeatable)")
      ->required();
  c->add_option("--legal-basis", apply->legal_basis, "Legal basis of the processing")->required();
  c->add_flag("--pia-done", apply->pia_done, "The privacy impact assessment is done");
  c->add_option("--pia-reference", apply->pia_reference, "Its reference");
  AddHubArgs(c, *apply, true);
  AddHubHttpArgs(c, *apply);
  OnRun(c, ctx, apply, [](const ProjectArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {
      // The lead is the token's user.
      ASSIGN_OR_RETURN(std::string me, HubHttp(a, "GET", "/v1/whoami"));
      auto who = nlohmann::json::parse(me, nullptr, false);
      if (!who.is_object() || !who.contains("name") || !who["name"].is_string()) {
        return Status::Internal("the hub sent a malformed /v1/whoami answer");
      }
      nlohmann::json body = {{"id", a.id},
                             {"title", a.title},
                             {"axis", a.axis},
                             {"summary", a.summary},
                             {"lead", who["name"]},
                             {"team", a.members},
                             {"datasets", a.datasets},
                             {"legal_basis", a.legal_basis},
                             {"pia_done", a.pia_done}};
      if (!a.pia_reference.empty()) body["pia_reference"] = a.pia_reference;
      ASSIGN_OR_RETURN(
          std::string reply,
          HubHttp(a, "POST", "/v1/calls/" + net::UrlEncode(a.call) + "/applications", body.dump()));
      if (a.json) Out(reply);
      Progress(cx, "application " + a.id + " submitted to " + a.url);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    gov::ApplicationInput in;
    in.id = a.id;
    in.call_id = a.call;
    in.title = a.title;
    ASSIGN_OR_RETURN(in.axis, gov::ParseAxis(a.axis));
    in.summary = a.summary;
    in.lead = hub.principal.name;
    in.team = a.members;
    for (const std::string& d : a.datasets) {
      ASSIGN_OR_RETURN(gov::DatasetRef ref, gov::DatasetRef::Parse(d));
      in.datasets.push_back(ref);
    }
    in.legal_basis = a.legal_basis;
    in.pia_done = a.pia_done;
    in.pia_reference = a.pia_reference;
    ASSIGN_OR_RETURN(gov::Application submitted, hub.service->SubmitApplication(hub.principal, in));
    if (a.json) Out(gov::ToJson(submitted));
    std::vector<std::string> js;
    for (gov::Jurisdiction j : submitted.jurisdictions) js.emplace_back(gov::JurisdictionName(j));
    Progress(cx, "application " + submitted.input.id + " submitted (involves " + Join(js, " and ") +
                     ")");
    return Status::Ok();
  });

  auto review = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("review", "Review an application (committee member, --token)");
  c->add_option("application", review->id, "Application id")->required();
  c->add_option("--score", review->score, "Score, 0 to 10")->required();
  c->add_option("--comment", review->comment, "Comment");
  AddHubArgs(c, *review);
  AddHubHttpArgs(c, *review);
  OnRun(c, ctx, review, [](const ProjectArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {
      nlohmann::json body = {{"score", a.score}, {"comment", a.comment}};
      RETURN_IF_ERROR(
          HubHttp(a, "POST", "/v1/applications/" + net::UrlEncode(a.id) + "/reviews", body.dump())
              .status());
      Progress(cx, "review of " + a.id + " recorded");
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->SubmitReview(hub.principal, a.id, a.score, a.comment));
    Progress(cx, "review of " + a.id + " recorded");
    return Status::Ok();
  });

  auto dsa = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("dsa", "Record a project's data-sharing agreement");
  c->add_option("project", dsa->id, "Project id")->required();
  c->add_option("--reference", dsa->reference, "The signed agreement's reference")->required();
  AddHubArgs(c, *dsa);
  AddHubHttpArgs(c, *dsa);
  OnRun(c, ctx, dsa, [](const ProjectArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {
      nlohmann::json body = {{"reference", a.reference}};
      RETURN_IF_ERROR(
          HubHttp(a, "POST", "/v1/projects/" + net::UrlEncode(a.id) + "/dsa", body.dump())
              .status());
      Progress(cx, "data-sharing agreement of " + a.id + " recorded");
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->RecordDataSharingAgreement(hub.principal, a.id, a.reference));
    Progress(cx, "data-sharing agreement of " + a.id + " recorded");
    return Status::Ok();
  });

  auto decide = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("decide", "A jurisdiction's committee decision (--token)");
  c->add_option("project", decide->id, "Project id")->required();
  AddDecisionFlags(c, *decide);
  AddHubArgs(c, *decide, true);
  AddHubHttpArgs(c, *decide);
  OnRun(c, ctx, decide, [](const ProjectArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::Decision d, DecisionFlags(a));
    ASSIGN_OR_RETURN(gov::Jurisdiction j, JurisdictionFlag(a.jurisdiction));
    if (!a.url.empty()) {
      nlohmann::json body = {{"decision", d == gov::Decision::kApprove ? "approve" : "refuse"},
                             {"comment", a.comment}};
      ASSIGN_OR_RETURN(std::string reply,
                       HubHttp(a, "POST",
                               fmt::format("/v1/projects/{}/decisions/{}", net::UrlEncode(a.id),
                                           gov::JurisdictionName(j)),
                               body.dump()));
      if (a.json) Out(reply);
      auto p = nlohmann::json::parse(reply, nullptr, false);
      std::string state = p.is_object() && p.contains("state") && p["state"].is_string()
                              ? p["state"].get<std::string>()
                              : "?";
      Progress(cx, fmt::format("{} {}: project {} is {}", gov::JurisdictionName(j),
                               gov::DecisionName(d), a.id, state));
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Project p,
                     hub.service->RecordDecision(hub.principal, a.id, j, d, a.comment));
    if (a.json) Out(gov::ToJson(p));
    Progress(
        cx, fmt::format("{} {}: project {} is {}{}", gov::JurisdictionName(j), gov::DecisionName(d),
                        p.id, gov::ProjectStateName(p.state),
                        p.state == gov::ProjectState::kApproved ? " (" + Window(p) + ")" : ""));
    return Status::Ok();
  });

  auto show = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("show", "Show a project");
  c->add_option("project", show->id, "Project id")->required();
  AddHubArgs(c, *show, true);
  AddHubHttpArgs(c, *show);
  OnRun(c, ctx, show, [](const ProjectArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {
      ASSIGN_OR_RETURN(std::string reply,
                       HubHttp(a, "GET", "/v1/projects/" + net::UrlEncode(a.id)));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Project p, hub.service->GetProject(hub.principal, a.id));
    Out(a.json ? gov::ToJson(p) : ProjectText(p));
    return Status::Ok();
  });

  auto list = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("list", "Projects you may read");
  AddHubArgs(c, *list, true);
  AddHubHttpArgs(c, *list);
  OnRun(c, ctx, list, [](const ProjectArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {
      ASSIGN_OR_RETURN(std::string reply, HubHttp(a, "GET", "/v1/projects"));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto projects, hub.service->ListProjects(hub.principal));
    if (a.json) {
      Out(gov::ToJsonArray(projects));
    } else {
      for (const auto& p : projects) {
        Out(fmt::format("{}\t{}\t{}\t{}", p.id, gov::ProjectStateName(p.state), Window(p),
                        p.title));
      }
    }
    return Status::Ok();
  });

  auto check = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("check", "Is the project active today? (exit status 0 when it is)");
  c->add_option("project", check->id, "Project id")->required();
  AddHubArgs(c, *check);
  OnRun(c, ctx, check, [](const ProjectArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->CheckProjectActive(a.id));
    ASSIGN_OR_RETURN(gov::Project p,
                     hub.service->GetProject(gov::Principal::LocalOperator(), a.id));
    Out("project " + p.id + " is active (" + Window(p) + ")");
    return Status::Ok();
  });

  auto amend = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("amend", "Propose an amendment (the project's lead, --token)");
  c->add_option("project", amend->id, "Project id")->required();
  c->add_option("--extend-until", amend->extend_until, "New last day of the window");
  c->add_option("--add-member", amend->add_member, "A researcher to add");
  c->add_option("--remove-member", amend->remove_member, "A member to remove");
  c->add_option("--add-dataset", amend->add_dataset, "A dataset of the catalog, node/name");
  c->add_option("--reason", amend->reason, "Why")->required();
  AddHubArgs(c, *amend, true);
  OnRun(c, ctx, amend, [](const ProjectArgs& a, CliContext& cx) -> Status {
    int given = !a.extend_until.empty() + !a.add_member.empty() + !a.remove_member.empty() +
                !a.add_dataset.empty();
    if (given != 1) {
      return Status::InvalidArgument(
          "give exactly one of --extend-until, --add-member, --remove-member, --add-dataset");
    }
    gov::AmendmentInput in;
    in.reason = a.reason;
    if (!a.extend_until.empty()) {
      ASSIGN_OR_RETURN(int32_t last, DateFlag(a.extend_until, "--extend-until"));
      in.kind = gov::AmendmentKind::kExtendWindow;
      in.value = FormatDate(last + 1);
    } else if (!a.add_member.empty()) {
      in.kind = gov::AmendmentKind::kAddMember;
      in.value = a.add_member;
    } else if (!a.remove_member.empty()) {
      in.kind = gov::AmendmentKind::kRemoveMember;
      in.value = a.remove_member;
    } else {
      in.kind = gov::AmendmentKind::kAddDataset;
      in.value = a.add_dataset;
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Amendment am, hub.service->ProposeAmendment(hub.principal, a.id, in));
    if (a.json) Out(gov::ToJson(am));
    Progress(cx, fmt::format("amendment {} of project {} proposed", am.id, am.project));
    return Status::Ok();
  });

  auto amendments = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("amendments", "A project's amendments");
  c->add_option("project", amendments->id, "Project id")->required();
  AddHubArgs(c, *amendments, true);
  OnRun(c, ctx, amendments, [](const ProjectArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto list_am, hub.service->ListAmendments(hub.principal, a.id));
    if (a.json) {
      Out(gov::ToJsonArray(list_am));
      return Status::Ok();
    }
    for (const auto& am : list_am) {
      Out(fmt::format("{}\t{}\t{} {}\t{}", am.id, gov::AmendmentStateName(am.state),
                      gov::AmendmentKindName(am.input.kind), am.input.value, am.input.reason));
    }
    return Status::Ok();
  });

  auto amend_decide = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("amendment-decide", "A committee's decision on an amendment");
  c->add_option("project", amend_decide->id, "Project id")->required();
  c->add_option("amendment", amend_decide->amendment, "Amendment number")->required();
  AddDecisionFlags(c, *amend_decide);
  AddHubArgs(c, *amend_decide, true);
  OnRun(c, ctx, amend_decide, [](const ProjectArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::Decision d, DecisionFlags(a));
    ASSIGN_OR_RETURN(gov::Jurisdiction j, JurisdictionFlag(a.jurisdiction));
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Amendment am, hub.service->DecideAmendment(hub.principal, a.id,
                                                                     a.amendment, j, d, a.comment));
    if (a.json) Out(gov::ToJson(am));
    Progress(cx, fmt::format("amendment {} of project {} is {}", am.id, am.project,
                             gov::AmendmentStateName(am.state)));
    return Status::Ok();
  });

  auto close = std::make_shared<ProjectArgs>();
  c = project->add_subcommand("close", "Close a project: no study runs for it again");
  c->add_option("project", close->id, "Project id")->required();
  c->add_option("--reason", close->reason, "Why")->required();
  AddHubArgs(c, *close);
  AddHubHttpArgs(c, *close);
  OnRun(c, ctx, close, [](const ProjectArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {
      nlohmann::json body = {{"reason", a.reason}};
      RETURN_IF_ERROR(
          HubHttp(a, "POST", "/v1/projects/" + net::UrlEncode(a.id) + "/close", body.dump())
              .status());
      Progress(cx, "project " + a.id + " closed");
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Project p, hub.service->CloseProject(hub.principal, a.id, a.reason));
    Progress(cx, "project " + p.id + " closed");
    return Status::Ok();
  });
}

// ---- node approvals -----------------------------------------------------------------------------

struct NodeArgs {
  std::string state = "node-state.sqlite";
  std::string node;
  std::string audit_key;
  std::string project, by, from, until, note, reason, dataset, on;
  std::vector<std::string> datasets;
  int months = 18;
  bool json = false;
};

void AddNodeArgs(CLI::App* c, NodeArgs& a, bool writes) {
  c->add_option("--state", a.state, "The node's state database (SQLite)")->capture_default_str();
  c->add_option("--node", a.node, "The node id (default: the one recorded in the state)");
  if (writes) {
    c->add_option("--audit-key", a.audit_key, "The node's private audit key")->required();
    c->add_option("--by", a.by, "The custodian's name (default: $USER)");
  }
}

Result<gov::LocalNode> OpenNode(const NodeArgs& a) {
  gov::LocalNodeOptions o;
  o.state = a.state;
  o.node_id = a.node;
  if (!a.audit_key.empty()) o.audit_key = a.audit_key;
  return gov::OpenLocalNode(o, SystemClock::Default());
}

std::string Custodian(const NodeArgs& a) {
  if (!a.by.empty()) return a.by;
  const char* user = std::getenv("USER");
  return user ? user : "";
}

std::string ApprovalText(const gov::NodeApproval& x) {
  return fmt::format("{}\t{}\t{} through {}\tby {}{}{}", x.project,
                     x.approved ? "approved" : "revoked", FormatDate(x.start_on),
                     FormatDate(x.end_on - 1), x.custodian,
                     x.datasets.empty() ? "" : "\tdatasets " + Join(x.datasets, ","),
                     x.note.empty() ? "" : "\t" + x.note);
}

void RegisterNodeApprovals(CLI::App& app, CliContext& ctx) {
  // The federation's `passerelle node` command may already be there: add to it.
  CLI::App* node = nullptr;
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return s->get_name() == "node"; })) {
    node = sub;
  }
  if (node == nullptr) {
    node = app.add_subcommand("node", "A node's own approvals of projects (custodian)");
    node->require_subcommand(1);
  }

  auto approve = std::make_shared<NodeArgs>();
  CLI::App* c = node->add_subcommand(
      "approve", "Approve a project at this node: without it, the node runs none of its tasks");
  c->add_option("project", approve->project, "Project id")->required();
  c->add_option("--from", approve->from, "First day (default: today)");
  c->add_option("--until", approve->until, "Last day (default: --months after --from, less a day)");
  c->add_option("--months", approve->months, "Window length when --until is not given")
      ->capture_default_str();
  c->add_option("--dataset", approve->datasets, "Restrict to these datasets (repeatable)");
  c->add_option("--note", approve->note, "A reference (agreement, committee decision)");
  AddNodeArgs(c, *approve, true);
  OnRun(c, ctx, approve, [](const NodeArgs& a, CliContext& cx) -> Status {
    gov::NodeApprovalInput in;
    in.project = a.project;
    in.custodian = Custodian(a);
    in.access_months = a.months;
    in.datasets = a.datasets;
    in.note = a.note;
    if (!a.from.empty()) {
      ASSIGN_OR_RETURN(int32_t from, DateFlag(a.from, "--from"));
      in.start_on = from;
    }
    if (!a.until.empty()) {
      ASSIGN_OR_RETURN(int32_t until, DateFlag(a.until, "--until"));
      in.end_on = until + 1;
    }
    ASSIGN_OR_RETURN(gov::LocalNode n, OpenNode(a));
    ASSIGN_OR_RETURN(gov::NodeApproval x, n.approvals->Approve(in));
    Progress(cx, "node " + n.approvals->node_id() + ": " + ApprovalText(x));
    return Status::Ok();
  });

  auto revoke = std::make_shared<NodeArgs>();
  c = node->add_subcommand("revoke", "Revoke a project's approval at this node");
  c->add_option("project", revoke->project, "Project id")->required();
  c->add_option("--reason", revoke->reason, "Why")->required();
  AddNodeArgs(c, *revoke, true);
  OnRun(c, ctx, revoke, [](const NodeArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalNode n, OpenNode(a));
    ASSIGN_OR_RETURN(gov::NodeApproval x, n.approvals->Revoke(a.project, Custodian(a), a.reason));
    Progress(cx, "node " + n.approvals->node_id() + ": " + ApprovalText(x));
    return Status::Ok();
  });

  auto list = std::make_shared<NodeArgs>();
  c = node->add_subcommand("approvals", "This node's approvals");
  AddNodeArgs(c, *list, false);
  c->add_flag("--json", list->json, "Machine-readable output");
  OnRun(c, ctx, list, [](const NodeArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalNode n, OpenNode(a));
    ASSIGN_OR_RETURN(auto approvals, n.approvals->List());
    if (a.json) {
      Out(gov::ToJsonArray(approvals));
    } else {
      for (const auto& x : approvals) Out(ApprovalText(x));
    }
    return Status::Ok();
  });

  auto check = std::make_shared<NodeArgs>();
  c = node->add_subcommand("check",
                           "May this node run a task of the project? (exit status 0: yes)");
  c->add_option("project", check->project, "Project id")->required();
  c->add_option("--dataset", check->dataset, "The dataset the task reads");
  c->add_option("--on", check->on, "The day to check (default: today)");
  AddNodeArgs(c, *check, false);
  OnRun(c, ctx, check, [](const NodeArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalNode n, OpenNode(a));
    int32_t day = SystemClock::Default().TodayDays();
    if (!a.on.empty()) {
      ASSIGN_OR_RETURN(day, DateFlag(a.on, "--on"));
    }
    RETURN_IF_ERROR(n.approvals->CheckNodeMayRun(a.project, day, a.dataset));
    Out("node " + n.approvals->node_id() + " may run tasks of project " + a.project + " on " +
        FormatDate(day));
    return Status::Ok();
  });
}

}  // namespace

void RegisterGovernanceCommands(CLI::App& app, CliContext& ctx) {
  RegisterUserCommands(app, ctx);
  RegisterCallCommands(app, ctx);
  RegisterProject(app, ctx);
  RegisterNodeApprovals(app, ctx);
  RegisterCatalogCommands(app, ctx);
  RegisterAuditCommands(app, ctx);
}

}  // namespace passerelle::cli
