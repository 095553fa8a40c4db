// The node's privacy step (docs/privacy.md, docs/secure-aggregation.md): what happens to a task's
// shares between the analysis and the network.
//
//   plain task    refused (rule "require_secure_aggregation") when the node's policy requires
//                 secure aggregation; otherwise ExecuteTask (the disclosure rule on this node's
//                 share).
//   secure task   phase "advertise": ExecuteTask with the disclosure rule's refusals only (value
//                 suppression applies to the sum, at the hub), the shares encoded in fixed point
//                 (overflow bounds checked), kept in memory with a fresh secagg::Client; the result
//                 carries the node's public keys and the shares' metas, no values. Phases
//                 "share_keys", "masked_input", "unmask": the client's answer to the hub's message.
//
// A node that restarts in the middle of a session has lost its client (by design: its secrets
// are never written down); it answers later phases of that session with an error, which the hub
// treats as a dropout.
//
// Thread-safety: a PrivacyStep belongs to the agent's one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <filesystem>

#include "analysis/analysis.h"
#include "common/clock.h"
#include "common/random.h"
#include "crypto/hash.h"
#include "crypto/tls.h"
#include "node/executor.h"
#include "node/policy.h"
#include "protocol/messages.h"

namespace passerelle::privacy {
class PrivacyLedger;
class FingerprintStore;
class SqlitePrivacyState;
}  // namespace passerelle::privacy

namespace passerelle::node {

// Failpoints of the privacy step (end-to-end tests only): "secagg_drop_at_masked_input" answers
// the masked-input phase with an error (the node drops out after the masks were agreed);
// "secagg_tamper_unmask" alters one revealed Shamir share.
bool IsPrivacyFailpoint(std::string_view name);

// A step's share: LocalStep, then the analysis's disclosure rule — on this share for a plain
// round; for a secure round only the rule's refusals count (the values it would suppress are
// judged on the sum by the hub).
Result<analysis::NodeShare> ComputeNodeShare(const analysis::Analysis& analysis,
                                             analysis::AnalysisTable& data,
                                             const analysis::AnalysisSpec& spec, int round,
                                             const analysis::RoundInput& input,
                                             const analysis::Thresholds& thresholds, bool secure);

struct PrivacyStepOptions {
  std::string node_id;
  std::string failpoint;  // see IsPrivacyFailpoint; empty in production
  // The node's durable privacy state (SQLite: the zCDP ledger per project and the population
  // fingerprints); opened on first use. Empty: kept in memory (tests only).
  std::filesystem::path state_path;
  // The node's federation TLS material. With a key, each advertisement is signed with it; with a
  // CA, every peer's advertisement must carry a valid signature by a node certificate of that CA
  // whose CN is the peer's node id, or the session is refused before any mask is derived. Empty
  // (tests of the step alone): unsigned, unchecked.
  crypto::TlsMaterial tls;
};

class PrivacyStep {
 public:
  // `random` (a cryptographic source in production) must outlive the step.
  PrivacyStep(PrivacyStepOptions options, RandomSource& random,
              Clock& clock = SystemClock::Default());
  ~PrivacyStep();

  // The result to post for `task`; never fails (a failure is an "error" result).
  protocol::TaskResult Execute(const protocol::Task& task, DataProvider& data,
                               const NodePolicy& policy, const analysis::Registry& registry);

  // Secure sessions in progress (tests).
  size_t open_sessions() const { return sessions_.size(); }

 private:
  struct Session;
  protocol::TaskResult SecurePhase(const protocol::Task& task, DataProvider& data,
                                   const NodePolicy& policy, const analysis::Registry& registry);

  // Runs the analyses (through the clipping of the study's DP bounds, when it has some) and, for
  // a DP study, adds the node's noise share and charges the ledger. `shares`: how many nodes'
  // noise shares the released sum is sure to hold.
  protocol::TaskResult Compute(const protocol::Task& task, DataProvider& data,
                               const NodePolicy& policy, const analysis::Registry& registry,
                               uint32_t shares);
  // Differencing defence on the study population (privacy/differencing.h); refusal text or "".
  Result<std::string> CheckPopulation(const protocol::Task& task, DataProvider& data,
                                      const NodePolicy& policy);
  Status OpenState();

  PrivacyStepOptions options_;
  RandomSource& random_;
  Clock& clock_;
  std::unique_ptr<privacy::PrivacyLedger> ledger_;
  std::unique_ptr<privacy::FingerprintStore> fingerprints_;
  std::unique_ptr<privacy::SqlitePrivacyState> state_;
  std::optional<crypto::Bytes32> fingerprint_key_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;  // by "<study>/<round>"
};

}  // namespace passerelle::node
