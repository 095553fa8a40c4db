// Registration of subcommands. Each commands_*.cc adds its subcommands to the application; a
// subcommand's callback stores its outcome in the context, which RunCli turns into an exit code.
// Adding a subcommand: write Register<Name>Commands in a new file and call it from cli.cc.
#pragma once

#include <string>

#include "common/status.h"

namespace CLI {
class App;
}

namespace passerelle::cli {

struct CliContext {
  Status status;       // outcome of the subcommand that ran
  bool quiet = false;  // --quiet: no progress lines
};

void RegisterIngestCommands(CLI::App& app, CliContext& ctx);
void RegisterDbCommands(CLI::App& app, CliContext& ctx);
void RegisterDemoCommand(CLI::App& app, CliContext& ctx);
void RegisterSynthCommand(CLI::App& app, CliContext& ctx);
void RegisterPseudonymizeCommands(CLI::App& app, CliContext& ctx);
void RegisterPkiCommands(CLI::App& app, CliContext& ctx);
void RegisterHubCommand(CLI::App& app, CliContext& ctx);
void RegisterNodeCommand(CLI::App& app, CliContext& ctx);
void RegisterStudyCommands(CLI::App& app, CliContext& ctx);
void RegisterSandboxCommand(CLI::App& app, CliContext& ctx);
void RegisterPprlCommands(CLI::App& app, CliContext& ctx);
void RegisterGovernanceCommands(CLI::App& app, CliContext& ctx);
void RegisterCohortCommands(CLI::App& app, CliContext& ctx);

// Prints a progress line on stderr unless --quiet.
void Progress(const CliContext& ctx, const std::string& line);

}  // namespace passerelle::cli
