#include "cohort/definition.h"

#include <fmt/format.h>

#include <functional>
#include <limits>
#include <set>

#include "cohort/json_util.h"
#include "cohort/parse_internal.h"
#include "common/date.h"

namespace passerelle::cohort {

using internal::CheckKeys;
using internal::Find;
using internal::Json;
using internal::JsonError;
using internal::Sub;

namespace {

constexpr int64_t kMaxDays = 100000;  // ~274 years: any offset beyond is a mistake
constexpr int64_t kMaxConceptId = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxRules = 100;
constexpr size_t kMaxListItems = 100000;

struct DomainEntry {
  Domain domain;
  std::string_view name;
};
constexpr DomainEntry kDomains[] = {
    {Domain::kCondition, "condition"},
    {Domain::kDrug, "drug"},
    {Domain::kProcedure, "procedure"},
    {Domain::kMeasurement, "measurement"},
    {Domain::kObservation, "observation"},
    {Domain::kVisit, "visit"},
    {Domain::kDeath, "death"},
    {Domain::kObservationPeriod, "observation_period"},
    {Domain::kFixedDate, "fixed_date"},
};

std::string_view LimitName(Limit l) {
  switch (l) {
    case Limit::kFirst:
      return "first";
    case Limit::kAll:
      return "all";
    case Limit::kLast:
      return "last";
  }
  return "first";
}

Result<Limit> ParseLimit(const Json& obj, std::string_view key, std::string_view where,
                         Limit fallback) {
  ASSIGN_OR_RETURN(auto s, internal::OptString(obj, key, where));
  if (!s) return fallback;
  if (*s == "first") return Limit::kFirst;
  if (*s == "all") return Limit::kAll;
  if (*s == "last") return Limit::kLast;
  return JsonError(
      where, fmt::format("\"{}\" must be \"first\", \"all\" or \"last\" (got \"{}\")", key, *s));
}

Result<int32_t> OptDays(const Json& obj, std::string_view key, std::string_view where,
                        int32_t fallback, int64_t min = 0) {
  ASSIGN_OR_RETURN(auto v, internal::OptInt(obj, key, where, min, kMaxDays));
  return v ? static_cast<int32_t>(*v) : fallback;
}

// ---- ranges ----

struct RangeKey {
  std::string_view key;
  RangeOp op;
};
constexpr RangeKey kRangeKeys[] = {{"min", RangeOp::kMin}, {"max", RangeOp::kMax},
                                   {"gt", RangeOp::kGt},   {"lt", RangeOp::kLt},
                                   {"eq", RangeOp::kEq},   {"ne", RangeOp::kNe}};

Result<double> RangeValue(const Json& v, std::string_view what, std::string_view where,
                          bool dates) {
  if (dates) {
    if (!v.is_string()) {
      return JsonError(
          where, fmt::format("{} must be a date YYYY-MM-DD (got {})", what, internal::Brief(v)));
    }
    auto d = ParseDate(v.get<std::string>());
    if (!d.ok()) {
      return JsonError(
          where, fmt::format("{} must be a date YYYY-MM-DD (got {})", what, internal::Brief(v)));
    }
    return static_cast<double>(*d);
  }
  if (!v.is_number()) {
    return JsonError(where, fmt::format("{} must be a number (got {})", what, internal::Brief(v)));
  }
  return v.get<double>();
}

Result<Range> ParseRange(const Json& obj, std::string_view key, std::string_view where,
                         bool dates) {
  Range r;
  const Json* j = Find(obj, key);
  if (j == nullptr) return r;
  std::string w = Sub(where, fmt::format("\"{}\"", key));
  RETURN_IF_ERROR(CheckKeys(*j, w, {"min", "max", "gt", "lt", "eq", "ne", "not_between"}));
  for (const auto& rk : kRangeKeys) {
    const Json* v = Find(*j, rk.key);
    if (v == nullptr) continue;
    ASSIGN_OR_RETURN(double d, RangeValue(*v, fmt::format("\"{}.{}\"", key, rk.key), where, dates));
    r.terms.push_back({rk.op, d, 0});
  }
  if (const Json* nb = Find(*j, "not_between")) {
    if (!nb->is_array() || nb->size() != 2) {
      return JsonError(where,
                       fmt::format("\"{}.not_between\" must be a list of two bounds [a, b]", key));
    }
    ASSIGN_OR_RETURN(double a,
                     RangeValue((*nb)[0], fmt::format("\"{}.not_between\"", key), where, dates));
    ASSIGN_OR_RETURN(double b,
                     RangeValue((*nb)[1], fmt::format("\"{}.not_between\"", key), where, dates));
    r.terms.push_back({RangeOp::kNotBetween, a, b});
  }
  if (r.terms.empty()) {
    return JsonError(where,
                     fmt::format("\"{}\" must have at least one of min, max, gt, lt, eq, ne, "
                                 "not_between",
                                 key));
  }
  return r;
}

Result<std::vector<int64_t>> ParseSex(const Json& obj, std::string_view where) {
  std::vector<int64_t> out;
  const Json* j = Find(obj, "sex");
  if (j == nullptr) return out;
  if (!j->is_array() || j->empty()) {
    return JsonError(where,
                     "\"sex\" must be a non-empty list of \"female\", \"male\" or "
                     "gender concept ids");
  }
  for (const auto& v : *j) {
    if (v.is_string() && v.get<std::string>() == "female") {
      out.push_back(kFemaleConceptId);
    } else if (v.is_string() && v.get<std::string>() == "male") {
      out.push_back(kMaleConceptId);
    } else if (v.is_number_integer()) {
      out.push_back(v.get<int64_t>());
    } else {
      return JsonError(where, fmt::format("\"sex\" entries must be \"female\", \"male\" or a "
                                          "gender concept id (got {})",
                                          internal::Brief(v)));
    }
  }
  return out;
}

Result<std::vector<int64_t>> ParseIdList(const Json& obj, std::string_view key,
                                         std::string_view where) {
  std::vector<int64_t> out;
  const Json* j = Find(obj, key);
  if (j == nullptr) return out;
  if (!j->is_array()) {
    return JsonError(where, fmt::format("\"{}\" must be a list of concept ids", key));
  }
  for (const auto& v : *j) {
    ASSIGN_OR_RETURN(int64_t id, internal::AsInt(v, fmt::format("\"{}\" entries", key), where, 0,
                                                 kMaxConceptId));
    out.push_back(id);
  }
  return out;
}

// ---- concept sets ----

Result<ConceptItem> ParseConceptItem(const Json& j, std::string_view where) {
  ConceptItem item;
  if (j.is_number()) {
    ASSIGN_OR_RETURN(item.concept_id, internal::AsInt(j, "a concept id", where, 0, kMaxConceptId));
    return item;
  }
  RETURN_IF_ERROR(CheckKeys(j, where, {"concept_id", "name", "descendants", "exclude", "mapped"}));
  ASSIGN_OR_RETURN(auto id, internal::OptInt(j, "concept_id", where, 0, kMaxConceptId));
  if (!id) return JsonError(where, "\"concept_id\" is required");
  item.concept_id = *id;
  ASSIGN_OR_RETURN(auto d, internal::OptBool(j, "descendants", where));
  ASSIGN_OR_RETURN(auto e, internal::OptBool(j, "exclude", where));
  ASSIGN_OR_RETURN(auto m, internal::OptBool(j, "mapped", where));
  item.descendants = d.value_or(false);
  item.exclude = e.value_or(false);
  item.mapped = m.value_or(false);
  return item;
}

Result<ConceptSet> ParseConceptSet(const Json& j, std::string_view origin, size_t index) {
  std::string where = Sub(origin, fmt::format("concept set {}", index + 1));
  RETURN_IF_ERROR(CheckKeys(j, where, {"id", "name", "concepts"}));
  ConceptSet cs;
  ASSIGN_OR_RETURN(auto id, internal::OptString(j, "id", where));
  if (!id) return JsonError(where, "\"id\" is required");
  cs.id = *id;
  // From here on the set is named by its id.
  std::string w = Sub(origin, fmt::format("concept set \"{}\"", cs.id));
  ASSIGN_OR_RETURN(auto name, internal::OptString(j, "name", w));
  cs.name = name.value_or("");
  const Json* concepts = Find(j, "concepts");
  if (concepts == nullptr || !concepts->is_array()) {
    return JsonError(w,
                     "\"concepts\" must be a list of concept ids or {\"concept_id\": ...} "
                     "objects");
  }
  if (concepts->size() > kMaxListItems) {
    return JsonError(w, fmt::format("\"concepts\" has more than {} entries", kMaxListItems));
  }
  for (size_t i = 0; i < concepts->size(); ++i) {
    ASSIGN_OR_RETURN(ConceptItem item,
                     ParseConceptItem((*concepts)[i], Sub(w, fmt::format("concept {}", i + 1))));
    cs.items.push_back(item);
  }
  return cs;
}

// ---- criteria ----

Result<EventCriteria> ParseEvent(const Json& j, std::string_view where) {
  RETURN_IF_ERROR(
      CheckKeys(j, where,
                {"domain", "concept_set", "first_occurrence", "value", "unit", "start_date", "age",
                 "sex", "condition_status", "visit", "date_adjustment", "date"}));
  EventCriteria e;
  ASSIGN_OR_RETURN(auto domain, internal::OptString(j, "domain", where));
  if (!domain) {
    return JsonError(where,
                     "\"domain\" is required (condition, drug, procedure, measurement, "
                     "observation, visit, death, observation_period or fixed_date)");
  }
  auto d = DomainFromName(*domain);
  if (!d) {
    return JsonError(where, fmt::format("\"domain\" must be one of condition, drug, procedure, "
                                        "measurement, observation, visit, death, "
                                        "observation_period, fixed_date (got \"{}\")",
                                        *domain));
  }
  e.domain = *d;
  ASSIGN_OR_RETURN(auto cs, internal::OptString(j, "concept_set", where));
  e.concept_set = cs.value_or("");
  ASSIGN_OR_RETURN(auto first, internal::OptBool(j, "first_occurrence", where));
  e.first_occurrence = first.value_or(false);
  ASSIGN_OR_RETURN(e.value, ParseRange(j, "value", where, false));
  ASSIGN_OR_RETURN(e.unit, ParseIdList(j, "unit", where));
  ASSIGN_OR_RETURN(e.start_date, ParseRange(j, "start_date", where, true));
  ASSIGN_OR_RETURN(e.age, ParseRange(j, "age", where, false));
  ASSIGN_OR_RETURN(e.sex, ParseSex(j, where));
  ASSIGN_OR_RETURN(e.condition_status, ParseIdList(j, "condition_status", where));
  ASSIGN_OR_RETURN(e.visit, ParseIdList(j, "visit", where));
  ASSIGN_OR_RETURN(e.fixed_date, internal::OptDate(j, "date", where));
  if (const Json* da = Find(j, "date_adjustment")) {
    std::string w = Sub(where, "\"date_adjustment\"");
    RETURN_IF_ERROR(CheckKeys(*da, w, {"start_from", "start_offset", "end_from", "end_offset"}));
    DateAdjustment adj;
    auto from = [&](std::string_view key, bool fallback_end, bool& out) -> Status {
      ASSIGN_OR_RETURN(auto v, internal::OptString(*da, key, w));
      if (!v) {
        out = fallback_end;
        return Status::Ok();
      }
      if (*v != "start" && *v != "end") {
        return JsonError(w,
                         fmt::format("\"{}\" must be \"start\" or \"end\" (got \"{}\")", key, *v));
      }
      out = *v == "end";
      return Status::Ok();
    };
    RETURN_IF_ERROR(from("start_from", false, adj.start_from_end));
    RETURN_IF_ERROR(from("end_from", true, adj.end_from_end));
    ASSIGN_OR_RETURN(auto so, internal::OptInt(*da, "start_offset", w, -kMaxDays, kMaxDays));
    ASSIGN_OR_RETURN(auto eo, internal::OptInt(*da, "end_offset", w, -kMaxDays, kMaxDays));
    adj.start_offset = static_cast<int32_t>(so.value_or(0));
    adj.end_offset = static_cast<int32_t>(eo.value_or(0));
    e.date_adjustment = adj;
  }
  return e;
}

// `end_window` tests the event's end date unless "event" says otherwise (as Circe's EndWindow).
Result<Window> ParseWindow(const Json& j, std::string_view key, std::string_view where,
                           bool default_event_end) {
  Window w;
  w.on_event_end = default_event_end;
  std::string at = Sub(where, fmt::format("\"{}\"", key));
  RETURN_IF_ERROR(CheckKeys(j, at, {"start", "end", "index", "event"}));
  ASSIGN_OR_RETURN(auto s, internal::OptInt(j, "start", where, -kMaxDays, kMaxDays));
  ASSIGN_OR_RETURN(auto e, internal::OptInt(j, "end", where, -kMaxDays, kMaxDays));
  if (s) w.start = static_cast<int32_t>(*s);
  if (e) w.end = static_cast<int32_t>(*e);
  ASSIGN_OR_RETURN(auto index, internal::OptString(j, "index", where));
  ASSIGN_OR_RETURN(auto event, internal::OptString(j, "event", where));
  auto start_or_end = [&](const std::optional<std::string>& v, std::string_view k,
                          bool& out) -> Status {
    if (!v) return Status::Ok();
    if (*v != "start" && *v != "end") {
      return JsonError(
          where, fmt::format("\"{}.{}\" must be \"start\" or \"end\" (got \"{}\")", key, k, *v));
    }
    out = *v == "end";
    return Status::Ok();
  };
  RETURN_IF_ERROR(start_or_end(index, "index", w.from_index_end));
  RETURN_IF_ERROR(start_or_end(event, "event", w.on_event_end));
  return w;
}

Result<Group> ParseGroupBody(const Json& j, std::string_view where,
                             std::initializer_list<std::string_view> keys);

Result<CountCriterion> ParseCount(const Json& j, std::string_view where) {
  RETURN_IF_ERROR(CheckKeys(j, where,
                            {"event", "window", "end_window", "occurrences", "distinct",
                             "ignore_observation_period", "restrict_visit"}));
  CountCriterion c;
  const Json* event = Find(j, "event");
  if (event == nullptr) return JsonError(where, "\"event\" is required");
  ASSIGN_OR_RETURN(c.event, ParseEvent(*event, Sub(where, "\"event\"")));
  if (const Json* w = Find(j, "window")) {
    ASSIGN_OR_RETURN(c.window, ParseWindow(*w, "window", where, false));
  }
  if (const Json* w = Find(j, "end_window")) {
    ASSIGN_OR_RETURN(Window ew, ParseWindow(*w, "end_window", where, true));
    c.end_window = ew;
  }
  if (const Json* o = Find(j, "occurrences")) {
    std::string ow = Sub(where, "\"occurrences\"");
    RETURN_IF_ERROR(CheckKeys(*o, ow, {"exactly", "at_most", "at_least"}));
    if (o->size() != 1) {
      return JsonError(where,
                       "\"occurrences\" must have exactly one of \"exactly\", \"at_most\", "
                       "\"at_least\"");
    }
    // Not items(): its iteration proxy is a temporary (ASan: stack-use-after-scope).
    auto first = o->begin();
    const std::string k = first.key();
    const Json& v = first.value();
    ASSIGN_OR_RETURN(int64_t n,
                     internal::AsInt(v, fmt::format("\"occurrences.{}\"", k), where, 0, 1000000));
    c.count = static_cast<int32_t>(n);
    c.op = k == "exactly" ? CountOp::kExactly
                          : (k == "at_most" ? CountOp::kAtMost : CountOp::kAtLeast);
  }
  ASSIGN_OR_RETURN(auto distinct, internal::OptBool(j, "distinct", where));
  ASSIGN_OR_RETURN(auto ignore, internal::OptBool(j, "ignore_observation_period", where));
  ASSIGN_OR_RETURN(auto visit, internal::OptBool(j, "restrict_visit", where));
  c.distinct = distinct.value_or(false);
  c.ignore_observation_period = ignore.value_or(false);
  c.restrict_visit = visit.value_or(false);
  return c;
}

Result<DemographicCriterion> ParseDemographic(const Json& j, std::string_view where) {
  RETURN_IF_ERROR(CheckKeys(j, where, {"age", "sex", "index_date"}));
  DemographicCriterion d;
  ASSIGN_OR_RETURN(d.age, ParseRange(j, "age", where, false));
  ASSIGN_OR_RETURN(d.sex, ParseSex(j, where));
  ASSIGN_OR_RETURN(d.index_date, ParseRange(j, "index_date", where, true));
  return d;
}

// Parses the members of a group ("match", "count", "criteria") plus the caller's extra `keys`.
Result<Group> ParseGroupBody(const Json& j, std::string_view where,
                             std::initializer_list<std::string_view> keys) {
  RETURN_IF_ERROR(CheckKeys(j, where, keys));
  Group g;
  ASSIGN_OR_RETURN(auto match, internal::OptString(j, "match", where));
  std::string m = match.value_or("all");
  if (m == "all") {
    g.match = GroupMatch::kAll;
  } else if (m == "any") {
    g.match = GroupMatch::kAny;
  } else if (m == "at_least") {
    g.match = GroupMatch::kAtLeast;
  } else if (m == "at_most") {
    g.match = GroupMatch::kAtMost;
  } else {
    return JsonError(where, fmt::format("\"match\" must be \"all\", \"any\", \"at_least\" or "
                                        "\"at_most\" (got \"{}\")",
                                        m));
  }
  ASSIGN_OR_RETURN(auto count, internal::OptInt(j, "count", where, 0, 1000));
  if (g.match == GroupMatch::kAtLeast || g.match == GroupMatch::kAtMost) {
    if (!count) {
      return JsonError(where, fmt::format("\"count\" is required with \"match\": \"{}\"", m));
    }
    g.count = static_cast<int32_t>(*count);
  } else if (count) {
    return JsonError(where, "\"count\" is only used with \"match\": \"at_least\" or \"at_most\"");
  }
  const Json* list = Find(j, "criteria");
  if (list == nullptr) return g;
  if (!list->is_array()) return JsonError(where, "\"criteria\" must be a list");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    std::string w = Sub(where, fmt::format("criterion {}", i + 1));
    RETURN_IF_ERROR(internal::ExpectObject(item, w));
    if (item.contains("event")) {
      ASSIGN_OR_RETURN(CountCriterion c, ParseCount(item, w));
      g.criteria.push_back(std::move(c));
    } else if (item.contains("match") || item.contains("criteria")) {
      ASSIGN_OR_RETURN(Group sub, ParseGroupBody(item, w, {"match", "count", "criteria"}));
      g.groups.push_back(std::move(sub));
    } else {
      ASSIGN_OR_RETURN(DemographicCriterion d, ParseDemographic(item, w));
      g.demographics.push_back(std::move(d));
    }
  }
  return g;
}

Result<Exit> ParseExit(const Json& j, std::string_view where) {
  RETURN_IF_ERROR(CheckKeys(j, where,
                            {"type", "from", "offset_days", "concept_set", "gap_days",
                             "persistence_days", "days_supply_override"}));
  Exit e;
  ASSIGN_OR_RETURN(auto type, internal::OptString(j, "type", where));
  std::string t = type.value_or("observation_end");
  auto refuse_keys = [&](std::initializer_list<std::string_view> keys) -> Status {
    for (auto k : keys) {
      if (Find(j, k) != nullptr) {
        return JsonError(where, fmt::format("\"{}\" does not apply to \"type\": \"{}\"", k, t));
      }
    }
    return Status::Ok();
  };
  if (t == "observation_end") {
    e.type = ExitType::kObservationEnd;
    RETURN_IF_ERROR(refuse_keys({"from", "offset_days", "concept_set", "gap_days",
                                 "persistence_days", "days_supply_override"}));
  } else if (t == "fixed") {
    e.type = ExitType::kFixed;
    RETURN_IF_ERROR(
        refuse_keys({"concept_set", "gap_days", "persistence_days", "days_supply_override"}));
    ASSIGN_OR_RETURN(auto from, internal::OptString(j, "from", where));
    if (from && *from != "start" && *from != "end") {
      return JsonError(where,
                       fmt::format("\"from\" must be \"start\" or \"end\" (got \"{}\")", *from));
    }
    e.from_end = from && *from == "end";
    ASSIGN_OR_RETURN(auto off, internal::OptInt(j, "offset_days", where, 0, kMaxDays));
    if (!off) return JsonError(where, "\"offset_days\" is required with \"type\": \"fixed\"");
    e.offset_days = static_cast<int32_t>(*off);
  } else if (t == "drug_era") {
    e.type = ExitType::kDrugEra;
    RETURN_IF_ERROR(refuse_keys({"from", "offset_days"}));
    ASSIGN_OR_RETURN(auto cs, internal::OptString(j, "concept_set", where));
    if (!cs) return JsonError(where, "\"concept_set\" is required with \"type\": \"drug_era\"");
    e.concept_set = *cs;
    ASSIGN_OR_RETURN(e.gap_days, OptDays(j, "gap_days", where, 0));
    ASSIGN_OR_RETURN(e.persistence_days, OptDays(j, "persistence_days", where, 0));
    ASSIGN_OR_RETURN(auto ds, internal::OptInt(j, "days_supply_override", where, 1, kMaxDays));
    if (ds) e.days_supply_override = static_cast<int32_t>(*ds);
  } else {
    return JsonError(where, fmt::format("\"type\" must be \"observation_end\", \"fixed\" or "
                                        "\"drug_era\" (got \"{}\")",
                                        t));
  }
  return e;
}

// ---- validation ----

Status ValidateRange(const Range& r, std::string_view key, std::string_view where, bool dates) {
  for (const auto& t : r.terms) {
    if (t.op == RangeOp::kNotBetween && t.value > t.extent) {
      if (dates) {
        return JsonError(where, fmt::format("\"{}.not_between\" must be [low, high] (got {} > {})",
                                            key, FormatDate(static_cast<int32_t>(t.value)),
                                            FormatDate(static_cast<int32_t>(t.extent))));
      }
      return JsonError(where, fmt::format("\"{}.not_between\" must be [low, high] (got {} > {})",
                                          key, t.value, t.extent));
    }
  }
  return Status::Ok();
}

class Validator {
 public:
  Validator(const CohortDefinition& d, std::string_view origin) : def_(d), origin_(origin) {}

  Status Run() {
    std::set<std::string> ids;
    for (size_t i = 0; i < def_.concept_sets.size(); ++i) {
      const auto& cs = def_.concept_sets[i];
      std::string w = Sub(origin_, fmt::format("concept set {}", i + 1));
      if (cs.id.empty() || cs.id.size() > 64) {
        return JsonError(w, "\"id\" must have 1 to 64 characters");
      }
      for (char c : cs.id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) {
          return JsonError(w, fmt::format("\"id\" may use letters, digits, '_', '-' and '.' only "
                                          "(got \"{}\")",
                                          cs.id));
        }
      }
      if (!ids.insert(cs.id).second) {
        return JsonError(w, fmt::format("concept set id \"{}\" is used twice", cs.id));
      }
    }
    if (def_.entry.events.empty()) {
      return JsonError(Sub(origin_, "entry"), "\"events\" must list at least one entry event");
    }
    std::string entry = Sub(origin_, "entry");
    if (def_.entry.prior_observation_days < 0 || def_.entry.post_observation_days < 0) {
      return JsonError(entry, "observation days must be >= 0");
    }
    for (size_t i = 0; i < def_.entry.events.size(); ++i) {
      RETURN_IF_ERROR(
          Event(def_.entry.events[i], Sub(origin_, fmt::format("entry event {}", i + 1))));
    }
    if (def_.entry.additional_criteria) {
      RETURN_IF_ERROR(
          GroupCheck(*def_.entry.additional_criteria, Sub(origin_, "entry: additional criteria")));
    }
    if (def_.inclusion_rules.size() > kMaxRules) {
      return JsonError(origin_, fmt::format("at most {} inclusion rules are allowed (got {})",
                                            kMaxRules, def_.inclusion_rules.size()));
    }
    for (size_t i = 0; i < def_.inclusion_rules.size(); ++i) {
      RETURN_IF_ERROR(GroupCheck(def_.inclusion_rules[i].group,
                                 Sub(origin_, fmt::format("inclusion rule {}", i + 1))));
    }
    std::string exit = Sub(origin_, "exit");
    if (def_.exit.type == ExitType::kDrugEra) {
      RETURN_IF_ERROR(Ref(def_.exit.concept_set, exit));
      if (def_.exit.gap_days < 0 || def_.exit.persistence_days < 0) {
        return JsonError(exit, "\"gap_days\" and \"persistence_days\" must be >= 0");
      }
    }
    if (def_.exit.type == ExitType::kFixed && def_.exit.offset_days < 0) {
      return JsonError(exit,
                       fmt::format("\"offset_days\" must be >= 0 (got {})", def_.exit.offset_days));
    }
    for (size_t i = 0; i < def_.censor_events.size(); ++i) {
      RETURN_IF_ERROR(
          Event(def_.censor_events[i], Sub(origin_, fmt::format("censor event {}", i + 1))));
    }
    if (def_.censor_window_start && def_.censor_window_end &&
        *def_.censor_window_start > *def_.censor_window_end) {
      return JsonError(
          Sub(origin_, "censor_window"),
          fmt::format("\"start\" must be <= \"end\" (got {} > {})",
                      FormatDate(*def_.censor_window_start), FormatDate(*def_.censor_window_end)));
    }
    if (def_.era_pad_days < 0) {
      return JsonError(origin_,
                       fmt::format("\"era_pad_days\" must be >= 0 (got {})", def_.era_pad_days));
    }
    return Status::Ok();
  }

 private:
  Status Ref(const std::string& id, std::string_view where) {
    if (def_.FindConceptSet(id) == nullptr) {
      return JsonError(where,
                       fmt::format("concept set \"{}\" is not defined in \"concept_sets\"", id));
    }
    return Status::Ok();
  }

  Status Event(const EventCriteria& e, std::string_view where) {
    return internal::ValidateEvent(
        e, [&](std::string_view id) { return def_.FindConceptSet(id) != nullptr; }, where);
  }

  Status WindowCheck(const Window& w, std::string_view key, std::string_view where) {
    if (w.start && w.end && *w.start > *w.end) {
      return JsonError(where, fmt::format("\"{0}.start\" must be <= \"{0}.end\" (got {1} > {2})",
                                          key, *w.start, *w.end));
    }
    return Status::Ok();
  }

  Status GroupCheck(const Group& g, std::string_view where) {
    if (g.count < 0) return JsonError(where, "\"count\" must be >= 0");
    size_t i = 0;
    for (const auto& c : g.criteria) {
      std::string w = Sub(where, fmt::format("criterion {}", ++i));
      RETURN_IF_ERROR(Event(c.event, Sub(w, "\"event\"")));
      RETURN_IF_ERROR(WindowCheck(c.window, "window", w));
      if (c.end_window) RETURN_IF_ERROR(WindowCheck(*c.end_window, "end_window", w));
      if (c.count < 0) return JsonError(w, "\"occurrences\" must be >= 0");
    }
    for (const auto& d : g.demographics) {
      std::string w = Sub(where, fmt::format("criterion {}", ++i));
      RETURN_IF_ERROR(ValidateRange(d.age, "age", w, false));
      RETURN_IF_ERROR(ValidateRange(d.index_date, "index_date", w, true));
    }
    for (const auto& sub : g.groups) {
      RETURN_IF_ERROR(GroupCheck(sub, Sub(where, fmt::format("criterion {}", ++i))));
    }
    return Status::Ok();
  }

  const CohortDefinition& def_;
  std::string origin_;
};

// ---- serialization ----

using OJson = nlohmann::ordered_json;

OJson RangeJson(const Range& r, bool dates) {
  OJson o = OJson::object();
  auto val = [&](double v) -> OJson {
    if (dates) return FormatDate(static_cast<int32_t>(v));
    return v;
  };
  for (const auto& t : r.terms) {
    switch (t.op) {
      case RangeOp::kMin:
        o["min"] = val(t.value);
        break;
      case RangeOp::kMax:
        o["max"] = val(t.value);
        break;
      case RangeOp::kGt:
        o["gt"] = val(t.value);
        break;
      case RangeOp::kLt:
        o["lt"] = val(t.value);
        break;
      case RangeOp::kEq:
        o["eq"] = val(t.value);
        break;
      case RangeOp::kNe:
        o["ne"] = val(t.value);
        break;
      case RangeOp::kNotBetween:
        o["not_between"] = OJson::array({val(t.value), val(t.extent)});
        break;
    }
  }
  return o;
}

OJson SexJson(const std::vector<int64_t>& sex) {
  OJson a = OJson::array();
  for (int64_t s : sex) {
    if (s == kFemaleConceptId) {
      a.push_back("female");
    } else if (s == kMaleConceptId) {
      a.push_back("male");
    } else {
      a.push_back(s);
    }
  }
  return a;
}

OJson EventJson(const EventCriteria& e) {
  OJson o = OJson::object();
  o["domain"] = DomainName(e.domain);
  if (!e.concept_set.empty()) o["concept_set"] = e.concept_set;
  if (e.first_occurrence) o["first_occurrence"] = true;
  if (!e.value.empty()) o["value"] = RangeJson(e.value, false);
  if (!e.unit.empty()) o["unit"] = e.unit;
  if (!e.start_date.empty()) o["start_date"] = RangeJson(e.start_date, true);
  if (!e.age.empty()) o["age"] = RangeJson(e.age, false);
  if (!e.sex.empty()) o["sex"] = SexJson(e.sex);
  if (!e.condition_status.empty()) o["condition_status"] = e.condition_status;
  if (!e.visit.empty()) o["visit"] = e.visit;
  if (e.fixed_date) o["date"] = FormatDate(*e.fixed_date);
  if (e.date_adjustment) {
    const DateAdjustment& a = *e.date_adjustment;
    o["date_adjustment"] = {{"start_from", a.start_from_end ? "end" : "start"},
                            {"start_offset", a.start_offset},
                            {"end_from", a.end_from_end ? "end" : "start"},
                            {"end_offset", a.end_offset}};
  }
  return o;
}

OJson WindowJson(const Window& w, bool end_window) {
  OJson o = OJson::object();
  o["start"] = w.start ? OJson(*w.start) : OJson(nullptr);
  o["end"] = w.end ? OJson(*w.end) : OJson(nullptr);
  if (w.from_index_end) o["index"] = "end";
  if (w.on_event_end != end_window) o["event"] = w.on_event_end ? "end" : "start";
  return o;
}

void GroupJson(const Group& g, OJson& o) {
  switch (g.match) {
    case GroupMatch::kAll:
      o["match"] = "all";
      break;
    case GroupMatch::kAny:
      o["match"] = "any";
      break;
    case GroupMatch::kAtLeast:
      o["match"] = "at_least";
      o["count"] = g.count;
      break;
    case GroupMatch::kAtMost:
      o["match"] = "at_most";
      o["count"] = g.count;
      break;
  }
  OJson list = OJson::array();
  for (const auto& c : g.criteria) {
    OJson x = OJson::object();
    x["event"] = EventJson(c.event);
    x["window"] = WindowJson(c.window, false);
    if (c.end_window) x["end_window"] = WindowJson(*c.end_window, true);
    std::string_view op =
        c.op == CountOp::kExactly ? "exactly" : (c.op == CountOp::kAtMost ? "at_most" : "at_least");
    x["occurrences"] = OJson::object({{std::string(op), c.count}});
    if (c.distinct) x["distinct"] = true;
    if (c.ignore_observation_period) x["ignore_observation_period"] = true;
    if (c.restrict_visit) x["restrict_visit"] = true;
    list.push_back(std::move(x));
  }
  for (const auto& d : g.demographics) {
    OJson x = OJson::object();
    if (!d.age.empty()) x["age"] = RangeJson(d.age, false);
    if (!d.sex.empty()) x["sex"] = SexJson(d.sex);
    if (!d.index_date.empty()) x["index_date"] = RangeJson(d.index_date, true);
    list.push_back(std::move(x));
  }
  for (const auto& sub : g.groups) {
    OJson x = OJson::object();
    GroupJson(sub, x);
    list.push_back(std::move(x));
  }
  o["criteria"] = std::move(list);
}

}  // namespace

namespace internal {
Status ValidateEvent(const EventCriteria& e, const std::function<bool(std::string_view)>& has_set,
                     std::string_view where) {
  if ((e.domain == Domain::kObservationPeriod || e.domain == Domain::kFixedDate) &&
      !e.concept_set.empty()) {
    return JsonError(where, fmt::format("\"concept_set\" does not apply to domain \"{}\"",
                                        DomainName(e.domain)));
  }
  if (e.domain == Domain::kFixedDate && !e.fixed_date) {
    return JsonError(where, "\"date\" is required with domain \"fixed_date\"");
  }
  if (e.domain != Domain::kFixedDate && e.fixed_date) {
    return JsonError(where, "\"date\" applies to domain \"fixed_date\" only");
  }
  if (e.domain == Domain::kFixedDate && (e.first_occurrence || !e.start_date.empty())) {
    return JsonError(where,
                     "domain \"fixed_date\" takes no \"first_occurrence\" or "
                     "\"start_date\"");
  }
  if (!e.condition_status.empty() && e.domain != Domain::kCondition) {
    return JsonError(where, fmt::format("\"condition_status\" applies to condition only (domain "
                                        "is \"{}\")",
                                        DomainName(e.domain)));
  }
  if (!e.visit.empty() && (e.domain == Domain::kDeath || e.domain == Domain::kObservationPeriod ||
                           e.domain == Domain::kFixedDate || e.domain == Domain::kVisit)) {
    return JsonError(where, fmt::format("\"visit\" applies to events recorded during a visit "
                                        "(domain is \"{}\"; for visits use \"concept_set\")",
                                        DomainName(e.domain)));
  }
  if (!e.concept_set.empty() && !has_set(e.concept_set)) {
    return JsonError(
        where, fmt::format("concept set \"{}\" is not defined in \"concept_sets\"", e.concept_set));
  }
  if (!e.value.empty() && e.domain != Domain::kMeasurement && e.domain != Domain::kObservation) {
    return JsonError(where, fmt::format("\"value\" applies to measurement and observation only "
                                        "(domain is \"{}\")",
                                        DomainName(e.domain)));
  }
  if (!e.unit.empty() && e.domain != Domain::kMeasurement) {
    return JsonError(where, fmt::format("\"unit\" applies to measurement only (domain is \"{}\")",
                                        DomainName(e.domain)));
  }
  RETURN_IF_ERROR(ValidateRange(e.value, "value", where, false));
  RETURN_IF_ERROR(ValidateRange(e.start_date, "start_date", where, true));
  RETURN_IF_ERROR(ValidateRange(e.age, "age", where, false));
  return Status::Ok();
}

Result<EventCriteria> ParseEventJson(const Json& json, std::string_view where) {
  return ParseEvent(json, where);
}
Result<Window> ParseWindowJson(const Json& json, std::string_view key, std::string_view where,
                               bool default_event_end) {
  return ParseWindow(json, key, where, default_event_end);
}
Result<ConceptItem> ParseConceptItemJson(const Json& json, std::string_view where) {
  return ParseConceptItem(json, where);
}
}  // namespace internal

std::string_view DomainName(Domain domain) {
  for (const auto& d : kDomains) {
    if (d.domain == domain) return d.name;
  }
  return "condition";
}

std::optional<Domain> DomainFromName(std::string_view name) {
  for (const auto& d : kDomains) {
    if (d.name == name) return d.domain;
  }
  return std::nullopt;
}

const ConceptSet* CohortDefinition::FindConceptSet(std::string_view id) const {
  for (const auto& cs : concept_sets) {
    if (cs.id == id) return &cs;
  }
  return nullptr;
}

Result<CohortDefinition> CohortDefinitionFromJson(const Json& j, std::string_view origin) {
  RETURN_IF_ERROR(
      CheckKeys(j, origin,
                {"version", "name", "description", "concept_sets", "entry", "inclusion_rules",
                 "inclusion_limit", "exit", "censor_events", "censor_window", "era_pad_days"}));
  CohortDefinition def;
  ASSIGN_OR_RETURN(auto version, internal::OptInt(j, "version", origin, 1, 1));
  (void)version;
  ASSIGN_OR_RETURN(auto name, internal::OptString(j, "name", origin));
  ASSIGN_OR_RETURN(auto description, internal::OptString(j, "description", origin));
  def.name = name.value_or("");
  def.description = description.value_or("");

  if (const Json* sets = Find(j, "concept_sets")) {
    if (!sets->is_array()) return JsonError(origin, "\"concept_sets\" must be a list");
    for (size_t i = 0; i < sets->size(); ++i) {
      ASSIGN_OR_RETURN(ConceptSet cs, ParseConceptSet((*sets)[i], origin, i));
      def.concept_sets.push_back(std::move(cs));
    }
  }

  const Json* entry = Find(j, "entry");
  std::string ew = Sub(origin, "entry");
  if (entry == nullptr) return JsonError(origin, "\"entry\" is required");
  RETURN_IF_ERROR(CheckKeys(*entry, ew,
                            {"events", "prior_observation_days", "post_observation_days", "limit",
                             "additional_criteria", "qualified_limit"}));
  const Json* events = Find(*entry, "events");
  if (events == nullptr || !events->is_array()) {
    return JsonError(ew, "\"events\" must be a list of entry events");
  }
  for (size_t i = 0; i < events->size(); ++i) {
    ASSIGN_OR_RETURN(EventCriteria e,
                     ParseEvent((*events)[i], Sub(origin, fmt::format("entry event {}", i + 1))));
    def.entry.events.push_back(std::move(e));
  }
  ASSIGN_OR_RETURN(def.entry.prior_observation_days,
                   OptDays(*entry, "prior_observation_days", ew, 0));
  ASSIGN_OR_RETURN(def.entry.post_observation_days,
                   OptDays(*entry, "post_observation_days", ew, 0));
  ASSIGN_OR_RETURN(def.entry.limit, ParseLimit(*entry, "limit", ew, Limit::kFirst));
  if (const Json* ac = Find(*entry, "additional_criteria")) {
    ASSIGN_OR_RETURN(Group g, ParseGroupBody(*ac, Sub(origin, "entry: additional criteria"),
                                             {"match", "count", "criteria"}));
    def.entry.additional_criteria = std::move(g);
  }
  ASSIGN_OR_RETURN(def.entry.qualified_limit,
                   ParseLimit(*entry, "qualified_limit", ew, Limit::kFirst));

  if (const Json* rules = Find(j, "inclusion_rules")) {
    if (!rules->is_array()) return JsonError(origin, "\"inclusion_rules\" must be a list");
    for (size_t i = 0; i < rules->size(); ++i) {
      std::string w = Sub(origin, fmt::format("inclusion rule {}", i + 1));
      const Json& r = (*rules)[i];
      RETURN_IF_ERROR(internal::ExpectObject(r, w));
      InclusionRule rule;
      ASSIGN_OR_RETURN(rule.group,
                       ParseGroupBody(r, w, {"name", "description", "match", "count", "criteria"}));
      ASSIGN_OR_RETURN(auto rn, internal::OptString(r, "name", w));
      ASSIGN_OR_RETURN(auto rd, internal::OptString(r, "description", w));
      rule.name = rn.value_or(fmt::format("rule {}", i + 1));
      rule.description = rd.value_or("");
      def.inclusion_rules.push_back(std::move(rule));
    }
  }
  ASSIGN_OR_RETURN(def.inclusion_limit, ParseLimit(j, "inclusion_limit", origin, Limit::kFirst));
  if (const Json* exit = Find(j, "exit")) {
    ASSIGN_OR_RETURN(def.exit, ParseExit(*exit, Sub(origin, "exit")));
  }
  if (const Json* ce = Find(j, "censor_events")) {
    if (!ce->is_array()) return JsonError(origin, "\"censor_events\" must be a list");
    for (size_t i = 0; i < ce->size(); ++i) {
      ASSIGN_OR_RETURN(EventCriteria e,
                       ParseEvent((*ce)[i], Sub(origin, fmt::format("censor event {}", i + 1))));
      def.censor_events.push_back(std::move(e));
    }
  }
  if (const Json* cw = Find(j, "censor_window")) {
    std::string w = Sub(origin, "censor_window");
    RETURN_IF_ERROR(CheckKeys(*cw, w, {"start", "end"}));
    ASSIGN_OR_RETURN(def.censor_window_start, internal::OptDate(*cw, "start", w));
    ASSIGN_OR_RETURN(def.censor_window_end, internal::OptDate(*cw, "end", w));
  }
  ASSIGN_OR_RETURN(def.era_pad_days, OptDays(j, "era_pad_days", origin, 0));
  RETURN_IF_ERROR(ValidateCohortDefinition(def, origin));
  return def;
}

Result<CohortDefinition> ParseCohortDefinition(std::string_view json_text,
                                               std::string_view origin) {
  ASSIGN_OR_RETURN(Json j, internal::ParseJsonText(json_text, origin));
  return CohortDefinitionFromJson(j, origin);
}

Status ValidateCohortDefinition(const CohortDefinition& definition, std::string_view origin) {
  return Validator(definition, origin).Run();
}

std::string CohortDefinitionToJson(const CohortDefinition& d) {
  OJson o = OJson::object();
  o["version"] = 1;
  if (!d.name.empty()) o["name"] = d.name;
  if (!d.description.empty()) o["description"] = d.description;
  OJson sets = OJson::array();
  for (const auto& cs : d.concept_sets) {
    OJson s = OJson::object();
    s["id"] = cs.id;
    if (!cs.name.empty()) s["name"] = cs.name;
    OJson items = OJson::array();
    for (const auto& it : cs.items) {
      if (!it.descendants && !it.exclude && !it.mapped) {
        items.push_back(it.concept_id);
        continue;
      }
      OJson x = OJson::object();
      x["concept_id"] = it.concept_id;
      if (it.descendants) x["descendants"] = true;
      if (it.exclude) x["exclude"] = true;
      if (it.mapped) x["mapped"] = true;
      items.push_back(std::move(x));
    }
    s["concepts"] = std::move(items);
    sets.push_back(std::move(s));
  }
  o["concept_sets"] = std::move(sets);
  OJson entry = OJson::object();
  OJson events = OJson::array();
  for (const auto& e : d.entry.events) events.push_back(EventJson(e));
  entry["events"] = std::move(events);
  entry["prior_observation_days"] = d.entry.prior_observation_days;
  entry["post_observation_days"] = d.entry.post_observation_days;
  entry["limit"] = LimitName(d.entry.limit);
  if (d.entry.additional_criteria) {
    OJson g = OJson::object();
    GroupJson(*d.entry.additional_criteria, g);
    entry["additional_criteria"] = std::move(g);
    entry["qualified_limit"] = LimitName(d.entry.qualified_limit);
  }
  o["entry"] = std::move(entry);
  OJson rules = OJson::array();
  for (const auto& r : d.inclusion_rules) {
    OJson x = OJson::object();
    x["name"] = r.name;
    if (!r.description.empty()) x["description"] = r.description;
    GroupJson(r.group, x);
    rules.push_back(std::move(x));
  }
  o["inclusion_rules"] = std::move(rules);
  o["inclusion_limit"] = LimitName(d.inclusion_limit);
  OJson exit = OJson::object();
  switch (d.exit.type) {
    case ExitType::kObservationEnd:
      exit["type"] = "observation_end";
      break;
    case ExitType::kFixed:
      exit["type"] = "fixed";
      exit["from"] = d.exit.from_end ? "end" : "start";
      exit["offset_days"] = d.exit.offset_days;
      break;
    case ExitType::kDrugEra:
      exit["type"] = "drug_era";
      exit["concept_set"] = d.exit.concept_set;
      exit["gap_days"] = d.exit.gap_days;
      exit["persistence_days"] = d.exit.persistence_days;
      if (d.exit.days_supply_override) {
        exit["days_supply_override"] = *d.exit.days_supply_override;
      }
      break;
  }
  o["exit"] = std::move(exit);
  if (!d.censor_events.empty()) {
    OJson ce = OJson::array();
    for (const auto& e : d.censor_events) ce.push_back(EventJson(e));
    o["censor_events"] = std::move(ce);
  }
  if (d.censor_window_start || d.censor_window_end) {
    OJson cw = OJson::object();
    if (d.censor_window_start) cw["start"] = FormatDate(*d.censor_window_start);
    if (d.censor_window_end) cw["end"] = FormatDate(*d.censor_window_end);
    o["censor_window"] = std::move(cw);
  }
  o["era_pad_days"] = d.era_pad_days;
  return o.dump(2);
}

}  // namespace passerelle::cohort
