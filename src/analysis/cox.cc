// cox: a Cox proportional-hazards model stratified by site (each node its own baseline hazard),
// fitted exactly across nodes by survival's Newton-Raphson (src/stats/cox.h); equals R's
// coxph(Surv([start,] time, event) ~ x + strata(site)) on the pooled data.
//
// Study element: {"id", "type": "cox", "time": "col", "event": "col", "start"?: "col",
// "formula": "~ x1 + x2", "ties"?: "efron|breslow", "strata"?: "site"}. The formula's right-hand
// side may hold factors, interactions and strata(g) terms (g further splits each node).
//
// Rounds: "schema" (as glm: each node's column kinds and factor level sets, merged by the hub),
// then "fit" rounds: the hub sends beta, each node returns the log partial likelihood, gradient
// and information over its strata (stats::CoxLocalStep), until converged
// (|1 - loglik_old / loglik| <= 1e-9, at most 20 Newton steps, step halving as agfit4).
// A node sorts its rows once per fit and keeps them between rounds (model::FitCache).
//
// Disclosure rule, at each node, before anything leaves (a refusal releases nothing):
//   min_rows               fewer complete rows than min_rows;
//   max_levels             a factor with more levels than the node's max_levels;
//   cox_min_events         fewer events than min_cell;
//   saturated              as many covariates as complete rows, or more;
//   glm_max_params_ratio   more covariates than glm_max_params_ratio x complete rows.
//
// Result: {"n", "events", "iterations", "converged", "ties", "strata", "loglik": [null model,
// final], "coefficients": [{"term", "estimate", "std_error", "hazard_ratio", "hr_ci_low",
// "hr_ci_high", "statistic", "p_value"}], "lr_test", "wald_test", "score_test": {"statistic",
// "df", "p_value"}, "warnings"}; an aliased coefficient has nulls and "aliased": true.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "analysis/builtin.h"
#include "analysis/model_support.h"
#include "protocol/json_reader.h"
#include "stats/cox.h"
#include "stats/formula.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

class CoxSpec final : public AnalysisSpec {
 public:
  std::string time;
  std::string event;
  std::string start;
  std::string formula;  // "~ x1 + x2"
  std::string ties = "efron";
  std::string strata = "site";

  json ToJson() const override {
    json j = {{"id", id},           {"type", type}, {"time", time},    {"event", event},
              {"formula", formula}, {"ties", ties}, {"strata", strata}};
    if (!start.empty()) j["start"] = start;
    return j;
  }

  // "Surv([start, ]time, event) ~ rhs".
  std::string FullFormula() const {
    std::string rhs = formula;
    size_t tilde = rhs.find('~');
    if (tilde != std::string::npos) rhs = rhs.substr(tilde + 1);
    std::string surv = start.empty()
                           ? fmt::format("Surv({}, {})", stats::RLabel(time), stats::RLabel(event))
                           : fmt::format("Surv({}, {}, {})", stats::RLabel(start),
                                         stats::RLabel(time), stats::RLabel(event));
    return surv + " ~" + rhs;
  }
  Result<stats::ModelSpec> Model() const { return stats::CoxModelSpec(FullFormula()); }
  stats::CoxOptions Options() const {
    stats::CoxOptions o;
    o.ties = ties == "breslow" ? stats::CoxTies::kBreslow : stats::CoxTies::kEfron;
    return o;
  }
};

std::string Phase(const RoundInput& in) { return in.params.value("phase", ""); }

json FitParams(const std::string& fit, const json& schema, size_t p,
               const stats::CoxRequest& request) {
  return {{"phase", "fit"},
          {"fit", fit},
          {"schema", schema},
          {"p", p},
          {"request", model::CoxRequestToJson(request)}};
}

json TestJson(const stats::CoxTest& t) {
  return {{"statistic", model::ResultNumber(t.statistic)},
          {"df", t.df},
          {"p_value", model::ResultNumber(t.p_value)}};
}

json ResultJson(const CoxSpec& spec, const stats::CoxResult& r) {
  json coefs = json::array();
  for (const auto& c : r.coefficients) {
    json e = {{"term", c.name}};
    if (c.aliased) {
      for (const char* k : {"estimate", "std_error", "hazard_ratio", "hr_ci_low", "hr_ci_high",
                            "statistic", "p_value"}) {
        e[k] = nullptr;
      }
      e["aliased"] = true;
    } else {
      e["estimate"] = model::ResultNumber(c.estimate);
      e["std_error"] = model::ResultNumber(c.std_error);
      e["hazard_ratio"] = model::ResultNumber(c.hazard_ratio);
      e["hr_ci_low"] = model::ResultNumber(c.hr_lower);
      e["hr_ci_high"] = model::ResultNumber(c.hr_upper);
      e["statistic"] = model::ResultNumber(c.z);
      e["p_value"] = model::ResultNumber(c.p_value);
    }
    coefs.push_back(std::move(e));
  }
  return {{"formula", spec.FullFormula()},
          {"ties", spec.ties},
          {"strata", spec.strata},
          {"n", r.n},
          {"events", r.events},
          {"iterations", r.iterations},
          {"converged", r.converged},
          {"loglik", {model::ResultNumber(r.loglik_null), model::ResultNumber(r.loglik)}},
          {"coefficients", std::move(coefs)},
          {"lr_test", TestJson(r.likelihood_ratio)},
          {"wald_test", TestJson(r.wald)},
          {"score_test", TestJson(r.score)},
          {"warnings", r.warnings}};
}

class CoxAnalysis final : public Analysis {
 public:
  std::string_view type() const override { return "cox"; }
  std::string_view description() const override {
    return "Cox proportional hazards stratified by site by federated Newton-Raphson, equal to "
           "R's coxph(... + strata(site)) on the pooled data";
  }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<CoxSpec>();
    RETURN_IF_ERROR(ParseCommonFields(
        j, path, {"id", "type", "time", "event", "start", "formula", "ties", "strata"}, *spec));
    for (auto [key, target] : {std::pair{"time", &spec->time}, {"event", &spec->event}}) {
      ASSIGN_OR_RETURN(*target, protocol::GetString(j, key, path));
      RETURN_IF_ERROR(ValidateVariableName(*target, protocol::JsonPath(path, key)));
    }
    ASSIGN_OR_RETURN(auto start, protocol::GetOptionalString(j, "start", path));
    if (start) {
      RETURN_IF_ERROR(ValidateVariableName(*start, protocol::JsonPath(path, "start")));
      spec->start = *start;
    }
    ASSIGN_OR_RETURN(spec->formula, protocol::GetString(j, "formula", path));
    if (spec->formula.size() > 2000) {
      return Status::InvalidArgument(fmt::format("{}.formula: longer than 2000 characters", path));
    }
    size_t tilde = spec->formula.find('~');
    if (tilde == std::string::npos || spec->formula.find_first_not_of(" \t") != tilde) {
      return Status::InvalidArgument(fmt::format(
          "{}.formula: give the covariates only, as \"~ x1 + x2\" (the outcome comes from "
          "\"time\", \"event\" and \"start\")",
          path));
    }
    ASSIGN_OR_RETURN(auto ties, protocol::GetOptionalString(j, "ties", path));
    if (ties) {
      if (*ties != "efron" && *ties != "breslow") {
        return Status::InvalidArgument(
            fmt::format("{}.ties: must be \"efron\" or \"breslow\"", path));
      }
      spec->ties = *ties;
    }
    ASSIGN_OR_RETURN(auto strata, protocol::GetOptionalString(j, "strata", path));
    if (strata && *strata != "site") {
      return Status::InvalidArgument(fmt::format(
          "{}.strata: only \"site\" (each node its own baseline hazard) is supported; add "
          "strata(x) to the formula to split further",
          path));
    }
    auto model = spec->Model();
    if (!model.ok()) {
      return Status::InvalidArgument(fmt::format("{}.formula: {}", path, model.status().message()));
    }
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<RoundInput> Begin(const AnalysisSpec&, json& state) const override {
    state = {{"phase", "schema"}, {"fit", model::NewFitId()}};
    RoundInput in;
    in.params = {{"phase", "schema"}};
    return in;
  }

  Result<size_t> ShareLength(const AnalysisSpec&, int, const RoundInput& input) const override {
    if (Phase(input) == "schema") return size_t{0};
    return stats::CoxResponseSize(input.params.value("p", size_t{0}));
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec_base, int,
                              const RoundInput& input, const Thresholds& t) const override {
    const auto& spec = static_cast<const CoxSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    NodeShare share;
    const std::string phase = Phase(input);
    if (phase == "schema") {
      ASSIGN_OR_RETURN(share.meta, model::DescribeNode(data, ms, t.min_rows, t.max_levels));
      return share;
    }
    if (phase != "fit") return Status::InvalidArgument("cox: unknown phase in round input");
    ASSIGN_OR_RETURN(auto request,
                     model::CoxRequestFromJson(input.params.value("request", json())));
    ASSIGN_OR_RETURN(std::shared_ptr<const stats::CoxData> cox,
                     GetData(data, ms, spec.ToJson().dump(), input));
    if (request.beta.size() != cox->p) {
      return Status::InvalidArgument("cox: the request does not fit the model");
    }
    ASSIGN_OR_RETURN(share.values, stats::CoxLocalStep(*cox, request));
    return share;
  }

  Status Disclose(const AnalysisSpec&, int, const RoundInput& input, const Thresholds& t,
                  NodeShare& share) const override {
    if (Phase(input) == "schema") return Status::Ok();  // checked in LocalStep (needs the rows)
    namespace slot = stats::cox_slot;
    if (share.values.size() < slot::kHeader) return Status::Internal("cox: short share");
    const double rows = share.values[slot::kRows];
    const double events = share.values[slot::kEvents];
    const double p = input.params.value("p", 0.0);
    if (rows < static_cast<double>(t.min_rows)) {
      return RefuseByRule("min_rows", fmt::format("fewer complete rows than min_rows ({}); "
                                                  "nothing is released",
                                                  t.min_rows));
    }
    if (events < static_cast<double>(t.min_cell)) {
      return RefuseByRule("cox_min_events",
                          fmt::format("fewer events than min_cell ({}) at this node", t.min_cell));
    }
    if (p >= rows) {
      return RefuseByRule("saturated",
                          "the model has as many covariates as complete rows at this node, or "
                          "more");
    }
    if (p > t.glm_max_params_ratio * rows) {
      return RefuseByRule(
          "glm_max_params_ratio",
          fmt::format("the model has more covariates than glm_max_params_ratio ({}) x the "
                      "complete rows at this node",
                      t.glm_max_params_ratio));
    }
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec& spec_base, int, const RoundInput& input,
                                 const std::vector<double>& sum, const std::vector<json>& metas,
                                 json& state) const override {
    const auto& spec = static_cast<const CoxSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    const std::string fit = state.value("fit", "");
    CombineOutcome out;
    if (Phase(input) == "schema") {
      ASSIGN_OR_RETURN(stats::DataSchema agreed, model::MergeNodeSchemas(metas));
      ASSIGN_OR_RETURN(stats::ModelLayout layout, stats::LayoutModel(ms, agreed));
      ASSIGN_OR_RETURN(stats::CoxState s, stats::CoxBegin(spec.Options(), layout.column_names()));
      json schema = model::SchemaToJson(agreed);
      const size_t p = layout.columns.size();
      state = {{"phase", "fit"},
               {"fit", fit},
               {"schema", schema},
               {"p", p},
               {"cox", model::CoxStateToJson(s)}};
      out.next = RoundInput{FitParams(fit, schema, p, s.request), {}};
      return out;
    }
    ASSIGN_OR_RETURN(stats::CoxState s, model::CoxStateFromJson(state.value("cox", json())));
    if (sum.size() != stats::CoxResponseSize(s.column_names.size())) {
      return Status::Internal("cox: sum of the wrong length");
    }
    RETURN_IF_ERROR(stats::CoxCombine(s, sum));
    state["cox"] = model::CoxStateToJson(s);
    if (!s.done()) {
      out.next = RoundInput{FitParams(fit, state["schema"], s.column_names.size(), s.request), {}};
      return out;
    }
    ASSIGN_OR_RETURN(stats::CoxResult result, stats::CoxFinish(s));
    out.result = ResultJson(spec, result);
    return out;
  }

 private:
  static Result<std::shared_ptr<const stats::CoxData>> GetData(AnalysisTable& data,
                                                               const stats::ModelSpec& ms,
                                                               const std::string& spec_json,
                                                               const RoundInput& input) {
    return model::CachedFitData<stats::CoxData>(
        "cox", data, ms, spec_json, input,
        [](const stats::ModelLayout& layout, stats::DataFrame&& frame) {
          return stats::BuildCoxData(layout, std::move(frame));
        });
  }
};

}  // namespace

std::unique_ptr<Analysis> MakeCoxAnalysis() { return std::make_unique<CoxAnalysis>(); }

}  // namespace passerelle::analysis
