// What the governance subcommands (call, project, user, catalog) share: the options that name the
// hub's governance state and the acting user, and opening that state. Included only by
// commands_{call,catalog,project,user}.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/random.h"
#include "governance/local.h"

namespace passerelle::cli {

struct HubArgs {
  std::string state = "hub-governance.sqlite";
  std::string audit_key;
  std::string token;
  bool json = false;
};

inline void AddHubArgs(CLI::App* c, HubArgs& a, bool json_flag = false) {
  c->add_option("--state", a.state, "The hub's governance database (SQLite)")
      ->capture_default_str();
  c->add_option("--audit-key", a.audit_key,
                "The hub's private audit key (changes are signed; see `passerelle audit keygen`)");
  c->add_option("--token", a.token, "Act as this token's user (default: the local operator)")
      ->envname("PASSERELLE_TOKEN");
  if (json_flag) c->add_flag("--json", a.json, "Machine-readable output");
}

inline Result<governance::LocalHub> OpenHub(const HubArgs& a) {
  governance::LocalHubOptions o;
  o.state = a.state;
  if (!a.audit_key.empty()) o.audit_key = a.audit_key;
  o.token = a.token;
  return governance::OpenLocalHub(o, SystemClock::Default(), SystemRandom::Default());
}

inline void Out(const std::string& line) { std::printf("%s\n", line.c_str()); }

template <typename Args, typename Fn>
void OnRun(CLI::App* c, CliContext& ctx, std::shared_ptr<Args> args, Fn fn) {
  c->callback([args, &ctx, fn] { ctx.status = fn(*args, ctx); });
}

}  // namespace passerelle::cli
