// Federated record linkage at the hub: the hub is the linkage unit. It relays the nodes' key
// agreement (public keys and ciphertexts only), receives each node's CLK set, matches them
// (pprl/match.h: Dice + greedy one-to-one per pair of nodes, clusters by union-find), gives each
// node only its own matched row positions, and gives the researcher counts only, under the
// disclosure rule below. docs/pprl.md ("In the federation") is the protocol; this is its hub half.
//
// Life of a linkage (state in the hub's SQLite database, tables linkages / linkage_members,
// created idempotently next to the study engine's):
//   Submit        a study file with "linkage" {"schema", "threshold", "nodes", ...}: checks the
//                 schema (pprl::ParseSchema) and the nodes, records the linkage ("lk-" id) and
//                 one invitation per node, delivered through the task long-poll.
//   key           each node posts an ephemeral X25519 public key; keys are relayed to all.
//   secrets       the leader (nodes[0]) posts the linkage secret sealed to each other node.
//   clks          each node posts its CLK set; ids must be the row positions "0".."n-1", so
//                 the hub never receives a local identifier. The set's schema fingerprint must be
//                 the requested schema's. When the last set arrives, the hub matches, records
//                 each node's matches and the researcher's counts, and erases the CLK sets
//                 (secure_delete + WAL checkpoint: the bytes do not stay in the file).
//   error         a node that cannot take part fails the linkage with its reason.
// A linkage that is not completed within `timeout` fails, naming the nodes that did not finish.
//
// What the hub stores: the request (the schema is not secret), signed public keys, sealed secrets
// (ciphertexts it cannot open), CLK sets until matching, per-node match positions with cluster
// ids, counts. Never the linkage secret, a derived key, or an identifier.
//
// Researcher's result (counts only): per node records and matched, per pair overlap, linked
// persons (clusters spanning >= 2 nodes), union = sum of records - sum over clusters of
// (size - 1). min_cell = max(request, every node's policy): a count in [1, min_cell) is null
// (primary suppression); when any count is suppressed, union is suppressed too (secondary:
// union, records and overlaps are linearly related).
//
// Thread-safety: not thread-safe; the hub calls it from its one loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "hub/auth.h"
#include "protocol/linkage_messages.h"

namespace passerelle::hub {

struct LinkageOptions {
  // The federation's nodes (their certificate CNs).
  std::vector<std::string> nodes;
  // A linkage not completed after this long fails.
  std::chrono::milliseconds timeout{600'000};
  // Bytes of one node's decoded CLK set (the transport's body limit applies first).
  size_t max_clk_bytes = 64u << 20;
  // Matching threads; 0 = every core.
  int match_threads = 0;
};

class LinkageService {
 public:
  // Creates the linkage tables when absent and turns on secure_delete for the connection.
  static Result<std::unique_ptr<LinkageService>> Open(SqliteDb& db, Clock& clock,
                                                      RandomSource& random, LinkageOptions options);

  // Whether an id names a linkage ("lk-..."), not a study of the engine.
  static bool IsLinkageId(std::string_view id);

  // Researcher side. `study` is a linkage study file (protocol::IsLinkageStudy).
  Result<std::string> Submit(const nlohmann::json& study, const Principal& who);
  // {"id", "kind": "linkage", "name", "state", "error"?, "nodes": [{"node", "state"}]}.
  Result<nlohmann::json> StudyStatus(const std::string& id);
  // The governance project the linkage study names ("" when none).
  Result<std::string> StudyProject(const std::string& id);
  Result<bool> IsFinished(const std::string& id);
  // The counts (see above); kFailedPrecondition unless completed.
  Result<nlohmann::json> StudyResult(const std::string& id);
  // An analysis study that names a linkage ("linkage": {"id", ...}): the linkage must be
  // completed and every node of the study must have taken part. OK for a study without one.
  Status CheckUse(const nlohmann::json& study);

  // Node side. The invitation of `node` to its oldest linkage that it has not joined yet.
  Result<std::optional<std::string>> NextTaskPayload(const std::string& node);
  struct Reply {
    int http_status = 200;  // 200, or 204 (nothing yet)
    nlohmann::json body;
  };
  // POST/GET /v1/linkages/{id}/{step} from node `node` (authenticated).
  Result<Reply> HandleNode(const std::string& node, std::string_view method, const std::string& id,
                           std::string_view step, const nlohmann::json& body);

  // Fails running linkages past their deadline. Returns how many failed.
  Result<int> CheckDeadlines();

  // Called (synchronously) when nodes have a new invitation.
  void set_on_tasks(std::function<void(const std::vector<std::string>&)> f) {
    on_tasks_ = std::move(f);
  }

  struct Impl;
  ~LinkageService();

 private:
  explicit LinkageService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::function<void(const std::vector<std::string>&)> on_tasks_;
};

// The linkage use recorded in a study's definition (studies.definition "linkage"), if any; the
// engine carries it into every task of the study.
Result<std::optional<protocol::LinkageUse>> StudyLinkageUse(SqliteDb& db,
                                                            const std::string& study_id);

}  // namespace passerelle::hub
