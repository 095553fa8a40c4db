// glm, cox and km analyses driven in process (as the hub and nodes drive them, with the hub state
// going through JSON text between rounds): specs, disclosure refusals, state round trips.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "analysis/model_support.h"
#include "common/random.h"

namespace passerelle::analysis {
namespace {

using nlohmann::json;

// Runs an analysis to the end over `tables` as the federation does; the state is dumped and
// parsed between rounds as the hub persists it.
Result<json> Drive(const json& spec_json, std::vector<MemoryTable>& tables,
                   const Thresholds& t = {}) {
  const Registry& reg = BuiltinRegistry();
  ASSIGN_OR_RETURN(auto spec, reg.ParseSpec(spec_json, "test"));
  const Analysis* a = reg.Find(spec->type);
  json state;
  ASSIGN_OR_RETURN(RoundInput input, a->Begin(*spec, state));
  for (int round = 0; round < 100; ++round) {
    std::vector<double> sum;
    std::vector<json> metas;
    for (auto& table : tables) {
      RoundInput wire{json::parse(input.params.dump()), input.values};
      ASSIGN_OR_RETURN(NodeShare share, ComputeShare(*a, table, *spec, round, wire, t));
      if (sum.empty()) sum.assign(share.values.size(), 0.0);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += share.values[i];
      metas.push_back(json::parse(share.meta.dump()));
    }
    state = json::parse(state.dump());
    ASSIGN_OR_RETURN(CombineOutcome out, a->Combine(*spec, round, input, sum, metas, state));
    if (!out.next) return out.result;
    input = *out.next;
  }
  return Status::Internal("too many rounds");
}

// y = 1 + 2 x + noise, a 3-level text factor g, a binary outcome b.
MemoryTable Synthetic(size_t n, uint64_t seed, size_t g_levels = 3, double p_b = 0.4) {
  Xoshiro256 rng(seed);
  MemoryTable::NumericColumn x, y, b, t, e;
  MemoryTable::TextColumn g;
  for (size_t i = 0; i < n; ++i) {
    double xi = rng.NextDouble() * 4 - 2;
    x.push_back(xi);
    y.push_back(1 + 2 * xi + (rng.NextDouble() - 0.5));
    b.push_back(rng.NextDouble() < p_b ? 1.0 : 0.0);
    g.push_back(std::string(1, static_cast<char>('a' + i % g_levels)));
    t.push_back(1 + std::floor(rng.NextDouble() * 20));
    e.push_back(rng.NextDouble() < 0.6 ? 1.0 : 0.0);
  }
  x[n / 2] = std::nullopt;  // a missing value: complete cases
  MemoryTable m;
  m.AddNumeric("x", x);
  m.AddNumeric("y", y);
  m.AddNumeric("b", b);
  m.AddCategorical("g", g);
  m.AddNumeric("t", t);
  m.AddNumeric("e", e);
  return m;
}

json Glm(const std::string& family, const std::string& formula) {
  return {{"id", "m"}, {"type", "glm"}, {"family", family}, {"formula", formula}};
}

TEST(ModelAnalysisTest, GlmRunsThroughJsonStateAndRecoversTheModel) {
  std::vector<MemoryTable> tables = {Synthetic(200, 1), Synthetic(300, 2)};
  auto r = Drive(Glm("gaussian", "y ~ x + g"), tables);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["n"], 498);  // one incomplete row per table
  EXPECT_EQ((*r)["coefficients"][1]["term"], "x");
  EXPECT_NEAR((*r)["coefficients"][1]["estimate"].get<double>(), 2.0, 0.05);
  EXPECT_EQ((*r)["coefficients"][2]["term"], "gb");
  EXPECT_TRUE((*r)["converged"].get<bool>());
}

TEST(ModelAnalysisTest, SpecErrorsNameTheField) {
  const Registry& reg = BuiltinRegistry();
  auto bad_family = reg.ParseSpec(Glm("gamma", "y ~ x"), "study.analyses[0]");
  ASSERT_FALSE(bad_family.ok());
  EXPECT_NE(bad_family.status().message().find("study.analyses[0].family"), std::string::npos);
  auto bad_formula = reg.ParseSpec(Glm("gaussian", "y ~ log(x)"), "a");
  ASSERT_FALSE(bad_formula.ok());
  EXPECT_NE(bad_formula.status().message().find("a.formula"), std::string::npos);
  auto no_response = reg.ParseSpec(Glm("gaussian", "~ x"), "a");
  EXPECT_FALSE(no_response.ok());
  json unknown = Glm("gaussian", "y ~ x");
  unknown["link"] = "probit";
  EXPECT_FALSE(reg.ParseSpec(unknown, "a").ok());
  auto cox_lhs = reg.ParseSpec(
      {{"id", "c"}, {"type", "cox"}, {"time", "t"}, {"event", "e"}, {"formula", "y ~ x"}}, "a");
  EXPECT_FALSE(cox_lhs.ok());
  auto km_times = reg.ParseSpec(
      {{"id", "k"}, {"type", "km"}, {"time", "t"}, {"event", "e"}, {"times", {3, 2}}}, "a");
  EXPECT_FALSE(km_times.ok());
  // Canonical JSON round trip.
  auto spec = reg.ParseSpec(Glm("binomial", "b ~ x*g"), "a");
  ASSERT_TRUE(spec.ok());
  auto again = reg.ParseSpec((*spec)->ToJson(), "a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ToJson(), (*spec)->ToJson());
}

// Each disclosure rule refuses the task at the node, naming the rule (never a count).
std::string RefusedRule(const json& spec, std::vector<MemoryTable> tables, const Thresholds& t) {
  auto r = Drive(spec, tables, t);
  if (r.ok()) return "(not refused)";
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  return RefusalRule(r.status());
}

TEST(ModelAnalysisTest, RefusesFewerRowsThanMinRows) {
  Thresholds t;
  t.min_rows = 50;
  EXPECT_EQ(RefusedRule(Glm("gaussian", "y ~ x"), {Synthetic(40, 3), Synthetic(200, 4)}, t),
            "min_rows");
  EXPECT_EQ(
      RefusedRule({{"id", "c"}, {"type", "cox"}, {"time", "t"}, {"event", "e"}, {"formula", "~ x"}},
                  {Synthetic(40, 3)}, t),
      "min_rows");
  EXPECT_EQ(
      RefusedRule(
          {{"id", "k"}, {"type", "km"}, {"time", "t"}, {"event", "e"}, {"times", {5, 10, 20}}},
          {Synthetic(40, 3)}, t),
      "min_rows");
}

TEST(ModelAnalysisTest, RefusesTooManyParametersForTheRows) {
  // 12 levels -> 12 + 1 parameters on 30 rows: more than 0.33 x 30.
  Thresholds t;
  EXPECT_EQ(RefusedRule(Glm("gaussian", "y ~ x + g"), {Synthetic(30, 5, 12)}, t),
            "glm_max_params_ratio");
  t.glm_max_params_ratio = 0.5;  // 13 <= 0.5 x 30: accepted
  auto tables = std::vector<MemoryTable>{Synthetic(30, 5, 12)};
  EXPECT_TRUE(Drive(Glm("gaussian", "y ~ x + g"), tables, t).ok());
}

TEST(ModelAnalysisTest, RefusesASaturatedModel) {
  // 12 levels + x = 13 parameters on 12 complete rows; a node that allows ratio 1 still refuses.
  Thresholds t;
  t.glm_max_params_ratio = 1.0;
  t.min_rows = 5;
  EXPECT_EQ(RefusedRule(Glm("gaussian", "y ~ x + g"), {Synthetic(13, 6, 12)}, t), "saturated");
}

TEST(ModelAnalysisTest, RefusesABinomialOutcomeClassBelowMinCell) {
  Thresholds t;
  t.min_cell = 10;
  // About 2% successes on 200 rows: fewer than 10.
  EXPECT_EQ(RefusedRule(Glm("binomial", "b ~ x"), {Synthetic(200, 7, 3, 0.02)}, t),
            "binomial_min_cell");
  EXPECT_EQ(RefusedRule(Glm("binomial", "b ~ x"), {Synthetic(200, 7, 3, 0.98)}, t),
            "binomial_min_cell");
}

TEST(ModelAnalysisTest, RefusesAFactorWithMoreLevelsThanMaxLevels) {
  Thresholds t;
  t.max_levels = 5;
  EXPECT_EQ(RefusedRule(Glm("gaussian", "y ~ g"), {Synthetic(200, 8, 12)}, t), "max_levels");
}

TEST(ModelAnalysisTest, SeparationIsReported) {
  MemoryTable m;
  MemoryTable::NumericColumn x, b;
  for (int i = 0; i < 100; ++i) {
    x.push_back(i);
    b.push_back(i < 50 ? 0.0 : 1.0);
  }
  m.AddNumeric("x", x);
  m.AddNumeric("b", b);
  std::vector<MemoryTable> tables = {m};
  auto r = Drive(Glm("binomial", "b ~ x"), tables);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)["separation"].get<bool>());
  ASSERT_FALSE((*r)["warnings"].empty());
  EXPECT_NE((*r)["warnings"].dump().find("separat"), std::string::npos) << (*r)["warnings"];
}

TEST(ModelAnalysisTest, CoxAndKmRun) {
  std::vector<MemoryTable> tables = {Synthetic(300, 9), Synthetic(300, 10)};
  auto c =
      Drive({{"id", "c"}, {"type", "cox"}, {"time", "t"}, {"event", "e"}, {"formula", "~ x + g"}},
            tables);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)["coefficients"].size(), 3u);
  EXPECT_EQ((*c)["n"], 598);
  EXPECT_EQ((*c)["loglik"].size(), 2u);
  EXPECT_TRUE((*c)["converged"].get<bool>());
  Thresholds open;
  open.min_cell = 1;
  auto k = Drive({{"id", "k"},
                  {"type", "km"},
                  {"time", "t"},
                  {"event", "e"},
                  {"group", "g"},
                  {"times", {5, 10, 15, 20}}},
                 tables, open);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ((*k)["group_order"], json({"a", "b", "c"}));
  const json& a = (*k)["groups"]["a"];
  ASSERT_EQ(a["survival"].size(), 4u);
  EXPECT_LE(a["survival"][3].get<double>(), a["survival"][0].get<double>());
  EXPECT_GT(a["n_risk"][0].get<int64_t>(), 150);
}

TEST(ModelAnalysisTest, StatesRoundTripThroughJson) {
  stats::GlmState s;
  s.column_names = {"(Intercept)", "x"};
  s.deviance_old = std::numeric_limits<double>::infinity();
  s.beta = {1.5, std::nan("")};
  s.aliased = {0, 1};
  s.request.columns = {0, 1};
  s.request.beta = {0.25, -3};
  s.request.null_mode = stats::GlmRequest::NullDeviance::kOffsetOnly;
  s.phase = stats::GlmState::Phase::kNull;
  s.warnings = {"w"};
  auto back = model::GlmStateFromJson(json::parse(model::GlmStateToJson(s).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(model::GlmStateToJson(*back), model::GlmStateToJson(s));
  EXPECT_TRUE(std::isinf(back->deviance_old));
  EXPECT_TRUE(std::isnan(back->beta[1]));
  EXPECT_EQ(back->phase, stats::GlmState::Phase::kNull);
  stats::CoxState c;
  c.column_names = {"x"};
  c.best_info = {2.5};
  c.request.ties = stats::CoxTies::kBreslow;
  auto cb = model::CoxStateFromJson(json::parse(model::CoxStateToJson(c).dump()));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(model::CoxStateToJson(*cb), model::CoxStateToJson(c));
  EXPECT_FALSE(model::GlmStateFromJson(json{{"family", "x"}}).ok());
}

}  // namespace
}  // namespace passerelle::analysis
