#include "cohort/compiler.h"

#include <fmt/format.h>

#include <map>

#include "cohort/sql_parts.h"

namespace passerelle::cohort {

using internal::SqlParts;

namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

constexpr std::string_view kEventColumns =
    "person_id, event_id, start_date, end_date, op_start_date, op_end_date, visit_occurrence_id";

// Joins and flags needed to evaluate groups of criteria against an events table aliased `q`.
struct GroupJoins {
  std::vector<std::string> joins;
  bool person = false;  // needs `pp` (person) joined
  int next_alias = 0;
};

class Compiler {
 public:
  Compiler(const CohortDefinition& def, const store::Dialect& dialect, const CompileOptions& opts)
      : def_(def), d_(dialect), opts_(opts), sql_(dialect, opts.cdm_schema) {
    for (size_t i = 0; i < def.concept_sets.size(); ++i) {
      codeset_ids_[def.concept_sets[i].id] = static_cast<int>(i);
    }
  }

  Result<CompiledCohort> Run() {
    CompiledCohort out;
    out.rule_count = static_cast<int>(def_.inclusion_rules.size());
    const std::vector<std::string> work = {"codesets",    "primary_events",  "qualified_events",
                                           "rule_flags",  "included_events", "drug_eras",
                                           "cohort_ends", "cohort_rows"};
    for (const auto& w : work) out.cleanup.push_back(d_.DropTemporaryTableIfExists(T(w)));
    out.statements = out.cleanup;  // leftovers of an interrupted run

    // 1. Concept sets.
    std::vector<std::string> sets;
    for (size_t i = 0; i < def_.concept_sets.size(); ++i) {
      sets.push_back(sql_.CodesetSelect(def_.concept_sets[i], static_cast<int>(i)));
    }
    std::string codesets =
        sets.empty() ? "SELECT CAST(NULL AS INTEGER) AS codeset_id, CAST(NULL AS BIGINT) AS "
                       "concept_id WHERE 1 = 0"
                     : Join(sets, " UNION ALL ");
    out.statements.push_back(d_.CreateTableAs(T("codesets"), codesets, true));

    // 2. Entry events inside an observation period with the required observation around them.
    std::vector<std::string> entry;
    for (const auto& e : def_.entry.events) entry.push_back(Events(e));
    std::string primary = fmt::format(
        "SELECT {cols} FROM (SELECT E.person_id, E.start_date, E.end_date, E.visit_occurrence_id, "
        "OP.observation_period_start_date AS op_start_date, OP.observation_period_end_date AS "
        "op_end_date, row_number() OVER (PARTITION BY E.person_id ORDER BY E.start_date, "
        "E.end_date, E.domain_order, E.event_key) AS event_id{desc} FROM ({events}) E JOIN {op} OP "
        "ON OP.person_id = "
        "E.person_id AND E.start_date >= OP.observation_period_start_date AND E.start_date <= "
        "OP.observation_period_end_date WHERE {prior} <= E.start_date AND {post} <= "
        "OP.observation_period_end_date) P{limit}",
        fmt::arg("cols", kEventColumns), fmt::arg("events", Join(entry, " UNION ALL ")),
        fmt::arg("desc", def_.entry.limit != Limit::kLast
                             ? ""
                             : ", row_number() OVER (PARTITION BY E.person_id ORDER BY "
                               "E.start_date DESC, E.end_date DESC, E.domain_order DESC, "
                               "E.event_key DESC) AS ordinal_desc"),
        fmt::arg("op", sql_.Cdm("observation_period")),
        fmt::arg("prior", sql_.AddDays("OP.observation_period_start_date",
                                       def_.entry.prior_observation_days)),
        fmt::arg("post", sql_.AddDays("E.start_date", def_.entry.post_observation_days)),
        fmt::arg("limit",
                 def_.entry.limit == Limit::kFirst
                     ? " WHERE P.event_id = 1"
                     : (def_.entry.limit == Limit::kLast ? " WHERE P.ordinal_desc = 1" : "")));
    out.statements.push_back(d_.CreateTableAs(T("primary_events"), primary, true));

    // 3. Qualified events: additional criteria and the qualified limit (only with criteria).
    std::string qualified;
    if (def_.entry.additional_criteria && !def_.entry.additional_criteria->empty()) {
      GroupJoins joins;
      std::string expr = GroupExpr(*def_.entry.additional_criteria, T("primary_events"), joins);
      qualified = fmt::format(
          "SELECT {cols} FROM (SELECT q.person_id, q.event_id, q.start_date, q.end_date, "
          "q.op_start_date, q.op_end_date, q.visit_occurrence_id, row_number() OVER (PARTITION BY "
          "q.person_id ORDER BY q.start_date{desc}, q.event_id) AS ordinal FROM {src} q{joins} "
          "WHERE {expr}) x{limit}",
          fmt::arg("cols", kEventColumns),
          fmt::arg("desc", def_.entry.qualified_limit == Limit::kLast ? " DESC" : ""),
          fmt::arg("src", Q(T("primary_events"))), fmt::arg("joins", JoinText(joins)),
          fmt::arg("expr", expr),
          fmt::arg("limit", def_.entry.qualified_limit == Limit::kAll ? "" : " WHERE ordinal = 1"));
    } else {
      qualified = fmt::format("SELECT {} FROM {}", kEventColumns, Q(T("primary_events")));
    }
    out.statements.push_back(d_.CreateTableAs(T("qualified_events"), qualified, true));

    // 4. Inclusion rules: one 0/1 flag per rule and event.
    std::string passing;  // events table that passed every rule
    std::vector<std::string> all_rules;
    if (!def_.inclusion_rules.empty()) {
      GroupJoins joins;
      std::vector<std::string> flags;
      for (size_t i = 0; i < def_.inclusion_rules.size(); ++i) {
        std::string expr = GroupExpr(def_.inclusion_rules[i].group, T("qualified_events"), joins);
        flags.push_back(fmt::format("CASE WHEN {} THEN 1 ELSE 0 END AS r{}", expr, i));
        all_rules.push_back(fmt::format("r{} = 1", i));
      }
      std::string rules = fmt::format(
          "SELECT q.person_id, q.event_id, q.start_date, q.end_date, q.op_start_date, "
          "q.op_end_date, q.visit_occurrence_id, {} FROM {} q{}",
          Join(flags, ", "), Q(T("qualified_events")), JoinText(joins));
      out.statements.push_back(d_.CreateTableAs(T("rule_flags"), rules, true));
      passing = fmt::format("SELECT {} FROM {} WHERE {}", kEventColumns, Q(T("rule_flags")),
                            Join(all_rules, " AND "));
    } else {
      passing = fmt::format("SELECT {} FROM {}", kEventColumns, Q(T("qualified_events")));
    }

    // 5. Included events: the inclusion limit (Circe's expression limit).
    std::string included = fmt::format(
        "SELECT {cols} FROM (SELECT z.*, row_number() OVER (PARTITION BY z.person_id ORDER BY "
        "z.start_date{desc}, z.event_id) AS ordinal FROM ({src}) z) x{limit}",
        fmt::arg("cols", kEventColumns),
        fmt::arg("desc", def_.inclusion_limit == Limit::kLast ? " DESC" : ""),
        fmt::arg("src", passing),
        fmt::arg("limit", def_.inclusion_limit == Limit::kAll ? "" : " WHERE ordinal = 1"));
    out.statements.push_back(d_.CreateTableAs(T("included_events"), included, true));

    // 6. Exit dates: every candidate end; the earliest one on or after the start wins.
    std::vector<std::string> ends;
    std::string inc = Q(T("included_events"));
    if (def_.exit.type != ExitType::kFixed) {
      ends.push_back(
          fmt::format("SELECT i.person_id, i.event_id, i.op_end_date AS end_date FROM "
                      "{} i",
                      inc));
    }
    if (def_.exit.type == ExitType::kFixed) {
      std::string date =
          sql_.AddDays(def_.exit.from_end ? "i.end_date" : "i.start_date", def_.exit.offset_days);
      ends.push_back(
          fmt::format("SELECT i.person_id, i.event_id, CASE WHEN {0} > i.op_end_date "
                      "THEN i.op_end_date ELSE {0} END AS end_date FROM {1} i",
                      date, inc));
    }
    if (def_.exit.type == ExitType::kDrugEra) {
      out.statements.push_back(d_.CreateTableAs(T("drug_eras"), DrugEras(), true));
      std::string era_end = sql_.AddDays("de.end_date", def_.exit.persistence_days);
      ends.push_back(fmt::format(
          "SELECT i.person_id, i.event_id, {0} AS end_date FROM {1} i JOIN {2} de ON "
          "de.person_id = i.person_id AND i.start_date >= de.start_date AND i.start_date <= {0}",
          era_end, inc, Q(T("drug_eras"))));
    }
    if (!def_.censor_events.empty()) {
      std::vector<std::string> censor;
      for (const auto& e : def_.censor_events) censor.push_back(Events(e));
      ends.push_back(fmt::format(
          "SELECT i.person_id, i.event_id, MIN(c.start_date) AS end_date FROM {} i JOIN ({}) c ON "
          "c.person_id = i.person_id AND c.start_date >= i.start_date AND c.start_date <= "
          "i.op_end_date GROUP BY i.person_id, i.event_id",
          inc, Join(censor, " UNION ALL ")));
    }
    out.statements.push_back(d_.CreateTableAs(T("cohort_ends"), Join(ends, " UNION ALL "), true));
    out.statements.push_back(d_.CreateTableAs(
        T("cohort_rows"),
        fmt::format("SELECT i.person_id, i.start_date, MIN(e.end_date) AS end_date FROM {} i JOIN "
                    "{} e ON e.person_id = i.person_id AND e.event_id = i.event_id AND e.end_date "
                    ">= i.start_date GROUP BY i.person_id, i.event_id, i.start_date",
                    inc, Q(T("cohort_ends"))),
        true));

    // 7. Eras per person, clipped to the censor window.
    std::string collapsed = sql_.CollapseSelect(
        fmt::format("SELECT person_id, start_date, end_date FROM {}", Q(T("cohort_rows"))),
        def_.era_pad_days);
    std::string start = "f.start_date";
    std::string end = "f.end_date";
    if (def_.censor_window_start) {
      std::string lit = d_.DateLiteral(*def_.censor_window_start);
      start = fmt::format("CASE WHEN f.start_date > {0} THEN f.start_date ELSE {0} END", lit);
    }
    if (def_.censor_window_end) {
      std::string lit = d_.DateLiteral(*def_.censor_window_end);
      end = fmt::format("CASE WHEN f.end_date < {0} THEN f.end_date ELSE {0} END", lit);
    }
    std::string final_select = fmt::format(
        "SELECT CAST(f.person_id AS BIGINT) AS subject_id, CAST({} AS DATE) AS cohort_start_date, "
        "CAST({} AS DATE) AS cohort_end_date FROM ({}) f{}",
        start, end, collapsed,
        def_.censor_window_start || def_.censor_window_end
            ? fmt::format(" WHERE {} <= {}", start, end)
            : "");
    out.statements.push_back(opts_.temporary_result
                                 ? d_.DropTemporaryTableIfExists(opts_.result_table)
                                 : d_.DropTableIfExists(opts_.result_table));
    out.statements.push_back(
        d_.CreateTableAs(opts_.result_table, final_select, opts_.temporary_result));

    // Attrition: counts only, one scan per work table.
    std::vector<std::string> names = AttritionColumns(out.rule_count);
    size_t k = 0;
    std::vector<std::string> parts;
    // Per person first (one grouping), then sums: cheaper than COUNT(DISTINCT ...) per column.
    auto scan = [&](const std::string& table, const std::string& person,
                    const std::vector<std::string>& conds) {
      std::vector<std::string> inner, outer;
      for (size_t i = 0; i < conds.size(); ++i) {
        std::string cond = conds[i].empty() ? "TRUE" : conds[i];
        inner.push_back(fmt::format("COUNT(CASE WHEN {} THEN 1 END) AS e{}", cond, i));
        inner.push_back(fmt::format("MAX(CASE WHEN {} THEN 1 ELSE 0 END) AS p{}", cond, i));
        outer.push_back(fmt::format("CAST(COALESCE(SUM(e{}), 0) AS BIGINT) AS {}", i, names[k++]));
        outer.push_back(fmt::format("CAST(COALESCE(SUM(p{}), 0) AS BIGINT) AS {}", i, names[k++]));
      }
      parts.push_back(fmt::format("(SELECT {} FROM (SELECT {} FROM {} GROUP BY {}) g) s{}",
                                  Join(outer, ", "), Join(inner, ", "), table, person,
                                  parts.size()));
    };
    scan(Q(T("primary_events")), "person_id", {""});
    scan(Q(T("qualified_events")), "person_id", {""});
    if (!def_.inclusion_rules.empty()) {
      std::vector<std::string> conds;
      for (size_t i = 0; i < def_.inclusion_rules.size(); ++i) {
        std::vector<std::string> upto(all_rules.begin(), all_rules.begin() + i + 1);
        conds.push_back(Join(upto, " AND "));
        conds.push_back(all_rules[i]);
      }
      scan(Q(T("rule_flags")), "person_id", conds);
    }
    scan(Q(T("included_events")), "person_id", {""});
    scan(Q(opts_.result_table), "subject_id", {""});
    out.attrition_query =
        fmt::format("SELECT {} FROM {}", Join(names, ", "), Join(parts, " CROSS JOIN "));
    return out;
  }

 private:
  std::string T(std::string_view name) const { return opts_.work_prefix + std::string(name); }
  std::string Q(std::string_view name) const { return d_.QuoteIdentifier(name); }

  int Codeset(const std::string& id) const {
    if (id.empty()) return -1;
    auto it = codeset_ids_.find(id);
    return it == codeset_ids_.end() ? -1 : it->second;
  }

  std::string Events(const EventCriteria& e) const {
    return sql_.EventSelect(e, Codeset(e.concept_set), T("codesets"));
  }

  std::string JoinText(const GroupJoins& j) const {
    std::string out;
    if (j.person) {
      out += fmt::format(" LEFT JOIN {} pp ON pp.person_id = q.person_id", sql_.Cdm("person"));
    }
    for (const auto& s : j.joins) out += " " + s;
    return out;
  }

  // Window bounds on the counted event `a` relative to the index event aliased `idx`.
  void WindowClauses(const Window& w, bool ignore_op, std::string_view idx,
                     std::vector<std::string>& where) const {
    std::string index = fmt::format("{}.{}", idx, w.from_index_end ? "end_date" : "start_date");
    std::string event = w.on_event_end ? "a.end_date" : "a.start_date";
    if (w.start) {
      where.push_back(fmt::format("{} >= {}", event, sql_.AddDays(index, *w.start)));
    } else if (!ignore_op) {
      where.push_back(fmt::format("{} >= {}.op_start_date", event, idx));
    }
    if (w.end) {
      where.push_back(fmt::format("{} <= {}", event, sql_.AddDays(index, *w.end)));
    } else if (!ignore_op) {
      where.push_back(fmt::format("{} <= {}.op_end_date", event, idx));
    }
  }

  // Conditions joining a counted event `a` to the index event `idx` (Circe's windowed criteria).
  std::vector<std::string> CriterionWhere(const CountCriterion& c, std::string_view idx) const {
    std::vector<std::string> where;
    where.push_back(fmt::format("a.person_id = {}.person_id", idx));
    if (!c.ignore_observation_period) {
      where.push_back(fmt::format("a.start_date >= {}.op_start_date", idx));
      where.push_back(fmt::format("a.start_date <= {}.op_end_date", idx));
    }
    WindowClauses(c.window, c.ignore_observation_period, idx, where);
    if (c.end_window) WindowClauses(*c.end_window, c.ignore_observation_period, idx, where);
    if (c.restrict_visit) {
      where.push_back(fmt::format("a.visit_occurrence_id = {}.visit_occurrence_id", idx));
    }
    return where;
  }

  std::string CountJoin(const CountCriterion& c, const std::string& events_table,
                        const std::string& alias) const {
    std::string what = c.distinct ? "COUNT(DISTINCT a.concept_id)" : "COUNT(a.event_key)";
    return fmt::format(
        "LEFT JOIN (SELECT q2.person_id, q2.event_id, {what} AS n FROM {src} q2 JOIN ({events}) a "
        "ON {where} GROUP BY q2.person_id, q2.event_id) {alias} ON {alias}.person_id = "
        "q.person_id AND {alias}.event_id = q.event_id",
        fmt::arg("what", what), fmt::arg("src", Q(events_table)),
        fmt::arg("events", Events(c.event)),
        fmt::arg("where", Join(CriterionWhere(c, "q2"), " AND ")), fmt::arg("alias", alias));
  }

  // "At least one" and "none" need no count: an EXISTS the engine runs as a semi join.
  std::string ExistsExpr(const CountCriterion& c) const {
    return fmt::format("EXISTS (SELECT 1 FROM ({}) a WHERE {})", Events(c.event),
                       Join(CriterionWhere(c, "q"), " AND "));
  }

  std::string DemographicExpr(const DemographicCriterion& d, GroupJoins& j) const {
    std::vector<std::string> parts;
    if (!d.age.empty()) {
      j.person = true;
      parts.push_back(sql_.RangeSql(d.age, sql_.AgeSql("q.start_date", "pp"), false));
    }
    if (!d.sex.empty()) {
      j.person = true;
      parts.push_back(fmt::format("pp.gender_concept_id IN ({})", SqlParts::IdList(d.sex)));
    }
    if (!d.index_date.empty()) parts.push_back(sql_.RangeSql(d.index_date, "q.start_date", true));
    if (parts.empty()) return "TRUE";
    return fmt::format("({})", Join(parts, " AND "));
  }

  std::string GroupExpr(const Group& g, const std::string& events_table, GroupJoins& j) const {
    std::vector<std::string> members;
    for (const auto& c : g.criteria) {
      if (c.op == CountOp::kAtLeast && c.count == 0) {
        members.push_back("TRUE");
        continue;
      }
      if (c.op == CountOp::kAtLeast && c.count == 1) {
        members.push_back(ExistsExpr(c));
        continue;
      }
      if (c.op != CountOp::kAtLeast && c.count == 0) {
        members.push_back("NOT " + ExistsExpr(c));
        continue;
      }
      std::string alias = fmt::format("c{}", j.next_alias++);
      j.joins.push_back(CountJoin(c, events_table, alias));
      std::string n = fmt::format("COALESCE({}.n, 0)", alias);
      std::string_view op =
          c.op == CountOp::kExactly ? "=" : (c.op == CountOp::kAtMost ? "<=" : ">=");
      members.push_back(fmt::format("{} {} {}", n, op, c.count));
    }
    for (const auto& d : g.demographics) members.push_back(DemographicExpr(d, j));
    for (const auto& s : g.groups) members.push_back(GroupExpr(s, events_table, j));
    if (members.empty()) return "TRUE";
    switch (g.match) {
      case GroupMatch::kAll:
        return fmt::format("({})", Join(members, " AND "));
      case GroupMatch::kAny:
        return fmt::format("({})", Join(members, " OR "));
      case GroupMatch::kAtLeast:
      case GroupMatch::kAtMost: {
        std::vector<std::string> ones;
        for (const auto& m : members)
          ones.push_back(fmt::format("CASE WHEN {} THEN 1 ELSE 0 END", m));
        return fmt::format("(({}) {} {})", Join(ones, " + "),
                           g.match == GroupMatch::kAtLeast ? ">=" : "<=", g.count);
      }
    }
    return "TRUE";
  }

  // Drug eras of the exit's concept set for the included persons (Circe CustomEra).
  std::string DrugEras() const {
    std::string end =
        def_.exit.days_supply_override
            ? sql_.AddDays("de.drug_exposure_start_date", *def_.exit.days_supply_override)
            : fmt::format("COALESCE(de.drug_exposure_end_date, {}, {})",
                          d_.AddDays("de.drug_exposure_start_date", "de.days_supply"),
                          sql_.AddDays("de.drug_exposure_start_date", 1));
    std::string exposures = fmt::format(
        "SELECT de.person_id, CAST(de.drug_exposure_start_date AS DATE) AS start_date, CAST({} AS "
        "DATE) AS end_date FROM {} de WHERE de.drug_concept_id IN (SELECT cs.concept_id FROM {} "
        "cs WHERE cs.codeset_id = {}) AND de.person_id IN (SELECT person_id FROM {})",
        end, sql_.Cdm("drug_exposure"), Q(T("codesets")), Codeset(def_.exit.concept_set),
        Q(T("included_events")));
    return sql_.CollapseSelect(exposures, def_.exit.gap_days);
  }

  const CohortDefinition& def_;
  const store::Dialect& d_;
  const CompileOptions& opts_;
  SqlParts sql_;
  std::map<std::string, int> codeset_ids_;
};

}  // namespace

std::vector<std::string> AttritionColumns(int rule_count) {
  std::vector<std::string> names = {"entry_events", "entry_persons", "qualified_events",
                                    "qualified_persons"};
  for (int i = 0; i < rule_count; ++i) {
    names.push_back(fmt::format("rule{}_events", i + 1));
    names.push_back(fmt::format("rule{}_persons", i + 1));
    names.push_back(fmt::format("rule{}_alone_events", i + 1));
    names.push_back(fmt::format("rule{}_alone_persons", i + 1));
  }
  for (const char* n : {"included_events", "included_persons", "cohort_eras", "cohort_persons"}) {
    names.push_back(n);
  }
  return names;
}

std::string CompiledCohort::Script() const {
  std::string out;
  for (const auto& s : statements) out += s + ";\n";
  out += "-- attrition (counts only)\n" + attrition_query + ";\n";
  out += "-- cleanup\n";
  for (const auto& s : cleanup) out += s + ";\n";
  return out;
}

Result<CompiledCohort> CompileCohort(const CohortDefinition& definition,
                                     const store::Dialect& dialect, const CompileOptions& options) {
  if (!IsIdentifier(options.work_prefix)) {
    return Status::InvalidArgument(fmt::format(
        "cohort work table prefix \"{}\" must match [A-Za-z_][A-Za-z0-9_]*", options.work_prefix));
  }
  if (!IsIdentifier(options.result_table)) {
    return Status::InvalidArgument(fmt::format(
        "cohort table name \"{}\" must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters)",
        options.result_table));
  }
  if (!options.cdm_schema.empty() && !IsIdentifier(options.cdm_schema)) {
    return Status::InvalidArgument(fmt::format(
        "CDM schema name \"{}\" must match [A-Za-z_][A-Za-z0-9_]*", options.cdm_schema));
  }
  RETURN_IF_ERROR(ValidateCohortDefinition(definition, "cohort"));
  return Compiler(definition, dialect, options).Run();
}

}  // namespace passerelle::cohort
