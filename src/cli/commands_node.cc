// passerelle node --config node.toml: a site's agent (outbound only).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/config.h"
#include "node/agent.h"
#include "store/duckdb_source.h"

namespace passerelle::cli {
namespace {

Status RunNode(const std::string& config_path) {
  BlockStopSignals();
  ASSIGN_OR_RETURN(Config config, Config::LoadFile(config_path));
  std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  ASSIGN_OR_RETURN(node::NodeOptions options, node::LoadNodeConfig(config, base));
  // Failure injection for the end-to-end tests only (see NodeOptions::failpoint).
  if (const char* fp = std::getenv("PASSERELLE_FAILPOINT")) options.failpoint = fp;
  auto db = store::OpenDuckDb(
      {.path = options.data_path.string(), .read_only = true, .must_exist = true});
  if (!db.ok()) return db.status().WithContext("data.duckdb");
  ASSIGN_OR_RETURN(auto agent,
                   node::NodeAgent::Create(
                       options, std::make_unique<node::StoreDataProvider>(std::move(db).value())));
  Status result;
  ServeUntilSignal([&] { result = agent->Run(); }, [&] { agent->Stop(); });
  return result;
}

}  // namespace

void RegisterNodeCommand(CLI::App& app, CliContext& ctx) {
  auto config = std::make_shared<std::string>();
  CLI::App* node = app.add_subcommand(
      "node", "Run a site's node agent: fetch tasks from the hub, answer with aggregates only");
  // Not `required()`: the custodian's `node approve|revoke|approvals|check` subcommands
  // (governance) live under `node` too and take no agent configuration.
  node->add_option("--config", *config, "node.toml (see docs/federation.md)");
  node->callback([node, config, &ctx] {
    if (!node->get_subcommands().empty()) return;  // a custodian subcommand ran
    if (config->empty()) {
      ctx.status = Status::InvalidArgument(
          "node: --config node.toml is required to run the agent (or use a subcommand: approve, "
          "revoke, approvals, check)");
      return;
    }
    ctx.status = RunNode(*config);
  });
}

}  // namespace passerelle::cli
