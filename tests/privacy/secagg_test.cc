// Secure aggregation (Bonawitz et al. 2017): the protocol run end to end through its byte
// encodings, with nodes dropping out at each stage, tampering by the hub and by nodes, and an
// inspection of everything the hub holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>

#include "common/random.h"
#include "crypto/sign.h"
#include "privacy/fixed_point.h"
#include "privacy/secagg.h"

namespace passerelle::privacy::secagg {
namespace {

// Sends a message through its byte encoding, as the hub and nodes would.
template <typename M>
M Wire(const crypto::Bytes32& session, const M& m) {
  auto bytes = Encode(session, m);
  auto back = Decode<M>(bytes, session);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return std::move(back).value();
}

struct Plan {
  std::set<uint32_t> drop_before_share;   // advertise, then vanish
  std::set<uint32_t> drop_before_mask;    // share keys, then vanish
  std::set<uint32_t> drop_before_unmask;  // send masked input, then vanish
  std::function<void(SharesForClient&)> tamper_forwarded_shares;
  std::function<void(UnmaskResponse&)> tamper_unmask;
  std::function<void(SurvivorList&)> tamper_survivors;
  std::map<uint32_t, crypto::SigningKey> identities;
};

struct Outcome {
  Result<AggregateResult> result = Status::Internal("not run");
  std::vector<std::vector<uint8_t>> hub_snapshots;  // SerializeState after every hub step
  Status client_error;                              // first error a node reported
};

Outcome RunProtocol(const SessionConfig& config,
                    const std::map<uint32_t, std::vector<uint64_t>>& inputs, Plan plan = {}) {
  Outcome out;
  std::map<uint32_t, std::unique_ptr<DeterministicRandom>> rng;
  std::map<uint32_t, std::unique_ptr<Client>> clients;
  auto server = Server::Create(config);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  Server& hub = **server;
  const crypto::Bytes32 sid = hub.session_id();
  auto snap = [&] { out.hub_snapshots.push_back(hub.SerializeState()); };
  auto fail = [&](const Status& s) {
    if (out.client_error.ok()) out.client_error = s;
  };
  for (uint32_t u : config.participants) {
    rng[u] = std::make_unique<DeterministicRandom>(1000 + u);
    const crypto::SigningKey* id = plan.identities.count(u) ? &plan.identities.at(u) : nullptr;
    auto c = Client::Create(config, u, *rng[u], id);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    clients[u] = std::move(c).value();
  }
  // Round 0.
  for (auto& [u, c] : clients) {
    auto m = c->AdvertiseRound();
    EXPECT_TRUE(m.ok());
    EXPECT_TRUE(hub.AddAdvertisement(Wire(sid, *m)).ok());
  }
  snap();
  auto dir = hub.CloseAdvertiseRound();
  if (!dir.ok()) return out.result = dir.status(), out;
  snap();
  // Round 1.
  for (auto& [u, c] : clients) {
    if (plan.drop_before_share.count(u)) continue;
    auto m = c->ShareKeysRound(Wire(sid, *dir));
    if (!m.ok()) {
      fail(m.status());
      continue;
    }
    Status st = hub.AddShareKeys(Wire(sid, *m));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  snap();
  auto fwd = hub.CloseShareKeysRound();
  if (!fwd.ok()) return out.result = fwd.status(), out;
  snap();
  // Round 2.
  for (auto& [u, m] : *fwd) {
    if (plan.drop_before_share.count(u) || plan.drop_before_mask.count(u)) continue;
    SharesForClient in = Wire(sid, m);
    if (plan.tamper_forwarded_shares) plan.tamper_forwarded_shares(in);
    auto y = clients[u]->MaskedInputRound(in, inputs.at(u));
    if (!y.ok()) {
      fail(y.status());
      continue;
    }
    EXPECT_TRUE(hub.AddMaskedInput(Wire(sid, *y)).ok());
  }
  snap();
  auto u3 = hub.CloseMaskedInputRound();
  if (!u3.ok()) return out.result = u3.status(), out;
  snap();
  SurvivorList survivors = *u3;
  if (!config.identity_keys.empty()) {
    for (uint32_t u : survivors.survivors) {
      if (plan.drop_before_unmask.count(u)) continue;
      auto sig = clients[u]->ConsistencyRound(Wire(sid, survivors));
      if (!sig.ok()) {
        fail(sig.status());
        continue;
      }
      EXPECT_TRUE(hub.AddSurvivorSignature(Wire(sid, *sig)).ok());
    }
    auto signed_list = hub.CloseConsistencyRound();
    if (!signed_list.ok()) return out.result = signed_list.status(), out;
    survivors = *signed_list;
    snap();
  }
  if (plan.tamper_survivors) plan.tamper_survivors(survivors);
  // Round 3.
  for (uint32_t u : u3->survivors) {
    if (plan.drop_before_unmask.count(u)) continue;
    auto r = clients[u]->UnmaskRound(Wire(sid, survivors));
    if (!r.ok()) {
      fail(r.status());
      continue;
    }
    UnmaskResponse resp = Wire(sid, *r);
    if (plan.tamper_unmask) plan.tamper_unmask(resp);
    Status st = hub.AddUnmaskResponse(resp);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  snap();
  out.result = hub.Finish();
  snap();
  return out;
}

SessionConfig Config(uint32_t n, uint32_t t, uint64_t len) {
  SessionConfig c;
  c.study_id = "study-42";
  c.round = 3;
  for (uint32_t i = 1; i <= n; ++i) c.participants.push_back(i);
  c.threshold = t;
  c.vector_length = len;
  return c;
}

// Inputs with distinctive 64-bit patterns (so that finding one in the hub's bytes by chance is
// impossible), as fixed-point encodings of real statistics.
std::map<uint32_t, std::vector<uint64_t>> Inputs(const SessionConfig& c, uint64_t seed) {
  auto codec = FixedPointCodec::Create({}).value();
  Xoshiro256 g(seed);
  std::map<uint32_t, std::vector<uint64_t>> in;
  for (uint32_t u : c.participants) {
    std::vector<double> v(c.vector_length);
    for (auto& x : v) x = (g.NextDouble() - 0.3) * 1e6;
    in[u] = codec.Encode(v).value();
  }
  return in;
}

std::vector<uint64_t> PlainSum(const std::map<uint32_t, std::vector<uint64_t>>& in,
                               const std::set<uint32_t>& who) {
  std::vector<uint64_t> s(in.begin()->second.size(), 0);
  for (uint32_t u : who) {
    for (size_t i = 0; i < s.size(); ++i) s[i] += in.at(u)[i];
  }
  return s;
}

bool Contains(const std::vector<uint8_t>& hay, const void* needle, size_t n) {
  const auto* p = static_cast<const uint8_t*>(needle);
  return std::search(hay.begin(), hay.end(), p, p + n) != hay.end();
}

// No snapshot holds any node's plain vector, nor any single 8-byte value of it.
void ExpectNoPlainVector(const Outcome& o, const std::map<uint32_t, std::vector<uint64_t>>& in) {
  ASSERT_FALSE(o.hub_snapshots.empty());
  for (const auto& snap : o.hub_snapshots) {
    for (const auto& [u, v] : in) {
      EXPECT_FALSE(Contains(snap, v.data(), v.size() * 8)) << "node " << u;
      for (uint64_t x : v) {
        ASSERT_FALSE(Contains(snap, &x, 8)) << "a value of node " << u << " is in the hub state";
      }
    }
  }
}

TEST(SecAgg, ThreeNodesSumEqualsThePlainSum) {
  SessionConfig c = Config(3, 2, 64);
  auto in = Inputs(c, 1);
  Outcome o = RunProtocol(c, in);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->sum, PlainSum(in, {1, 2, 3}));
  EXPECT_EQ(o.result->included, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(o.result->dropped.empty());
  EXPECT_TRUE(o.result->tampered_share_holders.empty());
  // Decoded, it is the sum of the real values to within the fixed-point resolution.
  auto codec = FixedPointCodec::Create({}).value();
  const double got = codec.DecodeOne(o.result->sum[0]);
  const double want =
      codec.DecodeOne(in[1][0]) + codec.DecodeOne(in[2][0]) + codec.DecodeOne(in[3][0]);
  EXPECT_NEAR(got, want, 1e-6);
  ExpectNoPlainVector(o, in);
  // The search finds a plain vector when one is there (the check above can fail).
  std::vector<uint8_t> planted = o.hub_snapshots.back();
  const auto* raw = reinterpret_cast<const uint8_t*>(in[2].data());
  planted.insert(planted.end(), raw + 80, raw + 88);
  EXPECT_TRUE(Contains(planted, &in[2][10], 8));
}

TEST(SecAgg, NodeDroppingAfterSharingKeysLeavesTheExactSumOfTheOthers) {
  SessionConfig c = Config(3, 2, 257);
  auto in = Inputs(c, 2);
  Plan p;
  p.drop_before_mask = {2};
  Outcome o = RunProtocol(c, in, p);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->sum, PlainSum(in, {1, 3}));
  EXPECT_EQ(o.result->dropped, (std::vector<uint32_t>{2}));
  ExpectNoPlainVector(o, in);
}

TEST(SecAgg, NodeDroppingAfterSendingItsMaskedVectorIsStillCounted) {
  SessionConfig c = Config(3, 2, 100);
  auto in = Inputs(c, 3);
  Plan p;
  p.drop_before_unmask = {3};
  Outcome o = RunProtocol(c, in, p);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  // Its self-mask seed is rebuilt from the two survivors' shares: its input is in the sum.
  EXPECT_EQ(o.result->sum, PlainSum(in, {1, 2, 3}));
  EXPECT_EQ(o.result->included, (std::vector<uint32_t>{1, 2, 3}));
  ExpectNoPlainVector(o, in);
}

TEST(SecAgg, FiveNodesTwoDroppingAtDifferentStages) {
  SessionConfig c = Config(5, 3, 1000);
  auto in = Inputs(c, 4);
  Plan p;
  p.drop_before_share = {5};
  p.drop_before_mask = {1};
  Outcome o = RunProtocol(c, in, p);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->sum, PlainSum(in, {2, 3, 4}));
  EXPECT_EQ(o.result->dropped, (std::vector<uint32_t>{1}));
  ExpectNoPlainVector(o, in);
}

TEST(SecAgg, TooManyDropoutsFailWithoutRevealingAnything) {
  SessionConfig c = Config(3, 2, 10);
  auto in = Inputs(c, 5);
  Plan p;
  p.drop_before_mask = {1, 2};
  Outcome o = RunProtocol(c, in, p);
  EXPECT_EQ(o.result.status().code(), StatusCode::kFailedPrecondition);
  ExpectNoPlainVector(o, in);
}

TEST(SecAgg, AHubThatKeepsAllMaskedVectorsStillCannotUnmaskOne) {
  // The hub's own view: y_u minus anything it can compute from its state is never x_u. With
  // only its state it can rebuild self-mask seeds (after unmasking) but pairwise masks remain.
  SessionConfig c = Config(3, 2, 16);
  auto in = Inputs(c, 6);
  Outcome o = RunProtocol(c, in);
  ASSERT_TRUE(o.result.ok());
  auto final_state = Server::RestoreState(o.hub_snapshots.back());
  ASSERT_TRUE(final_state.ok()) << final_state.status().ToString();
  ExpectNoPlainVector(o, in);
}

TEST(SecAgg, TamperedSealedShareIsDetectedByItsRecipient) {
  SessionConfig c = Config(3, 2, 8);
  auto in = Inputs(c, 7);
  Plan p;
  p.tamper_forwarded_shares = [](SharesForClient& m) {
    if (m.recipient == 3) m.shares[0].sealed[40] ^= 0x04;  // the hub flips one bit
  };
  Outcome o = RunProtocol(c, in, p);
  EXPECT_EQ(o.client_error.code(), StatusCode::kDataLoss);
  EXPECT_NE(o.client_error.message().find("from node 1 failed authentication"), std::string::npos)
      << o.client_error.message();
  // Node 3 stopped before masking, so it counts as dropped; the others' sum is still exact.
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->sum, PlainSum(in, {1, 2}));
}

TEST(SecAgg, TamperedRevealedShareIsDetectedAndNamedByTheHub) {
  SessionConfig c = Config(4, 3, 32);
  auto in = Inputs(c, 8);
  Plan p;
  p.tamper_unmask = [](UnmaskResponse& r) {
    if (r.sender == 2) r.shares[0].share.y[1] = (r.shares[0].share.y[1] + 5) % crypto::kShamirPrime;
  };
  Outcome o = RunProtocol(c, in, p);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->tampered_share_holders, (std::vector<uint32_t>{2}));
  EXPECT_EQ(o.result->sum, PlainSum(in, {1, 2, 3, 4}));
}

TEST(SecAgg, TamperedShareWithoutSpareSharesStopsTheAggregation) {
  SessionConfig c = Config(3, 2, 4);
  auto in = Inputs(c, 9);
  Plan p;
  p.drop_before_unmask = {1};
  p.tamper_unmask = [](UnmaskResponse& r) {
    if (r.sender == 2) r.shares[1].share.y[0] ^= 1;
  };
  Outcome o = RunProtocol(c, in, p);
  EXPECT_EQ(o.result.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(o.result.status().message().find("commitment"), std::string::npos)
      << o.result.status().ToString();
}

TEST(SecAgg, NodesRefuseAHubThatLiesAboutWhoSurvived) {
  SessionConfig c = Config(3, 2, 4);
  auto in = Inputs(c, 10);
  // Without identity keys: a node answers one survivor list per session, so a hub cannot ask
  // it for node 3's self-mask share and then, with another list, for node 3's mask key share.
  std::map<uint32_t, std::unique_ptr<DeterministicRandom>> rng;
  std::map<uint32_t, std::unique_ptr<Client>> cl;
  auto hub = Server::Create(c).value();
  for (uint32_t u : c.participants) {
    rng[u] = std::make_unique<DeterministicRandom>(u);
    cl[u] = Client::Create(c, u, *rng[u]).value();
    ASSERT_TRUE(hub->AddAdvertisement(cl[u]->AdvertiseRound().value()).ok());
  }
  auto dir = hub->CloseAdvertiseRound().value();
  for (auto& [u, x] : cl) ASSERT_TRUE(hub->AddShareKeys(x->ShareKeysRound(dir).value()).ok());
  auto fwd = hub->CloseShareKeysRound().value();
  for (auto& [u, x] : cl) {
    ASSERT_TRUE(hub->AddMaskedInput(x->MaskedInputRound(fwd[u], in[u]).value()).ok());
  }
  auto u3 = hub->CloseMaskedInputRound().value();
  auto first = cl[1]->UnmaskRound(u3);
  ASSERT_TRUE(first.ok());
  for (const auto& r : first->shares) EXPECT_EQ(r.kind, ShareKind::kSelfMaskSeed);
  SurvivorList lie{{1, 2}, {}};
  EXPECT_FALSE(cl[1]->UnmaskRound(lie).ok());
  // A list naming a node that never shared keys, or leaving out the node itself, is refused.
  EXPECT_FALSE(cl[2]->UnmaskRound(SurvivorList{{1, 2, 3, 4}, {}}).ok());
  EXPECT_FALSE(cl[2]->UnmaskRound(SurvivorList{{1, 3}, {}}).ok());

  // With identity keys the lie needs signatures from t survivors over the forged list.
  SessionConfig ci = c;
  Plan pi;
  for (uint32_t u : ci.participants) {
    DeterministicRandom r(50 + u);
    pi.identities.emplace(u, crypto::SigningKey::Generate(r));
    ci.identity_keys[u] = pi.identities.at(u).public_key();
  }
  pi.tamper_survivors = [](SurvivorList& s) { s.survivors = {1, 2}; };
  Outcome oi = RunProtocol(ci, Inputs(ci, 10), pi);
  EXPECT_EQ(oi.client_error.code(), StatusCode::kPermissionDenied) << oi.client_error.ToString();
  EXPECT_FALSE(oi.result.ok());
}

TEST(SecAgg, SignedSessionRunsAndRejectsSubstitutedKeys) {
  SessionConfig c = Config(3, 2, 20);
  Plan p;
  for (uint32_t u : c.participants) {
    DeterministicRandom r(70 + u);
    p.identities.emplace(u, crypto::SigningKey::Generate(r));
    c.identity_keys[u] = p.identities.at(u).public_key();
  }
  auto in = Inputs(c, 11);
  p.drop_before_mask = {1};
  Outcome o = RunProtocol(c, in, p);
  ASSERT_TRUE(o.result.ok()) << o.result.status().ToString();
  EXPECT_EQ(o.result->sum, PlainSum(in, {2, 3}));

  // A hub that swaps node 2's advertised key for its own is caught by node 1.
  DeterministicRandom r(99);
  auto client = Client::Create(c, 1, r, &p.identities.at(1)).value();
  DeterministicRandom r2(98);
  auto other = Client::Create(c, 2, r2, &p.identities.at(2)).value();
  KeyDirectory dir;
  dir.keys.push_back(client->AdvertiseRound().value());
  AdvertiseKeys forged = other->AdvertiseRound().value();
  forged.s_pk[0] ^= 1;
  dir.keys.push_back(forged);
  EXPECT_EQ(client->ShareKeysRound(dir).status().code(), StatusCode::kUnauthenticated);
}

TEST(SecAgg, HubStateSurvivesARestartMidProtocol) {
  SessionConfig c = Config(3, 2, 50);
  auto in = Inputs(c, 12);
  std::map<uint32_t, std::unique_ptr<DeterministicRandom>> rng;
  std::map<uint32_t, std::unique_ptr<Client>> clients;
  auto hub = Server::Create(c).value();
  for (uint32_t u : c.participants) {
    rng[u] = std::make_unique<DeterministicRandom>(u);
    clients[u] = Client::Create(c, u, *rng[u]).value();
    ASSERT_TRUE(hub->AddAdvertisement(clients[u]->AdvertiseRound().value()).ok());
  }
  auto dir = hub->CloseAdvertiseRound().value();
  for (auto& [u, cl] : clients)
    ASSERT_TRUE(hub->AddShareKeys(cl->ShareKeysRound(dir).value()).ok());
  auto fwd = hub->CloseShareKeysRound().value();
  for (auto& [u, cl] : clients) {
    ASSERT_TRUE(hub->AddMaskedInput(cl->MaskedInputRound(fwd[u], in[u]).value()).ok());
  }
  // The hub process restarts here.
  auto restored = Server::RestoreState(hub->SerializeState());
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  hub = std::move(restored).value();
  EXPECT_EQ(hub->stage(), Server::Stage::kMaskedInput);
  auto u3 = hub->CloseMaskedInputRound().value();
  for (auto& [u, cl] : clients)
    ASSERT_TRUE(hub->AddUnmaskResponse(cl->UnmaskRound(u3).value()).ok());
  auto res = hub->Finish();
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->sum, PlainSum(in, {1, 2, 3}));
  // Finished state round-trips too and gives the same result.
  auto again = Server::RestoreState(hub->SerializeState()).value();
  EXPECT_EQ(again->Finish().value().sum, res->sum);
  // A corrupted state is refused, not half-loaded.
  auto bytes = hub->SerializeState();
  bytes.resize(bytes.size() - 3);
  EXPECT_FALSE(Server::RestoreState(bytes).ok());
}

TEST(SecAgg, ProtocolRulesAreEnforced) {
  SessionConfig c = Config(3, 2, 4);
  DeterministicRandom r(1);
  auto cl = Client::Create(c, 1, r).value();
  KeyDirectory empty;
  EXPECT_EQ(cl->ShareKeysRound(empty).status().code(), StatusCode::kFailedPrecondition);
  auto hub = Server::Create(c).value();
  EXPECT_FALSE(hub->CloseAdvertiseRound().ok());  // nobody advertised
  auto ad = cl->AdvertiseRound().value();
  EXPECT_TRUE(hub->AddAdvertisement(ad).ok());
  EXPECT_EQ(hub->AddAdvertisement(ad).code(), StatusCode::kAlreadyExists);
  AdvertiseKeys stranger = ad;
  stranger.sender = 9;
  EXPECT_EQ(hub->AddAdvertisement(stranger).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hub->AddMaskedInput({1, {1, 2, 3, 4}}).code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Client::Create(c, 4, r).ok());  // not a participant
}

TEST(SecAgg, ConfigurationIsValidated) {
  EXPECT_TRUE(ValidateConfig(Config(3, 2, 1)).ok());
  EXPECT_FALSE(ValidateConfig(Config(3, 1, 1)).ok());  // t <= n/2
  EXPECT_FALSE(ValidateConfig(Config(4, 2, 1)).ok());
  EXPECT_FALSE(ValidateConfig(Config(3, 4, 1)).ok());
  EXPECT_FALSE(ValidateConfig(Config(1, 1, 1)).ok());
  EXPECT_FALSE(ValidateConfig(Config(3, 2, 0)).ok());
  SessionConfig unsorted = Config(3, 2, 1);
  std::swap(unsorted.participants[0], unsorted.participants[1]);
  EXPECT_FALSE(ValidateConfig(unsorted).ok());
  EXPECT_EQ(DefaultThreshold(3), 2u);
  EXPECT_EQ(DefaultThreshold(4), 3u);
  auto idx = AssignIndices({"qc-chum", "fr-aphp", "fr-hdh", "fr-aphp"});
  EXPECT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx["fr-aphp"], 1u);
  EXPECT_EQ(idx["qc-chum"], 3u);
  // Any change of the configuration changes the session id.
  SessionConfig a = Config(3, 2, 10), b = a;
  b.round = 4;
  EXPECT_NE(SessionId(a), SessionId(b));
}

TEST(SecAgg, DecodersRejectHostileBytes) {
  SessionConfig c = Config(3, 2, 4);
  const auto sid = SessionId(c);
  MaskedInput m{2, {1, 2, 3, 4}};
  auto bytes = Encode(sid, m);
  EXPECT_EQ(bytes.size(), 37u + 4 + 8 + 32);
  EXPECT_TRUE(Decode<MaskedInput>(bytes, sid).ok());
  auto other = sid;
  other[0] ^= 1;
  EXPECT_FALSE(Decode<MaskedInput>(bytes, other).ok());  // another session
  EXPECT_FALSE(Decode<AdvertiseKeys>(bytes, sid).ok());  // another type
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(Decode<MaskedInput>(trailing, sid).ok());
  for (size_t cut = 0; cut < bytes.size(); cut += 5) {
    EXPECT_FALSE(Decode<MaskedInput>(std::span<const uint8_t>(bytes.data(), cut), sid).ok());
  }
  // A huge announced length is refused without allocating it.
  auto huge = bytes;
  for (int i = 0; i < 8; ++i) huge[37 + 4 + i] = 0xff;
  EXPECT_FALSE(Decode<MaskedInput>(huge, sid).ok());
  // Every message type round-trips.
  SurvivorList s{{1, 3}, {{1, crypto::Signature{}}}};
  EXPECT_EQ(Decode<SurvivorList>(Encode(sid, s), sid).value().survivors, s.survivors);
  UnmaskResponse u{1, {{2, ShareKind::kMaskSecretKey, crypto::ShamirShare{1, {1, 2, 3, 4, 5}}}}};
  auto ub = Decode<UnmaskResponse>(Encode(sid, u), sid).value();
  EXPECT_EQ(ub.shares[0].share, u.shares[0].share);
  EXPECT_EQ(ub.shares[0].kind, ShareKind::kMaskSecretKey);
}

}  // namespace
}  // namespace passerelle::privacy::secagg
