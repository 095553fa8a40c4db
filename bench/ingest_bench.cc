// Ingest speed is DuckDB's CSV reader speed: `ingest omop` on a generated CDM folder (1 GB by
// default) against a bare DuckDB `CREATE TABLE ... AS SELECT * FROM read_csv(file)` of the same
// files, in the same run. Target ratio (ours / bare) < 1.3. Also measures `db info` on the
// ingested database (a 1M-person CDM at the default size): target < 1 s.
//
// Usage: ingest_bench [--gb 1.0] [--runs 3] [--dir /tmp/...]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "bench/bench_util.h"
#include "common/files.h"
#include "omop/cdm.h"
#include "omop/db_info.h"
#include "omop/ingest.h"
#include "store/duckdb_source.h"

using namespace passerelle;
namespace fs = std::filesystem;

namespace {

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "ingest_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

// Writes a CDM folder of CSV files with DuckDB. Like a real CDM export, every file has all the
// columns of its table, the unused ones empty.
void Generate(const fs::path& dir, int64_t persons) {
  auto db = store::OpenDuckDb({});
  Check(db.status());
  auto& s = **db;
  Check(s.Execute("SELECT setseed(0.42)"));
  auto copy = [&](const std::string& file, const std::string& select) {
    const omop::CdmTable* t = omop::FindCdmTable(file.substr(0, file.size() - 4));
    std::string cols;
    for (const auto& c : t->columns) {
      cols += cols.empty() ? "" : ", ";
      cols += fmt::format("g.\"{}\"", c.name);
    }
    // Columns the generator leaves out come from a one-row table of NULLs.
    std::string nulls;
    for (const auto& c : t->columns) {
      nulls += nulls.empty() ? "" : ", ";
      nulls += fmt::format("NULL AS \"{}\"", c.name);
    }
    std::string full =
        fmt::format("SELECT {} FROM (SELECT * FROM ({}) s, (SELECT {}) n) g", cols, select, nulls);
    // DuckDB resolves duplicate names to the left (generated) side first.
    Check(s.Execute(
        fmt::format("COPY ({}) TO '{}' (HEADER, DELIMITER ',')", full, (dir / file).string())));
  };
  const int64_t P = persons;
  copy("PERSON.csv",
       fmt::format(
           "SELECT i AS person_id, CASE WHEN i % 2 = 0 THEN 8507 ELSE 8532 END AS "
           "gender_concept_id, "
           "1930 + (i * 7919) % 85 AS year_of_birth, 1 + i % 12 AS month_of_birth, 1 + i % 28 AS "
           "day_of_birth, NULL AS birth_datetime, 0 AS race_concept_id, 0 AS ethnicity_concept_id, "
           "NULL AS location_id, NULL AS provider_id, NULL AS care_site_id, 'P' || i AS "
           "person_source_value, CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END AS gender_source_value "
           "FROM range(1, {} + 1) t(i)",
           P));
  copy(
      "OBSERVATION_PERIOD.csv",
      fmt::format(
          "SELECT i AS observation_period_id, i AS person_id, DATE '2010-01-01' + CAST(i % 1000 AS "
          "INTEGER) AS observation_period_start_date, DATE '2024-12-31' - CAST(i % 500 AS INTEGER) "
          "AS "
          "observation_period_end_date, 32817 AS period_type_concept_id FROM range(1, {} + 1) t(i)",
          P));
  copy("VISIT_OCCURRENCE.csv",
       fmt::format(
           "SELECT i AS visit_occurrence_id, 1 + i % {0} AS person_id, (ARRAY[9201, 9202, 9203])[1 "
           "+ "
           "i % 3] AS visit_concept_id, DATE '2012-01-01' + CAST(i % 3650 AS INTEGER) AS "
           "visit_start_date, DATE '2012-01-01' + CAST(i % 3650 AS INTEGER) + CAST(i % 5 AS "
           "INTEGER) "
           "AS visit_end_date, 32817 AS visit_type_concept_id, 'V' || i AS visit_source_value FROM "
           "range(1, 3 * {0} + 1) t(i)",
           P));
  copy("CONDITION_OCCURRENCE.csv",
       fmt::format(
           "SELECT i AS condition_occurrence_id, 1 + i % {0} AS person_id, (ARRAY[201826, 316866, "
           "432867, 313217, 255573])[1 + i % 5] AS condition_concept_id, DATE '2012-01-01' + "
           "CAST(i % "
           "3650 AS INTEGER) AS condition_start_date, 32817 AS condition_type_concept_id, 1 + i % "
           "(3 * "
           "{0}) AS visit_occurrence_id, (ARRAY['E11.9', 'I10', 'E78.5', 'I48.91', 'J44.9'])[1 + i "
           "% 5] "
           "AS condition_source_value FROM range(1, 2 * {0} + 1) t(i)",
           P));
  copy("DRUG_EXPOSURE.csv",
       fmt::format(
           "SELECT i AS drug_exposure_id, 1 + i % {0} AS person_id, (ARRAY[1503297, 1545958, "
           "1308216, "
           "1332418])[1 + i % 4] AS drug_concept_id, DATE '2012-01-01' + CAST(i % 3650 AS INTEGER) "
           "AS "
           "drug_exposure_start_date, DATE '2012-01-01' + CAST(i % 3650 AS INTEGER) + 30 AS "
           "drug_exposure_end_date, 32838 AS drug_type_concept_id, 30 AS days_supply, 'A10BA02' AS "
           "drug_source_value FROM range(1, 2 * {0} + 1) t(i)",
           P));
  copy(
      "MEASUREMENT.csv",
      fmt::format(
          "SELECT i AS measurement_id, 1 + i % {0} AS person_id, (ARRAY[3004410, 3027114, "
          "3020891])[1 "
          "+ i % 3] AS measurement_concept_id, DATE '2012-01-01' + CAST(i % 3650 AS INTEGER) AS "
          "measurement_date, 32817 AS measurement_type_concept_id, round(random() * 10, 2) AS "
          "value_as_number, 8554 AS unit_concept_id, 'LAB' || (i % 97) AS measurement_source_value "
          "FROM range(1, 4 * {0} + 1) t(i)",
          P));
  copy("CONCEPT.csv",
       "SELECT * FROM (VALUES (201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED', "
       "'Clinical Finding', 'S', '44054006', DATE '1970-01-01', DATE '2099-12-31', NULL)) "
       "t(concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, "
       "concept_code, valid_start_date, valid_end_date, invalid_reason)");
}

int64_t FolderBytes(const fs::path& dir) {
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += static_cast<int64_t>(e.file_size());
  return n;
}

double TimeOurs(const fs::path& from, const fs::path& db_path) {
  fs::remove(db_path);
  auto db = store::OpenDuckDb({.path = db_path.string()});
  Check(db.status());
  double t0 = bench::NowSeconds();
  auto r = omop::IngestOmop(**db, {.from = from});
  Check(r.status());
  db->reset();  // close: the checkpoint is part of the cost
  return bench::NowSeconds() - t0;
}

double TimeBare(const fs::path& from, const fs::path& db_path) {
  fs::remove(db_path);
  auto db = store::OpenDuckDb({.path = db_path.string()});
  Check(db.status());
  double t0 = bench::NowSeconds();
  for (const auto& e : fs::directory_iterator(from)) {
    std::string table = e.path().stem().string();
    Check((*db)->Execute(fmt::format("CREATE TABLE \"{}\" AS SELECT * FROM read_csv('{}')", table,
                                     e.path().string())));
  }
  db->reset();
  return bench::NowSeconds() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  const double gb = std::stod(bench::Flag(argc, argv, "gb", "1.0"));
  const int runs = std::stoi(bench::Flag(argc, argv, "runs", "3"));
  auto tmp = TempDir::Create("passerelle-ingest-bench");
  Check(tmp.status());
  fs::path base = bench::Flag(argc, argv, "dir", tmp->path().string());
  fs::path csv = base / "cdm";
  fs::create_directories(csv);
  // ~800 bytes of CSV per person with the table mix above.
  const int64_t persons = static_cast<int64_t>(gb * 1e9 / 800.0);
  double g0 = bench::NowSeconds();
  Generate(csv, persons);
  const double mb = static_cast<double>(FolderBytes(csv)) / 1e6;
  std::printf("generated %lld persons, %.0f MB of CDM CSV in %.1f s\n",
              static_cast<long long>(persons), mb, bench::NowSeconds() - g0);

  std::vector<double> ours, bare;
  for (int i = 0; i < runs; ++i) {
    bare.push_back(TimeBare(csv, base / "bare.duckdb"));
    ours.push_back(TimeOurs(csv, base / "ours.duckdb"));
    std::printf("run %d: passerelle ingest omop %.2f s, bare read_csv %.2f s\n", i + 1, ours.back(),
                bare.back());
  }
  const double mo = bench::Median(ours), mbare = bench::Median(bare);
  std::printf(
      "ingest omop: median %.2f s (%.0f MB/s); bare DuckDB read_csv: median %.2f s; "
      "ratio %.2f (target < 1.3)\n",
      mo, mb / mo, mbare, mo / mbare);

  // db info on the ingested database, against the bare count of its person table.
  std::vector<double> info, count;
  for (int i = 0; i < 5; ++i) {
    double t0 = bench::NowSeconds();
    auto db = store::OpenDuckDb({.path = (base / "ours.duckdb").string(), .read_only = true});
    Check(db.status());
    auto r = omop::ReadDbInfo(**db);
    Check(r.status());
    info.push_back(bench::NowSeconds() - t0);
    t0 = bench::NowSeconds();
    auto db2 = store::OpenDuckDb({.path = (base / "ours.duckdb").string(), .read_only = true});
    Check(db2.status());
    Check(store::QueryInt(**db2, "SELECT count(*) FROM person").status());
    count.push_back(bench::NowSeconds() - t0);
  }
  std::printf(
      "db info on %lld persons: median %.3f s (target < 1 s); open + count(person): "
      "median %.3f s; ratio %.1f\n",
      static_cast<long long>(persons), bench::Median(info), bench::Median(count),
      bench::Median(info) / bench::Median(count));
  std::printf("peak RSS %.0f MiB\n", bench::PeakRssMiB());
  return 0;
}
