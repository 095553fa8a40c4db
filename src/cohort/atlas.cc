#include "cohort/atlas.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "cohort/json_util.h"
#include "common/date.h"

namespace passerelle::cohort {

using internal::Json;

namespace {

// Whether a value is "not set": null, false, "", [], {} (Circe writes defaults this way).
bool IsUnset(const Json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

std::string Path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}
std::string Index(std::string_view parent, size_t i) { return fmt::format("{}[{}]", parent, i); }

std::string List(std::initializer_list<std::string_view> keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

class Importer {
 public:
  explicit Importer(std::string_view origin) : origin_(origin) {}

  Result<CohortDefinition> Run(const Json& j) {
    RETURN_IF_ERROR(Keys(j, "",
                         {"ConceptSets", "PrimaryCriteria", "AdditionalCriteria", "QualifiedLimit",
                          "ExpressionLimit", "InclusionRules", "EndStrategy", "CensoringCriteria",
                          "CollapseSettings", "CensorWindow"},
                         {"cdmVersionRange", "Title"}));
    CohortDefinition def;
    if (auto t = Get(j, "Title"); t && t->is_string()) def.name = t->get<std::string>();
    if (const Json* sets = Get(j, "ConceptSets")) {
      RETURN_IF_ERROR(Array(*sets, "ConceptSets"));
      for (size_t i = 0; i < sets->size(); ++i) {
        ASSIGN_OR_RETURN(ConceptSet cs, ConceptSetOf((*sets)[i], Index("ConceptSets", i)));
        def.concept_sets.push_back(std::move(cs));
      }
    }
    const Json* pc = Get(j, "PrimaryCriteria");
    if (pc == nullptr) return Err("PrimaryCriteria", "is required");
    RETURN_IF_ERROR(Keys(*pc, "PrimaryCriteria",
                         {"CriteriaList", "ObservationWindow", "PrimaryCriteriaLimit"}));
    const Json* list = Get(*pc, "CriteriaList");
    if (list == nullptr || !list->is_array() || list->empty()) {
      return Err("PrimaryCriteria.CriteriaList", "must list at least one entry event");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      ASSIGN_OR_RETURN(EventCriteria e,
                       CriteriaOf((*list)[i], Index("PrimaryCriteria.CriteriaList", i)));
      def.entry.events.push_back(std::move(e));
    }
    if (const Json* ow = Get(*pc, "ObservationWindow")) {
      std::string p = "PrimaryCriteria.ObservationWindow";
      RETURN_IF_ERROR(Keys(*ow, p, {"PriorDays", "PostDays"}));
      ASSIGN_OR_RETURN(def.entry.prior_observation_days, Days(*ow, "PriorDays", p, 0));
      ASSIGN_OR_RETURN(def.entry.post_observation_days, Days(*ow, "PostDays", p, 0));
    }
    ASSIGN_OR_RETURN(def.entry.limit,
                     LimitOf(*pc, "PrimaryCriteriaLimit", "PrimaryCriteria.PrimaryCriteriaLimit"));
    if (const Json* ac = Get(j, "AdditionalCriteria")) {
      ASSIGN_OR_RETURN(Group g, GroupOf(*ac, "AdditionalCriteria"));
      if (!g.empty()) def.entry.additional_criteria = std::move(g);
    }
    ASSIGN_OR_RETURN(def.entry.qualified_limit, LimitOf(j, "QualifiedLimit", "QualifiedLimit"));
    ASSIGN_OR_RETURN(def.inclusion_limit, LimitOf(j, "ExpressionLimit", "ExpressionLimit"));
    if (const Json* rules = Get(j, "InclusionRules")) {
      RETURN_IF_ERROR(Array(*rules, "InclusionRules"));
      for (size_t i = 0; i < rules->size(); ++i) {
        std::string p = Index("InclusionRules", i);
        const Json& r = (*rules)[i];
        RETURN_IF_ERROR(Keys(r, p, {"name", "description", "expression"}));
        InclusionRule rule;
        if (auto n = Get(r, "name"); n && n->is_string()) rule.name = n->get<std::string>();
        if (auto d = Get(r, "description"); d && d->is_string()) {
          rule.description = d->get<std::string>();
        }
        if (rule.name.empty()) rule.name = fmt::format("rule {}", i + 1);
        if (const Json* e = Get(r, "expression")) {
          ASSIGN_OR_RETURN(rule.group, GroupOf(*e, Path(p, "expression")));
        }
        def.inclusion_rules.push_back(std::move(rule));
      }
    }
    if (const Json* es = Get(j, "EndStrategy")) {
      ASSIGN_OR_RETURN(def.exit, ExitOf(*es, "EndStrategy"));
    }
    if (const Json* cc = Get(j, "CensoringCriteria")) {
      RETURN_IF_ERROR(Array(*cc, "CensoringCriteria"));
      for (size_t i = 0; i < cc->size(); ++i) {
        ASSIGN_OR_RETURN(EventCriteria e, CriteriaOf((*cc)[i], Index("CensoringCriteria", i)));
        def.censor_events.push_back(std::move(e));
      }
    }
    if (const Json* cs = Get(j, "CollapseSettings")) {
      std::string p = "CollapseSettings";
      RETURN_IF_ERROR(Keys(*cs, p, {"CollapseType", "EraPad", "EraPadUnit", "EraPadUnitValue"}));
      if (auto t = Get(*cs, "CollapseType"); t && (!t->is_string() || *t != "ERA")) {
        return Err(Path(p, "CollapseType"), "only \"ERA\" is supported");
      }
      RETURN_IF_ERROR(DayUnit(*cs, "EraPadUnit", p));
      ASSIGN_OR_RETURN(int32_t pad, Days(*cs, "EraPad", p, 0));
      ASSIGN_OR_RETURN(int32_t pad_unit, Days(*cs, "EraPadUnitValue", p, 0));
      def.era_pad_days = pad != 0 ? pad : pad_unit;
    }
    if (const Json* cw = Get(j, "CensorWindow")) {
      std::string p = "CensorWindow";
      RETURN_IF_ERROR(Keys(*cw, p, {"StartDate", "EndDate"}));
      ASSIGN_OR_RETURN(def.censor_window_start, DateOf(*cw, "StartDate", p));
      ASSIGN_OR_RETURN(def.censor_window_end, DateOf(*cw, "EndDate", p));
    }
    RETURN_IF_ERROR(ValidateCohortDefinition(def, origin_));
    return def;
  }

 private:
  Status Err(std::string_view path, std::string_view message) const {
    if (path.empty()) return Status::InvalidArgument(fmt::format("{}: {}", origin_, message));
    return Status::InvalidArgument(fmt::format("{}: {}: {}", origin_, path, message));
  }

  // The member, or null when absent or unset.
  static const Json* Get(const Json& obj, std::string_view key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status Array(const Json& v, std::string_view path) const {
    if (!v.is_array()) return Err(path, "must be a list");
    return Status::Ok();
  }

  // Refuses any member that is set but not supported (or ignorable metadata).
  Status Keys(const Json& obj, std::string_view path,
              std::initializer_list<std::string_view> supported,
              std::initializer_list<std::string_view> ignored = {}) const {
    if (!obj.is_object()) return Err(path, "must be a JSON object");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known = false;
      for (auto k : supported) known = known || k == it.key();
      for (auto k : ignored) known = known || k == it.key();
      if (known || IsUnset(it.value())) continue;
      return Err(Path(path, it.key()),
                 fmt::format("not supported by Passerelle's ATLAS import (supported here: {}); "
                             "remove it or express the cohort in the native format",
                             List(supported)));
    }
    return Status::Ok();
  }

  Result<int64_t> Int(const Json& v, std::string_view path, int64_t min, int64_t max) const {
    auto r = internal::AsInt(v, "the value", "x", min, max);
    if (!r.ok()) {
      return Err(path, fmt::format("must be a whole number between {} and {} (got {})", min, max,
                                   internal::Brief(v)));
    }
    return *r;
  }

  Result<int32_t> Days(const Json& obj, std::string_view key, std::string_view path,
                       int64_t min) const {
    const Json* v = Get(obj, key);
    if (v == nullptr) return 0;
    ASSIGN_OR_RETURN(int64_t d, Int(*v, Path(path, key), min, 100000));
    return static_cast<int32_t>(d);
  }

  Status DayUnit(const Json& obj, std::string_view key, std::string_view path) const {
    const Json* v = Get(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string() || *v != "day") {
      return Err(Path(path, key), "only \"day\" units are supported");
    }
    return Status::Ok();
  }

  Result<std::optional<int32_t>> DateOf(const Json& obj, std::string_view key,
                                        std::string_view path) const {
    const Json* v = Get(obj, key);
    if (v == nullptr || IsUnset(*v)) return std::optional<int32_t>();
    if (!v->is_string()) return Err(Path(path, key), "must be a date YYYY-MM-DD");
    auto d = ParseDate(v->get<std::string>());
    if (!d.ok()) return Err(Path(path, key), "must be a date YYYY-MM-DD");
    return std::optional<int32_t>(*d);
  }

  Result<Limit> LimitOf(const Json& obj, std::string_view key, std::string_view path) const {
    const Json* v = Get(obj, key);
    if (v == nullptr) return Limit::kFirst;  // Circe's default
    RETURN_IF_ERROR(Keys(*v, path, {"Type"}));
    const Json* t = Get(*v, "Type");
    if (t == nullptr) return Limit::kFirst;
    std::string s = t->is_string() ? t->get<std::string>() : "";
    if (s == "First") return Limit::kFirst;
    if (s == "All") return Limit::kAll;
    if (s == "Last") return Limit::kLast;
    return Err(Path(path, "Type"),
               fmt::format("must be \"First\", \"All\" or \"Last\" (got {})", internal::Brief(*t)));
  }

  Result<ConceptSet> ConceptSetOf(const Json& j, const std::string& path) const {
    RETURN_IF_ERROR(Keys(j, path, {"id", "name", "expression"}));
    ConceptSet cs;
    const Json* id = Get(j, "id");
    if (id == nullptr) return Err(Path(path, "id"), "is required");
    ASSIGN_OR_RETURN(int64_t n, Int(*id, Path(path, "id"), 0, std::numeric_limits<int32_t>::max()));
    cs.id = std::to_string(n);
    if (auto name = Get(j, "name"); name && name->is_string()) cs.name = name->get<std::string>();
    const Json* expr = Get(j, "expression");
    if (expr == nullptr) return cs;
    RETURN_IF_ERROR(Keys(*expr, Path(path, "expression"), {"items"}));
    const Json* items = Get(*expr, "items");
    if (items == nullptr) return cs;
    std::string ip = Path(path, "expression.items");
    RETURN_IF_ERROR(Array(*items, ip));
    for (size_t i = 0; i < items->size(); ++i) {
      std::string p = Index(ip, i);
      const Json& it = (*items)[i];
      RETURN_IF_ERROR(
          Keys(it, p, {"concept", "isExcluded", "includeDescendants", "includeMapped"}));
      const Json* concept_obj = Get(it, "concept");
      if (concept_obj == nullptr || !concept_obj->is_object())
        return Err(Path(p, "concept"), "is required");
      const Json* cid = Get(*concept_obj, "CONCEPT_ID");
      if (cid == nullptr) return Err(Path(p, "concept.CONCEPT_ID"), "is required");
      ConceptItem item;
      ASSIGN_OR_RETURN(item.concept_id, Int(*cid, Path(p, "concept.CONCEPT_ID"), 0,
                                            std::numeric_limits<int64_t>::max()));
      ASSIGN_OR_RETURN(item.exclude, Bool(it, "isExcluded", p));
      ASSIGN_OR_RETURN(item.descendants, Bool(it, "includeDescendants", p));
      ASSIGN_OR_RETURN(item.mapped, Bool(it, "includeMapped", p));
      cs.items.push_back(item);
    }
    return cs;
  }

  Result<bool> Bool(const Json& obj, std::string_view key, std::string_view path) const {
    const Json* v = Get(obj, key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Err(Path(path, key), "must be true or false");
    return v->get<bool>();
  }

  Result<std::vector<int64_t>> Concepts(const Json& obj, std::string_view key,
                                        std::string_view path) const {
    std::vector<int64_t> out;
    const Json* v = Get(obj, key);
    if (v == nullptr) return out;
    std::string p = Path(path, key);
    RETURN_IF_ERROR(Array(*v, p));
    for (size_t i = 0; i < v->size(); ++i) {
      const Json* id = Get((*v)[i], "CONCEPT_ID");
      if (id == nullptr) return Err(Path(Index(p, i), "CONCEPT_ID"), "is required");
      ASSIGN_OR_RETURN(int64_t n, Int(*id, Path(Index(p, i), "CONCEPT_ID"), 0,
                                      std::numeric_limits<int64_t>::max()));
      out.push_back(n);
    }
    return out;
  }

  Result<Range> RangeOf(const Json& obj, std::string_view key, std::string_view path,
                        bool dates) const {
    Range r;
    const Json* v = Get(obj, key);
    if (v == nullptr) return r;
    std::string p = Path(path, key);
    RETURN_IF_ERROR(Keys(*v, p, {"Value", "Op", "Extent"}));
    const Json* op = Get(*v, "Op");
    const Json* value = Get(*v, "Value");
    if (op == nullptr || !op->is_string()) return Err(Path(p, "Op"), "is required");
    if (value == nullptr) return Err(Path(p, "Value"), "is required");
    auto num = [&](const Json& x, std::string_view k) -> Result<double> {
      if (dates) {
        if (!x.is_string()) return Err(Path(p, k), "must be a date YYYY-MM-DD");
        auto d = ParseDate(x.get<std::string>());
        if (!d.ok()) return Err(Path(p, k), "must be a date YYYY-MM-DD");
        return static_cast<double>(*d);
      }
      if (!x.is_number()) return Err(Path(p, k), "must be a number");
      return x.get<double>();
    };
    ASSIGN_OR_RETURN(double a, num(*value, "Value"));
    std::string o = op->get<std::string>();
    if (o == "bt" || o == "!bt") {
      const Json* extent = Get(*v, "Extent");
      if (extent == nullptr) return Err(Path(p, "Extent"), "is required with \"bt\"");
      ASSIGN_OR_RETURN(double b, num(*extent, "Extent"));
      if (o == "bt") {
        r.terms.push_back({RangeOp::kMin, a, 0});
        r.terms.push_back({RangeOp::kMax, b, 0});
      } else {
        r.terms.push_back({RangeOp::kNotBetween, a, b});
      }
      return r;
    }
    RangeOp rop;
    if (o == "lt") {
      rop = RangeOp::kLt;
    } else if (o == "lte") {
      rop = RangeOp::kMax;
    } else if (o == "eq") {
      rop = RangeOp::kEq;
    } else if (o == "!eq") {
      rop = RangeOp::kNe;
    } else if (o == "gt") {
      rop = RangeOp::kGt;
    } else if (o == "gte") {
      rop = RangeOp::kMin;
    } else {
      return Err(Path(p, "Op"), fmt::format("unknown operator {}", internal::Brief(*op)));
    }
    // Circe compares ages and other integer ranges as integers.
    r.terms.push_back({rop, a, 0});
    return r;
  }

  struct CriteriaKind {
    std::string_view name;
    Domain domain;
  };

  Result<EventCriteria> CriteriaOf(const Json& wrapper, const std::string& path) const {
    static constexpr CriteriaKind kKinds[] = {
        {"ConditionOccurrence", Domain::kCondition},
        {"DrugExposure", Domain::kDrug},
        {"ProcedureOccurrence", Domain::kProcedure},
        {"Measurement", Domain::kMeasurement},
        {"Observation", Domain::kObservation},
        {"VisitOccurrence", Domain::kVisit},
        {"Death", Domain::kDeath},
        {"ObservationPeriod", Domain::kObservationPeriod},
    };
    if (!wrapper.is_object() || wrapper.size() != 1) {
      return Err(path,
                 "must be an object with one criteria type, e.g. {\"ConditionOccurrence\": "
                 "{...}}");
    }
    auto first = wrapper.begin();  // not items(): its proxy is a temporary
    const std::string kind = first.key();
    const Json& body = first.value();
    const CriteriaKind* found = nullptr;
    for (const auto& k : kKinds) {
      if (k.name == kind) found = &k;
    }
    std::string p = Path(path, kind);
    if (found == nullptr) {
      return Err(p,
                 "criteria type not supported by Passerelle's ATLAS import (supported: "
                 "ConditionOccurrence, DrugExposure, ProcedureOccurrence, Measurement, "
                 "Observation, VisitOccurrence, Death, ObservationPeriod)");
    }
    EventCriteria e;
    e.domain = found->domain;
    if (body.is_null()) return e;
    switch (e.domain) {
      case Domain::kMeasurement:
        RETURN_IF_ERROR(Keys(body, p,
                             {"CodesetId", "First", "OccurrenceStartDate", "Age", "Gender",
                              "ValueAsNumber", "Unit", "VisitType", "DateAdjustment"}));
        break;
      case Domain::kObservation:
        RETURN_IF_ERROR(Keys(body, p,
                             {"CodesetId", "First", "OccurrenceStartDate", "Age", "Gender",
                              "ValueAsNumber", "VisitType", "DateAdjustment"}));
        break;
      case Domain::kCondition:
        RETURN_IF_ERROR(Keys(body, p,
                             {"CodesetId", "First", "OccurrenceStartDate", "Age", "Gender",
                              "ConditionStatus", "VisitType", "DateAdjustment"}));
        break;
      case Domain::kObservationPeriod:
        RETURN_IF_ERROR(Keys(body, p, {"First", "DateAdjustment"}));
        break;
      case Domain::kDeath:
        RETURN_IF_ERROR(
            Keys(body, p, {"CodesetId", "OccurrenceStartDate", "Age", "Gender", "DateAdjustment"}));
        break;
      case Domain::kVisit:
        RETURN_IF_ERROR(
            Keys(body, p,
                 {"CodesetId", "First", "OccurrenceStartDate", "Age", "Gender", "DateAdjustment"}));
        break;
      default:
        RETURN_IF_ERROR(Keys(body, p,
                             {"CodesetId", "First", "OccurrenceStartDate", "Age", "Gender",
                              "VisitType", "DateAdjustment"}));
    }
    if (const Json* cs = Get(body, "CodesetId")) {
      ASSIGN_OR_RETURN(int64_t id,
                       Int(*cs, Path(p, "CodesetId"), 0, std::numeric_limits<int32_t>::max()));
      e.concept_set = std::to_string(id);
    }
    ASSIGN_OR_RETURN(e.first_occurrence, Bool(body, "First", p));
    ASSIGN_OR_RETURN(e.start_date, RangeOf(body, "OccurrenceStartDate", p, true));
    ASSIGN_OR_RETURN(e.age, RangeOf(body, "Age", p, false));
    ASSIGN_OR_RETURN(e.sex, Concepts(body, "Gender", p));
    ASSIGN_OR_RETURN(e.value, RangeOf(body, "ValueAsNumber", p, false));
    ASSIGN_OR_RETURN(e.unit, Concepts(body, "Unit", p));
    ASSIGN_OR_RETURN(e.condition_status, Concepts(body, "ConditionStatus", p));
    ASSIGN_OR_RETURN(e.visit, Concepts(body, "VisitType", p));
    if (const Json* da = Get(body, "DateAdjustment")) {
      std::string dp = Path(p, "DateAdjustment");
      RETURN_IF_ERROR(Keys(*da, dp, {"StartWith", "StartOffset", "EndWith", "EndOffset"}));
      DateAdjustment adj;
      auto with = [&](std::string_view key, bool fallback_end, bool& out) -> Status {
        const Json* v = Get(*da, key);
        if (v == nullptr) {
          out = fallback_end;
          return Status::Ok();
        }
        if (!v->is_string() || (*v != "START_DATE" && *v != "END_DATE")) {
          return Err(Path(dp, key), "must be \"START_DATE\" or \"END_DATE\"");
        }
        out = *v == "END_DATE";
        return Status::Ok();
      };
      RETURN_IF_ERROR(with("StartWith", false, adj.start_from_end));
      RETURN_IF_ERROR(with("EndWith", true, adj.end_from_end));
      ASSIGN_OR_RETURN(adj.start_offset, Days(*da, "StartOffset", dp, -100000));
      ASSIGN_OR_RETURN(adj.end_offset, Days(*da, "EndOffset", dp, -100000));
      e.date_adjustment = adj;
    }
    return e;
  }

  // Circe window endpoint: {Days, Coeff}; no Days means unbounded in the Coeff direction.
  Result<std::optional<int32_t>> EndpointOf(const Json& w, std::string_view key,
                                            std::string_view path, int unbounded_coeff) const {
    const Json* v = Get(w, key);
    std::string p = Path(path, key);
    if (v == nullptr) return Err(p, "is required");
    RETURN_IF_ERROR(Keys(*v, p, {"Days", "Coeff", "TimeUnit", "TimeUnitValue"}));
    RETURN_IF_ERROR(DayUnit(*v, "TimeUnit", p));
    const Json* coeff = Get(*v, "Coeff");
    int64_t c = 0;
    if (coeff != nullptr) {
      ASSIGN_OR_RETURN(c, Int(*coeff, Path(p, "Coeff"), -1, 1));
    }
    const Json* days = Get(*v, "Days");
    if (days == nullptr) days = Get(*v, "TimeUnitValue");
    if (days == nullptr) {
      if (c != unbounded_coeff) {
        return Err(p, unbounded_coeff == -1
                          ? "an unbounded window start must look backwards (Coeff -1)"
                          : "an unbounded window end must look forwards (Coeff 1)");
      }
      return std::optional<int32_t>();
    }
    ASSIGN_OR_RETURN(int64_t d, Int(*days, Path(p, "Days"), 0, 100000));
    if (c == 0) return Err(Path(p, "Coeff"), "must be -1 (before) or 1 (after)");
    return std::optional<int32_t>(static_cast<int32_t>(d * c));
  }

  Result<Window> WindowOf(const Json& w, const std::string& path, bool end_window) const {
    RETURN_IF_ERROR(Keys(w, path, {"Start", "End", "UseIndexEnd", "UseEventEnd"}));
    Window out;
    ASSIGN_OR_RETURN(out.start, EndpointOf(w, "Start", path, -1));
    ASSIGN_OR_RETURN(out.end, EndpointOf(w, "End", path, 1));
    ASSIGN_OR_RETURN(out.from_index_end, Bool(w, "UseIndexEnd", path));
    const Json* ue = Get(w, "UseEventEnd");
    // Circe: an EndWindow without UseEventEnd tests the event's end date.
    if (ue == nullptr) {
      out.on_event_end = end_window;
    } else {
      ASSIGN_OR_RETURN(out.on_event_end, Bool(w, "UseEventEnd", path));
    }
    return out;
  }

  Result<Group> GroupOf(const Json& j, const std::string& path) const {
    RETURN_IF_ERROR(
        Keys(j, path, {"Type", "Count", "CriteriaList", "DemographicCriteriaList", "Groups"}));
    Group g;
    const Json* type = Get(j, "Type");
    std::string t = type != nullptr && type->is_string() ? type->get<std::string>() : "ALL";
    if (t == "ALL") {
      g.match = GroupMatch::kAll;
    } else if (t == "ANY") {
      g.match = GroupMatch::kAny;
    } else if (t == "AT_LEAST") {
      g.match = GroupMatch::kAtLeast;
    } else if (t == "AT_MOST") {
      g.match = GroupMatch::kAtMost;
    } else {
      return Err(Path(path, "Type"),
                 fmt::format("must be ALL, ANY, AT_LEAST or AT_MOST (got \"{}\")", t));
    }
    if (g.match == GroupMatch::kAtLeast || g.match == GroupMatch::kAtMost) {
      const Json* c = Get(j, "Count");
      if (c == nullptr) return Err(Path(path, "Count"), "is required with AT_LEAST / AT_MOST");
      ASSIGN_OR_RETURN(int64_t n, Int(*c, Path(path, "Count"), 0, 1000));
      g.count = static_cast<int32_t>(n);
    }
    if (const Json* list = Get(j, "CriteriaList")) {
      std::string lp = Path(path, "CriteriaList");
      RETURN_IF_ERROR(Array(*list, lp));
      for (size_t i = 0; i < list->size(); ++i) {
        std::string p = Index(lp, i);
        const Json& cc = (*list)[i];
        RETURN_IF_ERROR(Keys(cc, p,
                             {"Criteria", "StartWindow", "EndWindow", "RestrictVisit",
                              "IgnoreObservationPeriod", "Occurrence"}));
        CountCriterion c;
        const Json* crit = Get(cc, "Criteria");
        if (crit == nullptr) return Err(Path(p, "Criteria"), "is required");
        ASSIGN_OR_RETURN(c.event, CriteriaOf(*crit, Path(p, "Criteria")));
        const Json* sw = Get(cc, "StartWindow");
        if (sw == nullptr) return Err(Path(p, "StartWindow"), "is required");
        ASSIGN_OR_RETURN(c.window, WindowOf(*sw, Path(p, "StartWindow"), false));
        if (const Json* ew = Get(cc, "EndWindow")) {
          ASSIGN_OR_RETURN(Window w, WindowOf(*ew, Path(p, "EndWindow"), true));
          c.end_window = w;
        }
        ASSIGN_OR_RETURN(c.restrict_visit, Bool(cc, "RestrictVisit", p));
        ASSIGN_OR_RETURN(c.ignore_observation_period, Bool(cc, "IgnoreObservationPeriod", p));
        const Json* occ = Get(cc, "Occurrence");
        if (occ == nullptr) return Err(Path(p, "Occurrence"), "is required");
        std::string op = Path(p, "Occurrence");
        RETURN_IF_ERROR(Keys(*occ, op, {"Type", "Count", "IsDistinct", "CountColumn"}));
        const Json* ot = Get(*occ, "Type");
        const Json* oc = Get(*occ, "Count");
        if (ot == nullptr) return Err(Path(op, "Type"), "is required");
        ASSIGN_OR_RETURN(int64_t type_id, Int(*ot, Path(op, "Type"), 0, 2));
        c.op = type_id == 0 ? CountOp::kExactly
                            : (type_id == 1 ? CountOp::kAtMost : CountOp::kAtLeast);
        int64_t count = 0;
        if (oc != nullptr) {
          ASSIGN_OR_RETURN(count, Int(*oc, Path(op, "Count"), 0, 1000000));
        }
        c.count = static_cast<int32_t>(count);
        ASSIGN_OR_RETURN(c.distinct, Bool(*occ, "IsDistinct", op));
        if (const Json* col = Get(*occ, "CountColumn")) {
          if (!col->is_string() || *col != "DOMAIN_CONCEPT") {
            return Err(Path(op, "CountColumn"), "only \"DOMAIN_CONCEPT\" is supported");
          }
        }
        g.criteria.push_back(std::move(c));
      }
    }
    if (const Json* list = Get(j, "DemographicCriteriaList")) {
      std::string lp = Path(path, "DemographicCriteriaList");
      RETURN_IF_ERROR(Array(*list, lp));
      for (size_t i = 0; i < list->size(); ++i) {
        std::string p = Index(lp, i);
        const Json& dc = (*list)[i];
        RETURN_IF_ERROR(Keys(dc, p, {"Age", "Gender", "OccurrenceStartDate"}));
        DemographicCriterion d;
        ASSIGN_OR_RETURN(d.age, RangeOf(dc, "Age", p, false));
        ASSIGN_OR_RETURN(d.sex, Concepts(dc, "Gender", p));
        ASSIGN_OR_RETURN(d.index_date, RangeOf(dc, "OccurrenceStartDate", p, true));
        g.demographics.push_back(std::move(d));
      }
    }
    if (const Json* groups = Get(j, "Groups")) {
      std::string lp = Path(path, "Groups");
      RETURN_IF_ERROR(Array(*groups, lp));
      for (size_t i = 0; i < groups->size(); ++i) {
        ASSIGN_OR_RETURN(Group sub, GroupOf((*groups)[i], Index(lp, i)));
        g.groups.push_back(std::move(sub));
      }
    }
    return g;
  }

  Result<Exit> ExitOf(const Json& j, const std::string& path) const {
    RETURN_IF_ERROR(Keys(j, path, {"DateOffset", "CustomEra"}));
    Exit e;
    if (const Json* d = Get(j, "DateOffset")) {
      std::string p = Path(path, "DateOffset");
      RETURN_IF_ERROR(Keys(*d, p, {"DateField", "Offset", "OffsetUnit", "OffsetUnitValue"}));
      RETURN_IF_ERROR(DayUnit(*d, "OffsetUnit", p));
      e.type = ExitType::kFixed;
      const Json* field = Get(*d, "DateField");
      std::string f =
          field != nullptr && field->is_string() ? field->get<std::string>() : "StartDate";
      if (f != "StartDate" && f != "EndDate") {
        return Err(Path(p, "DateField"), "must be \"StartDate\" or \"EndDate\"");
      }
      e.from_end = f == "EndDate";
      ASSIGN_OR_RETURN(int32_t off, Days(*d, "Offset", p, 0));
      ASSIGN_OR_RETURN(int32_t off_unit, Days(*d, "OffsetUnitValue", p, 0));
      e.offset_days = off != 0 ? off : off_unit;
    } else if (const Json* c = Get(j, "CustomEra")) {
      std::string p = Path(path, "CustomEra");
      RETURN_IF_ERROR(Keys(*c, p,
                           {"DrugCodesetId", "GapDays", "Offset", "DaysSupplyOverride", "GapUnit",
                            "GapUnitValue", "OffsetUnit", "OffsetUnitValue"}));
      RETURN_IF_ERROR(DayUnit(*c, "GapUnit", p));
      RETURN_IF_ERROR(DayUnit(*c, "OffsetUnit", p));
      e.type = ExitType::kDrugEra;
      const Json* cs = Get(*c, "DrugCodesetId");
      if (cs == nullptr) return Err(Path(p, "DrugCodesetId"), "is required");
      ASSIGN_OR_RETURN(int64_t id,
                       Int(*cs, Path(p, "DrugCodesetId"), 0, std::numeric_limits<int32_t>::max()));
      e.concept_set = std::to_string(id);
      ASSIGN_OR_RETURN(int32_t gap, Days(*c, "GapDays", p, 0));
      ASSIGN_OR_RETURN(int32_t gap_unit, Days(*c, "GapUnitValue", p, 0));
      e.gap_days = gap != 0 ? gap : gap_unit;
      ASSIGN_OR_RETURN(int32_t off, Days(*c, "Offset", p, 0));
      ASSIGN_OR_RETURN(int32_t off_unit, Days(*c, "OffsetUnitValue", p, 0));
      e.persistence_days = off != 0 ? off : off_unit;
      if (const Json* ds = Get(*c, "DaysSupplyOverride")) {
        ASSIGN_OR_RETURN(int64_t n, Int(*ds, Path(p, "DaysSupplyOverride"), 1, 100000));
        e.days_supply_override = static_cast<int32_t>(n);
      }
    }
    return e;
  }

  std::string origin_;
};

}  // namespace

bool LooksLikeAtlas(const Json& json) {
  return json.is_object() && (json.contains("PrimaryCriteria") || json.contains("ConceptSets"));
}

Result<CohortDefinition> ImportAtlasCohortJson(const Json& json, std::string_view origin) {
  if (!json.is_object()) {
    return Status::InvalidArgument(
        fmt::format("{}: an ATLAS cohort definition must be a JSON object", origin));
  }
  return Importer(origin).Run(json);
}

Result<CohortDefinition> ImportAtlasCohort(std::string_view json_text, std::string_view origin) {
  ASSIGN_OR_RETURN(Json j, internal::ParseJsonText(json_text, origin));
  return ImportAtlasCohortJson(j, origin);
}

Result<CohortDefinition> ParseAnyCohort(std::string_view json_text, std::string_view origin,
                                        bool force_atlas) {
  ASSIGN_OR_RETURN(Json j, internal::ParseJsonText(json_text, origin));
  if (force_atlas || LooksLikeAtlas(j)) return ImportAtlasCohortJson(j, origin);
  return CohortDefinitionFromJson(j, origin);
}

}  // namespace passerelle::cohort
