// Synthetic French and Québec populations in OMOP CDM 5.4, with known ground truth: the front
// door of src/omop/synth.
//
// GenerateSynthetic writes a complete CDM into an empty database: the 39 CDM tables, the
// vocabulary subset (omop/vocabulary.h), and one synthetic population coded as its jurisdiction
// codes it (France: CIM-10 diagnoses, CIP13 drugs, CCAM procedures; Québec: ICD-9-CM physician
// billing, ICD-10-CA hospital diagnoses, DIN drugs, CCI procedures), with the effects of
// truth.h planted in it. docs/synthetic-data.md describes the model and its true parameters.
//
// Determinism: each person is generated from its own random stream, seeded from (seed, person
// index), and ids are assigned in person order, so the same options give the same rows whatever
// the number of threads or the chunk size.
//
// Thread-safety: GenerateSynthetic uses `options.threads` worker threads internally and the
// DataSource only from the calling thread; call it from one thread per DataSource.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/data_source.h"

namespace passerelle::omop::synth {

enum class Profile { kFrance, kQuebec };

// "fr" or "qc".
std::string_view ProfileName(Profile profile);
// Accepts "fr" and "qc" (any case).
Result<Profile> ParseProfile(std::string_view name);

struct SynthOptions {
  Profile profile = Profile::kFrance;
  // Persons to generate (the population ever observed in the window). 1 to 100000000.
  int64_t persons = 10000;
  // Seed of every random draw; part of the reproducible output.
  uint64_t seed = 1;
  // Observation window, days since 1970-01-01, both inclusive (default 2015-01-01..2024-12-31).
  // At least 2 years long, within 1950..2100.
  int32_t start_date = 16436;
  int32_t end_date = 20088;
  // Generator threads; 0 picks one less than the number of cores (at least 1, at most 8), the
  // last core being the appending thread's. Does not change the output.
  int threads = 0;
  // Persons per chunk handed to the appender; bounds memory. Does not change the output.
  int64_t chunk_persons = 2048;
  // Also fill condition_era and drug_era (derived tables, about 15% more rows and time).
  bool eras = false;
  // Shown in cdm_source and the dataset registry's "source" column.
  std::string source_label = "passerelle synth";
};

struct SynthReport {
  Profile profile = Profile::kFrance;
  int64_t persons = 0;
  uint64_t seed = 0;
  int64_t deaths = 0;
  int64_t rows = 0;                                     // all clinical rows written
  std::vector<std::pair<std::string, int64_t>> tables;  // CDM table -> rows, non-empty only
  int32_t hhf_index_date = 0;                           // effect (1) index date (days)
  bool effects_planted = false;  // false when the window is too short for the index date
  int64_t hhf_cohort = 0;        // persons in the effect (1) cohort
  int64_t hhf_events = 0;        // of whom hospitalised for heart failure within a year
  int64_t hhf_sglt2 = 0;         // of whom on an SGLT2 inhibitor at the index date
  // CPU time (user + system) of the thread that appends to the database and of the generator
  // threads, seconds: the wall time on an idle machine is about max(append, total / cores).
  double cpu_append_seconds = 0;
  double cpu_generate_seconds = 0;
};

// Called after each chunk with (persons written so far, total persons).
using SynthProgress = std::function<void(int64_t done, int64_t total)>;

// Checks options; one clear message per problem.
Status ValidateOptions(const SynthOptions& options);

// Writes the CDM into `source`, which must not hold CDM tables yet, and records the dataset
// "omop" in the registry (store/datasets.h). The work is not one transaction: on error the
// caller discards the database (GenerateSyntheticFile does).
Result<SynthReport> GenerateSynthetic(const SynthOptions& options, store::DataSource& source,
                                      const SynthProgress& progress = {});

struct SynthFileOptions {
  std::filesystem::path out;  // DuckDB file to create
  bool replace = false;       // replace an existing file instead of refusing
  // DuckDB memory limit while writing; bounds peak memory (the generator itself needs ~100 MB).
  std::string memory_limit = "1GB";
};

// Generates into a fresh DuckDB file: writes "<out>.tmp" and renames it over `out` only when
// everything succeeded, so a failure or an interruption never leaves a partial database.
Result<SynthReport> GenerateSyntheticFile(const SynthOptions& options, const SynthFileOptions& file,
                                          const SynthProgress& progress = {});

}  // namespace passerelle::omop::synth
