// passerelle hub --config hub.toml: the coordinating hub (HTTPS API, study orchestration).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/config.h"
#include "hub/auth.h"
#include "hub/hub.h"

namespace passerelle::cli {
namespace {

Status RunHub(const std::string& config_path) {
  BlockStopSignals();
  ASSIGN_OR_RETURN(Config config, Config::LoadFile(config_path));
  std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  ASSIGN_OR_RETURN(hub::HubConfig hc, hub::LoadHubConfig(config, base));
  // Governance will provide its own Authenticator; until then, the token list of hub.toml.
  ASSIGN_OR_RETURN(auto auth, hub::TokenListAuthenticator::Create(hc.token_hashes));
  ASSIGN_OR_RETURN(auto h, hub::Hub::Create(hc.options, std::move(auth)));
  ServeUntilSignal([&] { h->Run(); }, [&] { h->Stop(); });
  return Status::Ok();
}

}  // namespace

void RegisterHubCommand(CLI::App& app, CliContext& ctx) {
  auto config = std::make_shared<std::string>();
  CLI::App* hub = app.add_subcommand(
      "hub", "Run the hub: studies, orchestration, the API for researchers and nodes");
  hub->add_option("--config", *config, "hub.toml (see docs/federation.md)")->required();
  hub->callback([config, &ctx] { ctx.status = RunHub(*config); });
}

}  // namespace passerelle::cli
