// passerelle demo: the newcomer's first run, end to end on generated data. It generates a French
// and a Québec synthetic OMOP CDM (src/omop/synth: each coded in its own vocabularies, mapped to
// the same standard concepts, with planted effects of known size), starts a federation on
// loopback (a hub and one node per site, TLS with an ephemeral PKI, the real protocol) and runs a
// real cross-border study: a cohort of adults with type 2 diabetes defined once in standard
// concepts and found by each node in its own data, Table 1 by jurisdiction, and the planted
// models — a logistic model of hospitalisation for heart failure (glm) and a Cox model of major
// cardiovascular events (cox) — compared with their true values. It prints a readable summary
// and writes the studies, results and report under --out.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "analysis/analysis.h"
#include "cli/commands.h"
#include "cli/demo_governance.h"
#include "common/files.h"
#include "common/log.h"
#include "omop/synth/synth.h"
#include "omop/synth/truth.h"
#include "sandbox/report.h"
#include "sandbox/sandbox.h"

namespace passerelle::cli {

// The studies: examples/cohorts/hhf_study.json (adults with type 2 diabetes on 2022-01-01, the
// planted effect (1) of docs/synthetic-data.md) and mace_study.json (adults 180 days into
// observation, effect (2)), embedded at build time (demo_studies.cc.in).
namespace demo_studies {
extern const std::string_view kHhfStudy;
extern const std::string_view kMaceStudy;
}  // namespace demo_studies

namespace {

using nlohmann::json;
namespace truth = omop::synth::truth;

struct DemoArgs {
  std::string out = "demo-out";
  // Persons per site. 20,000 gives about 1,500 adults with T2D in the logistic cohort and 29,000
  // adults in the Cox cohort over both sites, in a few seconds.
  int persons = 20000;
  uint64_t seed = 1;
};

// The demonstration data: one synthetic OMOP CDM per site (DuckDB files under `out`).
Result<std::vector<sandbox::SandboxNode>> GenerateDemoData(const std::filesystem::path& out,
                                                           int persons, uint64_t seed,
                                                           const CliContext& ctx) {
  struct Site {
    const char* name;
    const char* label;
    omop::synth::Profile profile;
    uint64_t seed;
  };
  const Site sites[] = {
      {"fr", "France: CIM-10, CIP13, CCAM codes", omop::synth::Profile::kFrance, seed},
      {"qc", "Québec: ICD-10-CA, ICD-9, DIN, CCI codes", omop::synth::Profile::kQuebec, seed + 1}};
  std::vector<sandbox::SandboxNode> nodes;
  for (const auto& s : sites) {
    auto db_path = out / fmt::format("{}.duckdb", s.name);
    Progress(ctx,
             fmt::format("[{}] generating {} synthetic persons ({})", s.name, persons, s.label));
    omop::synth::SynthOptions o;
    o.profile = s.profile;
    o.persons = persons;
    o.seed = s.seed;
    ASSIGN_OR_RETURN(omop::synth::SynthReport r,
                     omop::synth::GenerateSyntheticFile(o, {.out = db_path, .replace = true}));
    Progress(ctx, fmt::format("[{}] node database {}: OMOP CDM 5.4, {} clinical rows", s.name,
                              db_path.string(), r.rows));
    nodes.push_back({s.name, db_path, nullptr});
  }
  return nodes;
}

// The true coefficients of the planted models on the scale of the analysis tables (age in years,
// HbA1c in points, not centred): truth.h centres age at 65 (60) per decade and HbA1c at 7.
json LogisticTruth() {
  using H = truth::Hhf;
  return {{"(Intercept)", H::kIntercept - H::kAgePerDecade * 6.5 - H::kHba1cPerPoint * 7.0},
          {"age", H::kAgePerDecade / 10},
          {"female", H::kFemale},
          {"hba1c", H::kHba1cPerPoint},
          {"ckd", H::kCkd},
          {"sglt2", H::kSglt2}};
}

json CoxTruth() {
  using M = truth::Mace;
  return {{"age", M::kAgePerDecade / 10},
          {"male", M::kMale},
          {"t2d", M::kT2d},
          {"htn", M::kHtn},
          {"statin", M::kStatin}};
}

std::string Num(const json& v, int digits = 1) {
  if (!v.is_number()) return "*";
  return fmt::format("{:.{}f}", v.get<double>(), digits);
}

struct ModelCheck {
  int terms = 0;
  int covered = 0;
  std::string text;
  json rows = json::array();
};

// The fitted coefficients beside their true values: is each true value inside the 95% CI?
// `hazard` prints hazard ratios (Cox) instead of log-odds.
ModelCheck CompareWithTruth(const json& model, const json& truth_by_term, bool hazard) {
  ModelCheck c;
  c.text += fmt::format("  {:<12} {:>10} {:>10} {:>22}  {}\n", "term", hazard ? "true HR" : "true",
                        hazard ? "HR" : "estimate", "95% CI", "truth in CI");
  for (const auto& coef : model.value("coefficients", json::array())) {
    const std::string term = coef.value("term", "");
    if (!truth_by_term.contains(term)) continue;
    const double t = truth_by_term[term].get<double>();
    double est, lo, hi;
    if (hazard) {
      if (!coef["hazard_ratio"].is_number() || !coef["hr_ci_low"].is_number()) continue;
      est = coef["hazard_ratio"].get<double>();
      lo = coef["hr_ci_low"].get<double>();
      hi = coef["hr_ci_high"].get<double>();
    } else {
      if (!coef["estimate"].is_number() || !coef["ci_low"].is_number()) continue;
      est = coef["estimate"].get<double>();
      lo = coef["ci_low"].get<double>();
      hi = coef["ci_high"].get<double>();
    }
    const double shown_truth = hazard ? std::exp(t) : t;
    const bool in = lo <= shown_truth && shown_truth <= hi;
    ++c.terms;
    c.covered += in ? 1 : 0;
    c.text += fmt::format("  {:<12} {:>10.4f} {:>10.4f}   [{:>8.4f}, {:>8.4f}]  {}\n", term,
                          shown_truth, est, lo, hi, in ? "yes" : "NO");
    c.rows.push_back({{"term", term},
                      {"scale", hazard ? "hazard_ratio" : "log_odds"},
                      {"truth", shown_truth},
                      {"estimate", est},
                      {"ci_low", lo},
                      {"ci_high", hi},
                      {"covered", in}});
  }
  return c;
}

Status RunDemo(const DemoArgs& a, const CliContext& ctx) {
  if (a.persons < 100 || a.persons > 10'000'000) {
    return Status::InvalidArgument("--persons must be between 100 and 10000000");
  }
  const auto start = std::chrono::steady_clock::now();
  std::filesystem::path out = a.out;
  std::error_code ec;
  std::filesystem::create_directories(out / "results", ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot create folder: {}", a.out, ec.message()));
  ASSIGN_OR_RETURN(auto nodes, GenerateDemoData(out, a.persons, a.seed, ctx));
  const double data_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The models run when this build registers them (glm and cox); the rest runs regardless.
  const analysis::Registry& registry = analysis::BuiltinRegistry();
  std::vector<std::string> missing;
  // Each example study runs as two: its descriptive analyses, and its model. A node may refuse a
  // model (e.g. too few events at a small --persons: rule binomial_min_cell), which fails that
  // study only; Table 1 still comes back.
  struct Study {
    std::string key;
    json definition;
    bool model = false;
    std::string id;
    json result;         // set when completed
    std::string failed;  // why, when the study failed
  };
  std::vector<Study> studies;
  for (auto [key, text] : {std::pair{"t2d_hhf", demo_studies::kHhfStudy},
                           std::pair{"mace", demo_studies::kMaceStudy}}) {
    json def = json::parse(text);
    RETURN_IF_ERROR(WriteFileAtomic(out / fmt::format("{}_study.json", key), def.dump(2) + "\n"));
    json descriptive = json::array(), model = json::array();
    for (const auto& an : def["analyses"]) {
      const std::string type = an["type"].get<std::string>();
      if (!registry.Find(type)) {
        missing.push_back(type);
      } else if (type == "glm" || type == "cox" || type == "km") {
        model.push_back(an);
      } else {
        descriptive.push_back(an);
      }
    }
    def["analyses"] = std::move(descriptive);
    studies.push_back({key, def, false, "", json(), ""});
    if (!model.empty()) {
      def["analyses"] = std::move(model);
      def["name"] = def["name"].get<std::string>() + " (model)";
      studies.push_back({std::string(key) + "_model", std::move(def), true, "", json(), ""});
    }
  }

  Progress(ctx,
           "starting a federation on loopback: a hub and the nodes fr and qc (TLS 1.3, "
           "mutual authentication, ephemeral PKI)");
  if (!log::Enabled(log::Level::kDebug)) log::Init({.level = log::Level::kError});
  sandbox::FederationOptions opts;
  opts.work_dir = out / "federation";
  opts.policy.analyses = registry.Types();
  std::filesystem::remove_all(opts.work_dir, ec);
  const auto fed_start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto fed, sandbox::LocalFederation::Start(opts, nodes));

  // The governance lifecycle (call, application, jurisdiction approvals, node approvals) of the
  // sandbox's rehearsal project, before the studies are submitted.
  PrintDemoGovernance(*fed, ctx);

  for (auto& s : studies) {
    ASSIGN_OR_RETURN(s.id, fed->Submit(s.definition));
    Progress(ctx,
             fmt::format("submitted study {} \"{}\" ({} analyses)", s.id,
                         s.definition["name"].get<std::string>(), s.definition["analyses"].size()));
  }
  json statuses = json::object();
  for (auto& s : studies) {
    auto r = fed->Wait(s.id, std::chrono::minutes(5));
    if (r.ok()) {
      s.result = std::move(r).value();
    } else if (s.model && r.status().code() == StatusCode::kFailedPrecondition) {
      s.failed = r.status().message();
    } else {
      return r.status();
    }
    ASSIGN_OR_RETURN(statuses[s.key], fed->StudyStatus(s.id));
  }
  RETURN_IF_ERROR(CheckDemoAudit(*fed, ctx));
  fed->Stop();
  const double fed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fed_start).count();

  std::string report;
  auto find = [&](const std::string& key) -> const Study* {
    for (const auto& st : studies) {
      if (st.key == key) return &st;
    }
    return nullptr;
  };
  const json& hhf = find("t2d_hhf")->result["analyses"];
  const json& mace = find("mace")->result["analyses"];
  report += fmt::format(
      "Cross-border study on synthetic data: {} persons per site, France (fr) and Québec (qc).\n"
      "One cohort definition in standard OMOP concepts; each node found it in its own coding.\n",
      a.persons);
  report +=
      sandbox::Table1ToText(hhf["table1"],
                            "Table 1. Adults with type 2 diabetes on 2022-01-01, by jurisdiction "
                            "(hhf: hospitalised for heart failure within a year)");
  report += sandbox::Table1ToText(
      mace["table1"],
      "Table 1b. Adults 180 days into observation, by jurisdiction (mace_event: "
      "a first major cardiovascular event during follow-up)");
  int terms = 0, covered = 0;
  json models = json::object();
  struct ModelView {
    const char* study;
    const char* id;
    const char* title;
    bool hazard;
  };
  for (const ModelView& v :
       {ModelView{"t2d_hhf_model", "hhf_logistic",
                  "Logistic model of hospitalisation for heart failure within a year (glm "
                  "binomial, both sites pooled without moving a row",
                  false},
        ModelView{"mace_model", "mace_cox",
                  "Cox model of the first major cardiovascular event, stratified by jurisdiction",
                  true}}) {
    const Study* st = find(v.study);
    if (st == nullptr) continue;  // not registered in this build
    if (!st->failed.empty()) {
      report +=
          fmt::format("\n{}{}: not released.\n  {}\n", v.title, v.hazard ? "" : ")", st->failed);
      continue;
    }
    const json& m = st->result["analyses"][v.id];
    ModelCheck c = CompareWithTruth(m, v.hazard ? CoxTruth() : LogisticTruth(), v.hazard);
    report +=
        v.hazard
            ? fmt::format("\n{} (n = {}, {} events)\n{}", v.title, Num(m.value("n", json()), 0),
                          Num(m.value("events", json()), 0), c.text)
            : fmt::format("\n{}: n = {}, {} iterations)\n{}", v.title, Num(m.value("n", json()), 0),
                          Num(m.value("iterations", json()), 0), c.text);
    terms += c.terms;
    covered += c.covered;
    models[v.id] = c.rows;
  }
  if (terms > 0) {
    report += fmt::format(
        "\nPlanted effects (docs/synthetic-data.md): {} of {} true values inside the 95% "
        "confidence intervals{}.\n",
        covered, terms,
        covered == terms ? "" : " (about 1 in 20 falls outside by chance; try another --seed)");
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    report += fmt::format("\nNot run: {} (not in this build's analysis registry).\n", names);
  }
  std::string rounds;
  for (const auto& s : studies) {
    rounds += fmt::format("{}{}: {} rounds", rounds.empty() ? "" : ", ", s.key,
                          statuses[s.key]["rounds"].size());
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report += fmt::format(
      "\nOnly aggregates left each site, after that site's checks (min_cell {}, min_rows {});\n"
      "the hub combined sums and never saw a row. Data generation {:.1f} s; federation {:.1f} s "
      "({}); total {:.1f} s.\n",
      opts.policy.min_cell, opts.policy.min_rows, data_s, fed_s, rounds, total_s);

  for (const auto& s : studies) {
    if (!s.failed.empty()) continue;
    RETURN_IF_ERROR(
        WriteFileAtomic(out / "results" / fmt::format("{}.json", s.key), s.result.dump(2) + "\n"));
    RETURN_IF_ERROR(WriteFileAtomic(out / "results" / fmt::format("{}.csv", s.key),
                                    sandbox::ResultToCsv(s.result)));
  }
  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "status.json", statuses.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "models.json", models.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomic(out / "results" / "report.txt", report));
  std::printf("%s", report.c_str());
  std::printf(
      "\nWritten under %s/: the study files t2d_hhf_study.json and mace_study.json; results/ with\n"
      "t2d_hhf.json, t2d_hhf_model.json, mace.json, mace_model.json (and .csv), models.json,\n"
      "report.txt, status.json; the node databases fr.duckdb and qc.duckdb; the hub state in\n"
      "federation/.\n"
      "Next: passerelle sandbox --study %s/t2d_hhf_study.json --node fr=%s/fr.duckdb --node "
      "qc=%s/qc.duckdb\n",
      a.out.c_str(), a.out.c_str(), a.out.c_str(), a.out.c_str());
  return Status::Ok();
}

}  // namespace

void RegisterDemoCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo", "A first run on generated data: a France-Québec OMOP study, end to end");
  demo->add_option("--out", args->out, "Folder for the demo's databases and results")
      ->capture_default_str();
  demo->add_option("--persons", args->persons, "Synthetic persons per site")->capture_default_str();
  demo->add_option("--seed", args->seed, "Seed of the synthetic populations")
      ->capture_default_str();
  demo->callback([args, &ctx] { ctx.status = RunDemo(*args, ctx); });
}

}  // namespace passerelle::cli
