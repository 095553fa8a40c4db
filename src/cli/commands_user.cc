// passerelle org add|list|add-node|nodes, passerelle user
// add|token|revoke|disable|list|tokens|whoami
//
// Local administration of the hub's governance state file. Without --token the command acts as
// the local operator (an administrator: whoever can write the file); with --token (or
// PASSERELLE_TOKEN) as that token's user, with that user's rights. Every change is signed into the
// hub's audit log, so changes need --audit-key.
#include <CLI/CLI.hpp>

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

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

std::string Day(int64_t micros) { return FormatDate(static_cast<int32_t>(micros / kMicrosPerDay)); }

// ---- org --------------------------------------------------------------------------------------

struct OrgArgs : HubArgs {
  std::string id, name, jurisdiction, org;
};

void RegisterOrg(CLI::App& app, CliContext& ctx) {
  CLI::App* org = app.add_subcommand("org", "Organisations and the nodes they run (hub)");
  org->require_subcommand(1);

  auto add = std::make_shared<OrgArgs>();
  CLI::App* c = org->add_subcommand("add", "Add an organisation of a jurisdiction");
  c->add_option("id", add->id, "Organisation id ([a-z0-9._-])")->required();
  c->add_option("--name", add->name, "Full name")->required();
  c->add_option("--jurisdiction", add->jurisdiction, "FR or QC")->required();
  AddHubArgs(c, *add);
  OnRun(c, ctx, add, [](const OrgArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::Jurisdiction j, gov::ParseJurisdiction(a.jurisdiction));
    RETURN_IF_ERROR(hub.service->AddOrganisation(hub.principal, {a.id, a.name, j}));
    Progress(cx, "organisation " + a.id + " (" + std::string(gov::JurisdictionName(j)) + ") added");
    return Status::Ok();
  });

  auto list = std::make_shared<OrgArgs>();
  c = org->add_subcommand("list", "List organisations");
  AddHubArgs(c, *list, true);
  OnRun(c, ctx, list, [](const OrgArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto orgs, hub.service->ListOrganisations(hub.principal));
    if (a.json) {
      Out(gov::ToJsonArray(orgs));
    } else {
      for (const auto& o : orgs)
        Out(o.id + "\t" + std::string(gov::JurisdictionName(o.jurisdiction)) + "\t" + o.name);
    }
    return Status::Ok();
  });

  auto node = std::make_shared<OrgArgs>();
  c = org->add_subcommand("add-node",
                          "Register a node (its TLS certificate CN) for an organisation");
  c->add_option("node", node->id, "Node id")->required();
  c->add_option("--org", node->org, "The organisation that runs it")->required();
  AddHubArgs(c, *node);
  OnRun(c, ctx, node, [](const OrgArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->RegisterNode(hub.principal, a.id, a.org));
    Progress(cx, "node " + a.id + " registered for " + a.org);
    return Status::Ok();
  });

  auto nodes = std::make_shared<OrgArgs>();
  c = org->add_subcommand("nodes", "List registered nodes");
  AddHubArgs(c, *nodes, true);
  OnRun(c, ctx, nodes, [](const OrgArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto list_nodes, hub.service->ListNodes(hub.principal));
    if (a.json) {
      Out(gov::ToJsonArray(list_nodes));
    } else {
      for (const auto& n : list_nodes) {
        Out(n.id + "\t" + std::string(gov::JurisdictionName(n.jurisdiction)) + "\t" +
            n.organisation);
      }
    }
    return Status::Ok();
  });
}

// ---- user -------------------------------------------------------------------------------------

struct UserArgs : HubArgs {
  std::string name, org, display_name, label, token_id;
  std::vector<std::string> roles;
  int days = 0;  // 0: the default validity
};

std::optional<int> Days(int d) { return d > 0 ? std::optional<int>(d) : std::nullopt; }

void PrintToken(const gov::IssuedToken& t, const CliContext& ctx) {
  Progress(ctx, "token " + t.id + " for " + t.user + ", valid until " + Day(t.expires_at) +
                    " (shown once; the hub keeps only its hash):");
  Out(t.token);
}

void RegisterUser(CLI::App& app, CliContext& ctx) {
  CLI::App* user = app.add_subcommand("user", "People, their roles and bearer tokens (hub)");
  user->require_subcommand(1);

  auto add = std::make_shared<UserArgs>();
  CLI::App* c = user->add_subcommand("add", "Add a user and print their first token");
  c->add_option("name", add->name, "Login ([a-z0-9._-])")->required();
  c->add_option("--org", add->org, "Their organisation")->required();
  c->add_option("--role", add->roles,
                "administrator, researcher, committee:FR, committee:QC, custodian:<node> "
                "(repeatable)")
      ->required();
  c->add_option("--display-name", add->display_name, "Full name");
  c->add_option("--days", add->days, "Token validity in days (default 90)");
  AddHubArgs(c, *add);
  OnRun(c, ctx, add, [](const UserArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    gov::NewUser u{a.name, a.display_name, a.org, {}};
    for (const std::string& r : a.roles) {
      ASSIGN_OR_RETURN(gov::Role role, gov::ParseRole(r));
      u.roles.push_back(role);
    }
    ASSIGN_OR_RETURN(gov::IssuedToken t, hub.service->AddUser(hub.principal, u, Days(a.days)));
    PrintToken(t, cx);
    return Status::Ok();
  });

  auto token = std::make_shared<UserArgs>();
  c = user->add_subcommand("token", "Issue a new token for a user (yourself with --token)");
  c->add_option("name", token->name, "The user")->required();
  c->add_option("--label", token->label, "What the token is for");
  c->add_option("--days", token->days, "Validity in days (default 90)");
  AddHubArgs(c, *token);
  OnRun(c, ctx, token, [](const UserArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(gov::IssuedToken t,
                     hub.service->IssueToken(hub.principal, a.name, a.label, Days(a.days)));
    PrintToken(t, cx);
    return Status::Ok();
  });

  auto revoke = std::make_shared<UserArgs>();
  c = user->add_subcommand("revoke", "Revoke a token by its id");
  c->add_option("token_id", revoke->token_id, "The token id (12 hex digits)")->required();
  AddHubArgs(c, *revoke);
  OnRun(c, ctx, revoke, [](const UserArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->RevokeToken(hub.principal, a.token_id));
    Progress(cx, "token " + a.token_id + " revoked");
    return Status::Ok();
  });

  auto disable = std::make_shared<UserArgs>();
  c = user->add_subcommand("disable", "Disable a user: all their tokens are refused");
  c->add_option("name", disable->name, "The user")->required();
  AddHubArgs(c, *disable);
  OnRun(c, ctx, disable, [](const UserArgs& a, CliContext& cx) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    RETURN_IF_ERROR(hub.service->DisableUser(hub.principal, a.name));
    Progress(cx, "user " + a.name + " disabled");
    return Status::Ok();
  });

  auto list = std::make_shared<UserArgs>();
  c = user->add_subcommand("list", "List users and their roles");
  AddHubArgs(c, *list, true);
  OnRun(c, ctx, list, [](const UserArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto users, hub.service->ListUsers(hub.principal));
    if (a.json) {
      Out(gov::ToJsonArray(users));
      return Status::Ok();
    }
    for (const auto& u : users) {
      std::vector<std::string> roles;
      for (const auto& r : u.roles) roles.push_back(gov::RoleToString(r));
      Out(u.name + "\t" + u.organisation + "\t" + Join(roles, ",") +
          (u.disabled ? "\tdisabled" : ""));
    }
    return Status::Ok();
  });

  auto tokens = std::make_shared<UserArgs>();
  c = user->add_subcommand("tokens", "List a user's tokens (never their secrets)");
  c->add_option("name", tokens->name, "The user")->required();
  AddHubArgs(c, *tokens, true);
  OnRun(c, ctx, tokens, [](const UserArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    ASSIGN_OR_RETURN(auto list_tokens, hub.service->ListTokens(hub.principal, a.name));
    if (a.json) {
      Out(gov::ToJsonArray(list_tokens));
      return Status::Ok();
    }
    for (const auto& t : list_tokens) {
      Out(t.id + "\texpires " + Day(t.expires_at) +
          (t.revoked_at ? "\trevoked " + Day(*t.revoked_at) : std::string()) +
          (t.label.empty() ? "" : "\t" + t.label));
    }
    return Status::Ok();
  });

  auto whoami = std::make_shared<UserArgs>();
  c = user->add_subcommand("whoami", "Who the token (or the local operator) is");
  AddHubArgs(c, *whoami, true);
  OnRun(c, ctx, whoami, [](const UserArgs& a, CliContext&) -> Status {
    ASSIGN_OR_RETURN(gov::LocalHub hub, OpenHub(a));
    if (a.json) {
      Out(gov::ToJson(hub.principal));
    } else {
      Out(hub.principal.name + "\t" + Join(hub.principal.RoleStrings(), ","));
    }
    return Status::Ok();
  });
}

}  // namespace

void RegisterUserCommands(CLI::App& app, CliContext& ctx) {
  RegisterOrg(app, ctx);
  RegisterUser(app, ctx);
}

}  // namespace passerelle::cli
