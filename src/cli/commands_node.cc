// passerelle node --config node.toml: a site's agent (outbound only).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/config.h"
#include "common/log.h"
#include "node/agent.h"
#include "node/catalog_publish.h"
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
  // The catalog ([catalog] in node.toml): described from the database now, published to the hub
  // beside the agent (a hub that is not up yet only costs a warning; `node publish` retries).
  ASSIGN_OR_RETURN(node::CatalogPublishOptions catalog, node::LoadCatalogConfig(config, base));
  std::vector<governance::DatasetDescription> descriptions;
  if (catalog.publish_at_start) {
    auto built = node::BuildCatalog(**db, options.node_id, catalog);
    if (built.ok()) {
      descriptions = std::move(built).value();
    } else {
      log::Warn("catalog: not published: {}", built.status().ToString());
    }
  }
  std::thread publisher([&] {
    if (descriptions.empty()) return;
    auto n = node::PublishCatalog(descriptions, options.hub_url, options.tls);
    if (n.ok()) {
      log::Info("catalog: {} dataset(s) published to {}", *n, options.hub_url);
    } else {
      log::Warn("catalog: not published ({}); retry with `passerelle node publish`",
                n.status().ToString());
    }
  });
  auto agent_or = node::NodeAgent::Create(
      options, std::make_unique<node::StoreDataProvider>(std::move(db).value()));
  if (!agent_or.ok()) {
    publisher.join();
    return agent_or.status();
  }
  auto agent = std::move(agent_or).value();
  Status result;
  ServeUntilSignal([&] { result = agent->Run(); }, [&] { agent->Stop(); });
  publisher.join();
  return result;
}

// passerelle node publish --config node.toml: (re)publishes the node's catalog descriptions.
Status PublishNodeCatalog(const std::string& config_path, bool dry_run, CliContext& ctx) {
  ASSIGN_OR_RETURN(Config config, Config::LoadFile(config_path));
  std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  ASSIGN_OR_RETURN(node::NodeOptions options, node::LoadNodeConfig(config, base));
  ASSIGN_OR_RETURN(node::CatalogPublishOptions catalog, node::LoadCatalogConfig(config, base));
  auto db = store::OpenDuckDb(
      {.path = options.data_path.string(), .read_only = true, .must_exist = true});
  if (!db.ok()) return db.status().WithContext("data.duckdb");
  ASSIGN_OR_RETURN(auto descriptions, node::BuildCatalog(**db, options.node_id, catalog));
  if (dry_run) {
    for (const auto& d : descriptions) {
      std::printf("%s\n", governance::DatasetDescriptionToJson(d).c_str());
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(int n, node::PublishCatalog(descriptions, options.hub_url, options.tls));
  Progress(ctx, fmt::format("{} dataset(s) published to {}", n, options.hub_url));
  return Status::Ok();
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

  auto publish_config = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* publish = node->add_subcommand(
      "publish", "Publish this node's dataset descriptions to the hub's catalog ([catalog])");
  publish->add_option("--config", *publish_config, "node.toml")->required();
  publish->add_flag("--dry-run", *dry_run, "Print the descriptions (JSON lines), publish nothing");
  publish->callback([publish_config, dry_run, &ctx] {
    ctx.status = PublishNodeCatalog(*publish_config, *dry_run, ctx);
  });
}

}  // namespace passerelle::cli
