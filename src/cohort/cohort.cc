#include "cohort/cohort.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace passerelle::cohort {

namespace {

void Cleanup(store::DataSource& source, const CompiledCohort& compiled) {
  for (const auto& s : compiled.cleanup) source.Execute(s).PermitUncheckedError();
}

}  // namespace

Result<CohortCounts> GenerateCohort(store::DataSource& source, const CohortDefinition& definition,
                                    const CompileOptions& options) {
  ASSIGN_OR_RETURN(CompiledCohort compiled, CompileCohort(definition, source.dialect(), options));
  for (size_t i = 0; i < compiled.statements.size(); ++i) {
    Status st = source.Execute(compiled.statements[i]);
    if (!st.ok()) {
      Cleanup(source, compiled);
      return Status(st.code(), fmt::format("cohort: step {} of {} failed: {}", i + 1,
                                           compiled.statements.size(), st.message()));
    }
  }
  auto chunk = store::QueryAll(source, compiled.attrition_query);
  Cleanup(source, compiled);
  if (!chunk.ok()) return chunk.status().WithContext("cohort: attrition");
  std::vector<std::string> names = AttritionColumns(compiled.rule_count);
  if (chunk->columns.size() != names.size() || chunk->size() != 1) {
    return Status::Internal("cohort: attrition query returned an unexpected shape");
  }
  std::vector<int64_t> v;
  for (const auto& c : chunk->columns) v.push_back(c.IsNull(0) ? 0 : c.ints[0]);
  CohortCounts out;
  size_t k = 0;
  out.entry_events = v[k++];
  out.entry_persons = v[k++];
  out.qualified_events = v[k++];
  out.qualified_persons = v[k++];
  for (int i = 0; i < compiled.rule_count; ++i) {
    RuleAttrition r;
    r.name = definition.inclusion_rules[i].name;
    r.events = v[k++];
    r.persons = v[k++];
    r.alone_events = v[k++];
    r.alone_persons = v[k++];
    out.rules.push_back(std::move(r));
  }
  out.included_events = v[k++];
  out.included_persons = v[k++];
  out.cohort_eras = v[k++];
  out.cohort_persons = v[k++];
  return out;
}

std::string CountsToText(const CohortCounts& c, bool by_rule) {
  std::string out;
  if (by_rule) {
    out += fmt::format("{:<44} {:>10} {:>10} {:>12}\n", "step", "persons", "events", "rule alone");
    out += fmt::format("{:<44} {:>10} {:>10} {:>12}\n", "entry events", c.entry_persons,
                       c.entry_events, "");
    if (c.qualified_events != c.entry_events || c.qualified_persons != c.entry_persons) {
      out += fmt::format("{:<44} {:>10} {:>10} {:>12}\n", "qualified events", c.qualified_persons,
                         c.qualified_events, "");
    }
    for (size_t i = 0; i < c.rules.size(); ++i) {
      std::string name = fmt::format("rule {}: {}", i + 1, c.rules[i].name);
      if (name.size() > 44) name = name.substr(0, 41) + "...";
      out += fmt::format("{:<44} {:>10} {:>10} {:>12}\n", name, c.rules[i].persons,
                         c.rules[i].events, c.rules[i].alone_persons);
    }
    out += fmt::format("{:<44} {:>10} {:>10} {:>12}\n", "included events", c.included_persons,
                       c.included_events, "");
  }
  out += fmt::format("cohort: {} persons, {} periods\n", c.cohort_persons, c.cohort_eras);
  return out;
}

std::string CountsToJson(const CohortCounts& c) {
  nlohmann::ordered_json j;
  j["entry"] = {{"events", c.entry_events}, {"persons", c.entry_persons}};
  j["qualified"] = {{"events", c.qualified_events}, {"persons", c.qualified_persons}};
  j["rules"] = nlohmann::ordered_json::array();
  for (const auto& r : c.rules) {
    j["rules"].push_back({{"name", r.name},
                          {"events", r.events},
                          {"persons", r.persons},
                          {"alone_events", r.alone_events},
                          {"alone_persons", r.alone_persons}});
  }
  j["included"] = {{"events", c.included_events}, {"persons", c.included_persons}};
  j["cohort"] = {{"eras", c.cohort_eras}, {"persons", c.cohort_persons}};
  return j.dump(2);
}

}  // namespace passerelle::cohort
