#include "omop/db_info.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/date.h"
#include "common/strings.h"
#include "omop/cdm.h"
#include "store/datasets.h"

namespace passerelle::omop {

Result<DbInfo> ReadDbInfo(store::DataSource& source) {
  const store::Dialect& d = source.dialect();
  DbInfo info;
  ASSIGN_OR_RETURN(std::vector<std::string> tables, source.ListTables());
  std::set<std::string> have(tables.begin(), tables.end());
  if (have.count("person")) {
    DbInfo::Omop omop;
    // One query for every count: a single round trip, each count answered from the table.
    std::string sql;
    std::vector<std::string> present;
    for (const auto& t : CdmTables()) {
      if (!have.count(t.name)) continue;
      sql += sql.empty() ? "SELECT " : ", ";
      sql += fmt::format("(SELECT count(*) FROM {})", d.QuoteIdentifier(t.name));
      present.push_back(t.name);
    }
    ASSIGN_OR_RETURN(store::Chunk counts, store::QueryAll(source, sql));
    for (size_t i = 0; i < present.size(); ++i) {
      int64_t n = counts.columns[i].ints[0];
      omop.tables.emplace_back(present[i], n);
      if (present[i] == "person") omop.persons = n;
    }
    if (have.count("observation_period")) {
      ASSIGN_OR_RETURN(store::Chunk range,
                       store::QueryAll(source,
                                       "SELECT min(observation_period_start_date), "
                                       "max(observation_period_end_date) FROM "
                                       "observation_period"));
      if (!range.columns[0].IsNull(0)) {
        omop.first_date = static_cast<int32_t>(range.columns[0].ints[0]);
        omop.last_date = static_cast<int32_t>(range.columns[1].ints[0]);
      }
    }
    info.omop = std::move(omop);
  }
  ASSIGN_OR_RETURN(std::vector<store::DatasetRecord> records, store::ListDatasets(source));
  std::map<std::string, std::string> sources;
  for (const auto& r : records) sources[r.name] = r.source;
  for (const auto& name : tables) {
    if (FindCdmTable(name) && info.omop) continue;
    if (StartsWith(name, "_passerelle")) continue;
    DbInfo::Table t;
    t.name = name;
    ASSIGN_OR_RETURN(t.rows,
                     store::QueryInt(source, "SELECT count(*) FROM " + d.QuoteIdentifier(name)));
    ASSIGN_OR_RETURN(t.columns, source.DescribeTable(name));
    if (auto it = sources.find(name); it != sources.end()) t.source = it->second;
    info.tables.push_back(std::move(t));
  }
  return info;
}

std::string DbInfoToJson(const DbInfo& info) {
  nlohmann::ordered_json j;
  if (info.omop) {
    nlohmann::ordered_json o;
    o["persons"] = info.omop->persons;
    o["first_date"] = info.omop->first_date
                          ? nlohmann::ordered_json(FormatDate(*info.omop->first_date))
                          : nlohmann::ordered_json(nullptr);
    o["last_date"] = info.omop->last_date
                         ? nlohmann::ordered_json(FormatDate(*info.omop->last_date))
                         : nlohmann::ordered_json(nullptr);
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    for (const auto& [name, rows] : info.omop->tables) t[name] = rows;
    o["tables"] = std::move(t);
    j["omop"] = std::move(o);
  } else {
    j["omop"] = nullptr;
  }
  nlohmann::ordered_json tables = nlohmann::ordered_json::object();
  for (const auto& t : info.tables) {
    nlohmann::ordered_json cols = nlohmann::ordered_json::array();
    for (const auto& c : t.columns) {
      cols.push_back({{"name", c.name}, {"type", std::string(store::ColumnTypeName(c.type))}});
    }
    nlohmann::ordered_json e;
    e["rows"] = t.rows;
    e["columns"] = std::move(cols);
    if (!t.source.empty()) e["source"] = t.source;
    tables[t.name] = std::move(e);
  }
  j["tables"] = std::move(tables);
  return j.dump(2);
}

std::string DbInfoToText(const DbInfo& info, std::string_view db_label) {
  std::string out = fmt::format("{}\n", db_label);
  if (info.omop) {
    out += fmt::format("  OMOP CDM 5.4: {} persons", info.omop->persons);
    if (info.omop->first_date) {
      out += fmt::format(", observed {} to {}", FormatDate(*info.omop->first_date),
                         FormatDate(*info.omop->last_date));
    }
    out += "\n";
    for (const auto& [name, rows] : info.omop->tables) {
      if (rows > 0) out += fmt::format("    {:<24} {:>12}\n", name, rows);
    }
    size_t empty = 0;
    for (const auto& kv : info.omop->tables) empty += kv.second == 0;
    if (empty) out += fmt::format("    ({} empty CDM tables not shown)\n", empty);
  } else {
    out += "  no OMOP CDM\n";
  }
  if (info.tables.empty()) {
    out += "  no flat tables\n";
  } else {
    out += "  flat tables:\n";
    for (const auto& t : info.tables) {
      std::vector<std::string> cols;
      for (const auto& c : t.columns) cols.push_back(c.name);
      out += fmt::format("    {:<24} {:>12} rows, {} columns: {}\n", t.name, t.rows,
                         t.columns.size(), Join(cols, ", "));
    }
  }
  return out;
}

}  // namespace passerelle::omop
