// Cohorts and features on a synthetic CDM built with SQL in an in-memory DuckDB: 1M persons by
// default, ~15 events each (6 conditions, 5 drug exposures, 4 measurements), values from a seeded
// hash so every run sees the same data.
//
//   cohort:   entry condition + prior observation, three inclusion rules (a drug in the year
//             before, no complication ever before, 40 or older). Target < 2 s at 1M persons.
//             Baseline: the same cohort as one hand-written SQL query (CTE + EXISTS), in the
//             same database; the two must give the same persons.
//   features: a ~100k-person cohort, 100 covariates (age, sex, 70 condition/drug flags in a
//             year, 18 counts, 10 latest measurement values) and a time-to-event outcome.
//             Target < 5 s. Baseline: the naive plan, one correlated subquery per covariate
//             (how a hand-written FeatureExtraction-like query reads), same values checked.
//
// Usage: cohort_bench [--persons 1000000] [--runs 3] [--seed 42] [--quick] [--db FILE]
//   --quick: 100k persons, one run. --db: keep the synthetic CDM in a DuckDB file and reuse it
//   when it already holds that many persons (in memory by default).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "bench/bench_util.h"
#include "cohort/cohort.h"
#include "cohort/features.h"
#include "omop/cdm.h"
#include "store/duckdb_source.h"

using namespace passerelle;

namespace {

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "cohort_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}
template <typename T>
T Check(Result<T> r) {
  Check(r.status());
  return std::move(r).value();
}

// A deterministic pseudo-random integer in [0, m) from the seed and the given keys.
std::string H(int64_t seed, const std::string& keys, int64_t m) {
  return fmt::format("CAST(hash({}, {}) % {} AS INTEGER)", seed, keys, m);
}

void Generate(store::DataSource& s, int64_t persons, int64_t seed) {
  for (const char* t :
       {"person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
        "visit_occurrence", "death", "concept", "concept_ancestor", "concept_relationship"}) {
    Check(s.Execute(omop::CreateTableSql(*omop::FindCdmTable(t), s.dialect())));
  }
  Check(s.Execute(fmt::format(
      "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, "
      "ethnicity_concept_id) SELECT i, CASE WHEN {} = 0 THEN 8507 ELSE 8532 END, 1930 + {}, 0, 0 "
      "FROM range(1, {} + 1) t(i)",
      H(seed, "i, 1", 2), H(seed, "i, 2", 70), persons)));
  // Observed for 3 to 11 years from 2005-2009.
  Check(s.Execute(fmt::format(
      "INSERT INTO observation_period (observation_period_id, person_id, "
      "observation_period_start_date, observation_period_end_date, period_type_concept_id) "
      "SELECT i, i, DATE '2005-01-01' + {0}, DATE '2005-01-01' + {0} + 1000 + {1}, 44814724 "
      "FROM range(1, {2} + 1) t(i)",
      H(seed, "i, 3", 1500), H(seed, "i, 4", 3000), persons)));
  // Events at a uniform day of the person's observation period.
  auto day = [&](const std::string& key) {
    return fmt::format(
        "op.observation_period_start_date + CAST(hash({}, p.i, r.k, {}) % (1 + "
        "(op.observation_period_end_date - op.observation_period_start_date)) AS INTEGER)",
        seed, key);
  };
  std::string from = fmt::format(
      "FROM range(1, {} + 1) p(i) JOIN observation_period op ON op.person_id = p.i", persons);
  // 200 condition concepts 1000..1199; 100 drugs 2000..2099; 20 measurements 3000..3019.
  Check(s.Execute(fmt::format(
      "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
      "condition_concept_id, condition_start_date, condition_type_concept_id) SELECT p.i * 10 + "
      "r.k, p.i, 1000 + {}, {}, 32020 {}, range(6) r(k)",
      H(seed, "p.i, r.k, 5", 200), day("6"), from)));
  Check(s.Execute(fmt::format(
      "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
      "drug_exposure_start_date, drug_exposure_end_date, days_supply, drug_type_concept_id) "
      "SELECT p.i * 10 + r.k, p.i, 2000 + {0}, {1}, {1} + 30, 30, 32838 {2}, range(5) r(k)",
      H(seed, "p.i, r.k, 7", 100), day("8"), from)));
  Check(s.Execute(fmt::format(
      "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
      "measurement_date, measurement_type_concept_id, value_as_number, unit_concept_id) SELECT "
      "p.i * 10 + r.k, p.i, 3000 + {}, {}, 32817, {} / 10.0, 0 {}, range(4) r(k)",
      H(seed, "p.i, r.k, 9", 20), day("10"), H(seed, "p.i, r.k, 11", 1000), from)));
}

constexpr const char* kCohort = R"({
  "name": "bench: three criteria",
  "concept_sets": [
    {"id": "index", "concepts": [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]},
    {"id": "drug", "concepts": [2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009]},
    {"id": "complication", "concepts": [1100, 1101, 1102, 1103, 1104]}],
  "entry": {"events": [{"domain": "condition", "concept_set": "index"}],
            "prior_observation_days": 365, "limit": "first"},
  "inclusion_rules": [
    {"name": "treated", "criteria": [{"event": {"domain": "drug", "concept_set": "drug"},
                                      "window": {"start": -365, "end": 0}}]},
    {"name": "no complication before", "criteria": [
      {"event": {"domain": "condition", "concept_set": "complication"},
       "window": {"start": null, "end": -1}, "occurrences": {"exactly": 0}}]},
    {"name": "40 or older", "criteria": [{"age": {"min": 40}}]}]
})";

// The same cohort by hand.
constexpr const char* kBaseline = R"(
  CREATE OR REPLACE TEMPORARY TABLE baseline AS
  WITH ev AS (
    SELECT co.person_id, co.condition_start_date AS d, op.observation_period_start_date AS s,
           op.observation_period_end_date AS e,
           row_number() OVER (PARTITION BY co.person_id ORDER BY co.condition_start_date) AS rn
    FROM condition_occurrence co
    JOIN observation_period op ON op.person_id = co.person_id
     AND co.condition_start_date BETWEEN op.observation_period_start_date
                                     AND op.observation_period_end_date
    WHERE co.condition_concept_id BETWEEN 1000 AND 1009
      AND co.condition_start_date >= op.observation_period_start_date + 365)
  SELECT ev.person_id AS subject_id, ev.d AS cohort_start_date, ev.e AS cohort_end_date
  FROM ev JOIN person p ON p.person_id = ev.person_id
  WHERE ev.rn = 1 AND year(ev.d) - p.year_of_birth >= 40
    AND EXISTS (SELECT 1 FROM drug_exposure de WHERE de.person_id = ev.person_id
                AND de.drug_concept_id BETWEEN 2000 AND 2009
                AND de.drug_exposure_start_date BETWEEN ev.d - 365 AND ev.d
                AND de.drug_exposure_start_date BETWEEN ev.s AND ev.e)
    AND NOT EXISTS (SELECT 1 FROM condition_occurrence c2 WHERE c2.person_id = ev.person_id
                    AND c2.condition_concept_id BETWEEN 1100 AND 1104
                    AND c2.condition_start_date BETWEEN ev.s AND ev.d - 1))";

// ~11% of persons: any of 4 common conditions, no further rule.
constexpr const char* kFeatureCohort = R"({
  "concept_sets": [{"id": "index", "concepts": [1010, 1011, 1012, 1013]},
                   {"id": "outcome", "concepts": [1150, 1151, 1152]}],
  "entry": {"events": [{"domain": "condition", "concept_set": "index"}]}})";

std::string FeatureSpec() {
  std::string covs = R"({"type": "age"}, {"type": "sex", "coding": "female"})";
  for (int i = 0; i < 40; ++i) {  // 40 condition flags
    covs += fmt::format(
        R"(, {{"type": "condition", "concepts": [{}], "window": {{"start": -365, "end": 0}}, "name": "cond{}"}})",
        1020 + i, i);
  }
  for (int i = 0; i < 30; ++i) {  // 30 drug flags
    covs += fmt::format(
        R"(, {{"type": "drug", "concepts": [{}], "window": {{"start": -365, "end": 0}}, "name": "drug{}"}})",
        2020 + i, i);
  }
  for (int i = 0; i < 18; ++i) {  // 18 counts over all time before
    covs += fmt::format(
        R"(, {{"type": "{}", "concepts": [{}, {}], "window": {{"start": null, "end": 0}}, "statistic": "count", "name": "n{}"}})",
        i % 2 ? "drug" : "condition", i % 2 ? 2060 + i : 1060 + i, i % 2 ? 2080 + i : 1080 + i, i);
  }
  for (int i = 0; i < 10; ++i) {  // 10 latest measurement values
    covs += fmt::format(
        R"(, {{"type": "measurement", "concepts": [{}], "window": {{"start": -365, "end": 0}}, "statistic": "latest_value", "name": "lab{}"}})",
        3000 + i, i);
  }
  return fmt::format(R"({{"cohort": {}, "covariates": [{}],
      "outcome": {{"type": "time_to_event", "event": {{"domain": "condition", "concept_set": "outcome"}}}}}})",
                     kFeatureCohort, covs);
}

// The naive plan: one correlated subquery per covariate over the same cohort members.
std::string NaiveFeatures(const cohort::CohortStudySpec& spec) {
  std::string cols =
      "year(m.cohort_start_date) - p.year_of_birth AS age, CASE WHEN p.gender_concept_id = 8532 "
      "THEN 1 ELSE 0 END AS female";
  for (const auto& c : spec.covariates) {
    if (c.type != cohort::CovariateType::kEvent) continue;
    const cohort::ConceptSet* set = nullptr;
    for (const auto& cs : spec.concept_sets) {
      if (cs.id == c.concept_set) set = &cs;
    }
    std::string ids;
    for (const auto& it : set->items)
      ids += (ids.empty() ? "" : ", ") + std::to_string(it.concept_id);
    std::string table =
        c.domain == cohort::Domain::kCondition
            ? "condition_occurrence e WHERE e.condition_concept_id"
            : (c.domain == cohort::Domain::kDrug ? "drug_exposure e WHERE e.drug_concept_id"
                                                 : "measurement e WHERE e.measurement_concept_id");
    std::string date = c.domain == cohort::Domain::kCondition
                           ? "e.condition_start_date"
                           : (c.domain == cohort::Domain::kDrug ? "e.drug_exposure_start_date"
                                                                : "e.measurement_date");
    std::string window = fmt::format("{} <= m.cohort_start_date", date);
    if (c.window.start)
      window += fmt::format(" AND {} >= m.cohort_start_date - {}", date, -*c.window.start);
    std::string where =
        fmt::format("{} IN ({}) AND e.person_id = m.subject_id AND {}", table, ids, window);
    if (c.statistic == cohort::Statistic::kAny) {
      cols += fmt::format(", CASE WHEN EXISTS (SELECT 1 FROM {}) THEN 1 ELSE 0 END AS {}", where,
                          c.name);
    } else if (c.statistic == cohort::Statistic::kCount) {
      cols += fmt::format(", (SELECT COUNT(*) FROM {}) AS {}", where, c.name);
    } else {
      cols += fmt::format(
          ", (SELECT e.value_as_number FROM {} ORDER BY {} DESC, e.measurement_id "
          "DESC LIMIT 1) AS {}",
          where, date, c.name);
    }
  }
  return fmt::format(
      "CREATE OR REPLACE TEMPORARY TABLE naive AS SELECT {} FROM (SELECT * FROM (SELECT *, "
      "row_number() OVER (PARTITION BY subject_id ORDER BY cohort_start_date) AS rn FROM "
      "members_cohort) x WHERE rn = 1) m JOIN person p ON p.person_id = m.subject_id",
      cols);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) quick = quick || std::string(argv[i]) == "--quick";
  const int64_t persons =
      std::atoll(bench::Flag(argc, argv, "persons", quick ? "100000" : "1000000").c_str());
  const int runs = std::atoi(bench::Flag(argc, argv, "runs", quick ? "1" : "3").c_str());
  const int64_t seed = std::atoll(bench::Flag(argc, argv, "seed", "42").c_str());

  const std::string path = bench::Flag(argc, argv, "db", "");
  auto db = Check(store::OpenDuckDb({.path = path}));
  double t0 = bench::NowSeconds();
  bool reuse = !path.empty() && Check(db->HasTable("person")) &&
               Check(store::QueryInt(*db, "SELECT COUNT(*) FROM person")) == persons;
  if (!reuse) {
    for (const char* t :
         {"person", "observation_period", "condition_occurrence", "drug_exposure", "measurement",
          "visit_occurrence", "death", "concept", "concept_ancestor", "concept_relationship"}) {
      Check(db->Execute(db->dialect().DropTableIfExists(t)));
    }
    Generate(*db, persons, seed);
  }
  int64_t events = Check(
      store::QueryInt(*db,
                      "SELECT (SELECT COUNT(*) FROM condition_occurrence) + (SELECT COUNT(*) FROM "
                      "drug_exposure) + (SELECT COUNT(*) FROM measurement)"));
  std::printf("synthetic CDM: %lld persons, %lld events (%.1f per person), built in %.1f s\n",
              static_cast<long long>(persons), static_cast<long long>(events),
              static_cast<double>(events) / static_cast<double>(persons), bench::NowSeconds() - t0);

  // --- cohort with three criteria ---
  auto def = Check(cohort::ParseCohortDefinition(kCohort, "bench.json"));
  std::vector<double> ours, base;
  cohort::CohortCounts counts;
  for (int r = 0; r < runs; ++r) {
    double a = bench::NowSeconds();
    counts = Check(cohort::GenerateCohort(*db, def, {.result_table = "bench_cohort"}));
    ours.push_back(bench::NowSeconds() - a);
    a = bench::NowSeconds();
    Check(db->Execute(kBaseline));
    base.push_back(bench::NowSeconds() - a);
  }
  int64_t differ = Check(store::QueryInt(
      *db,
      "SELECT COUNT(*) FROM ((SELECT * FROM bench_cohort EXCEPT SELECT * FROM baseline) "
      "UNION ALL (SELECT * FROM baseline EXCEPT SELECT * FROM bench_cohort)) x"));
  double mo = bench::Median(ours), mb = bench::Median(base);
  std::printf(
      "cohort (3 criteria): %lld entry persons -> %lld persons; passerelle %.3f s, "
      "baseline hand-written SQL %.3f s, ratio %.2f; same rows: %s; target < 2 s: %s\n",
      static_cast<long long>(counts.entry_persons), static_cast<long long>(counts.cohort_persons),
      mo, mb, mo / mb, differ == 0 ? "yes" : "NO", mo < 2.0 ? "met" : "MISSED");

  // --- features: ~10% cohort, 100 covariates ---
  auto spec = Check(cohort::ParseCohortStudySpecText(FeatureSpec(), "bench_study.json"));
  size_t ncov = spec.covariates.size();
  std::vector<double> feat, cohort_only, naive;
  cohort::AnalysisTableInfo info;
  for (int r = 0; r < runs; ++r) {
    double a = bench::NowSeconds();
    Check(cohort::GenerateCohort(*db, spec.cohort, {.result_table = "members_cohort"}));
    cohort_only.push_back(bench::NowSeconds() - a);
    a = bench::NowSeconds();
    info = Check(cohort::BuildAnalysisTable(*db, spec, "bench_features"));
    feat.push_back(bench::NowSeconds() - a);
    a = bench::NowSeconds();
    Check(db->Execute(NaiveFeatures(spec)));
    naive.push_back(bench::NowSeconds() - a);
  }
  // Same values: compare the covariate columns (sums) of both tables.
  std::string sums;
  for (const auto& c : spec.covariates) {
    sums += fmt::format("{}ROUND(SUM(CAST({} AS DOUBLE)), 3)", sums.empty() ? "" : " || ',' || ",
                        c.name);
  }
  auto a = Check(store::QueryAll(*db, fmt::format("SELECT {} FROM bench_features", sums)));
  auto b = Check(store::QueryAll(*db, fmt::format("SELECT {} FROM naive", sums)));
  bool same = a.columns[0].strings[0] == b.columns[0].strings[0];
  double mf = bench::Median(feat), mc = bench::Median(cohort_only), mn = bench::Median(naive);
  std::printf(
      "features: %lld persons x %zu covariates + time-to-event outcome; passerelle %.3f s "
      "(of which cohort %.3f s), baseline one-subquery-per-covariate SQL %.3f s, ratio "
      "%.2f; same values: %s; target < 5 s: %s\n",
      static_cast<long long>(info.rows), ncov, mf, mc, mn, mf / mn, same ? "yes" : "NO",
      mf < 5.0 ? "met" : "MISSED");
  std::printf("peak memory %.0f MiB\n", bench::PeakRssMiB());
  return differ == 0 && same ? 0 : 1;
}
