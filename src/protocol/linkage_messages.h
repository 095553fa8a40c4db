// Wire messages of federated record linkage (PPRL, protocol v1; docs/protocol.md "Linkage" and
// docs/pprl.md "In the federation" describe them field by field).
//
//   LinkageStudy    researcher -> hub   POST /v1/studies       (a study file with "linkage")
//   LinkageTask     hub -> node         GET  /v1/tasks/next    ("kind": "linkage")
//   KeyPost         node -> hub         POST /v1/linkages/{id}/key      ephemeral X25519 public key
//   KeySet          hub -> node         GET  /v1/linkages/{id}/keys     every participant's key
//   SealedSecrets   leader -> hub       POST /v1/linkages/{id}/secrets  the secret, sealed per node
//   SealedSecret    hub -> node         GET  /v1/linkages/{id}/secret   this node's sealed copy
//   ClkUpload       node -> hub         POST /v1/linkages/{id}/clks     the node's CLK set
//   NodeMatches     hub -> node         GET  /v1/linkages/{id}/matches  this node's matched rows
//   LinkageFailure  node -> hub         POST /v1/linkages/{id}/error    the node cannot take part
//   LinkageUse      study / task        "linkage": {"id", "deduplicate", "id_column"}
//
// Every FromJson validates strictly (unknown keys, wrong types, bounds) and names the field in
// its error. Binary values (keys, ciphertexts, CLK sets) are base64 strings. A node's CLK set
// carries row positions ("0", "1", ...) as ids, never the node's local identifiers.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace passerelle::protocol {

inline constexpr size_t kMaxLinkageNodes = 16;
inline constexpr size_t kX25519KeyBytes = 32;
inline constexpr size_t kMaxSealedSecretBytes = 256;
inline constexpr size_t kMaxCertificateBytes = 16384;
inline constexpr size_t kMaxSignatureBytes = 256;

// The "linkage" block of a linkage study file.
struct LinkageRequest {
  nlohmann::json schema;            // a PPRL linkage schema (docs/pprl.md), inline
  double threshold = 0.8;           // Dice similarity a pair must reach, in (0, 1]
  std::vector<std::string> nodes;   // 2..16 distinct nodes, in rank order (first = highest)
  std::string blocking = "none";    // "none", "keys", "lsh" or "lsh:T:B" (pprl/match.h)
  std::optional<int64_t> min_cell;  // raises the nodes' min_cell for the researcher's counts

  nlohmann::json ToJson() const;
  static Result<LinkageRequest> FromJson(const nlohmann::json& j, std::string_view path);
};

// A study file whose object has a "linkage" block with a "schema" (and no analyses).
struct LinkageStudy {
  std::string name;
  std::string description;
  std::optional<std::string> project;
  LinkageRequest linkage;

  nlohmann::json ToJson() const;
  static Result<LinkageStudy> FromJson(const nlohmann::json& j);
};

// True when a submitted study file asks for a linkage (its "linkage" object has a "schema"), as
// opposed to an analysis study that uses one (LinkageUse).
bool IsLinkageStudy(const nlohmann::json& study);

// What a node is asked to do for a linkage (delivered by the task long-poll).
struct LinkageTask {
  std::string linkage_id;
  std::string node;                // the node this task is for
  std::vector<std::string> nodes;  // all participants, rank order; nodes[0] is the leader
  nlohmann::json schema;
  std::optional<std::string> project;

  nlohmann::json ToJson() const;
  static Result<LinkageTask> FromJson(const nlohmann::json& j);
};
// True when a task payload is a linkage task ("kind": "linkage").
bool IsLinkageTask(const nlohmann::json& payload);

// A node's ephemeral key, signed with the key of its federation certificate (ECDSA P-256,
// SHA-256) over "passerelle/pprl/v1/ephemeral-key\n" + linkage id + "\n" + node + "\n" +
// hex(public_key), so that peers can check it came from that node and not from the hub.
struct KeyPost {
  std::vector<uint8_t> public_key;  // 32 bytes
  std::string certificate;          // the node's certificate, PEM
  std::vector<uint8_t> signature;   // DER ECDSA signature
  friend bool operator==(const KeyPost&, const KeyPost&) = default;
  nlohmann::json ToJson() const;
  static Result<KeyPost> FromJson(const nlohmann::json& j);
};

struct KeySet {
  std::map<std::string, KeyPost> keys;  // node -> its signed key (those posted so far)
  bool complete = false;                // every participant posted one
  nlohmann::json ToJson() const;
  static Result<KeySet> FromJson(const nlohmann::json& j);
};

struct SealedSecrets {
  std::map<std::string, std::vector<uint8_t>> sealed;  // recipient node -> AEAD ciphertext
  nlohmann::json ToJson() const;
  static Result<SealedSecrets> FromJson(const nlohmann::json& j);
};

struct SealedSecret {
  std::string from;  // the leader
  std::vector<uint8_t> sealed;
  nlohmann::json ToJson() const;
  static Result<SealedSecret> FromJson(const nlohmann::json& j);
};

struct ClkUpload {
  std::string clks;               // SerializeClkSet bytes (pprl/clk_set.h), ids are row positions
  int64_t min_cell = 0;           // the node's min_cell policy, applied to the researcher's counts
  nlohmann::json ToJson() const;  // "clks" as base64
  // `max_bytes` bounds the decoded CLK set.
  static Result<ClkUpload> FromJson(const nlohmann::json& j, size_t max_bytes = 64u << 20);
};

struct NodeMatch {
  uint32_t row = 0;     // position in the node's upload
  std::string cluster;  // opaque id, the same at every node holding a record of the cluster
  bool keep = true;     // false: a higher-ranked node holds a record of this cluster
  friend bool operator==(const NodeMatch&, const NodeMatch&) = default;
};

struct NodeMatches {
  std::string state;  // "running" (not ready), "completed" or "failed"
  std::string error;  // failed: why
  std::vector<NodeMatch> matches;
  nlohmann::json ToJson() const;
  static Result<NodeMatches> FromJson(const nlohmann::json& j);
};

struct LinkageFailure {
  std::string message;
  nlohmann::json ToJson() const;
  static Result<LinkageFailure> FromJson(const nlohmann::json& j);
};

// An analysis study's use of a completed linkage: "linkage": {"id": "lk-...", "deduplicate":
// true, "id_column": "person_id"}. With deduplicate, each node leaves out of the analysis table
// the rows whose id_column value it matched to a higher-ranked node (docs/pprl.md).
struct LinkageUse {
  std::string id;
  bool deduplicate = false;
  std::string id_column = "person_id";
  nlohmann::json ToJson() const;
  static Result<LinkageUse> FromJson(const nlohmann::json& j, std::string_view path);
  friend bool operator==(const LinkageUse&, const LinkageUse&) = default;
};

// "lk-" followed by 12 lowercase hex digits.
Status ValidateLinkageId(std::string_view id, std::string_view path);

}  // namespace passerelle::protocol
