// Pseudonymisation at ingest: the key file, the SQL against its C++ reference, and the promise
// that no source identifier of the input reaches the database file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

#include "common/files.h"
#include "common/random.h"
#include "common/strings.h"
#include "omop/archive.h"
#include "omop/ingest.h"
#include "privacy/pseudonymize.h"
#include "store/duckdb_source.h"
#include "store/ingest_table.h"

namespace passerelle::privacy {
namespace {

const std::string kData = PASSERELLE_SHARED_DATA;

SiteKey TestKey(uint64_t seed) {
  SiteKey k;
  DeterministicRandom r(seed);
  r.Fill(k.bytes);
  return k;
}

// Splits one CSV line (double quotes, "" escapes).
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

// Values of `column` in a CSV file (non-empty ones).
std::vector<std::string> CsvColumn(const std::filesystem::path& file, const std::string& column) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  auto header = CsvFields(line);
  auto it = std::find(header.begin(), header.end(), column);
  if (it == header.end()) return {};
  const size_t idx = static_cast<size_t>(it - header.begin());
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    auto f = CsvFields(line);
    if (idx < f.size() && !f[idx].empty()) out.push_back(f[idx]);
  }
  return out;
}

std::string FileBytes(const std::filesystem::path& p) {
  auto s = ReadFileToString(p);
  return s.ok() ? *s : std::string();
}

// The database file and its write-ahead log, if any, as one string of bytes.
std::string DatabaseBytes(const std::filesystem::path& db) {
  return FileBytes(db) + FileBytes(db.string() + ".wal");
}

std::unique_ptr<store::DataSource> Open(const std::filesystem::path& p) {
  auto s = store::OpenDuckDb({.path = p.string(), .threads = 2});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

store::ColumnRewrite Rewrite(std::shared_ptr<Pseudonymizer> ps) {
  return [ps](std::string_view table,
              const std::vector<store::IngestColumn>& cols) -> Result<std::vector<std::string>> {
    std::vector<RewriteColumn> in;
    for (const auto& c : cols) in.push_back({c.name, c.expr, c.sql_type});
    return ps->RewriteColumns(table, in);
  };
}

TEST(Pseudonymize, KeyFileIsPrivateAndNeverOverwritten) {
  auto dir = TempDir::Create().value();
  const auto path = dir.path() / "site.key";
  DeterministicRandom r(1);
  ASSERT_TRUE(WriteNewSiteKeyFile(path, r).ok());
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600);
  auto key = ReadSiteKeyFile(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string before = FileBytes(path);
  EXPECT_EQ(WriteNewSiteKeyFile(path, r).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(FileBytes(path), before);
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(ReadSiteKeyFile(path).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadSiteKeyFile(dir.path() / "absent").status().code(), StatusCode::kNotFound);
  const auto bad = dir.path() / "bad.key";
  ASSERT_TRUE(WriteFileAtomic(bad, "passerelle-site-key-v1\nnothex\n").ok());
  ::chmod(bad.c_str(), 0600);
  EXPECT_EQ(ReadSiteKeyFile(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(Pseudonymize, SqlMatchesTheReferenceImplementation) {
  const SiteKey key = TestKey(2);
  const PseudonymKeys keys = DerivePseudonymKeys(key);
  auto ps = Pseudonymizer::ForTable(key, {.shift_dates_max_days = 180, .id_columns = {"x"}});
  ASSERT_TRUE(ps.ok());
  auto db = store::OpenDuckDb({}).value();
  for (std::string v : {"1007c05b-8d20-8fe6-6790-44622f8316df", "Zoé Tremblay", "123", "x"}) {
    const std::string lit = db->dialect().QuoteLiteral(v);
    auto row =
        store::QueryAll(*db, "SELECT " + ps->PseudonymSql(lit) + ", " + ps->DateShiftSql(lit));
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    EXPECT_EQ(row->columns[0].strings[0], Pseudonym(keys, v)) << v;
    EXPECT_EQ(row->columns[1].ints[0], DateShiftDays(keys, v, 180)) << v;
  }
  // An integer is hashed as its decimal text.
  auto row = store::QueryAll(*db, "SELECT " + ps->PseudonymSql("CAST(123 AS BIGINT)"));
  EXPECT_EQ(row->columns[0].strings[0], Pseudonym(keys, "123"));
  // Properties: 32 hex characters, key-dependent, shifts spread over [-D, D].
  EXPECT_EQ(Pseudonym(keys, "a").size(), 32u);
  EXPECT_NE(Pseudonym(keys, "a"), Pseudonym(DerivePseudonymKeys(TestKey(3)), "a"));
  std::set<int32_t> shifts;
  for (int i = 0; i < 2000; ++i) {
    const int32_t s = DateShiftDays(keys, std::to_string(i), 5);
    EXPECT_LE(std::abs(s), 5);
    shifts.insert(s);
  }
  EXPECT_EQ(shifts.size(), 11u);
}

// Eunomia (its identifying tables) ingested twice, once as read and once pseudonymised with dates
// shifted by up to 60 days, with uncompressed storage so that an identifier left in a file is found
// by a byte search. (ctest runs each test in its own process, so the two ingests are done once, in
// one test.)
class PseudonymizeOmop : public ::testing::Test {
 protected:
  static constexpr int32_t kShift = 60;
  static void SetUpTestSuite() {
    dir_ = new TempDir(TempDir::Create().value());
    plain_ = dir_->path() / "plain.duckdb";
    pseudo_ = dir_->path() / "pseudo.duckdb";
    key_ = new SiteKey(TestKey(4));
    // The tables of Eunomia that carry identifiers, dates and free text (the vocabulary and the
    // large event tables only make the ingest slower).
    unpacked_ = dir_->path() / "csv";
    const auto subset = dir_->path() / "subset";
    std::filesystem::create_directories(unpacked_);
    std::filesystem::create_directories(subset);
    ASSERT_TRUE(omop::ExtractZip(kData + "/eunomia/Synthea27Nj_5.4.zip", unpacked_).ok());
    for (std::string t :
         {"PERSON", "OBSERVATION_PERIOD", "VISIT_OCCURRENCE", "VISIT_DETAIL", "PROVIDER",
          "CARE_SITE", "LOCATION", "NOTE", "NOTE_NLP", "DEATH", "CONDITION_OCCURRENCE",
          "DEVICE_EXPOSURE", "SPECIMEN", "PAYER_PLAN_PERIOD"}) {
      std::filesystem::copy_file(unpacked_ / (t + ".csv"), subset / (t + ".csv"));
    }
    for (bool pseudonymise : {false, true}) {
      auto db = Open(pseudonymise ? pseudo_ : plain_);
      ASSERT_TRUE(db->Execute("SET force_compression = 'uncompressed'").ok());
      omop::OmopIngestOptions o;
      o.from = subset;
      if (pseudonymise) {
        auto ps = Pseudonymizer::ForOmop(*key_, {.shift_dates_max_days = kShift});
        ASSERT_TRUE(ps.ok());
        o.rewrite = Rewrite(std::make_shared<Pseudonymizer>(std::move(ps).value()));
      }
      auto r = omop::IngestOmop(*db, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->persons, 28);
      ASSERT_TRUE(db->Execute("CHECKPOINT").ok());
    }
  }
  static void TearDownTestSuite() {
    delete key_;
    delete dir_;
  }
  static TempDir* dir_;
  static SiteKey* key_;
  static std::filesystem::path plain_, pseudo_, unpacked_;
};
TempDir* PseudonymizeOmop::dir_ = nullptr;
SiteKey* PseudonymizeOmop::key_ = nullptr;
std::filesystem::path PseudonymizeOmop::plain_, PseudonymizeOmop::pseudo_,
    PseudonymizeOmop::unpacked_;

// Which of `needles` occur in `hay`: one pass over the bytes with an index on each needle's
// first 8 bytes (needles are at least 8 bytes long).
std::set<std::string> Occurring(const std::string& hay, const std::vector<std::string>& needles) {
  std::map<std::string_view, std::vector<const std::string*>> by_prefix;
  for (const auto& n : needles) by_prefix[std::string_view(n).substr(0, 8)].push_back(&n);
  std::set<std::string> out;
  for (size_t i = 0; i + 8 <= hay.size(); ++i) {
    auto it = by_prefix.find(std::string_view(hay).substr(i, 8));
    if (it == by_prefix.end()) continue;
    for (const std::string* n : it->second) {
      if (hay.compare(i, n->size(), *n) == 0) out.insert(*n);
    }
  }
  return out;
}

void ExpectOneShiftPerPerson(const std::filesystem::path& plain_,
                             const std::filesystem::path& pseudo_, const SiteKey& key, int32_t D);

TEST_F(PseudonymizeOmop, NoSourceIdentifierInTheDatabaseFileAndOneDateShiftPerPerson) {
  // Every identifier and free-text value of the input (listed here independently of the
  // implementation's rules, so that a rule dropped by mistake fails this test).
  const std::vector<std::pair<std::string, std::string>> identifying = {
      {"PERSON", "person_source_value"},
      {"PROVIDER", "provider_source_value"},
      {"PROVIDER", "provider_name"},
      {"PROVIDER", "npi"},
      {"PROVIDER", "dea"},
      {"CARE_SITE", "care_site_source_value"},
      {"LOCATION", "location_source_value"},
      {"LOCATION", "address_1"},
      {"VISIT_OCCURRENCE", "visit_source_value"},
      {"VISIT_DETAIL", "visit_detail_source_value"},
      {"NOTE", "note_text"},
      {"NOTE", "note_source_value"},
      {"SPECIMEN", "specimen_source_id"},
      {"DEVICE_EXPOSURE", "unique_device_id"},
  };
  std::vector<std::string> secrets;
  for (const auto& [table, column] : identifying) {
    for (auto& v : CsvColumn(unpacked_ / (table + ".csv"), column)) {
      if (v.size() >= 8) secrets.push_back(v);  // short codes ("M", "0") prove nothing
    }
  }
  std::sort(secrets.begin(), secrets.end());
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  ASSERT_GT(secrets.size(), 1000u);  // person, provider, visit source values and names
  // The search works: on the file loaded as read, it finds nearly all of them.
  EXPECT_GT(Occurring(DatabaseBytes(plain_), secrets).size(), secrets.size() * 9 / 10);
  auto leaked = Occurring(DatabaseBytes(pseudo_), secrets);
  EXPECT_TRUE(leaked.empty()) << leaked.size() << " source values in the file, e.g. \""
                              << (leaked.empty() ? "" : *leaked.begin()) << "\"";
  // The pseudonyms are the keyed hashes of the source values.
  const PseudonymKeys keys = DerivePseudonymKeys(*key_);
  auto db = store::OpenDuckDb({.path = pseudo_.string(), .read_only = true}).value();
  auto persons =
      store::QueryAll(*db, "SELECT person_source_value FROM person ORDER BY person_id").value();
  auto source = CsvColumn(unpacked_ / "PERSON.csv", "person_source_value");
  ASSERT_EQ(persons.size(), 28u);
  std::set<std::string> expected;
  for (const auto& s : source) expected.insert(Pseudonym(keys, s));
  for (const auto& p : persons.columns[0].strings) EXPECT_TRUE(expected.count(p)) << p;
  auto names = store::QueryInt(*db, "SELECT count(provider_name) FROM provider").value();
  EXPECT_EQ(names, 0);
  db.reset();
  ExpectOneShiftPerPerson(plain_, pseudo_, *key_, kShift);
}

void ExpectOneShiftPerPerson(const std::filesystem::path& plain_,
                             const std::filesystem::path& pseudo_, const SiteKey& key, int32_t D) {
  const PseudonymKeys keys = DerivePseudonymKeys(key);
  auto plain = store::OpenDuckDb({.path = plain_.string(), .read_only = true}).value();
  auto pseudo = store::OpenDuckDb({.path = pseudo_.string(), .read_only = true}).value();
  auto rows = [](store::DataSource& db, const std::string& sql) {
    return store::QueryAll(db, sql).value();
  };
  const std::string visits =
      "SELECT visit_occurrence_id, person_id, visit_start_date, visit_end_date, "
      "epoch_us(visit_start_datetime) FROM visit_occurrence ORDER BY visit_occurrence_id";
  auto a = rows(*plain, visits), b = rows(*pseudo, visits);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 100u);
  std::set<int64_t> distinct_shifts;
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t person = a.columns[1].ints[i];
    const int64_t want = DateShiftDays(keys, std::to_string(person), D);
    EXPECT_EQ(b.columns[2].ints[i] - a.columns[2].ints[i], want);
    EXPECT_EQ(b.columns[3].ints[i] - a.columns[3].ints[i], want);  // the stay length is kept
    if (!a.columns[4].IsNull(i)) {
      EXPECT_EQ(b.columns[4].ints[i] - a.columns[4].ints[i], want * 86400000000LL);
    }
    distinct_shifts.insert(want);
  }
  EXPECT_GT(distinct_shifts.size(), 10u);
  // Birth dates move with the person; the year of birth follows the shifted date.
  const std::string births =
      "SELECT person_id, make_date(year_of_birth, month_of_birth, day_of_birth), "
      "epoch_us(birth_datetime) FROM person ORDER BY person_id";
  auto pa = rows(*plain, births), pb = rows(*pseudo, births);
  for (size_t i = 0; i < pa.size(); ++i) {
    const int64_t want = DateShiftDays(keys, std::to_string(pa.columns[0].ints[i]), D);
    EXPECT_EQ(pb.columns[1].ints[i] - pa.columns[1].ints[i], want);
    EXPECT_EQ(pb.columns[2].ints[i] - pa.columns[2].ints[i], want * 86400000000LL);
  }
}

TEST(Pseudonymize, FlatTableIdentifiersFreeTextAndDates) {
  auto dir = TempDir::Create().value();
  const auto csv = dir.path() / "cohort.csv";
  ASSERT_TRUE(WriteFileAtomic(csv,
                              "nir,nom,date_visite,commentaire,age\n"
                              "2850575123456,Jeanne Dupont-Lefebvre,2021-03-04,\"rappeler sa "
                              "fille au 0612345678\",36\n"
                              "1790231987654,Marc-Antoine Gagnon,2021-05-06,aucun souci,42\n"
                              "2850575123456,Jeanne Dupont-Lefebvre,2021-04-04,,36\n")
                  .ok());
  const SiteKey key = TestKey(6);
  auto ps = Pseudonymizer::ForTable(
      key,
      {.shift_dates_max_days = 30, .id_columns = {"nir", "nom"}, .drop_columns = {"commentaire"}});
  ASSERT_TRUE(ps.ok());
  const auto path = dir.path() / "node.duckdb";
  {
    auto db = Open(path);
    ASSERT_TRUE(db->Execute("SET force_compression = 'uncompressed'").ok());
    store::TableIngestOptions o;
    o.name = "cohort";
    o.from = csv;
    o.rewrite = Rewrite(std::make_shared<Pseudonymizer>(std::move(ps).value()));
    auto r = store::IngestTable(*db, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->rows, 3);
    ASSERT_TRUE(db->Execute("CHECKPOINT").ok());
  }
  const std::string bytes = DatabaseBytes(path);
  for (std::string s : {"2850575123456", "1790231987654", "Jeanne Dupont-Lefebvre",
                        "Marc-Antoine Gagnon", "0612345678", "aucun souci"}) {
    EXPECT_EQ(bytes.find(s), std::string::npos) << s;
  }
  const PseudonymKeys keys = DerivePseudonymKeys(key);
  auto db = store::OpenDuckDb({.path = path.string(), .read_only = true}).value();
  auto t = store::QueryAll(*db,
                           "SELECT nir, nom, date_visite, commentaire, age FROM cohort ORDER BY "
                           "rowid")
               .value();
  EXPECT_EQ(t.columns[0].strings[0], Pseudonym(keys, "2850575123456"));
  EXPECT_EQ(t.columns[0].strings[0], t.columns[0].strings[2]);  // joins still work
  EXPECT_EQ(t.columns[1].strings[1], Pseudonym(keys, "Marc-Antoine Gagnon"));
  EXPECT_TRUE(t.columns[3].IsNull(0) && t.columns[3].IsNull(1) && t.columns[3].IsNull(2));
  EXPECT_EQ(t.columns[2].ints[2] - t.columns[2].ints[0], 31);  // interval within a person kept
  const int32_t shift = DateShiftDays(keys, "2850575123456", 30);
  EXPECT_EQ(t.columns[2].ints[0], 18690 + shift);  // 2021-03-04 is day 18690
  EXPECT_EQ(t.columns[4].ints[1], 42);             // other columns untouched
}

TEST(Pseudonymize, BadColumnListsAreRefusedBeforeAnythingIsStored) {
  auto dir = TempDir::Create().value();
  const auto csv = dir.path() / "t.csv";
  ASSERT_TRUE(WriteFileAtomic(csv, "id,x\n1,2\n").ok());
  const SiteKey key = TestKey(7);
  auto ps = Pseudonymizer::ForTable(key, {.id_columns = {"patient"}}).value();
  auto db = Open(dir.path() / "n.duckdb");
  store::TableIngestOptions o;
  o.name = "t";
  o.from = csv;
  o.rewrite = Rewrite(std::make_shared<Pseudonymizer>(ps));
  auto r = store::IngestTable(*db, o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("\"patient\""), std::string::npos);
  EXPECT_FALSE(db->HasTable("t").value());
  EXPECT_FALSE(Pseudonymizer::ForTable(key, {}).ok());
  EXPECT_FALSE(Pseudonymizer::ForTable(key, {.shift_dates_max_days = 5}).ok());
  EXPECT_FALSE(
      Pseudonymizer::ForTable(key, {.shift_dates_max_days = 99999, .id_columns = {"a"}}).ok());
  EXPECT_FALSE(Pseudonymizer::ForOmop(key, {.id_columns = {"a"}}).ok());
}

}  // namespace
}  // namespace passerelle::privacy
