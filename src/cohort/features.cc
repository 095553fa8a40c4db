#include "cohort/features.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "cohort/atlas.h"
#include "cohort/json_util.h"
#include "cohort/parse_internal.h"
#include "cohort/sql_parts.h"

namespace passerelle::cohort {

using internal::CheckKeys;
using internal::Find;
using internal::Json;
using internal::JsonError;
using internal::Sub;

namespace {

bool IsColumnName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string WindowTag(const std::optional<int32_t>& v, bool is_start) {
  if (!v) return is_start ? "minf" : "pinf";
  if (*v < 0) return fmt::format("m{}", -static_cast<int64_t>(*v));
  return fmt::format("{}", *v);
}

std::string WindowText(const Window& w) {
  return fmt::format("[{}, {}] days", w.start ? std::to_string(*w.start) : "-inf",
                     w.end ? std::to_string(*w.end) : "+inf");
}

// Reads "concepts": [...] of `obj` into a new inline concept set named `id`.
Result<std::optional<ConceptSet>> InlineSet(const Json& obj, std::string_view where,
                                            std::string id) {
  const Json* list = Find(obj, "concepts");
  if (list == nullptr) return std::optional<ConceptSet>();
  if (!list->is_array() || list->empty()) {
    return JsonError(where,
                     "\"concepts\" must be a non-empty list of concept ids or "
                     "{\"concept_id\": ...} objects");
  }
  ConceptSet cs;
  cs.id = std::move(id);
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(
        ConceptItem item,
        internal::ParseConceptItemJson((*list)[i], Sub(where, fmt::format("concept {}", i + 1))));
    cs.items.push_back(item);
  }
  return std::optional<ConceptSet>(std::move(cs));
}

class SpecParser {
 public:
  explicit SpecParser(std::string_view origin) : origin_(origin) {}

  Result<CohortStudySpec> Run(const Json& study) {
    RETURN_IF_ERROR(internal::ExpectObject(study, origin_));
    const Json* cohort = Find(study, "cohort");
    if (cohort == nullptr) return JsonError(origin_, "\"cohort\" is required");
    std::string cw = Sub(origin_, "cohort");
    if (cohort->is_object() && cohort->contains("atlas")) {
      RETURN_IF_ERROR(CheckKeys(*cohort, cw, {"atlas"}));
      ASSIGN_OR_RETURN(spec_.cohort, ImportAtlasCohortJson((*cohort)["atlas"], cw));
    } else {
      ASSIGN_OR_RETURN(spec_.cohort, CohortDefinitionFromJson(*cohort, cw));
    }
    if (const Json* covs = Find(study, "covariates")) {
      if (!covs->is_array()) return JsonError(origin_, "\"covariates\" must be a list");
      for (size_t i = 0; i < covs->size(); ++i) {
        ASSIGN_OR_RETURN(CovariateSpec c, Covariate((*covs)[i], i));
        spec_.covariates.push_back(std::move(c));
      }
    }
    if (const Json* out = Find(study, "outcome")) {
      ASSIGN_OR_RETURN(OutcomeSpec o, Outcome(*out));
      spec_.outcome = std::move(o);
    }
    RETURN_IF_ERROR(CheckNames());
    return std::move(spec_);
  }

 private:
  bool HasSet(std::string_view id) const {
    if (spec_.cohort.FindConceptSet(id) != nullptr) return true;
    for (const auto& cs : spec_.concept_sets) {
      if (cs.id == id) return true;
    }
    return false;
  }

  Result<CovariateSpec> Covariate(const Json& j, size_t index) {
    std::string where = Sub(origin_, fmt::format("covariate {}", index + 1));
    RETURN_IF_ERROR(internal::ExpectObject(j, where));
    CovariateSpec c;
    ASSIGN_OR_RETURN(auto type, internal::OptString(j, "type", where));
    if (!type) return JsonError(where, "\"type\" is required");
    ASSIGN_OR_RETURN(auto name, internal::OptString(j, "name", where));
    if (*type == "age") {
      RETURN_IF_ERROR(CheckKeys(j, where, {"type", "name"}));
      c.type = CovariateType::kAge;
      c.name = name.value_or("age");
      return c;
    }
    if (*type == "sex") {
      RETURN_IF_ERROR(CheckKeys(j, where, {"type", "name", "coding"}));
      c.type = CovariateType::kSex;
      ASSIGN_OR_RETURN(auto coding, internal::OptString(j, "coding", where));
      std::string code = coding.value_or("label");
      if (code == "label") {
        c.sex_coding = SexCoding::kLabel;
        c.name = name.value_or("sex");
      } else if (code == "female") {
        c.sex_coding = SexCoding::kFemale;
        c.name = name.value_or("female");
      } else if (code == "male") {
        c.sex_coding = SexCoding::kMale;
        c.name = name.value_or("male");
      } else {
        return JsonError(where, fmt::format("\"coding\" must be \"label\" (a text column "
                                            "female/male/other), \"female\" or \"male\" (a 0/1 "
                                            "column) (got \"{}\")",
                                            code));
      }
      return c;
    }
    auto domain = DomainFromName(*type);
    if (!domain || *domain == Domain::kObservationPeriod || *domain == Domain::kFixedDate) {
      return JsonError(where, fmt::format("\"type\" must be age, sex, condition, drug, procedure, "
                                          "measurement, observation, visit or death (got \"{}\")",
                                          *type));
    }
    RETURN_IF_ERROR(CheckKeys(
        j, where,
        {"type", "name", "concept_set", "concepts", "window", "end_window", "statistic"}));
    c.type = CovariateType::kEvent;
    c.domain = *domain;
    ASSIGN_OR_RETURN(auto set, internal::OptString(j, "concept_set", where));
    ASSIGN_OR_RETURN(auto inline_set, InlineSet(j, where, fmt::format("_cov{}", index + 1)));
    if (set && inline_set) {
      return JsonError(where, "give either \"concept_set\" or \"concepts\", not both");
    }
    std::string tag = "any";
    if (set) {
      if (!HasSet(*set)) {
        return JsonError(where, fmt::format("concept set \"{}\" is not defined in the cohort's "
                                            "\"concept_sets\"",
                                            *set));
      }
      c.concept_set = *set;
      tag = Sanitize(*set);
    } else if (inline_set) {
      c.concept_set = inline_set->id;
      spec_.concept_sets.push_back(std::move(*inline_set));
      tag = fmt::format("c{}", index + 1);
    }
    const Json* window = Find(j, "window");
    if (window == nullptr) {
      return JsonError(where,
                       "\"window\" is required, e.g. {\"start\": -365, \"end\": 0} (days "
                       "relative to the index date; null for unbounded)");
    }
    ASSIGN_OR_RETURN(c.window, internal::ParseWindowJson(*window, "window", where, false));
    if (c.window.from_index_end || c.window.on_event_end) {
      return JsonError(where, "\"window\" of a covariate takes only \"start\" and \"end\"");
    }
    if (c.window.start && c.window.end && *c.window.start > *c.window.end) {
      return JsonError(where,
                       fmt::format("\"window.start\" must be <= \"window.end\" (got {} > {})",
                                   *c.window.start, *c.window.end));
    }
    if (const Json* ew = Find(j, "end_window")) {
      ASSIGN_OR_RETURN(Window w, internal::ParseWindowJson(*ew, "end_window", where, true));
      if (w.from_index_end || !w.on_event_end) {
        return JsonError(where, "\"end_window\" of a covariate takes only \"start\" and \"end\"");
      }
      if (w.start && w.end && *w.start > *w.end) {
        return JsonError(where, fmt::format("\"end_window.start\" must be <= \"end_window.end\" "
                                            "(got {} > {})",
                                            *w.start, *w.end));
      }
      c.end_window = w;
    }
    ASSIGN_OR_RETURN(auto stat, internal::OptString(j, "statistic", where));
    std::string st = stat.value_or("any");
    std::string suffix;
    if (st == "any") {
      c.statistic = Statistic::kAny;
    } else if (st == "count") {
      c.statistic = Statistic::kCount;
      suffix = "_count";
    } else if (st == "latest_value") {
      if (c.domain != Domain::kMeasurement && c.domain != Domain::kObservation) {
        return JsonError(where,
                         "\"statistic\": \"latest_value\" applies to measurement and "
                         "observation only");
      }
      c.statistic = Statistic::kLatestValue;
      suffix = "_latest";
    } else {
      return JsonError(where, fmt::format("\"statistic\" must be \"any\", \"count\" or "
                                          "\"latest_value\" (got \"{}\")",
                                          st));
    }
    std::string end_tag;
    if (c.end_window) {
      end_tag = fmt::format("_end_{}_{}", WindowTag(c.end_window->start, true),
                            WindowTag(c.end_window->end, false));
    }
    c.name = name.value_or(fmt::format("{}_{}{}_{}_{}{}", DomainName(c.domain), tag, suffix,
                                       WindowTag(c.window.start, true),
                                       WindowTag(c.window.end, false), end_tag));
    return c;
  }

  Result<OutcomeSpec> Outcome(const Json& j) {
    std::string where = Sub(origin_, "outcome");
    RETURN_IF_ERROR(CheckKeys(j, where, {"type", "event", "window", "censor_at", "name"}));
    OutcomeSpec o;
    ASSIGN_OR_RETURN(auto type, internal::OptString(j, "type", where));
    if (!type || (*type != "binary" && *type != "time_to_event")) {
      return JsonError(where, "\"type\" must be \"binary\" or \"time_to_event\"");
    }
    o.type = *type == "binary" ? OutcomeType::kBinary : OutcomeType::kTimeToEvent;
    const Json* event = Find(j, "event");
    if (event == nullptr) return JsonError(where, "\"event\" is required");
    std::string ew = Sub(where, "\"event\"");
    RETURN_IF_ERROR(internal::ExpectObject(*event, ew));
    Json copy = *event;
    ASSIGN_OR_RETURN(auto inline_set, InlineSet(copy, ew, "_outcome"));
    copy.erase("concepts");
    ASSIGN_OR_RETURN(o.event, internal::ParseEventJson(copy, ew));
    if (inline_set) {
      if (!o.event.concept_set.empty()) {
        return JsonError(ew, "give either \"concept_set\" or \"concepts\", not both");
      }
      o.event.concept_set = inline_set->id;
      spec_.concept_sets.push_back(std::move(*inline_set));
    }
    RETURN_IF_ERROR(internal::ValidateEvent(
        o.event, [&](std::string_view id) { return HasSet(id); }, ew));
    if (const Json* w = Find(j, "window")) {
      std::string ww = Sub(where, "\"window\"");
      RETURN_IF_ERROR(CheckKeys(*w, ww, {"start", "end"}));
      ASSIGN_OR_RETURN(auto s, internal::OptInt(*w, "start", where, -100000, 100000));
      ASSIGN_OR_RETURN(auto e, internal::OptInt(*w, "end", where, -100000, 100000));
      o.window_start = s ? std::optional<int32_t>(static_cast<int32_t>(*s)) : std::nullopt;
      o.window_end = e ? std::optional<int32_t>(static_cast<int32_t>(*e)) : std::nullopt;
      if (!o.window_start) o.window_start = 0;
    }
    if (o.window_start && o.window_end && *o.window_start > *o.window_end) {
      return JsonError(where,
                       fmt::format("\"window.start\" must be <= \"window.end\" (got {} > {})",
                                   *o.window_start, *o.window_end));
    }
    if (const Json* c = Find(j, "censor_at")) {
      if (o.type != OutcomeType::kTimeToEvent) {
        return JsonError(where, "\"censor_at\" applies to \"type\": \"time_to_event\" only");
      }
      if (!c->is_array()) {
        return JsonError(where,
                         "\"censor_at\" must be a list of \"cohort_end\", \"death\", "
                         "\"observation_end\"");
      }
      o.censor_at_exit = false;
      o.censor_at_death = false;
      for (const auto& v : *c) {
        std::string s = v.is_string() ? v.get<std::string>() : "";
        if (s == "cohort_end") {
          o.censor_at_exit = true;
        } else if (s == "death") {
          o.censor_at_death = true;
        } else if (s != "observation_end") {
          return JsonError(where, fmt::format("\"censor_at\" entries must be \"cohort_end\", "
                                              "\"death\" or \"observation_end\" (got {})",
                                              internal::Brief(v)));
        }
      }
    }
    ASSIGN_OR_RETURN(auto name, internal::OptString(j, "name", where));
    if (o.type == OutcomeType::kBinary) {
      o.column = name.value_or("outcome");
    } else {
      o.time_column = name ? *name + "_time" : "time";
      o.event_column = name ? *name + "_event" : "event";
    }
    return o;
  }

  Status CheckNames() const {
    std::set<std::string> seen;
    auto check = [&](const std::string& n, const std::string& where) -> Status {
      if (!IsColumnName(n)) {
        return JsonError(where, fmt::format("column name \"{}\" must match [a-z_][a-z0-9_]* "
                                            "(at most 63 characters); set \"name\"",
                                            n));
      }
      if (!seen.insert(n).second) {
        return JsonError(where, fmt::format("column name \"{}\" is used twice; set \"name\"", n));
      }
      return Status::Ok();
    };
    for (size_t i = 0; i < spec_.covariates.size(); ++i) {
      RETURN_IF_ERROR(
          check(spec_.covariates[i].name, Sub(origin_, fmt::format("covariate {}", i + 1))));
    }
    if (spec_.outcome) {
      std::string w = Sub(origin_, "outcome");
      if (spec_.outcome->type == OutcomeType::kBinary) {
        RETURN_IF_ERROR(check(spec_.outcome->column, w));
      } else {
        RETURN_IF_ERROR(check(spec_.outcome->time_column, w));
        RETURN_IF_ERROR(check(spec_.outcome->event_column, w));
      }
    }
    return Status::Ok();
  }

  std::string origin_;
  CohortStudySpec spec_;
};

// ---- building ----

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

class Builder {
 public:
  Builder(store::DataSource& source, const CohortStudySpec& spec, std::string table,
          const BuildOptions& opts)
      : source_(source),
        spec_(spec),
        table_(std::move(table)),
        opts_(opts),
        d_(source.dialect()),
        sql_(source.dialect(), opts.cdm_schema) {
    int k = 0;
    for (const auto& cs : spec.cohort.concept_sets) sets_.push_back(&cs), ids_[cs.id] = k++;
    for (const auto& cs : spec.concept_sets) sets_.push_back(&cs), ids_[cs.id] = k++;
  }

  Result<AnalysisTableInfo> Run() {
    AnalysisTableInfo info;
    info.table = table_;
    CompileOptions co;
    co.work_prefix = opts_.work_prefix + "c_";
    co.result_table = T("cohort");
    co.temporary_result = true;
    co.cdm_schema = opts_.cdm_schema;
    ASSIGN_OR_RETURN(info.cohort, GenerateCohort(source_, spec_.cohort, co));

    std::vector<std::string> statements;
    for (const char* w : {"members", "codesets", "covdef", "flong", "outcome"}) {
      cleanup_.push_back(d_.DropTemporaryTableIfExists(T(w)));
    }
    cleanup_.push_back(d_.DropTemporaryTableIfExists(T("cohort")));
    statements = cleanup_;
    statements.pop_back();  // keep the cohort just built

    // Members: the first cohort period of each person, with its observation period.
    std::string op = sql_.Cdm("observation_period");
    statements.push_back(d_.CreateTableAs(
        T("members"),
        fmt::format(
            "SELECT c.subject_id AS person_id, c.cohort_start_date AS index_date, "
            "c.cohort_end_date AS exit_date, MAX(op.observation_period_end_date) AS op_end FROM "
            "(SELECT subject_id, cohort_start_date, cohort_end_date, row_number() OVER (PARTITION "
            "BY subject_id ORDER BY cohort_start_date) AS rn FROM {}) c LEFT JOIN {} op ON "
            "op.person_id = c.subject_id AND c.cohort_start_date >= "
            "op.observation_period_start_date AND c.cohort_start_date <= "
            "op.observation_period_end_date WHERE c.rn = 1 GROUP BY c.subject_id, "
            "c.cohort_start_date, c.cohort_end_date",
            Q(T("cohort")), op),
        true));

    // Concept sets of the cohort and of the spec, and covariate definitions.
    std::vector<std::string> sets;
    for (size_t i = 0; i < sets_.size(); ++i) {
      sets.push_back(sql_.CodesetSelect(*sets_[i], static_cast<int>(i)));
    }
    if (sets.empty()) {
      sets.push_back(
          "SELECT CAST(NULL AS INTEGER) AS codeset_id, CAST(NULL AS BIGINT) AS "
          "concept_id WHERE 1 = 0");
    }
    statements.push_back(d_.CreateTableAs(T("codesets"), Join(sets, " UNION ALL "), true));

    std::vector<std::string> covdef;
    for (size_t i = 0; i < spec_.covariates.size(); ++i) {
      const auto& c = spec_.covariates[i];
      if (c.type != CovariateType::kEvent || c.concept_set.empty()) continue;
      auto num = [](const std::optional<int32_t>& v) {
        return v ? std::to_string(*v) : std::string("NULL");
      };
      std::optional<int32_t> es, ee;
      if (c.end_window) es = c.end_window->start, ee = c.end_window->end;
      covdef.push_back(fmt::format(
          "SELECT CAST({} AS INTEGER) AS cov_id, cs.concept_id, CAST({} AS INTEGER) AS start_off, "
          "CAST({} AS INTEGER) AS end_off, CAST({} AS INTEGER) AS e_start_off, CAST({} AS "
          "INTEGER) AS e_end_off FROM {} cs WHERE cs.codeset_id = {}",
          i, num(c.window.start), num(c.window.end), num(es), num(ee), Q(T("codesets")),
          ids_.at(c.concept_set)));
    }
    if (covdef.empty()) {
      covdef.push_back(
          "SELECT CAST(NULL AS INTEGER) AS cov_id, CAST(NULL AS BIGINT) AS "
          "concept_id, CAST(NULL AS INTEGER) AS start_off, CAST(NULL AS INTEGER) AS "
          "end_off, CAST(NULL AS INTEGER) AS e_start_off, CAST(NULL AS INTEGER) AS "
          "e_end_off WHERE 1 = 0");
    }
    statements.push_back(d_.CreateTableAs(T("covdef"), Join(covdef, " UNION ALL "), true));

    // Long table (person_id, cov_id, n, v): one pass per domain for set-based covariates.
    std::vector<std::string> long_parts = LongParts();
    if (long_parts.empty()) {
      long_parts.push_back(
          fmt::format("SELECT CAST(NULL AS BIGINT) AS person_id, CAST(NULL AS "
                      "INTEGER) AS cov_id, CAST(NULL AS BIGINT) AS n, "
                      "CAST(NULL AS {}) AS v WHERE 1 = 0",
                      d_.DoubleType()));
    }
    statements.push_back(d_.CreateTableAs(T("flong"), Join(long_parts, " UNION ALL "), true));

    // Outcome: first qualifying event in the risk window.
    if (spec_.outcome) {
      const OutcomeSpec& o = *spec_.outcome;
      std::vector<std::string> where;
      where.push_back(fmt::format("o.start_date >= {}",
                                  sql_.AddDays("m.index_date", o.window_start.value_or(0))));
      if (o.window_end) {
        where.push_back(
            fmt::format("o.start_date <= {}", sql_.AddDays("m.index_date", *o.window_end)));
      }
      statements.push_back(d_.CreateTableAs(
          T("outcome"),
          fmt::format("SELECT m.person_id, MIN(o.start_date) AS outcome_date FROM {} m JOIN ({}) "
                      "o ON o.person_id = m.person_id WHERE {} GROUP BY m.person_id",
                      Q(T("members")), Events(o.event), Join(where, " AND ")),
          true));
    }

    // The analysis table.
    ASSIGN_OR_RETURN(std::string final_select, FinalSelect(info.columns));
    statements.push_back(opts_.temporary ? d_.DropTemporaryTableIfExists(table_)
                                         : d_.DropTableIfExists(table_));
    statements.push_back(d_.CreateTableAs(table_, final_select, opts_.temporary));

    for (size_t i = 0; i < statements.size(); ++i) {
      Status st = source_.Execute(statements[i]);
      if (!st.ok()) {
        Cleanup();
        return Status(st.code(), fmt::format("analysis table: step {} of {} failed: {}", i + 1,
                                             statements.size(), st.message()));
      }
    }
    auto rows = store::QueryInt(source_, fmt::format("SELECT COUNT(*) FROM {}", Q(table_)));
    Cleanup();
    if (!rows.ok()) return rows.status();
    info.rows = *rows;
    return info;
  }

 private:
  std::string T(std::string_view n) const { return opts_.work_prefix + std::string(n); }
  std::string Q(std::string_view n) const { return d_.QuoteIdentifier(n); }
  void Cleanup() {
    for (const auto& s : cleanup_) source_.Execute(s).PermitUncheckedError();
  }

  std::string Events(const EventCriteria& e) const {
    int id = e.concept_set.empty() ? -1 : ids_.at(e.concept_set);
    return sql_.EventSelect(e, id, T("codesets"));
  }

  // Window tests of a covariate on its event `e` (start date, and end date with an end window).
  std::string WindowSql(const CovariateSpec& c) const {
    const auto& t = internal::TableOf(c.domain);
    std::string start = fmt::format("e.{}", t.start);
    std::vector<std::string> parts;
    auto add = [&](const std::string& date, const Window& w) {
      if (w.start) {
        parts.push_back(fmt::format("{} >= {}", date, sql_.AddDays("m.index_date", *w.start)));
      }
      if (w.end) {
        parts.push_back(fmt::format("{} <= {}", date, sql_.AddDays("m.index_date", *w.end)));
      }
    };
    add(start, c.window);
    if (c.end_window) add(sql_.EndExpr(c.domain, "e"), *c.end_window);
    return parts.empty() ? "TRUE" : Join(parts, " AND ");
  }

  std::vector<std::string> LongParts() const {
    std::vector<std::string> parts;
    const std::string dbl = std::string(d_.DoubleType());
    // Set-based covariates grouped by domain, kind (any/count vs latest value) and whether they
    // test the event's end.
    std::map<std::tuple<Domain, bool, bool>, std::vector<size_t>> groups;
    for (size_t i = 0; i < spec_.covariates.size(); ++i) {
      const auto& c = spec_.covariates[i];
      if (c.type != CovariateType::kEvent) continue;
      if (c.concept_set.empty()) {
        // Any event of the domain: one query of its own.
        const auto& t = internal::TableOf(c.domain);
        std::string date = fmt::format("e.{}", t.start);
        if (c.statistic == Statistic::kLatestValue) {
          parts.push_back(fmt::format(
              "SELECT person_id, cov_id, CAST(NULL AS BIGINT) AS n, v FROM (SELECT m.person_id, "
              "CAST({i} AS INTEGER) AS cov_id, CAST(e.value_as_number AS {dbl}) AS v, "
              "row_number() OVER (PARTITION BY m.person_id ORDER BY {date} DESC, e.{key} DESC) "
              "AS rn FROM {m} m JOIN {tab} e ON e.person_id = m.person_id WHERE {win} AND "
              "e.value_as_number IS NOT NULL) x WHERE rn = 1",
              fmt::arg("i", i), fmt::arg("dbl", dbl), fmt::arg("date", date),
              fmt::arg("key", t.key), fmt::arg("m", Q(T("members"))),
              fmt::arg("tab", sql_.Cdm(t.table)), fmt::arg("win", WindowSql(c))));
        } else {
          parts.push_back(fmt::format(
              "SELECT m.person_id, CAST({} AS INTEGER) AS cov_id, COUNT(*) AS n, CAST(NULL AS {}) "
              "AS v FROM {} m JOIN {} e ON e.person_id = m.person_id WHERE {} GROUP BY "
              "m.person_id",
              i, dbl, Q(T("members")), sql_.Cdm(t.table), WindowSql(c)));
        }
        continue;
      }
      groups[{c.domain, c.statistic == Statistic::kLatestValue, c.end_window.has_value()}]
          .push_back(i);
    }
    for (const auto& [key, covs] : groups) {
      const auto& [domain, latest, with_end] = key;
      const auto& t = internal::TableOf(domain);
      std::string date = fmt::format("e.{}", t.start);
      std::vector<std::string> ids;
      for (size_t i : covs) ids.push_back(std::to_string(i));
      std::string win = fmt::format(
          "(d.start_off IS NULL OR {0} >= {1}) AND (d.end_off IS NULL OR {0} <= {2})", date,
          d_.AddDays("m.index_date", "d.start_off"), d_.AddDays("m.index_date", "d.end_off"));
      if (with_end) {
        win += fmt::format(
            " AND (d.e_start_off IS NULL OR {0} >= {1}) AND (d.e_end_off IS NULL OR {0} <= {2})",
            sql_.EndExpr(domain, "e"), d_.AddDays("m.index_date", "d.e_start_off"),
            d_.AddDays("m.index_date", "d.e_end_off"));
      }
      std::string from = fmt::format(
          "FROM {} m JOIN {} e ON e.person_id = m.person_id JOIN {} d ON d.concept_id = e.{} AND "
          "d.cov_id IN ({}) WHERE {}",
          Q(T("members")), sql_.Cdm(t.table), Q(T("covdef")), t.concept_col, Join(ids, ", "), win);
      if (latest) {
        parts.push_back(fmt::format(
            "SELECT person_id, cov_id, CAST(NULL AS BIGINT) AS n, v FROM (SELECT m.person_id, "
            "d.cov_id, CAST(e.value_as_number AS {}) AS v, row_number() OVER (PARTITION BY "
            "m.person_id, d.cov_id ORDER BY {} DESC, e.{} DESC) AS rn {} AND e.value_as_number IS "
            "NOT NULL) x WHERE rn = 1",
            dbl, date, t.key, from));
      } else {
        parts.push_back(fmt::format(
            "SELECT m.person_id, d.cov_id, COUNT(*) AS n, CAST(NULL AS {}) AS v {} GROUP BY "
            "m.person_id, d.cov_id",
            dbl, from));
      }
    }
    return parts;
  }

  // Earliest of non-null dates; the first one must never be NULL.
  static std::string MinDate(const std::vector<std::string>& dates) {
    std::string acc = dates.front();
    for (size_t i = 1; i < dates.size(); ++i) {
      acc = fmt::format("CASE WHEN {1} IS NULL OR {0} <= {1} THEN {0} ELSE {1} END", acc, dates[i]);
    }
    return acc;
  }

  Result<std::string> FinalSelect(std::vector<AnalysisColumn>& columns) const {
    std::vector<std::string> cols;
    std::vector<std::string> pivot;
    bool need_person = false;
    for (size_t i = 0; i < spec_.covariates.size(); ++i) {
      const auto& c = spec_.covariates[i];
      std::string name = Q(c.name);
      switch (c.type) {
        case CovariateType::kAge:
          need_person = true;
          cols.push_back(fmt::format("{} AS {}", sql_.AgeSql("m.index_date", "p"), name));
          columns.push_back(
              {c.name, "integer", "age at index (years: year(index) - year of birth)"});
          break;
        case CovariateType::kSex:
          need_person = true;
          if (c.sex_coding == SexCoding::kFemale) {
            cols.push_back(fmt::format("CASE WHEN p.gender_concept_id = {} THEN 1 ELSE 0 END AS {}",
                                       kFemaleConceptId, name));
            columns.push_back({c.name, "integer", "1 when female (gender concept 8532), else 0"});
          } else if (c.sex_coding == SexCoding::kMale) {
            cols.push_back(fmt::format("CASE WHEN p.gender_concept_id = {} THEN 1 ELSE 0 END AS {}",
                                       kMaleConceptId, name));
            columns.push_back({c.name, "integer", "1 when male (gender concept 8507), else 0"});
          } else {
            cols.push_back(fmt::format(
                "CAST(CASE WHEN p.gender_concept_id = {} THEN 'female' WHEN p.gender_concept_id = "
                "{} THEN 'male' ELSE 'other' END AS {}) AS {}",
                kFemaleConceptId, kMaleConceptId, d_.TextType(), name));
            columns.push_back({c.name, "text", "sex: female, male or other"});
          }
          break;
        case CovariateType::kEvent: {
          std::string src = fmt::format("f.c{}", i);
          std::string what = fmt::format(
              "{} {} starting in {}{}", DomainName(c.domain),
              c.concept_set.empty() ? std::string("(any)") : c.concept_set, WindowText(c.window),
              c.end_window ? " and ending in " + WindowText(*c.end_window) : std::string());
          if (c.statistic == Statistic::kLatestValue) {
            pivot.push_back(fmt::format("MAX(CASE WHEN cov_id = {} THEN v END) AS c{}", i, i));
            cols.push_back(fmt::format("{} AS {}", src, name));
            columns.push_back({c.name, "real", what + ": latest value (NULL when none)"});
          } else if (c.statistic == Statistic::kCount) {
            pivot.push_back(fmt::format("MAX(CASE WHEN cov_id = {} THEN n END) AS c{}", i, i));
            cols.push_back(fmt::format("CAST(COALESCE({}, 0) AS BIGINT) AS {}", src, name));
            columns.push_back({c.name, "integer", what + ": count of events"});
          } else {
            pivot.push_back(fmt::format("MAX(CASE WHEN cov_id = {} THEN 1 END) AS c{}", i, i));
            cols.push_back(fmt::format("CAST(COALESCE({}, 0) AS INTEGER) AS {}", src, name));
            columns.push_back({c.name, "integer", what + ": 1 when any event, else 0"});
          }
          break;
        }
      }
    }
    std::string joins;
    if (spec_.outcome) {
      const OutcomeSpec& o = *spec_.outcome;
      joins += fmt::format(" LEFT JOIN {} o ON o.person_id = m.person_id", Q(T("outcome")));
      // op_end is NULL only for a cohort period outside every observation period (bad data).
      std::string op_end = "COALESCE(m.op_end, m.exit_date)";
      if (o.type == OutcomeType::kBinary) {
        cols.push_back(fmt::format(
            "CASE WHEN o.outcome_date IS NOT NULL AND o.outcome_date <= {} THEN 1 ELSE 0 END AS {}",
            op_end, Q(o.column)));
        columns.push_back({o.column, "integer",
                           "1 when the outcome occurs in the risk window (within observation)"});
      } else {
        std::vector<std::string> ends = {op_end};
        if (o.censor_at_exit) ends.push_back("m.exit_date");
        if (o.censor_at_death) {
          ends.push_back("dd.death_date");
          joins += fmt::format(
              " LEFT JOIN (SELECT person_id, MIN(death_date) AS death_date FROM "
              "{} GROUP BY person_id) dd ON dd.person_id = m.person_id",
              sql_.Cdm("death"));
        }
        if (o.window_end) ends.push_back(sql_.AddDays("m.index_date", *o.window_end));
        std::string censor = MinDate(ends);
        std::string event =
            fmt::format("(o.outcome_date IS NOT NULL AND o.outcome_date <= {})", censor);
        cols.push_back(fmt::format("CASE WHEN {} THEN {} ELSE {} END AS {}", event,
                                   d_.DaysBetween("m.index_date", "o.outcome_date"),
                                   d_.DaysBetween("m.index_date", censor), Q(o.time_column)));
        cols.push_back(
            fmt::format("CASE WHEN {} THEN 1 ELSE 0 END AS {}", event, Q(o.event_column)));
        columns.push_back(
            {o.time_column, "integer", "days from index to the outcome, or to censoring"});
        columns.push_back({o.event_column, "integer",
                           "1 when the outcome was observed, 0 when "
                           "censored"});
      }
    }
    if (cols.empty()) {
      return Status::InvalidArgument(
          "analysis table: no covariates and no outcome; list at least one in the study file");
    }
    if (need_person) {
      joins = fmt::format(" JOIN {} p ON p.person_id = m.person_id", sql_.Cdm("person")) + joins;
    }
    if (!pivot.empty()) {
      joins += fmt::format(
          " LEFT JOIN (SELECT person_id, {} FROM {} GROUP BY person_id) f ON "
          "f.person_id = m.person_id",
          Join(pivot, ", "), Q(T("flong")));
    }
    return fmt::format("SELECT {} FROM {} m{}", Join(cols, ", "), Q(T("members")), joins);
  }

  store::DataSource& source_;
  const CohortStudySpec& spec_;
  std::string table_;
  const BuildOptions& opts_;
  const store::Dialect& d_;
  internal::SqlParts sql_;
  std::vector<const ConceptSet*> sets_;
  std::map<std::string, int> ids_;
  std::vector<std::string> cleanup_;
};

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

}  // namespace

Result<CohortStudySpec> ParseCohortStudySpec(const Json& study, std::string_view origin) {
  return SpecParser(origin).Run(study);
}

Result<CohortStudySpec> ParseCohortStudySpecText(std::string_view json_text,
                                                 std::string_view origin) {
  ASSIGN_OR_RETURN(Json j, internal::ParseJsonText(json_text, origin));
  return ParseCohortStudySpec(j, origin);
}

Result<AnalysisTableInfo> BuildAnalysisTable(store::DataSource& source, const CohortStudySpec& spec,
                                             std::string_view table_name,
                                             const BuildOptions& options) {
  if (!IsIdentifier(table_name)) {
    return Status::InvalidArgument(fmt::format(
        "analysis table name \"{}\" must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters)",
        table_name));
  }
  if (!IsIdentifier(options.work_prefix)) {
    return Status::InvalidArgument(fmt::format(
        "work table prefix \"{}\" must match [A-Za-z_][A-Za-z0-9_]*", options.work_prefix));
  }
  return Builder(source, spec, std::string(table_name), options).Run();
}

Result<AnalysisTableInfo> BuildAnalysisTable(store::DataSource& source, const CohortStudySpec& spec,
                                             std::string_view table_name) {
  return BuildAnalysisTable(source, spec, table_name, BuildOptions{});
}

}  // namespace passerelle::cohort
