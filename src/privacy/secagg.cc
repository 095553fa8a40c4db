#include "privacy/secagg.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "crypto/aead.h"
#include "crypto/prg.h"
#include "privacy/byte_io.h"

namespace passerelle::privacy::secagg {
namespace {

using crypto::Bytes32;
using crypto::ShamirShare;

constexpr std::string_view kDomain = "passerelle-secagg-v1";
constexpr uint8_t kMagic[4] = {'P', 'S', 'A', '1'};
constexpr uint8_t kStateMagic[4] = {'P', 'S', 'S', '1'};
constexpr size_t kHeaderBytes = 4 + 1 + 32;
constexpr size_t kSharePlainBytes = 4 + 4 + 2 * crypto::kShamirShareBytes;      // 96
constexpr size_t kSealedShareBytes = kSharePlainBytes + crypto::kAeadOverhead;  // 136
constexpr size_t kMaxStudyIdBytes = 1024;

enum MessageType : uint8_t {
  kTypeAdvertise = 1,
  kTypeDirectory = 2,
  kTypeShareKeys = 3,
  kTypeSharesForClient = 4,
  kTypeMaskedInput = 5,
  kTypeSurvivorList = 6,
  kTypeSurvivorSignature = 7,
  kTypeUnmaskResponse = 8,
};

std::span<const uint8_t> Bytes(std::string_view s) { return crypto::AsBytes(s); }

// "passerelle-secagg-v1/<label>" || session: the context of derivations and signatures.
std::vector<uint8_t> Context(std::string_view label, const Bytes32& session) {
  ByteWriter w;
  w.Raw(Bytes(kDomain));
  w.U8('/');
  w.Raw(Bytes(label));
  w.Raw(session);
  return w.Take();
}

std::vector<uint8_t> AdvertiseSigned(const Bytes32& session, const AdvertiseKeys& m) {
  ByteWriter w;
  w.Raw(Context("advertise", session));
  w.U32(m.sender);
  w.Raw(m.c_pk);
  w.Raw(m.s_pk);
  return w.Take();
}

std::vector<uint8_t> SurvivorsSigned(const Bytes32& session, std::span<const uint32_t> u3) {
  ByteWriter w;
  w.Raw(Context("survivors", session));
  w.U32(static_cast<uint32_t>(u3.size()));
  for (uint32_t u : u3) w.U32(u);
  return w.Take();
}

std::vector<uint8_t> ShareAssociatedData(const Bytes32& session, uint32_t sender,
                                         uint32_t recipient) {
  ByteWriter w;
  w.Raw(Context("share", session));
  w.U32(sender);
  w.U32(recipient);
  return w.Take();
}

Bytes32 SelfMaskCommitment(const Bytes32& session, uint32_t owner, const Bytes32& seed) {
  return crypto::Sha256Builder()
      .Add(Context("self-mask-commitment", session))
      .AddU32(owner)
      .Add(seed)
      .Finish();
}

// A key both nodes of a pair derive: BLAKE2b-256(X25519 || pk(lower index) || pk(higher index)
// || context). `mine`/`theirs` are the two nodes' public keys of the same kind.
Result<Bytes32> PairKey(std::string_view label, const Bytes32& session, uint32_t self,
                        const Bytes32& my_secret, const Bytes32& mine, uint32_t peer,
                        const Bytes32& theirs) {
  ASSIGN_OR_RETURN(Bytes32 shared, crypto::X25519SharedSecret(my_secret, theirs));
  const bool self_low = self < peer;
  Bytes32 key = crypto::DeriveKey(shared, self_low ? mine : theirs, self_low ? theirs : mine,
                                  Context(label, session));
  crypto::SecureZero(shared);
  return key;
}

// ---- Message bodies ----

void Header(ByteWriter& w, uint8_t type, const Bytes32& session) {
  w.Raw(kMagic);
  w.U8(type);
  w.Raw(session);
}

void ReadHeader(ByteReader& r, uint8_t type, const Bytes32& session) {
  std::array<uint8_t, 4> magic;
  r.Raw(magic);
  const uint8_t t = r.U8();
  Bytes32 s;
  r.Raw(s);
  if (!r.ok()) return;
  if (!std::equal(magic.begin(), magic.end(), kMagic)) return r.Fail("not a PSA1 message");
  if (t != type) return r.Fail(fmt::format("message type {} where {} was expected", t, type));
  if (s != session) r.Fail("the message belongs to another session");
}

void PutAdvert(ByteWriter& w, const AdvertiseKeys& m) {
  w.U32(m.sender);
  w.Raw(m.c_pk);
  w.Raw(m.s_pk);
  w.U8(m.signature ? 1 : 0);
  if (m.signature) w.Raw(*m.signature);
}

AdvertiseKeys GetAdvert(ByteReader& r) {
  AdvertiseKeys m;
  m.sender = r.U32();
  r.Raw(m.c_pk);
  r.Raw(m.s_pk);
  const uint8_t has = r.U8();
  if (has == 1) {
    crypto::Signature sig;
    r.Raw(sig);
    m.signature = sig;
  } else if (has != 0) {
    r.Fail("bad signature flag");
  }
  return m;
}

void PutSealedList(ByteWriter& w, const std::vector<SealedShare>& list) {
  w.U32(static_cast<uint32_t>(list.size()));
  for (const auto& s : list) {
    w.U32(s.peer);
    w.Blob(s.sealed);
  }
}

std::vector<SealedShare> GetSealedList(ByteReader& r) {
  const uint32_t n = r.Count(kMaxParticipants, 8);
  std::vector<SealedShare> out;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    SealedShare s;
    s.peer = r.U32();
    s.sealed = r.Blob(1024);
    out.push_back(std::move(s));
  }
  return out;
}

void PutShareKeys(ByteWriter& w, const ShareKeys& m) {
  w.U32(m.sender);
  w.Raw(m.self_mask_commitment);
  PutSealedList(w, m.shares);
}

ShareKeys GetShareKeys(ByteReader& r) {
  ShareKeys m;
  m.sender = r.U32();
  r.Raw(m.self_mask_commitment);
  m.shares = GetSealedList(r);
  return m;
}

void PutMasked(ByteWriter& w, const MaskedInput& m) {
  w.U32(m.sender);
  w.U64(m.masked.size());
  w.U64Array(m.masked);
}

MaskedInput GetMasked(ByteReader& r) {
  MaskedInput m;
  m.sender = r.U32();
  const uint64_t n = r.U64();
  if (r.ok() && n > kMaxVectorLength) {
    r.Fail(fmt::format("vector of {} values exceeds the limit", n));
    return m;
  }
  m.masked = r.U64Array(n);
  return m;
}

void PutU32List(ByteWriter& w, std::span<const uint32_t> v) {
  w.U32(static_cast<uint32_t>(v.size()));
  for (uint32_t x : v) w.U32(x);
}

std::vector<uint32_t> GetU32List(ByteReader& r) {
  const uint32_t n = r.Count(kMaxParticipants, 4);
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.U32());
  return out;
}

void PutSurvivors(ByteWriter& w, const SurvivorList& m) {
  PutU32List(w, m.survivors);
  w.U32(static_cast<uint32_t>(m.signatures.size()));
  for (const auto& [signer, sig] : m.signatures) {
    w.U32(signer);
    w.Raw(sig);
  }
}

SurvivorList GetSurvivors(ByteReader& r) {
  SurvivorList m;
  m.survivors = GetU32List(r);
  const uint32_t n = r.Count(kMaxParticipants, 68);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    uint32_t signer = r.U32();
    crypto::Signature sig;
    r.Raw(sig);
    m.signatures.emplace_back(signer, sig);
  }
  return m;
}

void PutUnmask(ByteWriter& w, const UnmaskResponse& m) {
  w.U32(m.sender);
  w.U32(static_cast<uint32_t>(m.shares.size()));
  for (const auto& s : m.shares) {
    w.U32(s.owner);
    w.U8(static_cast<uint8_t>(s.kind));
    w.Raw(s.share.Encode());
  }
}

UnmaskResponse GetUnmask(ByteReader& r) {
  UnmaskResponse m;
  m.sender = r.U32();
  const uint32_t n = r.Count(kMaxParticipants, 4 + 1 + crypto::kShamirShareBytes);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    RevealedShare s;
    s.owner = r.U32();
    const uint8_t kind = r.U8();
    if (kind != 1 && kind != 2) r.Fail("bad share kind");
    s.kind = static_cast<ShareKind>(kind);
    std::array<uint8_t, crypto::kShamirShareBytes> raw;
    r.Raw(raw);
    if (!r.ok()) break;
    Result<ShamirShare> share = ShamirShare::Decode(raw);
    if (!share.ok()) {
      r.Fail(share.status().message());
      break;
    }
    s.share = *share;
    m.shares.push_back(s);
  }
  return m;
}

template <typename T>
bool StrictlyAscending(const std::vector<T>& v, auto key) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (!(key(v[i - 1]) < key(v[i]))) return false;
  }
  return true;
}

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Recovers a secret from shares and checks it with `valid`. When the shares do not all agree
// (or their common secret fails the check), tries subsets of `threshold` shares to find one whose
// secret passes, and names the holders whose shares are off that polynomial.
struct Recovered {
  Bytes32 secret;
  std::vector<uint32_t> bad_holders;
};

Result<Recovered> RecoverVerified(const std::vector<ShamirShare>& shares, uint32_t threshold,
                                  const std::function<bool(const Bytes32&)>& valid) {
  if (shares.size() < threshold) {
    return Status::FailedPrecondition(
        fmt::format("{} shares where {} are needed", shares.size(), threshold));
  }
  Result<Bytes32> all = crypto::ShamirCombine(shares, threshold);
  if (all.ok() && valid(*all)) return Recovered{*all, {}};
  // Enumerate threshold-subsets in lexicographic order (bounded work).
  constexpr int kMaxSubsets = 20000;
  std::vector<size_t> idx(threshold);
  for (size_t i = 0; i < threshold; ++i) idx[i] = i;
  const size_t n = shares.size();
  for (int tried = 0; tried < kMaxSubsets; ++tried) {
    std::vector<ShamirShare> basis;
    for (size_t i : idx) basis.push_back(shares[i]);
    Result<Bytes32> s = crypto::ShamirCombine(basis, threshold);
    if (s.ok() && valid(*s)) {
      Recovered out{*s, {}};
      for (const auto& sh : shares) {
        Result<ShamirShare> expect = crypto::ShamirInterpolate(basis, sh.x);
        if (!expect.ok() || expect->y != sh.y) out.bad_holders.push_back(sh.x);
      }
      return out;
    }
    // Next combination.
    size_t i = threshold;
    while (i > 0 && idx[i - 1] == n - threshold + i - 1) --i;
    if (i == 0) break;
    ++idx[i - 1];
    for (size_t j = i; j < threshold; ++j) idx[j] = idx[j - 1] + 1;
  }
  return Status::DataLoss(
      "no subset of the revealed shares recovers a secret that matches its "
      "commitment: too many shares were tampered with");
}

}  // namespace

// ---- Configuration ----

Status ValidateConfig(const SessionConfig& c) {
  const size_t n = c.participants.size();
  if (c.study_id.size() > kMaxStudyIdBytes) {
    return Status::InvalidArgument("secure aggregation: study id longer than 1024 bytes");
  }
  if (n < 2 || n > kMaxParticipants) {
    return Status::InvalidArgument(fmt::format(
        "secure aggregation: needs between 2 and {} participants (got {})", kMaxParticipants, n));
  }
  if (!StrictlyAscending(c.participants, [](uint32_t x) { return x; })) {
    return Status::InvalidArgument(
        "secure aggregation: participant indices must be distinct and sorted");
  }
  if (c.participants.front() < 1 || c.participants.back() > kMaxParticipants) {
    return Status::InvalidArgument(fmt::format(
        "secure aggregation: participant indices must be between 1 and {}", kMaxParticipants));
  }
  if (c.threshold <= n / 2 || c.threshold > n) {
    return Status::InvalidArgument(fmt::format(
        "secure aggregation: threshold {} must be more than half of the {} participants and at "
        "most {} (e.g. {})",
        c.threshold, n, n, DefaultThreshold(static_cast<uint32_t>(n))));
  }
  if (c.vector_length < 1 || c.vector_length > kMaxVectorLength) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: vector length must be between 1 and {} (got {})",
                    kMaxVectorLength, c.vector_length));
  }
  if (!c.identity_keys.empty()) {
    if (c.identity_keys.size() != n) {
      return Status::InvalidArgument(
          "secure aggregation: identity keys must be given for every participant or none");
    }
    for (uint32_t p : c.participants) {
      if (!c.identity_keys.count(p)) {
        return Status::InvalidArgument(
            fmt::format("secure aggregation: no identity key for participant {}", p));
      }
    }
  }
  return Status::Ok();
}

Bytes32 SessionId(const SessionConfig& c) {
  ByteWriter w;
  w.Raw(Bytes(kDomain));
  w.Raw(Bytes("/session"));
  w.Str(c.study_id);
  w.U32(c.round);
  w.U32(c.threshold);
  w.U64(c.vector_length);
  PutU32List(w, c.participants);
  w.U32(static_cast<uint32_t>(c.identity_keys.size()));
  for (const auto& [idx, key] : c.identity_keys) {
    w.U32(idx);
    w.Raw(key);
  }
  return crypto::Sha256(w.bytes());
}

uint32_t DefaultThreshold(uint32_t n) { return n / 2 + 1; }

std::map<std::string, uint32_t> AssignIndices(std::vector<std::string> node_ids) {
  std::sort(node_ids.begin(), node_ids.end());
  node_ids.erase(std::unique(node_ids.begin(), node_ids.end()), node_ids.end());
  std::map<std::string, uint32_t> out;
  for (size_t i = 0; i < node_ids.size(); ++i) out[node_ids[i]] = static_cast<uint32_t>(i + 1);
  return out;
}

// ---- Encoding ----

#define PASSERELLE_SECAGG_CODEC(Type, tag, put, get)                                  \
  std::vector<uint8_t> Encode(const Bytes32& session, const Type& m) {                \
    ByteWriter w;                                                                     \
    Header(w, tag, session);                                                          \
    put(w, m);                                                                        \
    return w.Take();                                                                  \
  }                                                                                   \
  template <>                                                                         \
  Result<Type> Decode<Type>(std::span<const uint8_t> bytes, const Bytes32& session) { \
    ByteReader r(bytes, "secure aggregation " #Type " message");                      \
    ReadHeader(r, tag, session);                                                      \
    Type m = get(r);                                                                  \
    RETURN_IF_ERROR(r.Finish());                                                      \
    return m;                                                                         \
  }

void PutDirectory(ByteWriter& w, const KeyDirectory& m) {
  w.U32(static_cast<uint32_t>(m.keys.size()));
  for (const auto& a : m.keys) PutAdvert(w, a);
}
KeyDirectory GetDirectory(ByteReader& r) {
  KeyDirectory m;
  const uint32_t n = r.Count(kMaxParticipants, 69);
  for (uint32_t i = 0; i < n && r.ok(); ++i) m.keys.push_back(GetAdvert(r));
  return m;
}
void PutSharesFor(ByteWriter& w, const SharesForClient& m) {
  w.U32(m.recipient);
  PutSealedList(w, m.shares);
}
SharesForClient GetSharesFor(ByteReader& r) {
  SharesForClient m;
  m.recipient = r.U32();
  m.shares = GetSealedList(r);
  return m;
}
void PutSurvivorSig(ByteWriter& w, const SurvivorSignature& m) {
  w.U32(m.sender);
  w.Raw(m.signature);
}
SurvivorSignature GetSurvivorSig(ByteReader& r) {
  SurvivorSignature m;
  m.sender = r.U32();
  r.Raw(m.signature);
  return m;
}

PASSERELLE_SECAGG_CODEC(AdvertiseKeys, kTypeAdvertise, PutAdvert, GetAdvert)
PASSERELLE_SECAGG_CODEC(KeyDirectory, kTypeDirectory, PutDirectory, GetDirectory)
PASSERELLE_SECAGG_CODEC(ShareKeys, kTypeShareKeys, PutShareKeys, GetShareKeys)
PASSERELLE_SECAGG_CODEC(SharesForClient, kTypeSharesForClient, PutSharesFor, GetSharesFor)
PASSERELLE_SECAGG_CODEC(MaskedInput, kTypeMaskedInput, PutMasked, GetMasked)
PASSERELLE_SECAGG_CODEC(SurvivorList, kTypeSurvivorList, PutSurvivors, GetSurvivors)
PASSERELLE_SECAGG_CODEC(SurvivorSignature, kTypeSurvivorSignature, PutSurvivorSig, GetSurvivorSig)
PASSERELLE_SECAGG_CODEC(UnmaskResponse, kTypeUnmaskResponse, PutUnmask, GetUnmask)
#undef PASSERELLE_SECAGG_CODEC

// ---- Client ----

struct Client::State {
  enum class Stage { kNew, kAdvertised, kShared, kMasked, kSigned, kDone };

  State(const SessionConfig& c, RandomSource& r) : config(c), random(r) {}
  ~State() {
    crypto::SecureZero(b);
    Wipe();
  }
  void Wipe() {
    crypto::SecureZero(b);
    crypto::SecureZero(c_keys.secret_key);
    crypto::SecureZero(s_keys.secret_key);
    for (auto* m : {&b_shares, &sk_shares}) {
      for (auto& [owner, sh] : *m) sh.y.fill(0);
      m->clear();
    }
    for (auto& [peer, key] : share_keys) crypto::SecureZero(key);
    share_keys.clear();
  }

  SessionConfig config;
  RandomSource& random;
  std::optional<crypto::SigningKey> identity;
  Stage stage = Stage::kNew;
  crypto::X25519KeyPair c_keys, s_keys;
  Bytes32 b{};  // self-mask seed
  std::map<uint32_t, AdvertiseKeys> u1;
  std::set<uint32_t> u2;
  // Shares this node holds (at x = self) of each owner's secrets, own ones included.
  std::map<uint32_t, ShamirShare> b_shares, sk_shares;
  std::optional<std::vector<uint32_t>> committed_survivors;
  // Sealing key shared with each peer (from round 1, reused to open its share in round 2).
  std::map<uint32_t, Bytes32> share_keys;
};

Client::Client(std::unique_ptr<State> s, uint32_t self, Bytes32 session)
    : state_(std::move(s)), self_(self), session_(session) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(const SessionConfig& config, uint32_t self,
                                               RandomSource& random,
                                               const crypto::SigningKey* identity) {
  RETURN_IF_ERROR(ValidateConfig(config));
  if (!std::binary_search(config.participants.begin(), config.participants.end(), self)) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} is not a participant of the session", self));
  }
  auto state = std::make_unique<State>(config, random);
  if (!config.identity_keys.empty()) {
    if (identity == nullptr) {
      return Status::InvalidArgument(
          "secure aggregation: the session uses identity keys but this node has none");
    }
    if (identity->public_key() != config.identity_keys.at(self)) {
      return Status::InvalidArgument(
          "secure aggregation: this node's identity key differs from the session's");
    }
    state->identity = *identity;
  }
  return std::unique_ptr<Client>(new Client(std::move(state), self, SessionId(config)));
}

Result<AdvertiseKeys> Client::AdvertiseRound() {
  State& s = *state_;
  if (s.stage != State::Stage::kNew) {
    return Status::FailedPrecondition("secure aggregation: keys were already advertised");
  }
  s.c_keys = crypto::X25519KeyPair::Generate(s.random);
  s.s_keys = crypto::X25519KeyPair::Generate(s.random);
  s.random.Fill(s.b);
  AdvertiseKeys m{self_, s.c_keys.public_key, s.s_keys.public_key, std::nullopt};
  if (s.identity) m.signature = s.identity->Sign(AdvertiseSigned(session_, m));
  s.stage = State::Stage::kAdvertised;
  return m;
}

Result<ShareKeys> Client::ShareKeysRound(const KeyDirectory& u1) {
  State& s = *state_;
  if (s.stage != State::Stage::kAdvertised) {
    return Status::FailedPrecondition("secure aggregation: share-keys round out of order");
  }
  if (!StrictlyAscending(u1.keys, [](const AdvertiseKeys& a) { return a.sender; })) {
    return Status::InvalidArgument("secure aggregation: key directory not sorted by node");
  }
  if (u1.keys.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: only {} advertised keys; the threshold is {}",
                    Plural(u1.keys.size(), "node", "nodes"), s.config.threshold));
  }
  std::set<Bytes32> seen_keys;
  bool found_self = false;
  for (const auto& a : u1.keys) {
    if (!std::binary_search(s.config.participants.begin(), s.config.participants.end(), a.sender)) {
      return Status::InvalidArgument(fmt::format(
          "secure aggregation: key directory lists node {}, not a participant", a.sender));
    }
    if (!seen_keys.insert(a.c_pk).second || !seen_keys.insert(a.s_pk).second) {
      return Status::InvalidArgument(
          fmt::format("secure aggregation: node {} reuses a public key", a.sender));
    }
    if (!s.config.identity_keys.empty()) {
      if (!a.signature || !crypto::VerifySignature(s.config.identity_keys.at(a.sender),
                                                   AdvertiseSigned(session_, a), *a.signature)) {
        return Status::Unauthenticated(fmt::format(
            "secure aggregation: the keys advertised for node {} are not signed by it", a.sender));
      }
    }
    if (a.sender == self_) {
      if (a.c_pk != s.c_keys.public_key || a.s_pk != s.s_keys.public_key) {
        return Status::DataLoss(
            "secure aggregation: the key directory replaces this node's own keys");
      }
      found_self = true;
    }
  }
  if (!found_self) {
    return Status::FailedPrecondition("secure aggregation: this node is not in the key directory");
  }
  for (const auto& a : u1.keys) s.u1[a.sender] = a;

  std::vector<uint32_t> xs;
  for (const auto& a : u1.keys) xs.push_back(a.sender);
  ASSIGN_OR_RETURN(std::vector<ShamirShare> b_split,
                   crypto::ShamirSplit(s.b, s.config.threshold, xs, s.random));
  ASSIGN_OR_RETURN(std::vector<ShamirShare> sk_split,
                   crypto::ShamirSplit(s.s_keys.secret_key, s.config.threshold, xs, s.random));

  ShareKeys out;
  out.sender = self_;
  out.self_mask_commitment = SelfMaskCommitment(session_, self_, s.b);
  for (size_t i = 0; i < xs.size(); ++i) {
    const uint32_t v = xs[i];
    if (v == self_) {
      s.b_shares[self_] = b_split[i];
      s.sk_shares[self_] = sk_split[i];
      continue;
    }
    ASSIGN_OR_RETURN(Bytes32 key, PairKey("share-key", session_, self_, s.c_keys.secret_key,
                                          s.c_keys.public_key, v, s.u1[v].c_pk));
    s.share_keys[v] = key;
    ByteWriter plain;
    plain.U32(self_);
    plain.U32(v);
    plain.Raw(sk_split[i].Encode());
    plain.Raw(b_split[i].Encode());
    out.shares.push_back({v, crypto::AeadSeal(key, plain.bytes(),
                                              ShareAssociatedData(session_, self_, v), s.random)});
    crypto::SecureZero(plain.bytes());
    crypto::SecureZero(key);
  }
  for (auto* split : {&b_split, &sk_split}) {
    for (auto& sh : *split) sh.y.fill(0);
  }
  s.stage = State::Stage::kShared;
  return out;
}

Result<MaskedInput> Client::MaskedInputRound(const SharesForClient& u2,
                                             std::span<const uint64_t> input) {
  State& s = *state_;
  if (s.stage != State::Stage::kShared) {
    return Status::FailedPrecondition("secure aggregation: masked-input round out of order");
  }
  if (input.size() != s.config.vector_length) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: input has {} values, the session expects {}", input.size(),
                    s.config.vector_length));
  }
  if (u2.recipient != self_) {
    return Status::InvalidArgument("secure aggregation: shares addressed to another node");
  }
  if (!StrictlyAscending(u2.shares, [](const SealedShare& x) { return x.peer; })) {
    return Status::InvalidArgument("secure aggregation: shares not sorted by sender");
  }
  if (u2.shares.size() + 1 < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: only {} shared keys; the threshold is {}",
                    Plural(u2.shares.size() + 1, "node", "nodes"), s.config.threshold));
  }
  // Open every share before anything is sent: a tampered share stops this node here.
  std::map<uint32_t, ShamirShare> b_in, sk_in;
  for (const auto& sealed : u2.shares) {
    const uint32_t v = sealed.peer;
    if (v == self_ || !s.u1.count(v)) {
      return Status::InvalidArgument(fmt::format(
          "secure aggregation: a share comes from node {}, which is not a peer in U1", v));
    }
    Result<std::vector<uint8_t>> plain = crypto::AeadOpen(s.share_keys.at(v), sealed.sealed,
                                                          ShareAssociatedData(session_, v, self_));
    if (!plain.ok()) {
      return Status::DataLoss(fmt::format(
          "secure aggregation: the sealed share from node {} failed authentication (tampered "
          "with or corrupted on the way); this node stops the round",
          v));
    }
    ByteReader r(*plain, "secure aggregation share");
    const uint32_t from = r.U32(), to = r.U32();
    std::array<uint8_t, crypto::kShamirShareBytes> sk_raw, b_raw;
    r.Raw(sk_raw);
    r.Raw(b_raw);
    RETURN_IF_ERROR(r.Finish());
    crypto::SecureZero(*plain);
    if (from != v || to != self_) {
      return Status::DataLoss(
          fmt::format("secure aggregation: the share from node {} names other nodes", v));
    }
    ASSIGN_OR_RETURN(ShamirShare sk_share, ShamirShare::Decode(sk_raw));
    ASSIGN_OR_RETURN(ShamirShare b_share, ShamirShare::Decode(b_raw));
    crypto::SecureZero(sk_raw);
    crypto::SecureZero(b_raw);
    if (sk_share.x != self_ || b_share.x != self_) {
      return Status::DataLoss(fmt::format(
          "secure aggregation: the share from node {} is not for this node's index", v));
    }
    sk_in[v] = sk_share;
    b_in[v] = b_share;
  }
  for (auto& [v, sh] : b_in) s.b_shares[v] = sh;
  for (auto& [v, sh] : sk_in) s.sk_shares[v] = sh;
  s.u2.insert(self_);
  for (const auto& sealed : u2.shares) s.u2.insert(sealed.peer);

  // y = x + PRG(b) + sum_{v > self} PRG(s_uv) - sum_{v < self} PRG(s_uv), in one pass.
  std::vector<Bytes32> seeds;
  seeds.reserve(s.u2.size());
  std::vector<crypto::PrgTerm> terms;
  terms.push_back({&s.b, false});
  for (uint32_t v : s.u2) {
    if (v == self_) continue;
    ASSIGN_OR_RETURN(Bytes32 seed, PairKey("pair-mask", session_, self_, s.s_keys.secret_key,
                                           s.s_keys.public_key, v, s.u1[v].s_pk));
    seeds.push_back(seed);
    terms.push_back({&seeds.back(), /*subtract=*/v < self_});
  }
  MaskedInput out;
  out.sender = self_;
  out.masked.assign(input.begin(), input.end());
  crypto::PrgAccumulate(terms, out.masked);
  for (auto& seed : seeds) crypto::SecureZero(seed);
  s.stage = State::Stage::kMasked;
  return out;
}

Status Client::CheckSurvivors(const SurvivorList& u3, bool need_signatures) {
  State& s = *state_;
  const auto& list = u3.survivors;
  if (!StrictlyAscending(list, [](uint32_t x) { return x; })) {
    return Status::InvalidArgument("secure aggregation: survivor list not sorted");
  }
  if (list.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: only {} sent masked input; the threshold is {}",
                    Plural(list.size(), "node", "nodes"), s.config.threshold));
  }
  for (uint32_t u : list) {
    if (!s.u2.count(u)) {
      return Status::InvalidArgument(fmt::format(
          "secure aggregation: survivor list names node {}, which did not share keys", u));
    }
  }
  if (!std::binary_search(list.begin(), list.end(), self_)) {
    return Status::FailedPrecondition("secure aggregation: this node is not in the survivor list");
  }
  if (s.committed_survivors && *s.committed_survivors != list) {
    return Status::PermissionDenied(
        "secure aggregation: the hub sent a second, different survivor list; this node "
        "answers only one per session");
  }
  if (need_signatures) {
    const std::vector<uint8_t> msg = SurvivorsSigned(session_, list);
    std::set<uint32_t> signers;
    for (const auto& [signer, sig] : u3.signatures) {
      if (!std::binary_search(list.begin(), list.end(), signer)) {
        return Status::InvalidArgument(
            fmt::format("secure aggregation: survivor list signed by non-survivor {}", signer));
      }
      if (!crypto::VerifySignature(s.config.identity_keys.at(signer), msg, sig)) {
        return Status::Unauthenticated(fmt::format(
            "secure aggregation: node {}'s signature of the survivor list is invalid", signer));
      }
      signers.insert(signer);
    }
    if (signers.size() < s.config.threshold) {
      return Status::Unauthenticated(fmt::format(
          "secure aggregation: the survivor list carries {} valid signatures; {} are needed",
          signers.size(), s.config.threshold));
    }
  }
  return Status::Ok();
}

Result<SurvivorSignature> Client::ConsistencyRound(const SurvivorList& u3) {
  State& s = *state_;
  if (!s.identity) {
    return Status::FailedPrecondition(
        "secure aggregation: the consistency round needs identity keys");
  }
  if (s.stage != State::Stage::kMasked) {
    return Status::FailedPrecondition("secure aggregation: consistency round out of order");
  }
  RETURN_IF_ERROR(CheckSurvivors(u3, /*need_signatures=*/false));
  s.committed_survivors = u3.survivors;
  s.stage = State::Stage::kSigned;
  return SurvivorSignature{self_, s.identity->Sign(SurvivorsSigned(session_, u3.survivors))};
}

Result<UnmaskResponse> Client::UnmaskRound(const SurvivorList& u3) {
  State& s = *state_;
  const bool signed_session = s.identity.has_value();
  const State::Stage expected = signed_session ? State::Stage::kSigned : State::Stage::kMasked;
  if (s.stage == State::Stage::kDone) {
    return Status::FailedPrecondition("secure aggregation: this node already unmasked");
  }
  if (s.stage != expected) {
    return Status::FailedPrecondition("secure aggregation: unmask round out of order");
  }
  RETURN_IF_ERROR(CheckSurvivors(u3, signed_session));
  s.committed_survivors = u3.survivors;
  UnmaskResponse out;
  out.sender = self_;
  for (uint32_t v : s.u2) {
    const bool survived = std::binary_search(u3.survivors.begin(), u3.survivors.end(), v);
    if (survived) {
      out.shares.push_back({v, ShareKind::kSelfMaskSeed, s.b_shares.at(v)});
    } else {
      out.shares.push_back({v, ShareKind::kMaskSecretKey, s.sk_shares.at(v)});
    }
  }
  s.Wipe();
  s.stage = State::Stage::kDone;
  return out;
}

// ---- Server ----

struct Server::State {
  SessionConfig config;
  Bytes32 session{};
  Stage stage = Stage::kAdvertise;
  std::map<uint32_t, AdvertiseKeys> adverts;  // U1 once closed
  std::map<uint32_t, ShareKeys> share_keys;   // U2 once closed
  std::map<uint32_t, MaskedInput> masked;     // U3 once closed
  std::optional<std::vector<uint32_t>> survivors;
  std::map<uint32_t, crypto::Signature> signatures;
  std::map<uint32_t, UnmaskResponse> unmask;
  std::optional<AggregateResult> result;

  bool InU3(uint32_t u) const {
    return survivors && std::binary_search(survivors->begin(), survivors->end(), u);
  }
};

Server::Server(std::unique_ptr<State> s) : state_(std::move(s)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Create(const SessionConfig& config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  auto s = std::make_unique<State>();
  s->config = config;
  s->session = SessionId(config);
  return std::unique_ptr<Server>(new Server(std::move(s)));
}

Server::Stage Server::stage() const { return state_->stage; }
const Bytes32& Server::session_id() const { return state_->session; }

namespace {
Status WrongStage(std::string_view what) {
  return Status::FailedPrecondition(fmt::format(
      "secure aggregation: {} arrived after its round closed or before it opened", what));
}
}  // namespace

Status Server::AddAdvertisement(const AdvertiseKeys& m) {
  State& s = *state_;
  if (s.stage != Stage::kAdvertise) return WrongStage("an advertisement");
  const auto& p = s.config.participants;
  if (!std::binary_search(p.begin(), p.end(), m.sender)) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} is not a participant", m.sender));
  }
  if (s.adverts.count(m.sender)) {
    return Status::AlreadyExists(
        fmt::format("secure aggregation: node {} already advertised its keys", m.sender));
  }
  if (m.c_pk == m.s_pk) {
    return Status::InvalidArgument("secure aggregation: the two advertised keys are equal");
  }
  for (const auto& [u, a] : s.adverts) {
    if (a.c_pk == m.c_pk || a.s_pk == m.s_pk || a.c_pk == m.s_pk || a.s_pk == m.c_pk) {
      return Status::InvalidArgument(fmt::format(
          "secure aggregation: node {} advertises a key node {} already uses", m.sender, u));
    }
  }
  if (!s.config.identity_keys.empty()) {
    if (!m.signature || !crypto::VerifySignature(s.config.identity_keys.at(m.sender),
                                                 AdvertiseSigned(s.session, m), *m.signature)) {
      return Status::Unauthenticated(fmt::format(
          "secure aggregation: node {}'s advertisement is not signed with its identity key",
          m.sender));
    }
  }
  s.adverts[m.sender] = m;
  return Status::Ok();
}

Result<KeyDirectory> Server::CloseAdvertiseRound() {
  State& s = *state_;
  if (s.stage != Stage::kAdvertise) return WrongStage("closing the advertise round");
  if (s.adverts.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: {} of {} nodes advertised keys; at least {} are needed",
                    s.adverts.size(), s.config.participants.size(), s.config.threshold));
  }
  KeyDirectory d;
  for (const auto& [u, a] : s.adverts) d.keys.push_back(a);
  s.stage = Stage::kShareKeys;
  return d;
}

Status Server::AddShareKeys(const ShareKeys& m) {
  State& s = *state_;
  if (s.stage != Stage::kShareKeys) return WrongStage("shared keys");
  if (!s.adverts.count(m.sender)) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} shares keys but did not advertise", m.sender));
  }
  if (s.share_keys.count(m.sender)) {
    return Status::AlreadyExists(
        fmt::format("secure aggregation: node {} already shared its keys", m.sender));
  }
  std::vector<uint32_t> expected;
  for (const auto& [u, a] : s.adverts) {
    if (u != m.sender) expected.push_back(u);
  }
  if (m.shares.size() != expected.size()) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} sent {} sealed shares for {} peers", m.sender,
                    m.shares.size(), expected.size()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (m.shares[i].peer != expected[i] || m.shares[i].sealed.size() != kSealedShareBytes) {
      return Status::InvalidArgument(fmt::format(
          "secure aggregation: node {}'s sealed shares do not match the key directory", m.sender));
    }
  }
  s.share_keys[m.sender] = m;
  return Status::Ok();
}

Result<std::map<uint32_t, SharesForClient>> Server::CloseShareKeysRound() {
  State& s = *state_;
  if (s.stage != Stage::kShareKeys) return WrongStage("closing the share-keys round");
  if (s.share_keys.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: {} nodes shared keys; at least {} are needed",
                    s.share_keys.size(), s.config.threshold));
  }
  std::map<uint32_t, SharesForClient> out;
  for (const auto& [v, unused] : s.share_keys) {
    SharesForClient& m = out[v];
    m.recipient = v;
    for (const auto& [u, sk] : s.share_keys) {
      if (u == v) continue;
      for (const auto& sealed : sk.shares) {
        if (sealed.peer == v) m.shares.push_back({u, sealed.sealed});
      }
    }
  }
  s.stage = Stage::kMaskedInput;
  return out;
}

Status Server::AddMaskedInput(const MaskedInput& m) {
  State& s = *state_;
  if (s.stage != Stage::kMaskedInput) return WrongStage("a masked input");
  if (!s.share_keys.count(m.sender)) {
    return Status::InvalidArgument(fmt::format(
        "secure aggregation: node {} sent a masked input but did not share keys", m.sender));
  }
  if (s.masked.count(m.sender)) {
    return Status::AlreadyExists(
        fmt::format("secure aggregation: node {} already sent its masked input", m.sender));
  }
  if (m.masked.size() != s.config.vector_length) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} sent {} values, the session expects {}", m.sender,
                    m.masked.size(), s.config.vector_length));
  }
  s.masked[m.sender] = m;
  return Status::Ok();
}

Result<SurvivorList> Server::CloseMaskedInputRound() {
  State& s = *state_;
  if (s.stage != Stage::kMaskedInput) return WrongStage("closing the masked-input round");
  if (s.masked.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: {} nodes sent masked input; at least {} are needed",
                    s.masked.size(), s.config.threshold));
  }
  SurvivorList out;
  for (const auto& [u, unused] : s.masked) out.survivors.push_back(u);
  s.survivors = out.survivors;
  s.stage = s.config.identity_keys.empty() ? Stage::kUnmask : Stage::kConsistency;
  return out;
}

Status Server::AddSurvivorSignature(const SurvivorSignature& m) {
  State& s = *state_;
  if (s.stage != Stage::kConsistency) return WrongStage("a survivor-list signature");
  if (!s.InU3(m.sender)) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} is not a survivor", m.sender));
  }
  if (!crypto::VerifySignature(s.config.identity_keys.at(m.sender),
                               SurvivorsSigned(s.session, *s.survivors), m.signature)) {
    return Status::Unauthenticated(fmt::format(
        "secure aggregation: node {}'s signature of the survivor list is invalid", m.sender));
  }
  s.signatures[m.sender] = m.signature;
  return Status::Ok();
}

Result<SurvivorList> Server::CloseConsistencyRound() {
  State& s = *state_;
  if (s.stage != Stage::kConsistency) return WrongStage("closing the consistency round");
  if (s.signatures.size() < s.config.threshold) {
    return Status::FailedPrecondition(
        fmt::format("secure aggregation: {} nodes signed the survivor list; at least {} are needed",
                    s.signatures.size(), s.config.threshold));
  }
  SurvivorList out;
  out.survivors = *s.survivors;
  for (const auto& [u, sig] : s.signatures) out.signatures.emplace_back(u, sig);
  s.stage = Stage::kUnmask;
  return out;
}

Status Server::AddUnmaskResponse(const UnmaskResponse& m) {
  State& s = *state_;
  if (s.stage != Stage::kUnmask) return WrongStage("an unmask response");
  if (!s.InU3(m.sender)) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} is not a survivor", m.sender));
  }
  if (s.unmask.count(m.sender)) {
    return Status::AlreadyExists(
        fmt::format("secure aggregation: node {} already answered the unmask round", m.sender));
  }
  if (m.shares.size() != s.share_keys.size()) {
    return Status::InvalidArgument(
        fmt::format("secure aggregation: node {} revealed {} shares where {} are expected",
                    m.sender, m.shares.size(), s.share_keys.size()));
  }
  std::set<uint32_t> owners;
  for (const auto& r : m.shares) {
    if (!s.share_keys.count(r.owner) || !owners.insert(r.owner).second) {
      return Status::InvalidArgument(
          fmt::format("secure aggregation: node {} revealed a share of an unexpected node {}",
                      m.sender, r.owner));
    }
    const ShareKind want = s.InU3(r.owner) ? ShareKind::kSelfMaskSeed : ShareKind::kMaskSecretKey;
    if (r.kind != want) {
      return Status::PermissionDenied(
          fmt::format("secure aggregation: node {} revealed the wrong kind of share for node {}",
                      m.sender, r.owner));
    }
    if (r.share.x != m.sender) {
      return Status::InvalidArgument(
          fmt::format("secure aggregation: node {} revealed a share at another index", m.sender));
    }
  }
  s.unmask[m.sender] = m;
  return Status::Ok();
}

Result<AggregateResult> Server::Finish() {
  State& s = *state_;
  if (s.stage == Stage::kDone) return *s.result;
  if (s.stage != Stage::kUnmask) return WrongStage("finishing");
  const uint32_t t = s.config.threshold;
  if (s.unmask.size() < t) {
    return Status::FailedPrecondition(fmt::format(
        "secure aggregation: {} nodes answered the unmask round; at least {} are needed",
        s.unmask.size(), t));
  }
  AggregateResult out;
  out.included = *s.survivors;
  for (const auto& [u, unused] : s.share_keys) {
    if (!s.InU3(u)) out.dropped.push_back(u);
  }
  out.sum.assign(s.config.vector_length, 0);
  for (const auto& [u, m] : s.masked) {
    for (size_t i = 0; i < out.sum.size(); ++i) out.sum[i] += m.masked[i];
  }
  std::set<uint32_t> tampered;
  // Seeds of every mask to remove, then one pass over the sum.
  std::vector<Bytes32> seeds;
  seeds.reserve(out.included.size() * (1 + out.dropped.size()));
  std::vector<crypto::PrgTerm> terms;
  auto shares_of = [&](uint32_t owner) {
    std::vector<ShamirShare> v;
    for (const auto& [holder, resp] : s.unmask) {
      for (const auto& r : resp.shares) {
        if (r.owner == owner) v.push_back(r.share);
      }
    }
    return v;
  };
  for (uint32_t v : out.included) {
    const Bytes32 commitment = s.share_keys.at(v).self_mask_commitment;
    Result<Recovered> rec = RecoverVerified(shares_of(v), t, [&](const Bytes32& seed) {
      return SelfMaskCommitment(s.session, v, seed) == commitment;
    });
    if (!rec.ok()) {
      return rec.status().WithContext(
          fmt::format("secure aggregation: recovering node {}'s self-mask seed", v));
    }
    tampered.insert(rec->bad_holders.begin(), rec->bad_holders.end());
    seeds.push_back(rec->secret);
    terms.push_back({&seeds.back(), /*subtract=*/true});
    crypto::SecureZero(rec->secret);
  }
  for (uint32_t v : out.dropped) {
    const Bytes32 s_pk = s.adverts.at(v).s_pk;
    Result<Recovered> rec = RecoverVerified(
        shares_of(v), t, [&](const Bytes32& sk) { return crypto::X25519PublicKey(sk) == s_pk; });
    if (!rec.ok()) {
      return rec.status().WithContext(
          fmt::format("secure aggregation: recovering dropped node {}'s mask key", v));
    }
    tampered.insert(rec->bad_holders.begin(), rec->bad_holders.end());
    for (uint32_t u : out.included) {
      ASSIGN_OR_RETURN(Bytes32 seed, PairKey("pair-mask", s.session, v, rec->secret, s_pk, u,
                                             s.adverts.at(u).s_pk));
      // Node u added +PRG(s_uv) when u < v and -PRG(s_uv) otherwise; undo it.
      seeds.push_back(seed);
      terms.push_back({&seeds.back(), /*subtract=*/u < v});
      crypto::SecureZero(seed);
    }
    crypto::SecureZero(rec->secret);
  }
  crypto::PrgAccumulate(terms, out.sum);
  for (auto& seed : seeds) crypto::SecureZero(seed);
  out.tampered_share_holders.assign(tampered.begin(), tampered.end());
  s.result = out;
  s.stage = Stage::kDone;
  return out;
}

std::vector<uint8_t> Server::SerializeState() const {
  const State& s = *state_;
  ByteWriter w;
  w.Raw(kStateMagic);
  w.Str(s.config.study_id);
  w.U32(s.config.round);
  w.U32(s.config.threshold);
  w.U64(s.config.vector_length);
  PutU32List(w, s.config.participants);
  w.U32(static_cast<uint32_t>(s.config.identity_keys.size()));
  for (const auto& [u, k] : s.config.identity_keys) {
    w.U32(u);
    w.Raw(k);
  }
  w.U8(static_cast<uint8_t>(s.stage));
  w.U32(static_cast<uint32_t>(s.adverts.size()));
  for (const auto& [u, m] : s.adverts) PutAdvert(w, m);
  w.U32(static_cast<uint32_t>(s.share_keys.size()));
  for (const auto& [u, m] : s.share_keys) PutShareKeys(w, m);
  w.U32(static_cast<uint32_t>(s.masked.size()));
  for (const auto& [u, m] : s.masked) PutMasked(w, m);
  w.U8(s.survivors ? 1 : 0);
  if (s.survivors) PutU32List(w, *s.survivors);
  w.U32(static_cast<uint32_t>(s.signatures.size()));
  for (const auto& [u, sig] : s.signatures) {
    w.U32(u);
    w.Raw(sig);
  }
  w.U32(static_cast<uint32_t>(s.unmask.size()));
  for (const auto& [u, m] : s.unmask) PutUnmask(w, m);
  w.U8(s.result ? 1 : 0);
  if (s.result) {
    w.U64(s.result->sum.size());
    w.U64Array(s.result->sum);
    PutU32List(w, s.result->tampered_share_holders);
  }
  return w.Take();
}

Result<std::unique_ptr<Server>> Server::RestoreState(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "secure aggregation hub state");
  std::array<uint8_t, 4> magic;
  r.Raw(magic);
  if (r.ok() && !std::equal(magic.begin(), magic.end(), kStateMagic)) r.Fail("not a PSS1 state");
  SessionConfig c;
  c.study_id = r.Str(kMaxStudyIdBytes);
  c.round = r.U32();
  c.threshold = r.U32();
  c.vector_length = r.U64();
  c.participants = GetU32List(r);
  const uint32_t nk = r.Count(kMaxParticipants, 36);
  for (uint32_t i = 0; i < nk && r.ok(); ++i) {
    uint32_t u = r.U32();
    crypto::VerifyKey k;
    r.Raw(k);
    c.identity_keys[u] = k;
  }
  RETURN_IF_ERROR(r.status());
  RETURN_IF_ERROR(ValidateConfig(c));
  auto s = std::make_unique<State>();
  s->config = c;
  s->session = SessionId(c);
  const uint8_t stage = r.U8();
  if (stage > static_cast<uint8_t>(Stage::kDone)) r.Fail("bad stage");
  s->stage = static_cast<Stage>(stage);
  uint32_t n = r.Count(kMaxParticipants, 69);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    AdvertiseKeys m = GetAdvert(r);
    s->adverts[m.sender] = m;
  }
  n = r.Count(kMaxParticipants, 40);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    ShareKeys m = GetShareKeys(r);
    s->share_keys[m.sender] = m;
  }
  n = r.Count(kMaxParticipants, 12);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    MaskedInput m = GetMasked(r);
    if (r.ok() && m.masked.size() != c.vector_length) r.Fail("masked input of the wrong length");
    s->masked[m.sender] = m;
  }
  if (r.U8() == 1) s->survivors = GetU32List(r);
  n = r.Count(kMaxParticipants, 68);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    uint32_t u = r.U32();
    crypto::Signature sig;
    r.Raw(sig);
    s->signatures[u] = sig;
  }
  n = r.Count(kMaxParticipants, 8);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    UnmaskResponse m = GetUnmask(r);
    s->unmask[m.sender] = m;
  }
  if (r.U8() == 1) {
    AggregateResult res;
    const uint64_t len = r.U64();
    if (r.ok() && len != c.vector_length) r.Fail("result of the wrong length");
    res.sum = r.U64Array(len);
    res.tampered_share_holders = GetU32List(r);
    if (s->survivors) res.included = *s->survivors;
    for (const auto& [u, unused] : s->share_keys) {
      if (!s->InU3(u)) res.dropped.push_back(u);
    }
    s->result = res;
  }
  RETURN_IF_ERROR(r.Finish());
  if (s->stage == Stage::kDone && !s->result) {
    return Status::DataLoss("secure aggregation hub state: finished without a result");
  }
  return std::unique_ptr<Server>(new Server(std::move(s)));
}

}  // namespace passerelle::privacy::secagg
