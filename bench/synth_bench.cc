// synth_bench: how fast `passerelle synth` writes a synthetic population, and at what memory.
//
// Measures, in one run:
//   synth        GenerateSyntheticFile for N persons (default 1,000,000) into a DuckDB file:
//                wall time, persons/s, rows/s, peak RSS (getrusage ru_maxrss, taken right after
//                it, before anything else runs).
//   baseline A   DuckDB alone writing a person table of N rows with the CDM person columns
//                (CREATE TABLE AS SELECT ... FROM range(N)) into a file: the floor of storage.
//   baseline B   the generator alone (no storage) on min(N, 200000) persons: persons/s.
// and prints the ratios. The target: 1M persons in <= 60 s with peak RSS < 2 GB.
//
// Usage: synth_bench [--persons N] [--profile fr|qc] [--quick]   (--quick = 100000 persons)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/files.h"
#include "omop/synth/batch.h"
#include "omop/synth/generator.h"
#include "omop/synth/synth.h"
#include "store/duckdb_source.h"

using namespace passerelle;
using omop::synth::Profile;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // ru_maxrss is in kB on Linux
}

int Fail(const Status& s) {
  std::fprintf(stderr, "synth_bench: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t persons = 1'000'000;
  Profile profile = Profile::kFrance;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      persons = 100'000;
    } else if (std::strcmp(argv[i], "--persons") == 0 && i + 1 < argc) {
      persons = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
      auto p = omop::synth::ParseProfile(argv[++i]);
      if (!p.ok()) return Fail(p.status());
      profile = *p;
    } else {
      std::fprintf(stderr, "usage: synth_bench [--persons N] [--profile fr|qc] [--quick]\n");
      return 2;
    }
  }
  auto dir = TempDir::Create("synth-bench");
  if (!dir.ok()) return Fail(dir.status());

  // The measured run.
  omop::synth::SynthOptions opts;
  opts.profile = profile;
  opts.persons = persons;
  opts.seed = 1;
  const auto out = dir->path() / "synth.duckdb";
  auto t0 = std::chrono::steady_clock::now();
  auto report = omop::synth::GenerateSyntheticFile(opts, {.out = out});
  const double synth_s = Seconds(t0);
  const double peak_mb = PeakRssMb();
  if (!report.ok()) return Fail(report.status());
  const double file_mb = std::filesystem::file_size(out) / 1048576.0;

  // Baseline A: DuckDB writing the person table alone.
  double ctas_s = 0;
  {
    const auto path = dir->path() / "baseline.duckdb";
    auto t1 = std::chrono::steady_clock::now();
    auto db = store::OpenDuckDb({.path = path.string(), .threads = 2, .memory_limit = "1GB"});
    if (!db.ok()) return Fail(db.status());
    Status st = (*db)->Execute(
        "CREATE TABLE person AS SELECT i + 1 AS person_id, CASE WHEN i % 2 = 0 THEN 8507 ELSE "
        "8532 END AS gender_concept_id, 1920 + (i * 7919) % 100 AS year_of_birth, "
        "1 + i % 12 AS month_of_birth, 1 + i % 28 AS day_of_birth, NULL::TIMESTAMP AS "
        "birth_datetime, 0 AS race_concept_id, 0 AS ethnicity_concept_id, NULL::BIGINT AS "
        "location_id, NULL::BIGINT AS provider_id, NULL::BIGINT AS care_site_id, NULL::VARCHAR "
        "AS person_source_value, CASE WHEN i % 2 = 0 THEN '1' ELSE '2' END AS "
        "gender_source_value, NULL::BIGINT AS gender_source_concept_id, NULL::VARCHAR AS "
        "race_source_value, NULL::BIGINT AS race_source_concept_id, NULL::VARCHAR AS "
        "ethnicity_source_value, NULL::BIGINT AS ethnicity_source_concept_id FROM range(" +
        std::to_string(persons) + ") t(i)");
    if (!st.ok()) return Fail(st);
    st = (*db)->Execute("CHECKPOINT");
    if (!st.ok()) return Fail(st);
    db->reset();
    ctas_s = Seconds(t1);
  }

  // Baseline B: the generator alone, no storage.
  const int64_t gen_persons = std::min<int64_t>(persons, 200'000);
  double gen_s = 0;
  int64_t gen_rows = 0;
  {
    omop::synth::Generator gen(opts);
    omop::synth::Batch batch;
    omop::synth::GenStats stats;
    auto t2 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < gen_persons; ++i) {
      gen.Generate(i, batch, stats);
      if ((i + 1) % 2048 == 0 || i + 1 == gen_persons) {
        for (int t = 0; t < omop::synth::kNumTables; ++t) {
          gen_rows += batch.rows(static_cast<omop::synth::TableId>(t));
        }
        batch.Clear();
      }
    }
    gen_s = Seconds(t2);
  }

  const auto& r = *report;
  std::printf("synth_bench: profile %s, %lld persons, seed 1\n",
              std::string(omop::synth::ProfileName(profile)).c_str(),
              static_cast<long long>(persons));
  std::printf(
      "  synth (generate + DuckDB file):   %8.2f s  %10.0f persons/s  %10.0f rows/s  "
      "%lld rows  %.0f MB file\n",
      synth_s, persons / synth_s, r.rows / synth_s, static_cast<long long>(r.rows), file_mb);
  std::printf("  cpu: appending thread %.1f s, generator threads %.1f s, total %.1f s\n",
              r.cpu_append_seconds, r.cpu_generate_seconds,
              r.cpu_append_seconds + r.cpu_generate_seconds);
  std::printf("  idle 2-core estimate max(append, total/2): %.1f s\n",
              std::max(r.cpu_append_seconds, (r.cpu_append_seconds + r.cpu_generate_seconds) / 2));
  std::printf("  peak RSS during synth:            %8.0f MB (target < 2048 MB)\n", peak_mb);
  std::printf("  baseline A, DuckDB CTAS person:   %8.2f s  %10.0f rows/s\n", ctas_s,
              persons / ctas_s);
  std::printf(
      "  baseline B, generator alone:      %8.2f s  %10.0f persons/s on %lld persons "
      "(%lld rows)\n",
      gen_s, gen_persons / gen_s, static_cast<long long>(gen_persons),
      static_cast<long long>(gen_rows));
  std::printf("  ratio synth / baseline A:         %8.1fx\n", synth_s / ctas_s);
  std::printf("  ratio synth / baseline B (per person): %5.1fx\n",
              (synth_s / persons) / (gen_s / gen_persons));
  if (persons == 1'000'000) {
    std::printf("  target 1M persons <= 60 s:        %s (%.1f s)\n",
                synth_s <= 60 ? "met" : "NOT met", synth_s);
  }
  return 0;
}
