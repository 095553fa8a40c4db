// Federated record linkage at a node (the node half of docs/pprl.md "In the federation").
//
// When the hub's task long-poll delivers a linkage task ("kind": "linkage"), the agent hands it
// to RunLinkageTask, which runs the whole exchange before the agent polls again:
//   1. checks the schema (one the custodian approved, when [pprl] schemas lists them) and that the
//      node has an identity file (node.toml [pprl] identities);
//   2. makes an ephemeral X25519 key pair and posts the public key signed with the key of its
//      federation certificate (POST .../key), then polls GET .../keys until every participant
//      posted one, and checks every key's certificate (federation CA, CN = node) and signature:
//      the hub relays keys but cannot substitute its own;
//   3. leader (nodes[0]): draws the 32-byte linkage secret from the node's CSPRNG and seals it to
//      each other node: key = crypto::DeriveKey(X25519(leader, peer), pk_leader, pk_peer,
//      "passerelle/pprl/v1/linkage-secret"), AEAD XChaCha20-Poly1305 with the transcript
//      (linkage id, every node and public key in rank order) as associated data (POST
//      .../secrets). Others poll GET .../secret and open their copy with the same key;
//   4. LinkageKey::FromSecret(secret), the secret and the ephemeral secret key are erased; encodes
//      the identity file (pprl::EncodeCsvFile), replaces each local id by its row position and
//      posts the CLK set with the node's min_cell (POST .../clks);
//   5. polls GET .../matches; stores (linkage, local id, cluster, keep) in the node's linkage
//      state (SQLite) for later analyses.
// Any local failure is reported to the hub (POST .../error) so that the linkage fails at once
// with the node's reason (never a value of the data).
//
// Identity file: a CSV with a header naming the schema's id column (e.g. person_id: the same
// local id as the node's datasets) and the schema's fields (given_name, surname, date_of_birth,
// ...). The OMOP person table has no names, so the custodian keeps this file next to the node's
// database; it never leaves the node.
//
// Deduplication: an analysis task that carries "linkage": {"id", "deduplicate": true,
// "id_column"} runs on the dataset without the rows whose id_column value this node matched to a
// higher-ranked node (keep = false): a person held at several nodes is counted once, at the
// highest-ranked node that holds them (DeduplicatingProvider).
//
// Thread-safety: one linkage at a time per node (the agent's thread); LinkageState is used from
// that thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "crypto/tls.h"
#include "node/executor.h"
#include "protocol/linkage_messages.h"

namespace passerelle::net {
class HttpsClient;
}

namespace passerelle::node {

struct LinkageNodeOptions {
  // The identity CSV (see above); empty: this node refuses linkages.
  std::filesystem::path identities;
  // Field delimiter of the identity CSV.
  char delimiter = ',';
  // The linkage schemas this node's custodian approved (schema files); a linkage whose schema
  // has another fingerprint (pprl::LinkageSchema::Fingerprint: fields, weights, hardening) is
  // refused. Empty: any schema.
  std::vector<std::filesystem::path> approved_schemas;
  // The node's linkage state (SQLite, created when absent); empty: next to the journal
  // ("<journal>.linkage.sqlite"), set by LoadNodeConfig.
  std::filesystem::path state_path;
  // How often the node asks the hub whether the other nodes are ready.
  std::chrono::milliseconds poll_interval{100};
  // The node gives up (and fails the linkage) after this long.
  std::chrono::milliseconds timeout{600'000};
  // Testing hook (the end-to-end tests check that the hub never sees the key, and simulate a node
  // with a wrong key by changing it): called with the node id and the linkage secret once agreed.
  // Empty in production.
  std::function<void(const std::string& node, std::span<uint8_t> secret)> on_secret_for_testing;
};

// Reads node.toml [pprl]: identities = "persons.csv", delimiter = ",", state = "...",
// schemas = ["approved-schema.json", ...], timeout_seconds = 600.
// `resolve` makes paths relative to the file's folder.
Result<LinkageNodeOptions> LoadLinkageConfig(
    const Config& config, const std::function<std::filesystem::path(const std::string&)>& resolve);
// The [pprl] keys LoadLinkageConfig reads (for the unknown-key check).
std::vector<std::string> LinkageConfigKeys();

// A node's durable record of its matches.
class LinkageState {
 public:
  struct Match {
    std::string local_id;
    std::string cluster;
    bool keep = true;
  };
  static Result<std::unique_ptr<LinkageState>> Open(const std::filesystem::path& path);
  // Replaces the matches of `linkage_id`.
  Status Record(const std::string& linkage_id, const std::vector<Match>& matches);
  // NotFound when the node holds no result for `linkage_id`.
  Result<std::vector<Match>> Matches(const std::string& linkage_id);

 private:
  explicit LinkageState(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  std::unique_ptr<SqliteDb> db_;
};

// What RunLinkageTask needs from the agent.
struct LinkageContext {
  std::string node_id;
  net::HttpsClient& client;
  RandomSource& random;   // the CSPRNG (key pairs, the secret, BLIP, AEAD nonces)
  int64_t min_cell = 10;  // the node's policy, sent with its CLKs
  LinkageState& state;
  const LinkageNodeOptions& options;
  const crypto::TlsMaterial& tls;  // signs this node's ephemeral key; the CA verifies the peers'

  std::function<bool()> stopping;  // true when the agent is asked to stop
};

// Runs one linkage task (payload: the task JSON). Errors are reported to the hub and logged;
// the returned Status is not OK only when the node's own state fails.
Status RunLinkageTask(const nlohmann::json& payload, LinkageContext& ctx);

// The message a node signs for its ephemeral key (protocol::KeyPost):
// "passerelle/pprl/v1/ephemeral-key\n" + linkage id + "\n" + node + "\n" + hex(public key).
std::string EphemeralKeyMessage(std::string_view linkage_id, std::string_view node,
                                std::span<const uint8_t> public_key);
// This node's KeyPost: the key, its certificate and the signature with its private key.
Result<protocol::KeyPost> SignEphemeralKey(const crypto::TlsMaterial& tls,
                                           std::string_view linkage_id, std::string_view node,
                                           std::span<const uint8_t> public_key);
// Checks a participant's KeyPost: its certificate chains to the federation CA (`ca_pem`) as a
// client (node) certificate, its CN is `node`, and the signature is valid. A hub that substitutes
// keys cannot pass this without a node's private key.
Status VerifyEphemeralKey(std::string_view ca_pem, std::string_view linkage_id,
                          std::string_view node, const protocol::KeyPost& key);

// A provider that applies a task's linkage use: with deduplicate, the table of a dataset without
// the rows whose id_column this node matched to a higher-ranked node.
class DeduplicatingProvider final : public DataProvider {
 public:
  DeduplicatingProvider(DataProvider& inner, LinkageState* state, protocol::LinkageUse use)
      : inner_(inner), state_(state), use_(std::move(use)) {}
  Result<std::unique_ptr<analysis::AnalysisTable>> OpenTable(const std::string& dataset) override;

 private:
  DataProvider& inner_;
  LinkageState* state_;
  protocol::LinkageUse use_;
};

}  // namespace passerelle::node
