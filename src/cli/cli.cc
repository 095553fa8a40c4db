#include "cli/cli.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "common/log.h"

namespace passerelle::cli {

void Progress(const CliContext& ctx, const std::string& line) {
  if (!ctx.quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

int RunCli(int argc, char** argv) {
  CLI::App app{
      "Passerelle: federated research on France and Québec health data. Data stays at each site; "
      "only aggregate statistics leave it, after that site's checks."};
  app.name("passerelle");
  app.require_subcommand(1);
  app.set_version_flag("--version", "passerelle 0.1.0");
  std::string log_level = "info";
  std::string log_format = "text";
  CliContext ctx;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text (for people) or json (one object per line)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", ctx.quiet, "No progress lines");
  app.parse_complete_callback([&] {
    auto level = log::ParseLevel(log_level);
    auto format = log::ParseFormat(log_format);
    if (!level.ok()) throw CLI::ValidationError("--log-level", level.status().message());
    if (!format.ok()) throw CLI::ValidationError("--log-format", format.status().message());
    log::Init({*level, *format});
  });

  RegisterIngestCommands(app, ctx);
  RegisterDbCommands(app, ctx);
  RegisterDemoCommand(app, ctx);
  RegisterSynthCommand(app, ctx);
  RegisterPseudonymizeCommands(app, ctx);
  RegisterPkiCommands(app, ctx);
  RegisterHubCommand(app, ctx);
  RegisterNodeCommand(app, ctx);
  RegisterStudyCommands(app, ctx);
  RegisterSandboxCommand(app, ctx);
  RegisterPprlCommands(app, ctx);
  RegisterGovernanceCommands(app, ctx);
  RegisterCohortCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (!ctx.status.ok()) {
    std::fprintf(stderr, "passerelle: error: %s\n", ctx.status.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace passerelle::cli
