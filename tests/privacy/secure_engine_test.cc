// Secure rounds at the hub without the network: the StudyEngine with a fake clock and the nodes'
// PrivacyStep driven by hand, so that deadlines, hub restarts and tampered messages can be
// placed exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "common/random.h"
#include "common/sqlite.h"
#include "crypto/pki.h"
#include "hub/engine.h"
#include "node/privacy_step.h"
#include "privacy/secure_round.h"
#include "protocol/codec.h"

namespace passerelle {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SecureEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(SqliteDb::Open({.path = ":memory:"})).value();
    Reopen();
    for (int k = 0; k < 3; ++k) {
      analysis::MemoryTable t;
      analysis::MemoryTable::NumericColumn x;
      for (int i = 0; i < 50 + 10 * k; ++i) x.push_back(0.5 * i + k);
      t.AddNumeric("x", x);
      data_[k].Add("d", t);
      steps_.push_back(std::make_unique<node::PrivacyStep>(
          node::PrivacyStepOptions{nodes_[k], "", ""}, randoms_[k], clock_));
    }
  }
  void Reopen() {
    engine_.reset();
    auto e = hub::StudyEngine::Open(*db_, analysis::BuiltinRegistry(), clock_, random_,
                                    {.nodes = {"a", "b", "c"}, .task_timeout = 10s});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  std::string Submit() {
    auto id = engine_->Submit({{"name", "s"},
                               {"dataset", "d"},
                               {"privacy", {{"secure_aggregation", true}}},
                               {"analyses",
                                {{{"id", "n"}, {"type", "count"}},
                                 {{"id", "m"}, {"type", "summary"}, {"variables", {"x"}}}}}},
                              {"alice", {}});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return *id;
  }
  // Node k fetches and answers its next task (the hub must accept it); false when it had none.
  bool Answer(int k) {
    auto t = engine_->NextTask(nodes_[k]);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok() || !*t) return false;
    node::NodePolicy policy;
    protocol::TaskResult r = steps_[k]->Execute(**t, data_[k], policy, analysis::BuiltinRegistry());
    auto a = engine_->AcceptResult(nodes_[k], (*t)->task_id, "key-" + (*t)->task_id, r);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok();
  }
  std::string Phase(int k) {
    auto t = engine_->NextTask(nodes_[k]);
    if (!t.ok() || !*t) return "";
    return (*t)->secagg ? (*t)->secagg->phase : "plain";
  }

  FakeClock clock_{1'000'000};
  DeterministicRandom random_{7};
  DeterministicRandom randoms_[3] = {DeterministicRandom(1), DeterministicRandom(2),
                                     DeterministicRandom(3)};
  const std::string nodes_[3] = {"a", "b", "c"};
  node::MemoryDataProvider data_[3];
  std::vector<std::unique_ptr<node::PrivacyStep>> steps_;
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<hub::StudyEngine> engine_;
};

TEST_F(SecureEngineTest, SilentNodeAtMaskedInputDropsOutAtTheDeadline) {
  std::string id = Submit();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));  // advertise
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));  // share_keys
  EXPECT_EQ(Phase(2), "masked_input");
  ASSERT_TRUE(Answer(0));
  ASSERT_TRUE(Answer(1));  // c stays silent
  EXPECT_FALSE(*engine_->IsFinished(id));
  clock_.Advance(11s);
  auto changed = engine_->CheckDeadlines();
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(*changed, 1);
  EXPECT_EQ(Phase(0), "unmask");
  EXPECT_EQ(Phase(2), "");  // c has nothing more to do
  ASSERT_TRUE(Answer(0));
  ASSERT_TRUE(Answer(1));
  auto r = engine_->StudyResult(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 50 + 60);
  EXPECT_EQ((*r)["privacy"]["dropped"], json({"c"}));
}

TEST_F(SecureEngineTest, HubRestartMidSessionResumesFromItsState) {
  std::string id = Submit();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));  // advertise
  ASSERT_TRUE(Answer(0));                              // share_keys of a
  Reopen();                                            // the hub restarts
  ASSERT_TRUE(Answer(1));
  ASSERT_TRUE(Answer(2));
  for (int phase = 0; phase < 2; ++phase) {
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));
  }
  auto r = engine_->StudyResult(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 50 + 60 + 70);
  EXPECT_EQ((*r)["analyses"]["m"]["x"]["n"], 180);
}

TEST_F(SecureEngineTest, TamperedMaskedInputMessageIsRefusedAndTheNodeDropsOut) {
  std::string id = Submit();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));
  ASSERT_TRUE(Answer(0));
  ASSERT_TRUE(Answer(1));
  // A masked input whose last byte was altered in transit still decodes (it is a ring element):
  // what secure aggregation protects is confidentiality; integrity comes from TLS. A truncated
  // or re-typed message is refused with 400:
  auto t = engine_->NextTask("c");
  ASSERT_TRUE(t.ok() && *t);
  protocol::TaskResult bad;
  bad.task_id = (*t)->task_id;
  bad.study_id = id;
  bad.round = (*t)->round;
  bad.node = "c";
  bad.secagg = protocol::SecaggWire{"masked_input", json::object(),
                                    protocol::Base64Encode(std::vector<uint8_t>{1, 2, 3})};
  auto a = engine_->AcceptResult("c", bad.task_id, "k1", bad);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  // The node then reports the failure: it drops out, the others' sum is exact.
  bad.status = protocol::ResultStatus::kError;
  bad.secagg.reset();
  bad.message = "the hub declined this node's result";
  ASSERT_TRUE(engine_->AcceptResult("c", bad.task_id, "k2", bad).ok());
  ASSERT_TRUE(Answer(0));
  ASSERT_TRUE(Answer(1));
  auto r = engine_->StudyResult(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 110);
}

TEST_F(SecureEngineTest, PlainValuesInASecureRoundAreRefused) {
  Submit();
  auto t = engine_->NextTask("a");
  ASSERT_TRUE(t.ok() && *t);
  node::NodePolicy policy;
  // The plain execution of a secure task: shares with values, no secagg.
  protocol::Task plain = **t;
  plain.secagg.reset();
  protocol::TaskResult r =
      node::ExecuteTask(plain, data_[0], policy, "a", analysis::BuiltinRegistry());
  ASSERT_EQ(r.status, protocol::ResultStatus::kOk);
  auto a = engine_->AcceptResult("a", r.task_id, "k", r);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecureEngineTest, TooFewNodesLeftFailsTheStudyNamingThePhase) {
  std::string id = Submit();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));
  ASSERT_TRUE(Answer(0));  // only a shares its keys
  clock_.Advance(11s);
  ASSERT_TRUE(engine_->CheckDeadlines().ok());
  auto r = engine_->StudyResult(id);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("secure aggregation of round 1 failed at phase share_keys"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace passerelle

namespace passerelle {
namespace {

TEST(NodePrivacyPolicyTest, PolicyKeysAreReadAndChecked) {
  auto c = Config::Parse(
      "[policy]\nrequire_secure_aggregation = true\ndp_rho_budget = 0.5\n"
      "min_population_difference = 20\n");
  ASSERT_TRUE(c.ok());
  auto p = node::LoadPolicy(*c);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->require_secure_aggregation);
  EXPECT_EQ(p->dp_rho_budget, 0.5);
  EXPECT_EQ(p->min_population_difference, 20);
  auto defaults = node::LoadPolicy(*Config::Parse("[policy]\n"));
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->require_secure_aggregation);
  EXPECT_EQ(defaults->dp_rho_budget, 1.0);
  EXPECT_FALSE(node::LoadPolicy(*Config::Parse("[policy]\ndp_rho_budget = -1\n")).ok());
  EXPECT_FALSE(node::LoadPolicy(*Config::Parse("[policy]\nrequire_secure_aggregation = 3\n")).ok());
}

// ---- Malicious hub: signed advertisements ------------------------------------------------------

class SignedSecureEngineTest : public SecureEngineTest {
 protected:
  void SetUp() override {
    SecureEngineTest::SetUp();
    auto ca = crypto::CreateCa({.name = "test CA", .valid_days = 2});
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    for (int k = 0; k < 3; ++k) {
      auto cert =
          crypto::IssueCertificate(*ca, crypto::CertRole::kNode, nodes_[k], {.valid_days = 2});
      ASSERT_TRUE(cert.ok()) << cert.status().ToString();
      steps_[k] = std::make_unique<node::PrivacyStep>(
          node::PrivacyStepOptions{
              nodes_[k], "", "", {ca->cert_pem, cert->cert_pem, cert->key_pem}},
          randoms_[k], clock_);
    }
  }
  // Node k's next task, with `tamper` applied to the key directory it carries (as a malicious
  // hub would), executed by the node.
  protocol::TaskResult RunTampered(
      int k, const std::function<void(privacy::SignedDirectory&, privacy::secagg::KeyDirectory&)>&
                 tamper) {
    auto t = engine_->NextTask(nodes_[k]);
    EXPECT_TRUE(t.ok() && *t);
    protocol::Task task = **t;
    EXPECT_EQ(task.secagg->phase, "share_keys");
    auto params = privacy::SecureRoundFromJson(task.study_id, static_cast<uint32_t>(task.round),
                                               task.secagg->session);
    EXPECT_TRUE(params.ok());
    const crypto::Bytes32 session = privacy::secagg::SessionId(params->config);
    auto signed_dir = privacy::DecodeSignedDirectory(*protocol::Base64Decode(task.secagg->payload));
    EXPECT_TRUE(signed_dir.ok()) << signed_dir.status().ToString();
    EXPECT_EQ(signed_dir->attestations.size(), 3u);
    auto dir =
        privacy::secagg::Decode<privacy::secagg::KeyDirectory>(signed_dir->directory, session);
    EXPECT_TRUE(dir.ok());
    tamper(*signed_dir, *dir);
    task.secagg->payload = protocol::Base64Encode(privacy::EncodeSignedDirectory(
        privacy::secagg::Encode(session, *dir), signed_dir->attestations));
    node::NodePolicy policy;
    return steps_[k]->Execute(task, data_[k], policy, analysis::BuiltinRegistry());
  }
};

TEST_F(SignedSecureEngineTest, SignedAdvertisementsCompleteTheRound) {
  std::string id = Submit();
  for (int phase = 0; phase < 4; ++phase) {
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k)) << "phase " << phase << " node " << k;
  }
  auto r = engine_->StudyResult(id);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["analyses"]["n"]["n"], 50 + 60 + 70);
}

TEST_F(SignedSecureEngineTest, HubSwappingANodesPublicKeyMakesTheRoundFail) {
  Submit();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Answer(k));  // advertise
  // The hub gives a its own key in place of b's mask key (it would then know the a-b mask).
  DeterministicRandom attacker(99);
  const crypto::X25519KeyPair hub_pair = crypto::X25519KeyPair::Generate(attacker);
  protocol::TaskResult r = RunTampered(0, [&](auto&, privacy::secagg::KeyDirectory& dir) {
    for (auto& key : dir.keys) {
      if (key.sender == 2) key.s_pk = hub_pair.public_key;
    }
  });
  EXPECT_EQ(r.status, protocol::ResultStatus::kError);
  EXPECT_NE(r.message.find("node b"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("substituted"), std::string::npos) << r.message;
  EXPECT_FALSE(r.secagg.has_value());  // no shares sealed under the swapped key
  // A hub that drops a node's signature (to pass a key of its own) is refused too.
  protocol::TaskResult unsigned_r =
      RunTampered(1, [&](privacy::SignedDirectory& sd, auto&) { sd.attestations.erase(3); });
  EXPECT_EQ(unsigned_r.status, protocol::ResultStatus::kError);
  EXPECT_NE(unsigned_r.message.find("node c"), std::string::npos) << unsigned_r.message;
  // Untampered, c's share_keys step goes through.
  protocol::TaskResult ok = RunTampered(2, [](auto&, auto&) {});
  EXPECT_EQ(ok.status, protocol::ResultStatus::kOk) << ok.message;
}

}  // namespace
}  // namespace passerelle
