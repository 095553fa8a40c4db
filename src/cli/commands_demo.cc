// passerelle demo: the newcomer's first run, end to end on generated data. It generates a French
// and a Québec population (flat cohort tables for now: GenerateDemoData is the one place to
// switch to the synthetic OMOP generator), starts a federation on loopback (a hub and one node
// per site, TLS with an ephemeral PKI, the real protocol), runs a demonstration study, prints a
// readable summary and writes the study and its results under --out.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/demo_governance.h"
#include "common/files.h"
#include "common/log.h"
#include "sandbox/report.h"
#include "sandbox/sandbox.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"
#include "store/ingest_target.h"

namespace passerelle::cli {
namespace {

using nlohmann::json;

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
      "COPY (SELECT i AS id, GENDER, AGE, "
      "CASE WHEN AGE < 40 THEN '18-39' WHEN AGE < 60 THEN '40-59' ELSE '60+' END AS AGE_GROUP, "
      "CASE WHEN random() < 0.05 THEN NULL ELSE round(4.0 + 0.02 * AGE + 1.5 * random(), 2) END "
      "AS LAB_TSC, round(18 + 17 * random(), 1) AS PM_BMI_CONTINUOUS, "
      "CAST(random() < {} + 0.002 * (AGE - 20) AS INTEGER) AS DIS_DIAB FROM ("
      "SELECT i, CAST(random() < 0.5 AS INTEGER) AS GENDER, round(20 + 60 * random(), 1) AS AGE "
      "FROM range({}) t(i))) TO '{}' (HEADER, DELIMITER ',')",
      0.02 + diab_shift, persons, csv.string()));
}

// The demonstration data: one node database per site, each holding the flat table "cohort".
// Returns the sandbox nodes. (The synthetic OMOP generator replaces this function later.)
Result<std::vector<sandbox::SandboxNode>> GenerateDemoData(const std::filesystem::path& out,
                                                           int persons, const CliContext& ctx) {
  struct Site {
    const char* name;
    const char* label;
    double seed, shift;
  };
  const Site sites[] = {{"fr", "France", 0.25, 0.0}, {"qc", "Québec", 0.75, 0.03}};
  std::vector<sandbox::SandboxNode> nodes;
  for (const auto& s : sites) {
    auto csv = out / fmt::format("{}-cohort.csv", s.name);
    auto db_path = out / fmt::format("{}.duckdb", s.name);
    std::error_code ec;
    std::filesystem::remove(db_path, ec);
    std::filesystem::remove(db_path.string() + ".wal", ec);
    Progress(ctx, fmt::format("[{}] generating {} synthetic participants ({})", s.name, persons,
                              s.label));
    RETURN_IF_ERROR(WriteCohortCsv(csv, persons, s.seed, s.shift));
    ASSIGN_OR_RETURN(store::IngestTarget target, store::IngestTarget::Open(db_path));
    auto r = store::IngestTable(target.source(), {.name = "cohort", .from = csv});
    target.Finish(r.ok());
    if (!r.ok()) return r.status();
    Progress(ctx, fmt::format("[{}] node database {} holds table cohort ({} rows)", s.name,
                              db_path.string(), r->rows));
    nodes.push_back({s.name, db_path, nullptr});
  }
  return nodes;
}

const char* kDemoStudy = R"({
  "name": "demo-fr-qc-descriptives",
  "description": "Descriptive statistics of a French and a Quebec cohort, pooled without moving a row.",
  "dataset": "cohort",
  "analyses": [
    {"id": "participants", "type": "count"},
    {"id": "measures", "type": "summary", "variables": ["AGE", "LAB_TSC", "PM_BMI_CONTINUOUS"]},
    {"id": "diabetes_by_sex", "type": "table", "rows": "GENDER", "cols": "DIS_DIAB"},
    {"id": "diabetes_by_age", "type": "table", "rows": "AGE_GROUP", "cols": "DIS_DIAB"}
  ]
})";

Status RunDemo(const DemoArgs& a, const CliContext& ctx) {
  if (a.persons < 10 || a.persons > 10'000'000) {
    return Status::InvalidArgument("--persons must be between 10 and 10000000");
  }
  const auto start = std::chrono::steady_clock::now();
  std::filesystem::path out = a.out;
  std::error_code ec;
  std::filesystem::create_directories(out / "results", ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot create folder: {}", a.out, ec.message()));
  ASSIGN_OR_RETURN(auto nodes, GenerateDemoData(out, a.persons, ctx));

  json study = json::parse(kDemoStudy);
  RETURN_IF_ERROR(WriteFileAtomic(out / "study.json", study.dump(2) + "\n"));
  Progress(ctx,
           "starting a federation on loopback: a hub and the nodes fr and qc (TLS 1.3, "
           "mutual authentication, ephemeral PKI)");
  if (!log::Enabled(log::Level::kDebug)) log::Init({.level = log::Level::kWarn});
  sandbox::FederationOptions opts;
  opts.work_dir = out / "federation";
  std::filesystem::remove_all(opts.work_dir, ec);
  const auto fed_start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto fed, sandbox::LocalFederation::Start(opts, nodes));
  PrintDemoGovernance(*fed, ctx);
  ASSIGN_OR_RETURN(std::string id, fed->Submit(study));
  Progress(ctx, fmt::format("submitted study {} ({} analyses)", id, study["analyses"].size()));
  ASSIGN_OR_RETURN(json result, fed->Wait(id, std::chrono::minutes(5)));
  ASSIGN_OR_RETURN(json status, fed->StudyStatus(id));
  RETURN_IF_ERROR(CheckDemoAudit(*fed, ctx));
  fed->Stop();
  const double fed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fed_start).count();

  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "result.json", result.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "result.csv", sandbox::ResultToCsv(result)));
  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "status.json", status.dump(2) + "\n"));

  std::printf("%s", sandbox::ResultToText(result).c_str());
  std::string rounds;
  for (const auto& r : status["rounds"]) {
    rounds += fmt::format("{}round {}: {:.1f} ms", rounds.empty() ? "" : ", ",
                          r["round"].get<int>(), r.value("latency_ms", 0.0));
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "\nOnly aggregates left each site, after that site's checks (min_cell %lld, min_rows %lld);"
      "\nthe hub combined sums and never saw a row. Federation: %.2f s (%s); total %.1f s.\n"
      "\nWritten under %s/: study.json, results/result.json, results/result.csv, "
      "results/status.json,\nthe node databases fr.duckdb and qc.duckdb, and the hub state in "
      "federation/.\n"
      "Next: passerelle sandbox --study %s/study.json --node fr=%s/fr.duckdb --node "
      "qc=%s/qc.duckdb\n",
      static_cast<long long>(opts.policy.min_cell), static_cast<long long>(opts.policy.min_rows),
      fed_s, rounds.c_str(), total_s, a.out.c_str(), a.out.c_str(), a.out.c_str(), a.out.c_str());
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
