// The linkage wire messages: round trips and strict validation (protocol/linkage_messages.h).
#include "protocol/linkage_messages.h"

#include <gtest/gtest.h>

#include "protocol/messages.h"

namespace passerelle::protocol {
namespace {

using nlohmann::json;

json Study() {
  return json::parse(R"({"name": "l", "linkage": {"schema": {"id": "person_id"},
      "threshold": 0.85, "nodes": ["qc", "fr"], "blocking": "keys", "min_cell": 10}})");
}

TEST(LinkageMessagesTest, StudyRoundTripAndRecognition) {
  json j = Study();
  EXPECT_TRUE(IsLinkageStudy(j));
  auto s = LinkageStudy::FromJson(j);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->linkage.nodes, (std::vector<std::string>{"qc", "fr"}));  // rank order kept
  EXPECT_EQ(s->linkage.threshold, 0.85);
  auto again = LinkageStudy::FromJson(s->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), s->ToJson());
  // An analysis study that uses a linkage is not a linkage study.
  json use = {{"name", "c"}, {"dataset", "d"}, {"linkage", {{"id", "lk-0123456789ab"}}}};
  EXPECT_FALSE(IsLinkageStudy(use));
}

TEST(LinkageMessagesTest, StudyValidationNamesTheField) {
  auto expect_error = [](json j, std::string_view needle) {
    auto s = LinkageStudy::FromJson(j);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().ToString();
  };
  json j = Study();
  j["linkage"]["threshold"] = 0;
  expect_error(j, "study.linkage.threshold");
  j = Study();
  j["linkage"]["nodes"] = {"fr", "fr"};
  expect_error(j, "listed twice");
  j = Study();
  j["linkage"]["nodes"] = {"fr"};
  expect_error(j, "2 to 16 nodes");
  j = Study();
  j["linkage"]["nodes"] = {"fr", "QC!"};
  expect_error(j, "not a node id");
  j = Study();
  j["linkage"]["schema"] = "febrl.json";
  expect_error(j, "study.linkage.schema");
  j = Study();
  j["linkage"]["extra"] = 1;
  expect_error(j, "extra");
  j = Study();
  j["analyses"] = json::array();
  expect_error(j, "analyses");
}

TEST(LinkageMessagesTest, TaskAndKeyMessages) {
  LinkageTask t{"lk-0123456789ab", "fr", {"fr", "qc"}, json::object(), std::nullopt};
  auto back = LinkageTask::FromJson(t.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(IsLinkageTask(t.ToJson()));
  json bad = t.ToJson();
  bad["node"] = "be";
  EXPECT_FALSE(LinkageTask::FromJson(bad).ok());  // not a participant
  bad = t.ToJson();
  bad["linkage_id"] = "st-0123456789ab";
  EXPECT_FALSE(LinkageTask::FromJson(bad).ok());

  KeyPost k{std::vector<uint8_t>(32, 7), "-----BEGIN CERTIFICATE-----...",
            std::vector<uint8_t>(70, 1)};
  auto kb = KeyPost::FromJson(k.ToJson());
  ASSERT_TRUE(kb.ok()) << kb.status().ToString();
  EXPECT_EQ(*kb, k);
  json short_key = k.ToJson();
  short_key["public_key"] = "AAAA";  // 3 bytes
  EXPECT_FALSE(KeyPost::FromJson(short_key).ok());
  json bad_b64 = k.ToJson();
  bad_b64["public_key"] = "!!!";
  EXPECT_FALSE(KeyPost::FromJson(bad_b64).ok());
  json unsigned_key = k.ToJson();
  unsigned_key.erase("signature");
  EXPECT_FALSE(KeyPost::FromJson(unsigned_key).ok());
  json big_cert = k.ToJson();
  big_cert["certificate"] = std::string(20000, 'A');
  EXPECT_FALSE(KeyPost::FromJson(big_cert).ok());
  KeySet ks;
  ks.keys["fr"] = k;
  ks.complete = true;
  auto ksb = KeySet::FromJson(ks.ToJson());
  ASSERT_TRUE(ksb.ok());
  EXPECT_EQ(ksb->keys, ks.keys);
  SealedSecrets ss;
  ss.sealed["qc"] = std::vector<uint8_t>(72, 9);
  ASSERT_TRUE(SealedSecrets::FromJson(ss.ToJson()).ok());
  ss.sealed["qc"] = std::vector<uint8_t>(300, 9);
  EXPECT_FALSE(SealedSecrets::FromJson(ss.ToJson()).ok());  // too long for a sealed secret
}

TEST(LinkageMessagesTest, MatchesAndUse) {
  NodeMatches m;
  m.state = "completed";
  m.matches = {{0, "c-1", true}, {7, "c-2", false}};
  auto back = NodeMatches::FromJson(m.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->matches, m.matches);
  json dup = m.ToJson();
  dup["matches"].push_back(json::array({7, "c-3", true}));
  EXPECT_FALSE(NodeMatches::FromJson(dup).ok());
  json neg = m.ToJson();
  neg["matches"][0][0] = -1;
  EXPECT_FALSE(NodeMatches::FromJson(neg).ok());
  neg = m.ToJson();
  neg["state"] = "done";
  EXPECT_FALSE(NodeMatches::FromJson(neg).ok());

  auto use = LinkageUse::FromJson({{"id", "lk-0123456789ab"}, {"deduplicate", true}}, "s");
  ASSERT_TRUE(use.ok());
  EXPECT_EQ(use->id_column, "person_id");
  EXPECT_FALSE(LinkageUse::FromJson({{"id", "lk-0123"}}, "s").ok());
  EXPECT_FALSE(LinkageUse::FromJson({{"id", "lk-0123456789ab"}, {"id_column", "a b"}}, "s").ok());

  // The analysis study and its task carry the use.
  json study = {{"name", "c"},
                {"dataset", "persons"},
                {"linkage", use->ToJson()},
                {"analyses", {{{"id", "n"}, {"type", "count"}}}}};
  auto def = StudyDefinition::FromJson(study);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  ASSERT_TRUE(def->linkage);
  EXPECT_EQ(*def->linkage, *use);
  EXPECT_EQ(def->ToJson()["linkage"], use->ToJson());
}

}  // namespace
}  // namespace passerelle::protocol
