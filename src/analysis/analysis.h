// The analysis registry: the front door of src/analysis.
//
// Every analysis is a sequence of sums (ARCHITECTURE.md). An analysis runs in rounds; in round r
//
//   hub   sends RoundInput(r) to every node                      (Begin / previous Combine)
//   node  share_k = LocalStep(table_k, spec, r, input)           (its data never leaves)
//         Disclose(spec, r, input, thresholds, share_k)          (before anything leaves)
//   hub   Combine(spec, r, input, Σ_k share_k.values, metas, state)
//           -> the next round's input, or the final result (JSON)
//
// An Analysis implements those functions and is registered in a Registry; the registry is the
// whitelist of what nodes run: no other code reaches the data. The hub sees only the sum of the
// numeric shares (secure aggregation will make that literal); `meta` travels beside the sum, in
// clear, and must be non-disclosive by construction (e.g. the set of factor levels a node has).
//
// Contracts an implementation keeps:
//   - ShareLength(spec, r, input) is the exact length of every node's share in round r; the hub
//     refuses a share of another length, so the sum is always well defined.
//   - Disclose never makes a share more revealing; it suppresses (sets values to 0 and raises a
//     suppression flag that is itself part of the summed vector, so the hub learns how many nodes
//     suppressed what, and the result can say why a value is null) or refuses the whole task with
//     RefuseByRule (then nothing is released).
//   - Combine is deterministic: the same sum, metas and state give the same output, so a hub that
//     restarts mid-study and combines again produces the same result.
//   - State is JSON so that the hub can persist it between rounds (multi-round analyses: GLM by
//     IRLS, Cox by Newton, with a first "schema" round that agrees factor levels).
//
// Thread-safety: Analysis objects are stateless and const; a Registry is immutable once built and
// may be shared by threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis_table.h"
#include "common/status.h"

namespace passerelle::analysis {

// Disclosure thresholds in force at a node for one task: max(node policy, study request) — a
// study may raise a threshold, never lower it.
struct Thresholds {
  // A count between 1 and min_cell - 1 is not released.
  int64_t min_cell = 10;
  // No statistic computed on fewer rows than this is released.
  int64_t min_rows = 10;
  // A categorical variable with more distinct values than this is refused (node policy only).
  int64_t max_levels = 100;
  // A model (glm, cox) with more parameters than this x its complete rows at a node is refused
  // there (DataSHIELD's nfilter.glm).
  double glm_max_params_ratio = 0.33;
  // Released counts (count, table cells) are rounded to the nearest multiple of this (node
  // policy only; 1: no rounding). With min_cell = 8 and rounding_base = 5, counts of 7 or less
  // are withheld and the others rounded to 5.
  int64_t rounding_base = 1;
};

// What the hub sends to the nodes for one analysis in one round.
struct RoundInput {
  nlohmann::json params = nlohmann::json::object();
  std::vector<double> values;
};

// A node's contribution to one round of one analysis.
struct NodeShare {
  std::vector<double> values;                      // this node's share of the sum
  nlohmann::json meta = nlohmann::json::object();  // non-summed, non-disclosive metadata
};

// A validated analysis of a study. Subclasses add their typed fields.
class AnalysisSpec {
 public:
  virtual ~AnalysisSpec() = default;
  std::string id;
  std::string type;
  // The canonical JSON form (what the hub stores and sends to nodes); ParseSpec(ToJson()) gives
  // an equal spec.
  virtual nlohmann::json ToJson() const = 0;
};

// What Combine decides.
struct CombineOutcome {
  // Set: another round with this input. Unset: the analysis is finished and `result` holds it.
  std::optional<RoundInput> next;
  nlohmann::json result;
};

class Analysis {
 public:
  virtual ~Analysis() = default;

  // The name studies use ("count", "summary", "table").
  virtual std::string_view type() const = 0;
  // One line for `--help` and docs.
  virtual std::string_view description() const = 0;

  // (a) Study JSON (one element of "analyses") -> typed spec. `path` names the element in errors
  // ("study.analyses[2]"). Unknown keys and wrong types are errors.
  virtual Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const nlohmann::json& j,
                                                          std::string_view path) const = 0;

  // Hub: the first round's input (default: empty) and initial state (default: {}).
  virtual Result<RoundInput> Begin(const AnalysisSpec& spec, nlohmann::json& state) const;

  // Hub: the exact length of each node's share in `round`.
  virtual Result<size_t> ShareLength(const AnalysisSpec& spec, int round,
                                     const RoundInput& input) const = 0;

  // (b) Node: computes this node's share of the round's sum on its own data.
  virtual Result<NodeShare> LocalStep(AnalysisTable& data, const AnalysisSpec& spec, int round,
                                      const RoundInput& input,
                                      const Thresholds& thresholds) const = 0;

  // (c) Node: the disclosure rule, applied to the share before it leaves.
  virtual Status Disclose(const AnalysisSpec& spec, int round, const RoundInput& input,
                          const Thresholds& thresholds, NodeShare& share) const = 0;

  // (d) Hub: combines the sum of the shares (and the nodes' metas, in node-id order).
  virtual Result<CombineOutcome> Combine(const AnalysisSpec& spec, int round,
                                         const RoundInput& input, const std::vector<double>& sum,
                                         const std::vector<nlohmann::json>& metas,
                                         nlohmann::json& state) const = 0;
};

// A refusal by a disclosure or policy rule: kPermissionDenied with message
// "refused by rule <rule>: <why>". RefusalRule recovers the rule ("" when not a refusal).
Status RefuseByRule(std::string_view rule, std::string_view why);
std::string RefusalRule(const Status& status);

class Registry {
 public:
  // Fails when the type is already registered.
  Status Register(std::unique_ptr<Analysis> analysis);
  const Analysis* Find(std::string_view type) const;
  std::vector<std::string> Types() const;

  // Finds the analysis named by j["type"] and parses its spec. An unknown type is an error that
  // lists the known ones.
  Result<std::unique_ptr<AnalysisSpec>> ParseSpec(const nlohmann::json& j,
                                                  std::string_view path) const;

 private:
  std::map<std::string, std::unique_ptr<Analysis>, std::less<>> analyses_;
};

// The registry of the built-in analyses: count, summary, table, glm, cox, km.
std::unique_ptr<Registry> MakeBuiltinRegistry();
const Registry& BuiltinRegistry();

// Node side: LocalStep then Disclose, and a check that the share has the announced length. The
// only path from data to a share that leaves the node.
Result<NodeShare> ComputeShare(const Analysis& analysis, AnalysisTable& data,
                               const AnalysisSpec& spec, int round, const RoundInput& input,
                               const Thresholds& thresholds);

// Helpers for implementations.
// A count rounded to the nearest multiple of `base` (half away from zero; base <= 1: unchanged),
// the node policy's rounding_base (privacy::RoundToBase).
double RoundCount(double count, int64_t base);
// Reads "id" and "type" and checks the keys of `j` against `known` (which must list "id" and
// "type").
Status ParseCommonFields(const nlohmann::json& j, std::string_view path,
                         std::initializer_list<std::string_view> known, AnalysisSpec& spec);

}  // namespace passerelle::analysis
