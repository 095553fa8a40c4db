#include "omop/ingest.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"
#include "common/strings.h"
#include "omop/archive.h"
#include "omop/cdm.h"
#include "store/csv_error.h"
#include "store/datasets.h"

namespace passerelle::omop {
namespace {

using store::DataSource;
using store::Dialect;

struct SourceFile {
  const CdmTable* table;
  std::filesystem::path path;
  std::string label;  // file name, as the user knows it
};

bool HiddenOrFork(const std::filesystem::path& p) {
  for (const auto& part : p) {
    std::string s = part.string();
    if (s == "__MACOSX" || (!s.empty() && s[0] == '.' && s != "." && s != "..")) return true;
  }
  return false;
}

// Lists the CSV files of the extract and maps them to CDM tables.
Result<std::vector<SourceFile>> FindFiles(const std::vector<std::filesystem::path>& files,
                                          std::vector<std::string>& warnings) {
  std::map<std::string, SourceFile> by_table;
  for (const auto& path : files) {
    std::string name = path.filename().string();
    std::string lower = AsciiLower(name);
    if (!EndsWith(lower, ".csv")) continue;
    std::string stem = lower.substr(0, lower.size() - 4);
    const CdmTable* table = FindCdmTable(stem);
    if (!table) {
      warnings.push_back(fmt::format("{}: not a CDM 5.4 table; ignored", name));
      continue;
    }
    auto [it, inserted] = by_table.emplace(table->name, SourceFile{table, path, name});
    if (!inserted) {
      return Status::InvalidArgument(fmt::format("two files for table {}: {} and {}", table->name,
                                                 it->second.path.string(), path.string()));
    }
  }
  std::vector<SourceFile> out;
  for (const auto& t : CdmTables()) {  // specification order: person first
    auto it = by_table.find(t.name);
    if (it != by_table.end()) out.push_back(it->second);
  }
  return out;
}

std::string ReaderType(CdmType t) {
  switch (t) {
    case CdmType::kInteger:
      return "BIGINT";
    case CdmType::kNumeric:
      return "DOUBLE";
    case CdmType::kVarchar:
      return "VARCHAR";
    case CdmType::kDate:
      return "DATE";
    case CdmType::kTimestamp:
      return "TIMESTAMP";
  }
  return "VARCHAR";
}

class Ingester {
 public:
  Ingester(DataSource& s, const OmopIngestOptions& o) : src_(s), d_(s.dialect()), opts_(o) {}

  Result<OmopIngestReport> Run() {
    std::vector<std::filesystem::path> paths;
    std::optional<TempDir> unpacked;
    std::error_code ec;
    if (std::filesystem::is_directory(opts_.from, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(opts_.from, ec);
           it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file() &&
            !HiddenOrFork(std::filesystem::relative(it->path(), opts_.from))) {
          paths.push_back(it->path());
        }
      }
    } else if (std::filesystem::is_regular_file(opts_.from, ec)) {
      if (!EndsWith(AsciiLower(opts_.from.string()), ".zip")) {
        return Status::InvalidArgument(fmt::format(
            "{}: expected a folder of CDM CSV files or a .zip of them", opts_.from.string()));
      }
      ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create("passerelle-ingest"));
      ASSIGN_OR_RETURN(paths, ExtractZip(opts_.from, tmp.path()));
      unpacked.emplace(std::move(tmp));
    } else {
      return Status::NotFound(fmt::format("{}: no such file or folder", opts_.from.string()));
    }
    ASSIGN_OR_RETURN(std::vector<SourceFile> files, FindFiles(paths, report_.warnings));
    if (files.empty() || files.front().table->name != "person") {
      return Status::InvalidArgument(fmt::format(
          "{}: no PERSON.csv found (an OMOP CDM extract needs at least the person table)",
          opts_.from.filename().string()));
    }

    ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(src_));
    const int64_t t0 = SystemClock::Default().MonotonicMicros();
    RETURN_IF_ERROR(PrepareTables());
    for (const auto& f : files) {
      RETURN_IF_ERROR(LoadTable(f));
    }
    const int64_t t1 = SystemClock::Default().MonotonicMicros();
    RETURN_IF_ERROR(Check(files));
    const int64_t t2 = SystemClock::Default().MonotonicMicros();
    log::Debug("ingest omop: load {:.3f} s, checks {:.3f} s", (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    RETURN_IF_ERROR(
        store::RecordDataset(src_, {"omop", "omop", opts_.from.filename().string(), report_.persons,
                                    SystemClock::Default().NowMicros()}));
    RETURN_IF_ERROR(tx.Commit());
    return std::move(report_);
  }

 private:
  void Progress(std::string_view line) {
    if (opts_.progress) opts_.progress(line);
  }

  // Creates every CDM table (absent optional tables become empty tables, so that queries and
  // cohorts never meet a missing table); drops existing ones first with --replace.
  Status PrepareTables() {
    ASSIGN_OR_RETURN(std::vector<std::string> existing, src_.ListTables());
    std::set<std::string> have(existing.begin(), existing.end());
    for (const auto& t : CdmTables()) {
      if (have.count(t.name)) {
        if (!opts_.replace) {
          return Status::AlreadyExists(fmt::format(
              "the database already holds an OMOP CDM (table {}); use --replace to replace it",
              t.name));
        }
        RETURN_IF_ERROR(src_.Execute("DROP TABLE " + d_.QuoteIdentifier(t.name)));
      }
      RETURN_IF_ERROR(src_.Execute(CreateTableSql(t, d_)));
    }
    return Status::Ok();
  }

  Status LoadTable(const SourceFile& f) {
    const CdmTable& t = *f.table;
    std::error_code ec;
    if (std::filesystem::file_size(f.path, ec) == 0) {
      report_.tables.push_back({t.name, f.label, 0});
      Progress(fmt::format("{}: empty file", t.name));
      return Status::Ok();
    }
    const std::string path_literal = d_.QuoteLiteral(f.path.string());
    const int64_t start = SystemClock::Default().MonotonicMicros();
    // The header, read by DuckDB's sniffer.
    auto header = src_.Query(
        fmt::format("SELECT * FROM read_csv({}, header = true, all_varchar = true, delim = ',', "
                    "normalize_names = false) LIMIT 0",
                    path_literal));
    if (!header.ok()) {
      return Status::InvalidArgument(store::DescribeCsvError(f.label, header.status().message()));
    }
    const store::Schema& cols = (*header)->schema();
    std::set<std::string> seen;
    std::string columns_struct, insert_cols, select_cols;
    std::vector<store::IngestColumn> read_cols;  // for opts_.rewrite
    for (const auto& c : cols) {
      std::string lower = AsciiLower(Trim(c.name));
      if (!seen.insert(lower).second) {
        return Status::InvalidArgument(
            fmt::format("{}: column \"{}\" appears twice in the header", f.label, c.name));
      }
      const CdmColumn* cdm = t.FindColumn(lower);
      if (!columns_struct.empty()) columns_struct += ", ";
      columns_struct +=
          d_.QuoteLiteral(c.name) + ": " + d_.QuoteLiteral(cdm ? ReaderType(cdm->type) : "VARCHAR");
      if (!cdm) {
        report_.warnings.push_back(fmt::format(
            "{}: column \"{}\" is not part of CDM 5.4 {}; ignored", f.label, c.name, t.name));
        continue;
      }
      if (!insert_cols.empty()) {
        insert_cols += ", ";
        select_cols += ", ";
      }
      insert_cols += d_.QuoteIdentifier(cdm->name);
      select_cols += d_.QuoteIdentifier(c.name);
      read_cols.push_back({cdm->name, d_.QuoteIdentifier(c.name), ReaderType(cdm->type)});
    }
    for (const auto& c : t.columns) {
      if (c.required && !seen.count(c.name)) {
        return Status::InvalidArgument(fmt::format(
            "{}: missing required column \"{}\" of CDM table {}", f.label, c.name, t.name));
      }
    }
    if (insert_cols.empty()) return Status::Ok();
    if (opts_.rewrite) {
      ASSIGN_OR_RETURN(std::vector<std::string> exprs, opts_.rewrite(t.name, read_cols));
      if (exprs.size() != read_cols.size()) {
        return Status::Internal("column rewrite returned the wrong number of expressions");
      }
      select_cols = Join(exprs, ", ");
    }
    Status st = src_.Execute(fmt::format(
        "INSERT INTO {} ({}) SELECT {} FROM read_csv({}, header = true, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', nullstr = '', columns = {{{}}})",
        d_.QuoteIdentifier(t.name), insert_cols, select_cols, path_literal, columns_struct));
    if (!st.ok()) return Status::InvalidArgument(store::DescribeCsvError(f.label, st.message()));
    ASSIGN_OR_RETURN(int64_t rows,
                     store::QueryInt(src_, "SELECT count(*) FROM " + d_.QuoteIdentifier(t.name)));
    report_.tables.push_back({t.name, f.label, rows});
    labels_[t.name] = f.label;
    log::Debug("ingest omop: {} loaded in {:.3f} s", t.name,
               (SystemClock::Default().MonotonicMicros() - start) / 1e6);
    Progress(fmt::format("{}: {} rows", t.name, rows));
    return Status::Ok();
  }

  Result<int64_t> Count(const std::string& sql) { return store::QueryInt(src_, sql); }

  // One scan per table computes every per-row check: empty required values, persons that do not
  // exist, reversed dates and unknown concept ids (membership tests are hash joins DuckDB builds
  // once per query). Dates against observation periods need a range join: a second query.
  Status Check(const std::vector<SourceFile>& files) {
    Progress("checking persons, dates and concepts");
    const std::string person = d_.QuoteIdentifier("person");
    ASSIGN_OR_RETURN(int64_t dup,
                     Count("SELECT count(*) - count(DISTINCT person_id) FROM " + person));
    if (dup > 0) {
      return Status::InvalidArgument(
          fmt::format("{}: {} person_id values appear more than once", labels_["person"], dup));
    }
    ASSIGN_OR_RETURN(int64_t concepts, Count("SELECT count(*) FROM concept"));
    if (concepts == 0) {
      report_.warnings.push_back(
          "no CONCEPT.csv rows: concept ids were not checked against a vocabulary");
    }
    ASSIGN_OR_RETURN(int64_t periods, Count("SELECT count(*) FROM observation_period"));
    if (periods == 0) {
      report_.warnings.push_back(
          "no observation periods: event dates were not checked (cohorts need observation_period)");
    }
    for (const auto& f : files) {
      const CdmTable& t = *f.table;
      if (!labels_.count(t.name)) continue;  // empty file
      const std::string& label = labels_[t.name];
      const std::string tq = d_.QuoteIdentifier(t.name);

      // What each aggregate of the scan means, in order.
      enum class Kind { kNull, kOrphan, kReversed, kUnknownConcept };
      struct Item {
        Kind kind;
        std::string column;
      };
      std::vector<Item> items;
      std::vector<std::string> aggs;
      for (const auto& c : t.columns) {
        if (!c.required) continue;
        items.push_back({Kind::kNull, c.name});
        aggs.push_back(
            fmt::format("count(*) FILTER (WHERE {} IS NULL)", d_.QuoteIdentifier(c.name)));
      }
      if (t.HasPersonId() && t.name != "person") {
        items.push_back({Kind::kOrphan, "person_id"});
        aggs.push_back(
            "count(*) FILTER (WHERE person_id IS NOT NULL AND NOT (person_id IN (SELECT person_id "
            "FROM person WHERE person_id IS NOT NULL)))");
      }
      if (!t.start_date.empty() && !t.end_date.empty()) {
        items.push_back({Kind::kReversed, t.end_date});
        aggs.push_back(fmt::format("count(*) FILTER (WHERE {} < {})", t.end_date, t.start_date));
      }
      if (concepts > 0 && t.category != "vocabulary") {
        for (const auto& c : t.columns) {
          if (!EndsWith(c.name, "_concept_id")) continue;
          items.push_back({Kind::kUnknownConcept, c.name});
          aggs.push_back(fmt::format(
              "count(*) FILTER (WHERE {0} IS NOT NULL AND {0} <> 0 AND NOT ({0} IN (SELECT "
              "concept_id FROM concept WHERE concept_id IS NOT NULL)))",
              d_.QuoteIdentifier(c.name)));
        }
      }
      if (!aggs.empty()) {
        ASSIGN_OR_RETURN(store::Chunk counts,
                         store::QueryAll(src_, "SELECT " + Join(aggs, ", ") + " FROM " + tq));
        for (size_t i = 0; i < items.size(); ++i) {
          const int64_t n = counts.columns[i].ints[0];
          if (n == 0) continue;
          const Item& it = items[i];
          switch (it.kind) {
            case Kind::kNull:
              if (it.column == "person_id") {
                return Status::InvalidArgument(fmt::format(
                    "{}: {} rows have no person_id (column \"person_id\" is required)", label, n));
              }
              report_.warnings.push_back(fmt::format(
                  "{}: {} rows have no value in required column \"{}\"", label, n, it.column));
              break;
            case Kind::kOrphan:
              return Status::InvalidArgument(
                  fmt::format("{}: {} rows refer to a person_id that is not in {}", label, n,
                              labels_["person"]));
            case Kind::kReversed:
              report_.warnings.push_back(fmt::format("{}: {} rows end before they start ({} < {})",
                                                     label, n, t.end_date, t.start_date));
              break;
            case Kind::kUnknownConcept:
              report_.warnings.push_back(fmt::format(
                  "{}: {} rows have a {} that is not in the vocabulary", label, n, it.column));
              break;
          }
        }
      }
      if (!t.start_date.empty() && periods > 0 && t.name != "observation_period" &&
          t.name != "payer_plan_period") {
        ASSIGN_OR_RETURN(
            int64_t outside,
            Count(
                fmt::format("SELECT count(*) FROM {} e WHERE e.{} IS NOT NULL AND NOT EXISTS "
                            "(SELECT 1 FROM observation_period op WHERE op.person_id = e.person_id "
                            "AND e.{} BETWEEN op.observation_period_start_date AND "
                            "op.observation_period_end_date)",
                            tq, t.start_date, t.start_date)));
        if (outside > 0) {
          report_.warnings.push_back(
              fmt::format("{}: {} rows dated outside every observation period of their person",
                          label, outside));
        }
      }
    }
    ASSIGN_OR_RETURN(report_.persons, Count("SELECT count(*) FROM person"));
    ASSIGN_OR_RETURN(store::Chunk range,
                     store::QueryAll(src_,
                                     "SELECT min(observation_period_start_date), "
                                     "max(observation_period_end_date) FROM observation_period"));
    if (!range.columns[0].IsNull(0)) {
      report_.first_date = static_cast<int32_t>(range.columns[0].ints[0]);
      report_.last_date = static_cast<int32_t>(range.columns[1].ints[0]);
    }
    return Status::Ok();
  }

  DataSource& src_;
  const Dialect& d_;
  const OmopIngestOptions& opts_;
  OmopIngestReport report_;
  std::map<std::string, std::string> labels_;  // table -> file name, for loaded tables
};

}  // namespace

Result<OmopIngestReport> IngestOmop(store::DataSource& source, const OmopIngestOptions& options) {
  return Ingester(source, options).Run();
}

}  // namespace passerelle::omop
