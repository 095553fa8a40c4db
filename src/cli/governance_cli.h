// What the governance subcommands (call, project, user, catalog) share: the options that name the
// hub's governance state and the acting user, and opening that state — or, with --hub URL, the
// hub's HTTP API acting with a governance token (HubHttp). Included only by
// commands_{call,catalog,project,user}.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "common/clock.h"
#include "common/random.h"
#include "crypto/tls.h"
#include "governance/local.h"
#include "net/client.h"

namespace passerelle::cli {

struct HubArgs {
  std::string state = "hub-governance.sqlite";
  std::string audit_key;
  std::string token;
  bool json = false;
  // Over HTTP instead of the local state: the hub's URL and the federation CA.
  std::string url;
  std::string ca;
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

// --hub URL and --ca FILE, for the commands that can also work against the hub's API.
inline void AddHubHttpArgs(CLI::App* c, HubArgs& a) {
  c->add_option("--hub", a.url, "Work against this hub's API (https://host:port) with --token")
      ->envname("PASSERELLE_HUB");
  c->add_option("--ca", a.ca, "Federation CA certificate (verifies the hub)")
      ->envname("PASSERELLE_CA");
}

// One request to the hub's API as the token's user; the response body, or the Status of an error.
inline Result<std::string> HubHttp(const HubArgs& a, std::string_view method,
                                   std::string_view target, std::string_view body = {}) {
  if (a.token.empty()) {
    return Status::Unauthenticated("--token (or PASSERELLE_TOKEN) is required with --hub");
  }
  if (a.ca.empty()) {
    return Status::InvalidArgument(
        "--ca FILE (or PASSERELLE_CA): the federation CA certificate, to verify the hub");
  }
  ASSIGN_OR_RETURN(crypto::TlsMaterial m, crypto::LoadTlsMaterial(a.ca, "", ""));
  ASSIGN_OR_RETURN(auto tls, crypto::TlsContext::Client(m));
  ASSIGN_OR_RETURN(auto client, net::HttpsClient::Create({.base_url = a.url}, tls));
  return client->Call(method, target, body, {{"Authorization", "Bearer " + a.token}});
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
