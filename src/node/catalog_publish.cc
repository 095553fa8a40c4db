#include "node/catalog_publish.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/files.h"
#include "net/client.h"
#include "net/http.h"
#include "node/policy.h"
#include "store/datasets.h"

namespace passerelle::node {
namespace {

namespace gov = passerelle::governance;

constexpr std::string_view kOmop = "omop";

// OMOP CDM tables the catalog describes, and for each the column holding its main concept.
struct OmopTable {
  const char* name;
  const char* concept_column;  // nullptr: none listed
};
constexpr OmopTable kOmopTables[] = {
    {"person", "gender_concept_id"},
    {"observation_period", nullptr},
    {"visit_occurrence", "visit_concept_id"},
    {"condition_occurrence", "condition_concept_id"},
    {"drug_exposure", "drug_concept_id"},
    {"procedure_occurrence", "procedure_concept_id"},
    {"measurement", "measurement_concept_id"},
    {"observation", "observation_concept_id"},
    {"death", nullptr},
};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string TypeName(store::ColumnType t) {
  switch (t) {
    case store::ColumnType::kBool:
      return "boolean";
    case store::ColumnType::kInt64:
      return "integer";
    case store::ColumnType::kDouble:
      return "double";
    case store::ColumnType::kString:
      return "string";
    case store::ColumnType::kDate:
      return "date";
    case store::ColumnType::kTimestamp:
      return "timestamp";
  }
  return "string";
}

Status ReadEntry(const nlohmann::json& j, const std::string& where, CatalogEntryText& e) {
  if (!j.is_object()) return Status::InvalidArgument(where + ": must be an object");
  for (const auto& [k, v] : j.items()) {
    std::string path = where + "." + k;
    if (k == "title" || k == "description" || k == "population") {
      if (!v.is_string()) return Status::InvalidArgument(path + ": must be a string");
      (k == "title"         ? e.title
       : k == "description" ? e.description
                            : e.population) = v.get<std::string>();
    } else if (k == "keywords") {
      if (!v.is_array()) return Status::InvalidArgument(path + ": must be a list of strings");
      for (const auto& w : v) {
        if (!w.is_string()) return Status::InvalidArgument(path + ": must be a list of strings");
        e.keywords.push_back(w.get<std::string>());
      }
    } else if (k == "concepts") {
      if (!v.is_object()) {
        return Status::InvalidArgument(path + ": must map variable names to lists of codes");
      }
      for (const auto& [var, codes] : v.items()) {
        if (!codes.is_array()) return Status::InvalidArgument(path + "." + var + ": a list");
        for (const auto& c : codes) {
          if (!c.is_string()) return Status::InvalidArgument(path + "." + var + ": strings");
          e.concepts[var].push_back(c.get<std::string>());
        }
      }
    } else {
      return Status::InvalidArgument(
          path + ": unknown key (title, description, population, keywords, concepts)");
    }
  }
  return Status::Ok();
}

// Counts of one table's variables (non-null values) in one query.
Status DescribeVariables(store::DataSource& db, const std::string& table, gov::CatalogTable& out) {
  ASSIGN_OR_RETURN(store::Schema schema, db.DescribeTable(table));
  const auto& d = db.dialect();
  std::string sql = "SELECT COUNT(*)";
  for (const auto& c : schema) sql += ", COUNT(" + d.QuoteIdentifier(c.name) + ")";
  sql += " FROM " + d.QuoteIdentifier(table);
  ASSIGN_OR_RETURN(store::Chunk row, store::QueryAll(db, sql));
  if (row.size() != 1 || row.columns.size() != schema.size() + 1) {
    return Status::Internal("catalog: unexpected count query shape for " + table);
  }
  auto int_at = [&](size_t i) -> int64_t {
    const auto& col = row.columns[i];
    if (!col.valid[0]) return 0;
    if (col.type == store::ColumnType::kDouble) return static_cast<int64_t>(col.doubles[0]);
    return col.ints[0];
  };
  out.rows = gov::PublishedCount{int_at(0)};
  for (size_t i = 0; i < schema.size(); ++i) {
    gov::CatalogVariable v;
    v.name = schema[i].name;
    v.type = TypeName(schema[i].type);
    v.non_null = gov::PublishedCount{int_at(i + 1)};
    out.variables.push_back(std::move(v));
  }
  return Status::Ok();
}

// Concepts of an OMOP concept column held by at least `min_cell` persons: "OMOP:<id>", and the
// source vocabulary code ("ICD10:E11") when the database has the concept table.
Result<std::vector<std::string>> OmopConcepts(store::DataSource& db, const std::string& table,
                                              const std::string& column, bool has_concept,
                                              const CatalogPublishOptions& o) {
  const auto& d = db.dialect();
  std::string q = d.QuoteIdentifier(table), c = d.QuoteIdentifier(column);
  std::string sql = fmt::format(
      "SELECT CAST({c} AS BIGINT) AS id FROM {q} WHERE {c} IS NOT NULL AND {c} <> 0 GROUP BY {c} "
      "HAVING COUNT(DISTINCT person_id) >= {m} ORDER BY COUNT(DISTINCT person_id) DESC, 1 "
      "LIMIT {l}",
      fmt::arg("c", c), fmt::arg("q", q),
      fmt::arg("m", std::max<int64_t>(1, o.disclosure.min_cell)),
      fmt::arg("l", o.max_concepts_per_variable));
  if (has_concept) {
    sql = fmt::format(
        "SELECT k.id, cc.vocabulary_id, cc.concept_code FROM ({}) k LEFT JOIN concept cc ON "
        "cc.concept_id = k.id ORDER BY k.id",
        sql);
  }
  ASSIGN_OR_RETURN(store::Chunk rows, store::QueryAll(db, sql));
  std::vector<std::string> out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out.push_back(fmt::format("OMOP:{}", rows.columns[0].ints[r]));
    if (has_concept && rows.columns[1].valid[r] && rows.columns[2].valid[r]) {
      out.push_back(rows.columns[1].strings[r] + ":" + rows.columns[2].strings[r]);
    }
  }
  return out;
}

// `bound`: a DATE-valued aggregate over observation_period.
Result<std::optional<int32_t>> DateBound(store::DataSource& db, const std::string& bound) {
  ASSIGN_OR_RETURN(
      store::Chunk r,
      store::QueryAll(db, fmt::format("SELECT CAST({} - DATE '1970-01-01' AS BIGINT) FROM "
                                      "observation_period",
                                      bound)));
  if (r.size() != 1 || !r.columns[0].valid[0]) return std::optional<int32_t>();
  return std::optional<int32_t>(static_cast<int32_t>(r.columns[0].ints[0]));
}

void ApplyText(const CatalogEntryText* e, gov::DatasetDescription& d) {
  d.title = d.name;
  if (e == nullptr) return;
  if (!e->title.empty()) d.title = e->title;
  d.description = e->description;
  d.population = e->population;
  d.keywords = e->keywords;
  for (auto& t : d.tables) {
    for (auto& v : t.variables) {
      auto it = e->concepts.find(v.name);
      if (it != e->concepts.end()) {
        v.concepts.insert(v.concepts.end(), it->second.begin(), it->second.end());
      }
    }
  }
}

}  // namespace

Result<CatalogPublishOptions> LoadCatalogConfig(const Config& config,
                                                const std::filesystem::path& base_dir) {
  CatalogPublishOptions o;
  ASSIGN_OR_RETURN(NodePolicy policy, LoadPolicy(config));
  o.disclosure.min_cell = policy.min_cell;
  o.served = policy.datasets;
  ASSIGN_OR_RETURN(o.publish_at_start, config.GetBool("catalog.publish", true));
  ASSIGN_OR_RETURN(o.disclosure.round_to, config.GetInt("catalog.round_to", 10));
  if (o.disclosure.round_to < 1) {
    return Status::InvalidArgument(
        fmt::format("{}: catalog.round_to must be at least 1", config.source()));
  }
  ASSIGN_OR_RETURN(std::string file, config.GetString("catalog.file", ""));
  if (!file.empty()) {
    std::filesystem::path p = file;
    if (p.is_relative()) p = base_dir / p;
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(p));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("datasets") || !j["datasets"].is_object()) {
      return Status::InvalidArgument(
          fmt::format("{}: expected {{\"datasets\": {{\"<name>\": {{...}}}}}}", p.string()));
    }
    for (const auto& [name, entry] : j["datasets"].items()) {
      RETURN_IF_ERROR(ReadEntry(entry, p.string() + ": datasets." + name, o.datasets[name]));
    }
  }
  for (const auto& name : config.TableKeys("catalog.datasets")) {
    std::string k = "catalog.datasets." + name;
    CatalogEntryText& e = o.datasets[name];
    ASSIGN_OR_RETURN(std::string title, config.GetString(k + ".title", e.title));
    ASSIGN_OR_RETURN(std::string desc, config.GetString(k + ".description", e.description));
    ASSIGN_OR_RETURN(std::string pop, config.GetString(k + ".population", e.population));
    ASSIGN_OR_RETURN(auto keywords, config.GetStringList(k + ".keywords", e.keywords));
    e.title = title;
    e.description = desc;
    e.population = pop;
    e.keywords = keywords;
    for (const auto& var : config.TableKeys(k + ".concepts")) {
      ASSIGN_OR_RETURN(e.concepts[var], config.GetStringList(k + ".concepts." + var, {}));
    }
  }
  return o;
}

Result<std::vector<gov::DatasetDescription>> BuildCatalog(store::DataSource& db,
                                                          const std::string& node_id,
                                                          const CatalogPublishOptions& o) {
  ASSIGN_OR_RETURN(std::vector<std::string> tables, db.ListTables());
  std::set<std::string> present(tables.begin(), tables.end());
  bool omop = present.count("person") > 0 && present.count("observation_period") > 0;
  std::set<std::string> omop_tables;
  for (const auto& t : kOmopTables) omop_tables.insert(t.name);
  omop_tables.insert("concept");

  // Which datasets: [policy] datasets, else every flat table (the registry's, or every table that
  // is not part of the CDM) and "omop".
  std::vector<std::string> names;
  if (!o.served.empty()) {
    names = o.served;
  } else {
    ASSIGN_OR_RETURN(auto records, store::ListDatasets(db));
    std::set<std::string> seen;
    for (const auto& r : records) {
      std::string n = r.kind == "omop" ? std::string(kOmop) : r.name;
      if (seen.insert(n).second) names.push_back(n);
    }
    if (records.empty()) {
      for (const auto& t : tables) {
        if (t.rfind("_passerelle", 0) == 0) continue;
        if (omop && omop_tables.count(t)) continue;
        names.push_back(t);
      }
      if (omop) names.push_back(std::string(kOmop));
    }
  }

  std::vector<gov::DatasetDescription> out;
  for (const auto& name : names) {
    gov::DatasetDescription d;
    d.node = node_id;
    d.name = Lower(name);
    if (name == kOmop) {
      if (!omop) {
        return Status::FailedPrecondition(
            "catalog: dataset \"omop\" is served but the database has no OMOP CDM");
      }
      bool has_concept = present.count("concept") > 0;
      for (const auto& ot : kOmopTables) {
        if (!present.count(ot.name)) continue;
        gov::CatalogTable t;
        t.name = ot.name;
        RETURN_IF_ERROR(DescribeVariables(db, ot.name, t));
        if (ot.concept_column != nullptr) {
          for (auto& v : t.variables) {
            if (v.name != ot.concept_column) continue;
            ASSIGN_OR_RETURN(v.concepts,
                             OmopConcepts(db, ot.name, ot.concept_column, has_concept, o));
          }
        }
        d.tables.push_back(std::move(t));
      }
      ASSIGN_OR_RETURN(int64_t persons, store::QueryInt(db, "SELECT COUNT(*) FROM person"));
      d.persons = gov::PublishedCount{persons};
      // Coarsened to whole months: the exact first and last dates of observation belong to
      // single persons.
      ASSIGN_OR_RETURN(d.coverage_from,
                       DateBound(db,
                                 "CAST(date_trunc('month', MIN(observation_period_start_date)) "
                                 "AS DATE)"));
      ASSIGN_OR_RETURN(d.coverage_to, DateBound(db, "last_day(MAX(observation_period_end_date))"));
    } else {
      if (!present.count(name)) {
        return Status::FailedPrecondition(fmt::format(
            "catalog: dataset \"{}\" is served but is not a table of the database", name));
      }
      gov::CatalogTable t;
      t.name = name;
      RETURN_IF_ERROR(DescribeVariables(db, name, t));
      bool has_person = std::any_of(t.variables.begin(), t.variables.end(),
                                    [](const auto& v) { return v.name == "person_id"; });
      if (has_person) {
        ASSIGN_OR_RETURN(int64_t n, store::QueryInt(db, "SELECT COUNT(DISTINCT person_id) FROM " +
                                                            db.dialect().QuoteIdentifier(name)));
        d.persons = gov::PublishedCount{n};
      } else {
        d.persons = t.rows;  // a flat research table: one row per person
      }
      d.tables.push_back(std::move(t));
    }
    auto it = o.datasets.find(name);
    ApplyText(it == o.datasets.end() ? nullptr : &it->second, d);
    gov::ProtectCounts(d, o.disclosure);
    out.push_back(std::move(d));
  }
  return out;
}

Result<int> PublishCatalog(const std::vector<gov::DatasetDescription>& descriptions,
                           const std::string& hub_url, const crypto::TlsMaterial& tls) {
  ASSIGN_OR_RETURN(auto ctx, crypto::TlsContext::Client(tls));
  ASSIGN_OR_RETURN(auto client, net::HttpsClient::Create({.base_url = hub_url}, ctx));
  int n = 0;
  for (const auto& d : descriptions) {
    auto r = client->Call(
        "PUT", fmt::format("/v1/catalog/{}/{}", net::UrlEncode(d.node), net::UrlEncode(d.name)),
        gov::DatasetDescriptionToJson(d), {{"Content-Type", "application/json"}});
    if (!r.ok()) return r.status().WithContext("catalog: publishing " + d.Ref());
    ++n;
  }
  return n;
}

}  // namespace passerelle::node
