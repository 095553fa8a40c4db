// passerelle demo: the newcomer's first run. For now (before the federation exists) it shows the
// data path of a site: it writes a French and a Québec flat cohort-study table as CSV, ingests each
// into its own node database exactly as a site would, and prints what each database holds.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "omop/db_info.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"
#include "store/ingest_target.h"

namespace passerelle::cli {
namespace {

struct DemoArgs {
  std::string out = "demo-out";
  int persons = 5000;
};

// Writes a seeded synthetic cohort table (one row per participant) as CSV with DuckDB.
Status WriteCohortCsv(const std::filesystem::path& csv, int persons, double seed,
                      double diab_shift) {
  ASSIGN_OR_RETURN(auto db, store::OpenDuckDb({}));
  RETURN_IF_ERROR(db->Execute(fmt::format("SELECT setseed({})", seed)));
  return db->Execute(fmt::format(
      "COPY (SELECT i AS id, CAST(random() < 0.5 AS INTEGER) AS GENDER, "
      "round(20 + 60 * random(), 1) AS AGE, round(4.5 + 2.5 * random() + 0.5 * random(), 2) AS "
      "LAB_TSC, round(18 + 17 * random(), 1) AS PM_BMI_CONTINUOUS, "
      "CAST(random() < {} AS INTEGER) AS DIS_DIAB FROM range({}) t(i)) TO '{}' (HEADER, DELIMITER "
      "',')",
      0.08 + diab_shift, persons, csv.string()));
}

Status RunDemo(const DemoArgs& a, const CliContext& ctx) {
  if (a.persons < 10 || a.persons > 10'000'000) {
    return Status::InvalidArgument("--persons must be between 10 and 10000000");
  }
  std::filesystem::path out = a.out;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot create folder: {}", a.out, ec.message()));
  struct Site {
    const char* name;
    double seed, shift;
  };
  const Site sites[] = {{"fr", 0.25, 0.0}, {"qc", 0.75, 0.03}};
  for (const auto& s : sites) {
    auto csv = out / fmt::format("{}-cohort.csv", s.name);
    auto db_path = out / fmt::format("{}.duckdb", s.name);
    std::filesystem::remove(db_path, ec);
    Progress(ctx, fmt::format("[{}] writing {} synthetic participants to {}", s.name, a.persons,
                              csv.string()));
    RETURN_IF_ERROR(WriteCohortCsv(csv, a.persons, s.seed, s.shift));
    Progress(ctx, fmt::format("[{}] ingesting into {}", s.name, db_path.string()));
    ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(db_path));
    store::TableIngestOptions opts;
    opts.name = "cohort";
    opts.from = csv;
    auto r = store::IngestTable(target.source(), opts);
    if (!r.ok()) {
      target.Finish(false);
      return r.status();
    }
    ASSIGN_OR_RETURN(omop::DbInfo info, omop::ReadDbInfo(target.source()));
    target.Finish(true);
    std::printf("%s", omop::DbInfoToText(info, db_path.string()).c_str());
  }
  std::printf(
      "\nEach site's data now sits in its own node database under %s.\n"
      "Next: passerelle db info %s/fr.duckdb --json\n",
      a.out.c_str(), a.out.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterDemoCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "A first run on generated data, end to end");
  demo->add_option("--out", args->out, "Folder for the demo's databases and results")
      ->capture_default_str();
  demo->add_option("--persons", args->persons, "Participants per site")->capture_default_str();
  demo->callback([args, &ctx] { ctx.status = RunDemo(*args, ctx); });
}

}  // namespace passerelle::cli
