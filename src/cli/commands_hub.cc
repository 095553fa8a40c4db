// passerelle hub --config hub.toml: the coordinating hub (HTTPS API, study orchestration).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/commands.h"
#include "cli/signals.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "governance/governance.h"
#include "hub/hub.h"

namespace passerelle::cli {
namespace {

Status RunHub(const std::string& config_path) {
  BlockStopSignals();
  ASSIGN_OR_RETURN(Config config, Config::LoadFile(config_path));
  std::filesystem::path base = std::filesystem::path(config_path).parent_path();
  ASSIGN_OR_RETURN(hub::HubConfig hc, hub::LoadHubConfig(config, base));
  // Governance decides who may do what, and signs the hub's audit log.
  ASSIGN_OR_RETURN(governance::AuditKey key, governance::ReadAuditKeyFile(hc.audit_key));
  governance::GovernanceOptions go;
  go.path = hc.governance_state;
  ASSIGN_OR_RETURN(auto gov,
                   governance::GovernanceService::Open(go, std::move(key), SystemClock::Default(),
                                                       SystemRandom::Default()));
  ASSIGN_OR_RETURN(auto h, hub::Hub::Create(hc.options, *gov));
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
