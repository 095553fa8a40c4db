// Secure aggregation of study rounds at the hub (docs/secure-aggregation.md, "In the
// federation"), and the study-level privacy settings the hub enforces.
//
// A study is secure when its file asks for it ("privacy": {"secure_aggregation": true}) or when
// one of its nodes requires it (node policy require_secure_aggregation: the node refuses a plain
// task with rule "require_secure_aggregation"; the hub remembers that node and restarts the study
// as a secure one in the next study round; later studies on that node start secure).
//
// Each round of a secure study is one secagg session over the concatenation of every running
// analysis's share (in analysis order), in four phases, each a task per node:
//
//   advertise     the round's task (steps + secagg.session): the node computes its share, keeps it,
//                 and answers with its public keys and the shares' non-summed metas (no values)
//   share_keys    task carries the key directory; the node answers with its sealed Shamir shares
//   masked_input  task carries the shares sealed for the node; the node answers y_u (masked)
//   unmask        task carries the survivor list; the node answers the shares the hub needs
//
// then the hub unmasks only the sum, decodes it from fixed point, applies each analysis's
// disclosure rule to the sum (DiscloseSecureSum) and combines it. A node that does not answer a
// phase before the task deadline, or answers it with an error, has dropped out: the session
// continues without it while at least t = floor(n/2) + 1 nodes remain (dropped before its masked
// input: the sum is that of the others; after: its input is in the sum).
//
// The hub state holds, per session, only what secagg::Server holds (public keys, sealed shares,
// masked vectors, commitments) and the sums it revealed — never a node's unmasked vector.
//
// Thread-safety: as StudyEngine (one thread).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/analysis.h"
#include "common/status.h"

namespace passerelle::hub {

// What a finished secure session reveals for one study round.
struct SecureSum {
  std::map<std::string, std::vector<double>> sums;  // by analysis id
  std::set<std::string> included;                   // nodes whose inputs are in the sums
  analysis::Thresholds thresholds;  // max over the included nodes' applied thresholds
  nlohmann::json report = nlohmann::json::object();  // included, dropped, tampered_share_holders
};

// Applies `analysis`'s disclosure rule to a revealed sum, as if the federation were one node with
// the strictest thresholds: suppression of small counts and small subsets, refusals.
Status DiscloseSecureSum(const analysis::Analysis& analysis, const analysis::AnalysisSpec& spec,
                         int round, const analysis::RoundInput& input,
                         const analysis::Thresholds& thresholds, std::vector<double>& sum);

}  // namespace passerelle::hub
