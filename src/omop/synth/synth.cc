#include "omop/synth/synth.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/date.h"
#include "common/strings.h"
#include "omop/cdm.h"
#include "omop/synth/batch.h"
#include "omop/synth/generator.h"
#include "omop/synth/truth.h"
#include "omop/vocabulary.h"
#include "store/datasets.h"
#include "store/duckdb_source.h"

namespace passerelle::omop::synth {
namespace {

// CPU time (user + system) of the calling thread, seconds.
double ThreadCpuSeconds() {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// Chunks produced in the order of their index by worker threads and consumed in that order by
// the appending thread; at most `capacity` chunks are held at once.
class ChunkPipeline {
 public:
  ChunkPipeline(const Generator& gen, int64_t persons, int64_t chunk_persons, int threads)
      : gen_(gen),
        persons_(persons),
        chunk_persons_(chunk_persons),
        chunks_((persons + chunk_persons - 1) / chunk_persons),
        capacity_(static_cast<int64_t>(threads) + 2) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ChunkPipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int64_t chunks() const { return chunks_; }
  // CPU seconds the worker threads used; complete once the pipeline is destroyed.
  std::shared_ptr<double> worker_cpu() const { return worker_cpu_; }

  struct Done {
    std::unique_ptr<Batch> batch;
    GenStats stats;
    int64_t persons = 0;
  };

  // Gives a batch back for reuse (keeps its buffers' capacity).
  void Recycle(std::unique_ptr<Batch> batch) {
    batch->Clear();
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(std::move(batch));
  }

  // The next chunk in order (blocks until it is ready).
  Done Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(next_out_) != 0; });
    Done d = std::move(ready_[next_out_]);
    ready_.erase(next_out_);
    ++next_out_;
    lock.unlock();
    cv_.notify_all();
    return d;
  }

 private:
  void Work() {
    const double cpu0 = ThreadCpuSeconds();
    for (;;) {
      int64_t c;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock,
                 [&] { return stop_ || next_in_ >= chunks_ || next_in_ < next_out_ + capacity_; });
        if (stop_ || next_in_ >= chunks_) {
          *worker_cpu_ += ThreadCpuSeconds() - cpu0;
          return;
        }
        c = next_in_++;
      }
      Done d;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!pool_.empty()) {
          d.batch = std::move(pool_.back());
          pool_.pop_back();
        }
      }
      if (!d.batch) d.batch = std::make_unique<Batch>();
      const int64_t first = c * chunk_persons_;
      const int64_t last = std::min(persons_, first + chunk_persons_);
      for (int64_t i = first; i < last; ++i) gen_.Generate(i, *d.batch, d.stats);
      d.persons = last - first;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_[c] = std::move(d);
      }
      cv_.notify_all();
    }
  }

  const Generator& gen_;
  const int64_t persons_, chunk_persons_, chunks_, capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Done> ready_;
  std::vector<std::unique_ptr<Batch>> pool_;
  int64_t next_in_ = 0, next_out_ = 0;
  bool stop_ = false;
  // Shared with the caller, who reads it after the workers are joined.
  std::shared_ptr<double> worker_cpu_ = std::make_shared<double>(0);
  std::vector<std::thread> workers_;
};

Status WriteCdmSource(store::DataSource& source, const SynthOptions& o) {
  const auto& d = source.dialect();
  std::string name = fmt::format("Passerelle synthetic population ({})",
                                 o.profile == Profile::kFrance ? "France" : "Québec");
  return source.Execute(fmt::format(
      "INSERT INTO cdm_source (cdm_source_name, cdm_source_abbreviation, cdm_holder, "
      "source_description, source_documentation_reference, cdm_etl_reference, "
      "source_release_date, cdm_release_date, cdm_version, cdm_version_concept_id, "
      "vocabulary_version) VALUES ({}, {}, 'Passerelle', {}, 'docs/synthetic-data.md', {}, {}, "
      "{}, '5.4', 0, 'passerelle-subset-1')",
      d.QuoteLiteral(name), d.QuoteLiteral(fmt::format("synth-{}", ProfileName(o.profile))),
      d.QuoteLiteral(fmt::format("{} persons, seed {}, window {} to {}; synthetic data with "
                                 "planted effects, no real person",
                                 o.persons, o.seed, FormatDate(o.start_date),
                                 FormatDate(o.end_date))),
      d.QuoteLiteral(o.source_label), d.DateLiteral(o.end_date), d.DateLiteral(o.end_date)));
}

// The true parameters, stored in the database itself (metadata table) so that a copy of the
// data carries its ground truth.
Status WriteTruth(store::DataSource& source, const SynthOptions& o, const SynthReport& r) {
  using H = truth::Hhf;
  using A = truth::Sglt2Assignment;
  using M = truth::Mace;
  const std::pair<const char*, double> values[] = {
      {"synth.seed", static_cast<double>(o.seed)},
      {"synth.persons", static_cast<double>(o.persons)},
      {"truth.hhf.intercept", H::kIntercept},
      {"truth.hhf.age_per_decade_centered_65", H::kAgePerDecade},
      {"truth.hhf.female", H::kFemale},
      {"truth.hhf.hba1c_per_point_centered_7", H::kHba1cPerPoint},
      {"truth.hhf.ckd", H::kCkd},
      {"truth.hhf.sglt2", H::kSglt2},
      {"truth.sglt2_assignment.intercept", A::kIntercept},
      {"truth.sglt2_assignment.age_per_decade_centered_65", A::kAgePerDecade},
      {"truth.sglt2_assignment.ckd", A::kCkd},
      {"truth.mace.base_rate_per_year", M::kBaseRatePerYear},
      {"truth.mace.age_per_decade_centered_60", M::kAgePerDecade},
      {"truth.mace.male", M::kMale},
      {"truth.mace.t2d", M::kT2d},
      {"truth.mace.htn", M::kHtn},
      {"truth.mace.statin_log_hazard_ratio", M::kStatin},
      {"truth.mace.entry_days", M::kEntryDays},
  };
  std::string sql =
      "INSERT INTO metadata (metadata_id, metadata_concept_id, metadata_type_concept_id, name, "
      "value_as_string, value_as_number, metadata_date) VALUES ";
  int64_t id = 0;
  const auto& d = source.dialect();
  for (const auto& [name, value] : values) {
    if (id) sql += ", ";
    sql += fmt::format("({}, 0, 0, {}, NULL, {}, {})", ++id, d.QuoteLiteral(name), value,
                       d.DateLiteral(o.end_date));
  }
  sql += fmt::format(", ({}, 0, 0, 'truth.hhf.index_date', {}, NULL, {})", ++id,
                     d.QuoteLiteral(r.effects_planted ? FormatDate(r.hhf_index_date) : "none"),
                     d.DateLiteral(o.end_date));
  return source.Execute(sql);
}

}  // namespace

std::string_view ProfileName(Profile profile) { return profile == Profile::kFrance ? "fr" : "qc"; }

Result<Profile> ParseProfile(std::string_view name) {
  if (EqualsIgnoreCase(name, "fr")) return Profile::kFrance;
  if (EqualsIgnoreCase(name, "qc")) return Profile::kQuebec;
  return Status::InvalidArgument(
      fmt::format("unknown profile \"{}\": use fr (France) or qc (Québec)", name));
}

Status ValidateOptions(const SynthOptions& o) {
  if (o.persons < 1 || o.persons > 100'000'000) {
    return Status::InvalidArgument(
        fmt::format("persons must be between 1 and 100000000 (got {})", o.persons));
  }
  const int32_t min_date = DaysFromCivil(1950, 1, 1), max_date = DaysFromCivil(2100, 12, 31);
  if (o.start_date < min_date || o.end_date > max_date) {
    return Status::InvalidArgument("the window must lie between 1950-01-01 and 2100-12-31");
  }
  if (o.end_date - o.start_date < 730) {
    return Status::InvalidArgument(
        fmt::format("the window must be at least 2 years long (got {} to {})",
                    FormatDate(o.start_date), FormatDate(o.end_date)));
  }
  if (o.threads < 0 || o.threads > 64) {
    return Status::InvalidArgument(fmt::format("threads must be 0..64 (got {})", o.threads));
  }
  if (o.chunk_persons < 1 || o.chunk_persons > 1'000'000) {
    return Status::InvalidArgument(
        fmt::format("chunk_persons must be 1..1000000 (got {})", o.chunk_persons));
  }
  return Status::Ok();
}

Result<SynthReport> GenerateSynthetic(const SynthOptions& options, store::DataSource& source,
                                      const SynthProgress& progress) {
  RETURN_IF_ERROR(ValidateOptions(options));
  const Vocabulary& vocab = Vocabulary::Shipped();
  RETURN_IF_ERROR(vocab.status());
  RETURN_IF_ERROR(CodeSet::Get().status());
  ASSIGN_OR_RETURN(bool has_cdm, source.HasTable("person"));
  if (has_cdm) {
    return Status::AlreadyExists(
        "the database already holds an OMOP CDM (table person); write into an empty database");
  }
  for (const CdmTable& t : CdmTables()) {
    RETURN_IF_ERROR(source.Execute(CreateTableSql(t, source.dialect())));
  }
  RETURN_IF_ERROR(WriteVocabularyTables(vocab, source));

  std::array<std::unique_ptr<store::Appender>, kNumTables> appenders;
  for (int t = 0; t < kNumTables; ++t) {
    ASSIGN_OR_RETURN(appenders[t], source.OpenAppender(TableName(static_cast<TableId>(t))));
  }
  const Generator gen(options);
  int threads = options.threads;
  if (threads == 0) {
    // One core stays with the appending thread, the bottleneck (DuckDB compresses as it writes).
    const unsigned cores = std::max(2u, std::thread::hardware_concurrency());
    threads = static_cast<int>(std::min(cores - 1, 8u));
  }
  SynthReport report;
  report.profile = options.profile;
  report.persons = options.persons;
  report.seed = options.seed;
  report.effects_planted = gen.planted();
  report.hhf_index_date = gen.index_date();
  std::array<int64_t, kNumTables> base{};
  GenStats stats;
  const double cpu0 = ThreadCpuSeconds();
  std::shared_ptr<double> worker_cpu;
  {
    ChunkPipeline pipeline(gen, options.persons, options.chunk_persons, threads);
    worker_cpu = pipeline.worker_cpu();
    int64_t done = 0;
    for (int64_t c = 0; c < pipeline.chunks(); ++c) {
      ChunkPipeline::Done d = pipeline.Next();
      d.batch->Rebase(base);
      for (int t = 0; t < kNumTables; ++t) {
        const TableId id = static_cast<TableId>(t);
        if (d.batch->rows(id) == 0) continue;
        RETURN_IF_ERROR(appenders[t]->AppendChunk(d.batch->chunk(id)));
        base[t] += d.batch->rows(id);
      }
      stats.Add(d.stats);
      done += d.persons;
      pipeline.Recycle(std::move(d.batch));
      if (progress) progress(done, options.persons);
    }
  }
  for (auto& a : appenders) RETURN_IF_ERROR(a->Close());
  report.cpu_append_seconds = ThreadCpuSeconds() - cpu0;
  report.cpu_generate_seconds = *worker_cpu;
  for (int t = 0; t < kNumTables; ++t) {
    if (base[t] == 0) continue;
    report.tables.emplace_back(std::string(TableName(static_cast<TableId>(t))), base[t]);
    report.rows += base[t];
  }
  report.deaths = stats.deaths;
  report.hhf_cohort = stats.hhf_cohort;
  report.hhf_events = stats.hhf_events;
  report.hhf_sglt2 = stats.sglt2_at_index;
  RETURN_IF_ERROR(WriteCdmSource(source, options));
  RETURN_IF_ERROR(WriteTruth(source, options, report));
  RETURN_IF_ERROR(store::RecordDataset(
      source, {.name = "omop",
               .kind = "omop",
               .source = fmt::format("{} (profile {}, seed {})", options.source_label,
                                     ProfileName(options.profile), options.seed),
               .rows = options.persons}));
  return report;
}

Result<SynthReport> GenerateSyntheticFile(const SynthOptions& options, const SynthFileOptions& file,
                                          const SynthProgress& progress) {
  namespace fs = std::filesystem;
  RETURN_IF_ERROR(ValidateOptions(options));
  if (file.out.empty()) return Status::InvalidArgument("no output file given");
  std::error_code ec;
  if (fs::exists(file.out, ec) && !file.replace) {
    return Status::AlreadyExists(
        fmt::format("{}: the file exists; pass --replace to overwrite it", file.out.string()));
  }
  const fs::path parent = file.out.parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    return Status::NotFound(
        fmt::format("{}: folder {} does not exist", file.out.string(), parent.string()));
  }
  const fs::path tmp = fs::path(file.out.string() + ".tmp");
  const fs::path tmp_wal = fs::path(tmp.string() + ".wal");
  auto cleanup = [&] {
    fs::remove(tmp, ec);
    fs::remove(tmp_wal, ec);
  };
  cleanup();
  Result<SynthReport> report = [&]() -> Result<SynthReport> {
    ASSIGN_OR_RETURN(
        auto db,
        store::OpenDuckDb({.path = tmp.string(), .threads = 2, .memory_limit = file.memory_limit}));
    SynthOptions o = options;
    if (o.source_label == SynthOptions{}.source_label)
      o.source_label = file.out.filename().string();
    ASSIGN_OR_RETURN(SynthReport r, GenerateSynthetic(o, *db, progress));
    RETURN_IF_ERROR(db->Execute("CHECKPOINT"));
    return r;  // closes the database
  }();
  if (!report.ok()) {
    cleanup();
    return report.status();
  }
  fs::remove(fs::path(file.out.string() + ".wal"), ec);
  fs::rename(tmp, file.out, ec);
  if (ec) {
    cleanup();
    return Status::IoError(fmt::format("{}: cannot move the new database into place: {}",
                                       file.out.string(), ec.message()));
  }
  fs::remove(tmp_wal, ec);
  return report;
}

}  // namespace passerelle::omop::synth
