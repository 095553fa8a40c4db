// A whole federation in one process, on loopback, for rehearsing studies (`passerelle sandbox`),
// the demonstration (`passerelle demo`), tests and benchmarks.
//
// LocalFederation creates an ephemeral PKI (a CA, a hub certificate, one certificate per node,
// in memory), starts a hub on 127.0.0.1 with an OS-chosen port and a state database in a
// temporary folder, and one node agent per node on its own thread; a researcher client talks to
// the hub with a bearer token. Everything goes through the real protocol: TLS 1.3 with mutual
// authentication, long polls, JSON with base64 vectors, idempotent result posts.
//
// Governance (rehearsal mode): each federation gets an ephemeral governance state in its folder,
// with fresh audit keys — a joint call, one project ("demo-project") through application, reviews,
// selection, data-sharing agreement and both committees' approvals, each node's custodian
// approving it — so the hub authenticates the researcher's governance token, checks the project
// at submission, and each node checks its own approval and signs its audit log, as in production.
// A study that names no "project" is submitted under the rehearsal's project.
//
// This module sits above hub/ and node/ (layer 5): it is the one place that links both.
//
// Thread-safety: a LocalFederation is driven by one thread; its hub and nodes run on their own.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "common/status.h"
#include "node/executor.h"
#include "node/linkage.h"
#include "node/policy.h"

namespace passerelle::sandbox {

struct SandboxNode {
  std::string name;                              // node id (also its certificate CN)
  std::filesystem::path duckdb;                  // its database, opened read-only...
  std::shared_ptr<node::DataProvider> provider;  // ...or this provider when set
  std::filesystem::path pprl_identities;         // record linkage identity CSV (node/linkage.h)
};

struct FederationOptions {
  // Applied by every node.
  node::NodePolicy policy;
  // Record linkage options of every node (identities come from each SandboxNode).
  node::LinkageNodeOptions pprl;
  // A node without a result after this long fails the study.
  std::chrono::milliseconds task_timeout{60'000};
  // Nodes' long-poll wait.
  std::chrono::milliseconds long_poll{10'000};
  // Where the hub state and node journals go; empty: a temporary folder removed at the end.
  std::filesystem::path work_dir;
  // Per-node overrides, by node name (tests): a node's own policy, and a failpoint
  // (node::NodeOptions::failpoint).
  std::map<std::string, node::NodePolicy> node_policies;
  std::map<std::string, std::string> failpoints;
};

class LocalFederation {
 public:
  // `registry` must outlive the federation.
  static Result<std::unique_ptr<LocalFederation>> Start(
      const FederationOptions& options, std::vector<SandboxNode> nodes,
      const analysis::Registry& registry = analysis::BuiltinRegistry());
  ~LocalFederation();

  uint16_t hub_port() const;
  // The rehearsal's project, and the governance steps that made it active (one line each).
  const std::string& project() const;
  const std::vector<std::string>& governance_steps() const;
  // Exports and verifies the hub's audit log and each node's, and reconciles each node's against
  // the hub's: one line per log, or the first problem as an error.
  Result<std::vector<std::string>> VerifyAuditLogs();
  // POST /v1/studies (with "project" set to project() when the study names none); the study's id.
  Result<std::string> Submit(const nlohmann::json& study);
  // Waits for the study to finish; its result, or an error carrying the study's failure message
  // (kFailedPrecondition) or kDeadlineExceeded.
  Result<nlohmann::json> Wait(const std::string& id, std::chrono::milliseconds timeout);
  // GET /v1/studies/{id}.
  Result<nlohmann::json> StudyStatus(const std::string& id);
  // Stops the nodes and the hub (also done by the destructor).
  void Stop();

  struct Impl;

 private:
  explicit LocalFederation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `passerelle sandbox`: runs one study on a fresh local federation and returns its result.
Result<nlohmann::json> RunSandbox(const nlohmann::json& study, std::vector<SandboxNode> nodes,
                                  const FederationOptions& options,
                                  std::chrono::milliseconds timeout = std::chrono::minutes(10));

}  // namespace passerelle::sandbox
