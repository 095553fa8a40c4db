// passerelle pseudonymize keygen KEYFILE
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/random.h"
#include "privacy/pseudonymize.h"

namespace passerelle::cli {

void RegisterPseudonymizeCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* p = app.add_subcommand(
      "pseudonymize", "Site secret for pseudonymisation at ingest (ingest ... --pseudonymize)");
  p->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* keygen = p->add_subcommand(
      "keygen",
      "Create a new site key file (mode 0600). Keep it outside the database and back it up: "
      "the same key gives the same pseudonyms at every re-load");
  keygen->add_option("KEYFILE", *path, "Key file to create (refused if it exists)")->required();
  keygen->callback([path, &ctx] {
    ctx.status = privacy::WriteNewSiteKeyFile(*path, SystemRandom::Default());
    if (ctx.status.ok()) {
      std::printf("wrote a new site key to %s (mode 0600)\n", path->c_str());
    }
  });
}

}  // namespace passerelle::cli
