// km: Kaplan-Meier survival by group on a time grid, from per-interval at-risk, event and
// censoring counts summed over nodes (src/stats/km.h).
//
// Study element: {"id", "type": "km", "time": "col", "event": "col", "group"?: "col",
// "start"?: "col", "times": [t1, t2, ...]} with 0 < t1 < t2 < ... (at most 1000). The grid is
// 0, t1, t2, ...: interval j is (t_{j-1}, t_j]. For right-censored data the result equals R's
// survfit(Surv(time', event) ~ group) at the grid times, time' being each time rounded up to the
// grid (exact when the grid holds every event time).
//
// Rounds: "schema" (only with a group: each node's set of group levels, merged by the hub), then
// "counts": each node returns, per group and interval, (n_risk, n_event, n_censor), then one
// suppression flag per group and interval.
//
// Disclosure rule, at each node, before anything leaves:
//   min_rows     fewer complete rows than min_rows: refused (nothing is released);
//   max_levels   a group variable with more levels than the node's max_levels: refused;
//   min_cell     an interval of a group whose event or censoring count lies between 1 and
//                min_cell - 1 is released as zeros with its flag raised. The pooled counts of that
//                interval are then null, and so is the survival from that time on (it cannot be
//                computed without them); "suppressed" lists them with the reason. A coarser grid
//                avoids it.
//
// Result: {"times": [...], "variable"?: "col", "group_order": [...], "groups": {"<level>":
// {"n_risk", "n_event", "n_censor", "survival", "std_err", "ci_low", "ci_high"}}, "conf_type":
// "log", "conf_level": 0.95, "suppressed": [{"group", "time", "reason"}]}.
#include <fmt/format.h>

#include <cmath>

#include "analysis/builtin.h"
#include "analysis/model_support.h"
#include "protocol/json_reader.h"
#include "stats/formula.h"
#include "stats/km.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

constexpr size_t kMaxTimes = 1000;

class KmSpec final : public AnalysisSpec {
 public:
  std::string time;
  std::string event;
  std::string start;
  std::string group;
  std::vector<double> times;

  json ToJson() const override {
    json j = {{"id", id}, {"type", type}, {"time", time}, {"event", event}, {"times", times}};
    if (!start.empty()) j["start"] = start;
    if (!group.empty()) j["group"] = group;
    return j;
  }
  std::string Formula() const {
    std::string surv = start.empty()
                           ? fmt::format("Surv({}, {})", stats::RLabel(time), stats::RLabel(event))
                           : fmt::format("Surv({}, {}, {})", stats::RLabel(start),
                                         stats::RLabel(time), stats::RLabel(event));
    return surv + " ~ " + (group.empty() ? std::string("1") : stats::RLabel(group));
  }
  Result<stats::ModelSpec> Model() const { return stats::KmModelSpec(Formula()); }
  std::vector<double> Grid() const {
    std::vector<double> g = {0.0};
    g.insert(g.end(), times.begin(), times.end());
    return g;
  }
};

std::string Phase(const RoundInput& in) { return in.params.value("phase", ""); }

json CountsParams(const json& schema) { return {{"phase", "counts"}, {"schema", schema}}; }

Result<std::vector<std::string>> Groups(const stats::ModelSpec& ms, const RoundInput& input) {
  ASSIGN_OR_RETURN(stats::DataSchema schema,
                   model::SchemaFromJson(input.params.value("schema", json())));
  return stats::KmGroupLabels(ms, schema);
}

class KmAnalysis final : public Analysis {
 public:
  std::string_view type() const override { return "km"; }
  std::string_view description() const override {
    return "Kaplan-Meier survival by group on a time grid, with small-count suppression";
  }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<KmSpec>();
    RETURN_IF_ERROR(ParseCommonFields(
        j, path, {"id", "type", "time", "event", "start", "group", "times"}, *spec));
    for (auto [key, target] : {std::pair{"time", &spec->time}, {"event", &spec->event}}) {
      ASSIGN_OR_RETURN(*target, protocol::GetString(j, key, path));
      RETURN_IF_ERROR(ValidateVariableName(*target, protocol::JsonPath(path, key)));
    }
    for (auto [key, target] : {std::pair{"start", &spec->start}, {"group", &spec->group}}) {
      ASSIGN_OR_RETURN(auto v, protocol::GetOptionalString(j, key, path));
      if (v) {
        RETURN_IF_ERROR(ValidateVariableName(*v, protocol::JsonPath(path, key)));
        *target = *v;
      }
    }
    const std::string tp = protocol::JsonPath(path, "times");
    auto it = j.find("times");
    if (it == j.end() || !it->is_array() || it->empty() || it->size() > kMaxTimes) {
      return Status::InvalidArgument(
          fmt::format("{}: give an array of 1 to {} increasing times", tp, kMaxTimes));
    }
    double last = 0;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& t = (*it)[i];
      if (!t.is_number() || !std::isfinite(t.get<double>()) || t.get<double>() <= last) {
        return Status::InvalidArgument(fmt::format(
            "{}[{}]: times must be finite numbers, positive and strictly increasing", tp, i));
      }
      last = t.get<double>();
      spec->times.push_back(last);
    }
    auto model = spec->Model();
    if (!model.ok())
      return Status::InvalidArgument(fmt::format("{}: {}", path, model.status().message()));
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<RoundInput> Begin(const AnalysisSpec& spec_base, json& state) const override {
    const auto& spec = static_cast<const KmSpec&>(spec_base);
    state = json::object();
    RoundInput in;
    if (spec.group.empty()) {
      in.params = CountsParams(model::SchemaToJson({}));
    } else {
      in.params = {{"phase", "schema"}};
    }
    return in;
  }

  Result<size_t> ShareLength(const AnalysisSpec& spec_base, int,
                             const RoundInput& input) const override {
    const auto& spec = static_cast<const KmSpec&>(spec_base);
    if (Phase(input) == "schema") return size_t{0};
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    ASSIGN_OR_RETURN(auto groups, Groups(ms, input));
    const size_t m = spec.times.size();
    return stats::KmResponseSize(groups.size(), m) + groups.size() * m;
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec_base, int,
                              const RoundInput& input, const Thresholds& t) const override {
    const auto& spec = static_cast<const KmSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    NodeShare share;
    const std::string phase = Phase(input);
    if (phase == "schema") {
      ASSIGN_OR_RETURN(share.meta, model::DescribeNode(data, ms, t.min_rows, t.max_levels));
      return share;
    }
    if (phase != "counts") return Status::InvalidArgument("km: unknown phase in round input");
    ASSIGN_OR_RETURN(stats::DataSchema schema,
                     model::SchemaFromJson(input.params.value("schema", json())));
    ASSIGN_OR_RETURN(stats::DataFrame frame,
                     model::ReadFrame(data, model::ModelColumns(ms), /*complete_cases=*/true));
    if (static_cast<int64_t>(frame.rows()) < t.min_rows) {
      return RefuseByRule("min_rows", fmt::format("fewer complete rows than min_rows ({}); "
                                                  "nothing is released",
                                                  t.min_rows));
    }
    ASSIGN_OR_RETURN(share.values, stats::KmLocalStep(ms, schema, frame, spec.Grid()));
    share.values.resize(share.values.size() + share.values.size() / 3, 0.0);
    return share;
  }

  Status Disclose(const AnalysisSpec&, int, const RoundInput& input, const Thresholds& t,
                  NodeShare& share) const override {
    if (Phase(input) == "schema") return Status::Ok();
    const size_t cells = share.values.size() / 4;  // (group, interval) pairs
    const auto min_cell = static_cast<double>(t.min_cell);
    for (size_t k = 0; k < cells; ++k) {
      double* triple = share.values.data() + 3 * k;
      auto small = [&](double c) { return c >= 1 && c < min_cell; };
      if (small(triple[1]) || small(triple[2])) {
        triple[0] = triple[1] = triple[2] = 0;
        share.values[3 * cells + k] = 1;
      }
    }
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec& spec_base, int, const RoundInput& input,
                                 const std::vector<double>& sum, const std::vector<json>& metas,
                                 json&) const override {
    const auto& spec = static_cast<const KmSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    CombineOutcome out;
    if (Phase(input) == "schema") {
      ASSIGN_OR_RETURN(stats::DataSchema agreed, model::MergeNodeSchemas(metas));
      ASSIGN_OR_RETURN(auto groups, stats::KmGroupLabels(ms, agreed));
      if (groups.empty()) return Status::FailedPrecondition("km: no group has complete rows");
      out.next = RoundInput{CountsParams(model::SchemaToJson(agreed)), {}};
      return out;
    }
    ASSIGN_OR_RETURN(auto groups, Groups(ms, input));
    const size_t m = spec.times.size();
    const size_t n_counts = stats::KmResponseSize(groups.size(), m);
    if (sum.size() != n_counts + groups.size() * m) {
      return Status::Internal("km: sum of the wrong length");
    }
    std::vector<double> counts(sum.begin(), sum.begin() + static_cast<std::ptrdiff_t>(n_counts));
    ASSIGN_OR_RETURN(stats::KmResult km, stats::KmCombine(groups, spec.Grid(), counts));
    const std::string prefix = spec.group.empty() ? "" : stats::RLabel(spec.group) + "=";
    json result_groups = json::object();
    json order = json::array();
    json suppressed = json::array();
    for (size_t g = 0; g < km.curves.size(); ++g) {
      const stats::KmCurve& c = km.curves[g];
      std::string label = c.group;
      if (!prefix.empty() && label.rfind(prefix, 0) == 0) label = label.substr(prefix.size());
      json e = {{"n_risk", json::array()},   {"n_event", json::array()},
                {"n_censor", json::array()}, {"survival", json::array()},
                {"std_err", json::array()},  {"ci_low", json::array()},
                {"ci_high", json::array()}};
      bool lost = false;
      for (size_t j = 0; j < m; ++j) {
        const int64_t flagged = CountFromSum(sum[n_counts + g * m + j]);
        if (flagged > 0) {
          lost = true;
          suppressed.push_back(
              {{"group", label},
               {"time", spec.times[j]},
               {"reason", fmt::format("an event or censoring count between 1 and min_cell-1 at "
                                      "{} node(s); survival from this time on is not released "
                                      "(use a coarser grid)",
                                      flagged)}});
        }
        auto count = [&](double v) { return flagged > 0 ? json(nullptr) : json(CountFromSum(v)); };
        auto value = [&](double v) { return lost ? json(nullptr) : model::ResultNumber(v); };
        e["n_risk"].push_back(count(c.n_risk[j]));
        e["n_event"].push_back(count(c.n_event[j]));
        e["n_censor"].push_back(count(c.n_censor[j]));
        e["survival"].push_back(value(c.surv[j]));
        e["std_err"].push_back(value(c.std_err[j]));
        e["ci_low"].push_back(value(c.lower[j]));
        e["ci_high"].push_back(value(c.upper[j]));
      }
      order.push_back(label);
      result_groups[label] = std::move(e);
    }
    json result = {{"times", spec.times},
                   {"group_order", std::move(order)},
                   {"groups", std::move(result_groups)},
                   {"conf_type", "log"},
                   {"conf_level", km.conf_level},
                   {"suppressed", std::move(suppressed)}};
    if (!spec.group.empty()) result["variable"] = spec.group;
    out.result = std::move(result);
    return out;
  }
};

}  // namespace

std::unique_ptr<Analysis> MakeKmAnalysis() { return std::make_unique<KmAnalysis>(); }

}  // namespace passerelle::analysis
