// Wire messages of protocol v1 and their JSON encodings (docs/protocol.md describes them field
// by field; docs/api/openapi.yaml describes the HTTP API that carries them).
//
//   StudyDefinition  researcher -> hub   POST /v1/studies          (the study file)
//   Task             hub -> node         GET  /v1/tasks/next       (long-poll answer)
//   TaskResult       node -> hub         POST /v1/tasks/{id}/result (with an Idempotency-Key)
//   ErrorBody        any 4xx/5xx         {"error": {"code": ..., "message": ...}}
//
// Every FromJson validates strictly: unknown keys, wrong types, out-of-range numbers and malformed
// vectors are refused with a message naming the field. Numeric vectors travel as base64 of
// little-endian float64 (protocol/codec.h).
//
// Invariants:
//   - a Task has one step per analysis still running in the study; the step's `round` is that
//     analysis's own round (0-based), independent of the study round;
//   - a TaskResult with status "ok" has exactly one share per step of its task, in any order;
//     with "refused" or "error" it has no shares (a refusal releases nothing).
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "protocol/linkage_messages.h"

namespace passerelle::protocol {

// Part of the wire format: bump on an incompatible change.
inline constexpr int kProtocolVersion = 1;

// Limits on what a message may hold (beyond the body-size limit of the transport).
inline constexpr size_t kMaxAnalysesPerStudy = 100;
inline constexpr size_t kMaxNodesPerStudy = 1000;
inline constexpr size_t kMaxVectorValues = 1u << 22;

// Thresholds a study asks for; a node applies max(its policy, the request).
struct DisclosureRequest {
  std::optional<int64_t> min_cell;
  std::optional<int64_t> min_rows;
};

// The thresholds a node actually applied, reported with its result.
struct AppliedThresholds {
  int64_t min_cell = 0;
  int64_t min_rows = 0;
  int64_t rounding_base = 1;  // on the wire only when > 1
};

struct AnalysisRequest {
  std::string id;       // unique in the study: [A-Za-z0-9_.-]{1,64}
  std::string type;     // an analysis of the registry
  nlohmann::json spec;  // the whole analysis object of the study file
};

// An OMOP study's population and features (docs/cohorts.md, "Study files"): the node compiles
// the cohort in its own CDM and builds the analysis table from it. Checked here only as JSON
// (objects and arrays, bounded); the client and the node parse it fully (the hub never reads
// cohorts: it cannot include cohort/).
struct CohortRequest {
  nlohmann::json cohort;                                // a definition or {"atlas": {...}}
  nlohmann::json covariates = nlohmann::json::array();  // [] when absent
  nlohmann::json outcome;                               // null when absent
};

// The dataset name a cohort study runs on: the node's OMOP CDM.
inline constexpr std::string_view kOmopDataset = "omop";

// Secure aggregation of one study round (docs/secure-aggregation.md, docs/protocol.md): the
// phase a task or a result belongs to and the phase's binary message, base64. Absent: the round
// is not securely aggregated.
struct SecaggWire {
  std::string phase;  // "advertise", "share_keys", "masked_input", "unmask"
  // Task only: {"participants": {node: index}, "threshold", "vector_length", "fractional_bits",
  // "max_abs"} (the session's parameters, bound into its id).
  nlohmann::json session = nlohmann::json::object();
  std::string payload;  // base64 of the phase's message; empty in an "advertise" task
};

struct StudyDefinition {
  std::string name;
  std::string description;
  std::string dataset;                  // a flat table present on every node; "omop" with a cohort
  std::optional<CohortRequest> cohort;  // "cohort", "covariates", "outcome" of the study file
  std::optional<std::string> project;   // reserved for governance
  std::vector<std::string> nodes;       // empty: every node of the federation
  DisclosureRequest disclosure;
  std::vector<AnalysisRequest> analyses;
  // {"secure_aggregation": bool, "dp": {...}} (docs/privacy.md); empty: none asked for.
  nlohmann::json privacy = nlohmann::json::object();
  std::optional<LinkageUse> linkage;  // analyses over a completed linkage (linkage_messages.h)

  nlohmann::json ToJson() const;
  static Result<StudyDefinition> FromJson(const nlohmann::json& j);
};

// What the hub sends for one analysis in one round.
struct RoundInputWire {
  nlohmann::json params = nlohmann::json::object();
  std::vector<double> values;
};

struct TaskStep {
  std::string analysis_id;
  std::string type;
  nlohmann::json spec;
  int round = 0;
  RoundInputWire input;
};

struct Task {
  std::string task_id;
  std::string study_id;
  int round = 1;  // study round, 1-based
  std::string node;
  std::string dataset;
  std::optional<CohortRequest> cohort;  // set: build the analysis table from the node's CDM
  std::string project;  // the study's governance project ("" when none; optional on the wire)
  DisclosureRequest disclosure;
  std::vector<TaskStep> steps;
  std::optional<SecaggWire> secagg;                   // set: a secure round (phase + message)
  nlohmann::json privacy = nlohmann::json::object();  // the study's privacy block (+ "project")
  std::optional<LinkageUse> linkage;  // the study's linkage use, carried to the node

  nlohmann::json ToJson() const;
  static Result<Task> FromJson(const nlohmann::json& j);
};

enum class ResultStatus { kOk, kRefused, kError };
std::string_view ResultStatusName(ResultStatus s);

struct Share {
  std::string analysis_id;
  int round = 0;
  std::vector<double> values;                      // the node's share of the sum
  nlohmann::json meta = nlohmann::json::object();  // non-summed, non-disclosive metadata
};

struct TaskResult {
  std::string task_id;
  std::string study_id;
  int round = 1;
  std::string node;
  ResultStatus status = ResultStatus::kOk;
  std::string rule;     // refused: the policy rule ("min_rows", "analyses", ...)
  std::string message;  // refused/error: what happened, naming the node
  AppliedThresholds applied;
  std::vector<Share> shares;         // secure round: values empty (they travel masked in secagg)
  std::optional<SecaggWire> secagg;  // a secure round's message for the hub
  nlohmann::json privacy = nlohmann::json::object();  // e.g. {"dp": {"rho", "rho_left"}}

  nlohmann::json ToJson() const;
  static Result<TaskResult> FromJson(const nlohmann::json& j);
};

// {"error": {"code": "<status code name>", "message": "..."}}
std::string ErrorBody(const Status& status);
// The Status an error body describes (for clients); `http_status` chooses the code when the body
// is not an error body.
Status StatusFromErrorBody(int http_status, std::string_view body);

// Validation helpers shared by messages and the hub.
Status ValidateAnalysisId(std::string_view id, std::string_view path);
Status ValidateDatasetName(std::string_view name, std::string_view path);

}  // namespace passerelle::protocol
