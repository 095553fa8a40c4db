// glm: a generalised linear model (gaussian, binomial, poisson; canonical links) fitted exactly
// across nodes by R's IRLS, split into node sums and hub updates (src/stats/glm.h).
//
// Study element: {"id", "type": "glm", "family": "gaussian|binomial|poisson", "formula": "y ~ a +
// b*c", "offset"?: "col", "weights"?: "col", "max_iter"?: 25, "epsilon"?: 1e-8}.
//
// Rounds (the phase travels in the round input's params):
//   "schema"  each node reports, as meta, whether each model column holds text and, for factors,
//             the set of levels it has (no counts); the hub merges them (union, sorted as R),
//             lays out the design columns and starts IRLS.
//   "fit"     the hub sends the agreed schema and the IRLS request (beta); each node returns the
//             stats::GlmLocalStep sums (X'WX, X'Wz, deviance, n, ...) over its complete rows.
//             Repeated until converged (|dev - dev_old| / (|dev| + 0.1) < epsilon, at most
//             max_iter iterations), plus R's intercept-only refit when there is an offset.
// A node builds its design matrix once per fit and keeps it between rounds (model::FitCache).
//
// Disclosure rule, at each node, before anything leaves (a refusal releases nothing):
//   min_rows               fewer complete rows than min_rows (schema and every fit round);
//   max_levels             a factor with more levels than the node's max_levels;
//   saturated              as many parameters as complete rows, or more;
//   glm_max_params_ratio   more parameters than glm_max_params_ratio x complete rows;
//   binomial_min_cell      binomial: fewer than min_cell rows (weighted) in an outcome class.
// Messages state the rule and the threshold, never the node's counts.
//
// Result: {"family", "formula", "n", "iterations", "converged", "deviance", "null_deviance",
// "df_residual", "df_null", "aic", "dispersion", "statistic": "z"|"t", "rank", "separation",
// "boundary", "warnings", "coefficients": [{"term", "estimate", "std_error", "statistic",
// "p_value", "ci_low", "ci_high"}]}; an aliased coefficient has nulls and "aliased": true.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "analysis/builtin.h"
#include "analysis/model_support.h"
#include "protocol/json_reader.h"
#include "stats/design.h"
#include "stats/formula.h"
#include "stats/glm.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

class GlmSpec final : public AnalysisSpec {
 public:
  std::string family;
  std::string formula;
  std::string offset;
  std::string weights;
  int max_iter = 25;
  double epsilon = 1e-8;

  json ToJson() const override {
    json j = {{"id", id},           {"type", type},         {"family", family},
              {"formula", formula}, {"max_iter", max_iter}, {"epsilon", epsilon}};
    if (!offset.empty()) j["offset"] = offset;
    if (!weights.empty()) j["weights"] = weights;
    return j;
  }

  Result<stats::ModelSpec> Model() const {
    stats::ModelSpec m;
    ASSIGN_OR_RETURN(m.formula, stats::ParseFormula(formula));
    m.offset = offset;
    m.weights = weights;
    return m;
  }
  Result<stats::GlmOptions> Options() const {
    stats::GlmOptions o;
    ASSIGN_OR_RETURN(o.family, stats::ParseGlmFamily(family));
    o.max_iterations = max_iter;
    o.epsilon = epsilon;
    return o;
  }
};

std::string Phase(const RoundInput& in) { return in.params.value("phase", ""); }

json FitParams(const std::string& fit, const json& schema, size_t p,
               const stats::GlmRequest& request) {
  return {{"phase", "fit"},
          {"fit", fit},
          {"schema", schema},
          {"p", p},
          {"request", model::GlmRequestToJson(request)}};
}

json ResultJson(const GlmSpec& spec, const stats::GlmResult& r) {
  json coefs = json::array();
  for (const auto& c : r.coefficients) {
    json e = {{"term", c.name}};
    if (c.aliased) {
      for (const char* k : {"estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"}) {
        e[k] = nullptr;
      }
      e["aliased"] = true;
    } else {
      e["estimate"] = model::ResultNumber(c.estimate);
      e["std_error"] = model::ResultNumber(c.std_error);
      e["statistic"] = model::ResultNumber(c.statistic);
      e["p_value"] = model::ResultNumber(c.p_value);
      e["ci_low"] = model::ResultNumber(c.ci_lower);
      e["ci_high"] = model::ResultNumber(c.ci_upper);
    }
    coefs.push_back(std::move(e));
  }
  json out = {{"family", stats::GlmFamilyName(r.family)},
              {"formula", spec.formula},
              {"n", r.n},
              {"iterations", r.iterations},
              {"converged", r.converged},
              {"deviance", model::ResultNumber(r.deviance)},
              {"null_deviance", model::ResultNumber(r.null_deviance)},
              {"df_residual", r.df_residual},
              {"df_null", r.df_null},
              {"aic", model::ResultNumber(r.aic)},
              {"dispersion", model::ResultNumber(r.dispersion)},
              {"statistic", r.statistic_name},
              {"rank", r.rank},
              {"separation", r.separation},
              {"boundary", r.boundary},
              {"ci_method", r.ci_method},
              {"warnings", r.warnings},
              {"coefficients", std::move(coefs)}};
  if (!spec.offset.empty()) out["offset"] = spec.offset;
  if (!spec.weights.empty()) out["weights"] = spec.weights;
  return out;
}

class GlmAnalysis final : public Analysis {
 public:
  std::string_view type() const override { return "glm"; }
  std::string_view description() const override {
    return "generalised linear model (gaussian, binomial, poisson) by federated IRLS, equal to "
           "R's glm on the pooled data";
  }

  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const json& j,
                                                  std::string_view path) const override {
    auto spec = std::make_unique<GlmSpec>();
    RETURN_IF_ERROR(ParseCommonFields(
        j, path, {"id", "type", "family", "formula", "offset", "weights", "max_iter", "epsilon"},
        *spec));
    ASSIGN_OR_RETURN(spec->family, protocol::GetString(j, "family", path));
    if (!stats::ParseGlmFamily(spec->family).ok()) {
      return Status::InvalidArgument(
          fmt::format("{}.family: \"{}\" is not one of gaussian, binomial, poisson", path,
                      spec->family.substr(0, 32)));
    }
    ASSIGN_OR_RETURN(spec->formula, protocol::GetString(j, "formula", path));
    if (spec->formula.size() > 2000) {
      return Status::InvalidArgument(fmt::format("{}.formula: longer than 2000 characters", path));
    }
    auto f = stats::ParseFormula(spec->formula);
    if (!f.ok()) {
      return Status::InvalidArgument(fmt::format("{}.formula: {}", path, f.status().message()));
    }
    if (f->response_kind != stats::ResponseKind::kVariable) {
      return Status::InvalidArgument(
          fmt::format("{}.formula: a glm needs one response column on the left of ~", path));
    }
    for (auto [key, target] : {std::pair{"offset", &spec->offset}, {"weights", &spec->weights}}) {
      ASSIGN_OR_RETURN(auto v, protocol::GetOptionalString(j, key, path));
      if (v) {
        RETURN_IF_ERROR(ValidateVariableName(*v, protocol::JsonPath(path, key)));
        *target = *v;
      }
    }
    ASSIGN_OR_RETURN(auto max_iter, protocol::GetOptionalInt(j, "max_iter", path));
    if (max_iter) {
      if (*max_iter < 1 || *max_iter > 1000) {
        return Status::InvalidArgument(fmt::format("{}.max_iter: must lie in 1..1000", path));
      }
      spec->max_iter = static_cast<int>(*max_iter);
    }
    ASSIGN_OR_RETURN(auto eps, protocol::GetOptionalDouble(j, "epsilon", path));
    if (eps) {
      if (!(*eps > 0 && *eps < 1)) {
        return Status::InvalidArgument(fmt::format("{}.epsilon: must lie in (0, 1)", path));
      }
      spec->epsilon = *eps;
    }
    return std::unique_ptr<AnalysisSpec>(std::move(spec));
  }

  Result<RoundInput> Begin(const AnalysisSpec&, json& state) const override {
    const std::string fit = model::NewFitId();
    state = {{"phase", "schema"}, {"fit", fit}};
    RoundInput in;
    in.params = {{"phase", "schema"}};
    return in;
  }

  Result<size_t> ShareLength(const AnalysisSpec&, int, const RoundInput& input) const override {
    if (Phase(input) == "schema") return size_t{0};
    auto it = input.params.find("request");
    if (it == input.params.end()) return Status::InvalidArgument("glm: round input lacks request");
    ASSIGN_OR_RETURN(auto req, model::GlmRequestFromJson(*it));
    return stats::GlmResponseSize(req.columns.size());
  }

  Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec_base, int,
                              const RoundInput& input, const Thresholds& t) const override {
    const auto& spec = static_cast<const GlmSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    NodeShare share;
    const std::string phase = Phase(input);
    if (phase == "schema") {
      ASSIGN_OR_RETURN(share.meta, model::DescribeNode(data, ms, t.min_rows, t.max_levels));
      return share;
    }
    if (phase != "fit") return Status::InvalidArgument("glm: unknown phase in round input");
    ASSIGN_OR_RETURN(stats::GlmOptions options, spec.Options());
    ASSIGN_OR_RETURN(auto request,
                     model::GlmRequestFromJson(input.params.value("request", json())));
    ASSIGN_OR_RETURN(std::shared_ptr<const stats::Design> design,
                     GetDesign(data, ms, spec.ToJson().dump(), input));
    ASSIGN_OR_RETURN(share.values, stats::GlmLocalStep(*design, options.family, request));
    return share;
  }

  Status Disclose(const AnalysisSpec& spec_base, int, const RoundInput& input, const Thresholds& t,
                  NodeShare& share) const override {
    const auto& spec = static_cast<const GlmSpec&>(spec_base);
    if (Phase(input) == "schema") return Status::Ok();  // checked in LocalStep (needs the rows)
    namespace slot = stats::glm_slot;
    if (share.values.size() < slot::kHeader) return Status::Internal("glm: short share");
    const double rows = share.values[slot::kRows];
    ASSIGN_OR_RETURN(auto request,
                     model::GlmRequestFromJson(input.params.value("request", json())));
    const double p =
        std::max(static_cast<double>(request.columns.size()), input.params.value("p", 0.0));
    if (rows < static_cast<double>(t.min_rows)) {
      return RefuseByRule("min_rows", fmt::format("fewer complete rows than min_rows ({}); "
                                                  "nothing is released",
                                                  t.min_rows));
    }
    if (p >= rows) {
      return RefuseByRule("saturated",
                          "the model has as many parameters as complete rows at this node, or "
                          "more (a saturated model reproduces the data)");
    }
    if (p > t.glm_max_params_ratio * rows) {
      return RefuseByRule(
          "glm_max_params_ratio",
          fmt::format("the model has more parameters than glm_max_params_ratio ({}) x the "
                      "complete rows at this node",
                      t.glm_max_params_ratio));
    }
    if (spec.family == "binomial") {
      const double successes = share.values[slot::kSumWY];
      const double failures = share.values[slot::kSumW] - successes;
      const auto min_cell = static_cast<double>(t.min_cell);
      if (successes < min_cell || failures < min_cell) {
        return RefuseByRule("binomial_min_cell",
                            fmt::format("an outcome class has fewer than min_cell ({}) rows at "
                                        "this node",
                                        t.min_cell));
      }
    }
    return Status::Ok();
  }

  Result<CombineOutcome> Combine(const AnalysisSpec& spec_base, int, const RoundInput& input,
                                 const std::vector<double>& sum, const std::vector<json>& metas,
                                 json& state) const override {
    const auto& spec = static_cast<const GlmSpec&>(spec_base);
    ASSIGN_OR_RETURN(stats::ModelSpec ms, spec.Model());
    ASSIGN_OR_RETURN(stats::GlmOptions options, spec.Options());
    const std::string fit = state.value("fit", "");
    CombineOutcome out;
    if (Phase(input) == "schema") {
      ASSIGN_OR_RETURN(stats::DataSchema agreed, model::MergeNodeSchemas(metas));
      ASSIGN_OR_RETURN(stats::ModelLayout layout, stats::LayoutModel(ms, agreed));
      const bool has_offset = !ms.offset.empty() || !ms.formula.offsets.empty();
      ASSIGN_OR_RETURN(stats::GlmState s, stats::GlmBegin(options, layout.column_names(),
                                                          layout.has_intercept, has_offset));
      json schema = model::SchemaToJson(agreed);
      state = {{"phase", "fit"},
               {"fit", fit},
               {"schema", schema},
               {"p", layout.columns.size()},
               {"glm", model::GlmStateToJson(s)}};
      out.next = RoundInput{FitParams(fit, schema, layout.columns.size(), s.request), {}};
      return out;
    }
    ASSIGN_OR_RETURN(stats::GlmState s, model::GlmStateFromJson(state.value("glm", json())));
    if (sum.size() != stats::GlmResponseSize(s.request.columns.size())) {
      return Status::Internal("glm: sum of the wrong length");
    }
    RETURN_IF_ERROR(stats::GlmCombine(s, sum));
    state["glm"] = model::GlmStateToJson(s);
    if (!s.done()) {
      out.next =
          RoundInput{FitParams(fit, state["schema"], state.value("p", size_t{0}), s.request), {}};
      return out;
    }
    ASSIGN_OR_RETURN(stats::GlmResult result, stats::GlmFinish(s));
    out.result = ResultJson(spec, result);
    return out;
  }

 private:
  // The node's design matrix for this fit: built on the first fit round, then kept.
  static Result<std::shared_ptr<const stats::Design>> GetDesign(AnalysisTable& data,
                                                                const stats::ModelSpec& ms,
                                                                const std::string& spec_json,
                                                                const RoundInput& input) {
    return model::CachedFitData<stats::Design>(
        "glm", data, ms, spec_json, input,
        [](const stats::ModelLayout& layout, stats::DataFrame&& frame) {
          return stats::BuildDesign(layout, std::move(frame));
        });
  }
};

}  // namespace

std::unique_ptr<Analysis> MakeGlmAnalysis() { return std::make_unique<GlmAnalysis>(); }

}  // namespace passerelle::analysis
