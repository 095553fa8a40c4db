// passerelle call create|list|show|applications|ranking|select
//
// Calls for projects on the hub's governance state file (see commands_user.cc for --state,
// --audit-key and --token).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
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
namespace {

namespace gov = passerelle::governance;

struct CallArgs : HubArgs {
  std::string id, title, description, opens, closes;
  std::vector<std::string> axes, applications;
  int fund = 2;
  bool single_jurisdiction = false;
  int access_months = 0;  // 0: the default (18)
  int min_reviews = -1;   // -1: the default (2)
};

std::string CallText(const gov::Call& c) {
  std::vector<std::string> axes;
  for (gov::Axis a : c.axes) axes.emplace_back(gov::AxisName(a));
  return fmt::format(
      "{}\t{}\n  open {} through {}; {} project(s) funded; {}; access {} months; {} review(s) "
      "needed; axes: {}{}",
      c.id, c.title, FormatDate(c.opens_on), FormatDate(c.closes_on), c.projects_to_fund,
      c.joint ? "joint FR-QC teams" : "any team", c.access_months, c.min_reviews, Join(axes, ", "),
      c.selected_on ? "; selection recorded " + FormatDate(*c.selected_on) : "");
}

}  // namespace

void RegisterCallCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* call = app.add_subcommand("call", "Calls for projects (hub)");
  call->require_subcommand(1);

  auto create = std::make_shared<CallArgs>();
  CLI::App* c = call->add_subcommand("create", "Create a call for projects (administrator)");
  c->add_option("id", create->id, "Call id ([a-z0-9._-])")->required();
  c->add_option("--title", create->title, "Title")->required();
  c->add_option("--description", create->description, "Description");
  c->add_option("--opens", create->opens, "First day applications are taken (YYYY-MM-DD)")
      ->required();
  c->add_option("--closes", create->closes, "Last day applications are taken (YYYY-MM-DD)")
      ->required();
  c->add_option("--fund", create->fund, "Number of projects to fund")->capture_default_str();
  c->add_option("--axis", create->axes,
                "ai-applications, population-models, patient-benefit (repeatable; default: all)");
  c->add_flag("--single-jurisdiction", create->single_jurisdiction,
              "Teams need not have members from both FR and QC");
  c->add_option("--access-months", create->access_months, "Access window of a project (18)");
  c->add_option("--min-reviews", create->min_reviews, "Reviews needed before selection (2)");
  AddHubArgs(c, *create, true);
  OnRun(c, ctx, create, [](const CallArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    gov::CallInput in;
    in.id = a.id;
    in.title = a.title;
    in.description = a.description;
    for (const std::string& s : a.axes) {
      ASSIGN_OR_RETURN(gov::Axis axis, gov::ParseAxis(s));
      in.axes.push_back(axis);
    }
    auto opens = ParseDate(a.opens);
    if (!opens.ok()) return opens.status().WithContext("--opens");
    auto closes = ParseDate(a.closes);
    if (!closes.ok()) return closes.status().WithContext("--closes");
    in.opens_on = *opens;
    in.closes_on = *closes;
    in.projects_to_fund = a.fund;
    in.joint = !a.single_jurisdiction;
    if (a.access_months > 0) in.access_months = a.access_months;
    if (a.min_reviews >= 0) in.min_reviews = a.min_reviews;
    ASSIGN_OR_RETURN(gov::Call made, hub.service->CreateCall(hub.principal, in));
    if (a.json) Out(gov::ToJson(made));
    Progress(cx, "call " + made.id + " created");
    return Status::Ok();
  });

  auto list = std::make_shared<CallArgs>();
  c = call->add_subcommand("list", "List calls");
  AddHubArgs(c, *list, true);
  AddHubHttpArgs(c, *list);
  OnRun(c, ctx, list, [](const CallArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {  // the hub's API answers JSON
      ASSIGN_OR_RETURN(std::string reply, HubHttp(a, "GET", "/v1/calls"));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto calls, hub.service->ListCalls(hub.principal));
    if (a.json) {
      Out(gov::ToJsonArray(calls));
    } else {
      for (const auto& k : calls) Out(CallText(k));
    }
    return Status::Ok();
  });

  auto show = std::make_shared<CallArgs>();
  c = call->add_subcommand("show", "Show a call");
  c->add_option("id", show->id, "Call id")->required();
  AddHubArgs(c, *show, true);
  AddHubHttpArgs(c, *show);
  OnRun(c, ctx, show, [](const CallArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {  // the hub's API answers JSON
      ASSIGN_OR_RETURN(std::string reply, HubHttp(a, "GET", "/v1/calls/" + net::UrlEncode(a.id)));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Call k, hub.service->GetCall(hub.principal, a.id));
    Out(a.json ? gov::ToJson(k) : CallText(k));
    return Status::Ok();
  });

  auto apps = std::make_shared<CallArgs>();
  c = call->add_subcommand("applications", "Applications to a call that you may read");
  c->add_option("id", apps->id, "Call id")->required();
  AddHubArgs(c, *apps, true);
  AddHubHttpArgs(c, *apps);
  OnRun(c, ctx, apps, [](const CallArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {  // the hub's API answers JSON
      ASSIGN_OR_RETURN(std::string reply,
                       HubHttp(a, "GET", "/v1/calls/" + net::UrlEncode(a.id) + "/applications"));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto list_apps, hub.service->ListApplications(hub.principal, a.id));
    if (a.json) {
      Out(gov::ToJsonArray(list_apps));
      return Status::Ok();
    }
    for (const auto& x : list_apps) {
      Out(fmt::format("{}\t{}\t{}\tlead {}\tteam {}", x.input.id,
                      gov::ApplicationStateName(x.state), x.input.title, x.input.lead,
                      Join(x.input.team, ",")));
    }
    return Status::Ok();
  });

  auto ranking = std::make_shared<CallArgs>();
  c = call->add_subcommand("ranking", "Applications by mean review score (committees, admins)");
  c->add_option("id", ranking->id, "Call id")->required();
  AddHubArgs(c, *ranking, true);
  AddHubHttpArgs(c, *ranking);
  OnRun(c, ctx, ranking, [](const CallArgs& a, CliContext&) -> Status {
    if (!a.url.empty()) {  // the hub's API answers JSON
      ASSIGN_OR_RETURN(std::string reply,
                       HubHttp(a, "GET", "/v1/calls/" + net::UrlEncode(a.id) + "/ranking"));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto ranked, hub.service->RankApplications(hub.principal, a.id));
    if (a.json) {
      Out(gov::ToJsonArray(ranked));
      return Status::Ok();
    }
    for (const auto& r : ranked) {
      Out(fmt::format("{}\t{:.2f}\t{} review(s)\t{}\t{}", r.id, r.mean_score, r.reviews,
                      gov::ApplicationStateName(r.state), r.title));
    }
    return Status::Ok();
  });

  auto select = std::make_shared<CallArgs>();
  c = call->add_subcommand("select",
                           "Record the selection: the listed applications become projects");
  c->add_option("id", select->id, "Call id")->required();
  c->add_option("applications", select->applications, "Selected application ids")->required();
  AddHubArgs(c, *select, true);
  AddHubHttpArgs(c, *select);
  OnRun(c, ctx, select, [](const CallArgs& a, CliContext& cx) -> Status {
    if (!a.url.empty()) {  // the hub's API answers JSON
      ASSIGN_OR_RETURN(std::string reply,
                       HubHttp(a, "POST", "/v1/calls/" + net::UrlEncode(a.id) + "/selection",
                               nlohmann::json{{"applications", a.applications}}.dump()));
      Out(reply);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto projects,
                     hub.service->SelectProjects(hub.principal, a.id, a.applications));
    if (a.json) Out(gov::ToJsonArray(projects));
    for (const auto& p : projects) {
      std::vector<std::string> js;
      for (gov::Jurisdiction j : p.jurisdictions) js.emplace_back(gov::JurisdictionName(j));
      Progress(cx, "project " + p.id + " awaits the decisions of " + Join(js, " and "));
    }
    return Status::Ok();
  });
}

}  // namespace passerelle::cli
