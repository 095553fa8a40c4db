// Secure aggregation after Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
// Machine Learning" (CCS 2017): the hub learns the sum of the nodes' vectors in Z_2^64 and
// nothing else, and still gets the exact sum of the surviving nodes when some drop out.
// docs/secure-aggregation.md specifies every message byte by byte; this is its implementation.
//
// The protocol as pure objects, no transport: a `Client` per node and a `Server` at the hub
// exchange the message structs below (or their byte encodings), round by round:
//
//   round 0 advertise   client -> hub: AdvertiseKeys (two X25519 public keys, signed when the
//                       session has identity keys); hub -> clients: KeyDirectory (U1)
//   round 1 share keys  client -> hub: ShareKeys (for each peer, Shamir shares of its self-mask
//                       seed b_u and of its mask secret key s_sk_u, sealed with XChaCha20-Poly1305
//                       under a key only the two nodes share; plus a commitment to b_u);
//                       hub -> each client: SharesForClient (U2)
//   round 2 masked input client -> hub: MaskedInput y_u = x_u + PRG(b_u) + sum_v ±PRG(s_uv);
//                       hub -> clients: SurvivorList (U3)
//   [consistency]       only with identity keys: each client signs U3; the hub forwards the
//                       signatures in a second SurvivorList
//   round 3 unmask      client -> hub: UnmaskResponse (b-shares of survivors, s_sk-shares of
//                       nodes that dropped before masking); the hub's Finish() returns the sum.
//
// Invariants (what the tests check):
//  - The Server never holds an unmasked vector of a node: it holds y_u, public keys, sealed
//    shares, commitments, and at the end the seeds it needs to remove masks from the *sum*.
//  - A client reveals, for each peer, either its b-share or its s_sk-share, never both, and
//    answers one survivor list per session.
//  - A tampered sealed share fails authentication at the client (kDataLoss); a tampered revealed
//    share is detected at the server by the commitment to b_u / the public key s_pk_u, the
//    holder is named in AggregateResult::tampered_share_holders, and the secret is recovered
//    from the honest shares when at least `threshold` of them remain.
//  - With threshold t, the sum is recovered whenever at least t nodes answer the unmask round.
//
// Threat model: a semi-honest hub without identity keys; with identity keys (Ed25519, signed
// advertisements and the consistency round) also a hub that lies about who dropped out.
//
// Thread-safety: a Client or Server belongs to one thread at a time. The RandomSource given to a
// Client must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "crypto/hash.h"
#include "crypto/kx.h"
#include "crypto/shamir.h"
#include "crypto/sign.h"

namespace passerelle::privacy::secagg {

// Bounds on what a decoder accepts from the network.
inline constexpr uint32_t kMaxParticipants = 10000;
inline constexpr uint64_t kMaxVectorLength = uint64_t{1} << 28;

// Parameters every participant and the hub agree on (they come with the study's task).
struct SessionConfig {
  std::string study_id;  // bound into the session id
  uint32_t round = 0;    // analysis round; each round is its own session
  // Node indices (Shamir evaluation points), distinct, 1 <= index <= kMaxParticipants. The hub
  // assigns them from the sorted node ids (AssignIndices).
  std::vector<uint32_t> participants;
  // t: fewest nodes that must answer the unmask round. n/2 < t <= n, so that two disjoint
  // groups cannot both reach it.
  uint32_t threshold = 0;
  uint64_t vector_length = 0;  // L, number of uint64 values per node, 1..kMaxVectorLength
  // Long-term Ed25519 keys by node index. Empty: no signatures (semi-honest hub). Otherwise one
  // per participant, and advertisements and survivor lists must be signed.
  std::map<uint32_t, crypto::VerifyKey> identity_keys;
};

Status ValidateConfig(const SessionConfig& config);
// SHA-256 of the canonical encoding of the configuration (docs/secure-aggregation.md).
crypto::Bytes32 SessionId(const SessionConfig& config);
// The smallest valid threshold for n nodes: floor(n/2) + 1.
uint32_t DefaultThreshold(uint32_t n);
// Node index of each node id: 1..n in the ids' sorted order.
std::map<std::string, uint32_t> AssignIndices(std::vector<std::string> node_ids);

// ---- Messages --------------------------------------------------------------------------------

struct AdvertiseKeys {
  uint32_t sender = 0;
  crypto::Bytes32 c_pk{};  // X25519 key for sealing shares
  crypto::Bytes32 s_pk{};  // X25519 key for pairwise masks
  std::optional<crypto::Signature> signature;
};

struct KeyDirectory {
  std::vector<AdvertiseKeys> keys;  // U1, sorted by sender
};

struct SealedShare {
  uint32_t peer = 0;  // the recipient (in ShareKeys) or the sender (in SharesForClient)
  std::vector<uint8_t> sealed;
};

struct ShareKeys {
  uint32_t sender = 0;
  crypto::Bytes32 self_mask_commitment{};
  std::vector<SealedShare> shares;  // one per other node of U1, sorted by recipient
};

struct SharesForClient {
  uint32_t recipient = 0;
  std::vector<SealedShare> shares;  // one per other node of U2, sorted by sender
};

struct MaskedInput {
  uint32_t sender = 0;
  std::vector<uint64_t> masked;
};

struct SurvivorList {
  std::vector<uint32_t> survivors;                                 // U3, sorted
  std::vector<std::pair<uint32_t, crypto::Signature>> signatures;  // consistency round only
};

struct SurvivorSignature {
  uint32_t sender = 0;
  crypto::Signature signature{};
};

enum class ShareKind : uint8_t { kSelfMaskSeed = 1, kMaskSecretKey = 2 };

struct RevealedShare {
  uint32_t owner = 0;  // whose secret this is a share of
  ShareKind kind = ShareKind::kSelfMaskSeed;
  crypto::ShamirShare share;  // share.x is the sender's index
};

struct UnmaskResponse {
  uint32_t sender = 0;
  std::vector<RevealedShare> shares;
};

// Byte encodings (docs/secure-aggregation.md): a 37-byte header "PSA1", type, session id, then
// the body. Decode rejects another session, a wrong type, bad sizes and trailing bytes.
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const AdvertiseKeys& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const KeyDirectory& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const ShareKeys& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const SharesForClient& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const MaskedInput& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const SurvivorList& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const SurvivorSignature& m);
std::vector<uint8_t> Encode(const crypto::Bytes32& session, const UnmaskResponse& m);

template <typename Message>
Result<Message> Decode(std::span<const uint8_t> bytes, const crypto::Bytes32& session);

// ---- Node side -------------------------------------------------------------------------------

class Client {
 public:
  // `identity` signs this node's advertisement and survivor list; required when the config has
  // identity keys (and must match this node's key there), ignored otherwise.
  static Result<std::unique_ptr<Client>> Create(const SessionConfig& config, uint32_t self,
                                                RandomSource& random,
                                                const crypto::SigningKey* identity = nullptr);
  ~Client();

  uint32_t self() const { return self_; }
  const crypto::Bytes32& session_id() const { return session_; }

  // Round 0: fresh key pairs, advertised.
  Result<AdvertiseKeys> AdvertiseRound();
  // Round 1: checks U1 (size >= t, members, distinct keys, signatures) and seals shares.
  Result<ShareKeys> ShareKeysRound(const KeyDirectory& u1);
  // Round 2: opens the sealed shares addressed to this node (kDataLoss naming the sender when
  // one fails authentication) and masks `input`. REQUIRES: input.size() == vector_length.
  Result<MaskedInput> MaskedInputRound(const SharesForClient& u2, std::span<const uint64_t> input);
  // Consistency round (identity keys only): signs the survivor list.
  Result<SurvivorSignature> ConsistencyRound(const SurvivorList& u3);
  // Round 3: reveals the shares the hub needs for U3. Refuses a list that differs from one it
  // already answered or signed, or (with identity keys) that lacks t valid signatures.
  Result<UnmaskResponse> UnmaskRound(const SurvivorList& u3);

 private:
  struct State;
  Client(std::unique_ptr<State> s, uint32_t self, crypto::Bytes32 session);
  Status CheckSurvivors(const SurvivorList& u3, bool need_signatures);
  std::unique_ptr<State> state_;
  uint32_t self_;
  crypto::Bytes32 session_;
};

// ---- Hub side --------------------------------------------------------------------------------

struct AggregateResult {
  std::vector<uint64_t> sum;                     // sum over `included` of the inputs, mod 2^64
  std::vector<uint32_t> included;                // U3: nodes whose input is in the sum
  std::vector<uint32_t> dropped;                 // U2 \ U3: shared keys but sent no masked input
  std::vector<uint32_t> tampered_share_holders;  // nodes that revealed a share that was wrong
};

class Server {
 public:
  enum class Stage : uint8_t {
    kAdvertise = 0,
    kShareKeys = 1,
    kMaskedInput = 2,
    kConsistency = 3,
    kUnmask = 4,
    kDone = 5
  };

  static Result<std::unique_ptr<Server>> Create(const SessionConfig& config);
  ~Server();

  Stage stage() const;
  const crypto::Bytes32& session_id() const;

  Status AddAdvertisement(const AdvertiseKeys& m);
  Result<KeyDirectory> CloseAdvertiseRound();
  Status AddShareKeys(const ShareKeys& m);
  // One message per node of U2, by node index.
  Result<std::map<uint32_t, SharesForClient>> CloseShareKeysRound();
  Status AddMaskedInput(const MaskedInput& m);
  // U3 (without signatures). Moves to the consistency round with identity keys, else to unmask.
  Result<SurvivorList> CloseMaskedInputRound();
  Status AddSurvivorSignature(const SurvivorSignature& m);
  // U3 with at least t signatures.
  Result<SurvivorList> CloseConsistencyRound();
  Status AddUnmaskResponse(const UnmaskResponse& m);
  // The sum, once at least t nodes of U3 answered the unmask round.
  Result<AggregateResult> Finish();

  // Everything the hub holds for this session, for its durable state (and for inspection).
  std::vector<uint8_t> SerializeState() const;
  static Result<std::unique_ptr<Server>> RestoreState(std::span<const uint8_t> bytes);

 private:
  struct State;
  explicit Server(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

}  // namespace passerelle::privacy::secagg
