// passerelle ingest omop | table
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/commands.h"
#include "common/date.h"
#include "omop/ingest.h"
#include "store/ingest_table.h"
#include "store/ingest_target.h"

namespace passerelle::cli {
namespace {

struct OmopArgs {
  std::string from, out;
  bool replace = false;
};

struct TableArgs {
  std::string name, from, out, delimiter = ",";
  std::vector<std::string> nulls;
  bool replace = false;
};

Status RunOmop(const OmopArgs& a, const CliContext& ctx) {
  ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(a.out));
  omop::OmopIngestOptions opts;
  opts.from = a.from;
  opts.replace = a.replace;
  opts.progress = [&](std::string_view line) { Progress(ctx, fmt::format("  {}", line)); };
  Result<omop::OmopIngestReport> r = omop::IngestOmop(target.source(), opts);
  target.Finish(r.ok());
  if (!r.ok()) return r.status();
  int64_t rows = 0;
  for (const auto& t : r->tables) rows += t.rows;
  std::string range = r->first_date ? fmt::format(", observed {} to {}", FormatDate(*r->first_date),
                                                  FormatDate(*r->last_date))
                                    : "";
  std::printf("loaded %zu CDM tables, %lld rows, %lld persons%s into %s\n", r->tables.size(),
              static_cast<long long>(rows), static_cast<long long>(r->persons), range.c_str(),
              a.out.c_str());
  if (!r->warnings.empty()) {
    std::printf("%zu warnings:\n", r->warnings.size());
    for (const auto& w : r->warnings) std::printf("  warning: %s\n", w.c_str());
  }
  return Status::Ok();
}

Status RunTable(const TableArgs& a) {
  if (a.delimiter.size() != 1) {
    return Status::InvalidArgument("--delimiter must be a single character");
  }
  ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(a.out));
  store::TableIngestOptions opts;
  opts.name = a.name;
  opts.from = a.from;
  opts.replace = a.replace;
  opts.extra_null_strings = a.nulls;
  opts.delimiter = a.delimiter[0];
  Result<store::TableIngestReport> r = store::IngestTable(target.source(), opts);
  target.Finish(r.ok());
  if (!r.ok()) return r.status();
  std::printf("loaded table %s: %lld rows, %zu columns into %s\n", r->name.c_str(),
              static_cast<long long>(r->rows), r->columns.size(), a.out.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterIngestCommands(CLI::App& app, CliContext& ctx) {
  CLI::App* ingest = app.add_subcommand("ingest", "Load a site's data into a node database");
  ingest->require_subcommand(1);

  auto omop_args = std::make_shared<OmopArgs>();
  CLI::App* omop = ingest->add_subcommand(
      "omop", "Load an OMOP CDM 5.4 extract (folder or zip of CSV files) into typed CDM tables");
  omop->add_option("--from", omop_args->from, "Folder or .zip of CDM CSV files")->required();
  omop->add_option("--out", omop_args->out, "Database file (DuckDB), created if absent")
      ->required();
  omop->add_flag("--replace", omop_args->replace, "Replace a CDM already in the database");
  omop->callback([omop_args, &ctx] { ctx.status = RunOmop(*omop_args, ctx); });

  auto table_args = std::make_shared<TableArgs>();
  CLI::App* table = ingest->add_subcommand(
      "table", "Load a flat research table (CSV or Parquet); types inferred, empty = missing");
  table->add_option("--name", table_args->name, "Dataset (table) name")->required();
  table->add_option("--from", table_args->from, "CSV or Parquet file")->required();
  table->add_option("--out", table_args->out, "Database file (DuckDB), created if absent")
      ->required();
  table->add_option("--null", table_args->nulls, "A further value read as missing (e.g. NA)");
  table->add_option("--delimiter", table_args->delimiter, "CSV field delimiter")
      ->capture_default_str();
  table->add_flag("--replace", table_args->replace, "Replace a table of the same name");
  table->callback([table_args, &ctx] { ctx.status = RunTable(*table_args); });
}

}  // namespace passerelle::cli
