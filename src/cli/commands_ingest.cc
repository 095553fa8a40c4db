// passerelle ingest omop | table
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <memory>

#include "cli/commands.h"
#include "common/date.h"
#include "omop/ingest.h"
#include "privacy/pseudonymize.h"
#include "store/ingest_table.h"
#include "store/ingest_target.h"

namespace passerelle::cli {
namespace {

// --pseudonymize KEYFILE and its companions (privacy/pseudonymize.h).
struct PseudonymArgs {
  std::string keyfile;
  int32_t shift_days = 0;
  std::vector<std::string> id_columns, drop_columns;
};

struct OmopArgs {
  std::string from, out;
  bool replace = false;
  PseudonymArgs pseudonym;
};

struct TableArgs {
  std::string name, from, out, delimiter = ",";
  std::vector<std::string> nulls;
  bool replace = false;
  PseudonymArgs pseudonym;
};

// The column rewrite for --pseudonymize, or an empty one without it.
Result<store::ColumnRewrite> MakeRewrite(const PseudonymArgs& p, bool omop) {
  if (p.keyfile.empty()) {
    if (p.shift_days != 0 || !p.id_columns.empty() || !p.drop_columns.empty()) {
      return Status::InvalidArgument(
          "--shift-dates, --id-columns and --drop-columns need --pseudonymize KEYFILE");
    }
    return store::ColumnRewrite{};
  }
  ASSIGN_OR_RETURN(privacy::SiteKey key, privacy::ReadSiteKeyFile(p.keyfile));
  privacy::PseudonymizeOptions o;
  o.shift_dates_max_days = p.shift_days;
  o.id_columns = p.id_columns;
  o.drop_columns = p.drop_columns;
  Result<privacy::Pseudonymizer> made =
      omop ? privacy::Pseudonymizer::ForOmop(key, o) : privacy::Pseudonymizer::ForTable(key, o);
  if (!made.ok()) return made.status();
  auto ps = std::make_shared<privacy::Pseudonymizer>(std::move(made).value());
  return store::ColumnRewrite(
      [ps](std::string_view table,
           const std::vector<store::IngestColumn>& cols) -> Result<std::vector<std::string>> {
        std::vector<privacy::RewriteColumn> in;
        for (const auto& c : cols) in.push_back({c.name, c.expr, c.sql_type});
        return ps->RewriteColumns(table, in);
      });
}

void AddPseudonymOptions(CLI::App* cmd, PseudonymArgs& p, bool table) {
  cmd->add_option("--pseudonymize", p.keyfile,
                  "Site key file (from `passerelle pseudonymize keygen`): replace source "
                  "identifiers by keyed hashes and drop free text before anything is stored");
  cmd->add_option("--shift-dates", p.shift_days,
                  "With --pseudonymize: shift each person's dates by the same random number of "
                  "days, at most DAYS either way");
  if (table) {
    cmd->add_option("--id-columns", p.id_columns,
                    "With --pseudonymize: identifier columns to replace (comma-separated; the "
                    "first names the person for --shift-dates)")
        ->delimiter(',');
    cmd->add_option("--drop-columns", p.drop_columns,
                    "With --pseudonymize: free-text columns to store empty (comma-separated)")
        ->delimiter(',');
  }
}

std::string PseudonymNote(const PseudonymArgs& p) {
  if (p.keyfile.empty()) return "";
  std::string note = "; identifiers pseudonymised, free text dropped";
  if (p.shift_days > 0) note += fmt::format(", dates shifted by up to {} days", p.shift_days);
  return note;
}

Status RunOmop(const OmopArgs& a, const CliContext& ctx) {
  // The key is checked before the database is touched.
  ASSIGN_OR_RETURN(store::ColumnRewrite rewrite, MakeRewrite(a.pseudonym, /*omop=*/true));
  ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(a.out));
  omop::OmopIngestOptions opts;
  opts.from = a.from;
  opts.replace = a.replace;
  opts.progress = [&](std::string_view line) { Progress(ctx, fmt::format("  {}", line)); };
  opts.rewrite = std::move(rewrite);
  Result<omop::OmopIngestReport> r = omop::IngestOmop(target.source(), opts);
  target.Finish(r.ok());
  if (!r.ok()) return r.status();
  int64_t rows = 0;
  for (const auto& t : r->tables) rows += t.rows;
  std::string range = r->first_date ? fmt::format(", observed {} to {}", FormatDate(*r->first_date),
                                                  FormatDate(*r->last_date))
                                    : "";
  std::printf("loaded %zu CDM tables, %lld rows, %lld persons%s into %s%s\n", r->tables.size(),
              static_cast<long long>(rows), static_cast<long long>(r->persons), range.c_str(),
              a.out.c_str(), PseudonymNote(a.pseudonym).c_str());
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
  ASSIGN_OR_RETURN(store::ColumnRewrite rewrite, MakeRewrite(a.pseudonym, /*omop=*/false));
  ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(a.out));
  store::TableIngestOptions opts;
  opts.name = a.name;
  opts.from = a.from;
  opts.replace = a.replace;
  opts.extra_null_strings = a.nulls;
  opts.delimiter = a.delimiter[0];
  opts.rewrite = std::move(rewrite);
  Result<store::TableIngestReport> r = store::IngestTable(target.source(), opts);
  target.Finish(r.ok());
  if (!r.ok()) return r.status();
  std::printf("loaded table %s: %lld rows, %zu columns into %s%s\n", r->name.c_str(),
              static_cast<long long>(r->rows), r->columns.size(), a.out.c_str(),
              PseudonymNote(a.pseudonym).c_str());
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
  AddPseudonymOptions(omop, omop_args->pseudonym, /*table=*/false);
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
  AddPseudonymOptions(table, table_args->pseudonym, /*table=*/true);
  table->callback([table_args, &ctx] { ctx.status = RunTable(*table_args); });
}

}  // namespace passerelle::cli
