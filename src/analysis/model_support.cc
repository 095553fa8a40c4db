#include "analysis/model_support.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

#include "analysis/analysis.h"
#include "common/random.h"

namespace passerelle::analysis::model {
namespace {

using nlohmann::json;

json Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  return v;
}

double ToDouble(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Inf") return std::numeric_limits<double>::infinity();
    if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  }
  throw json::type_error::create(302, "expected a number", &j);
}

// One field list serves both directions: an Encoder writes each field, a Decoder reads it.
struct Encoder {
  json& j;
  void operator()(const char* k, const double& v) { j[k] = Num(v); }
  void operator()(const char* k, const int& v) { j[k] = v; }
  void operator()(const char* k, const bool& v) { j[k] = v; }
  void operator()(const char* k, const std::string& v) { j[k] = v; }
  void operator()(const char* k, const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(Num(x));
    j[k] = std::move(a);
  }
  void operator()(const char* k, const std::vector<int>& v) { j[k] = v; }
  void operator()(const char* k, const std::vector<uint8_t>& v) { j[k] = v; }
  void operator()(const char* k, const std::vector<std::string>& v) { j[k] = v; }
};

struct Decoder {
  const json& j;
  const json& At(const char* k) { return j.at(k); }
  void operator()(const char* k, double& v) { v = ToDouble(At(k)); }
  void operator()(const char* k, int& v) { v = At(k).get<int>(); }
  void operator()(const char* k, bool& v) { v = At(k).get<bool>(); }
  void operator()(const char* k, std::string& v) { v = At(k).get<std::string>(); }
  void operator()(const char* k, std::vector<double>& v) {
    const json& a = At(k);
    if (!a.is_array()) throw json::type_error::create(302, "expected an array", &a);
    v.clear();
    v.reserve(a.size());
    for (const auto& x : a) v.push_back(ToDouble(x));
  }
  void operator()(const char* k, std::vector<int>& v) { v = At(k).get<std::vector<int>>(); }
  void operator()(const char* k, std::vector<uint8_t>& v) { v = At(k).get<std::vector<uint8_t>>(); }
  void operator()(const char* k, std::vector<std::string>& v) {
    v = At(k).get<std::vector<std::string>>();
  }
};

template <class V, class R>
void GlmRequestFields(V&& v, R& r) {
  int null_mode = static_cast<int>(r.null_mode);
  v("start", r.start);
  v("start_beta", r.start_beta);
  v("columns", r.columns);
  v("beta", r.beta);
  v("null_mode", null_mode);
  v("null_mu", r.null_mu);
  if constexpr (!std::is_const_v<R>) {
    if (null_mode < 0 || null_mode > 2) throw json::other_error::create(501, "null_mode", nullptr);
    r.null_mode = static_cast<stats::GlmRequest::NullDeviance>(null_mode);
  }
}

template <class V, class S>
void GlmStateFields(V&& v, S& s) {
  int family = static_cast<int>(s.options.family);
  int phase = static_cast<int>(s.phase);
  v("family", family);
  v("epsilon", s.options.epsilon);
  v("max_iterations", s.options.max_iterations);
  v("alias_tolerance", s.options.alias_tolerance);
  v("conf_level", s.options.conf_level);
  v("column_names", s.column_names);
  v("has_intercept", s.has_intercept);
  v("has_offset", s.has_offset);
  v("phase", phase);
  v("rounds", s.rounds);
  v("iteration", s.iteration);
  v("beta_old", s.beta_old);
  v("have_old", s.have_old);
  v("deviance_old", s.deviance_old);
  v("halvings", s.halvings);
  v("boundary", s.boundary);
  v("cov_unscaled", s.cov_unscaled);
  v("aliased", s.aliased);
  v("rank", s.rank);
  v("rows", s.rows);
  v("rows_ok", s.rows_ok);
  v("sum_w", s.sum_w);
  v("sum_wy", s.sum_wy);
  v("loglik_const", s.loglik_const);
  v("non_integer", s.non_integer);
  v("beta", s.beta);
  v("deviance", s.deviance);
  v("loglik", s.loglik);
  v("boundary_rows", s.boundary_rows);
  v("iterations", s.iterations);
  v("converged", s.converged);
  v("main_cov_unscaled", s.main_cov_unscaled);
  v("main_aliased", s.main_aliased);
  v("main_rank", s.main_rank);
  v("main_boundary", s.main_boundary);
  v("null_deviance", s.null_deviance);
  v("have_null_deviance", s.have_null_deviance);
  v("null_converged", s.null_converged);
  v("warnings", s.warnings);
  if constexpr (!std::is_const_v<S>) {
    if (family < 0 || family > 2 || phase < 0 || phase > 2) {
      throw json::other_error::create(501, "family or phase out of range", nullptr);
    }
    s.options.family = static_cast<stats::GlmFamily>(family);
    s.phase = static_cast<stats::GlmState::Phase>(phase);
  }
}

template <class V, class S>
void CoxStateFields(V&& v, S& s) {
  int ties = static_cast<int>(s.options.ties);
  v("ties", ties);
  v("epsilon", s.options.epsilon);
  v("max_iterations", s.options.max_iterations);
  v("toler_chol", s.options.toler_chol);
  v("toler_inf", s.options.toler_inf);
  v("conf_level", s.options.conf_level);
  v("column_names", s.column_names);
  v("rounds", s.rounds);
  v("iteration", s.iteration);
  v("halving", s.halving);
  v("rank", s.rank);
  v("finished", s.finished);
  v("converged", s.converged);
  v("loglik0", s.loglik0);
  v("loglik_best", s.loglik_best);
  v("score_test", s.score_test);
  v("rows", s.rows);
  v("events", s.events);
  v("beta_old", s.beta_old);
  v("scale", s.scale);
  v("best_beta", s.best_beta);
  v("best_info", s.best_info);
  v("best_gradient", s.best_gradient);
  v("beta", s.beta);
  v("loglik", s.loglik);
  v("info", s.info);
  v("gradient", s.gradient);
  v("warnings", s.warnings);
  if constexpr (!std::is_const_v<S>) {
    if (ties < 0 || ties > 1) throw json::other_error::create(501, "ties out of range", nullptr);
    s.options.ties = static_cast<stats::CoxTies>(ties);
  }
}

template <class T, class F>
Result<T> Decode(const json& j, std::string_view what, F&& fields) {
  T out;
  try {
    if (!j.is_object()) return Status::InvalidArgument(fmt::format("{}: not an object", what));
    fields(Decoder{j}, out);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: malformed ({})", what, e.what()));
  }
  return out;
}

}  // namespace

Result<stats::DataFrame> ReadFrame(AnalysisTable& table, const std::vector<std::string>& columns,
                                   bool complete_cases) {
  std::vector<std::string> distinct;
  std::set<std::string> seen;
  for (const auto& c : columns) {
    if (seen.insert(c).second) distinct.push_back(c);
  }
  for (const auto& c : distinct) RETURN_IF_ERROR(table.FindVariable(c).status());
  ASSIGN_OR_RETURN(auto data, table.ReadColumns(distinct, {.complete_cases = complete_cases,
                                                           .release_store_cache = true}));
  stats::DataFrame frame;
  for (auto& c : data) {
    if (c.is_text) {
      RETURN_IF_ERROR(frame.AddColumn(
          stats::DataColumn::String(c.name, std::move(c.texts), std::move(c.missing))));
    } else {
      RETURN_IF_ERROR(frame.AddColumn(stats::DataColumn::Numeric(c.name, std::move(c.numbers))));
    }
  }
  return frame;
}

std::vector<std::string> ModelColumns(const stats::ModelSpec& spec) {
  std::vector<std::string> cols = spec.formula.columns;
  if (!spec.weights.empty()) cols.push_back(spec.weights);
  if (!spec.offset.empty()) cols.push_back(spec.offset);
  for (const auto& c : spec.extra_columns) cols.push_back(c);
  return cols;
}

Result<json> DescribeNode(AnalysisTable& table, const stats::ModelSpec& spec, int64_t min_rows,
                          int64_t max_levels) {
  // A model of numeric columns only has nothing to describe but the column kinds: no row is read
  // (min_rows is checked again on the complete rows of every fit round, before anything leaves).
  ASSIGN_OR_RETURN(auto variables, table.Variables());
  bool numeric_only = !NeedsIncompleteRows(spec) && !spec.all_factors;
  const std::vector<std::string> columns = ModelColumns(spec);
  for (const auto& c : columns) {
    auto it = std::find_if(variables.begin(), variables.end(),
                           [&](const VariableInfo& v) { return v.name == c; });
    if (it == variables.end()) {
      return Status::NotFound(fmt::format("variable \"{}\" is not in the dataset", c));
    }
    if (it->kind != VariableKind::kNumeric) numeric_only = false;
  }
  if (numeric_only) {
    stats::DataFrame empty;
    std::set<std::string> seen;
    for (const auto& c : columns) {
      if (seen.insert(c).second) {
        RETURN_IF_ERROR(empty.AddColumn(stats::DataColumn::Numeric(c, {})));
      }
    }
    ASSIGN_OR_RETURN(stats::DataSchema schema, stats::DescribeData(spec, empty));
    return json{{"schema", SchemaToJson(schema)}};
  }
  ASSIGN_OR_RETURN(stats::DataFrame frame, ReadFrame(table, columns, !NeedsIncompleteRows(spec)));
  ASSIGN_OR_RETURN(std::vector<uint8_t> complete, stats::CompleteCases(spec, frame));
  int64_t rows = 0;
  for (uint8_t c : complete) rows += c;
  if (rows < min_rows) {
    return RefuseByRule("min_rows", fmt::format("fewer complete rows over the model's variables "
                                                "than min_rows ({}); nothing is released",
                                                min_rows));
  }
  ASSIGN_OR_RETURN(stats::DataSchema schema, stats::DescribeData(spec, frame));
  for (const auto& v : schema.variables) {
    const size_t levels = v.is_string ? v.string_levels.size() : v.numeric_levels.size();
    if (static_cast<int64_t>(levels) > max_levels) {
      return RefuseByRule("max_levels",
                          fmt::format("factor \"{}\" has more than {} distinct values (max_levels)",
                                      v.column, max_levels));
    }
  }
  return json{{"schema", SchemaToJson(schema)}};
}

Result<stats::DataSchema> MergeNodeSchemas(const std::vector<json>& metas) {
  std::vector<stats::DataSchema> schemas;
  for (const auto& m : metas) {
    if (!m.is_object() || !m.contains("schema")) {
      return Status::InvalidArgument("a node's schema meta lacks \"schema\"");
    }
    ASSIGN_OR_RETURN(auto s, SchemaFromJson(m["schema"]));
    schemas.push_back(std::move(s));
  }
  return stats::MergeSchemas(schemas);
}

bool NeedsIncompleteRows(const stats::ModelSpec& spec) {
  if (spec.all_factors) return false;
  const auto& f = spec.formula;
  if (f.response_kind == stats::ResponseKind::kVariable && f.response.as_factor) return true;
  return std::any_of(f.variables.begin(), f.variables.end(),
                     [](const stats::FormulaVariable& v) { return v.as_factor; });
}

json SchemaToJson(const stats::DataSchema& schema) {
  json vars = json::array();
  for (const auto& v : schema.variables) {
    json e = {{"column", v.column}, {"as_factor", v.as_factor}, {"is_string", v.is_string}};
    if (v.as_factor && v.is_string) e["levels"] = v.string_levels;
    if (v.as_factor && !v.is_string) {
      json a = json::array();
      for (double x : v.numeric_levels) a.push_back(Num(x));
      e["levels"] = std::move(a);
    }
    vars.push_back(std::move(e));
  }
  return {{"variables", std::move(vars)}};
}

Result<stats::DataSchema> SchemaFromJson(const json& j) {
  stats::DataSchema out;
  try {
    for (const auto& e : j.at("variables")) {
      stats::VariableInfo v;
      v.column = e.at("column").get<std::string>();
      v.as_factor = e.at("as_factor").get<bool>();
      v.is_string = e.at("is_string").get<bool>();
      if (v.as_factor) {
        for (const auto& l : e.at("levels")) {
          if (v.is_string) {
            v.string_levels.push_back(l.get<std::string>());
          } else {
            v.numeric_levels.push_back(ToDouble(l));
          }
        }
      }
      out.variables.push_back(std::move(v));
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(fmt::format("model schema: malformed ({})", e.what()));
  }
  return out;
}

json GlmRequestToJson(const stats::GlmRequest& r) {
  json j = json::object();
  GlmRequestFields(Encoder{j}, r);
  return j;
}

Result<stats::GlmRequest> GlmRequestFromJson(const json& j) {
  return Decode<stats::GlmRequest>(j, "glm request",
                                   [](Decoder d, stats::GlmRequest& r) { GlmRequestFields(d, r); });
}

json GlmStateToJson(const stats::GlmState& s) {
  json j = json::object();
  GlmStateFields(Encoder{j}, s);
  j["request"] = GlmRequestToJson(s.request);
  return j;
}

Result<stats::GlmState> GlmStateFromJson(const json& j) {
  ASSIGN_OR_RETURN(stats::GlmState s,
                   Decode<stats::GlmState>(j, "glm state", [](Decoder d, stats::GlmState& s) {
                     GlmStateFields(d, s);
                   }));
  if (!j.contains("request")) return Status::InvalidArgument("glm state: no request");
  ASSIGN_OR_RETURN(s.request, GlmRequestFromJson(j["request"]));
  return s;
}

json CoxRequestToJson(const stats::CoxRequest& r) {
  json j = json::object();
  Encoder{j}("beta", r.beta);
  j["ties"] = static_cast<int>(r.ties);
  return j;
}

Result<stats::CoxRequest> CoxRequestFromJson(const json& j) {
  return Decode<stats::CoxRequest>(j, "cox request", [](Decoder d, stats::CoxRequest& r) {
    int ties = 0;
    d("beta", r.beta);
    d("ties", ties);
    if (ties < 0 || ties > 1) throw json::other_error::create(501, "ties out of range", nullptr);
    r.ties = static_cast<stats::CoxTies>(ties);
  });
}

json CoxStateToJson(const stats::CoxState& s) {
  json j = json::object();
  CoxStateFields(Encoder{j}, s);
  j["request"] = CoxRequestToJson(s.request);
  return j;
}

Result<stats::CoxState> CoxStateFromJson(const json& j) {
  ASSIGN_OR_RETURN(stats::CoxState s,
                   Decode<stats::CoxState>(j, "cox state", [](Decoder d, stats::CoxState& s) {
                     CoxStateFields(d, s);
                   }));
  if (!j.contains("request")) return Status::InvalidArgument("cox state: no request");
  ASSIGN_OR_RETURN(s.request, CoxRequestFromJson(j["request"]));
  return s;
}

json ResultNumber(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string NewFitId() {
  SystemRandom random;
  return fmt::format("{:016x}", random.NextU64());
}

FitCache& FitCache::Instance() {
  static FitCache* cache = new FitCache();
  return *cache;
}

std::shared_ptr<const void> FitCache::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first == key) {
      auto entry = std::move(entries_[i]);
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      entries_.push_back(std::move(entry));
      return entries_.back().second;
    }
  }
  return nullptr;
}

void FitCache::Put(const std::string& key, std::shared_ptr<const void> value) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(entries_, [&](const auto& e) { return e.first == key; });
  if (entries_.size() >= kCapacity) entries_.erase(entries_.begin());
  entries_.emplace_back(key, std::move(value));
}

std::string FitCacheKey(std::string_view kind, AnalysisTable& data, const std::string& spec_json,
                        const RoundInput& input) {
  const std::string table_key = data.CacheKey();
  if (table_key.empty()) return std::string();
  return fmt::format(
      "{}|{}|{}|{:x}", kind, input.params.value("fit", ""), table_key,
      std::hash<std::string>()(spec_json + input.params.value("schema", nlohmann::json()).dump()));
}

}  // namespace passerelle::analysis::model
