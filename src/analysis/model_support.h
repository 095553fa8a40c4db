// Shared plumbing of the model analyses (glm, cox, km) over src/stats: reading a node's columns
// into a stats::DataFrame, the JSON forms of the stats wire and hub-state structs, and a small
// node-side cache of what a fit builds once (design matrix, sorted Cox data) between its rounds.
//
// JSON numbers: a non-finite double is written as the string "NaN", "Inf" or "-Inf" (JSON has no
// such numbers and nlohmann would write null), so that states and requests round-trip exactly.
//
// Thread-safety: the codec functions are pure; the FitCache is internally synchronised.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "analysis/analysis_table.h"
#include "common/status.h"
#include "stats/cox.h"
#include "stats/data_frame.h"
#include "stats/design.h"
#include "stats/glm.h"

namespace passerelle::analysis::model {

// Reads `columns` (duplicates allowed, read once) of `table` into a DataFrame.
Result<stats::DataFrame> ReadFrame(AnalysisTable& table, const std::vector<std::string>& columns,
                                   bool complete_cases);

// Every column a model reads: the formula's, the weights, the offset, the extra columns.
std::vector<std::string> ModelColumns(const stats::ModelSpec& spec);

// Node side of the schema round of a model: reads the model's columns, refuses (min_rows) when
// fewer than `min_rows` complete rows, (max_levels) when a factor has more than `max_levels`
// levels, and returns the node's schema as JSON (sets of levels only, no counts).
Result<nlohmann::json> DescribeNode(AnalysisTable& table, const stats::ModelSpec& spec,
                                    int64_t min_rows, int64_t max_levels);

// Hub side: the union of the nodes' schemas (each meta's "schema").
Result<stats::DataSchema> MergeNodeSchemas(const std::vector<nlohmann::json>& metas);

// True when the spec has a factor(x) term: then R takes x's levels from every row where x is
// present, so the node must read the incomplete rows too.
bool NeedsIncompleteRows(const stats::ModelSpec& spec);

nlohmann::json SchemaToJson(const stats::DataSchema& schema);
Result<stats::DataSchema> SchemaFromJson(const nlohmann::json& j);

nlohmann::json GlmRequestToJson(const stats::GlmRequest& r);
Result<stats::GlmRequest> GlmRequestFromJson(const nlohmann::json& j);
nlohmann::json GlmStateToJson(const stats::GlmState& s);
Result<stats::GlmState> GlmStateFromJson(const nlohmann::json& j);

nlohmann::json CoxRequestToJson(const stats::CoxRequest& r);
Result<stats::CoxRequest> CoxRequestFromJson(const nlohmann::json& j);
nlohmann::json CoxStateToJson(const stats::CoxState& s);
Result<stats::CoxState> CoxStateFromJson(const nlohmann::json& j);

// A double for a result: a number, or null when not finite (R's NA/Inf have no JSON form).
nlohmann::json ResultNumber(double v);

// A 64-bit random fit identifier (hex) that names one fit in the node caches. Not secret.
std::string NewFitId();

// What a node built for one fit, kept between rounds. Keyed by the fit id the hub chose and the
// table's CacheKey(), so that nodes in one process (sandbox) and successive studies never share
// an entry. Holds at most `kCapacity` entries, the least recently used leaves first.
class FitCache {
 public:
  static constexpr size_t kCapacity = 4;
  static FitCache& Instance();

  std::shared_ptr<const void> Find(const std::string& key);
  void Put(const std::string& key, std::shared_ptr<const void> value);

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::shared_ptr<const void>>> entries_;  // most recent last
};

// The FitCache key of `kind`'s data for one fit ("" when the table has no CacheKey: no caching).
std::string FitCacheKey(std::string_view kind, AnalysisTable& data, const std::string& spec_json,
                        const RoundInput& input);

// What a model builds once per fit at a node (a design matrix, sorted Cox data): found in the
// FitCache, or built by `build` from the table's columns under the fit's schema and kept.
template <typename T>
Result<std::shared_ptr<const T>> CachedFitData(
    std::string_view kind, AnalysisTable& data, const stats::ModelSpec& ms,
    const std::string& spec_json, const RoundInput& input,
    const std::function<Result<T>(const stats::ModelLayout&, stats::DataFrame&&)>& build) {
  const std::string key = FitCacheKey(kind, data, spec_json, input);
  if (!key.empty()) {
    if (auto hit = FitCache::Instance().Find(key)) return std::static_pointer_cast<const T>(hit);
  }
  ASSIGN_OR_RETURN(stats::DataSchema schema,
                   SchemaFromJson(input.params.value("schema", nlohmann::json())));
  ASSIGN_OR_RETURN(stats::ModelLayout layout, stats::LayoutModel(ms, schema));
  auto built = std::make_shared<T>();
  {
    // The frame is consumed by `build` (its columns are freed as the data is built).
    ASSIGN_OR_RETURN(stats::DataFrame frame,
                     ReadFrame(data, ModelColumns(ms), !NeedsIncompleteRows(ms)));
    ASSIGN_OR_RETURN(*built, build(layout, std::move(frame)));
  }
  if (!key.empty()) FitCache::Instance().Put(key, built);
  return std::shared_ptr<const T>(std::move(built));
}

}  // namespace passerelle::analysis::model
