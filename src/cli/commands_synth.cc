// passerelle synth: writes a synthetic French or Québec population as an OMOP CDM 5.4 database
// (src/omop/synth/synth.h), with a progress bar on a terminal and a summary at the end.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/date.h"
#include "omop/synth/synth.h"

namespace passerelle::cli {
namespace {

struct SynthArgs {
  std::string profile;
  int64_t persons = 0;
  uint64_t seed = 1;
  std::string out;
  std::string start = "2015-01-01";
  std::string end = "2024-12-31";
  bool replace = false;
  bool eras = false;
  int threads = 0;
};

// A one-line progress bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void Update(int64_t done, int64_t total) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const int width = 30;
    int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r[%s%s] %3d%% %lld/%lld persons %.1f s",
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 total > 0 ? static_cast<int>(100 * done / total) : 100,
                 static_cast<long long>(done), static_cast<long long>(total), secs);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

Status RunSynth(const SynthArgs& a, const CliContext& ctx) {
  omop::synth::SynthOptions opts;
  ASSIGN_OR_RETURN(opts.profile, omop::synth::ParseProfile(a.profile));
  opts.persons = a.persons;
  opts.seed = a.seed;
  opts.threads = a.threads;
  opts.eras = a.eras;
  Result<int32_t> start = ParseDate(a.start);
  if (!start.ok()) return Status::InvalidArgument("--start: " + start.status().message());
  Result<int32_t> end = ParseDate(a.end);
  if (!end.ok()) return Status::InvalidArgument("--end: " + end.status().message());
  opts.start_date = *start;
  opts.end_date = *end;
  RETURN_IF_ERROR(omop::synth::ValidateOptions(opts));
  ProgressBar bar(!ctx.quiet && isatty(fileno(stderr)) != 0);
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(omop::synth::SynthReport r,
                   omop::synth::GenerateSyntheticFile(
                       opts, {.out = a.out, .replace = a.replace},
                       [&bar](int64_t done, int64_t total) { bar.Update(done, total); }));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: synthetic %s population, %lld persons, seed %llu, %s to %s\n",
              a.out.c_str(), opts.profile == omop::synth::Profile::kFrance ? "French" : "Québec",
              static_cast<long long>(r.persons), static_cast<unsigned long long>(r.seed),
              a.start.c_str(), a.end.c_str());
  std::printf("  %lld clinical rows in %zu tables, plus the vocabulary subset:\n",
              static_cast<long long>(r.rows), r.tables.size());
  for (const auto& [table, rows] : r.tables) {
    std::printf("    %-22s %12lld\n", table.c_str(), static_cast<long long>(rows));
  }
  std::printf("  deaths: %lld\n", static_cast<long long>(r.deaths));
  if (r.effects_planted) {
    std::printf(
        "  planted effects (docs/synthetic-data.md): heart-failure index date %s, cohort %lld "
        "adults with type 2 diabetes, %lld on an SGLT2 inhibitor, %lld hospitalised within a "
        "year\n",
        FormatDate(r.hhf_index_date).c_str(), static_cast<long long>(r.hhf_cohort),
        static_cast<long long>(r.hhf_sglt2), static_cast<long long>(r.hhf_events));
  } else {
    std::printf("  effects (1) and (3) not planted: the window needs a full year around %s\n",
                FormatDate(r.hhf_index_date).c_str());
  }
  std::printf("  %.1f s, %.0f persons/s (cpu: %.1f s appending, %.1f s generating)\n", secs,
              secs > 0 ? r.persons / secs : 0.0, r.cpu_append_seconds, r.cpu_generate_seconds);
  return Status::Ok();
}

}  // namespace

void RegisterSynthCommand(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<SynthArgs>();
  CLI::App* synth = app.add_subcommand(
      "synth", "Generate a synthetic French or Québec population as an OMOP CDM 5.4 database");
  synth->add_option("--profile", args->profile, "fr (France) or qc (Québec)")->required();
  synth->add_option("--persons", args->persons, "Persons to generate (1 to 100000000)")->required();
  synth->add_option("--seed", args->seed, "Random seed; the same seed gives the same data")
      ->capture_default_str();
  synth->add_option("--out", args->out, "DuckDB file to create")->required();
  synth->add_option("--start", args->start, "First day of the observation window (YYYY-MM-DD)")
      ->capture_default_str();
  synth->add_option("--end", args->end, "Last day of the observation window (YYYY-MM-DD)")
      ->capture_default_str();
  synth->add_flag("--replace", args->replace, "Overwrite the output file if it exists");
  synth->add_flag("--eras", args->eras, "Also fill condition_era and drug_era");
  synth->add_option("--threads", args->threads, "Generator threads (0 = one per core)")
      ->capture_default_str();
  synth->callback([args, &ctx] { ctx.status = RunSynth(*args, ctx); });
}

}  // namespace passerelle::cli
