#include "governance/catalog.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/date.h"
#include "common/strings.h"
#include "governance/schema.h"

namespace passerelle::governance {
namespace {

using nlohmann::json;

constexpr size_t kMaxText = 20000;       // characters of one text field
constexpr size_t kMaxTables = 1000;      // tables per dataset
constexpr size_t kMaxVariables = 10000;  // variables per table
constexpr size_t kMaxList = 1000;        // keywords / concepts per list

constexpr SqliteMigration kCatalogMigrations[] = {
    {1, R"sql(
CREATE TABLE catalog_datasets (
  node TEXT NOT NULL,
  name TEXT NOT NULL,
  title TEXT NOT NULL,
  jurisdiction TEXT,
  description_json TEXT NOT NULL,
  search_text TEXT NOT NULL,
  variables_text TEXT NOT NULL,
  concepts_text TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (node, name)
);
CREATE TABLE catalog_variables (
  node TEXT NOT NULL,
  dataset TEXT NOT NULL,
  variable_lc TEXT NOT NULL,
  PRIMARY KEY (node, dataset, variable_lc)
);
CREATE TABLE catalog_concepts (
  node TEXT NOT NULL,
  dataset TEXT NOT NULL,
  concept_lc TEXT NOT NULL,
  PRIMARY KEY (node, dataset, concept_lc)
);
)sql"},
};

constexpr std::string_view kCreateFts =
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_fts USING fts5("
    "node UNINDEXED, name UNINDEXED, words, variables, concepts, "
    "tokenize = 'unicode61 remove_diacritics 2')";

// ---- JSON ----------------------------------------------------------------------------------

class Reader {
 public:
  Reader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status Keys(std::initializer_list<std::string_view> allowed,
              std::initializer_list<std::string_view> ignored = {}) const {
    if (!j_.is_object()) return Err("must be an object");
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool ok = false;
      for (auto a : allowed) ok = ok || it.key() == a;
      for (auto a : ignored) ok = ok || it.key() == a;
      if (!ok)
        return Status::InvalidArgument(
            fmt::format("{}: unknown key \"{}\"", P(it.key()), it.key()));
    }
    return Status::Ok();
  }
  Status Str(const char* key, std::string& out, bool required) const {
    if (!j_.contains(key)) {
      return required ? Status::InvalidArgument(fmt::format("{}: required", P(key))) : Status::Ok();
    }
    if (!j_[key].is_string())
      return Status::InvalidArgument(fmt::format("{}: must be a string", P(key)));
    out = j_[key].get<std::string>();
    if (out.size() > kMaxText) {
      return Status::InvalidArgument(fmt::format("{}: longer than {} bytes", P(key), kMaxText));
    }
    return Status::Ok();
  }
  Status StrList(const char* key, std::vector<std::string>& out) const {
    if (!j_.contains(key)) return Status::Ok();
    const json& a = j_[key];
    if (!a.is_array()) return Status::InvalidArgument(fmt::format("{}: must be an array", P(key)));
    if (a.size() > kMaxList) {
      return Status::InvalidArgument(fmt::format("{}: more than {} items", P(key), kMaxList));
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string() || a[i].get<std::string>().empty()) {
        return Status::InvalidArgument(
            fmt::format("{}[{}]: must be a non-empty string", P(key), i));
      }
      out.push_back(a[i].get<std::string>());
    }
    return Status::Ok();
  }
  Status Count(const char* key, std::optional<PublishedCount>& out) const {
    if (!j_.contains(key) || j_[key].is_null()) return Status::Ok();
    const json& v = j_[key];
    if (v.is_string() && v.get<std::string>() == "suppressed") {
      out = PublishedCount{};
      return Status::Ok();
    }
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return Status::InvalidArgument(
          fmt::format("{}: must be a non-negative integer or \"suppressed\"", P(key)));
    }
    out = PublishedCount{v.get<int64_t>()};
    return Status::Ok();
  }
  Status Date(const json& obj, const char* key, std::optional<int32_t>& out,
              const std::string& path) const {
    if (!obj.contains(key)) return Status::Ok();
    if (!obj[key].is_string()) {
      return Status::InvalidArgument(fmt::format("{}.{}: must be \"YYYY-MM-DD\"", path, key));
    }
    auto d = ParseDate(obj[key].get<std::string>());
    if (!d.ok())
      return Status::InvalidArgument(fmt::format("{}.{}: {}", path, key, d.status().message()));
    out = *d;
    return Status::Ok();
  }
  std::string P(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  Status Err(std::string_view what) const {
    return Status::InvalidArgument(
        fmt::format("{}: {}", path_.empty() ? "description" : path_, what));
  }

 private:
  const json& j_;
  std::string path_;
};

json CountJson(const std::optional<PublishedCount>& c) {
  if (!c) return nullptr;
  if (c->suppressed()) return "suppressed";
  return *c->value;
}

void ProtectOne(std::optional<PublishedCount>& c, const CountDisclosure& rule) {
  if (!c || c->suppressed()) return;
  int64_t v = *c->value;
  if (v == 0) return;
  if (v < rule.min_cell) {
    c->value.reset();
    return;
  }
  if (rule.round_to > 1) {
    int64_t r = (v + rule.round_to / 2) / rule.round_to * rule.round_to;
    while (r < rule.min_cell) r += rule.round_to;
    c->value = r;
  }
}

Status CheckOne(const std::optional<PublishedCount>& c, int64_t min_cell, const std::string& path,
                const DatasetDescription& d) {
  if (c && c->value && *c->value > 0 && *c->value < min_cell) {
    return RuleViolation(
        StatusCode::kInvalidArgument, rule::kCatalogCounts,
        fmt::format("{}: {}: a count of {} is below the minimum cell size {}; publish it as "
                    "\"suppressed\" (the node's disclosure rules must run before publishing)",
                    d.Ref(), path, *c->value, min_cell));
  }
  return Status::Ok();
}

// Words FTS5 and LIKE search over: the description's own text.
std::string SearchText(const DatasetDescription& d) {
  std::string s = d.title + " " + d.description + " " + d.population + " " + d.name;
  for (const auto& k : d.keywords) s += " " + k;
  for (const auto& t : d.tables) {
    s += " " + t.name + " " + t.description;
    for (const auto& v : t.variables) s += " " + v.description;
  }
  return s;
}

std::string VariablesText(const DatasetDescription& d) {
  std::string s;
  for (const auto& t : d.tables) {
    for (const auto& v : t.variables) s += v.name + " ";
  }
  return s;
}

std::set<std::string> Concepts(const DatasetDescription& d) {
  std::set<std::string> out;
  for (const auto& t : d.tables) {
    for (const auto& v : t.variables) {
      for (const auto& c : v.concepts) out.insert(c);
    }
  }
  return out;
}

// Words of a query: runs of ASCII letters and digits or non-ASCII bytes (UTF-8 letters).
std::vector<std::string> QueryWords(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) {
      cur.push_back(ch);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string LikePattern(std::string_view word) {
  std::string p = "%";
  for (char c : AsciiLower(word)) {
    if (c == '%' || c == '_' || c == '\\') p.push_back('\\');
    p.push_back(c);
  }
  return p + "%";
}

std::optional<Jurisdiction> JurisdictionColumn(Statement& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  auto j = ParseJurisdiction(st.ColumnText(col));
  if (!j.ok()) return std::nullopt;
  return *j;
}

}  // namespace

Result<DatasetDescription> ParseDatasetDescription(std::string_view json_text) {
  json j;
  try {
    j = json::parse(json_text, nullptr, true, false);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(fmt::format("dataset description: not JSON ({})", e.what()));
  }
  DatasetDescription d;
  Reader r(j, "");
  RETURN_IF_ERROR(r.Keys({"node", "name", "title", "description", "population", "coverage",
                          "keywords", "persons", "tables"},
                         {"jurisdiction", "published_at", "version"}));
  RETURN_IF_ERROR(r.Str("node", d.node, true));
  RETURN_IF_ERROR(r.Str("name", d.name, true));
  RETURN_IF_ERROR(ValidateId(d.node, "node"));
  RETURN_IF_ERROR(ValidateId(d.name, "dataset name"));
  RETURN_IF_ERROR(r.Str("title", d.title, true));
  if (Trim(d.title).empty()) return Status::InvalidArgument("title: must not be empty");
  RETURN_IF_ERROR(r.Str("description", d.description, false));
  RETURN_IF_ERROR(r.Str("population", d.population, false));
  RETURN_IF_ERROR(r.StrList("keywords", d.keywords));
  RETURN_IF_ERROR(r.Count("persons", d.persons));
  if (j.contains("coverage")) {
    const json& c = j["coverage"];
    Reader cr(c, "coverage");
    RETURN_IF_ERROR(cr.Keys({"from", "to"}));
    RETURN_IF_ERROR(cr.Date(c, "from", d.coverage_from, "coverage"));
    RETURN_IF_ERROR(cr.Date(c, "to", d.coverage_to, "coverage"));
    if (d.coverage_from && d.coverage_to && *d.coverage_from > *d.coverage_to) {
      return Status::InvalidArgument(fmt::format("coverage: \"from\" ({}) is after \"to\" ({})",
                                                 FormatDate(*d.coverage_from),
                                                 FormatDate(*d.coverage_to)));
    }
  }
  if (j.contains("tables")) {
    const json& tables = j["tables"];
    if (!tables.is_array()) return Status::InvalidArgument("tables: must be an array");
    if (tables.size() > kMaxTables) {
      return Status::InvalidArgument(fmt::format("tables: more than {}", kMaxTables));
    }
    std::set<std::string> table_names;
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      std::string tpath = fmt::format("tables[{}]", ti);
      Reader tr(tables[ti], tpath);
      RETURN_IF_ERROR(tr.Keys({"name", "description", "rows", "variables"}));
      CatalogTable t;
      RETURN_IF_ERROR(tr.Str("name", t.name, true));
      if (t.name.empty()) return Status::InvalidArgument(tpath + ".name: must not be empty");
      if (!table_names.insert(t.name).second) {
        return Status::InvalidArgument(fmt::format("{}.name: table \"{}\" twice", tpath, t.name));
      }
      RETURN_IF_ERROR(tr.Str("description", t.description, false));
      RETURN_IF_ERROR(tr.Count("rows", t.rows));
      if (tables[ti].contains("variables")) {
        const json& vars = tables[ti]["variables"];
        if (!vars.is_array())
          return Status::InvalidArgument(tpath + ".variables: must be an array");
        if (vars.size() > kMaxVariables) {
          return Status::InvalidArgument(
              fmt::format("{}.variables: more than {}", tpath, kMaxVariables));
        }
        for (size_t vi = 0; vi < vars.size(); ++vi) {
          std::string vpath = fmt::format("{}.variables[{}]", tpath, vi);
          Reader vr(vars[vi], vpath);
          RETURN_IF_ERROR(vr.Keys({"name", "type", "description", "concepts", "non_null"}));
          CatalogVariable v;
          RETURN_IF_ERROR(vr.Str("name", v.name, true));
          if (v.name.empty()) return Status::InvalidArgument(vpath + ".name: must not be empty");
          RETURN_IF_ERROR(vr.Str("type", v.type, false));
          RETURN_IF_ERROR(vr.Str("description", v.description, false));
          RETURN_IF_ERROR(vr.StrList("concepts", v.concepts));
          RETURN_IF_ERROR(vr.Count("non_null", v.non_null));
          t.variables.push_back(std::move(v));
        }
      }
      d.tables.push_back(std::move(t));
    }
  }
  return d;
}

std::string DatasetDescriptionToJson(const DatasetDescription& d) {
  json j{{"node", d.node},
         {"name", d.name},
         {"title", d.title},
         {"description", d.description},
         {"population", d.population},
         {"keywords", d.keywords}};
  if (d.coverage_from || d.coverage_to) {
    json c = json::object();
    if (d.coverage_from) c["from"] = FormatDate(*d.coverage_from);
    if (d.coverage_to) c["to"] = FormatDate(*d.coverage_to);
    j["coverage"] = c;
  }
  if (d.persons) j["persons"] = CountJson(d.persons);
  json tables = json::array();
  for (const auto& t : d.tables) {
    json tj{{"name", t.name}, {"description", t.description}};
    if (t.rows) tj["rows"] = CountJson(t.rows);
    json vars = json::array();
    for (const auto& v : t.variables) {
      json vj{{"name", v.name},
              {"type", v.type},
              {"description", v.description},
              {"concepts", v.concepts}};
      if (v.non_null) vj["non_null"] = CountJson(v.non_null);
      vars.push_back(vj);
    }
    tj["variables"] = vars;
    tables.push_back(tj);
  }
  j["tables"] = tables;
  if (d.jurisdiction) j["jurisdiction"] = JurisdictionName(*d.jurisdiction);
  if (d.version > 0) {
    j["version"] = d.version;
    j["published_at"] = d.published_at;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void ProtectCounts(DatasetDescription& d, const CountDisclosure& rule) {
  ProtectOne(d.persons, rule);
  for (auto& t : d.tables) {
    ProtectOne(t.rows, rule);
    for (auto& v : t.variables) ProtectOne(v.non_null, rule);
  }
}

Status CheckCountsProtected(const DatasetDescription& d, int64_t min_cell) {
  RETURN_IF_ERROR(CheckOne(d.persons, min_cell, "persons", d));
  for (size_t ti = 0; ti < d.tables.size(); ++ti) {
    const auto& t = d.tables[ti];
    RETURN_IF_ERROR(CheckOne(t.rows, min_cell, fmt::format("tables[{}].rows", ti), d));
    for (size_t vi = 0; vi < t.variables.size(); ++vi) {
      RETURN_IF_ERROR(CheckOne(t.variables[vi].non_null, min_cell,
                               fmt::format("tables[{}].variables[{}].non_null", ti, vi), d));
    }
  }
  return Status::Ok();
}

// ---- store -----------------------------------------------------------------------------------

Result<std::unique_ptr<CatalogStore>> CatalogStore::Open(SqliteDb& db, Clock& clock,
                                                         const CatalogOptions& options) {
  RETURN_IF_ERROR(MigrateComponent(db, "catalog", kCatalogMigrations));
  bool fts5 = false;
  if (options.search != CatalogSearchMode::kLike) {
    Status st = db.Execute(kCreateFts);
    if (st.ok()) {
      fts5 = true;
      // The index is derived data: rebuild it, so that it is right even after a period of
      // LIKE-only use of the same file.
      ASSIGN_OR_RETURN(SqliteTransaction tx, SqliteTransaction::Begin(db));
      RETURN_IF_ERROR(db.Execute(
          "DELETE FROM catalog_fts; INSERT INTO catalog_fts(node, name, words, variables, "
          "concepts) SELECT node, name, search_text, variables_text, concepts_text FROM "
          "catalog_datasets"));
      RETURN_IF_ERROR(tx.Commit());
    } else if (options.search == CatalogSearchMode::kFts5) {
      return st.WithContext("catalog: FTS5 was asked for but this SQLite cannot create it");
    }
  }
  return std::unique_ptr<CatalogStore>(new CatalogStore(db, clock, options, fts5));
}

Status CatalogStore::IndexFts(const DatasetDescription& d) {
  if (!fts5_) return Status::Ok();
  ASSIGN_OR_RETURN(Statement del,
                   db_.Prepare("DELETE FROM catalog_fts WHERE node = ?1 AND name = ?2"));
  del.Bind(1, d.node).Bind(2, d.name);
  RETURN_IF_ERROR(del.Run().status());
  ASSIGN_OR_RETURN(Statement ins,
                   db_.Prepare("INSERT INTO catalog_fts(node, name, words, variables, "
                               "concepts) VALUES(?1, ?2, ?3, ?4, ?5)"));
  std::string concepts;
  for (const auto& c : Concepts(d)) concepts += c + " ";
  ins.Bind(1, d.node)
      .Bind(2, d.name)
      .Bind(3, SearchText(d))
      .Bind(4, VariablesText(d))
      .Bind(5, concepts);
  return ins.Run().status();
}

Result<DatasetDescription> CatalogStore::Publish(DatasetDescription d,
                                                 std::optional<Jurisdiction> jurisdiction) {
  RETURN_IF_ERROR(ValidateId(d.node, "node"));
  RETURN_IF_ERROR(ValidateId(d.name, "dataset name"));
  RETURN_IF_ERROR(CheckCountsProtected(d, options_.min_cell));
  ASSIGN_OR_RETURN(Savepoint tx, Savepoint::Begin(db_, "catalog_publish"));
  ASSIGN_OR_RETURN(
      Statement cur,
      db_.Prepare("SELECT version FROM catalog_datasets WHERE node = ?1 AND name = ?2"));
  cur.Bind(1, d.node).Bind(2, d.name);
  ASSIGN_OR_RETURN(bool exists, cur.Step());
  d.version = exists ? cur.ColumnInt(0) + 1 : 1;
  d.published_at = clock_.NowMicros();
  d.jurisdiction = jurisdiction;
  std::string concepts;
  std::set<std::string> concept_set = Concepts(d);
  for (const auto& c : concept_set) concepts += c + " ";
  ASSIGN_OR_RETURN(
      Statement up,
      db_.Prepare("INSERT INTO catalog_datasets(node, name, title, jurisdiction, description_json, "
                  "search_text, variables_text, concepts_text, published_at, version) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                  "ON CONFLICT(node, name) DO UPDATE SET title = excluded.title, jurisdiction = "
                  "excluded.jurisdiction, description_json = excluded.description_json, "
                  "search_text = excluded.search_text, variables_text = excluded.variables_text, "
                  "concepts_text = excluded.concepts_text, published_at = excluded.published_at, "
                  "version = excluded.version"));
  up.Bind(1, d.node).Bind(2, d.name).Bind(3, d.title);
  if (jurisdiction) {
    up.Bind(4, JurisdictionName(*jurisdiction));
  } else {
    up.BindNull(4);
  }
  up.Bind(5, DatasetDescriptionToJson(d))
      .Bind(6, SearchText(d))
      .Bind(7, VariablesText(d))
      .Bind(8, concepts)
      .Bind(9, d.published_at)
      .Bind(10, d.version);
  RETURN_IF_ERROR(up.Run().status());
  for (const char* table : {"catalog_variables", "catalog_concepts"}) {
    ASSIGN_OR_RETURN(Statement del, db_.Prepare(fmt::format(
                                        "DELETE FROM {} WHERE node = ?1 AND dataset = ?2", table)));
    del.Bind(1, d.node).Bind(2, d.name);
    RETURN_IF_ERROR(del.Run().status());
  }
  ASSIGN_OR_RETURN(Statement var, db_.Prepare("INSERT OR IGNORE INTO catalog_variables(node, "
                                              "dataset, variable_lc) VALUES(?1, ?2, ?3)"));
  for (const auto& t : d.tables) {
    for (const auto& v : t.variables) {
      var.Reset();
      var.Bind(1, d.node).Bind(2, d.name).Bind(3, AsciiLower(v.name));
      RETURN_IF_ERROR(var.Run().status());
    }
  }
  ASSIGN_OR_RETURN(Statement con, db_.Prepare("INSERT OR IGNORE INTO catalog_concepts(node, "
                                              "dataset, concept_lc) VALUES(?1, ?2, ?3)"));
  for (const auto& c : concept_set) {
    con.Reset();
    con.Bind(1, d.node).Bind(2, d.name).Bind(3, AsciiLower(c));
    RETURN_IF_ERROR(con.Run().status());
  }
  RETURN_IF_ERROR(IndexFts(d));
  RETURN_IF_ERROR(tx.Release());
  return d;
}

Result<DatasetDescription> CatalogStore::Get(std::string_view node, std::string_view name) {
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare("SELECT description_json, jurisdiction, published_at, version FROM "
                               "catalog_datasets WHERE node = ?1 AND name = ?2"));
  st.Bind(1, node).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(fmt::format("dataset {}/{} is not in the catalog", node, name));
  }
  ASSIGN_OR_RETURN(DatasetDescription d, ParseDatasetDescription(st.ColumnText(0)));
  d.jurisdiction = JurisdictionColumn(st, 1);
  d.published_at = st.ColumnInt(2);
  d.version = st.ColumnInt(3);
  return d;
}

Result<bool> CatalogStore::Exists(std::string_view node, std::string_view name) {
  ASSIGN_OR_RETURN(Statement st,
                   db_.Prepare("SELECT 1 FROM catalog_datasets WHERE node = ?1 AND name = ?2"));
  st.Bind(1, node).Bind(2, name);
  return st.Step();
}

Result<std::vector<CatalogHit>> CatalogStore::Search(const CatalogQuery& q) {
  if (q.limit < 1 || q.limit > 1000) {
    return Status::InvalidArgument(
        fmt::format("catalog search: limit {} is not in 1..1000", q.limit));
  }
  std::vector<std::string> words = QueryWords(q.text);
  std::vector<std::string> binds;
  auto param = [&](std::string v) {
    binds.push_back(std::move(v));
    return fmt::format("?{}", binds.size());
  };
  std::string sql;
  bool fts = fts5_ && !words.empty();
  if (fts) {
    std::string match;
    for (const auto& w : words) {
      if (!match.empty()) match.push_back(' ');
      match.append("\"").append(w).append("\"*");
    }
    sql =
        "SELECT d.node, d.name, d.title, d.jurisdiction, -bm25(catalog_fts) FROM catalog_fts "
        "JOIN catalog_datasets d ON d.node = catalog_fts.node AND d.name = catalog_fts.name "
        "WHERE catalog_fts MATCH " +
        param(match);
  } else {
    sql = "SELECT d.node, d.name, d.title, d.jurisdiction, 0.0 FROM catalog_datasets d WHERE 1";
    for (const auto& w : words) {
      sql +=
          " AND lower(d.search_text || ' ' || d.variables_text || ' ' || d.concepts_text) LIKE " +
          param(LikePattern(w)) + " ESCAPE '\\'";
    }
  }
  for (const auto& v : q.variables) {
    sql +=
        " AND EXISTS (SELECT 1 FROM catalog_variables v WHERE v.node = d.node AND v.dataset = "
        "d.name AND v.variable_lc = " +
        param(AsciiLower(v)) + ")";
  }
  for (const auto& c : q.concepts) {
    sql +=
        " AND EXISTS (SELECT 1 FROM catalog_concepts c WHERE c.node = d.node AND c.dataset = "
        "d.name AND c.concept_lc = " +
        param(AsciiLower(c)) + ")";
  }
  if (q.jurisdiction)
    sql += " AND d.jurisdiction = " + param(std::string(JurisdictionName(*q.jurisdiction)));
  sql += fts ? " ORDER BY bm25(catalog_fts), d.node, d.name" : " ORDER BY d.node, d.name";
  sql += fmt::format(" LIMIT {}", q.limit);
  ASSIGN_OR_RETURN(Statement st, db_.Prepare(sql));
  for (size_t i = 0; i < binds.size(); ++i) st.Bind(static_cast<int>(i) + 1, binds[i]);
  std::vector<CatalogHit> hits;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    hits.push_back(CatalogHit{st.ColumnText(0), st.ColumnText(1), st.ColumnText(2),
                              JurisdictionColumn(st, 3), st.ColumnDouble(4)});
  }
  return hits;
}

Result<std::vector<CatalogHit>> CatalogStore::List() {
  CatalogQuery all;
  all.limit = 1000;
  return Search(all);
}

}  // namespace passerelle::governance
