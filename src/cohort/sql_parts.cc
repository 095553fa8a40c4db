#include "cohort/sql_parts.h"

#include <fmt/format.h>

#include <set>

namespace passerelle::cohort::internal {

namespace {
constexpr DomainTable kTables[] = {
    {"condition_occurrence", "condition_occurrence_id", "condition_concept_id",
     "condition_start_date", "condition_end_date", "visit_occurrence_id", "", 0},
    {"drug_exposure", "drug_exposure_id", "drug_concept_id", "drug_exposure_start_date",
     "drug_exposure_end_date", "visit_occurrence_id", "", 1},
    {"procedure_occurrence", "procedure_occurrence_id", "procedure_concept_id", "procedure_date",
     "procedure_end_date", "visit_occurrence_id", "", 2},
    {"measurement", "measurement_id", "measurement_concept_id", "measurement_date", "",
     "visit_occurrence_id", "value_as_number", 3},
    {"observation", "observation_id", "observation_concept_id", "observation_date", "",
     "visit_occurrence_id", "value_as_number", 4},
    {"visit_occurrence", "visit_occurrence_id", "visit_concept_id", "visit_start_date",
     "visit_end_date", "visit_occurrence_id", "", 5},
    {"death", "person_id", "cause_concept_id", "death_date", "", "", "", 6},
    {"observation_period", "observation_period_id", "", "observation_period_start_date",
     "observation_period_end_date", "", "", 7},
    // fixed_date: one event per observation period containing the date (see EventSelect).
    {"observation_period", "observation_period_id", "", "observation_period_start_date",
     "observation_period_end_date", "", "", 8},
};

std::string Num(double v) {
  // Shortest representation that reads back exactly; valid SQL numeric literal.
  return fmt::format("{}", v);
}
}  // namespace

const DomainTable& TableOf(Domain domain) {
  switch (domain) {
    case Domain::kCondition:
      return kTables[0];
    case Domain::kDrug:
      return kTables[1];
    case Domain::kProcedure:
      return kTables[2];
    case Domain::kMeasurement:
      return kTables[3];
    case Domain::kObservation:
      return kTables[4];
    case Domain::kVisit:
      return kTables[5];
    case Domain::kDeath:
      return kTables[6];
    case Domain::kObservationPeriod:
      return kTables[7];
    case Domain::kFixedDate:
      return kTables[8];
  }
  return kTables[0];
}

std::string SqlParts::Cdm(std::string_view table) const {
  if (cdm_schema_.empty()) return Q(table);
  return Q(cdm_schema_) + "." + Q(table);
}

std::string SqlParts::AddDays(std::string_view date, int64_t days) const {
  if (days == 0) return std::string(date);
  return d_.AddDays(date, fmt::format("{}", days));
}

std::string SqlParts::IdList(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}", id);
  }
  return out;
}

std::string SqlParts::CodesetSelect(const ConceptSet& set, int codeset_id) const {
  // included = items ∪ descendants of items with `descendants` ∪ concepts that map to `mapped`
  // items (and their descendants); the same expansion of the excluded items is removed.
  auto expand = [&](bool excluded) -> std::string {
    std::vector<int64_t> ids, desc, mapped, mapped_desc;
    for (const auto& it : set.items) {
      if (it.exclude != excluded) continue;
      ids.push_back(it.concept_id);
      if (it.descendants) desc.push_back(it.concept_id);
      if (it.mapped) {
        mapped.push_back(it.concept_id);
        if (it.descendants) mapped_desc.push_back(it.concept_id);
      }
    }
    if (ids.empty()) return "";
    std::vector<std::string> parts;
    std::string values;
    for (int64_t id : std::set<int64_t>(ids.begin(), ids.end())) {
      if (!values.empty()) values += ", ";
      values += fmt::format("({})", id);
    }
    parts.push_back(
        fmt::format("SELECT CAST(v.concept_id AS BIGINT) AS concept_id FROM (VALUES "
                    "{}) AS v(concept_id)",
                    values));
    // Descendants through concept_ancestor, leaving out concepts the vocabulary marks invalid.
    std::string valid = fmt::format(
        "NOT EXISTS (SELECT 1 FROM {} c WHERE c.concept_id = ca.descendant_concept_id AND "
        "c.invalid_reason IS NOT NULL)",
        Cdm("concept"));
    if (!desc.empty()) {
      parts.push_back(
          fmt::format("SELECT ca.descendant_concept_id FROM {} ca WHERE "
                      "ca.ancestor_concept_id IN ({}) AND {}",
                      Cdm("concept_ancestor"), IdList(desc), valid));
    }
    if (!mapped.empty()) {
      std::string targets = fmt::format(
          "SELECT CAST(m.concept_id AS BIGINT) FROM (VALUES {}) AS "
          "m(concept_id)",
          [&] {
            std::string s;
            for (int64_t id : mapped) {
              if (!s.empty()) s += ", ";
              s += fmt::format("({})", id);
            }
            return s;
          }());
      if (!mapped_desc.empty()) {
        targets += fmt::format(
            " UNION SELECT ca.descendant_concept_id FROM {} ca WHERE "
            "ca.ancestor_concept_id IN ({}) AND {}",
            Cdm("concept_ancestor"), IdList(mapped_desc), valid);
      }
      parts.push_back(
          fmt::format("SELECT cr.concept_id_1 FROM {} cr WHERE cr.relationship_id = "
                      "'Maps to' AND cr.invalid_reason IS NULL AND cr.concept_id_2 "
                      "IN ({})",
                      Cdm("concept_relationship"), targets));
    }
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : " UNION ") + p;
    return out;
  };
  std::string included = expand(false);
  std::string excluded = expand(true);
  if (included.empty()) {
    return fmt::format(
        "SELECT CAST({} AS INTEGER) AS codeset_id, CAST(NULL AS BIGINT) AS "
        "concept_id WHERE 1 = 0",
        codeset_id);
  }
  std::string body = excluded.empty() ? included : "(" + included + ") EXCEPT (" + excluded + ")";
  return fmt::format(
      "SELECT CAST({} AS INTEGER) AS codeset_id, x.concept_id FROM ({}) AS "
      "x(concept_id)",
      codeset_id, body);
}

std::string SqlParts::RangeSql(const Range& range, std::string_view expr, bool dates) const {
  if (range.empty()) return "TRUE";
  auto lit = [&](double v) { return dates ? d_.DateLiteral(static_cast<int>(v)) : Num(v); };
  std::string out;
  for (const auto& t : range.terms) {
    std::string c;
    switch (t.op) {
      case RangeOp::kMin:
        c = fmt::format("{} >= {}", expr, lit(t.value));
        break;
      case RangeOp::kMax:
        c = fmt::format("{} <= {}", expr, lit(t.value));
        break;
      case RangeOp::kGt:
        c = fmt::format("{} > {}", expr, lit(t.value));
        break;
      case RangeOp::kLt:
        c = fmt::format("{} < {}", expr, lit(t.value));
        break;
      case RangeOp::kEq:
        c = fmt::format("{} = {}", expr, lit(t.value));
        break;
      case RangeOp::kNe:
        c = fmt::format("{} <> {}", expr, lit(t.value));
        break;
      case RangeOp::kNotBetween:
        c = fmt::format("NOT ({0} >= {1} AND {0} <= {2})", expr, lit(t.value), lit(t.extent));
        break;
    }
    out += (out.empty() ? "" : " AND ") + c;
  }
  return fmt::format("({})", out);
}

std::string SqlParts::AgeSql(std::string_view date_expr, std::string_view person_alias) const {
  return fmt::format("({} - {}.year_of_birth)", d_.YearOf(date_expr), person_alias);
}

std::string SqlParts::EndExpr(Domain domain, std::string_view alias) const {
  const DomainTable& t = TableOf(domain);
  std::string start = fmt::format("{}.{}", alias, t.start);
  // End dates as Circe: a missing end is the day after the start (drugs: start + days_supply).
  switch (domain) {
    case Domain::kDrug:
      return fmt::format("COALESCE({0}.drug_exposure_end_date, {1}, {2})", alias,
                         d_.AddDays(start, fmt::format("{}.days_supply", alias)),
                         AddDays(start, 1));
    case Domain::kVisit:
      return fmt::format("COALESCE({}.{}, {})", alias, t.end, start);
    case Domain::kObservationPeriod:
    case Domain::kFixedDate:
      return fmt::format("{}.{}", alias, t.end);
    default:
      return t.end.empty() ? AddDays(start, 1)
                           : fmt::format("COALESCE({}.{}, {})", alias, t.end, AddDays(start, 1));
  }
}

std::string SqlParts::EventSelect(const EventCriteria& event, int codeset_id,
                                  std::string_view codesets_table) const {
  const DomainTable& t = TableOf(event.domain);
  std::string start = fmt::format("e.{}", t.start);
  std::string end = EndExpr(event.domain, "e");
  std::string concept_expr = t.concept_col.empty()
                                 ? "CAST(NULL AS BIGINT)"
                                 : fmt::format("CAST(e.{} AS BIGINT)", t.concept_col);
  std::string visit =
      t.visit.empty() ? "CAST(NULL AS BIGINT)" : fmt::format("CAST(e.{} AS BIGINT)", t.visit);

  // Inner query: the domain's events of the concept set (and the first-occurrence ordinal).
  std::vector<std::string> inner_where;
  if (event.domain == Domain::kFixedDate) {
    std::string date = d_.DateLiteral(event.fixed_date.value_or(0));
    start = date;
    end = date;
    inner_where.push_back(
        fmt::format("e.observation_period_start_date <= {0} AND "
                    "e.observation_period_end_date >= {0}",
                    date));
  }
  if (codeset_id >= 0 && !t.concept_col.empty()) {
    inner_where.push_back(
        fmt::format("e.{} IN (SELECT cs.concept_id FROM {} cs WHERE "
                    "cs.codeset_id = {})",
                    t.concept_col, Q(codesets_table), codeset_id));
  }
  std::string ordinal;
  if (event.first_occurrence) {
    ordinal = fmt::format(
        ", row_number() OVER (PARTITION BY e.person_id ORDER BY {}, e.{}) AS "
        "ordinal",
        start, t.key);
  }
  std::string extra;
  if (!t.value.empty()) extra += ", e.value_as_number";
  if (event.domain == Domain::kMeasurement) extra += ", e.unit_concept_id";
  if (event.domain == Domain::kCondition) extra += ", e.condition_status_concept_id";
  std::string inner = fmt::format(
      "SELECT e.person_id AS person_id, CAST(e.{} AS BIGINT) AS event_key, CAST({} AS DATE) AS "
      "start_date, CAST({} AS DATE) AS end_date, {} AS concept_id, {} AS visit_occurrence_id{}{}"
      " FROM {} e{}",
      t.key, start, end, concept_expr, visit, extra, ordinal, Cdm(t.table),
      inner_where.empty() ? "" : " WHERE " + [&] {
        std::string w;
        for (size_t i = 0; i < inner_where.size(); ++i) w += (i ? " AND " : "") + inner_where[i];
        return w;
      }());

  // Outer filters (applied after "first occurrence", as Circe does).
  std::vector<std::string> where;
  if (event.first_occurrence) where.push_back("ev.ordinal = 1");
  if (!event.value.empty()) where.push_back(RangeSql(event.value, "ev.value_as_number", false));
  if (!event.unit.empty()) {
    where.push_back(fmt::format("ev.unit_concept_id IN ({})", IdList(event.unit)));
  }
  if (!event.condition_status.empty()) {
    where.push_back(
        fmt::format("ev.condition_status_concept_id IN ({})", IdList(event.condition_status)));
  }
  if (!event.visit.empty()) {
    where.push_back(
        fmt::format("ev.visit_occurrence_id IN (SELECT vo.visit_occurrence_id FROM {} "
                    "vo WHERE vo.visit_concept_id IN ({}))",
                    Cdm("visit_occurrence"), IdList(event.visit)));
  }
  if (!event.start_date.empty()) where.push_back(RangeSql(event.start_date, "ev.start_date", true));
  bool person = !event.age.empty() || !event.sex.empty();
  if (!event.age.empty()) where.push_back(RangeSql(event.age, AgeSql("ev.start_date", "p"), false));
  if (!event.sex.empty()) {
    where.push_back(fmt::format("p.gender_concept_id IN ({})", IdList(event.sex)));
  }
  std::string out_start = "ev.start_date";
  std::string out_end = "ev.end_date";
  if (event.date_adjustment) {
    const DateAdjustment& a = *event.date_adjustment;
    out_start = AddDays(a.start_from_end ? "ev.end_date" : "ev.start_date", a.start_offset);
    out_end = AddDays(a.end_from_end ? "ev.end_date" : "ev.start_date", a.end_offset);
  }
  std::string out = fmt::format(
      "SELECT ev.person_id, ev.event_key, CAST({} AS DATE) AS start_date, CAST({} AS DATE) AS "
      "end_date, ev.concept_id, ev.visit_occurrence_id, {} AS domain_order FROM ({}) ev",
      out_start, out_end, t.order, inner);
  if (person) out += fmt::format(" JOIN {} p ON p.person_id = ev.person_id", Cdm("person"));
  if (!where.empty()) {
    out += " WHERE ";
    for (size_t i = 0; i < where.size(); ++i) out += (i ? " AND " : "") + where[i];
  }
  return out;
}

std::string SqlParts::CollapseSelect(std::string_view input, int32_t pad_days) const {
  // Gaps and islands: a row starts a new era unless an earlier row (padded) reaches its start;
  // the running sum of starts numbers the eras.
  std::string padded =
      fmt::format("SELECT i0.person_id, i0.start_date, {} AS end_date FROM ({}) i0",
                  AddDays("i0.end_date", pad_days), input);
  std::string marked = fmt::format(
      "SELECT i1.person_id, i1.start_date, i1.end_date, CASE WHEN MAX(i1.end_date) OVER "
      "(PARTITION BY i1.person_id ORDER BY i1.start_date, i1.end_date ROWS BETWEEN UNBOUNDED "
      "PRECEDING AND 1 PRECEDING) >= i1.start_date THEN 0 ELSE 1 END AS is_start FROM ({}) i1",
      padded);
  std::string grouped = fmt::format(
      "SELECT i2.person_id, i2.start_date, i2.end_date, SUM(i2.is_start) OVER (PARTITION BY "
      "i2.person_id ORDER BY i2.start_date, i2.is_start DESC, i2.end_date ROWS UNBOUNDED "
      "PRECEDING) AS grp FROM ({}) i2",
      marked);
  return fmt::format(
      "SELECT i3.person_id, MIN(i3.start_date) AS start_date, {} AS end_date FROM ({}) i3 GROUP "
      "BY i3.person_id, i3.grp",
      AddDays("MAX(i3.end_date)", -pad_days), grouped);
}

}  // namespace passerelle::cohort::internal
