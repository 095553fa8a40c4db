// passerelle db info
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "omop/db_info.h"
#include "store/duckdb_source.h"

namespace passerelle::cli {
namespace {

struct InfoArgs {
  std::string db;
  bool json = false;
};

Status RunInfo(const InfoArgs& a) {
  store::DuckDbOptions opts;
  opts.path = a.db;
  opts.read_only = true;
  ASSIGN_OR_RETURN(auto source, store::OpenDuckDb(opts));
  ASSIGN_OR_RETURN(omop::DbInfo info, omop::ReadDbInfo(*source));
  std::string text = a.json ? omop::DbInfoToJson(info) + "\n" : omop::DbInfoToText(info, a.db);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

}  // namespace

void RegisterDbCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* db = app.add_subcommand("db", "Inspect a node database");
  db->require_subcommand(1);
  auto args = std::make_shared<InfoArgs>();
  CLI::App* info = db->add_subcommand("info", "What the database holds: OMOP CDM and flat tables");
  info->add_option("db", args->db, "Database file (DuckDB)")->required();
  info->add_flag("--json", args->json, "Machine-readable output");
  info->callback([args, &ctx] { ctx.status = RunInfo(*args); });
}

}  // namespace passerelle::cli
