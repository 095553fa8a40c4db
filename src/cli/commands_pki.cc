// passerelle pki init | issue: the federation's certificate authority. (People's bearer tokens
// are governance tokens: `passerelle user add` / `user token`.)
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/commands.h"
#include "crypto/pki.h"

namespace passerelle::cli {
namespace {

struct PkiArgs {
  std::string dir = "pki";
  std::string name = "Passerelle federation CA";
  int ca_days = 3650;
  int days = 825;
  bool force = false;
  std::string hub, node;
  std::vector<std::string> dns, ips;
};

Status RunInit(const PkiArgs& a, const CliContext& ctx) {
  RETURN_IF_ERROR(crypto::InitCaDir(a.dir, {.name = a.name, .valid_days = a.ca_days}, a.force));
  Progress(ctx, fmt::format("created the federation CA in {}/ (ca.key stays with the CA "
                            "operator; ca.crt goes to the hub and every node)",
                            a.dir));
  std::printf("%s/ca.crt\n", a.dir.c_str());
  return Status::Ok();
}

Status RunIssue(const PkiArgs& a, const CliContext& ctx) {
  if (a.hub.empty() == a.node.empty()) {
    return Status::InvalidArgument("give exactly one of --hub NAME or --node ID");
  }
  crypto::IssueOptions opts;
  opts.valid_days = a.days;
  opts.dns_names = a.dns;
  opts.ip_addresses = a.ips;
  const bool hub = !a.hub.empty();
  if (!hub && (!a.dns.empty() || !a.ips.empty())) {
    return Status::InvalidArgument("--dns and --ip apply to a hub certificate only");
  }
  ASSIGN_OR_RETURN(crypto::IssuedFiles files,
                   crypto::IssueToDir(a.dir, hub ? crypto::CertRole::kHub : crypto::CertRole::kNode,
                                      hub ? a.hub : a.node, opts, a.force));
  Progress(ctx, fmt::format("issued a {} certificate for \"{}\", valid {} days",
                            hub ? "hub" : "node", hub ? a.hub : a.node, a.days));
  std::printf("%s\n%s\n", files.cert.c_str(), files.key.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterPkiCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<PkiArgs>();
  CLI::App* pki = app.add_subcommand("pki", "The federation's certificate authority");
  pki->require_subcommand(1);

  CLI::App* init = pki->add_subcommand("init", "Create the federation CA (ca.key, ca.crt)");
  init->add_option("--dir", args->dir, "Folder of the CA")->capture_default_str();
  init->add_option("--name", args->name, "Name (CN) of the CA")->capture_default_str();
  init->add_option("--days", args->ca_days, "Validity in days")->capture_default_str();
  init->add_flag("--force", args->force, "Replace an existing CA (every certificate then dies)");
  init->callback([args, &ctx] { ctx.status = RunInit(*args, ctx); });

  CLI::App* issue = pki->add_subcommand(
      "issue", "Issue a hub or node certificate signed by the CA (<dir>/<name>.crt and .key)");
  issue->add_option("--dir", args->dir, "Folder of the CA")->capture_default_str();
  issue->add_option("--hub", args->hub, "Hub DNS name (server certificate)");
  issue->add_option("--node", args->node, "Node id: the certificate's CN (client certificate)");
  issue->add_option("--dns", args->dns, "Extra DNS name of the hub (repeatable)");
  issue->add_option("--ip", args->ips, "IP address of the hub (repeatable)");
  issue->add_option("--days", args->days, "Validity in days")->capture_default_str();
  issue->add_flag("--force", args->force, "Replace an existing certificate of that name");
  issue->callback([args, &ctx] { ctx.status = RunIssue(*args, ctx); });
}

}  // namespace passerelle::cli
