// passerelle cohort count | sql
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cohort/atlas.h"
#include "cohort/cohort.h"
#include "cohort/compiler.h"
#include "common/files.h"
#include "store/duckdb_source.h"

namespace passerelle::cli {
namespace {

struct CountArgs {
  std::string db, cohort;
  bool by_rule = false;
  bool atlas = false;
  bool json = false;
};

struct SqlArgs {
  std::string cohort, dialect = "duckdb", table = "_pc_cohort", cdm_schema;
  bool atlas = false;
};

Result<cohort::CohortDefinition> LoadCohort(const std::string& path, bool atlas) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return cohort::ParseAnyCohort(text, std::filesystem::path(path).filename().string(), atlas);
}

Status RunCount(const CountArgs& a, const CliContext& ctx) {
  ASSIGN_OR_RETURN(cohort::CohortDefinition def, LoadCohort(a.cohort, a.atlas));
  store::DuckDbOptions opts;
  opts.path = a.db;
  opts.must_exist = true;
  // Read-only: the cohort lives in temporary tables; the node database is not changed.
  opts.read_only = true;
  ASSIGN_OR_RETURN(auto source, store::OpenDuckDb(opts));
  Progress(ctx,
           fmt::format("running cohort {} on {}", def.name.empty() ? a.cohort : def.name, a.db));
  ASSIGN_OR_RETURN(cohort::CohortCounts counts, cohort::GenerateCohort(*source, def));
  std::string text =
      a.json ? cohort::CountsToJson(counts) + "\n" : cohort::CountsToText(counts, a.by_rule);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

Status RunSql(const SqlArgs& a) {
  ASSIGN_OR_RETURN(cohort::CohortDefinition def, LoadCohort(a.cohort, a.atlas));
  const store::Dialect* dialect = nullptr;
  if (a.dialect == "duckdb") {
    dialect = &store::Dialect::DuckDb();
  } else if (a.dialect == "postgres" || a.dialect == "postgresql") {
    dialect = &store::Dialect::Postgres();
  } else {
    return Status::InvalidArgument(
        fmt::format("--dialect must be duckdb or postgres (got \"{}\")", a.dialect));
  }
  cohort::CompileOptions opts;
  opts.result_table = a.table;
  opts.cdm_schema = a.cdm_schema;
  ASSIGN_OR_RETURN(cohort::CompiledCohort compiled, cohort::CompileCohort(def, *dialect, opts));
  std::string text =
      fmt::format("-- passerelle cohort: {} ({})\n", def.name, a.dialect) + compiled.Script();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

}  // namespace

void RegisterCohortCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* cohort =
      app.add_subcommand("cohort", "OMOP cohorts: count a cohort in a node database, show its SQL");
  cohort->require_subcommand(1);

  auto count_args = std::make_shared<CountArgs>();
  CLI::App* count = cohort->add_subcommand(
      "count", "Count a cohort in a node database (node-local, exact counts for the data steward)");
  count->add_option("--db", count_args->db, "Node database (DuckDB file)")->required();
  count
      ->add_option("--cohort", count_args->cohort,
                   "Cohort definition: native JSON (docs/cohorts.md) or ATLAS JSON")
      ->required();
  count->add_flag("--by-rule", count_args->by_rule, "Attrition: counts after each inclusion rule");
  count->add_flag("--atlas", count_args->atlas,
                  "Read the file as ATLAS (Circe) JSON (detected when it has PrimaryCriteria)");
  count->add_flag("--json", count_args->json, "Machine-readable output (with attrition)");
  count->callback([count_args, &ctx] { ctx.status = RunCount(*count_args, ctx); });

  auto sql_args = std::make_shared<SqlArgs>();
  CLI::App* sql = cohort->add_subcommand("sql", "Print the SQL a cohort compiles to");
  sql->add_option("--cohort", sql_args->cohort, "Cohort definition (native or ATLAS JSON)")
      ->required();
  sql->add_option("--dialect", sql_args->dialect, "duckdb or postgres")->capture_default_str();
  sql->add_option("--table", sql_args->table, "Name of the cohort table it writes")
      ->capture_default_str();
  sql->add_option("--cdm-schema", sql_args->cdm_schema,
                  "Schema of the CDM tables (default: the connection's)");
  sql->add_flag("--atlas", sql_args->atlas, "Read the file as ATLAS (Circe) JSON");
  sql->callback([sql_args, &ctx] { ctx.status = RunSql(*sql_args); });
}

}  // namespace passerelle::cli
